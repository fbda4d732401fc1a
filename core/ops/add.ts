import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import { isUnder, outermost } from '../workspace/paths.js';
import { identToRow, viewWorkspace } from '../repo/worktree.js';
import { loadIgnore } from '../workspace/ignore.js';
import type { OpOptions } from './context.js';
import { syncGitignore } from './gitignore.js';
import type { Repository } from '../repo/index.js';
import type { IndexRow } from '../meta/db.js';
import { readList } from '../config/registry.js';
import { markResolved } from '../merge/state.js';

export interface AddOptions extends OpOptions {
  /** Repository-relative paths. */
  paths: string[];
  jobs?: number;
}

export interface AddResult {
  added: number;
  modified: number;
  deleted: number;
  unchanged: number;
  files: number;
  bytes: number;
  trackedRoots: string[];
  gitignoreUpdated: boolean;
}

export async function add(repo: Repository, opts: AddOptions): Promise<AddResult> {
  if (opts.paths.length === 0) throw new StrataError('INVALID_ARGUMENT', 'nothing to add', { hint: 'name the data paths: strata add data/ models/model.onnx' });
  checkJobs(opts.jobs);
  return repo.withWriteLock('add', () => stagePaths(repo, opts.paths, opts));
}

/** A parallelism of 0 or NaN would hash no file at all, and every tracked file would look deleted. */
function checkJobs(jobs: number | undefined): void {
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) {
    throw new StrataError('INVALID_ARGUMENT', `--jobs must be a whole number of at least 1, not ${JSON.stringify(String(jobs))}`, { hint: 'e.g. strata add -j 8 data' });
  }
}

/** Stage everything under `paths` (new, modified and deleted files). Used by add and commit -a. */
export async function stagePaths(repo: Repository, paths: string[], opts: { jobs?: number } & OpOptions = {}): Promise<AddResult> {
  checkJobs(opts.jobs);
  const index = repo.db.loadIndex();
  const ig = await loadIgnore(repo.root);
  const roots = outermost(paths);
  for (const r of roots) {
    const exists = await fsp.lstat(join(repo.root, r)).then(() => true, () => false);
    const known = [...index.keys()].some((p) => isUnder(p, r));
    if (!exists && !known) {
      throw new StrataError('PATH_NOT_FOUND', `no such file or directory: ${r || '.'}`, { hint: 'check the path (it is relative to the current directory)' });
    }
    if (exists && r !== '' && ig.ignores(r)) {
      throw new StrataError('INVALID_ARGUMENT', `${r} is ignored by .strataignore`, { hint: 'remove the matching rule from .strataignore to track it' });
    }
  }
  const view = await viewWorkspace(repo, roots, { store: true, progress: opts.progress, jobs: opts.jobs });
  // Objects must be durable before the index refers to them.
  await view.ingestor.finish();
  let added = 0;
  let modified = 0;
  let unchanged = 0;
  let bytes = 0;
  const rows: IndexRow[] = [];
  for (const [p, { wf, ident }] of view.files) {
    const row = identToRow(p, wf, ident);
    const old = index.get(p);
    if (!old) added++;
    else if (old.id !== row.id || old.exec !== row.exec || old.type !== row.type || old.target !== row.target) modified++;
    else {
      unchanged++;
      continue;
    }
    bytes += row.size;
    rows.push(row);
  }
  // In a partial checkout (strata pull/clone -- PATH) files outside the checked-out paths were
  // never downloaded: their absence is not a deletion.
  const sparse = readList(repo.db, 'core.sparse');
  const gone: string[] = [];
  for (const p of index.keys()) {
    if (!roots.some((r) => isUnder(p, r)) || view.files.has(p)) continue;
    if (sparse && !sparse.some((s) => isUnder(p, s))) continue;
    gone.push(p);
  }
  const tracked = outermost([...repo.db.trackedRoots(), ...roots]);
  repo.db.tx(() => {
    repo.db.upsertIndex(rows);
    repo.db.deleteIndex(gone);
    repo.db.deleteStat(gone);
    repo.db.upsertStat(view.statUpdates);
    repo.db.setTrackedRoots(tracked);
    markResolved(repo.db, roots);
  });
  const gitignoreUpdated = await syncGitignore(repo.root, tracked).catch(() => false);
  return { added, modified, deleted: gone.length, unchanged, files: view.files.size, bytes, trackedRoots: tracked, gitignoreUpdated };
}
