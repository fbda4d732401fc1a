import type { Command } from '../command.js';
import { configGet, configListWithOrigins, configSet, configUnset, listWithOrigins, userConfigGet, userConfigSet, userConfigUnset } from '../../core/ops/config.js';
import { CONFIG_KEYS, envVarFor, levelsOf } from '../../core/config/registry.js';
import { StrataError } from '../../core/errors/index.js';
import { withCliRepo } from '../repo.js';

const keyHelp = CONFIG_KEYS.filter((d) => d.settable !== 'internal')
  .map((d) => `  ${d.key.padEnd(24)} ${d.type === 'secret' ? '(not settable) ' : `${d.type}${d.default !== null ? `, default ${String(d.default)}` : ''}${levelsOf(d).includes('user') ? '' : ', repository only'}: `}${d.description}`)
  .join('\n');
const levelsHelp = `levels (a higher one wins): the user config file $XDG_CONFIG_HOME/strata/config (default ~/.config/strata/config; lines "key = value"; --user)
  < the repository config < the environment (STRATA_CONFIG_<KEY>, e.g. ${envVarFor('user.email')}).
  get shows the effective value; get/set/unset/list --user work on the user file (no repository needed);
  list --show-origin lists every level's values with where each comes from.`;
const internalHelp = CONFIG_KEYS.filter((d) => d.settable === 'internal').map((d) => `  ${d.key}`).join('\n');

const cmd: Command = {
  name: 'config',
  summary: 'Settings: config get KEY | set KEY VALUE | unset KEY | list [--show-origin]; --user for the user config file.',
  subcommands: ['get', 'set', 'unset', 'list'],
  usage: 'config [--user] get KEY | config [--user] set KEY VALUE | config [--user] unset KEY | config list [--user] [--show-origin]',
  help: `${levelsHelp}\nkeys (booleans: true/false, also yes/no, on/off, 1/0):\n${keyHelp}\nset by strata itself (config set refuses them):\n${internalHelp}`,
  options: { user: { type: 'boolean' }, 'show-origin': { type: 'boolean' } },
  async run(a, io) {
    const [sub, key, value] = a.positionals;
    const user = !!a.values.user;
    const showOrigin = !!a.values['show-origin'];
    if (showOrigin && sub !== 'list' && sub !== undefined) throw new StrataError('INVALID_ARGUMENT', '--show-origin goes with config list', { hint: 'strata config list --show-origin' });
    switch (sub) {
      case 'get': {
        if (!key || a.positionals.length > 2) break;
        const v = user ? userConfigGet(key) : await withCliRepo({}, (repo) => configGet(repo, key));
        if (io.json_) io.json({ key, value: v });
        else if (v !== null) io.out(v);
        return v === null ? 1 : 0;
      }
      case 'set': {
        if (!key || value === undefined || a.positionals.length > 3) break;
        const stored = user ? userConfigSet(key, value) : await withCliRepo({}, (repo) => configSet(repo, key, value));
        if (io.json_) io.json({ key, value: stored });
        return 0;
      }
      case 'unset':
        if (!key || a.positionals.length > 2) break;
        if (user) userConfigUnset(key);
        else await withCliRepo({}, (repo) => configUnset(repo, key));
        return 0;
      case 'list':
      case undefined: {
        if (a.positionals.length > 1) break;
        // Every level, lowest first (user file, repository, environment): the last line of a key is the one in effect.
        const all = user ? listWithOrigins(null) : await withCliRepo({}, (repo) => configListWithOrigins(repo));
        const rows = user ? all.entries.filter((e) => e.origin === 'user') : all.entries;
        const warnings = user ? all.warnings.filter((w) => !/^STRATA_CONFIG_/.test(w)) : all.warnings;
        for (const w of warnings) io.err(`warning: ${w}`);
        if (io.json_) io.json(rows);
        else for (const r of rows) io.out(showOrigin ? `${r.origin === 'user' ? 'file:' + r.where : r.origin === 'env' ? 'env:' + r.where : 'repository'}\t${r.key}=${r.value}` : `${r.key}=${r.value}`);
        return 0;
      }
    }
    throw new StrataError('INVALID_ARGUMENT', `usage: strata ${cmd.usage}`);
  },
};
export default cmd;
