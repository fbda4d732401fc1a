/**
 * The merge of a folder both sides changed in different places splices the base's bytes instead
 * of reading every entry (core/merge/trees.ts spliceDir, core/model/tree-scan.ts treeEdit). These
 * tests hold it to the entry-by-entry merge: over thousands of seeded random folders and edits
 * (changed, added, removed and re-typed entries, subfolders changed, the exec bit, non-ASCII names,
 * edits that touch, overlap or conflict), both give the same result tree, the same rows to write
 * and remove, the same changes and the same conflicts; and the splice is taken where it applies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initRepository, type Repository } from '../core/repo/index.js';
import { mergeTrees, type TreeMergeResult } from '../core/merge/trees.js';
import { NO_RULES } from '../core/merge/rules.js';
import { compareNames, treeId, type Id, type Tree, type TreeEntry } from '../core/model/index.js';
import { hashBytes } from '../core/hash/index.js';
import { tempDir } from './helpers/cli.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let repo: Repository;

before(async () => {
  tmp = await tempDir('strata-splice-');
  repo = await initRepository(tmp.dir);
});
after(async () => {
  await repo.close();
  await tmp.cleanup();
});

/** mulberry32: a seeded PRNG. */
function prng(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const NAMES = ['a', 'b', 'c', 'd.csv', 'e', 'f', 'g', 'h', 'k', 'l.parquet', 'm', 'n', 'p', 'q', 'r', 's', 't', 'x\u00e9', 'y', 'z'];

/** Trees made and not stored yet (stored in one batch per case: one pack each). */
const pending = new Map<Id, Buffer>();
const made = new Map<Id, Tree>();

async function flush(): Promise<void> {
  const b = repo.store.batch();
  for (const [id, bytes] of pending) await b.add(id, bytes);
  await b.finish();
  pending.clear();
}

/** A tree to store (and nothing else: files are not read by a merge without content drivers). */
async function store(t: Tree): Promise<TreeEntry & { type: 'dir' }> {
  const { id, bytes } = treeId(t);
  pending.set(id, bytes);
  made.set(id, t);
  let size = 0;
  let count = 0;
  for (const e of t.entries) {
    size += e.size;
    count += e.type === 'dir' ? e.count : 1;
  }
  return { type: 'dir', name: '', id, size, count };
}

const file = (rnd: (n: number) => number, name: string): TreeEntry => ({ type: 'file', name, size: rnd(1000), id: hashBytes(Buffer.from(`c${rnd(1e9)}`)), exec: rnd(8) === 0 });

async function folder(rnd: (n: number) => number, depth: number): Promise<Tree> {
  const entries: TreeEntry[] = [];
  for (const n of NAMES) {
    if (rnd(4) === 0) continue;
    if (depth < 2 && rnd(6) === 0) entries.push({ ...(await store(await folder(rnd, depth + 1))), name: n });
    else entries.push(file(rnd, n));
  }
  return { entries };
}

/** 1 to 3 edits of a folder, in one run of names (`near`) or anywhere. */
async function edit(rnd: (n: number) => number, t: Tree, near: number | null): Promise<Tree> {
  const m = new Map(t.entries.map((e) => [e.name, e]));
  for (let k = 1 + rnd(3); k > 0; k--) {
    const name = NAMES[near === null ? rnd(NAMES.length) : Math.min(NAMES.length - 1, near + rnd(2))]!;
    const e = m.get(name);
    const op = rnd(6);
    if (!e || op === 0) m.set(name, file(rnd, name));
    else if (op === 1) m.delete(name);
    else if (op === 2 && e.type === 'file') m.set(name, { ...e, exec: !e.exec });
    else if (op === 3) m.set(name, { ...(await store(await folder(rnd, 2))), name });
    else if (e.type === 'dir') m.set(name, { ...(await store(await edit(rnd, made.get(e.id)!, null))), name });
    else m.set(name, { ...e, id: hashBytes(Buffer.from(`e${rnd(1e9)}`)), size: rnd(1000) });
  }
  return { entries: [...m.values()].sort((a, b) => compareNames(a.name, b.name)) };
}

function normal(r: TreeMergeResult): unknown {
  const byPath = (a: { path: string }, b: { path: string }) => compareNames(a.path, b.path);
  return {
    tree: r.tree,
    conflicts: r.conflicts,
    changes: r.changes,
    set: [...r.set].sort(byPath),
    remove: [...r.remove].sort(compareNames),
    oursRows: [...r.oursRows].sort((a, b) => compareNames(a[0], b[0])),
  };
}

/** A root holding the folder under `data` (a merge splices folders below the root). */
async function root(t: Tree): Promise<Id> {
  return (await store({ entries: [{ ...(await store(t)), name: 'data' }] })).id;
}

describe('merge: folders spliced where each side changed a different run of entries', () => {
  it('gives what the entry-by-entry merge gives (3,000 random folders and edits)', async () => {
    const rnd = prng(42);
    let spliced = 0;
    let whole = 0;
    for (let n = 0; n < 3000; n++) {
      const base = await folder(rnd, 0);
      // Mostly edits in two different places (the splice), sometimes anywhere (overlaps, conflicts).
      const at = rnd(NAMES.length - 4);
      const apart = rnd(4) === 0 ? null : at + 3 + rnd(NAMES.length - at - 3);
      const ours = await edit(rnd, base, rnd(4) === 0 ? null : at);
      const theirs = await edit(rnd, base, apart);
      const o = { base: await root(base), ours: await root(ours), theirs: await root(theirs), rules: NO_RULES, write: false };
      if (n % 100 === 99 || n === 2999) made.clear();
      await flush();
      const fast = await mergeTrees(repo, o);
      const slow = await mergeTrees(repo, { ...o, splice: false });
      assert.equal(slow.spliced, 0);
      assert.deepEqual(normal(fast), normal(slow), `case ${n}`);
      if (fast.spliced) spliced++;
      else whole++;
    }
    assert.ok(spliced > 1000, `the splice is taken where it applies (${spliced} of 3000)`);
    assert.ok(whole > 100, `and not where it does not (${whole} of 3000)`);
  });

  it('writes the same tree objects as the entry-by-entry merge', async () => {
    const rnd = prng(7);
    const base = await folder(rnd, 0);
    const ours = await edit(rnd, base, 0);
    const theirs = await edit(rnd, base, NAMES.length - 2);
    const o = { base: await root(base), ours: await root(ours), theirs: await root(theirs), rules: NO_RULES, write: true };
    await flush();
    const fast = await mergeTrees(repo, o);
    assert.equal(fast.spliced, 1);
    const slow = await mergeTrees(repo, { ...o, write: false, splice: false });
    assert.equal(fast.tree, slow.tree);
    // The spliced folder was stored, and reads back as the canonical tree the slow merge computed.
    const data = (await repo.readTree(fast.tree)).entries[0]!;
    assert.equal(data.type, 'dir');
    const got = await repo.readTree(data.id);
    assert.equal(treeId(got).id, data.id, 'the stored bytes are canonical');
  });
});
