/**
 * Wire pack codec: how many objects travel in one HTTP body between a client and `strata serve`
 * (POST objects/pack uploads, POST objects/fetch answers). Documented in docs/remote-format.md
 * ("Wire pack") and docs/api.md.
 *
 * Version 1 ("SPK1"), the only one:
 *
 *   magic "SPK1" (4 bytes), then frames until the end of the body:
 *   id (32 raw bytes) | size (uint32 big-endian) | size bytes of the object
 *
 * The stream carries no count and no checksum of its own: the receiver hashes every object
 * against its id. The decoder is push-based and linear in the stream's size: each byte is copied
 * once, into the object it belongs to; no buffer is sized from a header before its bytes arrived
 * (a frame that lies about its size costs only what was really sent). A stream that ends inside
 * the magic, a header or a body, or starts with another magic, is refused (OBJECT_CORRUPT unless
 * the caller maps it: the server answers 400, the client reports a cut connection).
 */
import { StrataError } from '../errors/index.js';

export const WIRE_PACK_MAGIC = Buffer.from('SPK1', 'ascii');
/** Bytes of a frame header: id (32) + size (4). */
export const WIRE_FRAME_HEADER = 36;
/** The largest object one frame can carry (uint32 size). */
const WIRE_FRAME_MAX = 0xffffffff;

export interface WireObject {
  id: string;
  data: Buffer;
}

/** The header of one frame (the object's bytes follow it). */
export function wireFrameHeader(id: string, size: number): Buffer {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new StrataError('INVALID_ARGUMENT', `not an object id: ${JSON.stringify(id)}`);
  if (!Number.isInteger(size) || size < 0 || size > WIRE_FRAME_MAX) throw new StrataError('INVALID_ARGUMENT', `object ${id} is too large for a wire pack frame (${size} bytes)`);
  const hdr = Buffer.alloc(WIRE_FRAME_HEADER);
  hdr.write(id, 0, 32, 'hex');
  hdr.writeUInt32BE(size, 32);
  return hdr;
}

/** A whole wire pack in memory (magic + one frame per object, in order). */
export function encodeWirePack(objects: Iterable<WireObject>): Buffer {
  const parts: Buffer[] = [WIRE_PACK_MAGIC];
  for (const o of objects) parts.push(wireFrameHeader(o.id, o.data.length), o.data);
  return Buffer.concat(parts);
}

/** Stream form of encodeWirePack: the magic, then header and bytes of each object. */
export async function* encodeWirePackStream(objects: AsyncIterable<WireObject> | Iterable<WireObject>): AsyncGenerator<Buffer> {
  yield WIRE_PACK_MAGIC;
  for await (const o of objects) {
    yield wireFrameHeader(o.id, o.data.length);
    yield o.data;
  }
}

export type WirePackProblem = 'magic' | 'truncated';

export interface WirePackDecoderOptions {
  /**
   * Called once per frame header, before any of its body is kept: `size` as declared, `consumed`
   * the stream bytes up to and including that header. Throw to refuse (e.g. over a limit).
   */
  checkFrame?: (size: number, consumed: number) => void;
  /** The error for a malformed stream (default: OBJECT_CORRUPT). */
  error?: (problem: WirePackProblem, message: string) => Error;
}

function defaultError(problem: WirePackProblem, message: string): Error {
  return new StrataError('OBJECT_CORRUPT', `malformed wire pack: ${message}`, { details: { format: 'wire-pack', problem } });
}

/** Push-based decoder: feed chunks with push(), collect whole objects, call end() at the end. */
export class WirePackDecoder {
  private readonly head = Buffer.alloc(WIRE_FRAME_HEADER);
  private headLen = 0;
  private magic = false;
  /** Body of the current frame: pieces received so far (views of the input chunks). */
  private body: Buffer[] | null = null;
  private bodyLen = 0;
  private bodySize = 0;
  private bodyId = '';
  /** Stream bytes consumed so far. */
  consumed = 0;
  private readonly fail: (problem: WirePackProblem, message: string) => Error;

  constructor(private readonly opts: WirePackDecoderOptions = {}) {
    this.fail = opts.error ?? defaultError;
  }

  /** Decode one chunk; returns the objects it completed, in stream order. */
  push(chunk: Uint8Array): WireObject[] {
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: WireObject[] = [];
    let off = 0;
    while (off < c.length) {
      if (!this.magic) {
        const n = Math.min(4 - this.headLen, c.length - off);
        c.copy(this.head, this.headLen, off, off + n);
        this.headLen += n;
        off += n;
        this.consumed += n;
        if (this.headLen < 4) break;
        if (!this.head.subarray(0, 4).equals(WIRE_PACK_MAGIC)) throw this.fail('magic', 'bad magic (expected SPK1)');
        this.magic = true;
        this.headLen = 0;
        continue;
      }
      if (this.body) {
        const n = Math.min(this.bodySize - this.bodyLen, c.length - off);
        this.body.push(c.subarray(off, off + n));
        this.bodyLen += n;
        off += n;
        this.consumed += n;
        if (this.bodyLen === this.bodySize) out.push(this.finishFrame());
        continue;
      }
      const n = Math.min(WIRE_FRAME_HEADER - this.headLen, c.length - off);
      c.copy(this.head, this.headLen, off, off + n);
      this.headLen += n;
      off += n;
      this.consumed += n;
      if (this.headLen < WIRE_FRAME_HEADER) break;
      this.headLen = 0;
      this.bodyId = this.head.toString('hex', 0, 32);
      this.bodySize = this.head.readUInt32BE(32);
      this.opts.checkFrame?.(this.bodySize, this.consumed);
      this.body = [];
      this.bodyLen = 0;
      if (this.bodySize === 0) out.push(this.finishFrame());
    }
    return out;
  }

  private finishFrame(): WireObject {
    const parts = this.body!;
    this.body = null;
    // One copy per byte: the pieces are views of the input chunks.
    const data = Buffer.concat(parts, this.bodySize);
    return { id: this.bodyId, data };
  }

  /** The stream ended: throws unless it ended exactly after a whole frame (or after the magic). */
  end(): void {
    if (!this.magic) throw this.fail(this.consumed === 0 ? 'truncated' : 'magic', this.consumed === 0 ? 'empty body' : 'truncated header');
    if (this.body) throw this.fail('truncated', `truncated frame (${this.bodyLen} of ${this.bodySize} bytes of object ${this.bodyId})`);
    if (this.headLen) throw this.fail('truncated', `truncated frame header (${this.headLen} of ${WIRE_FRAME_HEADER} bytes)`);
  }
}

/** Decode a whole stream, yielding each object as soon as its last byte arrived. */
export async function* decodeWirePack(body: AsyncIterable<Uint8Array>, opts: WirePackDecoderOptions = {}): AsyncGenerator<WireObject> {
  const dec = new WirePackDecoder(opts);
  for await (const chunk of body) yield* dec.push(chunk);
  dec.end();
}
