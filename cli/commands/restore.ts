import type { Command } from '../command.js';
import { restore } from '../../core/ops/restore.js';
import { repoPaths, withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'restore',
  summary: 'Restore workspace files from the index (default) or from --source REF; --staged unstages.',
  usage: 'restore PATH... [--source REF] [--staged] [--worktree]',
  options: { source: { type: 'string', short: 's' }, staged: { type: 'boolean', short: 'S' }, worktree: { type: 'boolean', short: 'W' } },
  async run(a, io) {
    const r = await withCliRepo({}, (repo) => restore(repo, {
      progress: io.progress(),
      paths: repoPaths(repo, [...a.positionals, ...a.rest]),
      source: a.values.source as string | undefined,
      staged: !!a.values.staged,
      worktree: !!a.values.worktree,
    }));
    io.endProgress();
    if (io.json_) return io.json(r);
    if (a.values.staged) io.out(`unstaged ${r.unstaged} path(s)`);
    if (!a.values.staged || a.values.worktree) io.out(`restored ${r.written} file(s)${r.removed ? `, removed ${r.removed}` : ''}`);
  },
};
export default cmd;
