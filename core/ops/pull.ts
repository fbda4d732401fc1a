/**
 * strata pull [REMOTE] [BRANCH] [-- PATH...]: fetch, fast-forward the checked-out branch to
 * <remote>/<BRANCH> (BRANCH defaults to the checked-out branch's name), update the workspace.
 * Diverged histories are merged (core/ops/merge.ts; --ff-only refuses instead).
 * With PATHs only the objects those paths need are downloaded (a partial checkout, see
 * core/repo/move.ts); `-- .` checks out everything again.
 */
import type { Repository } from '../repo/index.js';
import { StrataError } from '../errors/index.js';
import type { Id } from '../model/index.js';
import { HEADS, REMOTES } from '../repo/refs.js';
import { defaultRemote, getRemote } from '../remote/config.js';
import { openRemote, type RemoteHandle } from '../remote/open.js';
import { getSparse, normalizeSparsePaths } from '../remote/sparse.js';
import { moveWorkspace } from '../repo/move.js';
import { ensureHistory, ensureObjects, fetchRefs, isAncestor, type FetchResult, type TransferStatsOut } from '../remote/transfer.js';
import type { OpOptions } from './context.js';
import { checkJobs } from './push.js';
import { mergeCommitInto } from './merge.js';
import { assertNoMerge } from '../merge/state.js';
import type { MergeOutcome } from './types.js';
import { recordDataVersion } from '../project/lock.js';
import { followLock, isFresh, refuseClashes, type DataCheckoutResult } from '../project/restore.js';

export interface PullOptions extends OpOptions {
  remote?: string;
  branch?: string;
  /** Partial checkout of these paths (['.'] = everything). Undefined keeps the current selection. */
  paths?: string[];
  force?: boolean;
  jobs?: number;
  /** Refuse to merge diverged histories. */
  ffOnly?: boolean;
  /** Merge strategy when the histories have diverged. */
  strategy?: 'ours' | 'theirs';
}

export interface PullResult {
  remote: string;
  branch: string;
  old: Id | null;
  new: Id | null;
  status: 'up-to-date' | 'fast-forward' | 'ahead' | 'empty-remote' | 'merged' | 'conflicts';
  /** The merge made when the histories had diverged. */
  merge?: MergeOutcome;
  fetch: FetchResult;
  download: TransferStatsOut | null;
  written: number;
  removed: number;
  sparse: string[] | null;
  /** Totals over fetch + download. */
  objects: number;
  bytes: number;
  requests: number | null;
  /** Response bytes on the wire (S3), null when not counted. */
  wireBytesDown: number | null;
  seconds: number;
  /** The first pull of a project checked out the data version strata.lock names (see core/project). */
  locked?: DataCheckoutResult;
}

export async function pull(repo: Repository, opts: PullOptions = {}): Promise<PullResult> {
  const jobs = checkJobs(opts.jobs);
  const started = Date.now();
  return repo.withWriteLock('pull', async () => {
    assertNoMerge(repo.db, 'pull');
    const name = opts.remote ?? defaultRemote(repo.db);
    const cfg = getRemote(repo.db, name);
    const head = repo.head();
    if (!head.branch) throw new StrataError('INVALID_ARGUMENT', 'HEAD is detached: switch to a branch before pulling', { hint: 'strata switch main' });
    const remoteBranch = opts.branch ?? head.branch;
    const fresh = isFresh(repo);
    const remote = await openRemote(cfg, { jobs });
    let res: PullResult;
    try {
      res = await pullInto(repo, remote, { ...opts, jobs, started, branch: head.branch, remoteBranch, progress: opts.progress, beforeMove: fresh && !opts.paths ? (t) => refuseClashes(repo, t) : undefined });
    } finally {
      await remote.close();
    }
    const locked = await followLock(repo, fresh, { force: opts.force, progress: opts.progress });
    await recordDataVersion(repo);
    return locked ? { ...res, locked } : res;
  });
}

export async function pullInto(
  repo: Repository,
  remote: RemoteHandle,
  o: {
    branch: string;
    remoteBranch: string;
    paths?: string[];
    /** Check nothing out (clone --no-checkout): an empty partial selection. */
    noCheckout?: boolean;
    force?: boolean;
    ffOnly?: boolean;
    strategy?: 'ours' | 'theirs';
    jobs: number;
    started: number;
    progress?: OpOptions['progress'];
    head?: string;
    /** Runs before the workspace moves to `target` (e.g. refusing files that would be replaced). */
    beforeMove?: (target: Id) => Promise<void>;
  },
): Promise<PullResult> {
  const sparseBefore = getSparse(repo.db);
  const norm = o.paths === undefined ? undefined : normalizeSparsePaths(o.paths);
  const wanted: string[] | null | undefined = o.noCheckout ? [] : norm === undefined ? undefined : norm.length === 0 ? null : norm;
  const partial = wanted === undefined ? sparseBefore : wanted;
  const f = await fetchRefs(repo, remote, { branches: [o.remoteBranch], data: partial ? 'none' : 'history', jobs: o.jobs, progress: o.progress });
  const theirs = repo.db.getRef(`${REMOTES}${remote.name}/${o.remoteBranch}`)?.target ?? null;
  const localRef = HEADS + o.branch;
  const ours = repo.db.getRef(localRef)?.target ?? null;
  const base = { remote: remote.name, branch: o.branch, old: ours, fetch: f };
  if (!theirs) {
    return finish({ ...base, new: ours, status: 'empty-remote', download: null, written: 0, removed: 0, sparse: sparseBefore }, o.started);
  }
  let status: PullResult['status'];
  if (ours === theirs) status = 'up-to-date';
  else if (!ours || (await isAncestor(repo, ours, theirs))) status = 'fast-forward';
  else if (await isAncestor(repo, theirs, ours)) status = 'ahead';
  else {
    if (o.ffOnly) {
      throw new StrataError('NON_FAST_FORWARD', `${o.branch} and ${remote.name}/${o.remoteBranch} have diverged (each has commits the other does not): not a fast-forward`, {
        hint: `merge them: strata pull (without --ff-only), or strata merge ${remote.name}/${o.remoteBranch}`,
        details: { ours, theirs },
      });
    }
    // Diverged: merge theirs into the checked-out branch (conflicts leave a merge in progress).
    if (partial) await ensureObjects(repo, remote, theirs, partial, { jobs: o.jobs, progress: o.progress });
    const m = await mergeCommitInto(repo, theirs, `${remote.name}/${o.remoteBranch}`, { strategy: o.strategy, progress: o.progress });
    return finish({ ...base, new: m.commit ?? ours, status: m.status === 'conflicts' ? 'conflicts' : 'merged', merge: m, download: null, written: m.changes.length, removed: 0, sparse: sparseBefore }, o.started);
  }
  const target = status === 'ahead' ? ours! : theirs;
  // Nothing to move and no change of the checked-out paths: done.
  if (status !== 'fast-forward' && wanted === undefined && o.head === undefined) {
    return finish({ ...base, new: ours, status, download: null, written: 0, removed: 0, sparse: sparseBefore }, o.started);
  }
  if (o.beforeMove) await o.beforeMove(target);
  const sparseAfter = partial === null ? null : [...(sparseBefore ?? []), ...partial];
  const dl =
    partial === null && sparseBefore !== null
      ? await ensureHistory(repo, remote, target, { jobs: o.jobs, progress: o.progress })
      : await ensureObjects(repo, remote, target, sparseAfter, { jobs: o.jobs, progress: o.progress });
  const ws = await moveWorkspace(repo, target, {
    sparse: partial,
    force: o.force,
    progress: o.progress,
    ref: status === 'fast-forward' ? { name: localRef, old: ours } : undefined,
    head: o.head,
  });
  return finish({ ...base, new: target, status, download: dl, written: ws.written, removed: ws.removed, sparse: ws.sparse }, o.started);
}

function finish(r: Omit<PullResult, 'objects' | 'bytes' | 'requests' | 'wireBytesDown' | 'seconds'>, started: number): PullResult {
  return {
    ...r,
    objects: r.fetch.objects + (r.download?.objects ?? 0),
    bytes: r.fetch.bytes + (r.download?.bytes ?? 0),
    requests: r.download?.requests ?? r.fetch.requests,
    wireBytesDown: r.download?.wireBytesDown ?? r.fetch.wireBytesDown,
    seconds: Math.round((Date.now() - started) / 10) / 100,
  };
}
