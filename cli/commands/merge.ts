import type { Command } from '../command.js';
import type { Io } from '../output.js';
import { merge, mergeAbort, mergeContinue } from '../../core/ops/merge.js';
import type { MergeConflict, MergeOutcome } from '../../core/ops/types.js';
import { fmtBytes, shortId } from '../output.js';
import { withCliRepo } from '../repo.js';

const KIND: Record<MergeConflict['kind'], string> = {
  content: 'both modified',
  'add/add': 'both added',
  'modify/delete': 'deleted by them',
  'delete/modify': 'deleted by us',
  'file/folder': 'file here, folder in theirs',
  'folder/file': 'folder here, file in theirs',
  mode: 'executable bit changed on both sides',
  driver: 'merge driver failed',
};

function sideText(s: MergeConflict['ours']): string {
  if (!s) return 'absent';
  return s.type === 'dir' ? `folder ${fmtBytes(s.size)}` : `${s.type === 'symlink' ? 'link' : 'file'} ${fmtBytes(s.size)} ${shortId(s.id)}${s.exec ? ' (x)' : ''}`;
}

/** Print conflicts (merge, pull, status). */
export function printConflicts(io: Io, conflicts: MergeConflict[], limit = 200): void {
  for (const c of conflicts.slice(0, limit)) {
    io.out(io.color('red', `  ${KIND[c.kind].padEnd(28)} ${c.path}`) + io.color('dim', `  ours: ${sideText(c.ours)}; theirs: ${sideText(c.theirs)}; base: ${sideText(c.base)}${c.reason ? `; ${c.reason}` : ''}`));
  }
  if (conflicts.length > limit) io.out(`  ... and ${conflicts.length - limit} more (strata status --json lists all)`);
}

/** Print a merge outcome; returns the exit code (16 when conflicts stop the merge). */
export function printMerge(io: Io, m: MergeOutcome): number {
  const into = m.into ?? 'HEAD';
  const dry = m.dryRun ? ' (dry run: nothing changed)' : '';
  if (m.status === 'up-to-date') {
    io.out(`Already up to date: ${into} contains ${m.from}${dry}`);
    return 0;
  }
  const counts = { theirs: 0, merged: 0, ours: 0, deleted: 0 };
  for (const c of m.changes) counts[c.action]++;
  const summary = `${counts.theirs} path(s) from ${m.from}, ${counts.deleted} deleted, ${counts.merged} merged${counts.ours ? `, ${counts.ours} kept by rule` : ''}`;
  if (m.dryRun) {
    for (const c of m.changes.slice(0, 200)) io.out(`  ${c.action.padEnd(8)} ${c.path}${c.rule ? io.color('dim', `  (${c.rule})`) : ''}`);
    if (m.changes.length > 200) io.out(`  ... and ${m.changes.length - 200} more (--json lists all)`);
  }
  if (m.status === 'fast-forward') {
    io.out(`${m.dryRun ? 'Would fast-forward' : 'Fast-forward'} ${into} ${m.ours ? shortId(m.ours) : '(new)'} -> ${shortId(m.theirs)}: ${summary}${dry}`);
    return 0;
  }
  if (m.status === 'merged') {
    io.out(m.dryRun ? `Would merge ${m.from} into ${into} cleanly: ${summary}${dry}` : `Merged ${m.from} into ${into}: ${shortId(m.commit)} (parents ${shortId(m.ours)} ${shortId(m.theirs)})${m.changes.length ? `; ${summary}` : ''}`);
    return 0;
  }
  io.out(`${m.dryRun ? 'Would stop' : 'Stopped'} merging ${m.from} into ${into}: ${m.conflicts.length} conflict(s)${m.changes.length ? `; ${summary}` : ''}${dry}`);
  printConflicts(io, m.conflicts);
  if (!m.dryRun) {
    io.out('');
    io.out('Resolve each path: strata resolve PATH --ours|--theirs|--base, or edit it and strata add PATH;');
    io.out('then strata merge --continue. strata merge --abort puts everything back as it was.');
  }
  return 16;
}

const cmd: Command = {
  name: 'merge',
  summary: 'Merge REF into the checked-out branch: fast-forward, or a three-way merge with per-path conflicts.',
  usage: 'merge REF [--strategy ours|theirs] [--ff-only|--no-ff] [--dry-run] [-m MSG] | merge --abort | merge --continue [-m MSG]',
  help: [
    'options:',
    '  --strategy ours|theirs  decide every conflicting path for the whole merge (rules in .strataattributes are then not read)',
    '  --ff-only               refuse unless REF contains HEAD (a fast-forward)',
    '  --no-ff                 make a merge commit even when a fast-forward is possible',
    '  --dry-run               list what would happen; change nothing',
    '  -m, --message MSG       the merge commit message (default "Merge REF into BRANCH")',
    '  --abort                 undo the merge in progress: workspace and index as before it',
    '  --continue              commit the merge in progress once every conflict is resolved',
    '',
    'Per-path rules: .strataattributes at the project root, e.g. `data/labels/** merge=theirs`.',
    'Exit 16 when conflicts stop the merge (the merge is then in progress: see strata status).',
  ].join('\n'),
  options: {
    strategy: { type: 'string', short: 's' },
    'ff-only': { type: 'boolean' },
    'no-ff': { type: 'boolean' },
    'dry-run': { type: 'boolean', short: 'n' },
    message: { type: 'string', short: 'm' },
    abort: { type: 'boolean' },
    continue: { type: 'boolean' },
  },
  async run(a, io) {
    const message = a.values.message as string | undefined;
    if (a.values.abort) {
      const r = await withCliRepo({}, (repo) => mergeAbort(repo, { progress: io.progress() }));
      io.endProgress();
      if (io.json_) return io.json(r);
      io.out(`Aborted the merge of ${r.from}: back at ${shortId(r.head)} (${r.restored} file(s) restored, ${r.removed} removed)`);
      return;
    }
    if (a.values.continue) {
      const r = await withCliRepo({}, (repo) => mergeContinue(repo, { message, progress: io.progress() }));
      io.endProgress();
      if (io.json_) return io.json(r);
      return printMerge(io, r);
    }
    const [rev] = a.positionals;
    if (!rev) throw Object.assign(new Error('usage: strata merge REF (or --abort / --continue)'), { name: 'StrataError', code: 'INVALID_ARGUMENT', exitCode: 2 });
    const r = await withCliRepo({}, (repo) =>
      merge(repo, {
        rev,
        strategy: a.values.strategy as 'ours' | 'theirs' | undefined,
        dryRun: !!a.values['dry-run'],
        message,
        ffOnly: !!a.values['ff-only'],
        noFf: !!a.values['no-ff'],
        progress: io.progress(),
      }),
    );
    io.endProgress();
    if (io.json_) {
      io.json(r);
      return r.status === 'conflicts' && !r.dryRun ? 16 : 0;
    }
    return printMerge(io, r);
  },
};
export default cmd;
