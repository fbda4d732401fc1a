import { StrataError } from '../errors/index.js';
import { resolveRev } from '../repo/refs.js';
import { flattenTree } from '../repo/tree.js';
import { computeStatus } from '../repo/worktree.js';
import { applyPlan } from '../repo/move.js';
import { isUnder, outermost } from '../workspace/paths.js';
import type { IndexRow } from '../meta/db.js';
import type { OpOptions } from './context.js';
import type { Repository } from '../repo/index.js';

export interface RestoreOptions extends OpOptions {
  paths: string[];
  /** Take content from this revision (default: the staging index). */
  source?: string;
  /** Restore the index (unstage) instead of the workspace: from HEAD, or --source. */
  staged?: boolean;
  /** Also restore the workspace when --staged is given. */
  worktree?: boolean;
}

export interface RestoreResult {
  written: number;
  removed: number;
  unstaged: number;
}

export async function restore(repo: Repository, opts: RestoreOptions): Promise<RestoreResult> {
  if (opts.paths.length === 0) throw new StrataError('INVALID_ARGUMENT', 'restore needs a path', { hint: 'strata restore data/file.csv [--source REF]' });
  return repo.withWriteLock('restore', async () => {
    const paths = outermost(opts.paths);
    const under = (p: string) => paths.some((r) => isUnder(p, r));
    const index = repo.db.loadIndex();
    let source: Map<string, IndexRow>;
    if (opts.source || opts.staged) {
      const head = repo.head();
      const rev = opts.source ?? 'HEAD';
      source = rev === 'HEAD' && !head.commit ? new Map() : await flattenTree(repo, (await repo.readCommit(await resolveRev(repo, rev))).tree);
    } else source = index;
    const matched = [...source.keys()].filter(under);
    const indexMatched = [...index.keys()].filter(under);
    if (matched.length === 0 && indexMatched.length === 0) {
      throw new StrataError('PATH_NOT_FOUND', `${paths.join(', ')} did not match any tracked file${opts.source ? ` in ${opts.source}` : ''}`, { hint: 'see strata ls or strata status' });
    }
    let unstaged = 0;
    if (opts.staged) {
      repo.db.tx(() => {
        const rows = matched.map((p) => source.get(p)!);
        const gone = indexMatched.filter((p) => !source.has(p));
        repo.db.upsertIndex(rows);
        repo.db.deleteIndex(gone);
        unstaged = rows.length + gone.length;
      });
      if (!opts.worktree) return { written: 0, removed: 0, unstaged };
    }
    // Write only the files whose workspace content differs from the source.
    const st = await computeStatus(repo, { paths });
    const changed = new Set([...st.unstaged.map((c) => c.path), ...st.untracked]);
    const write: IndexRow[] = [];
    for (const p of matched) {
      const s = source.get(p)!;
      const i = index.get(p);
      const same = i && i.id === s.id && i.exec === s.exec && i.type === s.type && !changed.has(p);
      if (!same) write.push(s);
    }
    // With a source, files tracked here but absent there are removed from the workspace.
    const remove = opts.source ? indexMatched.filter((p) => !source.has(p)) : [];
    const res = await applyPlan(repo, { remove, write }, { progress: opts.progress, target: source.keys() });
    repo.db.tx(() => repo.db.upsertStat(res.statRows));
    return { written: res.written, removed: res.removed, unstaged };
  });
}
