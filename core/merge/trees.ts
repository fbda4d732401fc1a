/**
 * Three-way merge of trees: base, ours and theirs. Walks only where the three differ — a subtree
 * that one side left as the base had is taken from the other side whole, without reading it — so
 * the cost grows with the change, not with the repository. New tree objects are made only for the
 * folders both sides changed.
 *
 * Per path (a file, link or folder), with B, O, T the three versions (any may be absent):
 * - O = T: taken (both made the same change, or neither changed it);
 * - O = B: T is taken (only theirs changed it); T = B: O is kept;
 * - both changed, both folders: merged entry by entry;
 * - both changed, both files or links: the content and the executable bit are merged separately
 *   (one side changed the content, the other the mode: both kept); when both changed the content
 *   (or both changed the mode) differently the path is decided by the rule for it (a side driver
 *   `ours`/`theirs`, or a content driver), else it is a conflict;
 * - one side deleted or replaced by a folder/file what the other changed: the rule's side decides,
 *   else a conflict (modify/delete, delete/modify, file/folder, folder/file).
 *
 * `strategy` decides every conflict for the whole merge (and then rules are not read). A conflicted
 * path holds its pending version in the result tree: ours when ours has one, else theirs. The
 * result lists what differs from ours (rows to write, paths to remove): what the workspace and the
 * index need, and nothing else.
 */
import { StrataError } from '../errors/index.js';
import type { IndexRow } from '../meta/interface.js';
import { hashBytes } from '../hash/index.js';
import { compareNames, parseTreeNear, parseTreeScanned, treeId, type DirEntry, type Id, type Tree, type TreeEntry } from '../model/index.js';
import { editSpan, entryCount, treeEdit } from '../model/tree-scan.js';
import { MAX_TREE_DEPTH, MAX_TREE_ENTRIES } from '../model/limits.js';
import type { Repository } from '../repo/index.js';
import { verifyTree } from '../repo/tree.js';
import type { BatchWriter } from '../store/types.js';
import type { ConflictKind, ConflictSide, MergeChange, MergeConflict } from '../ops/types.js';
import { driver, type DriverResult } from './drivers.js';
import { ruleFor, type MergeRules } from './rules.js';

export interface TreeMergeOptions {
  base: Id | null;
  ours: Id | null;
  theirs: Id | null;
  rules: MergeRules;
  strategy?: 'ours' | 'theirs';
  /** Store new trees and merged files (in one batch: all or nothing); false (a dry run) only computes their ids. */
  write: boolean;
  /** false: read every folder both sides changed whole, never splice (tests compare the two). */
  splice?: boolean;
}

export interface TreeMergeResult {
  /** Root tree of the result; conflicted paths hold their pending version. */
  tree: Id;
  conflicts: MergeConflict[];
  changes: MergeChange[];
  /** Rows that differ from ours (to write into the workspace and the index). */
  set: IndexRow[];
  /** Paths ours has and the result does not. */
  remove: string[];
  /** Ours' row at every path in `set` and `remove` (null: ours has none there). */
  oursRows: Map<string, IndexRow | null>;
  /** Folders merged by splicing their bytes (see spliceDir). */
  spliced: number;
}

const EMPTY: Tree = { entries: [] };

/** The verified bytes of a folder's base, ours and theirs trees. */
type TreeBytes = [Buffer, Buffer, Buffer];

function row(path: string, e: TreeEntry): IndexRow {
  if (e.type === 'symlink') return { path, type: 'symlink', exec: false, size: e.size, id: e.id, chunks: null, target: e.target };
  if (e.type === 'file') return { path, type: 'file', exec: e.exec, size: e.size, id: e.id, chunks: e.chunks ?? null, target: null };
  throw new TypeError('a folder has no row');
}

function same(a: TreeEntry | undefined, b: TreeEntry | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.type !== b.type || a.id !== b.id) return false;
  if (a.type === 'file' && b.type === 'file') return a.exec === b.exec;
  if (a.type === 'symlink' && b.type === 'symlink') return a.target === b.target;
  return true;
}

/** Identity of the content alone (not the executable bit). */
function contentKey(e: TreeEntry): string {
  return e.type === 'symlink' ? `l:${e.id}:${e.target}` : `${e.type}:${e.id}`;
}

function side(e: TreeEntry | undefined): ConflictSide | null {
  if (!e) return null;
  return e.type === 'file' ? { type: 'file', id: e.id, size: e.size, exec: e.exec } : { type: e.type, id: e.id, size: e.size };
}

function join(base: string, name: string): string {
  return base ? `${base}/${name}` : name;
}

export async function mergeTrees(repo: Repository, o: TreeMergeOptions): Promise<TreeMergeResult> {
  if (!o.write) return mergeInto(repo, o, undefined);
  const batch = repo.store.batch();
  const trees: Array<{ id: Id; bytes: Buffer }> = [];
  try {
    const r = await mergeInto(repo, o, batch, trees);
    await batch.finish();
    // The trees in the database cache once their objects are durable, in one transaction.
    repo.db.tx(() => {
      for (const t of trees) repo.db.putTree(t.id, t.bytes);
    });
    return r;
  } catch (e) {
    await batch.abort();
    throw e;
  }
}

async function mergeInto(repo: Repository, o: TreeMergeOptions, batch: BatchWriter | undefined, trees: Array<{ id: Id; bytes: Buffer }> = []): Promise<TreeMergeResult> {
  const conflicts: MergeConflict[] = [];
  const changes: MergeChange[] = [];
  const set: IndexRow[] = [];
  const remove: string[] = [];
  const oursRows = new Map<string, IndexRow | null>();
  let spliced = 0;

  /** Every file and link under a folder entry (its graph verified first: no tree bombs). */
  const rowsUnder = async (e: TreeEntry, path: string, depth: number, out: IndexRow[]): Promise<void> => {
    if (e.type !== 'dir') {
      out.push(row(path, e));
      return;
    }
    await verifyTree(repo, e.id, depth);
    const walk = async (id: Id, base: string): Promise<void> => {
      for (const c of (await repo.readTree(id)).entries) {
        const p = join(base, c.name);
        if (c.type === 'dir') await walk(c.id, p);
        else out.push(row(p, c));
      }
    };
    await walk(e.id, path);
  };

  /** Record going from ours' `eo` to `et` at `path` (descending only into differing folders). */
  const delta = async (path: string, eo: TreeEntry | undefined, et: TreeEntry | undefined, depth: number, how: MergeChange['action'], rule?: string): Promise<void> => {
    if (same(eo, et)) return;
    if (eo?.type === 'dir' && et?.type === 'dir') {
      const [a, b] = await Promise.all([repo.readTree(eo.id), repo.readTree(et.id)]);
      await deltaEntries(path, a.entries, b.entries, depth, how, rule);
      return;
    }
    if (eo?.type !== 'dir' && et?.type !== 'dir') {
      fileDelta(path, eo, et, how, rule);
      return;
    }
    const gone: IndexRow[] = [];
    const come: IndexRow[] = [];
    if (eo) await rowsUnder(eo, path, depth, gone);
    if (et) await rowsUnder(et, path, depth, come);
    record(gone, come, how, rule);
  };

  /** delta() for each name of two sorted entry lists of the folder at `path` (files without a promise). */
  const deltaEntries = async (path: string, A: TreeEntry[], B: TreeEntry[], depth: number, how: MergeChange['action'], rule?: string): Promise<void> => {
    let i = 0;
    let j = 0;
    while (i < A.length || j < B.length) {
      const c = i >= A.length ? 1 : j >= B.length ? -1 : compareNames(A[i]!.name, B[j]!.name);
      const x = c <= 0 ? A[i++] : undefined;
      const y = c >= 0 ? B[j++] : undefined;
      const p = join(path, (x ?? y)!.name);
      if (x?.type !== 'dir' && y?.type !== 'dir') fileDelta(p, x, y, how, rule);
      else await delta(p, x, y, depth + 1, how, rule);
    }
  };

  /** delta() for a path where neither side is a folder: no tree to read. */
  const fileDelta = (path: string, eo: TreeEntry | undefined, et: TreeEntry | undefined, how: MergeChange['action'], rule?: string): void => {
    if (same(eo, et)) return;
    // record() for one path (most of a merge's changes), without its per-call set and map.
    const gone = eo ? row(path, eo) : null;
    const come = et ? row(path, et) : null;
    if (gone) oursRows.set(path, gone);
    else if (!oursRows.has(path)) oursRows.set(path, null);
    if (!come) {
      if (gone) {
        remove.push(path);
        changes.push({ path, action: 'deleted', ...(rule ? { rule } : {}) });
      }
      return;
    }
    if (gone && gone.id === come.id && gone.type === come.type && gone.exec === come.exec && gone.target === come.target) return;
    set.push(come);
    changes.push({ path, action: how, ...(rule ? { rule } : {}) });
  };

  /** The rows ours had (`gone`) and the result has (`come`) under one path, as set/remove/changes. */
  const record = (gone: IndexRow[], come: IndexRow[], how: MergeChange['action'], rule?: string): void => {
    const coming = new Set(come.map((r) => r.path));
    for (const r of gone) {
      oursRows.set(r.path, r);
      if (!coming.has(r.path)) {
        remove.push(r.path);
        changes.push({ path: r.path, action: 'deleted', ...(rule ? { rule } : {}) });
      }
    }
    const had = new Map(gone.map((r) => [r.path, r]));
    for (const r of come) {
      if (!oursRows.has(r.path)) oursRows.set(r.path, null);
      const before = had.get(r.path);
      if (before && before.id === r.id && before.type === r.type && before.exec === r.exec && before.target === r.target) continue;
      set.push(r);
      changes.push({ path: r.path, action: how, ...(rule ? { rule } : {}) });
    }
  };

  const writeTree = async (t: Tree): Promise<Id> => {
    const { id, bytes } = treeId(t);
    if (batch) {
      await batch.add(id, bytes);
      trees.push({ id, bytes });
    }
    return id;
  };

  const dirEntry = async (name: string, entries: TreeEntry[]): Promise<TreeEntry | null> => {
    if (entries.length === 0) return null;
    let size = 0;
    let count = 0;
    for (const e of entries) {
      size += e.size;
      count += e.type === 'dir' ? e.count : 1;
    }
    return { type: 'dir', name, id: await writeTree({ entries }), size, count };
  };

  /** The rule or strategy deciding `path`: a side, a content driver, or null (a conflict). */
  const decider = (path: string): { side?: 'ours' | 'theirs'; content?: string; label?: string } => {
    if (o.strategy) return { side: o.strategy, label: `--strategy ${o.strategy}` };
    const r = ruleFor(o.rules, path);
    if (!r) return {};
    const d = driver(r.driver);
    const label = `${r.where} ${r.pattern} merge=${r.driver}`;
    if (d.side) return { side: d.side, label };
    if (d.merge) return { content: r.driver, label };
    return { label };
  };

  const conflict = async (path: string, kind: ConflictKind, eb: TreeEntry | undefined, eo: TreeEntry | undefined, et: TreeEntry | undefined, depth: number, reason?: string): Promise<TreeEntry | undefined> => {
    conflicts.push({ path, kind, base: side(eb), ours: side(eo), theirs: side(et), ...(reason ? { reason } : {}) });
    // Pending version: ours when ours has one, else theirs (then the workspace needs it).
    if (eo) return eo;
    await delta(path, eo, et, depth, 'theirs');
    return et;
  };

  /** Decide a path both sides changed incompatibly: by its rule's side, or a conflict. */
  const decide = async (path: string, kind: ConflictKind, eb: TreeEntry | undefined, eo: TreeEntry | undefined, et: TreeEntry | undefined, depth: number): Promise<TreeEntry | undefined> => {
    const d = decider(path);
    if (d.side === 'ours') {
      changes.push({ path, action: 'ours', rule: d.label! });
      return eo;
    }
    if (d.side === 'theirs') {
      await delta(path, eo, et, depth, 'theirs', d.label);
      return et;
    }
    return conflict(path, kind, eb, eo, et, depth);
  };

  const mergeFiles = async (path: string, name: string, eb: TreeEntry | undefined, eo: TreeEntry, et: TreeEntry, depth: number): Promise<TreeEntry | undefined> => {
    const kb = eb && eb.type !== 'dir' ? contentKey(eb) : null;
    const ko = contentKey(eo);
    const kt = contentKey(et);
    let content: TreeEntry | null = ko === kt ? eo : kb === ko ? et : kb === kt ? eo : null;
    const xb = eb?.type === 'file' ? eb.exec : undefined;
    const xo = eo.type === 'file' ? eo.exec : false;
    const xt = et.type === 'file' ? et.exec : false;
    const exec: boolean | null = xo === xt ? xo : xb === xo ? xt : xb === xt ? xo : null;
    if (content === null) {
      const d = decider(path);
      if (d.side) return decide(path, eb ? 'content' : 'add/add', eb, eo, et, depth);
      if (d.content && eo.type === 'file' && et.type === 'file' && (!eb || eb.type === 'file')) {
        const res = await runDriver(d.content, path, eb && eb.type === 'file' ? row(path, eb) : null, row(path, eo), row(path, et));
        if ('conflict' in res) {
          conflicts.push({ path, kind: 'driver', base: side(eb), ours: side(eo), theirs: side(et), reason: res.conflict });
          return eo;
        }
        content = { type: 'file', name, size: res.row.size, id: res.row.id, exec: res.row.exec, ...(res.row.chunks ? { chunks: res.row.chunks } : {}) };
        const merged = { ...(content as TreeEntry & { type: 'file' }), exec: exec ?? xo };
        set.push(row(path, merged));
        if (!oursRows.has(path)) oursRows.set(path, row(path, eo));
        changes.push({ path, action: 'merged', rule: d.label! });
        return merged;
      }
      return conflict(path, eb ? 'content' : 'add/add', eb, eo, et, depth);
    }
    if (exec === null) return decide(path, 'mode', eb, eo, et, depth);
    const result: TreeEntry = content.type === 'file' ? { ...content, name, exec } : { ...content, name };
    if (!same(result, eo)) {
      set.push(row(path, result));
      if (!oursRows.has(path)) oursRows.set(path, row(path, eo));
      changes.push({ path, action: same(result, et) ? 'theirs' : 'merged' });
    }
    return result;
  };

  const runDriver = async (name: string, path: string, base: IndexRow | null, ours: IndexRow, theirs: IndexRow): Promise<DriverResult> => {
    const d = driver(name);
    const rule = ruleFor(o.rules, path);
    return d.merge!({
      repo,
      path,
      base,
      ours,
      theirs,
      params: rule?.params ?? {},
      read: (r) => repo.store.getBytes(r.id, { verify: true }),
      store: async (bytes, like) => {
        const id = hashBytes(bytes);
        if (batch) await batch.add(id, bytes);
        return { ...like, path, id, size: bytes.length, chunks: null };
      },
    });
  };

  const mergeEntry = async (path: string, name: string, eb: TreeEntry | undefined, eo: TreeEntry | undefined, et: TreeEntry | undefined, depth: number): Promise<TreeEntry | undefined> => {
    if (same(eo, et)) return eo;
    if (same(eb, eo)) {
      await delta(path, eo, et, depth, 'theirs');
      return et;
    }
    if (same(eb, et)) return eo;
    const dir = (e: TreeEntry | undefined): e is TreeEntry & { type: 'dir' } => e?.type === 'dir';
    if (dir(eo) && dir(et)) {
      let read: TreeBytes | undefined;
      if (dir(eb) && o.splice !== false) {
        read = await Promise.all([repo.treeBytes(eb.id), repo.treeBytes(eo.id), repo.treeBytes(et.id)]);
        const e = await spliceDir(path, name, eb, read, depth);
        if (e) return e;
      }
      return (await dirEntry(name, await mergeDir(dir(eb) ? eb.id : null, eo.id, et.id, path, depth + 1, read))) ?? undefined;
    }
    // A folder one side deleted and the other changed: merged entry by entry (each changed file
    // is then a delete/modify conflict, each unchanged one stays deleted).
    if (dir(eb) && ((dir(eo) && !et) || (dir(et) && !eo))) {
      return (await dirEntry(name, await mergeDir(eb.id, dir(eo) ? eo.id : null, dir(et) ? et.id : null, path, depth + 1))) ?? undefined;
    }
    if (eo && et && !dir(eo) && !dir(et)) return mergeFiles(path, name, eb, eo, et, depth);
    const kind: ConflictKind = !eo ? 'delete/modify' : !et ? 'modify/delete' : dir(eo) ? 'folder/file' : 'file/folder';
    return decide(path, kind, eb, eo, et, depth);
  };

  /**
   * A folder both sides changed, where each changed a different run of its entries (with at least
   * one entry of the base between the two runs: every name is then changed on one side at most,
   * so no rule or conflict can apply). The result's bytes are the base's with each run replaced by
   * that side's bytes: only the entries in the two runs are read (core/model/tree-scan.ts
   * treeEdit), not the folder's other entries, and the result is not serialized again. Its size and
   * file count follow from the base's (as the parent tree declares them) and the runs. Null when
   * the folder is not of that shape (the caller merges it entry by entry).
   */
  const spliceDir = async (path: string, name: string, eb: DirEntry, [bb, ob, tb]: TreeBytes, depth: number): Promise<TreeEntry | null> => {
    // Where each side's run lies is known before any entry is read: runs that touch are refused first.
    const sO = editSpan(ob, bb);
    const sT = editSpan(tb, bb);
    if (!sO || !sT || (sO.from <= sT.from ? sO.to >= sT.from : sT.to >= sO.from)) return null;
    const eO = treeEdit(ob, bb, sO);
    const eT = treeEdit(tb, bb, sT);
    if (!eO || !eT) return null;
    const [first, second] = eO.from <= eT.from ? [eO, eT] : [eT, eO];
    let size = eb.size;
    let count = eb.count;
    let grow = 0;
    for (const ed of [eO, eT]) {
      for (const e of ed.baseEntries) {
        size -= e.size;
        count -= e.type === 'dir' ? e.count : 1;
      }
      for (const e of ed.entries) {
        size += e.size;
        count += e.type === 'dir' ? e.count : 1;
      }
      grow += ed.entries.length - ed.baseEntries.length;
    }
    if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(count) || count < 0) return null;
    if (grow > 0 && entryCount(bb) + grow > MAX_TREE_ENTRIES) return null;
    // Theirs' run is what the workspace and the index take; ours' stays as it is.
    await deltaEntries(path, eT.baseEntries, eT.entries, depth, 'theirs');
    const bytes = Buffer.concat([bb.subarray(0, first.from), first.bytes, bb.subarray(first.to, second.from), second.bytes, bb.subarray(second.to)]);
    const id = hashBytes(bytes);
    if (batch) {
      await batch.add(id, bytes);
      trees.push({ id, bytes });
    }
    spliced++;
    return { type: 'dir', name, id, size, count };
  };

  /** `read`: the three trees' bytes when spliceDir read them already. */
  const mergeDir = async (b: Id | null, ours: Id | null, theirs: Id | null, base: string, depth: number, read?: TreeBytes): Promise<TreeEntry[]> => {
    if (depth > MAX_TREE_DEPTH) {
      throw new StrataError('OBJECT_CORRUPT', `the trees being merged nest folders deeper than ${MAX_TREE_DEPTH} levels at ${base}`, { hint: 'a tree is damaged or crafted; run strata fsck' });
    }
    const bytes = async (id: Id | null, k: number): Promise<Buffer | null> => (id ? (read?.[k] ?? (await repo.treeBytes(id))) : null);
    const [rb, ro, rt] = await Promise.all([bytes(b, 0), bytes(ours, 1), bytes(theirs, 2)]);
    // The sides are read against the base: where they share its bytes, its entries are taken.
    const sb = rb ? parseTreeScanned(rb, { id: b! }) : null;
    const near = sb?.scanned ?? null;
    const to = ro ? parseTreeNear(ro, near, { id: ours! }) : EMPTY;
    const tt = rt ? parseTreeNear(rt, near, { id: theirs! }) : EMPTY;
    const tb = sb?.tree ?? EMPTY;
    // The three entry lists are sorted by name (the parser checks): walked side by side.
    const B = tb.entries;
    const O = to.entries;
    const T = tt.entries;
    let i = 0;
    let j = 0;
    let k = 0;
    const out: TreeEntry[] = [];
    while (i < B.length || j < O.length || k < T.length) {
      let name = i < B.length ? B[i]!.name : null;
      if (j < O.length && (name === null || compareNames(O[j]!.name, name) < 0)) name = O[j]!.name;
      if (k < T.length && (name === null || compareNames(T[k]!.name, name) < 0)) name = T[k]!.name;
      const eb = i < B.length && B[i]!.name === name ? B[i++] : undefined;
      const eo = j < O.length && O[j]!.name === name ? O[j++] : undefined;
      const et = k < T.length && T[k]!.name === name ? T[k++] : undefined;
      // The common cases without a promise: unchanged, changed on one side only (files).
      let e: TreeEntry | undefined;
      if (same(eo, et) || same(eb, et)) e = eo;
      else if (same(eb, eo) && eo?.type !== 'dir' && et?.type !== 'dir') {
        fileDelta(join(base, name!), eo, et, 'theirs');
        e = et;
      } else e = await mergeEntry(join(base, name!), name!, eb, eo, et, depth);
      if (e) out.push(e.name === name ? e : { ...e, name: name! });
    }
    return out;
  };

  let tree: Id;
  if (o.ours === o.theirs) tree = o.ours ?? (await writeTree(EMPTY));
  else if (o.base === o.ours && o.theirs) {
    await delta('', o.ours ? { type: 'dir', name: '', id: o.ours, size: 0, count: 0 } : undefined, { type: 'dir', name: '', id: o.theirs, size: 0, count: 0 }, 0, 'theirs');
    tree = o.theirs;
  } else if (o.base === o.theirs && o.ours) tree = o.ours;
  else tree = await writeTree({ entries: await mergeDir(o.base, o.ours, o.theirs, '', 0) });
  const byPath = (a: { path: string }, b: { path: string }) => compareNames(a.path, b.path);
  return { tree, conflicts: conflicts.sort(byPath), changes: changes.sort(byPath), set, remove, oursRows, spliced };
}
