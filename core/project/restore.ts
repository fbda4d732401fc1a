/**
 * Bringing the data to what the code says, and writing data into a folder that already holds
 * files (a git clone of the project).
 *
 * - checkoutDataVersion: `strata checkout` with no revision, after `git checkout OLD`: the data
 *   commit strata.lock names, fetched from its remote when this repository does not have it yet.
 * - refuseClashes: before the first checkout into a folder with files in it, every file the data
 *   would write must be absent or identical; otherwise nothing is written and the clashing paths
 *   are named.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import type { Id } from '../model/index.js';
import { HEADS, REMOTES } from '../repo/refs.js';
import { flattenTree } from '../repo/tree.js';
import { viewWorkspace, type LinkMode } from '../repo/worktree.js';
import { defaultRemote } from '../remote/config.js';
import type { FetchResult } from '../remote/transfer.js';
import type { Repository } from '../repo/index.js';
import { checkout, type CheckoutResult } from '../ops/checkout.js';
import { fetch } from '../ops/fetch.js';
import type { OpOptions } from '../ops/context.js';
import { readLock, type DataLock } from './lock.js';
import { LOCK_FILE } from '../workspace/ignore.js';

export interface DataCheckoutResult extends CheckoutResult {
  lock: DataLock;
  /** What was fetched to get the locked commit (null: it was here already). */
  fetched: (FetchResult & { remote: string }) | null;
}

/** Whether nothing has been checked out in this repository yet (no commit, empty index). */
export function isFresh(repo: Repository): boolean {
  return repo.head().commit === null && repo.db.loadIndex().size === 0;
}

/**
 * Check out the data commit named by strata.lock (the version that goes with the code checked
 * out by git): on its branch when that branch points at it, else detached.
 */
export async function checkoutDataVersion(repo: Repository, opts: OpOptions & { force?: boolean; link?: LinkMode } = {}): Promise<DataCheckoutResult> {
  return repo.withWriteLock('checkout', async () => {
    const lock = await readLock(repo.root);
    if (!lock) {
      throw new StrataError('INVALID_ARGUMENT', `checkout needs a branch, tag or commit (there is no ${LOCK_FILE} here naming the data version of the code)`, {
        hint: 'strata checkout main',
      });
    }
    let fetched: DataCheckoutResult['fetched'] = null;
    if (!repo.db.hasCommit(lock.commit)) {
      let remote: string;
      try {
        remote = lock.remote && repo.db.getConfig(`remote.${lock.remote}.url`) ? lock.remote : defaultRemote(repo.db);
      } catch (e) {
        throw new StrataError('UNKNOWN_REF', `data commit ${lock.commit.slice(0, 12)} named by ${LOCK_FILE} is not in this repository, and there is no remote to fetch it from`, {
          hint: 'add the project\'s remote (strata remote add origin URL), then strata checkout',
          cause: e,
        });
      }
      fetched = { ...(await fetch(repo, { remote, progress: opts.progress })), remote };
      if (!repo.db.hasCommit(lock.commit)) {
        throw new StrataError('UNKNOWN_REF', `data commit ${lock.commit.slice(0, 12)} named by ${LOCK_FILE} is not on remote ${remote} either`, {
          hint: 'whoever committed this code has not pushed its data: ask them to run strata push',
        });
      }
    }
    if (isFresh(repo)) await refuseClashes(repo, lock.commit);
    const onBranch = lock.branch ? repo.db.getRef(HEADS + lock.branch)?.target ?? null : null;
    let r: CheckoutResult;
    if (lock.branch && onBranch === lock.commit) {
      r = await checkout(repo, { target: lock.branch, force: opts.force, link: opts.link, progress: opts.progress });
    } else if (lock.branch && onBranch === null && repo.db.getRef(`${REMOTES}${fetched?.remote ?? lock.remote ?? ''}/${lock.branch}`)?.target === lock.commit) {
      r = await checkout(repo, { target: lock.commit, createBranch: lock.branch, force: opts.force, link: opts.link, progress: opts.progress });
    } else {
      r = await checkout(repo, { target: lock.commit, detach: true, force: opts.force, link: opts.link, progress: opts.progress });
    }
    return { ...r, lock, fetched };
  });
}

/**
 * Refuse (UNCOMMITTED_CHANGES, nothing written) when files already in the workspace would be
 * replaced by different content from `commit`: a file where the data has another file, a folder
 * where it has a file, a file where it needs a folder. Identical files are fine.
 */
export async function refuseClashes(repo: Repository, commit: Id): Promise<void> {
  const target = await flattenTree(repo, (await repo.readCommit(commit)).tree);
  const clash: string[] = [];
  const existing: string[] = [];
  for (const [p, row] of target) {
    const st = await lstat(join(repo.root, p)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOTDIR' ? 'notdir' : null));
    if (st === null) continue;
    if (st === 'notdir' || st.isDirectory() || (row.type === 'symlink') !== st.isSymbolicLink()) clash.push(p);
    else existing.push(p);
  }
  if (existing.length) {
    const view = await viewWorkspace(repo, existing, { store: false });
    for (const p of existing) if (view.files.get(p)?.ident.id !== target.get(p)!.id) clash.push(p);
  }
  if (!clash.length) return;
  clash.sort();
  throw new StrataError('UNCOMMITTED_CHANGES', `files already in ${repo.root} differ from the data being checked out: ${clash.slice(0, 10).join(', ')}${clash.length > 10 ? ` and ${clash.length - 10} more` : ''}; nothing was written`, {
    hint: 'move those files away (or delete them) and run the command again; files identical to the data are fine',
    details: { paths: clash },
  });
}

/**
 * After the first pull into a repository created from the project file: when strata.lock names
 * another commit than the one pulled, check that one out (the data that goes with the code).
 */
export async function followLock(repo: Repository, wasFresh: boolean, opts: OpOptions & { force?: boolean } = {}): Promise<DataCheckoutResult | null> {
  if (!wasFresh) return null;
  const lock = await readLock(repo.root).catch(() => null);
  if (!lock || lock.commit === repo.head().commit) return null;
  return checkoutDataVersion(repo, opts);
}

