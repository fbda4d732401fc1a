/**
 * chunkFile() on two threads, with results identical to the sequential chunker (same cuts, same ids).
 *
 * Design: a two-stage pipeline over one sequential read of the file.
 *   worker thread (worker.ts): read 8 MiB blocks + gear scan (the ordinary Chunker)    ~0.55 CPU-s/GiB
 *   main thread:               whole-file BLAKE3 + per-chunk BLAKE3 + onChunk (stores)  ~0.5 CPU-s/GiB
 * Blocks travel as transferred ArrayBuffers (no copy) from a small pool that the main thread hands back to
 * the worker, so memory is poolSize * readSize (~32 MiB) whatever the file size.
 *
 * Why not split the file into regions chunked independently and stitched at a sync cut? On two cores the
 * two stages above are already balanced (the gear scan is about half of the CPU work, hashing and storing
 * the other half); the file is read once instead of twice (with regions the whole-file BLAKE3, which is the
 * file's id, needs its own sequential pass: this BLAKE3 API cannot combine the states of two regions); chunk
 * bytes never have to be held out of file order; and cut points are the sequential chunker's by
 * construction, so there is no stitching to get wrong and no slow case (runs of zeros, cut at maxSize,
 * never resynchronise two regions). Regions only pay off beyond two cores; they can be layered on later
 * (one scanning worker per region).
 *
 * If the worker cannot start (worker threads unavailable, script missing...), falls back to chunkFile().
 */
import { MessageChannel, Worker, type WorkerOptions } from 'node:worker_threads';
import { StrataError, fromSystemError } from '../errors/index.js';
import { createHasher, hashBytes, initHash } from '../hash/index.js';
import { Chunker, DEFAULT_CHUNK_PARAMS, DEFAULT_READ_SIZE, chunkFile, type ChunkInfo, type ChunkerParams } from './fastcdc.js';
import { CTL_ABORT, CTL_CONSUMED, type ChunkWorkerInput, type ChunkWorkerMessage } from './worker.js';

/** Files at or above this size use the parallel path in storeLargeFile (below it, starting a worker (~30 ms) does not pay). */
export const PARALLEL_THRESHOLD = 64 * 1024 * 1024;

/** Block buffers (of readSize) shared between the worker and the main thread. */
const DEFAULT_POOL_SIZE = 4;

/** The main thread hashes each block in slices of this size (whole-file hash and chunk hashes find the bytes in cache). */
const PROCESS_SLICE = 1024 * 1024;

/**
 * The worker script: dist/core/chunk/worker.js next to this file. When running from the TypeScript sources
 * under tsx (benches), tsx's loader is not active in worker threads, so the worker first registers it.
 */
function startWorker(url: URL | undefined, options: WorkerOptions): Worker {
  if (url || !import.meta.url.endsWith('.ts')) return new Worker(url ?? new URL('./worker.js', import.meta.url), options);
  const api = import.meta.resolve('tsx/esm/api');
  const script = new URL('./worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); });`;
  return new Worker(code, { ...options, eval: true });
}

export interface ParallelChunkOptions {
  params?: ChunkerParams;
  readSize?: number;
  /** Number of block buffers (default 4): memory is poolSize * readSize. */
  poolSize?: number;
  /** Worker script (tests point it at a missing file to exercise the fallback). */
  workerUrl?: URL;
  /** Called when the worker could not start and the sequential chunker was used instead. */
  onFallback?: (reason: unknown) => void;
}

export interface ChunkFileResult {
  id: string;
  size: number;
  chunks: ChunkInfo[];
}

/** The worker failed before delivering anything: nothing was passed to onChunk yet, so falling back is safe. */
class WorkerStartError extends Error {}

/** Messages from the worker, awaited one at a time; a worker failure is reported after the messages it sent. */
class Inbox {
  private items: ChunkWorkerMessage[] = [];
  private head = 0;
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;

  push(m: ChunkWorkerMessage): void {
    this.items.push(m);
    this.wake();
  }

  fail(e: Error): void {
    this.failure ??= e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async next(): Promise<ChunkWorkerMessage> {
    for (;;) {
      if (this.head < this.items.length) {
        const m = this.items[this.head]!;
        this.items[this.head++] = undefined as unknown as ChunkWorkerMessage; // let the block be collected
        if (this.head > 64 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        return m;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
}

/**
 * Same contract and results as chunkFile(): whole-file BLAKE3 id, size and chunks (in file order, each with its
 * BLAKE3 id); onChunk is awaited for each chunk in file order and its `bytes` are valid only during the call.
 */
export async function chunkFileParallel(
  path: string | readonly string[],
  onChunk?: (c: ChunkInfo, bytes: Buffer) => Promise<void> | void,
  opts: ParallelChunkOptions = {},
): Promise<ChunkFileResult> {
  const params = opts.params ?? DEFAULT_CHUNK_PARAMS;
  new Chunker(params); // validates the parameters (throws INVALID_ARGUMENT) before starting a thread
  const readSize = opts.readSize ?? DEFAULT_READ_SIZE;
  if (!Number.isSafeInteger(readSize) || readSize < 1 || readSize > 1 << 30) {
    throw new StrataError('INVALID_ARGUMENT', `invalid readSize ${readSize}`);
  }
  const poolSize = Math.max(1, opts.poolSize ?? DEFAULT_POOL_SIZE);
  await initHash();

  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const { port1: returnPort, port2: workerReturnPort } = new MessageChannel();
  const label = typeof path === 'string' ? path : (path[0] ?? '(no file)');
  const input: ChunkWorkerInput = { kind: 'strata-chunk-worker', path: typeof path === 'string' ? path : [...path], readSize, params: { ...params }, poolSize, control, returnPort: workerReturnPort };
  const sequential = (reason: unknown) => {
    opts.onFallback?.(reason);
    return chunkFile(path, onChunk, { params, readSize });
  };

  let worker: Worker;
  try {
    worker = startWorker(opts.workerUrl, { workerData: input, transferList: [workerReturnPort], stdout: false, stderr: false });
  } catch (e) {
    returnPort.close();
    return sequential(e);
  }
  const inbox = new Inbox();
  let delivered = false; // the worker has sent at least one message (so it did start)
  let ended = false;
  worker.on('message', (m: ChunkWorkerMessage) => {
    delivered = true;
    if (m.type === 'end') ended = true;
    inbox.push(m);
  });
  worker.on('error', (e) => inbox.fail(delivered ? e : new WorkerStartError(String(e?.message ?? e), { cause: e })));
  worker.on('exit', (code) => {
    if (ended) return;
    const msg = `chunk worker exited (code ${code}) before the end of ${label}`;
    inbox.fail(delivered ? new Error(msg) : new WorkerStartError(msg));
  });

  try {
    const whole = createHasher();
    const chunks: ChunkInfo[] = [];
    const emit = async (offset: number, bytes: Buffer) => {
      const info: ChunkInfo = { offset, size: bytes.length, id: hashBytes(bytes) };
      chunks.push(info);
      if (onChunk) await onChunk(info, bytes);
    };
    let chunkStart = 0; // absolute offset of the pending chunk
    const carry = Buffer.allocUnsafe(params.maxSize); // its bytes from earlier blocks (blocks go back to the worker)
    let carryLen = 0;
    let blockStart = 0;
    for (;;) {
      const m = await inbox.next();
      if (m.type === 'error') {
        const err = Object.assign(new Error(m.error.message), m.error) as NodeJS.ErrnoException;
        throw fromSystemError(err, err.path ?? label);
      }
      if (m.type === 'end') {
        if (m.size !== blockStart) throw new StrataError('INTERNAL', `chunk worker reported ${m.size} bytes, received ${blockStart}`);
        for (const end of m.cuts) {
          if (carryLen !== end - chunkStart) throw new StrataError('INTERNAL', `chunk worker's last cut ${end} does not match the bytes received`);
          await emit(chunkStart, carry.subarray(0, carryLen));
          carryLen = 0;
          chunkStart = end;
        }
        if (chunkStart !== blockStart) throw new StrataError('INTERNAL', `chunk worker left bytes ${chunkStart}..${blockStart} unchunked`);
        return { id: whole.digestHex(), size: blockStart, chunks };
      }
      if (m.offset !== blockStart) throw new StrataError('INTERNAL', `chunk worker sent block at ${m.offset}, expected ${blockStart}`);
      const block = Buffer.from(m.buf, 0, m.length);
      const n = m.length;
      const cuts = m.cuts;
      let ci = 0;
      for (let s = 0; s < n; s += PROCESS_SLICE) {
        const sliceEnd = Math.min(n, s + PROCESS_SLICE);
        whole.update(block.subarray(s, sliceEnd));
        while (ci < cuts.length && cuts[ci]! - blockStart <= sliceEnd) {
          const endRel = cuts[ci++]! - blockStart;
          let bytes: Buffer;
          if (chunkStart < blockStart) {
            block.copy(carry, carryLen, 0, endRel);
            bytes = carry.subarray(0, carryLen + endRel);
            carryLen = 0;
          } else {
            bytes = block.subarray(chunkStart - blockStart, endRel);
          }
          await emit(chunkStart, bytes);
          chunkStart = blockStart + endRel;
        }
      }
      if (ci !== cuts.length) throw new StrataError('INTERNAL', 'chunk worker sent a cut outside its block');
      if (chunkStart < blockStart + n) {
        const from = Math.max(0, chunkStart - blockStart);
        block.copy(carry, carryLen, from, n);
        carryLen += n - from;
      }
      blockStart += n;
      returnPort.postMessage(m.buf, [m.buf]); // back to the worker for reuse (`block` is detached now)
      Atomics.add(ctl, CTL_CONSUMED, 1);
      Atomics.notify(ctl, CTL_CONSUMED);
    }
  } catch (e) {
    if (e instanceof WorkerStartError) return sequential(e.cause ?? e);
    throw e;
  } finally {
    Atomics.store(ctl, CTL_ABORT, 1);
    Atomics.notify(ctl, CTL_CONSUMED);
    await worker.terminate().catch(() => undefined);
    returnPort.close();
  }
}
