/**
 * Throughput of content-defined chunking + BLAKE3 hashing on a file in page cache.
 *
 *   npx tsx bench/chunk-throughput.ts [sizeMiB=1024] [runs=3]
 *
 * Writes a random file to the OS temp dir (removed afterwards), warms the page cache, then prints MB/s
 * (10^6 bytes/s, best and median of `runs`) for:
 *   read        : the chunkFile read loop alone (fh.read into a reused buffer), the I/O floor
 *   gear        : Chunker.push() over the same reads (cut points only, time inside push() only)
 *   hash-file   : whole-file BLAKE3 (streaming hasher over the reads)
 *   hash-chunks : one-shot BLAKE3 of every chunk (chunk bytes in memory)
 *   chunkFile   : chunkFile() end to end (read + gear + whole-file hash + chunk hashes), wall clock and
 *                 per CPU-second of the process (all threads)
 *   parallel    : chunkFileParallel() (core/chunk/parallel.ts: gear scan on a worker thread, hashes on the main
 *                 thread; same results), wall clock and per CPU-second; "fell back" if the worker did not start
 *   b3sum       : `b3sum` (all threads) and `b3sum --num-threads 1`, if installed
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chunker, DEFAULT_CHUNK_PARAMS, DEFAULT_READ_SIZE, chunkFile } from '../core/chunk/fastcdc.js';
import { chunkFileParallel } from '../core/chunk/parallel.js';
import { createHasher, hashBackend, hashBytes, initHash } from '../core/hash/index.js';

const MiB = 1024 * 1024;

async function writeRandomFile(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const buf = Buffer.allocUnsafe(8 * MiB);
    for (let left = size; left > 0; ) {
      const n = Math.min(left, buf.length);
      randomFillSync(buf, 0, n);
      await fh.write(buf, 0, n);
      left -= n;
    }
  } finally {
    await fh.close();
  }
}

/** Read the file in readSize blocks, calling fn on each; returns the time spent in fn (ms). */
async function eachBlock(path: string, fn: ((b: Buffer) => void) | null, readSize = DEFAULT_READ_SIZE): Promise<number> {
  const fh = await open(path, 'r');
  const buf = Buffer.allocUnsafe(readSize);
  let inFn = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      if (fn) {
        const t = performance.now();
        fn(buf.subarray(0, bytesRead));
        inFn += performance.now() - t;
      }
    }
  } finally {
    await fh.close();
  }
  return inFn;
}

function stats(size: number, ms: number[]): string {
  const rates = ms.map((m) => size / 1e6 / (m / 1000)).sort((a, b) => b - a);
  const median = rates[Math.floor(rates.length / 2)]!;
  return `${rates[0]!.toFixed(0).padStart(6)} MB/s best  ${median.toFixed(0).padStart(6)} MB/s median`;
}

async function measure(runs: number, fn: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await fn());
  return out;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function b3sumMs(path: string, args: string[], runs: number): number[] | null {
  const probe = spawnSync('b3sum', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return null;
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync('b3sum', [...args, path], { encoding: 'utf8' });
    out.push(performance.now() - t);
    if (r.status !== 0) return null;
  }
  return out;
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const runs = Number(process.argv[3] ?? 3);
  if (!(sizeMiB > 0) || !(runs >= 1)) throw new Error('usage: chunk-throughput.ts [sizeMiB] [runs]');
  await initHash();
  const size = Math.floor(sizeMiB * MiB);
  const dir = mkdtempSync(join(tmpdir(), 'strata-chunk-bench-'));
  const path = join(dir, 'random.bin');
  try {
    await writeRandomFile(path, size);
    await eachBlock(path, null); // page cache warm-up
    const p = DEFAULT_CHUNK_PARAMS;
    console.log(
      `file ${sizeMiB} MiB in ${dir}; params min ${p.minSize / 1024} KiB avg ${p.avgSize / 1024} KiB max ${p.maxSize / 1024} KiB; ` +
        `read size ${DEFAULT_READ_SIZE / MiB} MiB; hash backend ${hashBackend()}; node ${process.version}`,
    );

    const read = await measure(runs, () => timed(() => eachBlock(path, null)));
    console.log(`read         ${stats(size, read)}`);

    let cuts: number[] = [];
    const gear = await measure(runs, async () => {
      const c = new Chunker();
      const found: number[] = [];
      const ms = await eachBlock(path, (b) => {
        for (const e of c.push(b)) found.push(e);
      });
      found.push(...c.finish());
      cuts = found;
      return ms;
    });
    console.log(`gear         ${stats(size, gear)}   (${cuts.length} chunks, mean ${(size / cuts.length / 1024).toFixed(1)} KiB)`);

    const hashFile = await measure(runs, async () => {
      const h = createHasher();
      const ms = await eachBlock(path, (b) => h.update(b));
      const t = performance.now();
      h.digestHex();
      return ms + performance.now() - t;
    });
    console.log(`hash-file    ${stats(size, hashFile)}`);

    // Per-chunk one-shot hashes over an in-memory window of the file (at most 256 MiB held at once).
    const hashChunks = await measure(runs, async () => {
      let ms = 0;
      const fh = await open(path, 'r');
      try {
        const windowSize = Math.min(size, 256 * MiB);
        const win = Buffer.allocUnsafe(windowSize + p.maxSize);
        let winStart = 0;
        let filled = 0;
        let ci = 0;
        let chunkStart = 0;
        for (;;) {
          const { bytesRead } = await fh.read(win, filled, windowSize, null);
          filled += bytesRead;
          const t = performance.now();
          while (ci < cuts.length && cuts[ci]! <= winStart + filled) {
            hashBytes(win.subarray(chunkStart - winStart, cuts[ci]! - winStart));
            chunkStart = cuts[ci++]!;
          }
          ms += performance.now() - t;
          if (bytesRead === 0) break;
          const keep = winStart + filled - chunkStart;
          win.copyWithin(0, chunkStart - winStart, filled);
          winStart = chunkStart;
          filled = keep;
        }
      } finally {
        await fh.close();
      }
      return ms;
    });
    console.log(`hash-chunks  ${stats(size, hashChunks)}`);

    const cpu: number[] = [];
    const all = await measure(runs, async () => {
      const c0 = process.cpuUsage();
      const ms = await timed(() => chunkFile(path));
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      return ms;
    });
    console.log(`chunkFile    ${stats(size, all)}`);
    // Process CPU time (all threads): less sensitive to other load on a shared machine than wall time.
    console.log(`chunkFile    ${stats(size, cpu)}   (per CPU-second)`);
    const rate = (ms: number[]) => size / 1e6 / (Math.min(...ms) / 1000);
    const model = 1 / (1 / rate(gear) + 1 / rate(hashFile) + 1 / rate(hashChunks));
    console.log(`             (serial model from the best parts, reads overlapped: ${model.toFixed(0)} MB/s)`);

    const pcpu: number[] = [];
    let fellBack = false;
    let same = true;
    const ref = await chunkFile(path);
    const par = await measure(runs, async () => {
      const c0 = process.cpuUsage();
      let r: Awaited<ReturnType<typeof chunkFileParallel>> | undefined;
      const ms = await timed(async () => {
        r = await chunkFileParallel(path, undefined, { onFallback: () => (fellBack = true) });
      });
      const c = process.cpuUsage(c0);
      pcpu.push((c.user + c.system) / 1000);
      same &&= r!.id === ref.id && JSON.stringify(r!.chunks) === JSON.stringify(ref.chunks);
      return ms;
    });
    const note = `${fellBack ? 'FELL BACK to sequential; ' : ''}${same ? 'same chunks as chunkFile' : 'DIFFERENT CHUNKS'}`;
    console.log(`parallel     ${stats(size, par)}   (${note})`);
    console.log(`parallel     ${stats(size, pcpu)}   (per CPU-second)`);

    const b3 = b3sumMs(path, [], runs);
    const b3one = b3sumMs(path, ['--num-threads', '1'], runs);
    if (b3 && b3one) {
      console.log(`b3sum        ${stats(size, b3)}   (process start included)`);
      console.log(`b3sum -j1    ${stats(size, b3one)}`);
    } else {
      console.log('b3sum        not installed (apt-get install -y b3sum)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
