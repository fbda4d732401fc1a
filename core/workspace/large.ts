/**
 * Large files are stored as content-defined chunks (core/chunk) plus a manifest object listing
 * them, so that a small edit of a huge file stores only the chunks that changed.
 */
import { stat } from 'node:fs/promises';
import { chunkFile, CHUNK_THRESHOLD } from '../chunk/fastcdc.js';
import { chunkFileParallel, PARALLEL_THRESHOLD } from '../chunk/parallel.js';
import { hashBytes } from '../hash/index.js';
import { serializeManifest } from '../model/index.js';
import type { BatchWriter } from '../store/types.js';

export { CHUNK_THRESHOLD };

/**
 * Chunk, hash and (when `batch` is given) store a large file (or several files read one after the
 * other as one content: the parts of a multipart upload). From PARALLEL_THRESHOLD up, the gear scan runs
 * on a worker thread while this thread hashes and stores (core/chunk/parallel.ts: same chunks and ids as the
 * sequential chunker; it falls back to it if the worker cannot start). STRATA_PARALLEL_CHUNKING=0 forces the
 * sequential path.
 */
export async function storeLargeFile(
  abs: string | readonly string[],
  batch: BatchWriter | null,
): Promise<{ id: string; size: number; manifest: string; chunks: string[] }> {
  const parallel = process.env.STRATA_PARALLEL_CHUNKING !== '0' && (await sizeOf(abs)) >= PARALLEL_THRESHOLD;
  // The chunkers reuse their buffers: the batch gets a copy of each chunk.
  const onChunk = batch ? (c: { id: string }, bytes: Buffer) => batch.add(c.id, Buffer.from(bytes)) : undefined;
  const r = parallel ? await chunkFileParallel(abs, onChunk) : await chunkFile(abs, onChunk);
  const m = serializeManifest({ size: r.size, chunks: r.chunks.map((c) => [c.id, c.size]) });
  const manifest = hashBytes(m);
  if (batch) await batch.add(manifest, m);
  return { id: r.id, size: r.size, manifest, chunks: r.chunks.map((c) => c.id) };
}

/** Bytes of a file, or of several read as one (the parts of a multipart upload). */
async function sizeOf(abs: string | readonly string[]): Promise<number> {
  let n = 0;
  for (const p of typeof abs === 'string' ? [abs] : abs) {
    try {
      n += (await stat(p)).size;
    } catch {
      /* let the chunker report the error */
    }
  }
  return n;
}

