/**
 * The data model: canonical JSON, tree/manifest/commit serialization, ids, and the tree parser's
 * refusal of names that could escape the workspace.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initHash, hashBytes } from '../core/hash/index.js';
import { isStrataError } from '../core/errors/index.js';
import {
  canonicalJson,
  commitId,
  compareNames,
  parseCommit,
  parseManifest,
  parseTree,
  parseTreeStrict,
  parseTreeNear,
  parseTreeScanned,
  serializeCommit,
  serializeManifest,
  serializeTree,
  treeId,
  type Commit,
  type Tree,
} from '../core/model/index.js';
import type { TreeEntry } from '../core/model/index.js';
import { scanTree, scanTreeNear, scanTreeText, treeEdit } from '../core/model/tree-scan.js';

await initHash();

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

function corrupt(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => isStrataError(e, 'OBJECT_CORRUPT'));
}

/** `count` copies of `base`, each with 1 to 3 random byte edits (set, insert, delete) from `alphabet`; seeded. */
function* mutations(base: Buffer, count: number, seed: number, alphabet: Buffer): Generator<Buffer> {
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let n = 0; n < count; n++) {
    let m: Buffer = Buffer.from(base);
    for (let k = 1 + rnd(3); k > 0; k--) {
      const at = rnd(m.length);
      const op = rnd(3);
      const byte = alphabet[rnd(alphabet.length)]!;
      if (op === 0) m[at] = byte;
      else if (op === 1) m = Buffer.concat([m.subarray(0, at), Buffer.of(byte), m.subarray(at)]);
      else m = Buffer.concat([m.subarray(0, at), m.subarray(at + 1)]);
    }
    yield m;
  }
}

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops undefined, no whitespace', () => {
    const a = canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined });
    const b = canonicalJson({ a: { c: 'x', d: [3, { y: 2, z: 1 }] }, b: 1 });
    assert.equal(a, b);
    assert.equal(a, '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('is stable for unicode keys (UTF-8 byte order) and escapes strings like JSON', () => {
    assert.equal(canonicalJson({ é: 1, z: 2, Z: 3 }), '{"Z":3,"z":2,"é":1}');
    assert.equal(canonicalJson('a"b\n'), '"a\\"b\\n"');
    assert.equal(canonicalJson([undefined, null, true]), '[null,null,true]');
  });

  it('rejects values JSON cannot represent exactly', () => {
    assert.throws(() => canonicalJson(Number.NaN), TypeError);
    assert.throws(() => canonicalJson(Infinity), TypeError);
    assert.throws(() => canonicalJson(() => 1), TypeError);
  });

  it('compareNames orders by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF5E (3 UTF-8 bytes EF BD 9E) vs U+1F600 (surrogate pair in UTF-16, 4 bytes F0 9F 98 80):
    // UTF-16 puts the emoji first (0xD83D < 0xFF5E); UTF-8 bytes put it last.
    assert.ok(compareNames('\uff5e', '\u{1f600}') < 0);
    assert.ok(compareNames('a', 'b') < 0);
    assert.ok(compareNames('B', 'a') < 0);
    assert.equal(compareNames('x', 'x'), 0);
  });
});

describe('trees', () => {
  const tree: Tree = {
    entries: [
      { type: 'file', name: 'z.csv', size: 3, id: A, exec: false },
      { type: 'dir', name: 'sub', size: 10, id: B, count: 2 },
      { type: 'symlink', name: 'link', size: 5, id: C, target: 'z.csv' },
      { type: 'file', name: 'big.bin', size: 9_000_000, id: A, exec: false, chunks: B },
      { type: 'file', name: 'run.sh', size: 4, id: C, exec: true },
    ],
  };

  it('serializes with entries sorted by name whatever the input order', () => {
    const bytes = serializeTree(tree);
    const reversed = serializeTree({ entries: [...tree.entries].reverse() });
    assert.ok(bytes.equals(reversed));
    const names = (JSON.parse(bytes.toString()) as { e: unknown[][] }).e.map((e) => e[0]);
    assert.deepEqual(names, ['big.bin', 'link', 'run.sh', 'sub', 'z.csv']);
    assert.equal(treeId(tree).id, hashBytes(bytes));
  });

  it('writes exactly the canonical JSON of the tree (names with quotes, unicode and control characters too)', () => {
    const odd: Tree = { entries: [...tree.entries, { type: 'file', name: 'q"u\\o\u0007te \u00e9\u{1F600}.csv', size: 0, id: B, exec: false }, { type: 'symlink', name: 'l2', target: 'a "b"/\u00e9', size: Buffer.byteLength('a "b"/\u00e9'), id: C }] };
    const wire = [...odd.entries]
      .sort((a, b) => compareNames(a.name, b.name))
      .map((e) => (e.type === 'file' ? (e.chunks ? [e.name, e.exec ? 'x' : 'f', e.size, e.id, e.chunks] : [e.name, e.exec ? 'x' : 'f', e.size, e.id]) : e.type === 'symlink' ? [e.name, 'l', e.size, e.id, e.target] : [e.name, 'd', e.size, e.id, e.count]));
    assert.equal(serializeTree(odd).toString('utf8'), canonicalJson({ strata: 'tree', v: 1, e: wire }));
  });

  it('round-trips every entry kind (exec bit, chunks, symlink target, dir count)', () => {
    const back = parseTree(serializeTree(tree));
    const byName = new Map(back.entries.map((e) => [e.name, e]));
    for (const e of tree.entries) assert.deepEqual(byName.get(e.name), e);
    assert.ok(serializeTree(back).equals(serializeTree(tree)));
  });

  it('the id changes when any field changes', () => {
    const base = treeId(tree).id;
    const variants: Tree[] = [
      { entries: tree.entries.map((e) => (e.name === 'run.sh' ? { ...e, exec: false } : e)) },
      { entries: tree.entries.map((e) => (e.name === 'link' ? { ...e, target: 'other' } : e)) },
      { entries: tree.entries.map((e) => (e.name === 'z.csv' ? { ...e, size: 4 } : e)) },
      { entries: tree.entries.filter((e) => e.name !== 'sub') },
    ];
    const ids = new Set([base, ...variants.map((t) => treeId(t).id)]);
    assert.equal(ids.size, variants.length + 1);
  });

  it('refuses duplicate names', () => {
    assert.throws(() => serializeTree({ entries: [tree.entries[0]!, tree.entries[0]!] }), /duplicate/);
  });

  it('parseTree rejects names that are empty, ., .., or contain / \\ or NUL', () => {
    for (const name of ['', '.', '..', 'a/b', '../x', '/abs', 'a\\b', 'nul\0byte']) {
      const raw = Buffer.from(JSON.stringify({ strata: 'tree', v: 1, e: [[name, 'f', 1, A]] }));
      corrupt(() => parseTree(raw));
    }
  });

  it('parseTree rejects malformed objects', () => {
    corrupt(() => parseTree(Buffer.from('not json')));
    corrupt(() => parseTree(Buffer.from('{"strata":"commit","v":1,"e":[]}')));
    corrupt(() => parseTree(Buffer.from('{"strata":"tree","v":2,"e":[]}')));
    corrupt(() => parseTree(Buffer.from(JSON.stringify({ strata: 'tree', v: 1, e: [['x', 'f', 1, 'nothex']] }))));
    corrupt(() => parseTree(Buffer.from(JSON.stringify({ strata: 'tree', v: 1, e: [['x', 'q', 1, A]] }))));
  });
});

describe('chunk manifests', () => {
  it('round-trips and checks that chunk sizes add up', () => {
    const m = { size: 30, chunks: [[A, 10], [B, 20]] as Array<[string, number]> };
    assert.deepEqual(parseManifest(serializeManifest(m)), m);
    corrupt(() => parseManifest(serializeManifest({ size: 31, chunks: m.chunks })));
    corrupt(() => parseManifest(Buffer.from(JSON.stringify({ strata: 'chunks', v: 1, size: 1, c: [['zz', 1]] }))));
  });
});

describe('commits', () => {
  const c: Commit = {
    tree: A,
    parents: [B],
    author: { name: 'Ada', email: 'ada@example.com' },
    time: 1_700_000_000_000,
    message: 'first\n\nbody',
    code: { commit: '0123456789abcdef0123456789abcdef01234567', branch: 'main', remote: null, dirty: false },
    meta: { roots: ['data'] },
  };

  it('ids are stable: same content, same id, whatever the key order', () => {
    const shuffled: Commit = { meta: { roots: ['data'] }, code: { dirty: false, remote: null, branch: 'main', commit: c.code!.commit }, message: c.message, time: c.time, author: { email: 'ada@example.com', name: 'Ada' }, parents: [B], tree: A };
    assert.equal(commitId(shuffled).id, commitId(c).id);
    assert.equal(commitId(c).id, hashBytes(serializeCommit(c)));
    assert.equal(commitId(c).id, commitId(parseCommit(serializeCommit(c))).id);
    // Pinned ids: a change to the serialization would silently change every id ever made.
    assert.equal(commitId(c).id, 'ba68958793090b0c64eecebfda7c7dece147ba7d58ffa2fe177efe9e598aacc9');
    assert.equal(treeId({ entries: [] }).id, '552128a3bba16d2e6586c03c5cbd1a3234b60585ccdb810bdd0d34b0067c9a1a');
    assert.equal(serializeTree({ entries: [] }).toString(), '{"e":[],"strata":"tree","v":1}');
  });

  it('round-trips and any change changes the id', () => {
    assert.deepEqual(parseCommit(serializeCommit(c)), c);
    const ids = new Set([
      commitId(c).id,
      commitId({ ...c, message: 'other' }).id,
      commitId({ ...c, parents: [] }).id,
      commitId({ ...c, time: c.time + 1 }).id,
      commitId({ ...c, code: { ...c.code!, dirty: true } }).id,
      commitId({ ...c, code: null }).id,
    ]);
    assert.equal(ids.size, 6);
  });

  it('empty meta is omitted, so it does not change the id', () => {
    assert.equal(commitId({ ...c, meta: {} }).id, commitId({ ...c, meta: undefined }).id);
  });

  it('meta.labels holds string keys to string values; anything else there is refused', () => {
    const l: Commit = { ...c, meta: { labels: { job: 'nightly', empty: '' } } };
    assert.deepEqual(parseCommit(serializeCommit(l)), l);
    corrupt(() => parseCommit(serializeCommit({ ...c, meta: { labels: { n: 1 } } })));
    corrupt(() => parseCommit(serializeCommit({ ...c, meta: { labels: ['x'] } })));
    corrupt(() => parseCommit(serializeCommit({ ...c, meta: { labels: { ['k'.repeat(256)]: 'v' } } })));
    corrupt(() => parseCommit(serializeCommit({ ...c, meta: { labels: { k: 'v'.repeat(4097) } } })));
    corrupt(() => parseCommit(serializeCommit({ ...c, meta: { labels: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 'v'])) } })));
    corrupt(() => parseCommit(serializeCommit({ ...c, meta: { job: 'nightly' } })));
  });

  it('parseCommit rejects non-commits', () => {
    corrupt(() => parseCommit(Buffer.from('{')));
    corrupt(() => parseCommit(serializeTree({ entries: [] })));
  });
});

describe('the one-pass tree reader', () => {
  /** strict(bytes) as a comparable value: the tree, or the error code. */
  const strict = (b: Buffer): Tree | string => {
    try {
      return parseTreeStrict(b);
    } catch (e) {
      return isStrataError(e) ? e.code : String(e);
    }
  };
  const sample: Tree = {
    entries: [
      { type: 'file', name: 'a.csv', size: 10, id: A, exec: false },
      { type: 'file', name: 'big.bin', size: 9_007_199_254_740, id: B, exec: true, chunks: C },
      { type: 'dir', name: 'sub', size: 12, id: C, count: 3 },
      { type: 'file', name: 'z\u00e9.txt', size: 0, id: A, exec: false },
    ],
  };

  it('reads the common shapes exactly as the strict parser does', () => {
    for (const t of [sample, { entries: [] }, { entries: sample.entries.slice(2) }]) {
      const bytes = serializeTree(t);
      assert.notEqual(scanTree(bytes.toString('utf8')), null, 'the plain shape takes the one-pass path');
      assert.deepEqual(parseTree(bytes), parseTreeStrict(bytes));
    }
    // Shapes it leaves to the strict parser: links, escaped names.
    const link = serializeTree({ entries: [{ type: 'symlink', name: 'l', size: 1, id: A, target: 'x' }] });
    assert.equal(scanTree(link.toString('utf8')), null);
    assert.deepEqual(parseTree(link), parseTreeStrict(link));
    const quoted = serializeTree({ entries: [{ type: 'file', name: 'a"b', size: 1, id: A, exec: false }] });
    assert.equal(scanTree(quoted.toString('utf8')), null);
    assert.equal(parseTree(quoted).entries[0]!.name, 'a"b');
  });

  it('never accepts what the strict parser refuses or reads differently (200,000 mutated trees)', () => {
    let accepted = 0;
    for (const m of mutations(serializeTree(sample), 200_000, 7, Buffer.from('0123456789abcdefx"[],:{}-.\\/ \u0000e+E\u00e9', 'utf8'))) {
      const fast = scanTree(m.toString('utf8'));
      if (fast === null) continue;
      accepted++;
      assert.deepEqual(strict(m), fast, `accepted ${JSON.stringify(m.toString('utf8'))}`);
    }
    assert.ok(accepted > 0, 'some mutations are still canonical trees');
  });

  it('refuses unsorted or duplicate names, leading zeros and unsafe sizes (the strict parser explains)', () => {
    const text = serializeTree(sample).toString('utf8');
    for (const bad of [
      text.replace('"a.csv"', '"zz"'),
      text.replace('"big.bin"', '"a.csv"'),
      text.replace(',10,', ',010,'),
      text.replace(',10,', ',-1,'),
      text.replace(',10,', ',9007199254740993,'),
      text.replace(',3]', ',3.0]'),
      text + ' ',
      text.replace('"v":1', '"v":2'),
    ]) {
      assert.equal(scanTree(bad), null, bad);
      corrupt(() => parseTree(Buffer.from(bad)));
    }
  });
});

describe('reading a tree against a near one (a merge reads its sides against the base)', () => {
  const hex = (i: number) => i.toString(16).padStart(64, '0');
  /** A folder of 100 files and 3 subfolders, like a merge's. */
  const folder: Tree = {
    entries: [
      ...Array.from({ length: 100 }, (_, i) => ({ type: 'file' as const, name: `f${String(i).padStart(3, '0')}.csv`, size: 20 + i, id: hex(i), exec: i % 7 === 0 })),
      ...Array.from({ length: 3 }, (_, i) => ({ type: 'dir' as const, name: `sub${i}`, size: 1000 * i, id: hex(500 + i), count: i + 1 })),
    ],
  };
  const baseBytes = serializeTree(folder);
  const near = scanTreeText(baseBytes, baseBytes.toString('utf8'))!;
  const same = (m: Buffer): void => {
    const text = m.toString('utf8');
    assert.deepEqual(scanTreeNear(m, text, near), scanTree(text), `read differently: ${JSON.stringify(text.slice(0, 120))}...`);
  };

  it('gives what scanTree gives for the edits a merge sees: changed, added, removed entries anywhere', () => {
    assert.ok(near, 'an ASCII tree keeps its entry starts');
    const n = folder.entries.length;
    for (const at of [0, 1, 50, n - 4, n - 3, n - 1]) {
      const changed = folder.entries.map((e, i) => (i === at ? { ...e, id: hex(9000 + i), size: e.size + 1 } : e));
      const removed = folder.entries.filter((_, i) => i !== at);
      const added = [...folder.entries.slice(0, at), { type: 'file' as const, name: `${folder.entries[at]!.name}~`, size: 5, id: hex(7777), exec: false }, ...folder.entries.slice(at)].sort((a, b) => compareNames(a.name, b.name));
      const two = folder.entries.map((e, i) => (i === at || i === (at + 37) % n ? { ...e, id: hex(8000 + i) } : e));
      for (const t of [changed, removed, added, two]) {
        const bytes = serializeTree({ entries: t });
        same(bytes);
        assert.deepEqual(parseTreeNear(bytes, near), parseTree(bytes));
      }
    }
    for (const t of [[], folder.entries.slice(0, 1), folder.entries.slice(-1), folder.entries]) same(serializeTree({ entries: t }));
    // A tree with other names entirely, or non-ASCII names, is scanned whole.
    same(serializeTree({ entries: [{ type: 'file', name: 'z\u00e9.txt', size: 0, id: A, exec: false }] }));
    assert.equal(scanTreeText(serializeTree({ entries: [{ type: 'file', name: 'z\u00e9.txt', size: 0, id: A, exec: false }] }), serializeTree({ entries: [{ type: 'file', name: 'z\u00e9.txt', size: 0, id: A, exec: false }] }).toString('utf8')), null);
  });

  it('never accepts what scanTree refuses nor reads anything differently (100,000 mutated trees)', () => {
    let accepted = 0;
    for (const m of mutations(baseBytes, 100_000, 11, Buffer.from('0123456789abcdefx"[],:{}-.\\/ \u0000e+E', 'utf8'))) {
      const text = m.toString('utf8');
      const fast = scanTreeNear(m, text, near);
      assert.deepEqual(fast, scanTree(text), `read differently: ${JSON.stringify(text)}`);
      if (fast) accepted++;
    }
    assert.ok(accepted > 0, 'some mutations are still canonical trees');
  });

  /** The side's entries as treeEdit describes them: the base's outside [from, to), the edit's inside. */
  const applied = (base: Tree, te: NonNullable<ReturnType<typeof treeEdit>>): TreeEntry[] => {
    const frame = serializeTree({ entries: [] }).length;
    let at = '{"e":['.length;
    let lo = 0;
    while (lo < base.entries.length && at < te.from) at += serializeTree({ entries: [base.entries[lo++]!] }).length - frame + 1;
    assert.equal(at, te.from, 'the edit starts at an entry');
    assert.deepEqual(te.baseEntries, base.entries.slice(lo, lo + te.baseEntries.length), "the base's entries in the edit");
    return [...base.entries.slice(0, lo), ...te.entries, ...base.entries.slice(lo + te.baseEntries.length)];
  };

  it('treeEdit: the entries between a side and its base, read only there, the same as scanTree reads the side', () => {
    const n = folder.entries.length;
    let edits = 0;
    for (const at of [0, 1, 50, n - 4, n - 3, n - 1]) {
      const changed = folder.entries.map((e, i) => (i === at ? { ...e, id: hex(9000 + i), size: e.size + 1 } : e));
      const removed = folder.entries.filter((_, i) => i !== at);
      const added = [...folder.entries.slice(0, at), { type: 'file' as const, name: `${folder.entries[at]!.name}~`, size: 5, id: hex(7777), exec: false }, ...folder.entries.slice(at)].sort((a, b) => compareNames(a.name, b.name));
      const appended = [...folder.entries, { type: 'file' as const, name: 'zz\u00e9', size: 1, id: hex(1), exec: false }];
      for (const t of [changed, removed, added, appended, folder.entries.slice(0, 1), folder.entries.slice(-1)]) {
        const bytes = serializeTree({ entries: t });
        const te = treeEdit(bytes, baseBytes)!;
        assert.ok(te, 'an edit of a canonical tree is found');
        assert.deepEqual(applied(folder, te), t);
        if (t.length >= n - 1) assert.ok(te.baseEntries.length + te.entries.length <= 4, 'only the entries around the change are read');
        edits++;
      }
    }
    assert.equal(treeEdit(baseBytes, baseBytes), null, 'no edit between a tree and itself');
    assert.deepEqual(applied(folder, treeEdit(serializeTree({ entries: [] }), baseBytes)!), [], 'every entry gone');
    assert.equal(treeEdit(baseBytes, serializeTree({ entries: [] })), null, 'an empty base: read whole');
    assert.ok(edits > 0);
  });

  it('treeEdit never accepts a side scanTree refuses, nor reads it differently (100,000 mutated trees)', () => {
    let accepted = 0;
    for (const m of mutations(baseBytes, 100_000, 13, Buffer.from('0123456789abcdefx"[],:{}-.\\/ \u0000e+E', 'utf8'))) {
      const te = treeEdit(m, baseBytes);
      if (!te) continue;
      const whole = scanTree(m.toString('utf8'));
      assert.ok(whole, `accepted what scanTree refuses: ${JSON.stringify(m.toString('utf8'))}`);
      assert.deepEqual(applied(folder, te), whole.entries);
      accepted++;
    }
    assert.ok(accepted > 0, 'some mutations are still canonical trees');
  });

  it("a damaged side is refused with the strict parser's error, as parseTree refuses it", () => {
    const text = baseBytes.toString('utf8');
    for (const bad of [text.replace('"f050.csv"', '"f049.csv"'), text.replace(',70,', ',070,'), text.replace('"sub2"', '"a"'), text + ' ']) {
      corrupt(() => parseTreeNear(Buffer.from(bad), near));
      corrupt(() => parseTree(Buffer.from(bad)));
    }
    assert.deepEqual(parseTreeScanned(baseBytes).tree, parseTree(baseBytes));
  });
});
