/**
 * The data model: trees, file manifests (chunk lists), commits, tags and runs, with canonical
 * serialization. Pure: no I/O. An object's id is BLAKE3-256 of its canonical bytes; a file blob's id
 * is BLAKE3-256 of the file's bytes, so `b3sum FILE` prints the id Strata stores it under.
 */
import { hashBytes, ID_RE } from '../hash/index.js';
import { MAX_CHUNK_BYTES, MAX_COMMIT_LABELS, MAX_COMMIT_PARENTS, MAX_LISTED_PATHS, MAX_MANIFEST_CHUNKS, MAX_SYMLINK_TARGET_BYTES, MAX_TREE_ENTRIES } from './limits.js';
import { scanTree, scanTreeNear, scanTreeText, type ScannedTree } from './tree-scan.js';
import { arr, bad, bool, fields, id, idOrNull, int, nameProblem, obj, oneOf, parseObject, pathProblem, str, strOrNull, type ObjectContext } from './strict.js';

export * from './limits.js';

export type Id = string;

/** Canonical JSON: object keys sorted by code point, no whitespace, undefined dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',') + ']';
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort(compareNames);
    return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(obj[k])).join(',') + '}';
  }
  throw new TypeError(`cannot serialize ${typeof value}`);
}

/** Byte-wise (UTF-8) ordering of names: the same on every platform and in every language. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  // Fast path for ASCII, which is byte order already.
  let ascii = true;
  for (let i = 0; i < a.length && ascii; i++) if (a.charCodeAt(i) > 0x7f) ascii = false;
  for (let i = 0; i < b.length && ascii; i++) if (b.charCodeAt(i) > 0x7f) ascii = false;
  if (ascii) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---------------------------------------------------------------- trees

export interface FileEntry {
  type: 'file';
  name: string;
  size: number;
  /** BLAKE3 of the file's whole content. */
  id: Id;
  /** Executable bit. */
  exec: boolean;
  /** Set when the content is stored as content-defined chunks: id of the manifest object. */
  chunks?: Id;
}

export interface SymlinkEntry {
  type: 'symlink';
  name: string;
  /** Link target, stored verbatim (never followed). The blob `id` holds the target bytes. */
  target: string;
  id: Id;
  size: number;
}

export interface DirEntry {
  type: 'dir';
  name: string;
  id: Id;
  /** Total bytes of files below (for listings and diffs). */
  size: number;
  /** Number of files (and links) below. */
  count: number;
}

export type TreeEntry = FileEntry | SymlinkEntry | DirEntry;

export interface Tree {
  entries: TreeEntry[];
}

/** Canonical bytes of a tree. Entries are sorted by name here, whatever order they came in. */
export function serializeTree(tree: Tree): Buffer {
  // Most callers (commit, merge) build the entries in order already: one pass proves it, and only
  // entries out of order are copied and sorted.
  let entries = tree.entries;
  for (let i = 1; i < entries.length; i++) {
    if (compareNames(entries[i - 1]!.name, entries[i]!.name) < 0) continue;
    entries = [...tree.entries].sort((a, b) => compareNames(a.name, b.name));
    break;
  }
  for (let i = 1; i < entries.length; i++) {
    if (entries[i - 1]!.name === entries[i]!.name) throw new TypeError(`duplicate tree entry ${entries[i]!.name}`);
  }
  // The same bytes as canonicalJson({ strata: 'tree', v: 1, e: [[name, type, size, id, extra]...] }),
  // written directly (trees are serialized for every folder of every commit and merge).
  for (const e of entries) if (!Number.isFinite(e.size) || (e.type === 'dir' && !Number.isFinite(e.count))) throw new TypeError('non-finite number');
  return Buffer.from(serializeSortedTree({ entries }), 'utf8');
}

const TREE_TYPES = ['f', 'x', 'l', 'd'] as const;

/**
 * A tree, strictly: exactly the fields Strata writes, every entry's type and range checked, names
 * valid and sorted byte-wise without duplicates, symlink targets sane, and the bytes canonical.
 * Subtree counts and sizes are checked against the subtrees by `treeStats` (core/repo/tree.ts).
 */
export function parseTree(bytes: Uint8Array, ctx?: ObjectContext): Tree {
  // The common shape in one pass (it accepts only exact canonical bytes); the rest, strictly.
  const t = scanTree(utf8(bytes));
  if (t) return t;
  return parseTreeStrict(bytes, ctx);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function utf8(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('utf8');
}

/** parseTree, keeping the one-pass reader's entry starts (null when not read that way). */
export function parseTreeScanned(bytes: Uint8Array, ctx?: ObjectContext): { tree: Tree; scanned: ScannedTree | null } {
  const b = asBuffer(bytes);
  const text = b.toString('utf8');
  const s = scanTreeText(b, text);
  if (s) return { tree: s.tree, scanned: s };
  return { tree: scanTree(text) ?? parseTreeStrict(bytes, ctx), scanned: null };
}

/**
 * parseTree of a tree that shares most of its bytes with `near` (a merge's sides and base): only
 * the part that differs is scanned; the same tree, or the same error, as parseTree.
 */
export function parseTreeNear(bytes: Uint8Array, near: ScannedTree | null, ctx?: ObjectContext): Tree {
  const b = asBuffer(bytes);
  const text = b.toString('utf8');
  const t = near ? scanTreeNear(b, text, near) : scanTree(text);
  if (t) return t;
  return parseTreeStrict(bytes, ctx);
}

/** parseTree without the one-pass reader: every input through JSON.parse and the field checks. */
export function parseTreeStrict(bytes: Uint8Array, ctx?: ObjectContext): Tree {
  return parseObject('tree', bytes, ctx, buildTree, serializeSortedTree);
}

/** serializeTree for entries known to be sorted and unique (the parser checked): no sort, one string. */
function serializeSortedTree(t: Tree): string {
  const parts: string[] = new Array(t.entries.length);
  for (let i = 0; i < t.entries.length; i++) {
    const e = t.entries[i]!;
    const head = `[${JSON.stringify(e.name)},"`;
    switch (e.type) {
      case 'file':
        parts[i] = `${head}${e.exec ? 'x' : 'f'}",${e.size},"${e.id}"${e.chunks ? `,"${e.chunks}"` : ''}]`;
        break;
      case 'symlink':
        parts[i] = `${head}l",${e.size},"${e.id}",${JSON.stringify(e.target)}]`;
        break;
      case 'dir':
        parts[i] = `${head}d",${e.size},"${e.id}",${e.count}]`;
        break;
    }
  }
  return `{"e":[${parts.join(',')}],"strata":"tree","v":1}`;
}

function buildTree(rawIn: unknown): Tree {
  const raw = obj(rawIn, 'the object');
  if (raw.strata !== 'tree') bad('it is not a tree');
  fields(raw, 'the tree', ['strata', 'v', 'e']);
  if (raw.v !== 1) bad(`unknown tree version ${JSON.stringify(raw.v)}`);
  const wire = arr(raw.e, 'the entry list', MAX_TREE_ENTRIES);
  const entries: TreeEntry[] = new Array(wire.length);
  let total = 0;
  let prev: string | null = null;
  for (let i = 0; i < wire.length; i++) {
    const w = wire[i];
    if (!Array.isArray(w)) bad(`entry ${i} is not a list`);
    const name = w[0];
    // Fast path for the common valid shape; anything unusual goes through the checks that explain it.
    const why = nameProblem(name);
    if (why) bad(`entry ${i} has ${why}`);
    const at = () => `entry ${JSON.stringify(name)}`;
    if (prev !== null) {
      const c = compareNames(prev, name as string);
      if (c === 0) bad(`the name ${JSON.stringify(name)} appears twice`);
      if (c > 0) bad(`entries are not sorted by name (${JSON.stringify(prev)} before ${JSON.stringify(name)})`);
    }
    prev = name as string;
    const t = w[1];
    if (t !== 'f' && t !== 'x' && t !== 'l' && t !== 'd') oneOf(t, `the type of ${at()}`, TREE_TYPES);
    const size = w[2];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) int(size, `the size of ${at()}`);
    const oid = w[3];
    if (typeof oid !== 'string' || !ID_RE.test(oid)) id(oid, `the id of ${at()}`);
    total += size as number;
    if (!Number.isSafeInteger(total)) bad('the sizes of its entries add up to more than 2^53 bytes');
    switch (t) {
      case 'f':
      case 'x':
        if (w.length === 4) entries[i] = { type: 'file', name: name as string, size: size as number, id: oid as string, exec: t === 'x' };
        else if (w.length === 5) entries[i] = { type: 'file', name: name as string, size: size as number, id: oid as string, exec: t === 'x', chunks: id(w[4], `the chunk manifest id of ${at()}`) };
        else bad(`${at()} has ${w.length} fields`);
        break;
      case 'l': {
        if (w.length !== 5) bad(`${at()} has ${w.length} fields`);
        const target = str(w[4], `the link target of ${at()}`, { nonEmpty: true, noNul: true, max: MAX_SYMLINK_TARGET_BYTES });
        if (Buffer.byteLength(target, 'utf8') !== size) bad(`${at()} declares size ${size} but its link target is ${Buffer.byteLength(target, 'utf8')} bytes`);
        entries[i] = { type: 'symlink', name: name as string, size: size as number, id: oid as string, target };
        break;
      }
      case 'd':
        if (w.length !== 5) bad(`${at()} has ${w.length} fields`);
        entries[i] = { type: 'dir', name: name as string, size: size as number, id: oid as string, count: int(w[4], `the file count of ${at()}`) };
        break;
    }
  }
  return { entries };
}

export function treeId(tree: Tree): { id: Id; bytes: Buffer } {
  const bytes = serializeTree(tree);
  return { id: hashBytes(bytes), bytes };
}

// ---------------------------------------------------------------- chunk manifests

export interface Manifest {
  /** Total size of the file. */
  size: number;
  /** Chunks in file order: [chunk id, chunk size]. */
  chunks: Array<[Id, number]>;
}

export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(canonicalJson({ strata: 'chunks', v: 1, size: m.size, c: m.chunks }), 'utf8');
}

/** A chunk manifest, strictly: chunk ids valid, sizes positive safe integers adding up to `size`. */
export function parseManifest(bytes: Uint8Array, ctx?: ObjectContext): Manifest {
  return parseObject('chunk manifest', bytes, ctx, buildManifest, (m) => serializeManifest(m));
}

function buildManifest(rawIn: unknown): Manifest {
  const raw = obj(rawIn, 'the object');
  if (raw.strata !== 'chunks') bad('it is not a chunk manifest');
  fields(raw, 'the manifest', ['strata', 'v', 'size', 'c']);
  if (raw.v !== 1) bad(`unknown manifest version ${JSON.stringify(raw.v)}`);
  const size = int(raw.size, 'the file size');
  const list = arr(raw.c, 'the chunk list', MAX_MANIFEST_CHUNKS);
  let total = 0;
  const chunks: Array<[Id, number]> = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (!Array.isArray(c) || c.length !== 2) bad(`chunk ${i} is not an [id, size] pair`);
    const cid = id(c[0], `the id of chunk ${i}`);
    const n = int(c[1], `the size of chunk ${i}`, 1, MAX_CHUNK_BYTES);
    total += n;
    if (total > size) bad(`the chunk sizes add up to more than the file size ${size}`);
    chunks[i] = [cid, n];
  }
  if (total !== size) bad(`the chunk sizes add up to ${total}, not the file size ${size}`);
  return { size, chunks };
}

// ---------------------------------------------------------------- commits

export interface Person {
  name: string;
  email: string;
}

/** The state of the code repository (git) when a commit or run was made. */
export interface CodeVersion {
  /** git commit id (hex), or null when the project is not a git repository / has no commits. */
  commit: string | null;
  branch?: string | null;
  remote?: string | null;
  dirty: boolean;
  /** Object id of the uncommitted diff of tracked code files, when dirty. */
  diff?: Id | null;
}

export interface Commit {
  tree: Id;
  parents: Id[];
  author: Person;
  /** Milliseconds since the epoch (UTC). */
  time: number;
  message: string;
  code: CodeVersion | null;
  meta?: Record<string, unknown>;
}

export function serializeCommit(c: Commit): Buffer {
  return Buffer.from(
    canonicalJson({
      strata: 'commit',
      v: 1,
      tree: c.tree,
      parents: c.parents,
      author: c.author,
      time: c.time,
      message: c.message,
      code: c.code,
      meta: c.meta && Object.keys(c.meta).length ? c.meta : undefined,
    }),
    'utf8',
  );
}

/**
 * A commit, strictly. `meta` may hold `roots` (tracked roots: valid relative paths),
 * `reproduces` (a run id) and `labels` (string keys to string values); other keys are refused.
 */
export function parseCommit(bytes: Uint8Array, ctx?: ObjectContext): Commit {
  return parseObject('commit', bytes, ctx, buildCommit, (c) => serializeCommit(c));
}

function parsePerson(v: unknown, what: string): Person {
  const o = obj(v, what);
  fields(o, what, ['name', 'email']);
  return { name: str(o.name, `the name of ${what}`, { noNul: true }), email: str(o.email, `the e-mail of ${what}`, { noNul: true }) };
}

const GIT_COMMIT_RE = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** The code version of a commit or run (`what` names it in errors). */
export function parseCodeVersion(v: unknown, what: string): CodeVersion | null {
  if (v === null) return null;
  const o = obj(v, what);
  fields(o, what, ['commit', 'dirty'], ['branch', 'remote', 'diff']);
  const commit = strOrNull(o.commit, `the git commit of ${what}`);
  if (commit !== null && !GIT_COMMIT_RE.test(commit)) bad(`the git commit of ${what} is not a git commit id`);
  const out: CodeVersion = { commit, dirty: bool(o.dirty, `the dirty flag of ${what}`) };
  if ('branch' in o) out.branch = strOrNull(o.branch, `the branch of ${what}`, { noNul: true });
  if ('remote' in o) out.remote = strOrNull(o.remote, `the remote of ${what}`, { noNul: true });
  if ('diff' in o) out.diff = idOrNull(o.diff, `the code changes id of ${what}`);
  return out;
}

function buildCommit(rawIn: unknown): Commit {
  const raw = obj(rawIn, 'the object');
  if (raw.strata !== 'commit') bad('it is not a commit');
  fields(raw, 'the commit', ['strata', 'v', 'tree', 'parents', 'author', 'time', 'message', 'code'], ['meta']);
  if (raw.v !== 1) bad(`unknown commit version ${JSON.stringify(raw.v)}`);
  const tree = id(raw.tree, 'its tree');
  const plist = arr(raw.parents, 'its parent list', MAX_COMMIT_PARENTS);
  const parents: Id[] = [];
  for (let i = 0; i < plist.length; i++) {
    const p = id(plist[i], `parent ${i}`);
    if (parents.includes(p)) bad(`parent ${p} is listed twice`);
    parents.push(p);
  }
  const c: Commit = {
    tree,
    parents,
    author: parsePerson(raw.author, 'its author'),
    time: int(raw.time, 'its time'),
    message: str(raw.message, 'its message'),
    code: parseCodeVersion(raw.code, 'its code version'),
  };
  if ('meta' in raw) {
    const m = obj(raw.meta, 'its metadata');
    fields(m, 'its metadata', [], ['roots', 'reproduces', 'labels']);
    const meta: Record<string, unknown> = {};
    if ('roots' in m) {
      const roots = arr(m.roots, 'its tracked roots', MAX_LISTED_PATHS);
      for (const r of roots) {
        // `.git`/`.strata` components are accepted here (a root only names what to manage; the
        // workspace writer refuses writing there); `..`, absolute and malformed paths are not.
        // '' is the whole project (`strata add .`).
        if (r === '') continue;
        const why = pathProblem(r, { reserved: false });
        if (why) bad(`its tracked roots list ${why}`);
      }
      meta.roots = roots;
    }
    if ('reproduces' in m) meta.reproduces = str(m.reproduces, 'the run it reproduces', { nonEmpty: true, max: 64 });
    if ('labels' in m) {
      const l = obj(m.labels, 'its labels');
      const keys = Object.keys(l);
      if (keys.length > MAX_COMMIT_LABELS) bad(`it has more than ${MAX_COMMIT_LABELS} labels`);
      const labels: Record<string, string> = {};
      for (const k of keys) labels[str(k, 'a label name', { nonEmpty: true, noNul: true, max: 255 })] = str(l[k], `label ${JSON.stringify(k)}`, { noNul: true, max: 4096 });
      meta.labels = labels;
    }
    c.meta = meta;
  }
  return c;
}

export function commitId(c: Commit): { id: Id; bytes: Buffer } {
  const bytes = serializeCommit(c);
  return { id: hashBytes(bytes), bytes };
}

// ---------------------------------------------------------------- annotated tags

export interface TagObject {
  name: string;
  target: Id;
  message: string;
  tagger: Person;
  time: number;
}

export function serializeTag(t: TagObject): Buffer {
  return Buffer.from(canonicalJson({ strata: 'tag', v: 1, ...t }), 'utf8');
}

/** An annotated tag object, strictly. */
export function parseTag(bytes: Uint8Array, ctx?: ObjectContext): TagObject {
  return parseObject('tag', bytes, ctx, buildTag, (t) => serializeTag(t));
}

function buildTag(rawIn: unknown): TagObject {
  const raw = obj(rawIn, 'the object');
  if (raw.strata !== 'tag') bad('it is not a tag');
  fields(raw, 'the tag', ['strata', 'v', 'name', 'target', 'message', 'tagger', 'time']);
  if (raw.v !== 1) bad(`unknown tag version ${JSON.stringify(raw.v)}`);
  return {
    name: str(raw.name, 'its name', { nonEmpty: true, noNul: true, max: 1024 }),
    target: id(raw.target, 'its target'),
    message: str(raw.message, 'its message'),
    tagger: parsePerson(raw.tagger, 'its tagger'),
    time: int(raw.time, 'its time'),
  };
}
