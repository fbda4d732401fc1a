/**
 * Worker-thread entry of the two-thread chunker (core/chunk/parallel.ts). Not imported by anything:
 * parallel.ts starts it with new Worker(new URL('./worker.js', import.meta.url)).
 *
 * The worker is the first stage of a pipeline: it reads the file sequentially in large blocks and runs the
 * gear scan (the ordinary Chunker, so the cut points are by construction those of the sequential chunker),
 * then hands each block to the main thread together with the cuts that fall in it. Each block is a fresh
 * ArrayBuffer that is transferred (not copied), so the main thread can hash it and give sub-slices of it to
 * the pack writer without copying. The worker never hashes: BLAKE3 (whole file and per chunk) and the store
 * writes run on the main thread, in parallel with the scan of the next blocks.
 *
 * Flow control and memory: the worker owns a pool of at most `poolSize` block buffers. Each block is
 * transferred (not copied) to the main thread, which transfers it back on `returnPort` once it is done with
 * it and bumps control[0]; the worker waits (Atomics.wait) when all its buffers are with the main thread.
 * So memory stays at poolSize * readSize however large the file is, and buffers are reused (a fresh 8 MiB
 * buffer per block costs ~0.15 s/GiB of page faults). control[1] is an abort flag.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { Chunker, type ChunkerParams } from './fastcdc.js';

export interface ChunkWorkerInput {
  /** Marker: this module is also imported (for its types and constants) by code that may itself run in a worker. */
  kind: 'strata-chunk-worker';
  /** The file, or files read one after the other as one stream. */
  path: string | string[];
  readSize: number;
  params: ChunkerParams;
  /** Number of block buffers (the most the worker can be ahead of the main thread). */
  poolSize: number;
  /** Int32Array view: [0] buffers returned by the main thread, [1] abort flag. */
  control: SharedArrayBuffer;
  /** The main thread sends block ArrayBuffers back on this port for reuse. */
  returnPort: MessagePort;
}

export type ChunkWorkerMessage =
  /** `buf` holds `length` bytes of the file starting at `offset`; `cuts` are the absolute chunk END offsets found in it. */
  | { type: 'block'; offset: number; length: number; buf: ArrayBuffer; cuts: number[] }
  /** End of file: total size and the final cut (the pending partial chunk), if any. */
  | { type: 'end'; size: number; cuts: number[] }
  | { type: 'error'; error: { message: string; code?: string; errno?: number; syscall?: string; path?: string } };

export const CTL_CONSUMED = 0;
export const CTL_ABORT = 1;

function run(input: ChunkWorkerInput, post: (m: ChunkWorkerMessage, transfer?: ArrayBuffer[]) => void): void {
  const ctl = new Int32Array(input.control);
  const chunker = new Chunker(input.params);
  const paths = typeof input.path === 'string' ? [input.path] : input.path;
  let fi = 0;
  let fd = paths.length ? openSync(paths[0]!, 'r') : -1;
  let filePos = 0;
  // Fill buf[from..] from the files in order; fewer bytes only at the end of the last file.
  const fill = (buf: Buffer, from: number): number => {
    let n = from;
    while (n < buf.length && fd >= 0) {
      const r = readSync(fd, buf, n, buf.length - n, filePos);
      if (r > 0) {
        n += r;
        filePos += r;
        continue;
      }
      closeSync(fd);
      fd = -1;
      filePos = 0;
      if (++fi < paths.length) fd = openSync(paths[fi]!, 'r');
    }
    return n - from;
  };
  try {
    let pos = 0;
    let allocated = 0;
    let returned = 0; // buffers taken back from returnPort
    const free: ArrayBuffer[] = [];
    const take = (): ArrayBuffer | null => {
      for (;;) {
        if (Atomics.load(ctl, CTL_ABORT) !== 0) return null;
        const m = receiveMessageOnPort(input.returnPort);
        if (m) {
          returned++;
          free.push(m.message as ArrayBuffer);
        }
        const b = free.pop();
        if (b) return b;
        if (allocated < input.poolSize) {
          allocated++;
          return new ArrayBuffer(input.readSize);
        }
        // All buffers are with the main thread: wait until it returns one (it posts, then bumps the counter).
        const c = Atomics.load(ctl, CTL_CONSUMED);
        if (c <= returned) Atomics.wait(ctl, CTL_CONSUMED, c, 1000);
      }
    };
    for (;;) {
      const ab = take();
      if (ab === null) return;
      const buf = Buffer.from(ab);
      const n = fill(buf, 0);
      if (n === 0) break;
      const cuts = chunker.push(n === buf.length ? buf : buf.subarray(0, n));
      post({ type: 'block', offset: pos, length: n, buf: ab, cuts }, [ab]);
      pos += n;
      if (n < buf.length) break; // short read only at end of file
    }
    post({ type: 'end', size: pos, cuts: chunker.finish() });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

if (parentPort && (workerData as Partial<ChunkWorkerInput> | null)?.kind === 'strata-chunk-worker') {
  const port = parentPort;
  try {
    run(workerData as ChunkWorkerInput, (m, transfer) => port.postMessage(m, transfer));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    port.postMessage({
      type: 'error',
      error: { message: String(err?.message ?? e), code: err?.code, errno: err?.errno, syscall: err?.syscall, path: err?.path },
    } satisfies ChunkWorkerMessage);
  }
}
