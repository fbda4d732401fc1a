/**
 * S3 / MinIO object store. Bucket layout (docs/remote-format.md):
 *
 *   <prefix>/objects/ab/cdef...    loose object (id = ab + cdef..., 64 hex)
 *   <prefix>/packs/<packid>.pack   many small objects concatenated
 *   <prefix>/packs/<packid>.idx    index of that pack (written after the pack: present => pack complete)
 *
 * batch() packs objects < PACK_OBJECT_MAX into packs of ~16 MiB (see S3_PACK_TARGET) uploaded in
 * parallel; larger objects go up on their own. A packed object is read with a ranged GET on its pack.
 * Pack indexes are cached in memory once loaded and refreshed when an id is not found.
 */
import { Readable, Transform } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import { StrataError } from '../../errors/index.js';
import { createHasher, hashBytes, isId } from '../../hash/index.js';
import { PACK_OBJECT_MAX, type BatchWriter, type GetOptions, type ObjectData, type ObjectInfo, type ObjectStore, type PutOptions } from '../types.js';
import { Limiter } from '../../util/concurrency.js';
import { S3Conn, type S3StoreOptions, type TransferStats } from './conn.js';
import { decodePackIndex, encodePackIndex, type PackIndexEntry as IdxEntry } from '../../format/pack-index.js';


/**
 * Pack size for S3 batches: 16 MiB, well under PACK_TARGET_SIZE (256 MiB). A pack is one PUT, so
 * smaller packs give parallelism (a 200 MiB push is ~13 concurrent PUTs instead of one serial 200 MiB
 * PUT, and a failed PUT retries 16 MiB, not 256), while still amortising per-request latency and
 * cost over hundreds of small objects. Buffered memory is bounded by packsInFlight x 16 MiB.
 */
const S3_PACK_TARGET = 16 << 20;
/** HEAD each id of a 2-hex-prefix group below this many ids; LIST the prefix at or above it. */
const LIST_GROUP_MIN = 8;
/** Single PutObject up to this size (buffers); multipart Upload above. */
const SINGLE_PUT_MAX = 16 << 20;

interface PackedAt {
  pack: string;
  offset: number;
  size: number;
}

export interface S3StoreExtraOptions extends S3StoreOptions {
  /** Pack size for batch() (default S3_PACK_TARGET). */
  packTargetSize?: number;
  /** Packs being uploaded at once by one batch (default min(jobs, 6)). */
  packsInFlight?: number;
}

/** The in-memory view of the bucket's pack indexes. */
class PackCatalog {
  readonly packs = new Map<string, IdxEntry[]>();
  readonly byId = new Map<string, PackedAt[]>();
  loaded = false;

  add(pack: string, entries: IdxEntry[]): void {
    if (this.packs.has(pack)) return;
    this.packs.set(pack, entries);
    for (const e of entries) {
      const at = { pack, offset: e.offset, size: e.size };
      const list = this.byId.get(e.id);
      if (list) list.push(at);
      else this.byId.set(e.id, [at]);
    }
  }

  remove(pack: string): void {
    const entries = this.packs.get(pack);
    if (!entries) return;
    this.packs.delete(pack);
    for (const e of entries) {
      const list = this.byId.get(e.id)?.filter((a) => a.pack !== pack);
      if (list && list.length) this.byId.set(e.id, list);
      else this.byId.delete(e.id);
    }
  }

  lookup(id: string): PackedAt | undefined {
    return this.byId.get(id)?.[0];
  }
}

export class S3Store implements ObjectStore {
  readonly kind = 's3';
  readonly location: string;
  readonly conn: S3Conn;
  private readonly catalog = new PackCatalog();
  private refreshing: Promise<void> | undefined;
  private readonly packTarget: number;
  private readonly packsInFlight: number;

  constructor(opts: S3StoreExtraOptions) {
    this.conn = new S3Conn(opts);
    this.location = this.conn.location;
    this.packTarget = Math.max(PACK_OBJECT_MAX, opts.packTargetSize ?? S3_PACK_TARGET);
    this.packsInFlight = Math.max(1, opts.packsInFlight ?? Math.min(this.conn.jobs, 6));
  }

  /** Requests and bytes sent/received so far (retries included). */
  stats(): TransferStats {
    return { ...this.conn.counters };
  }

  resetStats(): void {
    Object.assign(this.conn.counters, { requests: 0, bytesUp: 0, bytesDown: 0 });
  }

  /** Bucket key of a loose object. */
  objectKey(id: string): string {
    return this.conn.key(`objects/${id.slice(0, 2)}/${id.slice(2)}`);
  }

  packKey(pack: string, ext: 'pack' | 'idx'): string {
    return this.conn.key(`packs/${pack}.${ext}`);
  }

  // ------------------------------------------------------------------ pack indexes

  /** (Re)load pack indexes: one LIST of packs/, then a GET for each index not yet cached. */
  refreshPacks(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const present = new Set<string>();
        for await (const o of this.conn.listKeys(this.conn.key('packs/'))) {
          const m = /\/?([0-9a-f]{64})\.idx$/.exec(o.key);
          if (m) present.add(m[1]!);
        }
        for (const p of [...this.catalog.packs.keys()]) if (!present.has(p)) this.catalog.remove(p);
        const toLoad = [...present].filter((p) => !this.catalog.packs.has(p));
        await this.conn.limiter.map(toLoad, async (p) => {
          const buf = await this.conn.getBuffer(this.packKey(p, 'idx'));
          if (!buf) return; // deleted since the LIST (pack rewritten): skip
          this.catalog.add(p, decodePackIndex(buf, { packId: p }).entries);
        });
        this.catalog.loaded = true;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async ensurePacks(): Promise<void> {
    if (!this.catalog.loaded) await this.refreshPacks();
  }

  /** Where `id` lives: in a pack, loose (with size), or nowhere. Refreshes pack indexes on a miss. */
  private async locate(id: string): Promise<{ packed: PackedAt } | { loose: number } | null> {
    if (!isId(id)) return null;
    let p = this.catalog.lookup(id);
    if (p) return { packed: p };
    const fresh = !this.catalog.loaded;
    await this.ensurePacks();
    p = this.catalog.lookup(id);
    if (p) return { packed: p };
    const h = await this.conn.head(this.objectKey(id));
    if (h) return { loose: h.size };
    if (fresh) return null;
    await this.refreshPacks();
    p = this.catalog.lookup(id);
    return p ? { packed: p } : null;
  }

  // ------------------------------------------------------------------ reads

  async has(id: string): Promise<boolean> {
    return (await this.locate(id)) !== null;
  }

  async stat(id: string): Promise<ObjectInfo | null> {
    const l = await this.locate(id);
    if (!l) return null;
    return { id, size: 'packed' in l ? l.packed.size : l.loose };
  }

  async hasMany(idsIn: Iterable<string>): Promise<Set<string>> {
    const ids = new Set([...idsIn].filter(isId));
    const found = new Set<string>();
    if (ids.size === 0) return found;
    const fresh = !this.catalog.loaded;
    await this.ensurePacks();
    const rest = () => [...ids].filter((id) => !found.has(id));
    for (const id of ids) if (this.catalog.lookup(id)) found.add(id);

    // Loose objects: LIST a 2-hex prefix when many ids share it, else HEAD each.
    const groups = new Map<string, string[]>();
    for (const id of rest()) {
      const g = groups.get(id.slice(0, 2));
      if (g) g.push(id);
      else groups.set(id.slice(0, 2), [id]);
    }
    const heads: string[] = [];
    const lists: string[] = [];
    for (const [pfx, g] of groups) {
      if (g.length >= LIST_GROUP_MIN) lists.push(pfx);
      else heads.push(...g);
    }
    await Promise.all([
      this.conn.limiter.map(lists, async (pfx) => {
        for await (const o of this.conn.listKeys(this.conn.key(`objects/${pfx}/`))) {
          const id = pfx + o.key.slice(o.key.lastIndexOf('/') + 1);
          if (ids.has(id)) found.add(id);
        }
      }),
      this.conn.limiter.map(heads, async (id) => {
        if (await this.conn.head(this.objectKey(id))) found.add(id);
      }),
    ]);

    if (!fresh && found.size < ids.size) {
      await this.refreshPacks();
      for (const id of rest()) if (this.catalog.lookup(id)) found.add(id);
    }
    return found;
  }

  async get(id: string, opts: GetOptions = {}): Promise<Readable> {
    const range = opts.range ? checkRange(opts.range) : undefined;
    const s = await this.open(id, range);
    if (!opts.verify || range) return s;
    const h = createHasher();
    const check = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        cb(null, chunk);
      },
      flush(cb) {
        const got = h.digestHex();
        cb(got === id ? null : corrupt(id, got, 'loose'));
      },
    });
    s.on('error', (e) => check.destroy(e));
    return s.pipe(check);
  }

  async getBytes(id: string, opts: GetOptions = {}): Promise<Buffer> {
    const range = opts.range ? checkRange(opts.range) : undefined;
    const s = await this.open(id, range);
    const parts: Buffer[] = [];
    for await (const c of s) parts.push(c as Buffer);
    const buf = Buffer.concat(parts);
    if (opts.verify && !range) {
      const got = hashBytes(buf);
      if (got !== id) throw corrupt(id, got, this.location);
    }
    return buf;
  }

  private async open(id: string, range?: { start: number; end: number }): Promise<Readable> {
    if (!isId(id)) throw missing(id, this.location);
    let p = this.catalog.lookup(id);
    const fresh = !p && !this.catalog.loaded;
    if (!p) {
      await this.ensurePacks();
      p = this.catalog.lookup(id);
    }
    if (p) {
      const s = await this.readPacked(p, range);
      if (s) return s;
      // The pack went away (rewritten by a delete elsewhere): reload indexes below.
    } else {
      const s = range && range.end <= range.start ? await this.emptyIfLoose(id) : await this.conn.getStream(this.objectKey(id), range);
      if (s) return s;
    }
    if (!fresh || p) {
      await this.refreshPacks();
      const p2 = this.catalog.lookup(id);
      if (p2) {
        const s = await this.readPacked(p2, range);
        if (s) return s;
      }
    }
    throw missing(id, this.location);
  }

  private async emptyIfLoose(id: string): Promise<Readable | null> {
    return (await this.conn.head(this.objectKey(id))) ? Readable.from([]) : null;
  }

  private async readPacked(p: PackedAt, range?: { start: number; end: number }): Promise<Readable | null> {
    const start = p.offset + Math.min(range?.start ?? 0, p.size);
    const end = p.offset + Math.min(range?.end ?? p.size, p.size);
    if (end <= start) return Readable.from([]);
    return this.conn.getStream(this.packKey(p.pack, 'pack'), { start, end });
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    if (!/^[0-9a-f]{0,64}$/.test(prefix)) return;
    const seen = new Set<string>();
    const keyPrefix = this.conn.key(prefix.length <= 2 ? `objects/${prefix}` : `objects/${prefix.slice(0, 2)}/${prefix.slice(2)}`);
    const looseRoot = this.conn.key('objects/');
    for await (const o of this.conn.listKeys(keyPrefix)) {
      const id = o.key.slice(looseRoot.length).replace('/', '');
      if (!isId(id) || !id.startsWith(prefix) || seen.has(id)) continue;
      seen.add(id);
      yield { id, size: o.size };
    }
    await this.refreshPacks();
    for (const [id, at] of [...this.catalog.byId]) {
      if (!id.startsWith(prefix) || seen.has(id)) continue;
      seen.add(id);
      yield { id, size: at[0]!.size };
    }
  }

  // ------------------------------------------------------------------ writes

  async put(id: string, data: ObjectData, opts: PutOptions = {}): Promise<void> {
    checkId(id);
    if (this.catalog.lookup(id) || (await this.conn.head(this.objectKey(id)))) {
      if (data instanceof Readable) data.destroy();
      return;
    }
    await this.putLoose(id, data, opts.size);
  }

  /** Upload without the existence check. Buffers up to 16 MiB: one PUT; otherwise multipart, streamed. */
  private async putLoose(id: string, data: ObjectData, size?: number): Promise<void> {
    const key = this.objectKey(id);
    if (data instanceof Uint8Array && data.length <= SINGLE_PUT_MAX) {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      await this.conn.putBuffer(key, buf);
      return;
    }
    const body: Readable | Buffer =
      data instanceof Uint8Array
        ? Buffer.isBuffer(data)
          ? data
          : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
        : data instanceof Readable
          ? data
          : Readable.from(data as AsyncIterable<Uint8Array>, { objectMode: false });
    const known = data instanceof Uint8Array ? data.length : size;
    const up = new Upload({
      client: this.conn.client,
      params: { Bucket: this.conn.bucket, Key: key, Body: body },
      partSize: this.conn.partSize(known),
      queueSize: 4,
      leavePartsOnError: false,
    });
    try {
      await up.done();
    } catch (e) {
      throw this.conn.mapError(e, `uploading ${key}`);
    }
  }

  async delete(id: string): Promise<void> {
    await this.deleteMany([id]);
  }

  /**
   * Loose copies go with DeleteObjects (1000 keys a request). Each pack holding a deleted id is
   * rewritten: new pack, then its index, then the old index, then the old pack. A crash at any
   * point leaves every surviving object readable (at worst listed by two indexes, which is harmless).
   */
  async deleteMany(idsIn: Iterable<string>): Promise<void> {
    const ids = new Set([...idsIn].filter(isId));
    if (ids.size === 0) return;
    await this.refreshPacks();
    const affected = new Map<string, Set<string>>();
    for (const id of ids) {
      for (const at of this.catalog.byId.get(id) ?? []) {
        const s = affected.get(at.pack);
        if (s) s.add(id);
        else affected.set(at.pack, new Set([id]));
      }
    }
    await this.conn.deleteKeys([...ids].map((id) => this.objectKey(id)));
    await new Limiter(Math.max(1, Math.min(4, this.conn.jobs))).map(affected, ([pack, gone]) => this.rewritePack(pack, gone));
  }

  private async rewritePack(pack: string, gone: Set<string>): Promise<void> {
    const entries = this.catalog.packs.get(pack);
    if (!entries) return;
    const keep = entries.filter((e) => !gone.has(e.id)).sort((a, b) => a.offset - b.offset);
    if (keep.length) {
      const old = await this.conn.getBuffer(this.packKey(pack, 'pack'));
      if (!old) {
        // Already rewritten by someone else; their indexes are picked up by the next refresh.
        this.catalog.remove(pack);
        return;
      }
      const total = keep.reduce((n, e) => n + e.size, 0);
      const buf = Buffer.allocUnsafe(total);
      const newEntries: IdxEntry[] = [];
      let off = 0;
      for (const e of keep) {
        old.copy(buf, off, e.offset, e.offset + e.size);
        newEntries.push({ id: e.id, offset: off, size: e.size });
        off += e.size;
      }
      const idx = encodePackIndex(newEntries, total);
      await this.conn.putBuffer(this.packKey(idx.packId, 'pack'), buf);
      await this.conn.putBuffer(this.packKey(idx.packId, 'idx'), idx.bytes);
      this.catalog.add(idx.packId, newEntries);
    }
    await this.conn.deleteKeys([this.packKey(pack, 'idx')]);
    await this.conn.deleteKeys([this.packKey(pack, 'pack')]);
    this.catalog.remove(pack);
  }

  batch(): BatchWriter {
    return new S3Batch(this, this.packTarget, this.packsInFlight);
  }

  async close(): Promise<void> {
    this.conn.close();
  }

  // ------------------------------------------------------------------ used by S3Batch

  /** @internal */
  isPackedKnown(id: string): boolean {
    return this.catalog.lookup(id) !== undefined;
  }

  /** @internal Upload a pack then its index; returns the pack id. */
  async uploadPack(buf: Buffer, entries: IdxEntry[], written: { keys: string[] }): Promise<string> {
    const idx = encodePackIndex(entries, buf.length);
    const packKey = this.packKey(idx.packId, 'pack');
    const idxKey = this.packKey(idx.packId, 'idx');
    written.keys.push(packKey);
    await this.conn.putBuffer(packKey, buf);
    written.keys.push(idxKey);
    await this.conn.putBuffer(idxKey, idx.bytes);
    this.catalog.add(idx.packId, entries);
    return idx.packId;
  }

  /** @internal Upload a large object unless it exists; records the key when this call created it. */
  async uploadLarge(id: string, data: Buffer, written: { keys: string[] }): Promise<void> {
    if (await this.conn.head(this.objectKey(id))) return;
    written.keys.push(this.objectKey(id));
    await this.putLoose(id, data, data.length);
  }

  /** @internal Undo an aborted batch: indexes first (objects vanish), then packs and loose objects. */
  async undo(keys: string[]): Promise<void> {
    const idx = keys.filter((k) => k.endsWith('.idx'));
    await this.conn.deleteKeys(idx);
    for (const k of idx) this.catalog.remove(k.slice(k.lastIndexOf('/') + 1, -'.idx'.length));
    await this.conn.deleteKeys(keys.filter((k) => !k.endsWith('.idx')));
  }
}

class S3Batch implements BatchWriter {
  private state: 'open' | 'finished' | 'aborted' = 'open';
  private readonly seen = new Set<string>();
  private objects = 0;
  private bytes = 0;
  private buf: Buffer | undefined;
  private used = 0;
  private entries: IdxEntry[] = [];
  private readonly packs = new Set<Promise<void>>();
  private readonly larges = new Set<Promise<void>>();
  private error: unknown;
  private readonly written = { keys: [] as string[] };

  constructor(
    private readonly store: S3Store,
    private readonly target: number,
    private readonly packsInFlight: number,
  ) {}

  async add(id: string, data: Buffer): Promise<void> {
    if (this.state !== 'open') throw new StrataError('INTERNAL', `batch already ${this.state}`);
    checkId(id);
    if (this.error) throw this.store.conn.mapError(this.error, 'uploading a batch');
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.objects++;
    this.bytes += data.length;
    if (this.store.isPackedKnown(id)) return;
    if (data.length >= PACK_OBJECT_MAX) {
      await this.launch(this.larges, this.store.conn.jobs, () => this.store.uploadLarge(id, data, this.written));
      return;
    }
    if (!this.buf || this.used + data.length > this.buf.length) {
      if (this.buf && this.used > 0) await this.flush();
      this.buf = Buffer.allocUnsafe(Math.max(this.target, data.length));
      this.used = 0;
    }
    data.copy(this.buf, this.used);
    this.entries.push({ id, offset: this.used, size: data.length });
    this.used += data.length;
    if (this.used >= this.target) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.buf || this.entries.length === 0) return;
    const buf = this.buf.subarray(0, this.used);
    const entries = this.entries;
    this.buf = undefined;
    this.used = 0;
    this.entries = [];
    await this.launch(this.packs, this.packsInFlight, async () => {
      await this.store.uploadPack(buf, entries, this.written);
    });
  }

  /** Start a task once fewer than `max` of its kind run (backpressure for add()). */
  private async launch(set: Set<Promise<void>>, max: number, task: () => Promise<void>): Promise<void> {
    while (set.size >= max) await Promise.race(set);
    const p: Promise<void> = task()
      .catch((e) => {
        this.error ??= e;
      })
      .finally(() => set.delete(p));
    set.add(p);
  }

  private async drain(): Promise<void> {
    while (this.packs.size || this.larges.size) await Promise.all([...this.packs, ...this.larges]);
  }

  async finish(): Promise<{ objects: number; bytes: number }> {
    if (this.state !== 'open') throw new StrataError('INTERNAL', `batch already ${this.state}`);
    await this.flush();
    await this.drain();
    this.state = 'finished';
    if (this.error) throw this.store.conn.mapError(this.error, 'uploading a batch');
    return { objects: this.objects, bytes: this.bytes };
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.buf = undefined;
    this.entries = [];
    await this.drain();
    await this.store.undo(this.written.keys);
  }
}

function checkId(id: string): void {
  if (!isId(id)) throw new StrataError('INVALID_ARGUMENT', `invalid object id ${JSON.stringify(id)} (expected 64 lowercase hex characters)`);
}

function checkRange(r: { start: number; end: number }): { start: number; end: number } {
  if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start) {
    throw new StrataError('INVALID_ARGUMENT', `invalid byte range [${r.start}, ${r.end})`);
  }
  return r;
}

function missing(id: string, where: string): StrataError {
  return new StrataError('OBJECT_MISSING', `object ${id} is missing from ${where}`, { details: { id } });
}

function corrupt(id: string, got: string, where: string): StrataError {
  return new StrataError('OBJECT_CORRUPT', `object ${id} in ${where} is corrupt: its bytes hash to ${got}`, { details: { id, actual: got } });
}
