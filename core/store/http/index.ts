/**
 * ObjectStore over a Strata server's object protocol (`http(s)://host:port/REPO`, docs/api.md,
 * "Remote protocol"); its RefStore is in ./refs.ts. Passes the store contract suite
 * (test/helpers/store-contract.ts, run by test/server-store-contract.test.ts).
 *
 * - hasMany: POST objects/has, 10,000 ids per request.
 * - batch(): objects < PACK_OBJECT_MAX travel in wire packs (core/format/wire-pack.ts) of ~8 MiB
 *   (POST objects/pack, a few in flight); larger ones are streamed one PUT each. The server
 *   hash-verifies every object.
 * - getBytes: concurrent calls are coalesced into POST objects/fetch requests (up to 512 ids), so a
 *   clone of 100k small files costs hundreds of requests, not 100k; getMany() fetches explicit lists.
 *   Ranged reads and get() streams use GET objects/<id> with Range.
 */
import { Readable } from 'node:stream';
import { StrataError } from '../../errors/index.js';
import { decodeWirePack, wireFrameHeader, WIRE_FRAME_HEADER, WIRE_PACK_MAGIC } from '../../format/wire-pack.js';
import { hashBytes, isId } from '../../hash/index.js';
import { VerifyingStream } from '../local/index.js';
import type { RefStore } from '../refs.js';
import { PACK_OBJECT_MAX, type BatchWriter, type GetOptions, type ObjectData, type ObjectInfo, type ObjectStore, type PutOptions } from '../types.js';
import { HttpClient, httpRemoteBase, resolveToken, type HttpCounters, type HttpRemoteOptions } from './client.js';
import { HttpRefStore } from './refs.js';

export type { HttpCounters, HttpRemoteOptions } from './client.js';

/** Target size of one uploaded pack. */
const HTTP_PACK_TARGET = 8 << 20;
const HAS_BATCH = 10_000;
const FETCH_BATCH = 512;
const FETCH_BATCH_BYTES_HINT = 32 << 20;

function checkId(id: string): void {
  if (!isId(id)) throw new StrataError('INVALID_ARGUMENT', `invalid object id ${JSON.stringify(id)}`);
}

async function toBuffer(data: ObjectData): Promise<Buffer | null> {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

/** Parse the wire pack a server answers with into (id, bytes) pairs (unverified). */
async function* readPack(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ id: string; data: Buffer }> {
  yield* decodeWirePack(body, {
    error: (problem, msg) =>
      problem === 'truncated'
        ? new StrataError('REMOTE_UNREACHABLE', 'the server closed the object stream early', { hint: 'retry' })
        : new StrataError('OBJECT_CORRUPT', `server answered with a malformed pack: ${msg}`),
  });
}

export class HttpStore implements ObjectStore {
  readonly kind = 'http';
  readonly location: string;
  private queue: Array<{ id: string; resolve: (b: Buffer) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;

  constructor(
    private readonly client: HttpClient,
    readonly jobs = 8,
  ) {
    this.location = client.url;
  }

  private obj(id: string): string {
    return `/objects/${id}`;
  }

  async has(id: string): Promise<boolean> {
    checkId(id);
    const res = await this.client.request('HEAD', this.obj(id), { allow: [404] });
    return res.status === 200;
  }

  async hasMany(ids: Iterable<string>): Promise<Set<string>> {
    const all = [...new Set(ids)];
    const out = new Set<string>();
    for (let i = 0; i < all.length; i += HAS_BATCH) {
      const r = await this.client.json<{ present: string[] }>('POST', '/objects/has', { ids: all.slice(i, i + HAS_BATCH) });
      for (const id of r.present) out.add(id);
    }
    return out;
  }

  async stat(id: string): Promise<ObjectInfo | null> {
    checkId(id);
    const res = await this.client.request('HEAD', this.obj(id), { allow: [404] });
    if (res.status === 404) return null;
    return { id, size: Number(res.headers.get('content-length') ?? 0) };
  }

  async get(id: string, opts: GetOptions = {}): Promise<Readable> {
    checkId(id);
    const headers: Record<string, string> = {};
    if (opts.range) {
      if (opts.range.end <= opts.range.start) return Readable.from([]);
      headers.Range = `bytes=${opts.range.start}-${opts.range.end - 1}`;
    }
    const res = await this.client.request('GET', this.obj(id), { headers, allow: [416] });
    if (res.status === 416) {
      await res.body?.cancel();
      return Readable.from([]);
    }
    const body = res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]);
    if (opts.verify && !opts.range) {
      const v = new VerifyingStream(id, this.location);
      body.on('error', (e) => v.destroy(e));
      return body.pipe(v);
    }
    return body;
  }

  async getBytes(id: string, opts: GetOptions = {}): Promise<Buffer> {
    checkId(id);
    if (opts.range) {
      const parts: Buffer[] = [];
      for await (const c of await this.get(id, opts)) parts.push(c as Buffer);
      return Buffer.concat(parts);
    }
    // Coalesce concurrent whole-object reads into one POST objects/fetch.
    const buf = await new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ id, resolve, reject });
      if (this.queue.length >= FETCH_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
    return buf; // verified in flush()
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length) {
      const batch = this.queue.splice(0, FETCH_BATCH);
      void this.runFetch(batch);
    }
  }

  private async runFetch(batch: Array<{ id: string; resolve: (b: Buffer) => void; reject: (e: unknown) => void }>): Promise<void> {
    const waiting = new Map<string, Array<(typeof batch)[number]>>();
    for (const b of batch) {
      const l = waiting.get(b.id);
      if (l) l.push(b);
      else waiting.set(b.id, [b]);
    }
    try {
      for await (const { id, data } of this.fetchPack([...waiting.keys()])) {
        const list = waiting.get(id);
        if (!list) continue;
        waiting.delete(id);
        const got = hashBytes(data);
        if (got !== id) {
          const err = new StrataError('OBJECT_CORRUPT', `object ${id} from ${this.location} is corrupt (its bytes hash to ${got})`, { details: { id, actual: got } });
          for (const w of list) w.reject(err);
        } else for (const w of list) w.resolve(data);
      }
      const missing = new StrataError('OBJECT_MISSING', `object missing on ${this.location}`);
      for (const list of waiting.values()) for (const w of list) w.reject(missing);
    } catch (e) {
      if (e instanceof StrataError && e.code === 'OBJECT_MISSING' && waiting.size > 1) {
        // Someone asked for a missing object: fetch each alone so only that one fails.
        for (const [id, list] of waiting) {
          try {
            const [only] = await this.collect([id]);
            for (const w of list) w.resolve(only!.data);
          } catch (e2) {
            for (const w of list) w.reject(e2 instanceof StrataError && e2.code === 'OBJECT_MISSING' ? new StrataError('OBJECT_MISSING', `object ${id} is not on ${this.location}`, { details: { id } }) : e2);
          }
        }
        return;
      }
      const err = e instanceof StrataError && e.code === 'OBJECT_MISSING' ? new StrataError('OBJECT_MISSING', `object ${[...waiting.keys()][0]} is not on ${this.location}`) : e;
      for (const list of waiting.values()) for (const w of list) w.reject(err);
    }
  }

  private async collect(ids: string[]): Promise<Array<{ id: string; data: Buffer }>> {
    const out = [];
    for await (const o of this.fetchPack(ids)) {
      if (hashBytes(o.data) !== o.id) throw new StrataError('OBJECT_CORRUPT', `object ${o.id} from ${this.location} is corrupt`, { details: { id: o.id } });
      out.push(o);
    }
    return out;
  }

  /** Stream objects (unverified) in one request. */
  async *fetchPack(ids: string[]): AsyncGenerator<{ id: string; data: Buffer }> {
    const res = await this.client.request('POST', '/objects/fetch', { body: Buffer.from(JSON.stringify({ ids })), headers: { 'Content-Type': 'application/json' } });
    if (!res.body) throw new StrataError('REMOTE_UNREACHABLE', 'empty answer from server');
    yield* readPack(res.body as unknown as AsyncIterable<Uint8Array>);
  }

  /** Download many objects with few requests; each is hash-verified before onObject sees it. */
  async getMany(ids: Iterable<string>, onObject: (id: string, data: Buffer) => Promise<void> | void, opts: { sizes?: Map<string, number> } = {}): Promise<void> {
    const all = [...new Set(ids)];
    const groups: string[][] = [];
    let cur: string[] = [];
    let curBytes = 0;
    for (const id of all) {
      const sz = opts.sizes?.get(id) ?? 0;
      if (cur.length >= FETCH_BATCH * 4 || (cur.length && curBytes + sz > FETCH_BATCH_BYTES_HINT)) {
        groups.push(cur);
        cur = [];
        curBytes = 0;
      }
      cur.push(id);
      curBytes += sz;
    }
    if (cur.length) groups.push(cur);
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const g = groups[next++]!;
        const want = new Set(g);
        for await (const o of this.fetchPack(g)) {
          if (!want.delete(o.id)) continue;
          const got = hashBytes(o.data);
          if (got !== o.id) throw new StrataError('OBJECT_CORRUPT', `object ${o.id} from ${this.location} is corrupt (its bytes hash to ${got})`, { details: { id: o.id, actual: got } });
          await onObject(o.id, o.data);
        }
        if (want.size) throw new StrataError('OBJECT_MISSING', `${want.size} object(s) missing from ${this.location}'s answer`, { details: { missing: [...want].slice(0, 20) } });
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, groups.length) }, worker));
  }

  async put(id: string, data: ObjectData, opts: PutOptions = {}): Promise<void> {
    await this.putObject(id, data, opts);
  }

  /** PUT one object; true when the server stored it (false: it was already there). */
  async putObject(id: string, data: ObjectData, opts: PutOptions = {}): Promise<boolean> {
    checkId(id);
    const buf = await toBuffer(data);
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
    if (buf) {
      const res = await this.client.request('PUT', this.obj(id), { body: buf, headers });
      await res.body?.cancel();
      return res.status === 201;
    }
    if (opts.size !== undefined) headers['Content-Length'] = String(opts.size);
    const src = data as AsyncIterable<Uint8Array>;
    const counters = this.client.counters;
    async function* counted() {
      for await (const c of src) {
        const b = typeof c === 'string' ? Buffer.from(c) : c;
        counters.bytesUp += b.length;
        yield b;
      }
    }
    const res = await this.client.request('PUT', this.obj(id), { body: counted(), headers, retry: false });
    await res.body?.cancel();
    return res.status === 201;
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    const res = await this.client.request('GET', `/objects?prefix=${encodeURIComponent(prefix)}`);
    if (!res.body) return;
    let rest = '';
    const dec = new TextDecoder();
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      rest += dec.decode(c, { stream: true });
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, i);
        rest = rest.slice(i + 1);
        if (line) yield JSON.parse(line) as ObjectInfo;
      }
    }
    if (rest.trim()) yield JSON.parse(rest) as ObjectInfo;
  }

  async delete(id: string): Promise<void> {
    checkId(id);
    await this.client.request('DELETE', this.obj(id));
  }

  async deleteMany(ids: Iterable<string>): Promise<void> {
    const all = [...new Set(ids)];
    for (const id of all) checkId(id);
    for (let i = 0; i < all.length; i += HAS_BATCH) await this.client.json('POST', '/objects/delete', { ids: all.slice(i, i + HAS_BATCH) });
  }

  /** Send one pack of small objects. */
  async uploadPack(frames: Buffer[]): Promise<void> {
    await this.client.request('POST', '/objects/pack', { body: Buffer.concat([WIRE_PACK_MAGIC, ...frames]), headers: { 'Content-Type': 'application/x-strata-pack' } });
  }

  batch(): BatchWriter {
    return new HttpBatch(this);
  }

  async close(): Promise<void> {
    /* fetch keeps a shared connection pool; nothing to release */
  }
}

class HttpBatch implements BatchWriter {
  private frames: Buffer[] = [];
  private frameBytes = 0;
  private seen = new Set<string>();
  private inflight = new Set<Promise<void>>();
  private failed: unknown = null;
  private objects = 0;
  private bytes = 0;
  private aborted = false;
  /** Large objects this batch stored itself (removed again by abort()). */
  private created: string[] = [];

  constructor(private readonly store: HttpStore) {}

  private async track(p: Promise<void>): Promise<void> {
    const q = p.catch((e) => {
      this.failed ??= e;
    });
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
    while (this.inflight.size >= Math.max(2, Math.min(this.store.jobs, 6))) await Promise.race(this.inflight);
    if (this.failed) throw this.failed;
  }

  async add(id: string, data: Buffer): Promise<void> {
    if (this.aborted) throw new StrataError('INVALID_ARGUMENT', 'batch was aborted');
    if (this.failed) throw this.failed;
    checkId(id);
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.objects++;
    this.bytes += data.length;
    if (data.length >= PACK_OBJECT_MAX) {
      await this.track(
        this.store.putObject(id, data).then((stored) => {
          if (stored) this.created.push(id);
        }),
      );
      return;
    }
    this.frames.push(wireFrameHeader(id, data.length), Buffer.from(data));
    this.frameBytes += WIRE_FRAME_HEADER + data.length;
    if (this.frameBytes >= HTTP_PACK_TARGET) await this.sendPack();
  }

  private async sendPack(): Promise<void> {
    if (!this.frames.length) return;
    const frames = this.frames;
    this.frames = [];
    this.frameBytes = 0;
    await this.track(this.store.uploadPack(frames));
  }

  async finish(): Promise<{ objects: number; bytes: number }> {
    await this.sendPack();
    await Promise.all(this.inflight);
    if (this.failed) throw this.failed;
    return { objects: this.objects, bytes: this.bytes };
  }

  /** Drops queued objects; large objects already stored by this batch are deleted again. Packs already sent stay. */
  async abort(): Promise<void> {
    this.aborted = true;
    this.frames = [];
    await Promise.all(this.inflight);
    if (this.created.length) await this.store.deleteMany(this.created).catch(() => {});
    this.created = [];
  }
}

/** The object and ref stores of one repository on a Strata server. */
export async function openHttpStores(
  url: string,
  opts: HttpRemoteOptions = {},
): Promise<{ store: HttpStore; refs: RefStore; close(): Promise<void>; stats(): HttpCounters }> {
  const { base } = httpRemoteBase(url);
  const client = new HttpClient(base, url.replace(/\/+$/, ''), resolveToken(url, opts));
  const store = new HttpStore(client, opts.jobs ?? 8);
  return {
    store,
    refs: new HttpRefStore(client),
    close: () => store.close(),
    stats: () => ({ ...client.counters }),
  };
}
