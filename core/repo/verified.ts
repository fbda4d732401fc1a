import { PassThrough, Readable, Transform } from 'node:stream';
import { StrataError, isStrataError } from '../errors/index.js';
import { createHasher, hashBytes } from '../hash/index.js';
import { parseManifest, type FileEntry, type SymlinkEntry } from '../model/index.js';
import type { ObjectStore } from '../store/types.js';

/** Files up to this size are read whole and verified before the first byte is written. */
const CAT_BUFFER_MAX = 16 << 20;

function catCorrupt(path: string, id: string, why: string): StrataError {
  return new StrataError('OBJECT_CORRUPT', `${path}: object ${id} is corrupt (${why})`, {
    hint: 'run strata fsck to list every damaged object, then fetch it again from a remote that has it (strata fetch / strata pull)',
    details: { path, id },
  });
}

function nameErrors(path: string, id: string, e: unknown): unknown {
  if (isStrataError(e, 'OBJECT_MISSING')) {
    return new StrataError('OBJECT_MISSING', `${path}: object ${id} is not in the object store`, {
      hint: 'fetch it (strata fetch, or strata pull) from a remote that has it; strata fsck lists every missing object',
      details: { path, id },
    });
  }
  if (isStrataError(e, 'OBJECT_CORRUPT') && !(e.details && 'path' in e.details)) return catCorrupt(path, id, e.message);
  return e;
}

/**
 * The verified bytes of a file entry, as a stream. Every byte is checked before it is emitted where
 * that is possible: small files are read whole and verified first (a corrupt one fails before any
 * output); a chunked file is emitted chunk by chunk, each chunk verified against its id and declared
 * size first, and the whole content against the file's id at the end (a chunk list of sound but
 * unrelated chunks fails there, after its bytes were emitted: the stream ends with the error).
 */
export async function verifiedFileStream(store: ObjectStore, path: string, e: FileEntry | SymlinkEntry): Promise<Readable> {
  const whole = (got: string, size: number): void => {
    if (size !== e.size) throw catCorrupt(path, e.id, `it holds ${size} bytes where the tree declares ${e.size}`);
    if (got !== e.id) throw catCorrupt(path, e.id, `the content hashes to ${got}`);
  };
  if (e.type === 'file' && e.chunks) {
    const chunksId = e.chunks;
    let m;
    try {
      m = parseManifest(await store.getBytes(chunksId, { verify: true }));
    } catch (err) {
      throw nameErrors(path, chunksId, err);
    }
    if (m.size !== e.size) throw catCorrupt(path, chunksId, `the chunk list declares ${m.size} bytes where the tree declares ${e.size}`);
    const manifest = m;
    // The first chunk is read before returning: a missing/corrupt first chunk fails before any output.
    const first = manifest.chunks.length ? await readChunk(store, path, manifest.chunks[0]!) : null;
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    void (async () => {
      try {
        const h = createHasher();
        let size = 0;
        for (let i = 0; i < manifest.chunks.length; i++) {
          const b = i === 0 ? first! : await readChunk(store, path, manifest.chunks[i]!);
          h.update(b);
          size += b.length;
          if (!out.write(b)) await new Promise((r) => out.once('drain', r));
        }
        whole(h.digestHex(), size);
        out.end();
      } catch (err) {
        out.destroy(nameErrors(path, e.id, err) as Error);
      }
    })();
    return out;
  }
  if (e.size <= CAT_BUFFER_MAX) {
    let buf: Buffer;
    try {
      // A local object's size is one stat away: a wrong declared size fails before a big read.
      if (store.kind === 'local') {
        const st = await store.stat(e.id);
        if (st && st.size !== e.size) throw catCorrupt(path, e.id, `it holds ${st.size} bytes where the tree declares ${e.size}`);
      }
      buf = await store.getBytes(e.id);
    } catch (err) {
      throw nameErrors(path, e.id, err);
    }
    whole(buf.length === e.size ? hashBytes(buf) : '', buf.length);
    return Readable.from([buf]);
  }
  // A large single object: hash while streaming, fail at the end if it does not match.
  let src: Readable;
  try {
    src = await store.get(e.id);
  } catch (err) {
    throw nameErrors(path, e.id, err);
  }
  const h = createHasher();
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      size += chunk.length;
      if (size > e.size) return cb(catCorrupt(path, e.id, `it holds more than the ${e.size} bytes the tree declares`));
      cb(null, chunk);
    },
    flush(cb) {
      try {
        whole(h.digestHex(), size);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  src.on('error', (err) => check.destroy(nameErrors(path, e.id, err) as Error));
  return src.pipe(check);
}

async function readChunk(store: ObjectStore, path: string, [cid, csize]: [string, number]): Promise<Buffer> {
  let b: Buffer;
  try {
    b = await store.getBytes(cid, { verify: true });
  } catch (err) {
    throw nameErrors(path, cid, err);
  }
  if (b.length !== csize) throw catCorrupt(path, cid, `chunk of ${b.length} bytes where the chunk list declares ${csize}`);
  return b;
}
