/**
 * A one-pass reader for the common shape of a tree's canonical bytes: plain names (no escapes),
 * files and folders. It accepts a text only when it is exactly the canonical serialization of the
 * tree it returns, so for every input it accepts, the strict parser (JSON.parse, the field checks,
 * re-serialization and comparison) would return the same tree. Anything else — an escaped or
 * invalid name, a symlink, a number in another form, unknown fields, any damage — returns null and
 * the strict parser decides (and explains the problem).
 *
 * Why: a merge or a diff reads thousands of trees of hundreds of entries; the strict path spends
 * about four times JSON.parse on each, this about one.
 */
import { MAX_NAME_BYTES, MAX_TREE_ENTRIES } from './limits.js';
import { nameProblem } from './strict.js';
import { compareNames, type Tree, type TreeEntry } from './index.js';

const HEAD = '{"e":[';
const TAIL = '],"strata":"tree","v":1}';

/** Where a scan stands: the entries so far, the previous name, the running size total. */
interface ScanState {
  entries: TreeEntry[];
  prev: string | null;
  total: number;
  /** Where the entry list's `]` is, once a step reached it. */
  end: number;
}

/**
 * A tree scanned with where each entry starts in its text, so that a tree sharing most of that
 * text (the other sides of a merge, the next version of a folder) can be read by `scanTreeNear`
 * without scanning what they share.
 */
export interface ScannedTree {
  tree: Tree;
  /** The tree's bytes: ASCII (one byte a character, so text and byte offsets agree). */
  bytes: Buffer;
  /** starts[k]: index of entry k's `[` in `text`. */
  starts: number[];
  /** after[k]: the total size of entries k.. (after[entries.length] = 0). */
  after: number[];
  /** text.length - starts[k] -> k: which entry a suffix of that length would begin at. */
  fromEnd: Map<number, number>;
}

/**
 * The common canonical shape of one entry, matched natively: `["name","t",size,"id"]`, a file's
 * `,"chunks"` or a folder's `,count` before the `]`. The name holds no quote, backslash, control
 * character, separator, surrogate or U+FFFD (what undecodable bytes became: the strict path
 * compares the bytes); numbers are canonical (0 or no leading zero, at most 16 digits); ids are 64
 * lowercase hex digits. Anything else is for the strict path, which explains the problem.
 */
const ENTRY = /\["([^"\\\x00-\x1f/\ud800-\udfff\ufffd]*)","([fxd])",(0|[1-9][0-9]{0,15}),"([0-9a-f]{64})"(?:,"([0-9a-f]{64})"|,(0|[1-9][0-9]{0,15}))?\]/y;

/**
 * One entry at `i` (its `[`), checked as the scanner checks every entry; the index after it (at
 * its `,` or the list's `]`), or -1 when it is not the common canonical shape.
 */
function entryAt(text: string, i: number, st: ScanState): number {
  ENTRY.lastIndex = i;
  const m = ENTRY.exec(text);
  if (!m) return -1;
  const name = m[1]!;
  // What nameProblem still has to say of such a name: empty, dot names, reserved, too long.
  if (name === '' || ((name.charCodeAt(0) === 46 || name.length * 3 > MAX_NAME_BYTES) && nameProblem(name) !== null)) return -1;
  if (st.prev !== null && compareNames(st.prev, name) >= 0) return -1;
  st.prev = name;
  const size = Number(m[3]);
  if (!Number.isSafeInteger(size)) return -1;
  st.total += size;
  if (!Number.isSafeInteger(st.total)) return -1;
  const t = m[2]!;
  const chunks = m[5];
  const count = m[6];
  if (t === 'd') {
    if (count === undefined) return -1;
    const cnt = Number(count);
    if (!Number.isSafeInteger(cnt)) return -1;
    st.entries.push({ type: 'dir', name, size, id: m[4]!, count: cnt });
  } else {
    if (count !== undefined) return -1;
    const exec = t === 'x';
    st.entries.push(chunks === undefined ? { type: 'file', name, size, id: m[4]!, exec } : { type: 'file', name, size, id: m[4]!, exec, chunks });
  }
  if (st.entries.length > MAX_TREE_ENTRIES) return -1;
  return ENTRY.lastIndex;
}

/**
 * One entry at `i` and what follows it: the next entry's start (after a `,`), 0 at the end of the
 * list (its `]`: `st.end` says where), or -1 when it is not the common canonical shape.
 */
function stepAt(text: string, i: number, st: ScanState): number {
  const j = entryAt(text, i, st);
  if (j < 0) return -1;
  const c = text.charCodeAt(j);
  if (c === 44) return j + 1;
  if (c !== 93) return -1;
  st.end = j;
  return 0;
}

/** The end of a scan at `i` (the list's `]`): the tree, or null when the rest is not canonical. */
function endAt(text: string, i: number, st: ScanState): Tree | null {
  if (text.length !== i + TAIL.length || !text.endsWith(TAIL)) return null;
  return { entries: st.entries };
}

/** `text`: the object's bytes decoded as UTF-8. */
export function scanTree(text: string): Tree | null {
  return scan(text, null);
}

/** scanTree, keeping where each entry starts (see ScannedTree); null also for a non-ASCII tree. */
export function scanTreeText(bytes: Buffer, text: string): ScannedTree | null {
  if (bytes.length !== text.length) return null;
  const starts: number[] = [];
  const tree = scan(text, starts);
  if (!tree) return null;
  const n = tree.entries.length;
  const after = new Array<number>(n + 1);
  after[n] = 0;
  for (let k = n - 1; k >= 0; k--) after[k] = after[k + 1]! + tree.entries[k]!.size;
  const fromEnd = new Map<number, number>();
  for (let k = 0; k < n; k++) fromEnd.set(text.length - starts[k]!, k);
  return { tree, bytes, starts, after, fromEnd };
}

function scan(text: string, starts: number[] | null): Tree | null {
  if (!text.startsWith(HEAD)) return null;
  const st: ScanState = { entries: [], prev: null, total: 0, end: HEAD.length };
  let i = HEAD.length;
  if (text.charCodeAt(i) !== 93 /* ] */) {
    while (i > 0) {
      starts?.push(i);
      i = stepAt(text, i, st);
      if (i < 0) return null;
    }
  }
  return endAt(text, st.end, st);
}

/**
 * The tree `text` (decoded from `bytes`) encodes, read against `near`, a tree it shares most of
 * its bytes with (the other side of a merge, the base): the entries of the longest common prefix
 * and suffix are near's, only the bytes between them are scanned. The result is exactly
 * scanTree(text)'s: the scanner's state at an entry start depends only on the text before it
 * (the prefix is byte-identical), and from an entry start on, only on the text after it, the
 * previous name (checked at the seam) and the running total (checked at the end). Both trees are
 * ASCII, so a byte offset is a text offset; the comparisons are native (Buffer.compare).
 */
export function scanTreeNear(bytes: Buffer, text: string, near: ScannedTree): Tree | null {
  const { starts, tree: base, bytes: nb } = near;
  const n = base.entries.length;
  if (n === 0 || bytes.length !== text.length || !text.startsWith(HEAD)) return scanTree(text);
  const len = bytes.length;
  // The longest run of near's entries at the start: [0, starts[lo]) is known to match.
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= len && nb.compare(bytes, starts[lo]!, starts[mid]!, starts[lo]!, starts[mid]!) === 0) lo = mid;
    else hi = mid - 1;
  }
  const st: ScanState = { entries: base.entries.slice(0, lo), prev: lo > 0 ? base.entries[lo - 1]!.name : null, total: near.after[0]! - near.after[lo]!, end: 0 };
  let i = starts[lo]!;
  // An empty list (every entry gone) has no entry to start at.
  if (lo === 0 && text.charCodeAt(i) === 93) return endAt(text, i, st);
  for (;;) {
    // The rest is near's from entry k on: take its entries (names still in order, sizes summed).
    const k = near.fromEnd.get(len - i);
    if (k !== undefined && k >= lo && nb.compare(bytes, i, len, starts[k]!, nb.length) === 0) {
      const first = base.entries[k]!;
      if (st.prev !== null && compareNames(st.prev, first.name) >= 0) return null;
      const total = st.total + near.after[k]!;
      const count = st.entries.length + (n - k);
      if (!Number.isSafeInteger(total) || count > MAX_TREE_ENTRIES) return null;
      for (let j = k; j < n; j++) st.entries.push(base.entries[j]!);
      return { entries: st.entries };
    }
    i = stepAt(text, i, st);
    if (i < 0) return null;
    if (i === 0) return endAt(text, st.end, st);
  }
}

// ---------------------------------------------------------------- edits between canonical trees

/**
 * Where a tree differs from another (its base), in whole entries: the base's bytes [from, to) are
 * replaced by the tree's `bytes`. `from` and `to` are entry starts of the base (`to` may be the
 * list's closing `]`); `entries` are the tree's entries in `bytes` and `baseEntries` the base's in
 * [from, to), each read as scanTree reads an entry.
 */
export interface TreeEdit {
  from: number;
  to: number;
  bytes: Buffer;
  entries: TreeEntry[];
  baseEntries: TreeEntry[];
}

const HEAD_B = Buffer.from(HEAD);
const TAIL_B = Buffer.from(TAIL);
/** In canonical tree bytes this occurs exactly where one entry ends and the next begins: inside a JSON string every `"` is escaped, so `["` is never part of a name or a link target. */
const SEP = Buffer.from('],["');

/** Length of the longest common prefix of a[0..n) and b[0..n) (native comparisons, binary search). */
function commonPrefix(a: Buffer, b: Buffer, n: number): number {
  let lo = 0; // a[0..lo) === b[0..lo)
  let hi = n; // the answer is at most hi
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a.compare(b, lo, mid, lo, mid) === 0) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Length of the longest common suffix of a and b, at most n. */
function commonSuffix(a: Buffer, b: Buffer, n: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a.compare(b, b.length - mid, b.length - lo, a.length - mid, a.length - lo) === 0) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The entries of `text` (a run of whole entries cut at entry starts) after `prev`: `trailing` says
 * whether the run ends with the `,` before another entry; `mayBeEmpty` whether no entry at all is
 * allowed there. Null unless every entry has the common canonical shape and the names keep their
 * order.
 */
function entriesOf(text: string, prev: string | null, trailing: boolean, mayBeEmpty: boolean): TreeEntry[] | null {
  const st: ScanState = { entries: [], prev, total: 0, end: 0 };
  if (text === '') return mayBeEmpty ? st.entries : null;
  let i = 0;
  for (;;) {
    const j = entryAt(text, i, st);
    if (j < 0) return null;
    if (j === text.length) return trailing ? null : st.entries;
    if (text.charCodeAt(j) !== 44 /* , */) return null;
    i = j + 1;
    if (i === text.length) return trailing ? st.entries : null;
  }
}

/** The one entry of canonical tree bytes `b` that starts at `at`. */
function entryStartingAt(b: Buffer, at: number, listEnd: number): TreeEntry | null {
  const q = b.indexOf(SEP, at);
  const end = q >= 0 && q < listEnd ? q + 1 : listEnd;
  const e = entriesOf(b.toString('utf8', at, end), null, false, false);
  return e && e.length === 1 ? e[0]! : null;
}

/** Where an edit lies (see TreeEdit) before any entry is read: the base's [from, to), the side's [from, end). */
export interface EditSpan {
  from: number;
  to: number;
  end: number;
}

/**
 * Where `side` differs from `base`, both the canonical bytes of trees (as every tree in a store
 * is: each was checked when it came in, and its bytes are verified against its id when read): the
 * common prefix and suffix, found by native comparisons and snapped to entry starts. Nothing is
 * parsed yet (a caller can refuse the span first). Null when the two are not of that shape (then
 * the caller reads both whole).
 */
export function editSpan(side: Buffer, base: Buffer): EditSpan | null {
  const min = HEAD_B.length + TAIL_B.length;
  if (base.length <= min || side.length < min) return null;
  for (const b of [base, side]) {
    if (b.compare(HEAD_B, 0, HEAD_B.length, 0, HEAD_B.length) !== 0) return null;
    if (b.compare(TAIL_B, 0, TAIL_B.length, b.length - TAIL_B.length) !== 0) return null;
  }
  const listEnd = base.length - TAIL_B.length;
  const p = commonPrefix(side, base, Math.min(side.length, base.length));
  if (p === side.length && p === base.length) return null; // the same tree
  const q = p >= HEAD_B.length + 2 ? base.lastIndexOf(SEP, p - 2) : -1;
  const from = q >= HEAD_B.length ? q + 2 : HEAD_B.length;
  const l = commonSuffix(side, base, Math.min(side.length, base.length) - from);
  if (l < TAIL_B.length) return null;
  const b0 = base.length - l;
  const r = base.indexOf(SEP, Math.max(b0 - 2, from));
  const to = r >= 0 && r + 2 >= b0 && r < listEnd ? r + 2 : listEnd;
  if (to < b0 || to < from) return null;
  const end = side.length - (base.length - to);
  if (end < from) return null;
  return { from, to, end };
}

/**
 * `side` read as an edit of `base` (at `span`, editSpan's): only the entries of the span are read,
 * checked as scanTree checks entries, with their names in order against the base's entries around
 * the edit. Null when they are not of that shape.
 */
export function treeEdit(side: Buffer, base: Buffer, span: EditSpan | null = editSpan(side, base)): TreeEdit | null {
  if (!span) return null;
  const { from, to, end } = span;
  const listEnd = base.length - TAIL_B.length;
  // The base's entry before the edit orders the first new name; the one after it, the last.
  let before: TreeEntry | null = null;
  if (from > HEAD_B.length) {
    const pq = base.lastIndexOf(SEP, from - 3);
    before = entryStartingAt(base, pq >= HEAD_B.length ? pq + 2 : HEAD_B.length, listEnd);
    if (!before) return null;
  }
  const trailing = to < listEnd;
  const mayBeEmpty = trailing || from === HEAD_B.length;
  const entries = entriesOf(side.toString('utf8', from, end), before?.name ?? null, trailing, mayBeEmpty);
  const baseEntries = entriesOf(base.toString('utf8', from, to), before?.name ?? null, trailing, mayBeEmpty);
  if (!entries || !baseEntries) return null;
  if (trailing) {
    const after = entryStartingAt(base, to, listEnd);
    const last = entries.length ? entries[entries.length - 1]!.name : before?.name;
    if (!after || (last !== undefined && compareNames(last, after.name) >= 0)) return null;
  }
  return { from, to, bytes: side.subarray(from, end), entries, baseEntries };
}

/** Number of entries in canonical tree bytes (each but the first follows a separator). */
export function entryCount(b: Buffer): number {
  if (b.length <= HEAD_B.length + TAIL_B.length) return 0;
  let n = 1;
  for (let i = b.indexOf(SEP); i >= 0; i = b.indexOf(SEP, i + 1)) n++;
  return n;
}
