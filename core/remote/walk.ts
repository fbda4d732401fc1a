/**
 * Which objects a set of commits adds on top of what the other side already has.
 *
 * Each new commit's tree is walked side by side with its first parent's tree: a subtree or file
 * whose id equals the parent's at the same path is skipped (the parent is either already on the
 * other side, or new and walked itself), so the cost grows with the change, not the repository.
 * Files stored as chunks contribute their manifest and its chunks.
 */
import { StrataError } from '../errors/index.js';
import { parseManifest, parseTree, type Commit, type Id, type Tree, type TreeEntry } from '../model/index.js';

export type ObjKind = 'commit' | 'tree' | 'blob' | 'manifest' | 'chunk';

export interface WantedObject {
  id: Id;
  kind: ObjKind;
  /** Size when known from metadata (trees and commits: their byte length). */
  size: number;
  path?: string;
  /** Manifests: the size of the file the tree entry declares (the manifest must say the same). */
  fileSize?: number;
}

export interface WalkSource {
  readCommit(id: Id): Promise<Commit>;
  /** Tree bytes (verified). */
  treeBytes(id: Id): Promise<Buffer>;
  /** Manifest bytes, or null when not available here (the caller then fetches it). */
  manifestBytes(id: Id): Promise<Buffer | null>;
  /** Where the objects come from, for error messages (e.g. `remote origin (file:///srv)`). */
  source?: string;
}

/** New commits reachable from `tips`, stopping at `have` (commits whose history the other side holds). */
export async function newCommits(src: WalkSource, tips: Id[], have: (id: Id) => boolean): Promise<Id[]> {
  const out: Id[] = [];
  const seen = new Set<Id>();
  const queue = [...tips];
  while (queue.length) {
    const id = queue.shift()!;
    if (seen.has(id) || have(id)) continue;
    seen.add(id);
    out.push(id);
    const c = await src.readCommit(id);
    queue.push(...c.parents);
  }
  return out;
}

/** Every ancestor of `tips` (tips included) that `exists` locally. */
export async function ancestors(src: Pick<WalkSource, 'readCommit'>, tips: Id[], exists: (id: Id) => boolean): Promise<Set<Id>> {
  const out = new Set<Id>();
  const queue = tips.filter(exists);
  while (queue.length) {
    const id = queue.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    const c = await src.readCommit(id);
    for (const p of c.parents) if (exists(p) && !out.has(p)) queue.push(p);
  }
  return out;
}

export interface DiffWalkResult {
  objects: WantedObject[];
  /** Manifests needed whose bytes the source did not have (fetch side): fetch them, then call addManifest. */
  pendingManifests: WantedObject[];
}

/**
 * Objects of `commits` (commit objects, trees, blobs, manifests, chunks) not shared with their
 * first parent. `includeData` false collects only commits and trees.
 */
export async function diffWalk(src: WalkSource, commits: Id[], opts: { includeData: boolean; skipTree?: (id: Id) => boolean }): Promise<DiffWalkResult> {
  const objects: WantedObject[] = [];
  const pendingManifests: WantedObject[] = [];
  const seen = new Set<Id>();
  const treeCache = new Map<Id, Tree>();
  const readTree = async (id: Id): Promise<Tree> => {
    let t = treeCache.get(id);
    if (!t) {
      t = parseTree(await src.treeBytes(id), { id, source: src.source });
      if (treeCache.size > 4096) treeCache.clear();
      treeCache.set(id, t);
    }
    return t;
  };
  const addFile = async (e: TreeEntry & { type: 'file' | 'symlink' }, path: string) => {
    if (e.type === 'file' && e.chunks) {
      if (seen.has(e.chunks)) return;
      seen.add(e.chunks);
      const mb = await src.manifestBytes(e.chunks);
      const mo: WantedObject = { id: e.chunks, kind: 'manifest', size: mb?.length ?? 0, path, fileSize: e.size };
      objects.push(mo);
      if (!mb) {
        pendingManifests.push(mo);
        return;
      }
      for (const [cid, size] of readManifest(mo, mb, src.source).chunks) {
        if (seen.has(cid)) continue;
        seen.add(cid);
        objects.push({ id: cid, kind: 'chunk', size, path });
      }
      return;
    }
    if (seen.has(e.id)) return;
    seen.add(e.id);
    objects.push({ id: e.id, kind: 'blob', size: e.size, path });
  };
  const walk = async (id: Id, base: Id | null, path: string): Promise<void> => {
    if (id === base || seen.has(id)) return;
    if (opts.skipTree?.(id)) return;
    seen.add(id);
    const bytes = await src.treeBytes(id);
    objects.push({ id, kind: 'tree', size: bytes.length, path: path || '/' });
    const tree = await readTree(id);
    const old = new Map<string, TreeEntry>();
    if (base) for (const e of (await readTree(base)).entries) old.set(e.name, e);
    for (const e of tree.entries) {
      const p = path ? `${path}/${e.name}` : e.name;
      const o = old.get(e.name);
      if (e.type === 'dir') {
        await walk(e.id, o?.type === 'dir' ? o.id : null, p);
      } else if (opts.includeData) {
        if (o && o.type === e.type && o.id === e.id && (o.type !== 'file' || e.type !== 'file' || o.chunks === e.chunks)) continue;
        await addFile(e, p);
      }
    }
  };
  for (const cid of commits) {
    const c = await src.readCommit(cid);
    objects.push({ id: cid, kind: 'commit', size: 0 });
    let base: Id | null = null;
    if (c.parents[0]) {
      try {
        base = (await src.readCommit(c.parents[0])).tree;
      } catch {
        base = null;
      }
    }
    await walk(c.tree, base, '');
  }
  return { objects, pendingManifests };
}

/** A manifest, strictly parsed, whose total size must be the size the file's tree entry declares. */
function readManifest(m: WantedObject, bytes: Buffer, source?: string) {
  const man = parseManifest(bytes, { id: m.id, source });
  if (m.fileSize !== undefined && man.size !== m.fileSize) {
    throw new StrataError('OBJECT_CORRUPT', `chunk manifest object ${m.id}${source ? ' from ' + source : ''} is corrupt: it lists ${man.size} bytes of chunks, but the tree entry${m.path ? ' ' + m.path : ''} declares ${m.fileSize}`, {
      hint: source ? 'nothing was changed locally; the remote serves objects that disagree: push a good copy from a repository that has one' : 'run strata fsck',
      details: { kind: 'manifest', id: m.id, ...(source ? { source } : {}) },
    });
  }
  return man;
}

/** Chunks listed by a manifest, as wanted objects (`source` names the remote in errors). */
export function manifestChunks(m: WantedObject, bytes: Buffer, source?: string): WantedObject[] {
  return readManifest(m, bytes, source).chunks.map(([id, size]) => ({ id, kind: 'chunk' as const, size, path: m.path }));
}
