/**
 * Pack index (.idx) codec: the one format of the index next to every pack, in the local store
 * (`objects/pack/<p>.idx`, also what a file:// remote holds) and in S3 buckets
 * (`<prefix>packs/<packid>.idx`). Documented in docs/remote-format.md ("Pack index").
 *
 * Version 1 (written by every store), all integers big-endian:
 *
 *   offset  size  field
 *   0       4     magic "SIDX"
 *   4       4     version, uint32 (1)
 *   8       4     entry count N, uint32
 *   12      8     size of the .pack in bytes, uint64
 *   20      48*N  entries sorted by id: id (32 raw bytes), offset uint64, size uint64
 *
 * Version 0 (read only): what local stores wrote before the formats were unified — magic
 * "STRATAIDX1\n" (11 bytes), entry count uint32, then the same 48-byte entries; no pack size
 * (taken as the end of the last entry). Existing repositories and file:// remotes keep working.
 *
 * An S3 pack's id is BLAKE3-256 (hex) of its whole .idx, so an index read from a bucket can be
 * checked against its own name (decodePackIndex's packId). Local pack names are random.
 *
 * Damaged input (bad magic, truncation, entries outside the pack, offsets past 2^53) is refused
 * with OBJECT_CORRUPT; a version this code does not know with SCHEMA_TOO_NEW.
 */
import { StrataError } from '../errors/index.js';
import { hashBytes } from '../hash/index.js';

export interface PackIndexEntry {
  id: string;
  offset: number;
  size: number;
}

export interface PackIndex {
  /** Format version the bytes were written in (0: legacy local, 1: current). */
  version: 0 | 1;
  entries: PackIndexEntry[];
  packSize: number;
}

const PACK_INDEX_VERSION = 1;
const MAGIC_V1 = Buffer.from('SIDX', 'ascii');
const HEADER_V1 = 20;
const MAGIC_V0 = Buffer.from('STRATAIDX1\n', 'ascii');
const HEADER_V0 = MAGIC_V0.length + 4;
const ENTRY = 48;
const TWO32 = 0x100000000;

/** Encode entries (any order) as a version-1 index; packId is the BLAKE3 of the bytes. */
export function encodePackIndex(entries: readonly PackIndexEntry[], packSize: number): { bytes: Buffer; packId: string } {
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const buf = Buffer.alloc(HEADER_V1 + ENTRY * sorted.length);
  MAGIC_V1.copy(buf, 0);
  buf.writeUInt32BE(PACK_INDEX_VERSION, 4);
  buf.writeUInt32BE(sorted.length, 8);
  buf.writeBigUInt64BE(BigInt(packSize), 12);
  let o = HEADER_V1;
  for (const e of sorted) {
    if (!/^[0-9a-f]{64}$/.test(e.id)) throw new StrataError('INVALID_ARGUMENT', `not an object id: ${JSON.stringify(e.id)}`);
    buf.write(e.id, o, 32, 'hex');
    buf.writeBigUInt64BE(BigInt(e.offset), o + 32);
    buf.writeBigUInt64BE(BigInt(e.size), o + 40);
    o += ENTRY;
  }
  return { bytes: buf, packId: hashBytes(buf) };
}

/** The size of a pack holding `entries` back to back (the end of the last one). */
export function packEnd(entries: readonly PackIndexEntry[]): number {
  let end = 0;
  for (const e of entries) end = Math.max(end, e.offset + e.size);
  return end;
}

/**
 * An index read in place: no object per entry, lookups by binary search over the raw bytes (a
 * fan-out table on the first id byte narrows each search).
 *
 * - `open(buf)` checks the whole index as decodePackIndex does (header, length, name, every entry
 *   inside the pack) in one pass without allocating, and says whether the ids are in order
 *   (`sorted`, what every writer produces; `find` needs it).
 * - `open(buf, { lazy: true })` checks only the header and length (constant time, for a local
 *   store opening an index of a million entries on every command): it assumes the order every
 *   writer produces, and `find` checks each entry it returns (an entry outside the pack reads as
 *   absent). `strata fsck` reads every index fully and reports one that is out of order or damaged.
 */
export class PackIndexView {
  private constructor(
    private readonly buf: Buffer,
    private readonly header: number,
    readonly count: number,
    readonly version: 0 | 1,
    readonly packSize: number,
    readonly sorted: boolean,
    private readonly fan: Uint32Array,
  ) {}

  static open(buf: Buffer, opts: { packId?: string; name?: string; lazy?: boolean } = {}): PackIndexView {
    const label = opts.name ?? (opts.packId !== undefined ? `${opts.packId}.idx` : '');
    const bad = (why: string) =>
      new StrataError('OBJECT_CORRUPT', `pack index ${label ? label + ' ' : ''}is corrupt: ${why}`, {
        hint: 'run strata fsck (strata fsck --repair refetches what the pack held)',
        details: { pack: opts.packId ?? opts.name, format: 'pack-index' },
      });
    let version: 0 | 1;
    let header: number;
    if (buf.length >= 4 && buf.subarray(0, 4).equals(MAGIC_V1)) {
      if (buf.length < HEADER_V1) throw bad(`truncated header (${buf.length} bytes)`);
      const v = buf.readUInt32BE(4);
      if (v !== PACK_INDEX_VERSION) {
        throw new StrataError('SCHEMA_TOO_NEW', `pack index ${label ? label + ' ' : ''}has version ${v}; this Strata reads versions 0 and ${PACK_INDEX_VERSION}`, { hint: 'upgrade strata' });
      }
      version = 1;
      header = HEADER_V1;
    } else if (buf.length >= MAGIC_V0.length && buf.subarray(0, MAGIC_V0.length).equals(MAGIC_V0)) {
      if (buf.length < HEADER_V0) throw bad(`truncated header (${buf.length} bytes)`);
      version = 0;
      header = HEADER_V0;
    } else {
      throw bad('bad magic');
    }
    const n = buf.readUInt32BE(version === 1 ? 8 : MAGIC_V0.length);
    if (buf.length !== header + ENTRY * n) throw bad(`length ${buf.length} does not match ${n} entries`);
    if (opts.packId !== undefined && hashBytes(buf) !== opts.packId) throw bad('content does not match its name');
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let declared = Number.MAX_SAFE_INTEGER;
    if (version === 1) {
      const hi = dv.getUint32(12);
      if (hi >= 0x200000) throw bad(`pack size ${buf.readBigUInt64BE(12)} is out of range`);
      declared = hi * TWO32 + dv.getUint32(16);
    }
    if (opts.lazy) {
      const fan = new Uint32Array(257);
      // The fan-out by binary search for each first byte (assuming order): 256 short searches.
      for (let byte = 1; byte <= 256; byte++) {
        let lo = fan[byte - 1]!;
        let hi = n;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (buf[header + ENTRY * mid]! < byte) lo = mid + 1;
          else hi = mid;
        }
        fan[byte] = lo;
      }
      // A version-0 index has no pack size: entries are checked against the largest safe value.
      return new PackIndexView(buf, header, n, version, declared, true, fan);
    }
    const fan = new Uint32Array(257);
    let end = 0;
    let sorted = true;
    let prevHead = -1;
    for (let i = 0, o = header; i < n; i++, o += ENTRY) {
      // offset and size: u64 big-endian, safe integers only (high word below 2^21).
      const oh = dv.getUint32(o + 32);
      const sh = dv.getUint32(o + 40);
      if (oh >= 0x200000) throw bad(`entry ${i} offset ${buf.readBigUInt64BE(o + 32)} is out of range`);
      if (sh >= 0x200000) throw bad(`entry ${i} size ${buf.readBigUInt64BE(o + 40)} is out of range`);
      const stop = oh * TWO32 + dv.getUint32(o + 36) + sh * TWO32 + dv.getUint32(o + 44);
      if (stop > declared) throw bad(`entry ${i} lies outside the pack`);
      if (stop > end) end = stop;
      // Order: by the first four bytes, and in full only when those are equal.
      const head = dv.getUint32(o);
      if (head < prevHead || (head === prevHead && buf.compare(buf, o, o + 32, o - ENTRY, o - ENTRY + 32) > 0)) sorted = false;
      prevHead = head;
      fan[(head >>> 24) + 1]!++;
    }
    for (let b = 1; b <= 256; b++) fan[b]! += fan[b - 1]!;
    return new PackIndexView(buf, header, n, version, version === 1 ? declared : end, sorted, fan);
  }

  idAt(i: number): string {
    const o = this.header + ENTRY * i;
    return this.buf.toString('hex', o, o + 32);
  }

  offsetAt(i: number): number {
    const o = this.header + ENTRY * i + 32;
    return this.buf.readUInt32BE(o) * TWO32 + this.buf.readUInt32BE(o + 4);
  }

  sizeAt(i: number): number {
    const o = this.header + ENTRY * i + 40;
    return this.buf.readUInt32BE(o) * TWO32 + this.buf.readUInt32BE(o + 4);
  }

  /**
   * The entry index of `id` (64 hex digits), or -1: absent, or an entry whose offset and size are
   * not safe integers inside the pack. Only for a sorted index.
   */
  find(id: string): number {
    if (!this.sorted) throw new TypeError('find() on an unsorted pack index');
    const key = Buffer.from(id, 'hex');
    if (key.length !== 32) return -1;
    let lo = this.fan[key[0]!]!;
    let hi = this.fan[key[0]! + 1]!;
    const buf = this.buf;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const o = this.header + ENTRY * mid;
      const c = buf.compare(key, 0, 32, o, o + 32);
      if (c === 0) {
        if (buf.readUInt32BE(o + 32) >= 0x200000 || buf.readUInt32BE(o + 40) >= 0x200000) return -1;
        return this.offsetAt(mid) + this.sizeAt(mid) <= this.packSize ? mid : -1;
      }
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  *entries(): IterableIterator<PackIndexEntry> {
    for (let i = 0; i < this.count; i++) yield { id: this.idAt(i), offset: this.offsetAt(i), size: this.sizeAt(i) };
  }
}

/**
 * Decode an index of any known version. `packId` (S3) also checks the bytes against their name;
 * `name` only labels error messages.
 */
export function decodePackIndex(buf: Buffer, opts: { packId?: string; name?: string } = {}): PackIndex {
  const v = PackIndexView.open(buf, opts);
  return { version: v.version, entries: [...v.entries()], packSize: v.packSize };
}
