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

/** 64 lowercase hex digits at `s[i..i+64)`. */
function hexAt(s: string, i: number): boolean {
  if (i + 64 > s.length) return false;
  for (let k = i; k < i + 64; k++) {
    const c = s.charCodeAt(k);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** A canonical non-negative integer (0 or no leading zero) starting at `i`: [value, end] or null. */
function uintAt(s: string, i: number): [number, number] | null {
  let k = i;
  let v = 0;
  while (k < s.length) {
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    k++;
  }
  const n = k - i;
  if (n === 0 || n > 16 || (n > 1 && s.charCodeAt(i) === 48) || !Number.isSafeInteger(v)) return null;
  return [v, k];
}

/** `text`: the object's bytes decoded as UTF-8. */
export function scanTree(text: string): Tree | null {
  if (!text.startsWith(HEAD)) return null;
  const entries: TreeEntry[] = [];
  let i = HEAD.length;
  let total = 0;
  let prev: string | null = null;
  if (text.charCodeAt(i) !== 93 /* ] */) {
    for (;;) {
      // ["name","t",size,"id"...]
      if (text.charCodeAt(i) !== 91 || text.charCodeAt(i + 1) !== 34) return null;
      const start = i + 2;
      let k = start;
      for (; k < text.length; k++) {
        const c = text.charCodeAt(k);
        if (c === 34) break;
        // Escapes, raw control characters, and U+FFFD (what undecodable bytes became: the strict
        // path compares the bytes): strict path.
        if (c === 92 || c < 0x20 || c === 0xfffd) return null;
        // Separators and surrogates: the strict path explains the name problem.
        if (c === 47 || (c >= 0xd800 && c <= 0xdfff)) return null;
      }
      if (k >= text.length) return null;
      const name = text.slice(start, k);
      // What nameProblem still has to say of such a name: empty, dot names, reserved, too long.
      if (name === '' || ((name.charCodeAt(0) === 46 || name.length * 3 > MAX_NAME_BYTES) && nameProblem(name) !== null)) return null;
      if (prev !== null && compareNames(prev, name) >= 0) return null;
      prev = name;
      // ","t",
      if (text.charCodeAt(k + 1) !== 44 || text.charCodeAt(k + 2) !== 34 || text.charCodeAt(k + 4) !== 34 || text.charCodeAt(k + 5) !== 44) return null;
      const t = text.charCodeAt(k + 3);
      const num = uintAt(text, k + 6);
      if (!num) return null;
      const size = num[0];
      i = num[1];
      if (text.charCodeAt(i) !== 44 || text.charCodeAt(i + 1) !== 34 || !hexAt(text, i + 2) || text.charCodeAt(i + 66) !== 34) return null;
      const id = text.slice(i + 2, i + 66);
      i += 67;
      total += size;
      if (!Number.isSafeInteger(total)) return null;
      if (t === 102 /* f */ || t === 120 /* x */) {
        const exec = t === 120;
        if (text.charCodeAt(i) === 93) {
          entries.push({ type: 'file', name, size, id, exec });
          i += 1;
        } else {
          if (text.charCodeAt(i) !== 44 || text.charCodeAt(i + 1) !== 34 || !hexAt(text, i + 2) || text.charCodeAt(i + 66) !== 34 || text.charCodeAt(i + 67) !== 93) return null;
          entries.push({ type: 'file', name, size, id, exec, chunks: text.slice(i + 2, i + 66) });
          i += 68;
        }
      } else if (t === 100 /* d */) {
        if (text.charCodeAt(i) !== 44) return null;
        const cnt = uintAt(text, i + 1);
        if (!cnt || text.charCodeAt(cnt[1]) !== 93) return null;
        entries.push({ type: 'dir', name, size, id, count: cnt[0] });
        i = cnt[1] + 1;
      } else {
        return null; // symlinks (rare) and unknown types: strict path
      }
      if (entries.length > MAX_TREE_ENTRIES) return null;
      const c = text.charCodeAt(i);
      if (c === 44) {
        i++;
        continue;
      }
      if (c === 93) break;
      return null;
    }
  }
  // i is at the closing ] of the entry list.
  if (text.length !== i + TAIL.length || !text.endsWith(TAIL)) return null;
  return { entries };
}

