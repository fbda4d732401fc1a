/**
 * Reachability: every object a repository still needs, from explicit roots (refs, the staging
 * index, and extra roots such as runs: see core/ops/roots.ts). Used by gc and fsck.
 */
import { StrataError, isStrataError } from '../errors/index.js';
import type { Id } from '../model/index.js';
import { parseManifest } from '../model/index.js';
import type { Repository } from './index.js';

export type ObjectKind = 'commit' | 'tree' | 'blob' | 'manifest' | 'chunk' | 'tag' | 'other';

export interface Reached {
  kind: ObjectKind;
  /** A path this object belongs to (for error messages), and the commit it was found from. */
  path?: string;
  commit?: Id;
}

/**
 * Where a reachability walk starts: everything a deleting operation (gc) must keep and fsck must
 * check. Built by collectRoots (core/ops/roots.ts); passed explicitly, so an operation cannot
 * forget a kind of root by forgetting an import.
 */
export interface Roots {
  /** Commits to walk with their history (every ref's target and a detached HEAD). */
  commits: Id[];
  /** Annotated tag objects. */
  tagObjects: Id[];
  /** Walk the staging index (the objects the next commit will use). */
  index: boolean;
  /** Trees to walk that no commit holds yet (the result of a merge in progress). */
  trees?: Id[];
  /**
   * Further object ids, kept as listed (each group already expanded to its trees, manifests and
   * chunks), by who needs them: e.g. `runs` (run objects, logs, outputs), `reproducibility`
   * (code-changes objects and run inputs).
   */
  extra: Record<string, Id[]>;
}

/** The roots held by refs: every ref's commit (HEAD included when detached) and annotated tag objects. */
export function refRoots(repo: Repository): Pick<Roots, 'commits' | 'tagObjects'> {
  const commits: Id[] = [];
  const tagObjects: Id[] = [];
  // HEAD when detached; MERGE_HEAD and ORIG_HEAD while a merge is in progress.
  const extra = ['HEAD', 'MERGE_HEAD', 'ORIG_HEAD'].map((n) => repo.db.getRef(n)).filter((r) => r !== null);
  for (const r of [...repo.db.listRefs('refs/'), ...extra]) {
    if (!r.target.startsWith('ref: ')) commits.push(r.target);
  }
  for (const t of repo.db.listRefs('refs/tags/')) {
    const tag = repo.db.getTag(t.name.slice(10));
    if (tag?.object) tagObjects.push(tag.object);
  }
  return { commits, tagObjects };
}

export interface ReachOptions {
  /** Skip objects missing from the store instead of failing (fsck reports them). */
  onMissing?: (id: Id, info: Reached, cause?: unknown) => void;
  /** Stop descending at these objects (already known present elsewhere, e.g. on a remote). */
  stopAt?: Set<Id>;
}

/** Every object reachable from `roots`, with what it is and where it was found. */
export async function reachable(repo: Repository, roots: Roots, opts: ReachOptions = {}): Promise<Map<Id, Reached>> {
  const out = new Map<Id, Reached>();
  // `cause`: why the object could not be read (OBJECT_MISSING, or OBJECT_CORRUPT from a strict parser).
  const missing = (id: Id, info: Reached, cause?: unknown) => {
    if (opts.onMissing) opts.onMissing(id, info, cause);
    else if (isStrataError(cause)) throw cause;
    else throw new StrataError('OBJECT_MISSING', `object ${id} (${info.kind}${info.path ? ' ' + info.path : ''}) cannot be read`, { hint: 'run strata fsck to see what it affects' });
  };
  const commitQueue: Id[] = [...roots.commits];
  for (const t of roots.tagObjects) out.set(t, { kind: 'tag' });
  const walkTree = async (treeId: Id, base: string, commit: Id): Promise<void> => {
    if (out.has(treeId) || opts.stopAt?.has(treeId)) return;
    out.set(treeId, { kind: 'tree', path: base || '/', commit });
    let tree;
    try {
      tree = await repo.readTree(treeId);
    } catch (e) {
      missing(treeId, { kind: 'tree', path: base || '/', commit }, e);
      return;
    }
    for (const e of tree.entries) {
      const p = base ? `${base}/${e.name}` : e.name;
      if (e.type === 'dir') await walkTree(e.id, p, commit);
      else if (e.type === 'symlink') out.set(e.id, { kind: 'blob', path: p, commit });
      else if (e.chunks) await walkManifest(e.chunks, p, commit);
      else if (!out.has(e.id)) out.set(e.id, { kind: 'blob', path: p, commit });
    }
  };
  const walkManifest = async (mid: Id, path: string, commit?: Id): Promise<void> => {
    if (out.has(mid) || opts.stopAt?.has(mid)) return;
    out.set(mid, { kind: 'manifest', path, commit });
    let m;
    try {
      m = parseManifest(await repo.store.getBytes(mid), { id: mid });
    } catch (e) {
      missing(mid, { kind: 'manifest', path, commit }, e);
      return;
    }
    for (const [cid] of m.chunks) if (!out.has(cid)) out.set(cid, { kind: 'chunk', path, commit });
  };
  const seen = new Set<Id>();
  while (commitQueue.length) {
    const id = commitQueue.pop()!;
    if (seen.has(id) || opts.stopAt?.has(id)) continue;
    seen.add(id);
    out.set(id, { kind: 'commit', commit: id });
    let c;
    try {
      c = await repo.readCommit(id);
    } catch (e) {
      missing(id, { kind: 'commit', commit: id }, e);
      continue;
    }
    await walkTree(c.tree, '', id);
    commitQueue.push(...c.parents);
  }
  for (const t of roots.trees ?? []) await walkTree(t, '', t);
  if (roots.index) {
    for (const r of repo.db.loadIndex().values()) {
      if (r.chunks) await walkManifest(r.chunks, r.path);
      else if (!out.has(r.id)) out.set(r.id, { kind: 'blob', path: r.path });
    }
  }
  for (const ids of Object.values(roots.extra)) for (const id of ids) if (!out.has(id)) out.set(id, { kind: 'other' });
  return out;
}
