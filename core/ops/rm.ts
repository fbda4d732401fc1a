import { markResolved } from '../merge/state.js';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';
import { isUnder } from '../workspace/paths.js';
import { computeStatus } from '../repo/worktree.js';
import type { Repository } from '../repo/index.js';

export interface RmOptions {
  paths: string[];
  /** Keep the files in the workspace; only stop tracking them. */
  keep?: boolean;
  /** Remove even if the workspace copy has changes that were never committed. */
  force?: boolean;
}

export interface RmResult {
  removed: string[];
  kept: boolean;
}

export async function rm(repo: Repository, opts: RmOptions): Promise<RmResult> {
  if (opts.paths.length === 0) throw new StrataError('INVALID_ARGUMENT', 'nothing to remove', { hint: 'name the paths: strata rm data/old.csv' });
  return repo.withWriteLock('rm', async () => {
    const paths = opts.paths;
    const index = repo.db.loadIndex();
    const hit = [...index.keys()].filter((p) => paths.some((r) => isUnder(p, r)));
    const missingArg = paths.find((r) => ![...index.keys()].some((p) => isUnder(p, r)));
    if (missingArg !== undefined) {
      throw new StrataError('PATH_NOT_TRACKED', `${missingArg || '.'} is not tracked`, { hint: 'see strata status for what is tracked' });
    }
    if (!opts.keep && !opts.force) {
      // Refuse to delete workspace files whose content is not safely stored in a commit.
      const st = await computeStatus(repo, { paths });
      const risky = [...st.unstaged.filter((c) => c.kind !== 'deleted'), ...st.staged.filter((c) => c.kind !== 'deleted')].map((c) => c.path);
      if (risky.length) {
        throw new StrataError('UNCOMMITTED_CHANGES', `these files have changes that are not committed: ${risky.slice(0, 5).join(', ')}${risky.length > 5 ? ` and ${risky.length - 5} more` : ''}`, {
          hint: 'commit them first, use --keep to leave the files in place, or --force to delete anyway',
        });
      }
    }
    if (!opts.keep) {
      for (const p of hit) {
        try {
          await fsp.rm(join(repo.root, p), { force: true });
        } catch (e) {
          throw fromSystemError(e, p);
        }
      }
    }
    const roots = repo.db.trackedRoots();
    // A removed root stops being tracked; a removed file inside a root just leaves the index.
    const keepRoots = roots.filter((r) => !paths.some((p) => isUnder(r, p)));
    repo.db.tx(() => {
      repo.db.deleteIndex(hit);
      repo.db.deleteStat(hit);
      repo.db.setTrackedRoots(keepRoots);
      markResolved(repo.db, paths);
    });
    return { removed: hit, kept: !!opts.keep };
  });
}
