/**
 * Compare two refs (GET /compare): their merge base, the commits each has that the other lacks,
 * and the changes from the merge base to `head` — what merging `head` into `base` brings in.
 * A read operation on any open Repository (no workspace needed).
 */
import type { Id } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { HEADS, resolveRev } from '../repo/refs.js';
import { mergeBase as findMergeBase } from '../merge/base.js';
import { ancestors } from '../remote/walk.js';
import { diffTrees, summarizeChanges } from '../repo/tree.js';
import { refsByCommit } from './log.js';
import { mergeRefs } from './merge.js';
import type { CommitDiff, CommitInfo, CompareResult } from './types.js';

export interface CompareOptions {
  base: string;
  head: string;
  /** How many commits of each side to list (default 50). */
  limit?: number;
}

export async function compareRefs(repo: Repository, opts: CompareOptions): Promise<CompareResult> {
  const limit = opts.limit ?? 50;
  const [baseCommit, headCommit] = [await resolveRev(repo, opts.base), await resolveRev(repo, opts.head)];
  const exists = (id: Id): boolean => repo.db.hasCommit(id);
  const ofBase = await ancestors(repo, [baseCommit], exists);
  const ofHead = await ancestors(repo, [headCommit], exists);
  const refs = refsByCommit(repo);
  const info = new Map<Id, CommitInfo>();
  const load = async (ids: Iterable<Id>): Promise<CommitInfo[]> => {
    const out: CommitInfo[] = [];
    for (const id of ids) {
      let ci = info.get(id);
      if (!ci) {
        ci = { id, ...(await repo.readCommit(id)), refs: refs.get(id) ?? [] };
        info.set(id, ci);
      }
      out.push(ci);
    }
    return out.sort((a, b) => b.time - a.time || (a.id < b.id ? -1 : 1));
  };
  const onlyHead = await load([...ofHead].filter((id) => !ofBase.has(id)));
  const onlyBase = await load([...ofBase].filter((id) => !ofHead.has(id)));
  const mergeBase = await findMergeBase(repo, baseCommit, headCommit);
  if (mergeBase) await load([mergeBase]);
  await load([headCommit]);
  // base...head as a diff: from the merge base (or the empty tree, for unrelated histories).
  const baseTree = mergeBase ? info.get(mergeBase)!.tree : null;
  const changes = await diffTrees(repo, baseTree, info.get(headCommit)!.tree, '');
  // Only a branch can be merged into: `base` names one, or is HEAD on a branch.
  const intoBranch = opts.base === 'HEAD' ? repo.head().branch : repo.db.getRef(HEADS + opts.base) ? opts.base : null;
  const diff: CommitDiff = { from: mergeBase ?? '(empty)', to: opts.head, fromCommit: mergeBase, toCommit: headCommit, changes, summary: summarizeChanges(changes) };
  return {
    base: opts.base,
    head: opts.head,
    baseCommit,
    headCommit,
    mergeBase,
    ahead: onlyHead.length,
    aheadCommits: onlyHead.slice(0, limit),
    behind: onlyBase.length,
    behindCommits: onlyBase.slice(0, limit),
    limit,
    diff,
    merge: intoBranch ? await mergeRefs(repo, { into: intoBranch, from: opts.head, dryRun: true }) : null,
  };
}
