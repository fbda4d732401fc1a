/**
 * Large files are stored as content-defined chunks (core/chunk) plus a manifest object listing
 * them, so that a small edit of a huge file stores only the chunks that changed.
 */
import { chunkFile, CHUNK_THRESHOLD } from '../chunk/fastcdc.js';
import { hashBytes } from '../hash/index.js';
import { serializeManifest } from '../model/index.js';
import type { BatchWriter } from '../store/types.js';

export { CHUNK_THRESHOLD };

export async function storeLargeFile(abs: string, batch: BatchWriter | null): Promise<{ id: string; size: number; manifest: string }> {
  const r = await chunkFile(abs, batch ? async (c, bytes) => batch.add(c.id, Buffer.from(bytes)) : undefined);
  const m = serializeManifest({ size: r.size, chunks: r.chunks.map((c) => [c.id, c.size]) });
  const manifest = hashBytes(m);
  if (batch) await batch.add(manifest, m);
  return { id: r.id, size: r.size, manifest };
}
