/**
 * Flat views of trees (path -> entry), building trees from the staging index, and tree-to-tree
 * diffs that skip unchanged subtrees (cost grows with the change, not the repository).
 */
import { StrataError } from '../errors/index.js';
import type { IndexRow } from '../meta/db.js';
import { compareNames, parseManifest, treeId, type DirEntry, type Id, type Tree, type TreeEntry } from '../model/index.js';
import { MAX_TREE_DEPTH, maxTreePaths } from '../model/limits.js';
import { nameProblem } from '../model/strict.js';
import type { BatchWriter } from '../store/types.js';
import type { Repository } from './index.js';

export type Flat = Map<string, IndexRow>;

function entryToRow(path: string, e: TreeEntry): IndexRow {
  if (e.type === 'symlink') return { path, type: 'symlink', exec: false, size: e.size, id: e.id, chunks: null, target: e.target };
  if (e.type === 'file') return { path, type: 'file', exec: e.exec, size: e.size, id: e.id, chunks: e.chunks ?? null, target: null };
  throw new Error('dir entry has no row');
}

/** What a tree holds below it, verified against its subtrees. */
export interface TreeStats {
  /** Files and links below (what a dir entry's `count` must say). */
  files: number;
  /** Bytes of files and links below (what a dir entry's `size` must say). */
  size: number;
  /** Paths below: files, links and directories (what flattening or checking it out visits). */
  paths: number;
  /** Directory levels below (0: no subdirectory). */
  height: number;
}

/** Stats of trees already verified in this process (content-addressed: true for every repository). */
const verified = new Map<Id, TreeStats>();
const VERIFIED_MAX = 200_000;

function remember(id: Id, s: TreeStats): void {
  if (verified.size >= VERIFIED_MAX) verified.clear();
  verified.set(id, s);
}

function treeProblem(id: Id, reason: string, source?: string): StrataError {
  return new StrataError('OBJECT_CORRUPT', `tree object ${id}${source ? ' from ' + source : ''} ${reason}`, {
    hint: source
      ? 'nothing was changed locally; the remote serves a tree Strata refuses (damaged or crafted): push a good copy from a repository that has one, or ask the remote owner'
      : 'the tree is damaged or was crafted; run strata fsck (a good copy can be fetched again from a remote that has one)',
    details: { kind: 'tree', id, ...(source ? { source } : {}), reason },
  });
}

/**
 * Verify the tree graph under `root` before anything expands it: depth at most MAX_TREE_DEPTH,
 * every dir entry's declared `count` and `size` equal to what its subtree really holds, and at most
 * maxTreePaths() paths in all. Each distinct subtree is read and counted once (memoized), so a
 * small graph of shared subtrees that would flatten to billions of paths is refused after reading
 * only its few objects. `read` returns parsed trees (with their id in any error).
 */
export async function checkTreeGraph(
  read: (id: Id) => Promise<Tree>,
  root: Id,
  opts: {
    source?: string;
    depth?: number;
    /**
     * Subtrees verified before (indexed locally when they arrived or were written): their dir
     * entry's declared count and size are taken as they are, without reading them again, so a
     * fetch checks only the trees it brings.
     */
    trusted?: (id: Id) => boolean;
  } = {},
): Promise<TreeStats> {
  const limit = maxTreePaths();
  const busy = new Set<Id>();
  // A trusted subtree's totals from its own entries (each verified when it arrived): one read.
  const shallow = async (id: Id): Promise<TreeStats> => {
    const st: TreeStats = { files: 0, size: 0, paths: 0, height: 0 };
    for (const e of (await read(id)).entries) {
      st.paths++;
      st.size += e.size;
      if (e.type === 'dir') {
        st.files += e.count;
        st.paths += e.count;
        st.height = 1;
      } else st.files++;
    }
    return st;
  };
  const visit = async (id: Id, depth: number): Promise<TreeStats> => {
    const known = verified.get(id);
    if (known) {
      if (depth + known.height > MAX_TREE_DEPTH) throw treeProblem(id, `nests directories deeper than ${MAX_TREE_DEPTH} levels`, opts.source);
      return known;
    }
    if (depth > MAX_TREE_DEPTH) throw treeProblem(id, `nests directories deeper than ${MAX_TREE_DEPTH} levels`, opts.source);
    if (busy.has(id)) throw treeProblem(id, 'contains itself', opts.source);
    busy.add(id);
    const tree = await read(id);
    const st: TreeStats = { files: 0, size: 0, paths: 0, height: 0 };
    for (const e of tree.entries) {
      st.paths++;
      if (e.type === 'dir') {
        const sub = !verified.has(e.id) && opts.trusted?.(e.id) ? await shallow(e.id) : await visit(e.id, depth + 1);
        if (sub.files !== e.count || sub.size !== e.size) {
          throw treeProblem(
            id,
            `is corrupt: its entry ${JSON.stringify(e.name)} declares ${e.count} files and ${e.size} bytes, but subtree ${e.id} holds ${sub.files} files and ${sub.size} bytes`,
            opts.source,
          );
        }
        st.files += sub.files;
        st.size += sub.size;
        st.paths += sub.paths;
        if (sub.height + 1 > st.height) st.height = sub.height + 1;
      } else {
        st.files++;
        st.size += e.size;
      }
      if (st.paths > limit) {
        throw treeProblem(id, `expands to more than ${limit.toLocaleString('en-US')} paths, over the limit (a tree bomb, or a tree that needs STRATA_MAX_TREE_PATHS raised)`, opts.source);
      }
      if (!Number.isSafeInteger(st.size)) throw treeProblem(id, 'is corrupt: the sizes below it add up to more than 2^53 bytes', opts.source);
    }
    busy.delete(id);
    remember(id, st);
    return st;
  };
  return visit(root, opts.depth ?? 0);
}

/** checkTreeGraph over a repository's trees: call before any walk that visits every path below `id`. */
export function verifyTree(repo: Repository, id: Id, depth = 0): Promise<TreeStats> {
  return checkTreeGraph((t) => repo.readTree(t), id, { depth });
}

/** checkTreeGraph over a repository's trees, keeping the parsed trees for the caller's walk. */
async function checkRepoTree(repo: Repository, root: Id, depth = 0): Promise<Map<Id, Tree>> {
  const trees = new Map<Id, Tree>();
  await checkTreeGraph(
    async (id) => {
      const t = await repo.readTree(id);
      trees.set(id, t);
      return t;
    },
    root,
    { depth },
  );
  return trees;
}

/** Every file and symlink of a tree, keyed by repository path. The tree graph is verified first. */
export async function flattenTree(repo: Repository, treeId: Id | null, prefix = ''): Promise<Flat> {
  const out: Flat = new Map();
  if (!treeId) return out;
  let trees = new Map<Id, Tree>();
  const walk = async (id: Id, base: string): Promise<void> => {
    const tree = trees.get(id) ?? (await repo.readTree(id));
    const names = new Set<string>();
    for (const e of tree.entries) {
      const p = base ? `${base}/${e.name}` : e.name;
      // A name twice (e.g. a symlink `x` and a folder `x`) would let one entry redirect the other.
      if (names.has(e.name)) throw new StrataError('OBJECT_CORRUPT', `tree ${id} holds the name ${JSON.stringify(p)} twice`, { hint: 'the tree is corrupt or crafted; run strata fsck', details: { path: p, id } });
      names.add(e.name);
      if (e.type === 'dir') await walk(e.id, p);
      else out.set(p, entryToRow(p, e));
    }
  };
  if (prefix) {
    const e = await entryAt(repo, treeId, prefix);
    if (!e) return out;
    if (e.type === 'dir') {
      trees = await checkRepoTree(repo, e.id, prefix.split('/').length);
      await walk(e.id, prefix);
    } else out.set(prefix, entryToRow(prefix, e));
    return out;
  }
  trees = await checkRepoTree(repo, treeId);
  await walk(treeId, '');
  return out;
}

/** The entry at `path` in a tree (null if absent); '' gives a synthetic dir entry for the root. */
export async function entryAt(repo: Repository, treeId: Id, path: string): Promise<TreeEntry | null> {
  if (path === '') return { type: 'dir', name: '', id: treeId, size: 0, count: 0 };
  const parts = path.split('/');
  let cur: Id = treeId;
  for (let i = 0; i < parts.length; i++) {
    const tree = await repo.readTree(cur);
    const e = tree.entries.find((x) => x.name === parts[i]);
    if (!e) return null;
    if (i === parts.length - 1) return e;
    if (e.type !== 'dir') return null;
    cur = e.id;
  }
  return null;
}

/** A path component Strata would refuse to read back (`.git`, too long, ...) is refused when recording, too. */
function checkRecordable(path: string, name: string): void {
  const why = nameProblem(name);
  if (why) {
    throw new StrataError('INVALID_ARGUMENT', `cannot record ${JSON.stringify(path)}: a tree cannot hold ${why}`, {
      hint: 'rename it, or list it in .strataignore and run strata rm --keep on it',
    });
  }
}

/**
 * The trees a flat set of rows (paths relative to the tree's root) forms, children before parents:
 * pure, nothing is written. The last one is the root.
 */
export function planTrees(rows: Iterable<IndexRow>): Array<{ id: Id; bytes: Buffer }> {
  // files[dir] = entries directly in dir; subdirs[dir] = its child directories.
  const files = new Map<string, TreeEntry[]>();
  const subdirs = new Map<string, Set<string>>();
  const ensure = (dir: string) => {
    if (files.has(dir)) return;
    files.set(dir, []);
    subdirs.set(dir, new Set());
    if (dir !== '') {
      checkRecordable(dir, dir.slice(dir.lastIndexOf('/') + 1));
      const i = dir.lastIndexOf('/');
      const parent = i < 0 ? '' : dir.slice(0, i);
      ensure(parent);
      subdirs.get(parent)!.add(dir);
    }
  };
  ensure('');
  for (const r of rows) {
    const i = r.path.lastIndexOf('/');
    const dir = i < 0 ? '' : r.path.slice(0, i);
    const name = i < 0 ? r.path : r.path.slice(i + 1);
    checkRecordable(r.path, name);
    ensure(dir);
    files.get(dir)!.push(
      r.type === 'symlink'
        ? { type: 'symlink', name, size: r.size, id: r.id, target: r.target ?? '' }
        : r.chunks
          ? { type: 'file', name, size: r.size, id: r.id, exec: r.exec, chunks: r.chunks }
          : { type: 'file', name, size: r.size, id: r.id, exec: r.exec },
    );
  }
  const out: Array<{ id: Id; bytes: Buffer }> = [];
  const build = (dir: string): DirEntry => {
    const entries: TreeEntry[] = [...files.get(dir)!];
    let size = 0;
    let count = 0;
    for (const e of entries) {
      if (files.has(dir ? `${dir}/${e.name}` : e.name)) {
        throw new StrataError('INVALID_ARGUMENT', `${dir ? dir + '/' : ''}${e.name} is both a file and a directory in the index`, {
          hint: 'strata rm one of them',
        });
      }
      size += e.size;
      count++;
    }
    for (const sub of subdirs.get(dir)!) {
      const d = build(sub);
      entries.push(d);
      size += d.size;
      count += d.count;
    }
    const t = treeId({ entries });
    out.push(t);
    return { type: 'dir', name: dir.slice(dir.lastIndexOf('/') + 1), id: t.id, size, count };
  };
  build('');
  return out;
}

/** The root tree id of a flat set of rows, without writing anything. */
export function computeTreeId(rows: Iterable<IndexRow>): Id {
  const trees = planTrees(rows);
  return trees[trees.length - 1]!.id;
}

/** Build (and store) the trees for a flat index; returns the root tree id. */
export async function buildTree(repo: Repository, index: Flat, batch?: BatchWriter): Promise<Id> {
  const trees = planTrees(index.values());
  for (const t of trees) {
    if (batch) await batch.add(t.id, t.bytes);
    else await repo.store.put(t.id, t.bytes);
  }
  // The database cache in one transaction (one commit, not one per folder).
  repo.db.tx(() => {
    for (const t of trees) repo.db.putTree(t.id, t.bytes);
  });
  return trees[trees.length - 1]!.id;
}

/** Build and store the trees of a whole index in one batch (all or nothing); returns the root id. */
export async function storeIndexTree(repo: Repository, index: Flat): Promise<Id> {
  const batch = repo.store.batch();
  try {
    const id = await buildTree(repo, index, batch);
    await batch.finish();
    return id;
  } catch (e) {
    await batch.abort();
    throw e;
  }
}

/**
 * Every object a stored version needs: a tree (recursively: its trees, blobs, chunk manifests and
 * chunks), a chunked file (manifest + chunks) or a blob. Missing or unreadable objects are skipped
 * (fsck reports them). Used by the run gc roots and by push of runs.
 */
export async function collectVersionObjects(
  repo: Repository,
  v: { id: Id; kind: 'file' | 'dir'; chunks?: Id | null },
  out: Set<Id>,
): Promise<void> {
  const manifest = async (mid: Id) => {
    if (out.has(mid)) return;
    out.add(mid);
    try {
      for (const [cid] of parseManifest(await repo.store.getBytes(mid), { id: mid }).chunks) out.add(cid);
    } catch {
      /* missing or corrupt */
    }
  };
  const walk = async (tid: Id): Promise<void> => {
    if (out.has(tid)) return;
    out.add(tid);
    let tree: Tree;
    try {
      tree = await repo.readTree(tid);
    } catch {
      return;
    }
    for (const e of tree.entries) {
      if (e.type === 'dir') await walk(e.id);
      else if (e.type === 'file' && e.chunks) await manifest(e.chunks);
      else out.add(e.id);
    }
  };
  if (v.kind === 'dir') await walk(v.id);
  else if (v.chunks) await manifest(v.chunks);
  else out.add(v.id);
}

export type ChangeKind = 'added' | 'modified' | 'deleted' | 'typechange';

export interface Change {
  path: string;
  kind: ChangeKind;
  oldSize?: number;
  newSize?: number;
  oldId?: Id;
  newId?: Id;
}

export interface ChangeSummary {
  added: number;
  modified: number;
  deleted: number;
  bytesAdded: number;
  bytesRemoved: number;
}

/** Counts and byte totals of a list of changes (diff output, the server's diff endpoint). */
export function summarizeChanges(changes: Change[]): ChangeSummary {
  const summary = { added: 0, modified: 0, deleted: 0, bytesAdded: 0, bytesRemoved: 0 };
  for (const c of changes) {
    if (c.kind === 'added') summary.added++;
    else if (c.kind === 'deleted') summary.deleted++;
    else summary.modified++;
    summary.bytesAdded += c.newSize ?? 0;
    summary.bytesRemoved += c.oldSize ?? 0;
  }
  return summary;
}

/** Entry identity for comparisons: content, type and exec bit. */
export function sameEntry(a: IndexRow, b: IndexRow): boolean {
  return a.id === b.id && a.type === b.type && a.exec === b.exec && (a.type !== 'symlink' || a.target === b.target);
}

/** Compare two flat views (old -> new). */
export function diffFlat(oldF: Flat, newF: Flat, under?: (p: string) => boolean): Change[] {
  const out: Change[] = [];
  for (const [p, o] of oldF) {
    if (under && !under(p)) continue;
    const n = newF.get(p);
    if (!n) out.push({ path: p, kind: 'deleted', oldSize: o.size, oldId: o.id });
    else if (!sameEntry(o, n)) out.push({ path: p, kind: o.type !== n.type ? 'typechange' : 'modified', oldSize: o.size, newSize: n.size, oldId: o.id, newId: n.id });
  }
  for (const [p, n] of newF) {
    if (under && !under(p)) continue;
    if (!oldF.has(p)) out.push({ path: p, kind: 'added', newSize: n.size, newId: n.id });
  }
  out.sort((a, b) => compareNames(a.path, b.path));
  return out;
}

/** Diff two trees by id, descending only into subtrees whose ids differ. */
export async function diffTrees(repo: Repository, a: Id | null, b: Id | null, prefix = ''): Promise<Change[]> {
  const out: Change[] = [];
  // A subtree present on one side only is listed whole: verify its graph (memoized) first. Pairs of
  // subtrees seen again at another path are verified too, so shared-subtree bombs fail fast.
  const pairs = new Set<string>();
  const read = (id: Id) => repo.readTree(id);
  const walk = async (x: Id | null, y: Id | null, base: string): Promise<void> => {
    if (x === y) return;
    const depth = base ? base.split('/').length : 0;
    if (x === null || y === null || pairs.has(x + y)) {
      if (x) await checkTreeGraph(read, x, { depth });
      if (y) await checkTreeGraph(read, y, { depth });
    } else {
      if (depth > MAX_TREE_DEPTH) throw treeProblem(y, `nests directories deeper than ${MAX_TREE_DEPTH} levels`);
      pairs.add(x + y);
    }
    const tx = x ? await repo.readTree(x) : { entries: [] };
    const ty = y ? await repo.readTree(y) : { entries: [] };
    const mx = new Map(tx.entries.map((e) => [e.name, e]));
    const my = new Map(ty.entries.map((e) => [e.name, e]));
    const names = [...new Set([...mx.keys(), ...my.keys()])].sort(compareNames);
    for (const name of names) {
      const ex = mx.get(name);
      const ey = my.get(name);
      const p = base ? `${base}/${name}` : name;
      if (ex?.type === 'dir' || ey?.type === 'dir') {
        if (ex?.type === 'dir' && ey?.type === 'dir') {
          await walk(ex.id, ey.id, p);
          continue;
        }
        if (ex?.type === 'dir') await walk(ex.id, null, p);
        else if (ex) out.push({ path: p, kind: 'deleted', oldSize: ex.size, oldId: ex.id });
        if (ey?.type === 'dir') await walk(null, ey.id, p);
        else if (ey) out.push({ path: p, kind: 'added', newSize: ey.size, newId: ey.id });
        continue;
      }
      if (!ex && ey) out.push({ path: p, kind: 'added', newSize: ey.size, newId: ey.id });
      else if (ex && !ey) out.push({ path: p, kind: 'deleted', oldSize: ex.size, oldId: ex.id });
      else if (ex && ey) {
        const same = ex.id === ey.id && ex.type === ey.type && (ex.type !== 'file' || ey.type !== 'file' || ex.exec === ey.exec);
        if (!same) out.push({ path: p, kind: ex.type !== ey.type ? 'typechange' : 'modified', oldSize: ex.size, newSize: ey.size, oldId: ex.id, newId: ey.id });
      }
    }
  };
  if (prefix) {
    const ex = a ? await entryAt(repo, a, prefix) : null;
    const ey = b ? await entryAt(repo, b, prefix) : null;
    if (ex?.type === 'dir' || ey?.type === 'dir') {
      await walk(ex?.type === 'dir' ? ex.id : null, ey?.type === 'dir' ? ey.id : null, prefix);
    } else if (ex || ey) {
      const fx = ex ? new Map([[prefix, entryToRow(prefix, ex)]]) : new Map();
      const fy = ey ? new Map([[prefix, entryToRow(prefix, ey)]]) : new Map();
      return diffFlat(fx, fy);
    }
    return out.sort((p, q) => compareNames(p.path, q.path));
  }
  await walk(a, b, '');
  return out.sort((p, q) => compareNames(p.path, q.path));
}
