import type { Command } from '../command.js';
import { configGet, configList, configSet, configUnset, KNOWN_KEYS } from '../../core/ops/config.js';
import { StrataError } from '../../core/errors/index.js';

const cmd: Command = {
  name: 'config',
  summary: 'Repository settings: config get KEY | set KEY VALUE | unset KEY | list.',
  usage: 'config get KEY | config set KEY VALUE | config unset KEY | config list',
  help: 'known keys:\n' + Object.entries(KNOWN_KEYS).map(([k, v]) => `  ${k.padEnd(22)} ${v}`).join('\n'),
  async run(a, io) {
    const ctx = { cwd: process.cwd() };
    const [sub, key, value] = a.positionals;
    switch (sub) {
      case 'get': {
        if (!key) break;
        const v = await configGet(ctx, key);
        if (io.json_) io.json({ key, value: v });
        else if (v !== null) io.out(v);
        return v === null ? 1 : 0;
      }
      case 'set':
        if (!key || value === undefined) break;
        await configSet(ctx, key, value);
        if (io.json_) io.json({ key, value });
        return 0;
      case 'unset':
        if (!key) break;
        await configUnset(ctx, key);
        return 0;
      case 'list':
      case undefined: {
        const l = await configList(ctx);
        if (io.json_) io.json(l);
        else for (const r of l) io.out(`${r.key}=${r.value}`);
        return 0;
      }
    }
    throw new StrataError('INVALID_ARGUMENT', `usage: strata ${cmd.usage}`);
  },
};
export default cmd;
