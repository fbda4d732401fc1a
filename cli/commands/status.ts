import type { Command } from '../command.js';
import { status } from '../../core/ops/status.js';
import { fmtBytes, shortId } from '../output.js';
import type { Change } from '../../core/repo/tree.js';
import { repoPaths, withCliRepo } from '../repo.js';
import { printConflicts } from './merge.js';

const LETTER: Record<Change['kind'], string> = { added: 'A', modified: 'M', deleted: 'D', typechange: 'T' };

const cmd: Command = {
  name: 'status',
  summary: 'Show staged changes (index vs HEAD), unstaged changes (workspace vs index) and untracked files under tracked paths.',
  usage: 'status [PATH...] [--porcelain] [--json]',
  help: 'options:\n  --porcelain   stable two-column output for scripts: XY PATH (X = staged, Y = unstaged; ?? untracked)',
  options: { porcelain: { type: 'boolean' } },
  async run(a, io) {
    const s = await withCliRepo({}, (repo) => status(repo, { progress: io.progress(), paths: repoPaths(repo, [...a.positionals, ...a.rest]) }));
    io.endProgress();
    if (io.json_) return io.json(s);
    if (a.values.porcelain) {
      const rows = new Map<string, [string, string]>();
      for (const c of s.staged) rows.set(c.path, [LETTER[c.kind], ' ']);
      for (const c of s.unstaged) rows.set(c.path, [rows.get(c.path)?.[0] ?? ' ', LETTER[c.kind]]);
      for (const p of [...rows.keys()].sort()) io.out(`${rows.get(p)![0]}${rows.get(p)![1]} ${p}`);
      for (const p of s.untracked) io.out(`?? ${p}`);
      for (const c of s.merge?.conflicts ?? []) io.out(`UU ${c.path}`);
      return;
    }
    io.out(s.branch ? `On branch ${s.branch}` : `HEAD detached at ${shortId(s.commit)}`);
    if (!s.commit) io.out('No commits yet');
    if (s.merge) {
      const m = s.merge;
      io.out('');
      if (m.phase === 'applying') {
        io.out(io.color('yellow', `A merge of ${m.from} was interrupted while writing the workspace.`));
        io.out('  (strata merge --continue to finish it, strata merge --abort to undo it)');
      } else if (m.conflicts.length) {
        io.out(io.color('yellow', `You are merging ${m.from} into ${m.into ?? 'HEAD'}: ${m.conflicts.length} path(s) in conflict.`));
        io.out('  (strata resolve PATH --ours|--theirs|--base, or edit and strata add PATH; then strata merge --continue)');
        io.out('  (strata merge --abort puts everything back as it was before the merge)');
        io.out('');
        io.out('Unmerged paths:');
        printConflicts(io, m.conflicts);
      } else {
        io.out(io.color('yellow', `You are merging ${m.from} into ${m.into ?? 'HEAD'}: all conflicts resolved.`));
        io.out('  (strata merge --continue to commit the merge)');
      }
    }
    const show = (title: string, list: Change[], color: 'green' | 'red', hint: string) => {
      if (!list.length) return;
      io.out('');
      io.out(`${title} (${hint}):`);
      for (const c of list.slice(0, 200)) {
        const size = c.kind === 'deleted' ? fmtBytes(c.oldSize) : fmtBytes(c.newSize);
        io.out(io.color(color, `  ${c.kind.padEnd(10)} ${c.path}`) + io.color('dim', `  ${size}`));
      }
      if (list.length > 200) io.out(`  ... and ${list.length - 200} more (strata status --porcelain lists all)`);
    };
    show('Changes to be committed', s.staged, 'green', 'strata restore --staged PATH to unstage');
    show('Changes not staged for commit', s.unstaged, 'red', 'strata add PATH to stage, strata restore PATH to discard');
    if (s.untracked.length) {
      io.out('');
      io.out('Untracked files under tracked paths (strata add PATH to track):');
      for (const p of s.untracked.slice(0, 200)) io.out(io.color('red', `  ${p}`));
      if (s.untracked.length > 200) io.out(`  ... and ${s.untracked.length - 200} more`);
    }
    if (s.data?.mismatch) {
      io.out('');
      io.out(io.color('red', `Data does not match the code: strata.lock names ${shortId(s.data.lock!.commit)}, HEAD is ${s.data.head ? `at ${shortId(s.data.head)}` : 'unborn'}`));
      io.out('  (strata checkout brings the data to the version strata.lock names; strata commit records new data there)');
    }
    if (s.clean && !s.untracked.length) {
      io.out(s.trackedRoots.length ? 'nothing to commit, working tree clean' : 'nothing tracked yet (strata add PATH)');
    }
  },
};
export default cmd;
