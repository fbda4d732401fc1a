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

/**
 * Slicing-by-8 tables of a reflected 32-bit CRC polynomial. Int32Array, not Uint32Array: values
 * stay 32-bit integers in V8 (an unsigned value over 2^31 would become a double on every load).
 */
function crc32Tables(poly: number): Int32Array[] {
  const t: Int32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Int32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[0]![i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) t[k]![i] = (t[k - 1]![i]! >>> 8) ^ t[0]![t[k - 1]![i]! & 0xff]!;
  }
  return t;
}

let CRC32C: Int32Array[] | null = null;
let CRC32: Int32Array[] | null = null;

function crc32Update(tables: Int32Array[], crc: number, b: Buffer): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let c = ~crc | 0;
  let i = 0;
  const n = b.length;
  for (; i + 8 <= n; i += 8) {
    const lo = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
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

/**
 * CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5) slicing-by-8 tables, each entry as its
 * high and low 32-bit halves: hi[k][i], lo[k][i].
 */
let CRC64: { hi: Int32Array[]; lo: Int32Array[] } | null = null;
function crc64Tables(): { hi: Int32Array[]; lo: Int32Array[] } {
  const hi: Int32Array[] = [];
  const lo: Int32Array[] = [];
  for (let k = 0; k < 8; k++) {
    hi.push(new Int32Array(256));
    lo.push(new Int32Array(256));
  }
  const PH = 0x9a6c9329 | 0;
  const PL = 0xac4bc9b5 | 0;
  for (let i = 0; i < 256; i++) {
    let h = 0;
    let l = i;
    for (let j = 0; j < 8; j++) {
      const bit = l & 1;
      l = (l >>> 1) | (h << 31);
      h = h >>> 1;
      if (bit) {
        h ^= PH;
        l ^= PL;
      }
    }
    hi[0]![i] = h;
    lo[0]![i] = l;
  }
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const h = hi[k - 1]![i]!;
      const l = lo[k - 1]![i]!;
      const idx = l & 0xff;
      // (crc >>> 8) ^ table0[crc & 0xff]
      lo[k]![i] = ((l >>> 8) | (h << 24)) ^ lo[0]![idx]!;
      hi[k]![i] = (h >>> 8) ^ hi[0]![idx]!;
    }
  }
  return { hi, lo };
}

function crc64Update(t: { hi: Int32Array[]; lo: Int32Array[] }, state: { h: number; l: number }, b: Buffer): void {
  const [h0, h1, h2, h3, h4, h5, h6, h7] = t.hi as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  const [l0, l1, l2, l3, l4, l5, l6, l7] = t.lo as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let h = state.h;
  let l = state.l;
  let i = 0;
  const n = b.length;
  for (; i + 8 <= n; i += 8) {
    const xl = l ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    const xh = h ^ (b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24));
    const a0 = xl & 0xff;
    const a1 = (xl >>> 8) & 0xff;
    const a2 = (xl >>> 16) & 0xff;
    const a3 = xl >>> 24;
    const a4 = xh & 0xff;
    const a5 = (xh >>> 8) & 0xff;
    const a6 = (xh >>> 16) & 0xff;
    const a7 = xh >>> 24;
    l = l7[a0]! ^ l6[a1]! ^ l5[a2]! ^ l4[a3]! ^ l3[a4]! ^ l2[a5]! ^ l1[a6]! ^ l0[a7]!;
    h = h7[a0]! ^ h6[a1]! ^ h5[a2]! ^ h4[a3]! ^ h3[a4]! ^ h2[a5]! ^ h1[a6]! ^ h0[a7]!;
  }
  for (; i < n; i++) {
    const idx = (l ^ b[i]!) & 0xff;
    l = ((l >>> 8) | (h << 24)) ^ l0[idx]!;
    h = (h >>> 8) ^ h0[idx]!;
  }
  state.h = h;
  state.l = l;
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
  const t = (CRC64 ??= crc64Tables());
  const state = { h: -1, l: -1 };
  return {
    update: (d) => crc64Update(t, state, d),
    digest() {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(~state.h >>> 0, 0);
      b.writeUInt32BE(~state.l >>> 0, 4);
      return b;
    },
  };
}
