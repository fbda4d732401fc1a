import type { Command } from '../command.js';
import { configGet, configListWithWarnings, configSet, configUnset } from '../../core/ops/config.js';
import { CONFIG_KEYS } from '../../core/config/registry.js';
import { StrataError } from '../../core/errors/index.js';
import { withCliRepo } from '../repo.js';

const keyHelp = CONFIG_KEYS.filter((d) => d.settable !== 'internal')
  .map((d) => `  ${d.key.padEnd(24)} ${d.type === 'secret' ? '(not settable) ' : `${d.type}${d.default !== null ? `, default ${String(d.default)}` : ''}: `}${d.description}`)
  .join('\n');
const internalHelp = CONFIG_KEYS.filter((d) => d.settable === 'internal').map((d) => `  ${d.key}`).join('\n');

const cmd: Command = {
  name: 'config',
  summary: 'Repository settings: config get KEY | set KEY VALUE | unset KEY | list.',
  usage: 'config get KEY | config set KEY VALUE | config unset KEY | config list',
  help: `keys (booleans: true/false, also yes/no, on/off, 1/0):\n${keyHelp}\nset by strata itself (config set refuses them):\n${internalHelp}`,
  async run(a, io) {
    const [sub, key, value] = a.positionals;
    switch (sub) {
      case 'get': {
        if (!key || a.positionals.length > 2) break;
        const v = await withCliRepo({}, (repo) => configGet(repo, key));
        if (io.json_) io.json({ key, value: v });
        else if (v !== null) io.out(v);
        return v === null ? 1 : 0;
      }
      case 'set': {
        if (!key || value === undefined || a.positionals.length > 3) break;
        const stored = await withCliRepo({}, (repo) => configSet(repo, key, value));
        if (io.json_) io.json({ key, value: stored });
        return 0;
      }
      case 'unset':
        if (!key || a.positionals.length > 2) break;
        await withCliRepo({}, (repo) => configUnset(repo, key));
        return 0;
      case 'list':
      case undefined: {
        const { entries, warnings } = await withCliRepo({}, (repo) => configListWithWarnings(repo));
        for (const w of warnings) io.err(`warning: ${w}`);
        if (io.json_) io.json(entries);
        else for (const r of entries) io.out(`${r.key}=${r.value}`);
        return 0;
      }
    }
    throw new StrataError('INVALID_ARGUMENT', `usage: strata ${cmd.usage}`);
  },
};
export default cmd;
