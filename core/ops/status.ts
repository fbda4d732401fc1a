import { computeStatus, type StatusResult } from '../repo/worktree.js';
import type { OpOptions } from './context.js';
import type { Repository } from '../repo/index.js';
import { dataVersionState, type DataVersionState } from '../project/lock.js';

export interface StatusWithData extends StatusResult {
  /** The data version the code's strata.lock names, and whether HEAD is at it (null: no lock file). */
  data: DataVersionState | null;
}

export async function status(repo: Repository, opts: { paths?: string[] } & OpOptions = {}): Promise<StatusWithData> {
  const paths = opts.paths ?? [];
  const s = await computeStatus(repo, { paths, progress: opts.progress });
  return { ...s, data: await dataVersionState(repo) };
}
