/**
 * strata resolve PATH... --ours|--theirs|--base: settle conflicted paths of the merge in progress
 * by taking one side's version (file, link or whole folder; a side without one deletes the path).
 * The workspace and the index get that version and the path leaves the conflict list. A PATH that
 * is a folder resolves every conflict below it. (Editing a file and `strata add PATH` resolves it
 * too.)
 */
import { StrataError } from '../errors/index.js';
import type { IndexRow } from '../meta/interface.js';
import type { Id } from '../model/index.js';
import { getMergeState, setMergeState } from '../merge/state.js';
import type { Repository } from '../repo/index.js';
import { applyPlan } from '../repo/move.js';
import { entryAt, flattenTree } from '../repo/tree.js';
import type { OpOptions } from './context.js';
import type { MergeConflict } from './types.js';

export type ResolveSide = 'ours' | 'theirs' | 'base';

export interface ResolveOptions extends OpOptions {
  paths: string[];
  side: ResolveSide;
}

export interface ResolveResult {
  resolved: Array<{ path: string; side: ResolveSide; deleted: boolean }>;
  remaining: MergeConflict[];
}

export async function resolve(repo: Repository, opts: ResolveOptions): Promise<ResolveResult> {
  if (!['ours', 'theirs', 'base'].includes(opts.side)) throw new StrataError('INVALID_ARGUMENT', 'say which version to take: --ours, --theirs or --base', { hint: 'strata resolve data/x.csv --theirs' });
  if (opts.paths.length === 0) throw new StrataError('INVALID_ARGUMENT', 'name the conflicted paths to resolve', { hint: 'strata status lists them' });
  return repo.withWriteLock('resolve', async () => {
    const state = getMergeState(repo.db);
    if (!state || state.phase !== 'conflicts') throw new StrataError('INVALID_ARGUMENT', 'no merge with conflicts in progress', { hint: 'strata status shows the state of the workspace' });
    const hit = (c: string, p: string) => p === '' || c === p || c.startsWith(p + '/');
    const picked = state.conflicts.filter((c) => opts.paths.some((p) => hit(c.path, p)));
    const unknown = opts.paths.filter((p) => !state.conflicts.some((c) => hit(c.path, p)));
    if (unknown.length) {
      throw new StrataError('PATH_NOT_FOUND', `not in conflict: ${unknown.join(', ')}`, {
        hint: state.conflicts.length ? `conflicted: ${state.conflicts.slice(0, 5).map((c) => c.path).join(', ')}${state.conflicts.length > 5 ? ', ...' : ''}` : 'no conflicts are left: strata merge --continue',
      });
    }
    if (opts.side === 'base' && !state.base) throw new StrataError('INVALID_ARGUMENT', 'the merged histories have no common base', { hint: 'take --ours or --theirs' });
    const commit: Id = opts.side === 'ours' ? state.ours : opts.side === 'theirs' ? state.theirs : state.base!;
    const tree = (await repo.readCommit(commit)).tree;
    const index = repo.db.loadIndex();
    const write: IndexRow[] = [];
    const remove: string[] = [];
    const resolved: ResolveResult['resolved'] = [];
    for (const c of picked) {
      const e = await entryAt(repo, tree, c.path);
      const rows = e ? [...(await flattenTree(repo, tree, c.path)).values()] : [];
      const keep = new Set(rows.map((r) => r.path));
      for (const p of index.keys()) if (hit(p, c.path) && !keep.has(p)) remove.push(p);
      write.push(...rows);
      resolved.push({ path: c.path, side: opts.side, deleted: rows.length === 0 });
    }
    const res = await applyPlan(repo, { remove, write }, { progress: opts.progress });
    const left = state.conflicts.filter((c) => !picked.includes(c));
    repo.db.tx(() => {
      repo.db.deleteIndex(remove);
      repo.db.upsertIndex(write);
      repo.db.deleteStat(remove);
      repo.db.upsertStat(res.statRows);
      setMergeState(repo.db, { ...state, conflicts: left, touched: [...new Set([...state.touched, ...remove, ...write.map((r) => r.path)])] });
    });
    return { resolved, remaining: left };
  });
}
