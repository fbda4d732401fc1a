/**
 * Read operations for a repository without a workspace (a server's bare repository, or any open
 * Repository): a page of the log, one commit, a folder listing, a diff between commits. The
 * server's routes parse their query and call these; the response shapes are the exported types
 * (re-exported for web/ by core/ops/types.ts).
 */
import { StrataError } from '../errors/index.js';
import { compareNames, type Id, type TreeEntry } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { resolveRev } from '../repo/refs.js';
import { diffTrees, entryAt, summarizeChanges, type Change } from '../repo/tree.js';
import { walkLog, refsByCommit } from './log.js';
import type { CommitDiff, CommitInfo, LogPage, TreeListing, TreeListingEntry } from './types.js';

export type { CommitDiff, LogPage, TreeListing };

export interface LogPageOptions {
  /** Default HEAD. */
  ref?: string;
  /** Page size (default 50). */
  limit?: number;
  offset?: number;
  /** Only commits that changed something under this repository path ('' = all). */
  path?: string;
}

/** A page of commits reachable from `ref`, newest first (an unborn HEAD is an empty page). */
export async function logPage(repo: Repository, opts: LogPageOptions = {}): Promise<LogPage> {
  const ref = opts.ref || 'HEAD';
  const limit = opts.limit ?? 50;
  const offset = opts.offset ?? 0;
  const path = opts.path ?? '';
  if (ref === 'HEAD' && !repo.head().commit) return { ref, commit: null, offset, limit, nextOffset: null, commits: [] };
  const start = await resolveRev(repo, ref);
  const all = await walkLog(repo, start, { limit: offset + limit + 1, paths: path ? [path] : [] });
  const commits = all.slice(offset, offset + limit);
  return { ref, commit: start, offset, limit, nextOffset: all.length > offset + limit ? offset + limit : null, commits };
}

/** One commit with the branches and tags pointing at it. */
export async function commitInfo(repo: Repository, rev: string): Promise<CommitInfo> {
  const id = await resolveRev(repo, rev);
  const c = await repo.readCommit(id);
  return { id, ...c, refs: refsByCommit(repo).get(id) ?? [] };
}

function listingEntry(e: TreeEntry, path: string): TreeListingEntry {
  const p = path ? `${path}/${e.name}` : e.name;
  switch (e.type) {
    case 'dir':
      return { name: e.name, path: p, type: 'dir', size: e.size, id: e.id, count: e.count };
    case 'file':
      return { name: e.name, path: p, type: 'file', size: e.size, id: e.id, exec: e.exec, chunked: !!e.chunks };
    case 'symlink':
      return { name: e.name, path: p, type: 'symlink', size: e.size, id: e.id, target: e.target };
  }
}

/** The tree entry at `path` ('' = the root) of `ref` (default HEAD); PATH_NOT_FOUND when absent. */
export async function locateEntry(repo: Repository, opts: { ref?: string; path?: string }): Promise<{ ref: string; commit: Id; path: string; entry: TreeEntry }> {
  const ref = opts.ref || 'HEAD';
  const path = opts.path ?? '';
  const commit = await resolveRev(repo, ref);
  const c = await repo.readCommit(commit);
  const entry = await entryAt(repo, c.tree, path);
  if (!entry) throw new StrataError('PATH_NOT_FOUND', `${path} does not exist in ${ref}`, { hint: 'list the parent folder with /tree' });
  return { ref, commit, path, entry };
}

/** A folder's entries (folders first, then by name), or the single entry a file path names. */
export async function treeListing(repo: Repository, opts: { ref?: string; path?: string } = {}): Promise<TreeListing> {
  const { ref, commit, path, entry } = await locateEntry(repo, opts);
  if (entry.type !== 'dir') {
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    return { ref, commit, path, type: entry.type, entry: listingEntry(entry, parent) };
  }
  const tree = await repo.readTree(entry.id);
  const entries = [...tree.entries]
    .sort((a, b) => ((a.type === 'dir') === (b.type === 'dir') ? compareNames(a.name, b.name) : a.type === 'dir' ? -1 : 1))
    .map((e) => listingEntry(e, path));
  return { ref, commit, path, type: 'dir', entries };
}

/** What changed from `from` (default: `to`'s first parent, or nothing) to `to` (default HEAD). */
export async function diffCommits(repo: Repository, opts: { from?: string; to?: string; path?: string } = {}): Promise<CommitDiff> {
  const to = opts.to || 'HEAD';
  const toCommit = await resolveRev(repo, to);
  const toC = await repo.readCommit(toCommit);
  let from = opts.from || null;
  let fromCommit: Id | null;
  if (from) fromCommit = await resolveRev(repo, from);
  else {
    fromCommit = toC.parents[0] ?? null;
    from = fromCommit ? `${to}^` : '(empty)';
  }
  const fromTree = fromCommit ? (await repo.readCommit(fromCommit)).tree : null;
  const changes: Change[] = await diffTrees(repo, fromTree, toC.tree, opts.path ?? '');
  const summary = summarizeChanges(changes);
  return { from, to, fromCommit, toCommit, changes, summary };
}
