/**
 * The version history of one path — which commits introduced each distinct version of a file or
 * directory, newest first (the web UI's lineage details panel; GET /versions).
 *
 * Walks first-parent history from `ref`, reading the entry at `path` in each commit's tree
 * (core/repo/tree.ts entryAt; commits sharing a tree reuse the previous answer) and emitting one
 * entry per run of consecutive commits holding the same entry. The walk stops as soon as `limit`
 * versions are known, so its cost grows with the answer, not with the history.
 */
import { StrataError } from '../errors/index.js';
import type { Commit, Id, TreeEntry } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { resolveRev } from '../repo/refs.js';
import { entryAt } from '../repo/tree.js';
import type { PathVersion, PathVersions } from './types.js';

export type { PathVersions };

interface Run {
  key: string | null;
  entry: TreeEntry | null;
  commit: Id;
  c: Commit;
}

function versionOf(r: Run): PathVersion {
  const e = r.entry;
  const v: PathVersion = {
    id: e ? e.id : null,
    kind: e ? e.type : null,
    size: e ? e.size : null,
    commit: r.commit,
    time: r.c.time,
    message: r.c.message,
  };
  if (e?.type === 'dir') v.count = e.count;
  return v;
}

export async function versions(repo: Repository, opts: { path: string; ref?: string; limit?: number }): Promise<PathVersions> {
  const path = opts.path;
  if (!path) throw new StrataError('INVALID_ARGUMENT', 'the path parameter is required', { hint: 'e.g. /versions?path=data/raw.csv' });
  const ref = opts.ref || 'HEAD';
  const limit = opts.limit ?? 50;
  if (ref === 'HEAD' && !repo.head().commit) return { path, ref, commit: null, versions: [], next: null };
  const start = await resolveRev(repo, ref);

  const versions: PathVersion[] = [];
  let run: Run | null = null;
  let next: Id | null = null;
  let lastTree: Id | null = null;
  let lastEntry: TreeEntry | null = null;
  let id: Id | null = start;
  while (id) {
    const c: Commit = await repo.readCommit(id);
    const entry: TreeEntry | null = c.tree === lastTree ? lastEntry : await entryAt(repo, c.tree, path);
    lastTree = c.tree;
    lastEntry = entry;
    const key = entry ? `${entry.type}:${entry.id}` : null;
    if (run && run.key === key) {
      // Same version one commit further back: it was introduced earlier than we thought.
      run.commit = id;
      run.c = c;
    } else {
      if (run) {
        // `run` ends here (the older commit differs). A null run followed by an older version is a deletion.
        versions.push(versionOf(run));
        if (versions.length === limit) {
          next = id;
          run = null;
          break;
        }
      }
      run = { key, entry, commit: id, c };
    }
    id = c.parents[0] ?? null;
  }
  // The oldest run: a version (the path's first appearance), or absence before it was created (not a deletion).
  if (run && run.entry) versions.push(versionOf(run));
  return { path, ref, commit: start, limit, versions, next };
}
