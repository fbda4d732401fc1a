/**
 * The pack index codec (core/format/pack-index.ts): one format written by the local and the S3
 * store, and every version ever written still decodes — fixtures are produced by the encoders as
 * they were before issue 11 (loaded from git), not by copies of them. Damaged input is refused
 * with OBJECT_CORRUPT, never a crash; a golden test pins the bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePackIndex, encodePackIndex, packEnd, PackIndexView, type PackIndexEntry } from '../core/format/pack-index.js';
import { PackTable } from '../core/store/local/pack-table.js';
import { StrataError } from '../core/errors/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { LocalStore } from '../core/store/local/index.js';
import { BEFORE_ISSUE_11, loadOldModule } from './helpers/old-code.js';

await initHash();

interface OldLocal {
  encodeIdx(entries: PackIndexEntry[]): Buffer;
  LocalStore: new (root: string, opts?: { fsync?: boolean }) => LocalStore;
}
interface OldS3Packs {
  encodeIdx(entries: PackIndexEntry[], packSize: number): { bytes: Buffer; packId: string };
}

function sampleEntries(n: number): { entries: PackIndexEntry[]; pack: Buffer } {
  const parts: Buffer[] = [];
  const entries: PackIndexEntry[] = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const data = Buffer.from(`object number ${i} `.repeat(i % 7));
    entries.push({ id: hashBytes(data), offset: off, size: data.length });
    parts.push(data);
    off += data.length;
  }
  return { entries, pack: Buffer.concat(parts) };
}

const byId = (a: PackIndexEntry, b: PackIndexEntry) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function assertCorrupt(f: () => unknown, what: string): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof StrataError, `${what}: a StrataError, not ${String(e)}`);
    assert.ok(e.code === 'OBJECT_CORRUPT' || e.code === 'SCHEMA_TOO_NEW', `${what}: ${e.code} ${e.message}`);
    return;
  }
  assert.fail(`${what}: decoded without an error`);
}

describe('pack index codec', () => {
  it('round trip: entries come back sorted by id, with the pack size and a pack id that is the hash of the bytes', () => {
    const { entries, pack } = sampleEntries(50);
    const { bytes, packId } = encodePackIndex(entries, pack.length);
    assert.equal(packId, hashBytes(bytes));
    const d = decodePackIndex(bytes, { packId });
    assert.equal(d.version, 1);
    assert.equal(d.packSize, pack.length);
    assert.deepEqual(d.entries, [...entries].sort(byId));
    assert.equal(packEnd(entries), pack.length);
    const empty = decodePackIndex(encodePackIndex([], 0).bytes);
    assert.deepEqual(empty, { version: 1, entries: [], packSize: 0 });
  });

  it('every version decodes: version 0 from the old local encoder, version 1 from the old S3 encoder (same bytes as today)', async () => {
    const oldLocal = await loadOldModule<OldLocal>(BEFORE_ISSUE_11, 'core/store/local/index.ts');
    const oldS3 = await loadOldModule<OldS3Packs>(BEFORE_ISSUE_11, 'core/store/s3/packs.ts');
    const { entries, pack } = sampleEntries(20);
    const v0 = oldLocal.encodeIdx(entries);
    const d0 = decodePackIndex(v0);
    assert.equal(d0.version, 0);
    assert.deepEqual(d0.entries, [...entries].sort(byId));
    assert.equal(d0.packSize, pack.length, 'version 0 has no size field: the end of the last entry');
    const v1 = oldS3.encodeIdx(entries, pack.length);
    const d1 = decodePackIndex(v1.bytes, { packId: v1.packId });
    assert.equal(d1.version, 1);
    assert.deepEqual(d1.entries, [...entries].sort(byId));
    assert.equal(d1.packSize, pack.length);
    // Buckets written before keep their names: today's encoder writes the same bytes.
    assert.ok(encodePackIndex(entries, pack.length).bytes.equals(v1.bytes));
  });

  it('a local store written by the old code (version 0 indexes) is read by today\'s store, and packs it rewrites are version 1', async () => {
    const oldLocal = await loadOldModule<OldLocal>(BEFORE_ISSUE_11, 'core/store/local/index.ts');
    const dir = await mkdtemp(join(tmpdir(), 'strata-oldidx-'));
    try {
      const old = new oldLocal.LocalStore(dir, { fsync: false });
      await old.init();
      const objs = Array.from({ length: 30 }, (_, i) => Buffer.from(`small ${i}`));
      const w = old.batch();
      for (const o of objs) await w.add(hashBytes(o), o);
      await w.finish();
      await old.close();
      const idxNames = (await readdir(join(dir, 'pack'))).filter((n) => n.endsWith('.idx'));
      assert.ok(idxNames.length >= 1);
      for (const n of idxNames) assert.equal(decodePackIndex(await readFile(join(dir, 'pack', n))).version, 0);

      const store = new LocalStore(dir, { fsync: false });
      for (const o of objs) assert.ok((await store.getBytes(hashBytes(o), { verify: true })).equals(o));
      assert.deepEqual(await store.checkPacks(), []);
      // Deleting from an old pack rewrites it in today's format; the survivors stay readable.
      await store.deleteMany([hashBytes(objs[0]!)]);
      const after = (await readdir(join(dir, 'pack'))).filter((n) => n.endsWith('.idx'));
      for (const n of after) assert.equal(decodePackIndex(await readFile(join(dir, 'pack', n))).version, 1);
      assert.equal(await store.has(hashBytes(objs[0]!)), false);
      for (const o of objs.slice(1)) assert.ok((await store.getBytes(hashBytes(o), { verify: true })).equals(o));
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('truncated, garbled or lying input gives OBJECT_CORRUPT (never a crash), in both versions', async () => {
    const oldLocal = await loadOldModule<OldLocal>(BEFORE_ISSUE_11, 'core/store/local/index.ts');
    const { entries, pack } = sampleEntries(4);
    const v1 = encodePackIndex(entries, pack.length);
    const v0 = oldLocal.encodeIdx(entries);
    for (const [name, bytes] of [['v1', v1.bytes], ['v0', v0]] as const) {
      for (let n = 0; n < bytes.length; n++) assertCorrupt(() => decodePackIndex(bytes.subarray(0, n)), `${name} cut at ${n}`);
      assertCorrupt(() => decodePackIndex(Buffer.concat([bytes, Buffer.alloc(1)])), `${name} with a trailing byte`);
      // Flip every byte in turn: either it still decodes (a flipped id) or it is refused as corrupt.
      for (let i = 0; i < bytes.length; i++) {
        const b = Buffer.from(bytes);
        b[i] = b[i]! ^ 0xff;
        try {
          decodePackIndex(b);
        } catch (e) {
          assert.ok(e instanceof StrataError && (e.code === 'OBJECT_CORRUPT' || e.code === 'SCHEMA_TOO_NEW'), `${name} byte ${i} flipped: ${String(e)}`);
        }
      }
    }
    assertCorrupt(() => decodePackIndex(Buffer.from('not an index at all')), 'garbage');
    assertCorrupt(() => decodePackIndex(v1.bytes, { packId: 'ab'.repeat(32) }), 'bytes that do not match their name');
    // An entry past the declared pack size, and an offset beyond 2^53.
    assertCorrupt(() => decodePackIndex(encodePackIndex(entries, pack.length - 1).bytes), 'entry outside the pack');
    const huge = Buffer.from(v1.bytes);
    huge.writeBigUInt64BE(2n ** 60n, 12);
    huge.writeBigUInt64BE(2n ** 60n, 20 + 32);
    assertCorrupt(() => decodePackIndex(huge), 'offset past 2^53');
    // A count that promises more entries than the bytes hold.
    const lying = Buffer.from(v1.bytes);
    lying.writeUInt32BE(0xffffffff, 8);
    assertCorrupt(() => decodePackIndex(lying), 'lying count');
    const future = Buffer.from(v1.bytes);
    future.writeUInt32BE(2, 4);
    assert.throws(() => decodePackIndex(future), (e: unknown) => e instanceof StrataError && e.code === 'SCHEMA_TOO_NEW');
  });

  it('golden bytes: version 1 is pinned', () => {
    const a = { id: '11'.repeat(32), offset: 3, size: 5 };
    const b = { id: '0a'.repeat(32), offset: 0, size: 3 };
    const { bytes } = encodePackIndex([a, b], 8);
    const want =
      '53494458' + '00000001' + '00000002' + '0000000000000008' + // "SIDX", version 1, 2 entries, pack of 8 bytes
      '0a'.repeat(32) + '0000000000000000' + '0000000000000003' + // sorted by id: 0a.. first
      '11'.repeat(32) + '0000000000000003' + '0000000000000005';
    assert.equal(bytes.toString('hex'), want);
    const legacy = Buffer.from('535452415441494458310a' + '00000001' + '0a'.repeat(32) + '0000000000000000' + '0000000000000003', 'hex');
    assert.deepEqual(decodePackIndex(legacy), { version: 0, entries: [b], packSize: 3 });
  });
});

describe('pack index read in place (PackIndexView, PackTable)', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => hashBytes(`object ${i}`));

  it('finds every id by binary search and no other, with the offsets and sizes decode gives', () => {
    const entries = ids(5000).map((id, i) => ({ id, offset: i * 10, size: 10 }));
    const { bytes } = encodePackIndex(entries, 50_000);
    const v = PackIndexView.open(bytes);
    assert.equal(v.sorted, true);
    assert.equal(v.count, 5000);
    const decoded = decodePackIndex(bytes).entries;
    for (const e of decoded) {
      const i = v.find(e.id);
      assert.ok(i >= 0, e.id);
      assert.deepEqual({ id: v.idAt(i), offset: v.offsetAt(i), size: v.sizeAt(i) }, e);
    }
    for (const id of ids(5100).slice(5000)) assert.equal(v.find(id), -1);
    assert.equal(v.find('00'.repeat(32)), -1);
    assert.equal(v.find('ff'.repeat(32)), -1);
  });

  it('an index whose ids are out of order is read through its entries, never searched', () => {
    const entries = ids(5000).map((id, i) => ({ id, offset: i * 10, size: 10 }));
    const { bytes } = encodePackIndex(entries, 50_000);
    // Swap the first two 48-byte entries.
    const a = Buffer.from(bytes.subarray(20, 68));
    bytes.copy(bytes, 20, 68, 116);
    a.copy(bytes, 68);
    const v = PackIndexView.open(bytes);
    assert.equal(v.sorted, false);
    assert.throws(() => v.find(entries[0]!.id));
    const t = new PackTable();
    t.addIndex('p', v);
    for (const e of entries) assert.deepEqual(t.get(e.id), { pack: 'p', offset: e.offset, size: e.size });
    assert.equal([...t.entries()].length, 5000);
    t.dropPack('p');
    assert.equal(t.get(entries[7]!.id), undefined);
  });

  it('a table looks at what this process wrote first, then each index; dropping a pack forgets it', () => {
    const all = ids(9000);
    const t = new PackTable();
    t.addIndex('big1', PackIndexView.open(encodePackIndex(all.slice(0, 5000).map((id, i) => ({ id, offset: i, size: 1 })), 5000).bytes));
    t.addIndex('big2', PackIndexView.open(encodePackIndex(all.slice(4000, 9000).map((id, i) => ({ id, offset: i, size: 1 })), 5000).bytes));
    assert.equal(t.get(all[4500]!)?.pack, 'big1', 'the first index loaded keeps an object both hold');
    t.addWritten('new', [{ id: all[4500]!, offset: 7, size: 1 }]);
    assert.deepEqual(t.get(all[4500]!), { pack: 'new', offset: 7, size: 1 });
    assert.equal([...t.entries()].length, 9000, 'each object once');
    t.dropPack('big1');
    assert.equal(t.get(all[10]!), undefined);
    assert.equal(t.get(all[4100]!)?.pack, 'big2');
    assert.equal(t.get(all[4500]!)?.pack, 'new');
  });
});
