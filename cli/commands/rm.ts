import type { Command } from '../command.js';
import { rm } from '../../core/ops/rm.js';
import { repoPaths, withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'rm',
  summary: 'Stop tracking paths; deletes the files too unless --keep.',
  usage: 'rm PATH... [--keep] [-f]',
  help: 'options:\n  --keep       leave the files in the workspace\n  -f, --force  delete even if they hold uncommitted changes',
  options: { keep: { type: 'boolean' }, force: { type: 'boolean', short: 'f' } },
  async run(a, io) {
    const r = await withCliRepo({}, (repo) => rm(repo, { paths: repoPaths(repo, [...a.positionals, ...a.rest]), keep: !!a.values.keep, force: !!a.values.force }));
    if (io.json_) io.json(r);
    else io.out(`untracked ${r.removed.length} file(s)${r.kept ? ' (kept in the workspace)' : ''}`);
  },
};
export default cmd;
