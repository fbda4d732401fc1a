/**
 * `strata check [REF] [PATH...]`: run the checks of strata.checks.yaml over the table versions of a
 * commit, or (no REF) over the staged versions, which are what `commit` would commit.
 */
import { checkFailedError, checkFlat, readSpec, type CheckReport } from '../checks/judge.js';
import { resolveRev } from '../repo/refs.js';
import { flattenTree } from '../repo/tree.js';
import type { Repository } from '../repo/index.js';

export { checkFailedError, type CheckReport };

export interface CheckOptions {
  /** A commit to judge; absent = the staged versions. */
  ref?: string;
  /** Repository paths (files or folders) to limit the run to. */
  paths?: string[];
}


export async function check(repo: Repository, opts: CheckOptions = {}): Promise<CheckReport> {
  if (opts.ref !== undefined) {
    const id = await resolveRev(repo, opts.ref);
    const c = await repo.readCommit(id);
    const flat = await flattenTree(repo, c.tree);
    const parentFlat = c.parents[0] ? await flattenTree(repo, (await repo.readCommit(c.parents[0])).tree) : new Map();
    const spec = await readSpec(repo, flat, false);
    if (!spec) return { commit: id, results: [], ok: true };
    return checkFlat(repo, flat, { commit: id, parentFlat, commitTime: c.time < 1e12 ? c.time * 1000 : c.time, spec, paths: opts.paths });
  }
  const flat = repo.db.loadIndex();
  const head = repo.head();
  const parentFlat = head.commit ? await flattenTree(repo, (await repo.readCommit(head.commit)).tree) : new Map();
  const spec = await readSpec(repo, flat, true);
  if (!spec) return { commit: null, results: [], ok: true };
  return checkFlat(repo, flat, { commit: null, parentFlat, commitTime: Date.now(), spec, paths: opts.paths });
}
