/**
 * Partial (sparse) checkouts made by `strata pull -- PATH...` and `strata clone URL -- PATH...`:
 * the user's paths, normalised. The selection itself (config `core.sparse`, getSparse) and what
 * moving the workspace does with it live with the one workspace move, core/repo/move.ts.
 */
import { checkStoredPath, outermost } from '../workspace/paths.js';
import { getSparse, type FetchMissing } from '../repo/move.js';
import type { Repository } from '../repo/index.js';
import type { ProgressSink } from '../repo/worktree.js';

export { getSparse } from '../repo/move.js';

/** Normalise user paths for a partial checkout: repository-relative, no '.', '..', or leading '/'. */
export function normalizeSparsePaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const raw of paths) {
    const p = raw.replace(/\\/g, '/').replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (p === '' || p === '.') return [];
    checkStoredPath(p);
    out.push(p);
  }
  return outermost(out);
}

/**
 * What a workspace move in a partial checkout uses to get the objects it lacks (files of another
 * commit under the checked-out paths): download them from the default remote. Undefined when
 * the checkout is complete or no remote is configured (the move then fails with OBJECT_MISSING
 * before changing anything).
 */
export async function partialFetcher(repo: Repository, opts: { jobs?: number; progress?: ProgressSink } = {}): Promise<FetchMissing | undefined> {
  if (getSparse(repo.db) === null) return undefined;
  const { defaultRemote, getRemote, listRemotes } = await import('./config.js');
  if (listRemotes(repo.db).length === 0) return undefined;
  return async (commit, paths) => {
    const { openRemote } = await import('./open.js');
    const { ensureObjects } = await import('./transfer.js');
    const remote = await openRemote(getRemote(repo.db, defaultRemote(repo.db)), { jobs: opts.jobs });
    try {
      await ensureObjects(repo, remote, commit, paths, opts);
    } finally {
      await remote.close();
    }
  };
}
