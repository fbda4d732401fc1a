/**
 * The ObjectStore contract: one suite, run against every adapter (memory, local, s3).
 *
 *   runStoreContract('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
 *
 * Each test gets a fresh, empty store from `make` and calls `cleanup` afterwards. `corrupt` is an
 * optional adapter-specific hook that overwrites a stored (non-batched) object's bytes in place, keeping
 * its id, so the `verify` tests can run; without it those tests are skipped.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { hashBytes } from '../../core/hash/index.js';
import { isStrataError } from '../../core/errors/index.js';
import { PACK_OBJECT_MAX, type ObjectStore } from '../../core/store/types.js';

export interface StoreFixture {
  store: ObjectStore;
  cleanup(): Promise<void>;
  /** Overwrite the bytes stored for `id` (a plain put, not batched) with `bytes`, keeping the id. */
  corrupt?(id: string, bytes: Buffer): Promise<void>;
}

export interface ContractOptions {
  /** Number of small objects in the big batch test (default 300). */
  batchObjects?: number;
}

export function obj(size: number, seed?: string): { id: string; data: Buffer } {
  const data = seed !== undefined ? Buffer.alloc(size, seed) : randomBytes(size);
  if (seed !== undefined && size >= 8) data.write(seed.slice(0, 8), 0);
  return { id: hashBytes(data), data };
}

export async function readAll(s: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
  return Buffer.concat(parts);
}

async function listIds(store: ObjectStore, prefix?: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const o of store.list(prefix)) {
    assert.ok(!out.has(o.id), `list yielded ${o.id} twice`);
    out.set(o.id, o.size);
  }
  return out;
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isStrataError(e), `expected StrataError ${code}, got ${String(e)}`);
    assert.equal((e as { code: string }).code, code);
    return true;
  });
}

export function runStoreContract(name: string, make: () => Promise<StoreFixture>, options: ContractOptions = {}): void {
  const N = options.batchObjects ?? 300;

  async function withStore(fn: (f: StoreFixture) => Promise<void>): Promise<void> {
    const f = await make();
    try {
      await fn(f);
    } finally {
      await f.store.close();
      await f.cleanup();
    }
  }

  describe(`ObjectStore contract: ${name}`, () => {
    it('round-trips Buffer, Uint8Array, Readable and AsyncIterable inputs', () =>
      withStore(async ({ store }) => {
        const a = obj(1000);
        const b = obj(2000);
        const c = obj(3000);
        const d = obj(4000);
        await store.put(a.id, a.data);
        await store.put(b.id, new Uint8Array(b.data));
        await store.put(c.id, Readable.from([c.data.subarray(0, 100), c.data.subarray(100)]), { size: c.data.length });
        await store.put(
          d.id,
          (async function* () {
            yield new Uint8Array(d.data.subarray(0, 1));
            yield new Uint8Array(d.data.subarray(1));
          })(),
        );
        for (const o of [a, b, c, d]) {
          assert.deepEqual(await store.getBytes(o.id), o.data);
          assert.deepEqual(await readAll(await store.get(o.id)), o.data);
          assert.deepEqual(await store.getBytes(o.id, { verify: true }), o.data);
          assert.deepEqual(await readAll(await store.get(o.id, { verify: true })), o.data);
        }
      }));

    it('stores the empty object', () =>
      withStore(async ({ store }) => {
        const e = obj(0);
        await store.put(e.id, Buffer.alloc(0));
        assert.equal(await store.has(e.id), true);
        assert.deepEqual(await store.stat(e.id), { id: e.id, size: 0 });
        assert.equal((await store.getBytes(e.id, { verify: true })).length, 0);
        assert.equal((await readAll(await store.get(e.id, { verify: true }))).length, 0);
      }));

    it('stores a 5 MiB object from a stream of unknown size', () =>
      withStore(async ({ store }) => {
        const big = obj(5 * 1024 * 1024 + 17);
        const chunks: Buffer[] = [];
        for (let i = 0; i < big.data.length; i += 64 * 1024) chunks.push(big.data.subarray(i, i + 64 * 1024));
        await store.put(big.id, Readable.from(chunks));
        assert.deepEqual(await store.stat(big.id), { id: big.id, size: big.data.length });
        const back = await readAll(await store.get(big.id, { verify: true }));
        assert.equal(back.length, big.data.length);
        assert.ok(back.equals(big.data));
      }));

    it('has / hasMany / stat', () =>
      withStore(async ({ store }) => {
        const a = obj(10);
        const b = obj(20);
        const missing = obj(30);
        await store.put(a.id, a.data);
        await store.put(b.id, b.data);
        assert.equal(await store.has(a.id), true);
        assert.equal(await store.has(missing.id), false);
        assert.deepEqual(await store.hasMany([a.id, b.id, missing.id]), new Set([a.id, b.id]));
        assert.deepEqual(await store.hasMany([]), new Set());
        assert.deepEqual(await store.stat(b.id), { id: b.id, size: 20 });
        assert.equal(await store.stat(missing.id), null);
      }));

    it('get / getBytes of a missing object throw OBJECT_MISSING', () =>
      withStore(async ({ store }) => {
        const m = obj(5);
        await rejectsCode(store.getBytes(m.id), 'OBJECT_MISSING');
        await rejectsCode(
          (async () => {
            await readAll(await store.get(m.id));
          })(),
          'OBJECT_MISSING',
        );
        await rejectsCode(store.getBytes(m.id, { range: { start: 0, end: 1 } }), 'OBJECT_MISSING');
      }));

    it('put is idempotent and never changes an existing object', () =>
      withStore(async ({ store }) => {
        const a = obj(100);
        await store.put(a.id, a.data);
        await store.put(a.id, a.data);
        await store.put(a.id, Buffer.from('something else entirely'));
        assert.deepEqual(await store.getBytes(a.id), a.data);
        assert.deepEqual(await listIds(store), new Map([[a.id, 100]]));
      }));

    it('verify detects corruption', async (t) => {
      await withStore(async ({ store, corrupt }) => {
        if (!corrupt) {
          t.skip('adapter provides no corrupt hook');
          return;
        }
        const a = obj(4096);
        await store.put(a.id, a.data);
        const bad = Buffer.from(a.data);
        bad[100] = bad[100]! ^ 0xff;
        await corrupt(a.id, bad);
        await rejectsCode(store.getBytes(a.id, { verify: true }), 'OBJECT_CORRUPT');
        await rejectsCode(
          (async () => {
            await readAll(await store.get(a.id, { verify: true }));
          })(),
          'OBJECT_CORRUPT',
        );
        // Without verify the bytes come back as stored.
        assert.deepEqual(await store.getBytes(a.id), bad);
      });
    });

    it('range reads of plain and batched objects', () =>
      withStore(async ({ store }) => {
        const a = obj(10_000);
        await store.put(a.id, a.data);
        const small = [obj(300), obj(500), obj(700)];
        const w = store.batch();
        for (const o of small) await w.add(o.id, o.data);
        await w.finish();
        for (const o of [a, ...small]) {
          const L = o.data.length;
          for (const [s, e] of [
            [0, 1],
            [0, L],
            [1, L - 1],
            [L - 10, L],
            [7, 7],
          ] as const) {
            assert.deepEqual(await store.getBytes(o.id, { range: { start: s, end: e } }), o.data.subarray(s, e), `range [${s},${e}) of ${L}`);
            assert.deepEqual(await readAll(await store.get(o.id, { range: { start: s, end: e } })), o.data.subarray(s, e));
          }
          // A range reaching past the end is clamped to the object.
          assert.deepEqual(await store.getBytes(o.id, { range: { start: L - 5, end: L + 100 } }), o.data.subarray(L - 5));
        }
      }));

    it('list: all objects and by prefix, including batched ones', () =>
      withStore(async ({ store }) => {
        const plain = [obj(11), obj(12), obj(13)];
        for (const o of plain) await store.put(o.id, o.data);
        const batched = Array.from({ length: 40 }, (_, i) => obj(50 + i));
        const w = store.batch();
        for (const o of batched) await w.add(o.id, o.data);
        await w.finish();
        const all = await listIds(store);
        assert.equal(all.size, plain.length + batched.length);
        for (const o of [...plain, ...batched]) assert.equal(all.get(o.id), o.data.length);
        for (const o of [plain[0]!, batched[0]!, batched[1]!]) {
          for (const p of [o.id.slice(0, 1), o.id.slice(0, 2), o.id.slice(0, 3), o.id]) {
            const got = await listIds(store, p);
            assert.ok(got.has(o.id), `prefix ${p} lists ${o.id}`);
            const want = [...all.keys()].filter((id) => id.startsWith(p));
            assert.deepEqual([...got.keys()].sort(), want.sort());
          }
        }
        assert.equal((await listIds(store, 'zz')).size, 0);
      }));

    it('delete / deleteMany, including packed objects (others in the pack survive)', () =>
      withStore(async ({ store }) => {
        const plain = [obj(21), obj(22), obj(23)];
        for (const o of plain) await store.put(o.id, o.data);
        const batched = Array.from({ length: 20 }, (_, i) => obj(100 + i));
        const w = store.batch();
        for (const o of batched) await w.add(o.id, o.data);
        await w.finish();

        await store.delete(plain[0]!.id);
        await store.delete(plain[0]!.id); // deleting a missing object is not an error
        await store.delete(batched[0]!.id);
        assert.equal(await store.has(plain[0]!.id), false);
        assert.equal(await store.has(batched[0]!.id), false);
        await rejectsCode(store.getBytes(batched[0]!.id), 'OBJECT_MISSING');

        const gone = [plain[1]!, batched[1]!, batched[5]!, batched[19]!];
        await store.deleteMany([...gone.map((o) => o.id), obj(7).id]);
        const left = [plain[2]!, ...batched.filter((o) => ![batched[0], batched[1], batched[5], batched[19]].includes(o))];
        const all = await listIds(store);
        assert.deepEqual([...all.keys()].sort(), left.map((o) => o.id).sort());
        for (const o of gone) assert.equal(await store.stat(o.id), null);
        for (const o of left) assert.deepEqual(await store.getBytes(o.id, { verify: true }), o.data);
        assert.deepEqual(await store.hasMany([...gone, ...left].map((o) => o.id)), new Set(left.map((o) => o.id)));

        // Deleting every object of a pack leaves nothing behind.
        await store.deleteMany(left.map((o) => o.id));
        assert.equal((await listIds(store)).size, 0);
        await store.deleteMany([]);
      }));

    it(`batch: ${N} small objects plus a few larger than PACK_OBJECT_MAX`, () =>
      withStore(async ({ store }) => {
        const small = Array.from({ length: N }, (_, i) => obj(1 + ((i * 37) % 4000)));
        const large = [obj(PACK_OBJECT_MAX), obj(PACK_OBJECT_MAX + 1), obj(2 * PACK_OBJECT_MAX + 123)];
        const all = [...small.slice(0, N / 2), ...large, ...small.slice(N / 2)];
        const w = store.batch();
        for (const o of all) await w.add(o.id, o.data);
        await w.add(small[0]!.id, small[0]!.data); // adding twice is harmless
        const res = await w.finish();
        assert.equal(res.objects, all.length);
        assert.equal(res.bytes, all.reduce((n, o) => n + o.data.length, 0));
        assert.equal((await store.hasMany(all.map((o) => o.id))).size, all.length);
        for (const o of [...large, small[0]!, small[N - 1]!]) assert.deepEqual(await store.getBytes(o.id, { verify: true }), o.data);
        for (const o of small) assert.deepEqual(await store.stat(o.id), { id: o.id, size: o.data.length });
        const listed = await listIds(store);
        assert.equal(listed.size, all.length);
      }));

    it('batch: an empty batch finishes', () =>
      withStore(async ({ store }) => {
        const res = await store.batch().finish();
        assert.deepEqual(res, { objects: 0, bytes: 0 });
      }));

    it('batch: abort() makes nothing visible', () =>
      withStore(async ({ store }) => {
        const objs = [...Array.from({ length: 50 }, (_, i) => obj(10 + i)), obj(PACK_OBJECT_MAX + 5)];
        const w = store.batch();
        for (const o of objs) await w.add(o.id, o.data);
        await w.abort();
        assert.equal((await store.hasMany(objs.map((o) => o.id))).size, 0);
        assert.equal((await listIds(store)).size, 0);
        for (const o of objs.slice(0, 3)) await rejectsCode(store.getBytes(o.id), 'OBJECT_MISSING');
      }));

    it('batch: concurrent batches (with overlapping ids) all land', () =>
      withStore(async ({ store }) => {
        const shared = Array.from({ length: 10 }, (_, i) => obj(200 + i));
        const sets = Array.from({ length: 4 }, () => [...Array.from({ length: 60 }, (_, i) => obj(1 + i * 13)), ...shared]);
        await Promise.all(
          sets.map(async (set) => {
            const w = store.batch();
            for (const o of set) await w.add(o.id, o.data);
            await w.finish();
          }),
        );
        const every = new Map<string, Buffer>();
        for (const set of sets) for (const o of set) every.set(o.id, o.data);
        assert.equal((await store.hasMany(every.keys())).size, every.size);
        const listed = await listIds(store);
        assert.equal(listed.size, every.size);
        for (const [id, data] of [...every].slice(0, 20)) assert.deepEqual(await store.getBytes(id, { verify: true }), data);
      }));

    it('rejects malformed ids on put', () =>
      withStore(async ({ store }) => {
        await rejectsCode(store.put('not-an-id', Buffer.from('x')), 'INVALID_ARGUMENT');
        await rejectsCode(store.put('../'.repeat(21) + 'a', Buffer.from('x')), 'INVALID_ARGUMENT');
      }));
  });
}
