import { assertNoMerge } from '../merge/state.js';
import { StrataError } from '../errors/index.js';
import type { Id } from '../model/index.js';
import { HEADS, resolveRev } from '../repo/refs.js';
import { moveWorkspace } from '../repo/move.js';
import { partialFetcher } from '../remote/sparse.js';
import type { LinkMode } from '../repo/worktree.js';
import type { Repository } from '../repo/index.js';
import type { OpOptions } from './context.js';
import { recordDataVersion } from '../project/lock.js';

export interface CheckoutOptions extends OpOptions {
  /** Branch, tag or commit. */
  target: string;
  /** Discard uncommitted changes that would be overwritten. */
  force?: boolean;
  /** Create this branch at target and switch to it. */
  createBranch?: string;
  /** Switch to a branch only (strata switch): refuse non-branch targets unless detach. */
  requireBranch?: boolean;
  detach?: boolean;
  link?: LinkMode;
}

export interface CheckoutResult {
  commit: Id;
  branch: string | null;
  written: number;
  removed: number;
  bytes: number;
}

export async function checkout(repo: Repository, opts: CheckoutOptions): Promise<CheckoutResult> {
  return repo.withWriteLock('checkout', async () => {
    assertNoMerge(repo.db, `check out ${opts.target}`);
    let branch: string | null = null;
    const commit = await resolveRev(repo, opts.target);
    if (opts.createBranch) branch = opts.createBranch;
    else if (!opts.detach && repo.db.getRef(HEADS + opts.target)) branch = opts.target;
    else if (opts.requireBranch) {
      throw new StrataError('INVALID_ARGUMENT', `${opts.target} is not a branch`, { hint: `use strata switch --detach ${opts.target}, or strata switch -c NEW ${opts.target}` });
    }
    if (opts.createBranch) {
      const { validateRefName } = await import('../repo/refs.js');
      validateRefName(opts.createBranch, 'branch');
      if (repo.db.getRef(HEADS + opts.createBranch)) throw new StrataError('REF_EXISTS', `branch ${opts.createBranch} already exists`, { hint: 'pick another name' });
    }
    const head = repo.head();
    const newHead = branch ? `ref: ${HEADS}${branch}` : commit;
    const newRef = opts.createBranch ? { name: HEADS + opts.createBranch, old: null } : undefined;
    // Same commit (e.g. switch -c at HEAD): only HEAD moves; uncommitted work stays as it is.
    if (commit === head.commit && !opts.force) {
      repo.db.tx(() => {
        if (newRef) repo.db.casRef(newRef.name, null, commit);
        const cur = repo.db.getRef('HEAD')?.target ?? null;
        repo.db.casRef('HEAD', cur, newHead);
      });
      await recordDataVersion(repo);
      return { commit, branch, written: 0, removed: 0, bytes: 0 };
    }
    const fetchMissing = await partialFetcher(repo, { progress: opts.progress });
    const r = await moveWorkspace(repo, commit, { force: opts.force, link: opts.link, progress: opts.progress, ref: newRef, head: newHead, fetchMissing });
    await recordDataVersion(repo);
    return { commit, branch, written: r.written, removed: r.removed, bytes: r.bytes };
  });
}
