import { computeStatus, type StatusResult } from '../repo/worktree.js';
import { getMergeState } from '../merge/state.js';
import type { OpOptions } from './context.js';
import type { MergeConflict } from './types.js';
import type { Repository } from '../repo/index.js';
import { dataVersionState, type DataVersionState } from '../project/lock.js';

/** The merge in progress, as status reports it. */
export interface MergeStatus {
  from: string;
  into: string | null;
  theirs: string;
  base: string | null;
  /** applying: interrupted while writing the workspace (finish with --continue or --abort). */
  phase: 'applying' | 'conflicts';
  conflicts: MergeConflict[];
}

export interface StatusWithData extends StatusResult {
  /** The data version the code's strata.lock names, and whether HEAD is at it (null: no lock file). */
  data: DataVersionState | null;
  /** The merge in progress, or null. */
  merge: MergeStatus | null;
}

export async function status(repo: Repository, opts: { paths?: string[] } & OpOptions = {}): Promise<StatusWithData> {
  const paths = opts.paths ?? [];
  const s = await computeStatus(repo, { paths, progress: opts.progress });
  const m = getMergeState(repo.db);
  const merge = m ? { from: m.from, into: m.into, theirs: m.theirs, base: m.base, phase: m.phase, conflicts: m.conflicts } : null;
  return { ...s, data: await dataVersionState(repo), merge, clean: s.clean && !merge };
}
