/**
 * In-memory object store: for tests and server-side caches. Objects live in a Map of Buffers.
 * Same semantics as every other adapter (the contract suite runs against it); batch() writes
 * straight through (there is nothing to pack in memory) but honours abort().
 */
import { Readable, Transform } from 'node:stream';
import { StrataError } from '../../errors/index.js';
import { createHasher, hashBytes, isId } from '../../hash/index.js';
import type { BatchWriter, GetOptions, ObjectData, ObjectInfo, ObjectStore, PutOptions } from '../types.js';

export class MemoryStore implements ObjectStore {
  readonly kind = 'memory';
  readonly location: string;
  private readonly objects = new Map<string, Buffer>();

  constructor(name = 'memory') {
    this.location = `memory://${name}`;
  }

  async has(id: string): Promise<boolean> {
    return this.objects.has(id);
  }

  async hasMany(ids: Iterable<string>): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of ids) if (this.objects.has(id)) out.add(id);
    return out;
  }

  async stat(id: string): Promise<ObjectInfo | null> {
    const b = this.objects.get(id);
    return b ? { id, size: b.length } : null;
  }

  async get(id: string, opts: GetOptions = {}): Promise<Readable> {
    const bytes = this.slice(id, opts);
    const src = Readable.from(bytes.length ? [bytes] : [], { objectMode: false });
    if (!opts.verify || opts.range) return src;
    const h = createHasher();
    const check = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        cb(null, chunk);
      },
      flush(cb) {
        const got = h.digestHex();
        cb(got === id ? null : corrupt(id, got));
      },
    });
    return src.pipe(check);
  }

  async getBytes(id: string, opts: GetOptions = {}): Promise<Buffer> {
    const bytes = this.slice(id, opts);
    if (opts.verify && !opts.range) {
      const got = hashBytes(bytes);
      if (got !== id) throw corrupt(id, got);
    }
    return Buffer.from(bytes);
  }

  async put(id: string, data: ObjectData, _opts?: PutOptions): Promise<void> {
    checkId(id);
    if (this.objects.has(id)) {
      if (data instanceof Readable) data.destroy();
      return;
    }
    const bytes = await toBuffer(data);
    if (!this.objects.has(id)) this.objects.set(id, bytes);
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    for (const [id, b] of [...this.objects]) if (id.startsWith(prefix)) yield { id, size: b.length };
  }

  async delete(id: string): Promise<void> {
    this.objects.delete(id);
  }

  async deleteMany(ids: Iterable<string>): Promise<void> {
    for (const id of ids) this.objects.delete(id);
  }

  batch(): BatchWriter {
    const added = new Map<string, Buffer>();
    let state: 'open' | 'finished' | 'aborted' = 'open';
    return {
      add: async (id, data) => {
        if (state !== 'open') throw new StrataError('INTERNAL', `batch already ${state}`);
        checkId(id);
        if (!added.has(id)) added.set(id, Buffer.from(data));
      },
      finish: async () => {
        if (state !== 'open') throw new StrataError('INTERNAL', `batch already ${state}`);
        state = 'finished';
        let bytes = 0;
        for (const [id, b] of added) {
          if (!this.objects.has(id)) this.objects.set(id, b);
          bytes += b.length;
        }
        return { objects: added.size, bytes };
      },
      abort: async () => {
        if (state === 'open') state = 'aborted';
        added.clear();
      },
    };
  }

  async close(): Promise<void> {}

  /** Test hook: replace an object's bytes without changing its id (to exercise `verify`). */
  corruptForTest(id: string, bytes: Buffer): void {
    if (!this.objects.has(id)) throw new Error(`no object ${id}`);
    this.objects.set(id, Buffer.from(bytes));
  }

  private slice(id: string, opts: GetOptions): Buffer {
    const b = this.objects.get(id);
    if (!b) throw missing(id, this.location);
    if (!opts.range) return b;
    const { start, end } = checkRange(opts.range);
    return b.subarray(Math.min(start, b.length), Math.min(end, b.length));
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

function corrupt(id: string, got: string): StrataError {
  return new StrataError('OBJECT_CORRUPT', `object ${id} is corrupt: its bytes hash to ${got}`, { details: { id, actual: got } });
}

async function toBuffer(data: ObjectData): Promise<Buffer> {
  if (Buffer.isBuffer(data)) return Buffer.from(data);
  if (data instanceof Uint8Array) return Buffer.from(data);
  const parts: Buffer[] = [];
  for await (const c of data as AsyncIterable<Uint8Array | string>) parts.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
  return Buffer.concat(parts);
}
