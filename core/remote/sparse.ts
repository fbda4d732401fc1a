/**
 * Partial (sparse) checkouts made by `strata pull -- PATH...` and `strata clone URL -- PATH...`.
 *
 * The repository config key `core.sparse` holds a JSON array of the paths that are checked out
 * (absent = everything). The staging index always mirrors the whole commit, so a commit made in a
 * partial checkout keeps the files it did not download exactly as they were. Status does not
 * report a file outside the sparse paths as deleted when it is absent (it is "not checked out");
 * a file that is present is compared as usual.
 *
 * syncWorkspace() is the sparse-aware sibling of checkoutCommit(): it writes only files under the
 * (new) sparse paths; outside them, files that did not change stay as they are, and files whose
 * content changed upstream are removed rather than left stale (their new bytes were not
 * downloaded). Index, stat cache, tracked roots, sparse paths and the branch ref move together in
 * one transaction at the end.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import type { IndexRow, MetaStore } from '../meta/interface.js';
import type { Id } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { flattenTree, sameEntry } from '../repo/tree.js';
import { computeStatus, materialize, rootsOf, type ProgressSink } from '../repo/worktree.js';
import { checkStoredPath, isUnder, outermost } from '../workspace/paths.js';
import { readList } from '../config/registry.js';

export const SPARSE_KEY = 'core.sparse';

export function getSparse(db: MetaStore): string[] | null {
  const v = readList(db, SPARSE_KEY);
  return v;
}

/** Normalise user paths for a partial checkout: repository-relative, no '.', '..', or leading '/'. */
export function normalizeSparsePaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const raw of paths) {
    const p = raw.replace(/\\/g, '/').replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (p === '' || p === '.') return [];
    checkStoredPath(p);
    out.push(p);
  }
  return outermost(out);
}

export interface SyncOptions {
  /** Paths to check out (null = everything: leaves partial mode). */
  paths: string[] | null;
  force?: boolean;
  progress?: ProgressSink;
  /** Moved to `commit` in the final transaction (compare-and-swap from `old`). */
  ref?: { name: string; old: Id | null };
  /** HEAD to set in the same transaction (e.g. 'ref: refs/heads/main' for a clone). */
  head?: string;
}

export async function syncWorkspace(repo: Repository, commit: Id, opts: SyncOptions): Promise<{ written: number; removed: number; bytes: number; sparse: string[] | null }> {
  const oldSparse = getSparse(repo.db);
  const newSparse = opts.paths === null ? null : outermost([...(oldSparse ?? []), ...opts.paths]);
  const inNew = (p: string) => newSparse === null || newSparse.some((s) => isUnder(p, s));
  const inOld = (p: string) => oldSparse === null || oldSparse.some((s) => isUnder(p, s));

  const c = await repo.readCommit(commit);
  const target = await flattenTree(repo, c.tree);
  const index = repo.db.loadIndex();
  const st = await computeStatus(repo, { progress: opts.progress });
  const dirty = new Set<string>([...st.unstaged.map((x) => x.path), ...st.staged.map((x) => x.path)]);
  const clobber = st.untracked.filter((p) => target.has(p) && inNew(p));
  const risky = [...new Set([...dirty, ...clobber])];
  if (risky.length && !opts.force) {
    throw new StrataError('UNCOMMITTED_CHANGES', `uncommitted changes would be overwritten: ${risky.slice(0, 5).join(', ')}${risky.length > 5 ? ` and ${risky.length - 5} more` : ''}`, {
      hint: 'commit them (strata commit -a -m ...), or use --force to discard them',
      details: { paths: risky },
    });
  }
  const unstaged = new Map(st.unstaged.map((u) => [u.path, u]));
  const present = async (p: string) => (await fsp.lstat(join(repo.root, p)).catch(() => null)) !== null;

  const remove: string[] = [];
  const write: IndexRow[] = [];
  for (const [p, i] of index) {
    if (target.has(p)) continue;
    if (inOld(p) || (await present(p))) remove.push(p);
  }
  for (const [p, t] of target) {
    const i = index.get(p);
    const same = i !== undefined && sameEntry(i, t) && !unstaged.has(p);
    if (inNew(p)) {
      if (same && (inOld(p) || (await present(p)))) continue;
      write.push(t);
    } else if (!same && i && (await present(p))) {
      // Changed upstream, outside the paths asked for: its new bytes were not downloaded.
      remove.push(p);
    }
  }
  const res = await materialize(repo, { remove, write }, { progress: opts.progress, target: target.keys() });
  const roots = Array.isArray(c.meta?.roots) ? outermost(c.meta!.roots as string[]) : rootsOf(target);
  repo.db.tx(() => {
    repo.db.replaceIndex(target.values(), c.tree);
    repo.db.deleteStat(remove);
    repo.db.upsertStat(res.statRows);
    repo.db.setTrackedRoots(outermost([...roots]));
    repo.db.setConfig(SPARSE_KEY, newSparse ? JSON.stringify(newSparse) : null);
    if (opts.ref) repo.db.casRef(opts.ref.name, opts.ref.old, commit);
    if (opts.head !== undefined) {
      const cur = repo.db.getRef('HEAD')?.target ?? null;
      if (cur !== opts.head) repo.db.casRef('HEAD', cur, opts.head);
    }
  });
  return { written: res.written, removed: res.removed, bytes: res.bytes, sparse: newSparse };
}
