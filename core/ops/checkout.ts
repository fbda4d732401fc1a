import { StrataError } from '../errors/index.js';
import type { Id } from '../model/index.js';
import { HEADS, resolveRev } from '../repo/refs.js';
import { flattenTree, sameEntry } from '../repo/tree.js';
import { computeStatus, materialize, rootsOf, type LinkMode } from '../repo/worktree.js';
import { outermost } from '../workspace/paths.js';
import type { Repository } from '../repo/index.js';
import type { OpOptions } from './context.js';
import type { IndexRow } from '../meta/db.js';

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
    // Same commit (e.g. switch -c at HEAD): only HEAD moves; uncommitted work stays as it is.
    const r = commit === head.commit && !opts.force ? { written: 0, removed: 0, bytes: 0 } : await checkoutCommit(repo, commit, { progress: opts.progress, force: opts.force, link: opts.link });
    repo.db.tx(() => {
      if (opts.createBranch) repo.db.casRef(HEADS + opts.createBranch, null, commit);
      const cur = repo.db.getRef('HEAD')?.target ?? null;
      repo.db.casRef('HEAD', cur, branch ? `ref: ${HEADS}${branch}` : commit);
    });
    return { commit, branch, ...r };
  });
}

/**
 * Make the workspace and index match `commit` (HEAD is not moved: callers do that).
 * Refuses (without --force) when uncommitted changes would be lost.
 */
export async function checkoutCommit(
  repo: Repository,
  commit: Id,
  opts: { force?: boolean; link?: LinkMode; paths?: string[] } & OpOptions = {},
): Promise<{ written: number; removed: number; bytes: number }> {
  const c = await repo.readCommit(commit);
  const target = await flattenTree(repo, c.tree);
  const index = repo.db.loadIndex();
  const st = await computeStatus(repo, { progress: opts.progress });
  const dirty = new Set<string>([...st.unstaged.map((x) => x.path), ...st.staged.map((x) => x.path)]);
  // Untracked files that the target would overwrite also count as at risk.
  const clobber = st.untracked.filter((p) => target.has(p));
  if (!opts.force) {
    // Every uncommitted change is at risk: the index is replaced by the target's.
    const risky = [...new Set([...dirty, ...clobber])];
    if (risky.length) {
      throw new StrataError('UNCOMMITTED_CHANGES', `uncommitted changes would be overwritten: ${risky.slice(0, 5).join(', ')}${risky.length > 5 ? ` and ${risky.length - 5} more` : ''}`, {
        hint: 'commit them (strata commit -a -m ...), or use --force to discard them',
        details: { paths: risky },
      });
    }
  }
  // Workspace content as it is now, per path (index entry where unchanged).
  const unstagedMap = new Map(st.unstaged.map((u) => [u.path, u]));
  const remove: string[] = [];
  for (const p of index.keys()) if (!target.has(p)) remove.push(p);
  const write: IndexRow[] = [];
  for (const [p, t] of target) {
    const i = index.get(p);
    const u = unstagedMap.get(p);
    if (i && sameEntry(i, t) && !u) continue; // already there
    write.push(t);
  }
  const res = await materialize(repo, { remove, write }, { progress: opts.progress, link: opts.link, target: target.keys() });
  const roots = Array.isArray(c.meta?.roots) ? outermost(c.meta!.roots as string[]) : rootsOf(target);
  repo.db.tx(() => {
    repo.db.replaceIndex(target.values(), c.tree);
    repo.db.deleteStat(remove);
    repo.db.upsertStat(res.statRows);
    repo.db.setTrackedRoots(outermost([...roots]));
  });
  return { written: res.written, removed: res.removed, bytes: res.bytes };
}
