/**
 * Reads of the S3 gateway: what a key `<ref>/<path>` names, and the sorted key space of a bucket.
 *
 * - resolveKey: the longest leading run of segments that names a branch (then a tag) is the ref;
 *   otherwise the first segment may be a commit id (full, or a unique prefix of 7+ hex digits).
 * - A branch's objects are its head commit's tree with its uncommitted gateway writes laid over it
 *   (puts replace or add, deletes hide). Tags and commits are their commit's tree.
 * - listKeys: the bucket's keys in UTF-8 byte order (S3's order) across every branch and tag
 *   (commit ids are not listed, but `<commit>/` prefixes are), with prefix, delimiter, start-after
 *   and a page size. A version's sorted key list is built once and kept (by tree id and staging
 *   stamp), so the pages of a 100,000-key listing each cost a binary search and a slice.
 */
import { StrataError } from '../errors/index.js';
import type { IndexRow } from '../meta/interface.js';
import type { FileEntry, Id, SymlinkEntry, Tree, TreeEntry } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { HEADS, TAGS } from '../repo/refs.js';
import { flattenTree } from '../repo/tree.js';
import type { GatewayObject, RefKind, ResolvedRef } from './types.js';

/** Compare two strings by their UTF-8 bytes (S3 key order; JS `<` compares UTF-16 units). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..DFFF, code points above U+FFFF) sort after U+E000..FFFF in UTF-8.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** The first index in sorted `keys` whose key is greater than `after` (or >= `from` when inclusive). */
function lowerBound(keys: readonly string[], k: string, inclusive: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(keys[mid]!, k);
    if (c < 0 || (!inclusive && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const COMMIT_PREFIX_RE = /^[0-9a-f]{7,64}$/;

function commitByPrefix(repo: Repository, seg: string): Id | null {
  if (!COMMIT_PREFIX_RE.test(seg)) return null;
  if (seg.length === 64) return repo.db.hasCommit(seg) ? seg : null;
  const ids = repo.db.commitIdsByPrefix(seg, 2);
  return ids.length === 1 ? ids[0]! : null;
}

/** The ref a key starts with, or null when no leading segments name one. */
export function resolveKey(repo: Repository, key: string): ResolvedRef | null {
  const segs = key.split('/');
  // One read of the branches and tags whose names could start the key, then the longest match.
  const first = segs[0]!;
  const refs = first ? new Map(repo.db.listRefs(HEADS + first).concat(repo.db.listRefs(TAGS + first)).map((r) => [r.name, r.target])) : new Map<string, string>();
  for (let i = segs.length; i >= 1 && refs.size; i--) {
    const name = segs.slice(0, i).join('/');
    if (!name) continue;
    const path = segs.slice(i).join('/');
    const b = refs.get(HEADS + name);
    if (b) return { kind: 'branch', name, commit: b, path };
    const t = refs.get(TAGS + name);
    if (t) return { kind: 'tag', name, commit: t, path };
  }
  const c = commitByPrefix(repo, first);
  if (c) return { kind: 'commit', name: c, commit: c, path: segs.slice(1).join('/') };
  // A repository with no commit yet still has its initial branch (HEAD -> refs/heads/<b>).
  const head = repo.head();
  if (head.branch && !head.commit && (key === head.branch || key.startsWith(head.branch + '/'))) {
    return { kind: 'branch', name: head.branch, commit: null, path: key.slice(head.branch.length + 1) };
  }
  return null;
}

/** The branches and tags of a repository, as listed key prefixes (a branch hides a tag of its name). */
function listedRefs(repo: Repository): Array<{ kind: RefKind; name: string; commit: Id | null }> {
  const out = new Map<string, { kind: RefKind; name: string; commit: Id | null }>();
  for (const r of repo.db.listRefs(HEADS)) out.set(r.name.slice(HEADS.length), { kind: 'branch', name: r.name.slice(HEADS.length), commit: r.target });
  const head = repo.head();
  if (head.branch && !out.has(head.branch)) out.set(head.branch, { kind: 'branch', name: head.branch, commit: head.commit });
  for (const r of repo.db.listRefs(TAGS)) {
    const name = r.name.slice(TAGS.length);
    if (!out.has(name)) out.set(name, { kind: 'tag', name, commit: r.target });
  }
  return [...out.values()].sort((a, b) => compareKeys(a.name + '/', b.name + '/'));
}

/** A version's objects, sorted by path (UTF-8 order), with a parallel array of paths for searching. */
interface Listing {
  paths: string[];
  objects: GatewayObject[];
}

/** Built listings, newest use last: at most LISTING_CACHE_ENTRIES paths in all. */
const LISTING_CACHE_ENTRIES = 2_000_000;
const listings = new Map<string, Listing>();

function remember(key: string, l: Listing): Listing {
  listings.delete(key);
  listings.set(key, l);
  let total = 0;
  for (const v of listings.values()) total += v.paths.length;
  for (const [k, v] of listings) {
    if (total <= LISTING_CACHE_ENTRIES || listings.size <= 1) break;
    listings.delete(k);
    total -= v.paths.length;
  }
  return l;
}

/**
 * Parsed commits and trees by id: immutable (an id names its bytes), verified when first read, so
 * a GET needs no metadata read or parse for the versions it has seen. Bounded, oldest out.
 */
const PARSED_MAX = 20_000;
const commits = new Map<string, { tree: Id; time: number }>();
const trees = new Map<string, Tree>();

function bounded<V>(m: Map<string, V>, k: string, v: V): V {
  if (m.size >= PARSED_MAX) m.delete(m.keys().next().value!);
  m.set(k, v);
  return v;
}

async function commitInfo(repo: Repository, commit: Id | null): Promise<{ tree: Id | null; time: number }> {
  if (!commit) return { tree: null, time: 0 };
  const key = `${repo.db.path}\0${commit}`;
  const hit = commits.get(key);
  if (hit) return hit;
  const c = await repo.readCommit(commit);
  return bounded(commits, key, { tree: c.tree, time: c.time });
}

async function treeOf(repo: Repository, id: Id): Promise<Tree> {
  const key = `${repo.db.path}\0${id}`;
  return trees.get(key) ?? bounded(trees, key, await repo.readTree(id));
}

/** The entry at `path` of a tree (null when absent), through the parsed-tree cache. */
async function entryIn(repo: Repository, treeId: Id, path: string): Promise<TreeEntry | null> {
  const parts = path.split('/');
  let cur = treeId;
  for (let i = 0; i < parts.length; i++) {
    const e = (await treeOf(repo, cur)).entries.find((x) => x.name === parts[i]);
    if (!e) return null;
    if (i === parts.length - 1) return e;
    if (e.type !== 'dir') return null;
    cur = e.id;
  }
  return null;
}

function fromRow(row: IndexRow, mtime: number, contentType: string | null, staged: boolean): GatewayObject {
  return { path: row.path, entry: row, mtime, contentType, staged };
}

/** The entry of a gateway object as a tree file entry (what the verified readers take). */
export function objectEntry(o: GatewayObject): FileEntry | SymlinkEntry {
  const e = o.entry;
  const name = o.path.slice(o.path.lastIndexOf('/') + 1);
  if (e.type === 'symlink') return { type: 'symlink', name, id: e.id, size: e.size, target: e.target ?? '' };
  return { type: 'file', name, id: e.id, size: e.size, exec: e.exec, ...(e.chunks ? { chunks: e.chunks } : {}) };
}

/** The sorted objects of a version (a branch with its staged writes). */
async function listing(repo: Repository, ref: { kind: RefKind; name: string; commit: Id | null }): Promise<Listing> {
  const { tree, time } = await commitInfo(repo, ref.commit);
  const stamp = ref.kind === 'branch' ? repo.db.stagedStamp(ref.name) : '';
  const cacheKey = `${repo.db.path}\0${tree ?? ''}\0${ref.kind === 'branch' ? ref.name : ''}\0${stamp}`;
  const hit = listings.get(cacheKey);
  if (hit) return remember(cacheKey, hit);
  const flat = await flattenTree(repo, tree);
  const byPath = new Map<string, GatewayObject>();
  for (const [p, row] of flat) byPath.set(p, fromRow(row, time, null, false));
  if (ref.kind === 'branch' && stamp !== '0:0') {
    for (const s of repo.db.listStaged(ref.name)) {
      if (s.op === 'delete') byPath.delete(s.path);
      else if (s.entry) byPath.set(s.path, fromRow(s.entry, s.time, s.contentType, true));
    }
  }
  const paths = [...byPath.keys()].sort(compareKeys);
  return remember(cacheKey, { paths, objects: paths.map((p) => byPath.get(p)!) });
}

/** One object of a version, or null (a folder is not an object). */
export async function getObject(repo: Repository, ref: ResolvedRef, path: string): Promise<GatewayObject | null> {
  if (!path) return null;
  if (ref.kind === 'branch') {
    const s = repo.db.getStaged(ref.name, path);
    if (s) return s.op === 'put' && s.entry ? fromRow(s.entry, s.time, s.contentType, true) : null;
  }
  const { tree, time } = await commitInfo(repo, ref.commit);
  if (!tree) return null;
  const e = await entryIn(repo, tree, path);
  if (!e || e.type === 'dir') return null;
  const row: IndexRow =
    e.type === 'symlink'
      ? { path, type: 'symlink', exec: false, size: e.size, id: e.id, chunks: null, target: e.target }
      : { path, type: 'file', exec: e.exec, size: e.size, id: e.id, chunks: e.chunks ?? null, target: null };
  return fromRow(row, time, null, false);
}

export interface ListKeysOptions {
  prefix: string;
  delimiter: string;
  /** Keys greater than this only ('' = from the start). */
  after: string;
  /** At most this many keys and common prefixes together (1..1000). */
  max: number;
}

export interface ListedKey {
  key: string;
  object: GatewayObject;
  /** The ref the key is under (for the commit id a listing reports). */
  commit: Id | null;
}

export interface ListKeysResult {
  keys: ListedKey[];
  prefixes: string[];
  truncated: boolean;
  /** The last key or prefix returned (what the next page starts after), when truncated. */
  next: string | null;
}

/** A page of a bucket's keys (see the file comment). */
export async function listKeys(repo: Repository, o: ListKeysOptions): Promise<ListKeysResult> {
  if (o.max < 0 || !Number.isInteger(o.max)) throw new StrataError('INVALID_ARGUMENT', `max-keys must be a whole number >= 0, got ${o.max}`);
  const out: ListKeysResult = { keys: [], prefixes: [], truncated: false, next: null };
  const full = (): boolean => out.keys.length + out.prefixes.length >= o.max;
  let last = o.after;
  const addPrefix = (cp: string): boolean => {
    // A prefix the previous page ended with is done; one that holds `after` still has keys past it.
    if (cp === o.after || (compareKeys(cp, o.after) < 0 && !o.after.startsWith(cp)) || out.prefixes[out.prefixes.length - 1] === cp) return true;
    if (full()) {
      out.truncated = true;
      return false;
    }
    out.prefixes.push(cp);
    last = cp;
    return true;
  };

  // A prefix under a commit id lists that commit only.
  const firstSeg = o.prefix.split('/')[0]!;
  let refs: Array<{ kind: RefKind; name: string; commit: Id | null }>;
  if (o.prefix.includes('/') && COMMIT_PREFIX_RE.test(firstSeg) && !repo.db.getRef(HEADS + firstSeg) && !repo.db.getRef(TAGS + firstSeg)) {
    const c = commitByPrefix(repo, firstSeg);
    refs = c ? [{ kind: 'commit', name: firstSeg, commit: c }] : [];
  } else refs = listedRefs(repo);

  for (const ref of refs) {
    const rp = ref.name + '/';
    if (!(rp.startsWith(o.prefix) || o.prefix.startsWith(rp))) continue;
    // Past `after` entirely? (every key of this ref starts with rp)
    if (compareKeys(o.after, rp) > 0 && !o.after.startsWith(rp)) continue;
    if (o.delimiter && rp.startsWith(o.prefix)) {
      const j = rp.indexOf(o.delimiter, o.prefix.length);
      if (j >= 0 && j + o.delimiter.length <= rp.length) {
        if (!addPrefix(rp.slice(0, j + o.delimiter.length))) break;
        continue;
      }
    }
    const l = await listing(repo, ref);
    const sub = o.prefix.startsWith(rp) ? o.prefix.slice(rp.length) : '';
    const subAfter = o.after.startsWith(rp) ? o.after.slice(rp.length) : '';
    let i = Math.max(lowerBound(l.paths, sub, true), subAfter ? lowerBound(l.paths, subAfter, false) : 0);
    while (i < l.paths.length) {
      const p = l.paths[i]!;
      if (!p.startsWith(sub)) break;
      const key = rp + p;
      if (o.delimiter) {
        const j = key.indexOf(o.delimiter, o.prefix.length);
        if (j >= 0) {
          const cp = key.slice(0, j + o.delimiter.length);
          if (!addPrefix(cp)) break;
          // Skip every key under this common prefix.
          i = Math.max(i + 1, lowerBound(l.paths, cp.slice(rp.length) + '\u{10FFFF}', true));
          continue;
        }
      }
      if (full()) {
        out.truncated = true;
        break;
      }
      out.keys.push({ key, object: l.objects[i]!, commit: ref.commit });
      last = key;
      i++;
    }
    if (out.truncated) break;
  }
  if (out.truncated) out.next = last;
  return out;
}
