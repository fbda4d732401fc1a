import { computeStatus, type StatusResult } from '../repo/worktree.js';
import type { OpOptions } from './context.js';
import type { Repository } from '../repo/index.js';


export async function status(repo: Repository, opts: { paths?: string[] } & OpOptions = {}): Promise<StatusResult> {
    const paths = opts.paths ?? [];
  return computeStatus(repo, { paths, progress: opts.progress });
}
