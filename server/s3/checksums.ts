/**
 * The S3 "flexible checksums" of a payload: CRC32, CRC32C, CRC64NVME, SHA1, SHA256, each sent and
 * answered as the base64 of the big-endian checksum (x-amz-checksum-<name>). CRC32 uses zlib's
 * native crc32 where Node has it (20.15+); CRC32C and CRC64NVME are table-driven here.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';

export type ChecksumAlgorithm = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';

/** Digest length in bytes of each algorithm (a sent value of another length is malformed). */
export const CHECKSUM_BYTES: Record<ChecksumAlgorithm, number> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 };

export interface Checksum {
  update(data: Buffer): void;
  /** The checksum, big-endian bytes (call once, after the last update). */
  digest(): Buffer;
}

/** Slicing-by-8 tables of a reflected 32-bit CRC polynomial. */
function crc32Tables(poly: number): Uint32Array[] {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[0]![i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) t[k]![i] = (t[k - 1]![i]! >>> 8) ^ t[0]![t[k - 1]![i]! & 0xff]!;
  }
  return t;
}

let CRC32C: Uint32Array[] | null = null;
let CRC32: Uint32Array[] | null = null;

function crc32Update(tables: Uint32Array[], crc: number, b: Buffer): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const n = b.length;
  for (; i + 8 <= n; i += 8) {
    const lo = (c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))) >>> 0;
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[b[i + 4]!]! ^
      t2[b[i + 5]!]! ^
      t1[b[i + 6]!]! ^
      t0[b[i + 7]!]!;
  }
  for (; i < n; i++) c = t0[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-64/NVME tables (reflected polynomial 0x9A6C9329AC4BC9B5), as high and low 32-bit halves. */
let CRC64: { hi: Uint32Array; lo: Uint32Array } | null = null;
function crc64Tables(): { hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  const PH = 0x9a6c9329;
  const PL = 0xac4bc9b5;
  for (let i = 0; i < 256; i++) {
    let h = 0;
    let l = i;
    for (let j = 0; j < 8; j++) {
      const bit = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (bit) {
        h = (h ^ PH) >>> 0;
        l = (l ^ PL) >>> 0;
      }
    }
    hi[i] = h;
    lo[i] = l;
  }
  return { hi, lo };
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A running checksum of the given algorithm. */
export function createChecksum(alg: ChecksumAlgorithm): Checksum {
  if (alg === 'sha1' || alg === 'sha256') {
    const h = createHash(alg);
    return { update: (d) => void h.update(d), digest: () => h.digest() };
  }
  if (alg === 'crc32') {
    const native = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;
    let c = 0;
    if (native) return { update: (d) => void (c = native(d, c)), digest: () => u32be(c) };
    const t = (CRC32 ??= crc32Tables(0xedb88320));
    return { update: (d) => void (c = crc32Update(t, c, d)), digest: () => u32be(c) };
  }
  if (alg === 'crc32c') {
    const t = (CRC32C ??= crc32Tables(0x82f63b78));
    let c = 0;
    return { update: (d) => void (c = crc32Update(t, c, d)), digest: () => u32be(c) };
  }
  const { hi, lo } = (CRC64 ??= crc64Tables());
  let h = 0xffffffff;
  let l = 0xffffffff;
  return {
    update(d) {
      for (let i = 0; i < d.length; i++) {
        const idx = (l ^ d[i]!) & 0xff;
        // (crc >>> 8) ^ table[idx], in two 32-bit halves
        const nl = ((l >>> 8) | ((h & 0xff) << 24)) >>> 0;
        const nh = h >>> 8;
        l = (nl ^ lo[idx]!) >>> 0;
        h = (nh ^ hi[idx]!) >>> 0;
      }
    },
    digest() {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(~h >>> 0, 0);
      b.writeUInt32BE(~l >>> 0, 4);
      return b;
    },
  };
}
