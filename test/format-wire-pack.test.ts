/**
 * The wire pack codec (core/format/wire-pack.ts), used by the HTTP object store, the server and
 * the tests: round trip under any chunking, compatibility both ways with the encoders and the
 * client decoder as they were before issue 11 (loaded from git), OBJECT_CORRUPT on truncated or
 * garbled streams (never a crash, never an allocation sized by a lying header), linear decoding,
 * and golden bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWirePack, encodeWirePack, encodeWirePackStream, WirePackDecoder, WIRE_FRAME_HEADER, type WireObject } from '../core/format/wire-pack.js';
import { StrataError } from '../core/errors/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { BEFORE_ISSUE_11, loadOldModule } from './helpers/old-code.js';

await initHash();

function objects(n: number): WireObject[] {
  return Array.from({ length: n }, (_, i) => {
    const data = Buffer.from('x'.repeat(i * 13) + String(i));
    return { id: hashBytes(data), data };
  });
}

async function* chunked(buf: Buffer, sizes: (i: number) => number): AsyncGenerator<Buffer> {
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    const n = Math.max(1, sizes(i));
    yield buf.subarray(off, off + n);
    off += n;
  }
}

async function collect(src: AsyncIterable<Buffer>): Promise<WireObject[]> {
  const out: WireObject[] = [];
  for await (const o of decodeWirePack(src)) out.push(o);
  return out;
}

async function assertCorrupt(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StrataError, `${what}: a StrataError, not ${String(e)}`);
    assert.equal(e.code, 'OBJECT_CORRUPT', `${what}: ${e.message}`);
    return true;
  });
}

describe('wire pack codec', () => {
  it('round trip in one piece, byte by byte and in random pieces; the stream encoder writes the same bytes', async () => {
    const objs = [...objects(40), { id: hashBytes(Buffer.alloc(0)), data: Buffer.alloc(0) }];
    const body = encodeWirePack(objs);
    const streamed: Buffer[] = [];
    for await (const b of encodeWirePackStream(objs)) streamed.push(b);
    assert.ok(Buffer.concat(streamed).equals(body));
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 97;
    for (const sizes of [() => body.length, () => 1, rnd, () => WIRE_FRAME_HEADER - 1]) {
      const got = await collect(chunked(body, sizes));
      assert.deepEqual(got.map((o) => o.id), objs.map((o) => o.id));
      got.forEach((o, i) => assert.ok(o.data.equals(objs[i]!.data)));
    }
    assert.deepEqual(await collect(chunked(encodeWirePack([]), () => 4)), []);
  });

  it('same bytes as the encoders before issue 11 (client batch frames, test helper), and the old client decoder reads ours', async () => {
    const oldHelper = await loadOldModule<{ makePack(o: Buffer[]): { body: Buffer; ids: string[] } }>(BEFORE_ISSUE_11, 'test/helpers/server.ts');
    const oldClient = await loadOldModule<{
      PACK_MAGIC: Buffer;
      packFrame(id: string, data: Buffer): Buffer;
      readPack(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ id: string; data: Buffer }>;
    }>(BEFORE_ISSUE_11, 'core/remote/http.ts');
    const objs = objects(12);
    const ours = encodeWirePack(objs);
    assert.ok(oldHelper.makePack(objs.map((o) => o.data)).body.equals(ours));
    const frames = objs.flatMap((o) => [oldClient.packFrame(o.id, o.data), o.data]);
    const oldBatch = Buffer.concat([oldClient.PACK_MAGIC, ...frames]);
    assert.ok(oldBatch.equals(ours));
    const fromOld = await collect(chunked(oldBatch, () => 100));
    assert.deepEqual(fromOld.map((o) => o.id), objs.map((o) => o.id));
    const oldRead: string[] = [];
    for await (const o of oldClient.readPack(chunked(ours, () => 50))) oldRead.push(o.id);
    assert.deepEqual(oldRead, objs.map((o) => o.id));
  });

  it('truncated or garbled streams give OBJECT_CORRUPT, never a crash; a lying frame size allocates nothing', async () => {
    const objs = objects(3);
    const body = encodeWirePack(objs);
    // Valid ends: right after the magic or after a whole frame.
    const boundaries = new Set<number>([4]);
    let off = 4;
    for (const o of objs) boundaries.add((off += WIRE_FRAME_HEADER + o.data.length));
    for (let n = 0; n < body.length; n++) {
      if (boundaries.has(n)) {
        const got = await collect(chunked(body.subarray(0, n), () => 9));
        assert.ok(got.length < objs.length);
      } else await assertCorrupt(collect(chunked(body.subarray(0, n), () => 9)), `cut at ${n}`);
    }
    await assertCorrupt(collect(chunked(Buffer.from('PK\x03\x04 not a pack'), () => 3)), 'another magic');
    // A frame header declaring 4 GiB, then a few bytes: refused at the end, nothing sized by the header.
    const liar = Buffer.concat([Buffer.from('SPK1'), Buffer.from('ab'.repeat(32), 'hex'), Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from('tiny')]);
    const before = process.memoryUsage().arrayBuffers;
    await assertCorrupt(collect(chunked(liar, () => 16)), 'lying size');
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no buffer sized from the header');
    // The header check runs before any of the body is kept; callers map errors (the server: 400).
    const seen: Array<[number, number]> = [];
    const dec = new WirePackDecoder({
      checkFrame: (size, consumed) => {
        seen.push([size, consumed]);
        if (size > 1000) throw new StrataError('INVALID_ARGUMENT', 'over the limit');
      },
    });
    assert.throws(() => dec.push(liar), /over the limit/);
    assert.deepEqual(seen, [[0xffffffff, 4 + WIRE_FRAME_HEADER]]);
    const mapped = new WirePackDecoder({ error: (problem, msg) => new StrataError('INVALID_ARGUMENT', `${problem}: ${msg}`) });
    mapped.push(body.subarray(0, 10));
    assert.throws(() => mapped.end(), (e: unknown) => e instanceof StrataError && e.code === 'INVALID_ARGUMENT' && e.message.startsWith('truncated'));
  });

  it('decoding is linear in the stream size: a 48 MiB object in 16 KiB pieces', async () => {
    const data = Buffer.alloc(48 << 20, 7);
    const body = encodeWirePack([{ id: 'cd'.repeat(32), data }]);
    const t0 = Date.now();
    const got = await collect(chunked(body, () => 16 << 10));
    const ms = Date.now() - t0;
    assert.equal(got.length, 1);
    assert.ok(got[0]!.data.equals(data));
    // Re-concatenating the partial body per piece would copy ~75 GB here; linear copies 48 MiB.
    assert.ok(ms < 5000, `took ${ms} ms`);
  });

  it('golden bytes: version 1 ("SPK1") is pinned', () => {
    const body = encodeWirePack([
      { id: 'ab'.repeat(32), data: Buffer.from('hi') },
      { id: '01'.repeat(32), data: Buffer.alloc(0) },
    ]);
    assert.equal(body.toString('hex'), '53504b31' + 'ab'.repeat(32) + '00000002' + '6869' + '01'.repeat(32) + '00000000');
  });
});
