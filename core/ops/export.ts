/**
 * strata export REF PATH DEST [--force]: copy a file or folder of a commit of the local repository
 * to DEST, leaving the workspace, the index and HEAD as they are (DEST may be anywhere but inside
 * .strata/). The copy itself (checks, verification, stage folder, rename): core/ops/copy-out.ts.
 * Reads only: no lock is taken, so it runs beside a commit or a checkout.
 */
import { resolveRev } from '../repo/refs.js';
import type { Repository } from '../repo/index.js';
import type { OpOptions } from './context.js';
import { copyOut, destFor, normalizeCopyPath, type CopyOutResult } from './copy-out.js';

export interface ExportOptions extends OpOptions {
  rev: string;
  /** Path in the commit (repository-relative; '' for the whole tree). */
  path: string;
  /** Destination, resolved against `cwd`. */
  dest: string;
  /** Folder the user is in (default the repository root). */
  cwd?: string;
  force?: boolean;
  jobs?: number;
}

export interface ExportResult extends CopyOutResult {
  rev: string;
}

export async function exportPath(repo: Repository, opts: ExportOptions): Promise<ExportResult> {
  const path = normalizeCopyPath(opts.path);
  const dest = destFor(opts.cwd ?? repo.root, path, opts.dest);
  const commit = await resolveRev(repo, opts.rev);
  const c = await repo.readCommit(commit);
  const r = await copyOut({ store: repo.store, readTree: (id) => repo.readTree(id) }, commit, c.tree, path, dest, {
    force: opts.force,
    jobs: opts.jobs,
    progress: opts.progress,
    forbidden: [repo.dir],
  });
  return { ...r, rev: opts.rev };
}
