/**
 * BLAKE3 hashing: both backends (native @napi-rs/blake-hash and the hash-wasm fallback) agree with
 * each other and with the official BLAKE3 test vectors (input byte i = i % 251), and hashFile streams.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHasher, hashBackend, hashBytes, hashFile, initHash, isId } from '../core/hash/index.js';
import { seededBytes } from './helpers/cli.js';

/** Official BLAKE3 vectors (test_vectors.json, 32-byte output); also what `b3sum` prints. */
const VECTORS: Array<[number, string]> = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
];

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

/** Inputs around the 1 KiB chunk and 64-byte block boundaries, plus a multi-MiB one. */
const SIZES = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 3073, 65_536, 1_000_003, 3 * 1024 * 1024 + 7];

const dir = await fsp.mkdtemp(join(tmpdir(), 'strata-hash-'));
after(() => fsp.rm(dir, { recursive: true, force: true }));

async function digestsWith(backend: 'native' | 'wasm'): Promise<{ oneShot: string[]; streamed: string[]; file: string[]; vectors: string[]; abc: string }> {
  assert.equal(await initHash(backend), backend);
  assert.equal(hashBackend(), backend);
  const oneShot: string[] = [];
  const streamed: string[] = [];
  const file: string[] = [];
  for (const [i, n] of SIZES.entries()) {
    const data = seededBytes(n, i + 7);
    oneShot.push(hashBytes(data));
    // Uneven update() pieces must give the same digest as one shot.
    const h = createHasher();
    for (let off = 0, step = 1; off < n; off += step, step = step * 3 + 1) h.update(data.subarray(off, Math.min(n, off + step)));
    streamed.push(h.digestHex());
    const p = join(dir, `f${i}-${backend}`);
    await fsp.writeFile(p, data);
    const r = await hashFile(p);
    assert.equal(r.size, n);
    file.push(r.id);
  }
  const vectors = VECTORS.map(([n]) => hashBytes(pattern(n)));
  return { oneShot, streamed, file, vectors, abc: hashBytes('abc') };
}

describe('BLAKE3', () => {
  it('native and WASM backends produce identical ids, matching the official vectors', async () => {
    const native = await digestsWith('native');
    const wasm = await digestsWith('wasm');
    await initHash('native');
    assert.deepEqual(wasm, native);
    for (const [k, [, want]] of VECTORS.entries()) assert.equal(native.vectors[k], want, `vector for ${VECTORS[k]![0]} bytes`);
    assert.equal(native.abc, '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
    assert.deepEqual(native.streamed, native.oneShot);
    assert.deepEqual(native.file, native.oneShot);
    for (const id of native.oneShot) assert.ok(isId(id));
  });

  it('the empty input hashes to the well-known BLAKE3 empty digest in both backends', async () => {
    for (const b of ['wasm', 'native'] as const) {
      await initHash(b);
      assert.equal(hashBytes(Buffer.alloc(0)), VECTORS[0]![1]);
      assert.equal(createHasher().digestHex(), VECTORS[0]![1]);
      const p = join(dir, `empty-${b}`);
      await fsp.writeFile(p, '');
      assert.deepEqual(await hashFile(p), { id: VECTORS[0]![1], size: 0 });
    }
  });

  it('hashFile streams: a file larger than its 1 MiB read buffer hashes like the whole buffer', async () => {
    await initHash('native');
    const data = seededBytes(5 * 1024 * 1024 + 3, 99);
    const p = join(dir, 'big');
    await fsp.writeFile(p, data);
    const r = await hashFile(p);
    assert.equal(r.size, data.length);
    assert.equal(r.id, hashBytes(data));
    await assert.rejects(hashFile(join(dir, 'does-not-exist')), { code: 'ENOENT' });
  });

  it('isId accepts only 64 lowercase hex characters', () => {
    assert.equal(isId(VECTORS[0]![1]), true);
    assert.equal(isId(VECTORS[0]![1].toUpperCase()), false);
    assert.equal(isId(VECTORS[0]![1].slice(1)), false);
    assert.equal(isId('g'.repeat(64)), false);
  });
});
