/**
 * A branch's uncommitted writes made through the S3 gateway, as operations for the server's JSON
 * API (server/staging.ts) and in-process callers: list them with the branch head they lie over,
 * commit them as one commit (optionally recorded as a run), or discard them. The work is done by
 * core/gateway/staging.ts; these give it the one-operation-per-route shape.
 */
import { branchHead, commitStaged, discardStaged, listStagedChanges } from '../gateway/staging.js';
import type { CommitStagedOptions, CommitStagedResult, StagedChange } from '../gateway/types.js';
import type { Id } from '../model/index.js';
import type { Repository } from '../repo/index.js';

export interface StagingList {
  branch: string;
  /** The commit the changes lie over (null: the branch has no commit yet). */
  head: Id | null;
  changes: StagedChange[];
}

export interface StagingDiscardResult {
  branch: string;
  /** Uncommitted changes dropped. */
  discarded: number;
}

export function stagingList(repo: Repository, branch: string): StagingList {
  const changes = listStagedChanges(repo, branch);
  return { branch, head: branchHead(repo, branch), changes };
}

/** Turn the branch's uncommitted writes into one commit (takes the writer lock). */
export function stagingCommit(repo: Repository, branch: string, opts: CommitStagedOptions): Promise<CommitStagedResult> {
  return commitStaged(repo, branch, opts);
}

/** Drop all of the branch's uncommitted writes, or those at or below `paths`. */
export function stagingDiscard(repo: Repository, branch: string, paths?: string[]): StagingDiscardResult {
  return { branch, ...discardStaged(repo, branch, paths) };
}
