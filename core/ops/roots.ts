/**
 * Every root a deleting or checking operation must start from, in one place: gc keeps exactly
 * what is reachable from these, fsck checks exactly these. Each kind of root is listed here
 * explicitly (no registration by side-effect imports), so a new operation that deletes objects
 * calls collectRoots and cannot forget one.
 *
 * Kinds:
 * - refs: every branch, tag, remote-tracking ref and a detached HEAD (commits, with their history),
 *   and annotated tag objects;
 * - index: the staging index (what the next commit will use);
 * - merge: the result tree of a merge in progress, MERGE_HEAD and ORIG_HEAD;
 * - runs: every run object and log, and the outputs of successful runs with their trees, chunk
 *   manifests and chunks (the run cache restores them; lineage checks them out);
 * - reproducibility: code-changes objects of runs and commits recorded with dirty code, and the
 *   input versions of runs that are in the store (strata checkout --for, strata reproduce);
 * - gateway: the uncommitted writes of every branch made through the S3 gateway (core/gateway):
 *   the blob of each staged put, or its chunk manifest and chunks. They are acknowledged writes,
 *   so gc keeps them until they are committed (then the commit holds them) or discarded.
 *
 * Lives above core/repo because the last two kinds read run records (core/meta) and code-changes
 * objects (core/code).
 */
import { reproducibilityRoots } from '../code/snapshot.js';
import { runObjectRoots } from '../meta/runs.js';
import type { Id } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { refRoots, type Roots } from '../repo/reach.js';
import { collectVersionObjects } from '../repo/tree.js';
import { getMergeState } from '../merge/state.js';

function mergeTrees(repo: Repository): Id[] {
  const s = getMergeState(repo.db);
  return s ? [s.tree] : [];
}


/** The roots of `repo` (see the file comment). */
export async function collectRoots(repo: Repository): Promise<Roots> {
  return {
    ...refRoots(repo),
    index: true,
    // A merge in progress: its result tree (MERGE_HEAD and ORIG_HEAD are refs, in refRoots).
    trees: mergeTrees(repo),
    extra: {
      runs: await runRoots(repo),
      reproducibility: await reproducibilityRoots(repo),
      gateway: await gatewayRoots(repo),
    },
  };
}

/**
 * Objects runs keep alive: every run object and log (listed whether present or not, so fsck
 * reports a missing one), and the outputs of successful runs with their trees, chunk manifests
 * and chunks.
 */
async function runRoots(repo: Repository): Promise<Id[]> {
  const { ids, outs } = runObjectRoots(repo.db);
  const out = new Set<Id>(ids);
  for (const o of outs) await collectVersionObjects(repo, o, out);
  return [...out];
}

/** The objects of every staged put of the S3 gateway, on every branch (manifests expanded to their chunks). */
async function gatewayRoots(repo: Repository): Promise<Id[]> {
  const out = new Set<Id>();
  for (const branch of repo.db.stagedBranches()) {
    for (const r of repo.db.listStaged(branch)) {
      if (r.op === 'put' && r.entry) await collectVersionObjects(repo, { id: r.entry.id, kind: 'file', chunks: r.entry.chunks }, out);
    }
  }
  return [...out];
}
