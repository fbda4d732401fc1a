import { toRepoPath } from '../workspace/paths.js';
import { computeStatus, type StatusResult } from '../repo/worktree.js';
import { withRepo, type OpContext } from './context.js';

export type { StatusResult };

export async function status(ctx: OpContext, opts: { paths?: string[] } = {}): Promise<StatusResult> {
  return withRepo(ctx, async (repo) => {
    const paths = (opts.paths ?? []).map((p) => toRepoPath(repo.root, ctx.cwd, p));
    return computeStatus(repo, { paths, progress: ctx.progress });
  });
}
