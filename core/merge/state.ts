/**
 * The state of a merge in progress, kept in the metadata store so that it survives the process
 * (a crash, a kill, or simply the user taking a day to resolve):
 * - refs `MERGE_HEAD` (the commit being merged) and `ORIG_HEAD` (HEAD before the merge): gc roots,
 *   and revisions the user can name (`strata diff HEAD MERGE_HEAD`, `strata cat MERGE_HEAD:PATH`);
 * - local meta `merge.state`: what is merged into what, the merge base, the result tree, the
 *   remaining conflicts and the paths the merge wrote (so `--abort` puts exactly those back).
 *
 * `phase` is `applying` from before the first workspace write until the index is updated: a merge
 * killed there is finished by `merge --continue` (the writes are redone) or undone by `--abort`.
 */
import { StrataError } from '../errors/index.js';
import type { MetaStore } from '../meta/interface.js';
import type { Id } from '../model/index.js';
import type { MergeConflict } from '../ops/types.js';

const MERGE_HEAD = 'MERGE_HEAD';
const ORIG_HEAD = 'ORIG_HEAD';
const KEY = 'merge.state';

export interface MergeState {
  v: 1;
  phase: 'applying' | 'conflicts';
  /** What was merged, as the user named it (`exp`, `origin/main`). */
  from: string;
  /** The branch merged into (null: a detached HEAD). */
  into: string | null;
  ours: Id;
  theirs: Id;
  base: Id | null;
  /** The result tree (conflicted paths hold their pending version). */
  tree: Id;
  message: string;
  conflicts: MergeConflict[];
  /** Paths the merge wrote or removed in the workspace. */
  touched: string[];
  strategy?: 'ours' | 'theirs';
}

export function getMergeState(db: MetaStore): MergeState | null {
  const raw = db.getLocalMeta(KEY);
  if (!raw) return null;
  let s: MergeState;
  try {
    s = JSON.parse(raw) as MergeState;
  } catch {
    s = null as unknown as MergeState;
  }
  if (!s || s.v !== 1 || typeof s.ours !== 'string' || typeof s.theirs !== 'string' || typeof s.tree !== 'string' || !Array.isArray(s.conflicts) || !Array.isArray(s.touched)) {
    throw new StrataError('DB_CORRUPT', 'the record of the merge in progress is damaged', {
      hint: 'strata merge --abort puts the workspace back to HEAD (strata checkout -f HEAD if that fails too)',
    });
  }
  return s;
}

/** Record (or, with null, clear) the merge in progress; call inside a transaction. */
export function setMergeState(db: MetaStore, s: MergeState | null): void {
  if (s) {
    db.setLocalMeta(KEY, JSON.stringify(s));
    const mh = db.getRef(MERGE_HEAD)?.target ?? null;
    if (mh !== s.theirs) db.casRef(MERGE_HEAD, mh, s.theirs);
    const oh = db.getRef(ORIG_HEAD)?.target ?? null;
    if (oh !== s.ours) db.casRef(ORIG_HEAD, oh, s.ours);
    return;
  }
  db.setLocalMeta(KEY, '');
  for (const name of [MERGE_HEAD, ORIG_HEAD]) {
    const r = db.getRef(name);
    if (r) db.casRef(name, r.target, null);
  }
}

/** Refuse `op` while a merge is in progress (it would mix the merge with other changes). */
export function assertNoMerge(db: MetaStore, op: string): void {
  const s = getMergeState(db);
  if (!s) return;
  const left = s.conflicts.length;
  throw new StrataError('MERGE_IN_PROGRESS', `cannot ${op}: a merge of ${s.from} is in progress${left ? ` with ${left} unresolved conflict(s)` : ''}`, {
    hint: left
      ? 'resolve them (strata resolve PATH --ours|--theirs|--base, or edit and strata add PATH), then strata merge --continue; or strata merge --abort'
      : 'finish it with strata merge --continue, or undo it with strata merge --abort',
  });
}

/**
 * Paths the user staged (add, rm, resolve) while a merge is in progress are resolved: their
 * conflicts (and conflicts below or above them: a file/folder clash) leave the list. Call inside
 * the transaction that updates the index. Returns how many were resolved.
 */
export function markResolved(db: MetaStore, paths: readonly string[]): number {
  const s = getMergeState(db);
  if (!s || s.phase !== 'conflicts' || !s.conflicts.length) return 0;
  const hit = (c: string) => paths.some((p) => p === '' || c === p || c.startsWith(p + '/') || p.startsWith(c + '/'));
  const left = s.conflicts.filter((c) => !hit(c.path));
  if (left.length === s.conflicts.length) return 0;
  setMergeState(db, { ...s, conflicts: left });
  return s.conflicts.length - left.length;
}
