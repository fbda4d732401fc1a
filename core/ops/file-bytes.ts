/**
 * The bytes of a file entry of a tree, for a reader that may ask for a byte range (the server's
 * GET /file with Range). The whole file goes through verifiedFileStream (core/ops/cat.ts).
 */
import { PassThrough, Transform, type Readable } from 'node:stream';
import { StrataError } from '../errors/index.js';
import { parseManifest, type TreeEntry } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { verifiedFileStream } from './cat.js';

/**
 * Stream bytes [start, end) of a file entry, verified (core/ops/cat.ts verifiedFileStream): small
 * files are checked whole before the first byte; chunked files chunk by chunk (each against its id
 * and declared size) and, for a whole-file request, against the file's id at the end. A range of a
 * chunked file reads and verifies each chunk it touches whole; the file's own id cannot be checked
 * without reading the whole file, so a range trusts the chunk list (itself verified by its id).
 */
export async function fileBytes(repo: Repository, e: TreeEntry, range: { start: number; end: number } | null, path = e.name): Promise<Readable> {
  if (e.type === 'dir') throw new StrataError('INVALID_ARGUMENT', `${e.name} is a directory`);
  if (!range) return verifiedFileStream(repo.store, path, e);
  if (e.type === 'file' && e.chunks) {
    const chunksId = e.chunks;
    let m;
    try {
      m = parseManifest(await repo.store.getBytes(chunksId, { verify: true }));
    } catch (err) {
      if (err instanceof StrataError && (err.code === 'OBJECT_CORRUPT' || err.code === 'OBJECT_MISSING')) {
        throw new StrataError(err.code, `${path}: chunk list ${chunksId}: ${err.message}`, { hint: err.hint, details: { path, id: chunksId } });
      }
      throw err;
    }
    if (m.size !== e.size) throw new StrataError('OBJECT_CORRUPT', `${path}: chunk list ${chunksId} declares ${m.size} bytes where the tree declares ${e.size}`, { hint: 'run strata fsck on the server repository', details: { path, id: chunksId } });
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    const { start, end } = range;
    void (async () => {
      try {
        let pos = 0;
        for (const [cid, size] of m.chunks) {
          const cs = pos;
          const ce = pos + size;
          pos = ce;
          if (ce <= start) continue;
          if (cs >= end) break;
          const buf = await repo.store.getBytes(cid, { verify: true });
          if (buf.length !== size) throw new StrataError('OBJECT_CORRUPT', `${path}: chunk ${cid} holds ${buf.length} bytes where the chunk list declares ${size}`, { details: { path, id: cid } });
          const piece = buf.subarray(Math.max(start, cs) - cs, Math.min(end, ce) - cs);
          if (!out.write(piece)) await new Promise((r) => out.once('drain', r));
        }
        out.end();
      } catch (err) {
        out.destroy(err as Error);
      }
    })();
    return out;
  }
  // A single object: verify it whole (small: before the first byte), then send the range.
  const whole = await verifiedFileStream(repo.store, path, e);
  let pos = 0;
  const slice = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const cs = pos;
      pos += chunk.length;
      const a = Math.max(range.start, cs) - cs;
      const b = Math.min(range.end, pos) - cs;
      cb(null, b > a ? chunk.subarray(a, b) : undefined);
    },
  });
  whole.on('error', (err) => slice.destroy(err));
  return whole.pipe(slice);
}
