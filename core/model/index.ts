/**
 * The data model: trees, file manifests (chunk lists), commits, tags and runs, with canonical
 * serialization. Pure: no I/O. An object's id is BLAKE3-256 of its canonical bytes; a file blob's id
 * is BLAKE3-256 of the file's bytes, so `b3sum FILE` prints the id Strata stores it under.
 */
import { hashBytes, isId } from '../hash/index.js';
import { StrataError } from '../errors/index.js';

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

export type EntryType = 'file' | 'symlink' | 'dir';

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

/** Rejects names that could escape the workspace or that no filesystem can hold. */
export function validateName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new StrataError('OBJECT_CORRUPT', `invalid path component ${JSON.stringify(name)} in tree`, {
      hint: 'the object is corrupt or was crafted to escape the workspace; run strata fsck',
    });
  }
}

function entryToWire(e: TreeEntry): unknown[] {
  switch (e.type) {
    case 'file':
      return e.chunks ? [e.name, e.exec ? 'x' : 'f', e.size, e.id, e.chunks] : [e.name, e.exec ? 'x' : 'f', e.size, e.id];
    case 'symlink':
      return [e.name, 'l', e.size, e.id, e.target];
    case 'dir':
      return [e.name, 'd', e.size, e.id, e.count];
  }
}

/** Canonical bytes of a tree. Entries are sorted by name here, whatever order they came in. */
export function serializeTree(tree: Tree): Buffer {
  const entries = [...tree.entries].sort((a, b) => compareNames(a.name, b.name));
  for (let i = 1; i < entries.length; i++) {
    if (entries[i - 1]!.name === entries[i]!.name) throw new TypeError(`duplicate tree entry ${entries[i]!.name}`);
  }
  return Buffer.from(canonicalJson({ strata: 'tree', v: 1, e: entries.map(entryToWire) }), 'utf8');
}

export function parseTree(bytes: Uint8Array): Tree {
  let raw: { strata?: string; v?: number; e?: unknown[][] };
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new StrataError('OBJECT_CORRUPT', 'tree object is not valid JSON');
  }
  if (raw.strata !== 'tree' || raw.v !== 1 || !Array.isArray(raw.e)) throw new StrataError('OBJECT_CORRUPT', 'object is not a tree');
  const entries: TreeEntry[] = raw.e.map((w) => {
    const [name, t, size, id, extra] = w as [string, string, number, string, unknown];
    validateName(name);
    if (typeof size !== 'number' || typeof id !== 'string' || !isId(id)) throw new StrataError('OBJECT_CORRUPT', `bad tree entry ${name}`);
    switch (t) {
      case 'f':
      case 'x':
        return typeof extra === 'string'
          ? { type: 'file', name, size, id, exec: t === 'x', chunks: extra }
          : { type: 'file', name, size, id, exec: t === 'x' };
      case 'l':
        return { type: 'symlink', name, size, id, target: String(extra) };
      case 'd':
        return { type: 'dir', name, size, id, count: Number(extra) };
      default:
        throw new StrataError('OBJECT_CORRUPT', `unknown entry type ${t} for ${name}`);
    }
  });
  return { entries };
}

export function treeId(tree: Tree): { id: Id; bytes: Buffer } {
  const bytes = serializeTree(tree);
  return { id: hashBytes(bytes), bytes };
}

export const EMPTY_TREE: Tree = { entries: [] };

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

export function parseManifest(bytes: Uint8Array): Manifest {
  let raw: { strata?: string; size?: number; c?: Array<[string, number]> };
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new StrataError('OBJECT_CORRUPT', 'chunk manifest is not valid JSON');
  }
  if (raw.strata !== 'chunks' || !Array.isArray(raw.c) || typeof raw.size !== 'number') throw new StrataError('OBJECT_CORRUPT', 'object is not a chunk manifest');
  let total = 0;
  for (const c of raw.c) {
    if (!Array.isArray(c) || typeof c[0] !== 'string' || !isId(c[0]) || typeof c[1] !== 'number') throw new StrataError('OBJECT_CORRUPT', 'bad chunk in manifest');
    total += c[1];
  }
  if (total !== raw.size) throw new StrataError('OBJECT_CORRUPT', 'chunk sizes do not add up to the file size');
  return { size: raw.size, chunks: raw.c };
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

export function parseCommit(bytes: Uint8Array): Commit {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new StrataError('OBJECT_CORRUPT', 'commit object is not valid JSON');
  }
  if (raw.strata !== 'commit' || typeof raw.tree !== 'string' || !Array.isArray(raw.parents)) throw new StrataError('OBJECT_CORRUPT', 'object is not a commit');
  return {
    tree: raw.tree,
    parents: raw.parents as Id[],
    author: raw.author as Person,
    time: raw.time as number,
    message: raw.message as string,
    code: (raw.code as CodeVersion | null) ?? null,
    meta: raw.meta as Record<string, unknown> | undefined,
  };
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

export function parseTag(bytes: Uint8Array): TagObject {
  const raw = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  if (raw.strata !== 'tag') throw new StrataError('OBJECT_CORRUPT', 'object is not a tag');
  return { name: raw.name as string, target: raw.target as string, message: raw.message as string, tagger: raw.tagger as Person, time: raw.time as number };
}
