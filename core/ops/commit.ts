import { getMergeState } from '../merge/state.js';
import { mergeContinue } from './merge.js';
import { StrataError, isStrataError } from '../errors/index.js';
import { readCodeState } from '../code/git.js';
import type { Commit, Id } from '../model/index.js';
import { storeIndexTree, flattenTree, diffFlat, type Change } from '../repo/tree.js';
import { HEADS } from '../repo/refs.js';
import type { OpOptions } from './context.js';
import type { Repository } from '../repo/index.js';
import { recordDataVersion } from '../project/lock.js';

export interface CommitOptions extends OpOptions {
  message: string;
  allowEmpty?: boolean;
  /** Stage changes of everything under the tracked roots first (like git commit -a). */
  all?: boolean;
  /** Extra metadata recorded in the commit. */
  meta?: Record<string, unknown>;
  /** Skip the data checks of strata.checks.yaml (`--no-verify`). */
  noVerify?: boolean;
}

export interface CommitResult {
  id: Id;
  branch: string | null;
  parent: Id | null;
  changes: Change[];
  code: Commit['code'];
  /** Non-fatal problems (e.g. an uncommitted code change too large to record). */
  warnings: string[];
}

export async function commit(repo: Repository, opts: CommitOptions): Promise<CommitResult> {
  const message = opts.message?.trim();
  if (!message) throw new StrataError('INVALID_ARGUMENT', 'empty commit message', { hint: 'pass -m "what changed"' });
  return repo.withWriteLock('commit', async () => {
    // Loaded here, not at the top: newCommit (below) is on every merge's path, which needs none of them.
    const [{ stagePaths }, { check, checkFailedError }] = await Promise.all([import('./add.js'), import('./check.js')]);
    const merging = getMergeState(repo.db);
    if (merging) {
      // Committing during a merge finishes it (a merge commit with both parents), as in git.
      if (opts.all) {
        const roots = repo.db.trackedRoots();
        if (roots.length && merging.phase === 'conflicts') await stagePaths(repo, roots, { progress: opts.progress });
      }
      const m = await mergeContinue(repo, { message: opts.message, progress: opts.progress });
      return { id: m.commit!, branch: m.into, parent: m.ours, changes: [], code: (await repo.readCommit(m.commit!)).code, warnings: [] };
    }
    if (opts.all) {
      const roots = repo.db.trackedRoots();
      if (roots.length) await stagePaths(repo, roots, { progress: opts.progress });
    }
    if (!opts.noVerify) {
      const report = await check(repo, {});
      if (!report.ok) throw checkFailedError(report, 'commit refused');
    }
    return commitIndex(repo, message, opts);
  });
}

/** Commit the staging index as it is (caller holds the write lock). */
export async function commitIndex(repo: Repository, message: string, opts: { allowEmpty?: boolean; meta?: Record<string, unknown> } = {}): Promise<CommitResult> {
  const head = repo.head();
  const parentCommit = head.commit ? await repo.readCommit(head.commit) : null;
  const index = repo.db.loadIndex();
  const headFlat = await flattenTree(repo, parentCommit?.tree ?? null);
  const changes = diffFlat(headFlat, index);
  if (changes.length === 0 && !opts.allowEmpty) {
    throw new StrataError('NOTHING_TO_COMMIT', 'nothing to commit: the index matches HEAD', {
      hint: 'stage changes with strata add <path> (or use strata commit -a, or --allow-empty)',
    });
  }
  const tree = await storeIndexTree(repo, index);
  const { c, id, warnings } = await newCommit(repo, { tree, parents: head.commit ? [head.commit] : [], message, meta: { roots: repo.db.trackedRoots(), ...(opts.meta ?? {}) } });
  repo.db.tx(() => {
    if (head.branch) repo.db.casRef(HEADS + head.branch, head.commit, id);
    else repo.db.casRef('HEAD', head.commit, id);
    // Only if nothing changed the index since we read it (we hold the write lock).
    repo.db.setIndexTree(tree);
  });
  await recordDataVersion(repo);
  return { id, branch: head.branch, parent: head.commit, changes, code: c.code, warnings };
}

/**
 * Write a commit object for `tree` (not moving any ref): author, time, and the code version of the
 * project (git commit, and the uncommitted code changes when dirty) unless `code` is false (the
 * server, which has no code of its own).
 */
export async function newCommit(
  repo: Repository,
  o: { tree: Id; parents: Id[]; message: string; meta?: Record<string, unknown>; code?: boolean; author?: Commit['author'] },
): Promise<{ c: Commit; id: Id; warnings: string[] }> {
  const code =
    o.code === false
      ? null
      : await readCodeState(repo.root, { config: repo.db }).catch((e: unknown) => {
          // code.git = cli without a usable git program: an error, not a commit without its code.
          if (isStrataError(e, 'CONFIG_INVALID')) throw e;
          return null;
        });
  const warnings: string[] = [];
  let diff: Id | null = null;
  if (code?.root && code.commit && code.dirty) {
    // Record the uncommitted changes of tracked code files (the code this data goes with).
    try {
      const { snapshotCodeChanges } = await import('../code/snapshot.js');
      const snap = await snapshotCodeChanges(repo, code.root, code.commit);
      if (snap) {
        diff = snap.id;
        warnings.push(...snap.warnings);
      }
    } catch (e) {
      warnings.push(`could not record the uncommitted code changes: ${(e as Error).message}`);
    }
  }
  const c: Commit = {
    tree: o.tree,
    parents: o.parents,
    author: o.author ?? (await repo.author()),
    time: Date.now(),
    message: o.message,
    code: code && code.root ? { commit: code.commit, branch: code.branch ?? null, remote: code.remote ?? null, dirty: code.dirty, ...(diff ? { diff } : {}) } : null,
    meta: o.meta,
  };
  const id = await repo.writeCommit(c);
  return { c, id, warnings };
}
