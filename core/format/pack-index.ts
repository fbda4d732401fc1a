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
 * Decode an index of any known version. `packId` (S3) also checks the bytes against their name;
 * `name` only labels error messages.
 */
export function decodePackIndex(buf: Buffer, opts: { packId?: string; name?: string } = {}): PackIndex {
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
  const u64 = (o: number, what: string): number => {
    const v = buf.readBigUInt64BE(o);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${what} ${v} is out of range`);
    return Number(v);
  };
  const declared = version === 1 ? u64(12, 'pack size') : Number.MAX_SAFE_INTEGER;
  const entries: PackIndexEntry[] = new Array(n);
  let o = header;
  let end = 0;
  for (let i = 0; i < n; i++) {
    const offset = u64(o + 32, `entry ${i} offset`);
    const size = u64(o + 40, `entry ${i} size`);
    if (offset + size > declared) throw bad(`entry ${i} lies outside the pack`);
    end = Math.max(end, offset + size);
    entries[i] = { id: buf.toString('hex', o, o + 32), offset, size };
    o += ENTRY;
  }
  return { version, entries, packSize: version === 1 ? declared : end };
}
