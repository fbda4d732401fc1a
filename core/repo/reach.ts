/**
 * Reachability: every object a repository still needs, from every ref, the staging index, and
 * any extra roots (runs, logs, ...). Used by gc, fsck and push.
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

/** Roots contributed by other subsystems (e.g. pipeline runs): object ids that must be kept. */
export type RootProvider = (repo: Repository) => Promise<Id[]>;
const providers: RootProvider[] = [];
export function registerRootProvider(p: RootProvider): void {
  if (!providers.includes(p)) providers.push(p);
}

export interface ReachOptions {
  /** Verify while walking that manifests parse (they are needed to find chunks). */
  includeIndex?: boolean;
  /** Skip objects missing from the store instead of failing (fsck reports them). */
  onMissing?: (id: Id, info: Reached, cause?: unknown) => void;
  /** Start only from these commits (push), instead of every ref. */
  commits?: Id[];
  /** Stop descending at these objects (already known present elsewhere, e.g. on a remote). */
  stopAt?: Set<Id>;
}

export async function reachable(repo: Repository, opts: ReachOptions = {}): Promise<Map<Id, Reached>> {
  const out = new Map<Id, Reached>();
  // `cause`: why the object could not be read (OBJECT_MISSING, or OBJECT_CORRUPT from a strict parser).
  const missing = (id: Id, info: Reached, cause?: unknown) => {
    if (opts.onMissing) opts.onMissing(id, info, cause);
    else if (isStrataError(cause)) throw cause;
    else throw new StrataError('OBJECT_MISSING', `object ${id} (${info.kind}${info.path ? ' ' + info.path : ''}) cannot be read`, { hint: 'run strata fsck to see what it affects' });
  };
  const commitQueue: Id[] = [];
  if (opts.commits) commitQueue.push(...opts.commits);
  else {
    for (const r of [...repo.db.listRefs('refs/'), ...(repo.db.getRef('HEAD') ? [repo.db.getRef('HEAD')!] : [])]) {
      if (!r.target.startsWith('ref: ')) commitQueue.push(r.target);
    }
    for (const t of repo.db.listRefs('refs/tags/')) {
      const tag = repo.db.getTag(t.name.slice(10));
      if (tag?.object) out.set(tag.object, { kind: 'tag' });
    }
  }
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
  if (opts.includeIndex !== false && !opts.commits) {
    for (const r of repo.db.loadIndex().values()) {
      if (r.chunks) await walkManifest(r.chunks, r.path);
      else if (!out.has(r.id)) out.set(r.id, { kind: 'blob', path: r.path });
    }
  }
  if (!opts.commits) {
    for (const p of providers) for (const id of await p(repo)) if (!out.has(id)) out.set(id, { kind: 'other' });
  }
  return out;
}
