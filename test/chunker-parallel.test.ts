/**
 * chunkFileParallel (worker thread runs the gear scan, main thread hashes and stores) must give exactly the
 * results of the sequential chunkFile: same whole-file id, same cuts, same chunk ids, same onChunk calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCipheriv } from 'node:crypto';
import { DEFAULT_CHUNK_PARAMS, chunkFile, type ChunkInfo, type ChunkerParams } from '../core/chunk/fastcdc.js';
import { PARALLEL_THRESHOLD, chunkFileParallel } from '../core/chunk/parallel.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { isStrataError } from '../core/errors/index.js';
import { LocalStore } from '../core/store/local/index.js';
import { storeLargeFile } from '../core/workspace/large.js';
import { parseManifest } from '../core/model/index.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const { minSize, maxSize } = DEFAULT_CHUNK_PARAMS;

/** Deterministic pseudo-random bytes (AES-128-CTR keystream of the seed), fast enough for tens of MiB. */
function seeded(n: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed >>> 0, 0);
  key.writeUInt32LE(0x5354524, 4);
  const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-pchunk-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Recorded {
  result: { id: string; size: number; chunks: ChunkInfo[] };
  calls: Array<{ info: ChunkInfo; hash: string }>;
  concat: Buffer;
}

/** Run a chunker, recording every onChunk call (with a hash of the bytes it saw during the call). */
async function record(
  run: (onChunk: (c: ChunkInfo, bytes: Buffer) => Promise<void>) => Promise<{ id: string; size: number; chunks: ChunkInfo[] }>,
): Promise<Recorded> {
  const calls: Recorded['calls'] = [];
  const parts: Buffer[] = [];
  let n = 0;
  const result = await run(async (info, bytes) => {
    assert.equal(bytes.length, info.size);
    calls.push({ info, hash: hashBytes(bytes) });
    parts.push(Buffer.from(bytes));
    if (++n % 7 === 0) await new Promise((r) => setImmediate(r)); // a slow consumer now and then
  });
  return { result, calls, concat: Buffer.concat(parts) };
}

/** Compare parallel against sequential on `data`, for each of the given options. */
async function assertSame(
  dir: string,
  data: Buffer,
  label: string,
  variants: Array<{ readSize?: number; poolSize?: number; params?: ChunkerParams }> = [{}],
): Promise<void> {
  const path = join(dir, 'f.bin');
  await writeFile(path, data);
  for (const v of variants) {
    const seq = await record((cb) => chunkFile(path, cb, { params: v.params }));
    let fellBack = false;
    const par = await record((cb) => chunkFileParallel(path, cb, { ...v, onFallback: () => (fellBack = true) }));
    const what = `${label} ${JSON.stringify(v)}`;
    assert.equal(fellBack, false, `${what}: worker did not start`);
    assert.equal(par.result.id, seq.result.id, `${what}: file id`);
    assert.equal(par.result.size, data.length, `${what}: size`);
    assert.deepEqual(par.result.chunks, seq.result.chunks, `${what}: chunks`);
    assert.deepEqual(par.calls, seq.calls, `${what}: onChunk calls`);
    assert.ok(par.concat.equals(data), `${what}: chunks concatenate to the file`);
    for (const c of par.calls) assert.equal(c.hash, c.info.id, `${what}: chunk id is the hash of the bytes passed`);
  }
}

test('parallel chunking equals sequential on seeded random files of many sizes and read sizes', async () => {
  await initHash();
  await withTmp(async (dir) => {
    const sizes = [0, 1, minSize - 1, minSize, minSize + 1, maxSize, maxSize + 1, 300_001, MiB + 7, 3 * MiB + 12345];
    for (let i = 0; i < sizes.length; i++) {
      await assertSame(dir, seeded(sizes[i]!, 1000 + i), `size ${sizes[i]}`, [{}, { readSize: 65_536, poolSize: 2 }]);
    }
    // Many seeds, with block sizes smaller than, around and larger than a chunk, and pool sizes down to 1.
    for (let seed = 1; seed <= 12; seed++) {
      const size = 2 * MiB + ((seed * 7919 * 131) % MiB);
      await assertSame(dir, seeded(size, seed), `seed ${seed}`, [
        { readSize: 4097, poolSize: 3 },
        { readSize: 100_000, poolSize: 1 },
        { readSize: maxSize, poolSize: 2 },
        { readSize: MiB + 1 },
      ]);
    }
    // A larger file through the default 8 MiB blocks, and custom (small) chunker parameters.
    await assertSame(dir, seeded(20 * MiB + 3, 77), '20 MiB', [{}, { readSize: 3 * MiB }]);
    await assertSame(dir, seeded(MiB, 78), 'small params', [{ params: { minSize: 256, avgSize: 1024, maxSize: 4096 }, readSize: 10_000 }]);
  });
});

test('parallel chunking equals sequential on low-entropy data (max-size cuts)', async () => {
  await initHash();
  await withTmp(async (dir) => {
    const variants = [{}, { readSize: 65_536 }, { readSize: 1_000_003, poolSize: 2 }];
    // Runs of zeros never match a mask: every chunk is cut at maxSize.
    await assertSame(dir, Buffer.alloc(10 * MiB + 5), 'zeros', variants);
    // Zero runs between random stretches: cuts switch between content-defined and forced.
    const mixed = Buffer.concat([seeded(MiB + 11, 5), Buffer.alloc(3 * MiB + 1), seeded(700_000, 6), Buffer.alloc(2 * maxSize - 3), seeded(MiB, 7)]);
    await assertSame(dir, mixed, 'zero runs', variants);
    // A short repeating pattern (constant gear state) and a byte ramp.
    const pattern = Buffer.alloc(4 * MiB);
    for (let i = 0; i < pattern.length; i++) pattern[i] = i % 3 === 0 ? 0xaa : i & 7;
    await assertSame(dir, pattern, 'pattern', variants);
  });
});

test('parallel chunking equals sequential after edits at block boundaries', async () => {
  await initHash();
  await withTmp(async (dir) => {
    const readSize = 256 * KiB + 13; // many block boundaries; chunks often span two blocks
    const base = seeded(4 * MiB, 91);
    const variants = [{ readSize, poolSize: 2 }, { readSize: MiB }];
    for (const k of [1, 6]) {
      for (const delta of [-1, 0, 1, -4096]) {
        const at = k * readSize + delta;
        // 1-byte overwrite, 100-byte insert and 37-byte delete right at (or next to) a block boundary.
        const over = Buffer.from(base);
        over[at] = over[at]! ^ 0xff;
        await assertSame(dir, over, `overwrite at ${at}`, variants);
        await assertSame(dir, Buffer.concat([base.subarray(0, at), seeded(100, at), base.subarray(at)]), `insert at ${at}`, variants);
        await assertSame(dir, Buffer.concat([base.subarray(0, at), base.subarray(at + 37)]), `delete at ${at}`, variants);
      }
    }
  });
});

test('falls back to the sequential chunker when the worker cannot start', async () => {
  await initHash();
  await withTmp(async (dir) => {
    const path = join(dir, 'f.bin');
    const data = seeded(MiB + 5, 3);
    await writeFile(path, data);
    const reasons: unknown[] = [];
    const r = await chunkFileParallel(path, undefined, {
      workerUrl: new URL('./no-such-chunk-worker.js', import.meta.url),
      onFallback: (e) => reasons.push(e),
    });
    assert.equal(reasons.length, 1);
    assert.deepEqual(r, await chunkFile(path));
  });
});

test('errors: missing file, bad parameters, a failing onChunk stops the worker', async () => {
  await initHash();
  await assert.rejects(chunkFileParallel('/nonexistent/strata/pchunk-test'), (e) => isStrataError(e, 'PATH_NOT_FOUND'));
  await assert.rejects(chunkFileParallel('/nonexistent', undefined, { params: { minSize: 0, avgSize: 1024, maxSize: 4096 } }), (e) =>
    isStrataError(e, 'INVALID_ARGUMENT'),
  );
  await withTmp(async (dir) => {
    const path = join(dir, 'f.bin');
    await writeFile(path, seeded(4 * MiB, 4));
    let n = 0;
    await assert.rejects(
      chunkFileParallel(
        path,
        () => {
          if (++n === 10) throw new Error('store failed');
        },
        { readSize: 65_536 },
      ),
      /store failed/,
    );
    assert.equal(n, 10);
    // A directory: the worker reports the read error, which becomes a StrataError.
    await assert.rejects(chunkFileParallel(dir), (e) => isStrataError(e));
  });
});

test('storeLargeFile: parallel path stores the same objects and manifest as the sequential path', async () => {
  await initHash();
  await withTmp(async (dir) => {
    const path = join(dir, 'big.bin');
    // Above the parallel threshold, with a zero run (duplicate max-size chunks) in the middle.
    const data = Buffer.concat([seeded(PARALLEL_THRESHOLD / 2, 11), Buffer.alloc(4 * MiB), seeded(PARALLEL_THRESHOLD / 2 + 12345, 12)]);
    await writeFile(path, data);
    const results = [];
    const listings = [];
    for (const sequential of [true, false]) {
      const root = join(dir, sequential ? 'seq' : 'par');
      const store = new LocalStore(root, { fsync: false });
      await store.init();
      const prev = process.env.STRATA_PARALLEL_CHUNKING;
      if (sequential) process.env.STRATA_PARALLEL_CHUNKING = '0';
      try {
        const batch = store.batch();
        results.push(await storeLargeFile(path, batch));
        await batch.finish();
      } finally {
        if (prev === undefined) delete process.env.STRATA_PARALLEL_CHUNKING;
        else process.env.STRATA_PARALLEL_CHUNKING = prev;
      }
      const fresh = new LocalStore(root);
      const objects = [];
      for await (const o of fresh.list()) objects.push(`${o.id}:${o.size}`);
      listings.push(objects.sort());
      // Every chunk reads back byte-exact and the manifest reassembles the file.
      const m = parseManifest(await fresh.getBytes(results.at(-1)!.manifest, { verify: true }));
      const parts = [];
      for (const [id] of m.chunks) parts.push(await fresh.getBytes(id, { verify: true }));
      assert.ok(Buffer.concat(parts).equals(data));
      await fresh.close();
      await store.close();
    }
    assert.deepEqual(results[1], results[0]);
    assert.equal(results[0]!.id, hashBytes(data));
    assert.deepEqual(listings[1], listings[0]);
  });
});
