/**
 * Pack index (.idx) format, version 1 — documented in docs/remote-format.md.
 *
 *   offset  size  field
 *   0       4     magic "SIDX"
 *   4       4     version, uint32 big-endian (1)
 *   8       4     entry count N, uint32 BE
 *   12      8     pack size in bytes, uint64 BE
 *   20      48*N  entries sorted by id: id (32 raw bytes), offset uint64 BE, size uint64 BE
 *
 * The pack id is BLAKE3-256 (hex) of the whole .idx file, so an index can be checked against its
 * own name, and two packs can only share a name if they list the same objects at the same offsets
 * (which, objects being content-addressed, means the same bytes). The .pack file is the objects'
 * bytes concatenated, nothing else.
 */
import { StrataError } from '../../errors/index.js';
import { hashBytes } from '../../hash/index.js';

export interface IdxEntry {
  id: string;
  offset: number;
  size: number;
}

const MAGIC = Buffer.from('SIDX', 'ascii');
const VERSION = 1;
const HEADER = 20;
const ENTRY = 48;

export function encodeIdx(entries: IdxEntry[], packSize: number): { bytes: Buffer; packId: string } {
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const buf = Buffer.alloc(HEADER + ENTRY * sorted.length);
  MAGIC.copy(buf, 0);
  buf.writeUInt32BE(VERSION, 4);
  buf.writeUInt32BE(sorted.length, 8);
  buf.writeBigUInt64BE(BigInt(packSize), 12);
  let o = HEADER;
  for (const e of sorted) {
    buf.write(e.id, o, 32, 'hex');
    buf.writeBigUInt64BE(BigInt(e.offset), o + 32);
    buf.writeBigUInt64BE(BigInt(e.size), o + 40);
    o += ENTRY;
  }
  return { bytes: buf, packId: hashBytes(buf) };
}

export function decodeIdx(buf: Buffer, packId?: string): { entries: IdxEntry[]; packSize: number } {
  const bad = (why: string) =>
    new StrataError('OBJECT_CORRUPT', `pack index ${packId ?? ''}.idx is corrupt: ${why}`, { details: { pack: packId } });
  if (buf.length < HEADER || !buf.subarray(0, 4).equals(MAGIC)) throw bad('bad magic');
  const version = buf.readUInt32BE(4);
  if (version !== VERSION) {
    throw new StrataError('SCHEMA_TOO_NEW', `pack index ${packId ?? ''}.idx has version ${version}; this Strata reads version ${VERSION}`, {
      hint: 'upgrade strata',
    });
  }
  const n = buf.readUInt32BE(8);
  if (buf.length !== HEADER + ENTRY * n) throw bad(`length ${buf.length} does not match ${n} entries`);
  if (packId !== undefined && hashBytes(buf) !== packId) throw bad('content does not match its name');
  const packSize = Number(buf.readBigUInt64BE(12));
  const entries: IdxEntry[] = new Array(n);
  let o = HEADER;
  for (let i = 0; i < n; i++) {
    const offset = Number(buf.readBigUInt64BE(o + 32));
    const size = Number(buf.readBigUInt64BE(o + 40));
    if (offset + size > packSize) throw bad(`entry ${i} lies outside the pack`);
    entries[i] = { id: buf.toString('hex', o, o + 32), offset, size };
    o += ENTRY;
  }
  return { entries, packSize };
}
