/**
 * Seeded dataset generation. Sizes and positions come from a seeded PRNG (mulberry32); bytes come
 * from an AES-256-CTR keystream keyed by the seed, i.e. incompressible, deterministic and fast.
 * A dataset is reused when its manifest matches the requested parameters and the files on disk
 * match the manifest's count and total size.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { rmrf } from './proc.js';
import type { DatasetName, DatasetPaths, ScaleSpec } from './types.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const SCALES: Record<ScaleSpec['name'], ScaleSpec> = {
  full: {
    name: 'full',
    small: { files: 100_000, folders: 100, minBytes: 1 * KiB, maxBytes: 8 * KiB },
    large: { bytes: 1 * GiB, editRegions: 10, editFraction: 0.01, appendBytes: 64 * MiB },
    mixed: { files: 1000, minBytes: 64 * KiB, maxBytes: 2 * MiB },
  },
  quick: {
    name: 'quick',
    small: { files: 2000, folders: 100, minBytes: 1 * KiB, maxBytes: 8 * KiB },
    large: { bytes: 64 * MiB, editRegions: 10, editFraction: 0.01, appendBytes: 4 * MiB },
    mixed: { files: 50, minBytes: 64 * KiB, maxBytes: 2 * MiB },
  },
  tiny: {
    name: 'tiny',
    small: { files: 50, folders: 5, minBytes: 1 * KiB, maxBytes: 8 * KiB },
    large: { bytes: 4 * MiB, editRegions: 10, editFraction: 0.01, appendBytes: 256 * KiB },
    mixed: { files: 5, minBytes: 64 * KiB, maxBytes: 256 * KiB },
  },
};

/** Seeded 32-bit PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic incompressible byte stream. */
export class ByteStream {
  private cipher;
  private zeros = Buffer.alloc(16 * MiB);
  constructor(seed: number, label: string) {
    const key = createHash('sha256').update(`strata-bench:${seed}:${label}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }
  next(n: number): Buffer {
    if (n <= this.zeros.length) return this.cipher.update(this.zeros.subarray(0, n));
    return this.cipher.update(Buffer.alloc(n));
  }
}

function randInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

export function datasetPaths(base: string): DatasetPaths {
  return {
    small: join(base, 'small'),
    large: { base: join(base, 'large', 'base.bin'), edit: join(base, 'large', 'edit.bin'), append: join(base, 'large', 'append.bin') },
    mixed: join(base, 'mixed'),
  };
}

interface Manifest {
  format: 1;
  dataset: DatasetName;
  seed: number;
  params: unknown;
  files: number;
  bytes: number;
  description: string;
}

function countTree(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) stack.push(p);
      else {
        files++;
        bytes += statSync(p).size;
      }
    }
  }
  return { files, bytes };
}

function manifestPath(base: string, name: DatasetName): string {
  return join(base, `${name}.manifest.json`);
}

function dataDir(base: string, name: DatasetName): string {
  return join(base, name);
}

function reusable(base: string, name: DatasetName, seed: number, params: unknown): Manifest | null {
  const mp = manifestPath(base, name);
  if (!existsSync(mp) || !existsSync(dataDir(base, name))) return null;
  try {
    const m = JSON.parse(readFileSync(mp, 'utf8')) as Manifest;
    if (m.format !== 1 || m.seed !== seed || JSON.stringify(m.params) !== JSON.stringify(params)) return null;
    const c = countTree(dataDir(base, name));
    if (c.files !== m.files || c.bytes !== m.bytes) return null;
    return m;
  } catch {
    return null;
  }
}

function writeFileFromStream(path: string, bytes: number, stream: ByteStream): void {
  const fd = openSync(path, 'w');
  try {
    let left = bytes;
    while (left > 0) {
      const n = Math.min(left, 16 * MiB);
      writeSync(fd, stream.next(n));
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

function genSmall(dir: string, s: ScaleSpec['small'], seed: number): { files: number; bytes: number; description: string } {
  const rand = prng(seed ^ 0x5a11);
  const bytes = new ByteStream(seed, 'small');
  let total = 0;
  for (let d = 0; d < s.folders; d++) mkdirSync(join(dir, `d${String(d).padStart(3, '0')}`), { recursive: true });
  for (let i = 0; i < s.files; i++) {
    const size = randInt(rand, s.minBytes, s.maxBytes);
    const folder = `d${String(i % s.folders).padStart(3, '0')}`;
    writeFileSync(join(dir, folder, `f${String(i).padStart(6, '0')}.bin`), bytes.next(size));
    total += size;
  }
  return {
    files: s.files,
    bytes: total,
    description: `${s.files.toLocaleString('en-US')} files of ${s.minBytes / KiB}–${s.maxBytes / KiB} KiB (uniform) in ${s.folders} folders, ${(total / MiB).toFixed(1)} MiB`,
  };
}

function genLarge(dir: string, s: ScaleSpec['large'], seed: number): { files: number; bytes: number; description: string } {
  mkdirSync(dir, { recursive: true });
  const rand = prng(seed ^ 0x1a7e);
  const paths = datasetPaths(join(dir, '..')).large;
  writeFileFromStream(paths.base, s.bytes, new ByteStream(seed, 'large-base'));
  // edit: editFraction of the bytes rewritten, in editRegions regions placed at random inside
  // equal slices of the file (so they are scattered and never overlap).
  copyFileSync(paths.base, paths.edit);
  const edits = new ByteStream(seed, 'large-edit');
  const regionBytes = Math.floor((s.bytes * s.editFraction) / s.editRegions);
  const slice = Math.floor(s.bytes / s.editRegions);
  const fd = openSync(paths.edit, 'r+');
  const offsets: number[] = [];
  try {
    for (let r = 0; r < s.editRegions; r++) {
      const off = r * slice + Math.floor(rand() * (slice - regionBytes));
      offsets.push(off);
      writeSync(fd, edits.next(regionBytes), 0, regionBytes, off);
    }
  } finally {
    closeSync(fd);
  }
  copyFileSync(paths.base, paths.append);
  const afd = openSync(paths.append, 'a');
  try {
    const app = new ByteStream(seed, 'large-append');
    let left = s.appendBytes;
    while (left > 0) {
      const n = Math.min(left, 16 * MiB);
      writeSync(afd, app.next(n));
      left -= n;
    }
  } finally {
    closeSync(afd);
  }
  const total = 3 * s.bytes + s.appendBytes;
  return {
    files: 3,
    bytes: total,
    description:
      `base.bin ${fmtSize(s.bytes)}; edit.bin = base with ${(s.editFraction * 100).toFixed(0)}% of its bytes rewritten in ${s.editRegions} scattered regions of ${fmtSize(regionBytes)}; ` +
      `append.bin = base + ${fmtSize(s.appendBytes)} appended`,
  };
}

function genMixed(dir: string, s: ScaleSpec['mixed'], seed: number): { files: number; bytes: number; description: string } {
  mkdirSync(dir, { recursive: true });
  const rand = prng(seed ^ 0x3131);
  const bytes = new ByteStream(seed, 'mixed');
  let total = 0;
  for (let i = 0; i < s.files; i++) {
    const size = randInt(rand, s.minBytes, s.maxBytes);
    writeFileFromStream(join(dir, `m${String(i).padStart(4, '0')}.bin`), size, bytes);
    total += size;
  }
  return {
    files: s.files,
    bytes: total,
    description: `${s.files.toLocaleString('en-US')} files of ${fmtSize(s.minBytes)}–${fmtSize(s.maxBytes)} (uniform), ${(total / MiB).toFixed(1)} MiB`,
  };
}

export function fmtSize(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(2)} MiB`;
  if (n >= KiB) return `${(n / KiB).toFixed(n % KiB === 0 ? 0 : 1)} KiB`;
  return `${n} B`;
}

/**
 * Ensures the dataset exists under `base` (generating it if needed) and returns its description.
 */
export function ensureDataset(base: string, name: DatasetName, scale: ScaleSpec, seed: number, log: (m: string) => void): string {
  const params = scale[name];
  const existing = reusable(base, name, seed, params);
  if (existing) {
    log(`dataset ${name}: reusing ${dataDir(base, name)}`);
    return existing.description;
  }
  log(`dataset ${name}: generating under ${dataDir(base, name)} ...`);
  const t0 = Date.now();
  rmrf(dataDir(base, name));
  rmrf(manifestPath(base, name));
  mkdirSync(dataDir(base, name), { recursive: true });
  const g =
    name === 'small' ? genSmall(dataDir(base, name), scale.small, seed) : name === 'large' ? genLarge(dataDir(base, name), scale.large, seed) : genMixed(dataDir(base, name), scale.mixed, seed);
  const m: Manifest = { format: 1, dataset: name, seed, params, files: g.files, bytes: g.bytes, description: g.description };
  writeFileSync(manifestPath(base, name), JSON.stringify(m, null, 2) + '\n');
  log(`dataset ${name}: generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return g.description;
}
