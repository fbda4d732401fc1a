/**
 * LocalStore: the shared ObjectStore contract, plus what only a local folder has: packs that
 * survive a reopen, and crash leftovers (packs without an idx, temp files) that are invisible to
 * readers and removed by cleanTmp.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { obj, readAll, runStoreContract } from './helpers/store-contract.js';
import { LocalStore } from '../core/store/local/index.js';
import { decodePackIndex } from '../core/format/pack-index.js';
import { initHash } from '../core/hash/index.js';

await initHash();

async function freshStore(): Promise<{ dir: string; store: LocalStore; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-local-'));
  const store = new LocalStore(dir);
  await store.init();
  return { dir, store, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

runStoreContract('local', async () => {
  const { store, cleanup } = await freshStore();
  return {
    store,
    cleanup,
    // A plain put is a loose, read-only file: make it writable and overwrite it in place.
    corrupt: async (id, bytes) => {
      const p = store.objectPath(id);
      await chmod(p, 0o644);
      await writeFile(p, bytes);
    },
  };
});

async function ids(store: LocalStore): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of store.list()) out.add(o.id);
  return out;
}

describe('LocalStore on disk', () => {
  it('packed objects survive closing and reopening the store (another process view)', async () => {
    const { dir, store, cleanup } = await freshStore();
    try {
      const objs = Array.from({ length: 120 }, (_, i) => obj(10 + i * 7));
      const big = obj((1 << 20) + 5); // >= PACK_OBJECT_MAX: stored loose even in a batch
      const w = store.batch();
      for (const o of [...objs, big]) await w.add(o.id, o.data);
      await w.finish();
      await store.close();
      const packs = (await readdir(join(dir, 'pack'))).sort();
      assert.ok(packs.some((n) => n.endsWith('.pack')) && packs.some((n) => n.endsWith('.idx')), packs.join(','));
      const again = new LocalStore(dir);
      for (const o of [...objs, big]) {
        assert.equal(await again.has(o.id), true);
        assert.deepEqual(await again.getBytes(o.id, { verify: true }), o.data);
      }
      assert.deepEqual(await readAll(await again.get(objs[5]!.id, { verify: true })), objs[5]!.data);
      assert.equal((await ids(again)).size, objs.length + 1);
      await again.close();
    } finally {
      await cleanup();
    }
  });

  it('a large pack is searched in place: every object found after a reopen, absent ids not, gc of a few rewrites it', async () => {
    const { dir, store, cleanup } = await freshStore();
    try {
      // Over the size at which an index stays as bytes and is binary-searched (PackTable).
      const objs = Array.from({ length: 6000 }, (_, i) => obj(8 + (i % 50)));
      const w = store.batch();
      for (const o of objs) await w.add(o.id, o.data);
      await w.finish();
      await store.close();
      const again = new LocalStore(dir);
      const have = await again.hasMany(objs.map((o) => o.id));
      assert.equal(have.size, objs.length);
      for (const o of [objs[0]!, objs[2999]!, objs[5999]!]) assert.deepEqual(await again.getBytes(o.id, { verify: true }), o.data);
      await again.loadPacks();
      for (const o of objs.slice(0, 200)) assert.deepEqual(again.readPackedSync(o.id), o.data);
      const absent = obj(12).id;
      assert.equal(await again.has(absent), false);
      assert.equal(again.readPackedSync(absent), null);
      assert.equal((await ids(again)).size, objs.length, 'list yields each object once');
      const dead = objs.slice(100, 110).map((o) => o.id);
      await again.deleteMany(dead);
      for (const id of dead) assert.equal(await again.has(id), false);
      assert.equal(await again.has(objs[111]!.id), true);
      await again.close();
      const third = new LocalStore(dir);
      assert.equal((await ids(third)).size, objs.length - dead.length);
      assert.deepEqual(await third.getBytes(objs[4000]!.id, { verify: true }), objs[4000]!.data);
      assert.deepEqual(await third.checkPacks(), []);
      await third.close();
      // An index whose entries are out of order (damage): fsck's check names it.
      const idx = (await readdir(join(dir, 'pack'))).filter((n) => n.endsWith('.idx'));
      const big = (await Promise.all(idx.map(async (n) => ({ n, b: await readFile(join(dir, 'pack', n)) })))).sort((a, b) => b.b.length - a.b.length)[0]!;
      const swapped = Buffer.from(big.b);
      big.b.copy(swapped, 20, 68, 116);
      big.b.copy(swapped, 68, 20, 68);
      await chmod(join(dir, 'pack', big.n), 0o644);
      await writeFile(join(dir, 'pack', big.n), swapped);
      const fourth = new LocalStore(dir);
      const problems = await fourth.checkPacks();
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.problem, 'idx-corrupt');
      assert.match(problems[0]!.detail, /out of order/);
      await fourth.close();
    } finally {
      await cleanup();
    }
  });

  it('a pack without its idx (crash before the idx was written) is invisible and removed by cleanTmp', async () => {
    const { dir, store, cleanup } = await freshStore();
    try {
      const kept = obj(100);
      const w = store.batch();
      await w.add(kept.id, kept.data);
      await w.finish();
      // A second pack whose idx never made it to disk.
      const lost = Array.from({ length: 5 }, (_, i) => obj(50 + i));
      const w2 = store.batch();
      for (const o of lost) await w2.add(o.id, o.data);
      await w2.finish();
      await store.close();
      const idxs = (await readdir(join(dir, 'pack'))).filter((n) => n.endsWith('.idx'));
      assert.equal(idxs.length, 2);
      // Drop the idx of the pack holding `lost`, as if the process died between pack and idx.
      let orphan = '';
      for (const n of idxs) {
        const { entries } = decodePackIndex(await readFile(join(dir, 'pack', n)));
        if (entries.some((e) => e.id === lost[0]!.id)) {
          await rm(join(dir, 'pack', n));
          orphan = n.replace(/\.idx$/, '.pack');
        }
      }
      assert.ok(orphan && (await readdir(join(dir, 'pack'))).includes(orphan));
      // Also a temp file from an interrupted loose write.
      await writeFile(join(dir, 'tmp', 'obj-99999-deadbeef'), 'partial');

      const s = new LocalStore(dir);
      for (const o of lost) {
        assert.equal(await s.has(o.id), false);
        assert.equal(await s.stat(o.id), null);
      }
      assert.deepEqual(await ids(s), new Set([kept.id]));
      // Too young to be garbage for a cleaner that only takes old leftovers.
      assert.equal(await s.cleanTmp(60_000), 0);
      assert.equal(await s.cleanTmp(0), 2);
      assert.ok(!(await readdir(join(dir, 'pack'))).includes(orphan));
      assert.deepEqual(await readdir(join(dir, 'tmp')), []);
      assert.deepEqual(await s.getBytes(kept.id, { verify: true }), kept.data);
      // The lost objects can be written again.
      const w3 = s.batch();
      for (const o of lost) await w3.add(o.id, o.data);
      await w3.finish();
      for (const o of lost) assert.deepEqual(await s.getBytes(o.id, { verify: true }), o.data);
      await s.close();
    } finally {
      await cleanup();
    }
  });

  it('concurrent lookups while the pack indexes load see every packed object (no re-stored duplicates)', async () => {
    const { dir, store, cleanup } = await freshStore();
    try {
      const objs = Array.from({ length: 2000 }, (_, i) => obj(64 + (i % 500)));
      const w = store.batch();
      for (const o of objs) await w.add(o.id, o.data);
      await w.finish();
      await store.close();
      // A fresh process view: many parallel knows()/has() calls race the lazy idx load.
      const again = new LocalStore(dir);
      const known = await Promise.all(objs.slice(0, 64).map((o) => again.knows(o.id, false)));
      assert.deepEqual(known.filter((k) => !k).length, 0, 'objects reported missing while the idx was loading');
      // And a batch re-adding them in parallel with lookups stores nothing new.
      const again2 = new LocalStore(dir);
      const w2 = again2.batch();
      await Promise.all(objs.slice(0, 64).map(async (o) => {
        await again2.knows(o.id, false);
        await w2.add(o.id, o.data);
      }));
      assert.equal((await w2.finish()).objects, 0);
      assert.equal((await readdir(join(dir, 'pack'))).filter((n) => n.endsWith('.idx')).length, 1);
      await again.close();
      await again2.close();
    } finally {
      await cleanup();
    }
  });

  it('an aborted batch leaves no visible objects and no temp files', async () => {
    const { dir, store, cleanup } = await freshStore();
    try {
      const small = obj(300);
      const big = obj((1 << 20) + 1);
      const w = store.batch();
      await w.add(small.id, small.data);
      await w.add(big.id, big.data);
      await w.abort();
      assert.equal(await store.has(small.id), false);
      assert.equal(await store.has(big.id), false);
      assert.deepEqual(await readdir(join(dir, 'tmp')), []);
      assert.deepEqual(await readdir(join(dir, 'pack')), []);
      await store.close();
    } finally {
      await cleanup();
    }
  });
});
