/**
 * Identify workspace files (content id, size, chunks) and optionally store them:
 * - small files (< PACK_OBJECT_MAX): read whole, hashed, packed through the store's batch writer;
 * - medium files: streamed once through the hasher into a temp file that becomes a loose object;
 * - large files (>= CHUNK_THRESHOLD): content-defined chunks, each packed, plus a manifest object.
 * The stat cache short-circuits all of it for files that have not changed.
 */
import * as fsp from 'node:fs/promises';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError } from '../errors/index.js';
import { createHasher, hashBytes } from '../hash/index.js';
import type { StatRow } from '../meta/db.js';
import type { Repository } from '../repo/index.js';
import { PACK_OBJECT_MAX, type BatchWriter } from '../store/types.js';
import { cachedId, type WorkFile } from './scan.js';
import { storeLargeFile, CHUNK_THRESHOLD } from './large.js';

export interface Identified {
  id: string;
  size: number;
  chunks: string | null;
  target: string | null;
}

export interface IngestProgress {
  files: number;
  bytes: number;
}

export class Ingestor {
  readonly statUpdates: StatRow[] = [];
  readonly progress: IngestProgress = { files: 0, bytes: 0 };
  private batch: BatchWriter | null;
  private readonly statCache: Map<string, StatRow>;

  constructor(
    private readonly repo: Repository,
    opts: { store: boolean; statCache: Map<string, StatRow> },
  ) {
    this.batch = opts.store ? repo.store.batch() : null;
    this.statCache = opts.statCache;
  }

  get storing(): boolean {
    return this.batch !== null;
  }

  /** Content of a workspace file. Uses the stat cache when it can prove the file unchanged. */
  async identify(wf: WorkFile, scanStart: number): Promise<Identified> {
    const abs = join(this.repo.root, wf.path);
    if (wf.type === 'symlink') {
      let target: string;
      try {
        target = await fsp.readlink(abs);
      } catch (e) {
        throw fromSystemError(e, abs);
      }
      const bytes = Buffer.from(target, 'utf8');
      const id = hashBytes(bytes);
      if (this.batch) await this.batch.add(id, bytes);
      this.progress.files++;
      return { id, size: bytes.length, chunks: null, target };
    }
    const cached = cachedId(wf, this.statCache.get(wf.path));
    if (cached && (!this.batch || (await this.repo.localStore().knows(cached.chunks ?? cached.id, wf.size >= PACK_OBJECT_MAX)))) {
      this.progress.files++;
      this.progress.bytes += wf.size;
      return { id: cached.id, size: wf.size, chunks: cached.chunks, target: null };
    }
    let result: Identified;
    try {
      if (wf.size < PACK_OBJECT_MAX) {
        const buf = readSmall(abs, wf.size);
        const id = hashBytes(buf);
        if (this.batch) await this.batch.add(id, buf);
        result = { id, size: buf.length, chunks: null, target: null };
      } else if (wf.size < CHUNK_THRESHOLD) {
        result = await this.mediumFile(abs);
      } else {
        const r = await storeLargeFile(abs, this.batch);
        result = { id: r.id, size: r.size, chunks: r.manifest, target: null };
      }
    } catch (e) {
      throw fromSystemError(e, abs);
    }
    this.progress.files++;
    this.progress.bytes += result.size;
    // Cache only if the file did not change while we read it (same size as stat'd).
    if (result.size === wf.size) {
      this.statUpdates.push({
        path: wf.path,
        size: wf.size,
        mtime: wf.mtime,
        ctime: wf.ctime,
        ino: wf.ino,
        id: result.id,
        chunks: result.chunks,
        recorded: scanStart,
      });
    }
    return result;
  }

  /** Stream once: hash and (when storing) write a temp file that is renamed into the store. */
  private async mediumFile(abs: string): Promise<Identified> {
    const src = await fsp.open(abs, 'r');
    const h = createHasher();
    let size = 0;
    let tmp: string | null = null;
    let out: fsp.FileHandle | null = null;
    try {
      if (this.batch) {
        await fsp.mkdir(join(this.repo.localStore().root, 'tmp'), { recursive: true });
        tmp = this.repo.localStore().newTmp('obj');
        out = await fsp.open(tmp, 'w', 0o444);
      }
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        const part = buf.subarray(0, bytesRead);
        h.update(part);
        if (out) await out.write(part);
        size += bytesRead;
      }
      const id = h.digestHex();
      if (out && tmp) {
        if (this.repo.localStore().fsyncEnabled) await out.sync();
        await out.close();
        out = null;
        await this.repo.localStore().adoptTmp(id, tmp);
        tmp = null;
      }
      return { id, size, chunks: null, target: null };
    } finally {
      await src.close();
      if (out) await out.close().catch(() => undefined);
      if (tmp) await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  async finish(): Promise<void> {
    if (this.batch) await this.batch.finish();
    this.batch = null;
  }

  async abort(): Promise<void> {
    if (this.batch) await this.batch.abort();
    this.batch = null;
  }
}

/**
 * Read a small file whose size the scan just saw: open + one read + close, synchronously (on
 * page-cached data this is several times faster than fs.promises.readFile's open/fstat/read/close
 * round trips through the thread pool). A file that grew meanwhile is read whole.
 */
function readSmall(abs: string, size: number): Buffer {
  const fd = openSync(abs, 'r');
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got === buf.length) return readFileSync(abs); // grew since the scan
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
