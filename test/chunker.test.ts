import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHUNK_THRESHOLD,
  Chunker,
  DEFAULT_CHUNK_PARAMS,
  chunkFile,
  gearTable,
  type ChunkInfo,
  type ChunkerParams,
} from '../core/chunk/fastcdc.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { isStrataError } from '../core/errors/index.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const { minSize, maxSize } = DEFAULT_CHUNK_PARAMS;

/** mulberry32: tiny seeded PRNG returning uint32. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(n);
  const words = Math.floor(n / 4);
  for (let i = 0; i < words; i++) b.writeUInt32LE(r(), i * 4);
  for (let i = words * 4; i < n; i++) b[i] = r() & 255;
  return b;
}

function cutsOf(data: Uint8Array, params?: ChunkerParams): number[] {
  const c = new Chunker(params);
  return [...c.push(data), ...c.finish()];
}

/** Push `data` in slices whose sizes come from `next()`. */
function cutsSliced(data: Uint8Array, next: () => number, params?: ChunkerParams): number[] {
  const c = new Chunker(params);
  const out: number[] = [];
  for (let o = 0; o < data.length; ) {
    const n = Math.min(next(), data.length - o);
    for (const e of c.push(data.subarray(o, o + n))) out.push(e);
    o += n;
  }
  return [...out, ...c.finish()];
}

function chunkIds(data: Uint8Array, cuts: number[]): string[] {
  const ids: string[] = [];
  let o = 0;
  for (const e of cuts) {
    ids.push(hashBytes(data.subarray(o, e)));
    o = e;
  }
  return ids;
}

function sharedFraction(before: string[], after: string[]): number {
  const set = new Set(before);
  return after.filter((id) => set.has(id)).length / after.length;
}

const DATA = randomBytes(8 * MiB, 1);
const BIG = randomBytes(32 * MiB, 2);
const REF_CUTS = cutsOf(DATA);

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-chunk-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('gear table and cut points are pinned (chunk ids depend on them)', () => {
  const g = gearTable();
  assert.equal(g.length, 256);
  const le = Buffer.alloc(1024);
  for (let i = 0; i < 256; i++) le.writeInt32LE(g[i]!, i * 4);
  assert.equal(hashBytes(le), '47afe39ae5a799364a28485659fd0f88e76e23d11d57040b7dce85a278f97f51');
  assert.deepEqual(
    Array.from(g.subarray(0, 4), (x) => (x >>> 0).toString(16)),
    ['bf81bcc3', '8c1df325', 'b78e0973', 'e69ed264'],
  );
  const cuts = cutsOf(randomBytes(4 * MiB, 42));
  assert.deepEqual(cuts.slice(0, 8), [77145, 147099, 213836, 363227, 477747, 627425, 699658, 822196]);
  assert.equal(cuts.length, 56);
  assert.ok(CHUNK_THRESHOLD >= 4 * maxSize);
});

test('boundaries do not depend on how the stream is split', () => {
  const small = DATA.subarray(0, 2 * MiB);
  const smallRef = cutsOf(small);
  assert.deepEqual(cutsSliced(small, () => 1), smallRef, '1-byte pushes');
  assert.deepEqual(cutsSliced(DATA, () => 7), REF_CUTS, '7-byte pushes');
  assert.deepEqual(cutsSliced(DATA, () => 4 * KiB), REF_CUTS, '4 KiB pushes');
  assert.deepEqual(cutsSliced(DATA, () => MiB), REF_CUTS, '1 MiB pushes');
  const r = prng(7);
  assert.deepEqual(cutsSliced(DATA, () => 1 + (r() % 200_000)), REF_CUTS, 'random pushes');
  const r2 = prng(8);
  assert.deepEqual(cutsSliced(DATA, () => 1 + (r2() % 64)), REF_CUTS, 'small random pushes');
  // Same bytes at every alignment of the underlying ArrayBuffer (the scanner reads 32-bit words).
  for (let shift = 1; shift < 4; shift++) {
    const copy = Buffer.alloc(DATA.length + shift);
    DATA.copy(copy, shift);
    assert.deepEqual(cutsOf(copy.subarray(shift)), REF_CUTS, `byteOffset +${shift}`);
  }
});

test('chunk sizes are within [minSize, maxSize] except the last', () => {
  for (const cuts of [REF_CUTS, cutsOf(BIG)]) {
    let o = 0;
    cuts.forEach((e, i) => {
      const size = e - o;
      assert.ok(size <= maxSize, `chunk ${i} too big: ${size}`);
      if (i < cuts.length - 1) assert.ok(size >= minSize, `chunk ${i} too small: ${size}`);
      o = e;
    });
  }
  const sizes = REF_CUTS.slice(0, -1).map((e, i) => e - (i ? REF_CUTS[i - 1]! : 0));
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  assert.ok(mean > 48 * KiB && mean < 96 * KiB, `mean chunk size ${mean}`);
  // Low-entropy input never matches a mask: every chunk is cut at maxSize.
  const zeros = new Uint8Array(maxSize * 3 + 5);
  assert.deepEqual(cutsOf(zeros), [maxSize, 2 * maxSize, 3 * maxSize, 3 * maxSize + 5]);
  // Custom small parameters are respected too.
  const p = { minSize: 256, avgSize: 1024, maxSize: 4096 };
  let o = 0;
  const cuts = cutsOf(DATA.subarray(0, 256 * KiB), p);
  for (const e of cuts.slice(0, -1)) {
    assert.ok(e - o >= p.minSize && e - o <= p.maxSize);
    o = e;
  }
});

test('round trip: chunks concatenate to the file and ids are the chunk hashes', async () => {
  await initHash();
  await withTmp(async (dir) => {
    const path = join(dir, 'f.bin');
    const data = DATA.subarray(0, 3 * MiB + 12345);
    await writeFile(path, data);
    const parts: Buffer[] = [];
    const seen: ChunkInfo[] = [];
    const res = await chunkFile(
      path,
      async (c, bytes) => {
        await new Promise((r) => setImmediate(r)); // onChunk is awaited
        assert.equal(bytes.length, c.size);
        assert.equal(hashBytes(bytes), c.id);
        parts.push(Buffer.from(bytes));
        seen.push(c);
      },
      { readSize: 100_000 },
    );
    assert.equal(res.size, data.length);
    assert.equal(res.id, hashBytes(data));
    assert.deepEqual(seen, res.chunks);
    assert.ok(Buffer.concat(parts).equals(data));
    let o = 0;
    for (const c of res.chunks) {
      assert.equal(c.offset, o);
      assert.equal(c.id, hashBytes(data.subarray(o, o + c.size)));
      o += c.size;
    }
    assert.equal(o, data.length);
  });
});

test('chunkFile matches the in-memory Chunker for any read size', async () => {
  await withTmp(async (dir) => {
    const path = join(dir, 'f.bin');
    await writeFile(path, DATA);
    for (const readSize of [4097, 65_536, 300_001, MiB, undefined]) {
      const res = await chunkFile(path, undefined, { readSize });
      assert.deepEqual(
        res.chunks.map((c) => c.offset + c.size),
        REF_CUTS,
        `readSize ${readSize}`,
      );
      assert.equal(res.id, hashBytes(DATA));
    }
    const ids = chunkIds(DATA, REF_CUTS);
    const res = await chunkFile(path);
    assert.deepEqual(
      res.chunks.map((c) => c.id),
      ids,
    );
  });
});

test('boundaries realign after an insertion near the start', () => {
  const before = chunkIds(BIG, cutsOf(BIG));
  const insert = randomBytes(1000, 3);
  const edited = Buffer.concat([BIG.subarray(0, 5000), insert, BIG.subarray(5000)]);
  const after = chunkIds(edited, cutsOf(edited));
  const shared = sharedFraction(before, after);
  assert.ok(shared > 0.9, `shared ${shared}`);
  // A deletion realigns as well.
  const deleted = Buffer.concat([BIG.subarray(0, 100_000), BIG.subarray(100_037)]);
  const afterDel = chunkIds(deleted, cutsOf(deleted));
  assert.ok(sharedFraction(before, afterDel) > 0.9);
});

test('a 1% scattered rewrite changes only a small share of chunks', () => {
  const before = chunkIds(BIG, cutsOf(BIG));
  const edited = Buffer.from(BIG);
  const r = prng(9);
  const regions = 32;
  const regionSize = Math.floor((BIG.length * 0.01) / regions); // ~10 KiB each, 1% in total
  for (let k = 0; k < regions; k++) {
    const at = r() % (BIG.length - regionSize);
    randomBytes(regionSize, 100 + k).copy(edited, at);
  }
  const after = chunkIds(edited, cutsOf(edited));
  const changed = 1 - sharedFraction(before, after);
  // Each region touches one or two chunks (~64 of ~460), so ~14%; nowhere near all.
  assert.ok(changed < 0.2, `changed ${changed}`);
  assert.ok(changed > 0);
});

test('empty file and a file smaller than minSize', async () => {
  await initHash();
  await withTmp(async (dir) => {
    const empty = join(dir, 'empty');
    await writeFile(empty, Buffer.alloc(0));
    const e = await chunkFile(empty);
    assert.deepEqual(e, { id: hashBytes(new Uint8Array(0)), size: 0, chunks: [] });

    const small = join(dir, 'small');
    const data = DATA.subarray(0, minSize - 1);
    await writeFile(small, data);
    const calls: ChunkInfo[] = [];
    const s = await chunkFile(small, (c) => {
      calls.push(c);
    });
    const id = hashBytes(data);
    assert.deepEqual(s, { id, size: data.length, chunks: [{ offset: 0, size: data.length, id }] });
    assert.deepEqual(calls, s.chunks);
  });
  const c = new Chunker();
  assert.deepEqual(c.push(new Uint8Array(0)), []);
  assert.deepEqual(c.finish(), []);
  assert.deepEqual(c.push(new Uint8Array(10)), []);
  assert.deepEqual(c.finish(), [10]);
});

test('invalid parameters and missing files raise StrataErrors', async () => {
  for (const p of [
    { minSize: 0, avgSize: 1024, maxSize: 4096 },
    { minSize: 2048, avgSize: 1024, maxSize: 4096 },
    { minSize: 256, avgSize: 4096, maxSize: 4096 },
    { minSize: 1.5, avgSize: 1024, maxSize: 4096 },
  ]) {
    assert.throws(() => new Chunker(p), (e) => isStrataError(e, 'INVALID_ARGUMENT'));
  }
  await assert.rejects(chunkFile('/nonexistent/strata/chunk-test'), (e) => isStrataError(e, 'PATH_NOT_FOUND'));
});
