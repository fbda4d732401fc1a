import type { Commit, Id } from '../model/index.js';
import { resolveRev } from '../repo/refs.js';
import { diffTrees, type Change } from '../repo/tree.js';
import { withRepo, type OpContext } from './context.js';
import { refsByCommit } from './log.js';

export interface ShowResult extends Commit {
  id: Id;
  refs: string[];
  /** Changes against the first parent (or everything, for a root commit). */
  changes: Change[];
}

export async function show(ctx: OpContext, opts: { ref?: string } = {}): Promise<ShowResult> {
  return withRepo(ctx, async (repo) => {
    const id = await resolveRev(repo, opts.ref ?? 'HEAD');
    const c = await repo.readCommit(id);
    const parentTree = c.parents[0] ? (await repo.readCommit(c.parents[0])).tree : null;
    const changes = await diffTrees(repo, parentTree, c.tree);
    return { id, ...c, refs: refsByCommit(repo).get(id) ?? [], changes };
  });
}
