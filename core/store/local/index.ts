/**
 * Local object store: a folder (by default `.strata/objects`).
 *
 *   objects/ab/cdef...           loose object (large objects, single puts)
 *   objects/pack/<p>.pack        many small objects, concatenated
 *   objects/pack/<p>.idx         index of a pack: written after the pack is durable, so an idx's
 *                                presence means its pack is complete (see docs/concepts.md)
 *   objects/tmp/                 temp files; anything here after a crash is garbage
 *
 * Writes: temp file + fsync + rename. Small objects go through batch() into packs so that adding
 * 100,000 small files costs a handful of fsyncs instead of 100,000.
 */
import { closeSync, constants as fsc, createReadStream, openSync, readSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { hashBytes } from '../../hash/index.js';
import { StrataError, fromSystemError } from '../../errors/index.js';
import { createHasher, isId } from '../../hash/index.js';
import {
  PACK_OBJECT_MAX,
  PACK_TARGET_SIZE,
  type BatchWriter,
  type GetOptions,
  type LocalPathCapable,
  type ObjectData,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from '../types.js';
import { mapLimit } from '../../util/concurrency.js';
import { decodePackIndex, encodePackIndex, packEnd, PackIndexView } from '../../format/pack-index.js';
import { PackTable, type PackLoc } from './pack-table.js';

export interface PackProblem {
  pack: string;
  /** The damaged or missing file. */
  file: string;
  problem: 'idx-corrupt' | 'pack-missing' | 'pack-truncated';
  detail: string;
  /** Objects lost with it (unknown for an unreadable index). */
  ids: string[];
}

function checkId(id: string): void {
  if (!isId(id)) throw new StrataError('INVALID_ARGUMENT', `not an object id: ${JSON.stringify(id)}`);
}

function missing(id: string, where: string): StrataError {
  return new StrataError('OBJECT_MISSING', `object ${id} is missing from ${where}`, {
    hint: 'fetch it from a remote (strata pull) or run strata fsck to see what it affects',
    details: { id },
  });
}

/** A transform that hashes what passes and fails at the end if the digest is not `id`. */
export class VerifyingStream extends Transform {
  private h = createHasher();
  constructor(private readonly id: string, private readonly where: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.h.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const got = this.h.digestHex();
    if (got !== this.id) {
      cb(new StrataError('OBJECT_CORRUPT', `object ${this.id} in ${this.where} is corrupt (its bytes hash to ${got})`, {
        hint: 'run strata fsck; fetch the object again from a remote if one has it',
        details: { id: this.id, actual: got },
      }));
    } else cb();
  }
}

async function toBuffer(data: ObjectData): Promise<Buffer | null> {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

async function fsyncDir(path: string): Promise<void> {
  try {
    const fh = await fsp.open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* not all filesystems allow fsync on a directory */
  }
}

/** Pack indexes this large (4,096 entries) are opened lazily (PackIndexView). */
const LAZY_INDEX_BYTES = 48 * 4096;

/** Pack descriptors readPackedSync keeps open at most. */
const MAX_SYNC_FDS = 64;

export class LocalStore implements ObjectStore, LocalPathCapable {
  readonly kind = 'local';
  readonly location: string;
  private packIndex: PackTable | null = null;
  private loadedIdx = new Set<string>();
  /** Pack indexes that could not be read or decoded: pack name -> why. */
  private badIdx = new Map<string, string>();
  private handles = new Map<string, Promise<fsp.FileHandle>>();
  private madeDirs = new Set<string>();

  constructor(readonly root: string, private readonly opts: { fsync?: boolean } = {}) {
    this.location = root;
  }

  get fsyncEnabled(): boolean {
    return this.opts.fsync !== false;
  }

  /** Create the folder layout (idempotent). */
  async init(): Promise<void> {
    await fsp.mkdir(join(this.root, 'pack'), { recursive: true });
    await fsp.mkdir(join(this.root, 'tmp'), { recursive: true });
  }

  objectPath(id: string): string {
    return join(this.root, id.slice(0, 2), id.slice(2));
  }

  private tmpPath(tag: string): string {
    return join(this.root, 'tmp', `${tag}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await fsp.mkdir(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  // ------------------------------------------------------------ pack index

  /** The first load of the pack indexes, shared by concurrent callers. */
  private packsLoading: Promise<void> | null = null;

  private async packs(): Promise<PackTable> {
    // Concurrent callers must wait for the first load: handing out the half-filled map made
    // knows() answer "not stored" for packed objects, which were then stored again.
    this.packsLoading ??= (async () => {
      this.packIndex ??= new PackTable();
      await this.refreshPacks();
    })().catch((e) => {
      this.packsLoading = null;
      throw e;
    });
    await this.packsLoading;
    return this.packIndex!;
  }

  /** Load indexes of packs written since the last look (by this or another process). */
  async refreshPacks(): Promise<void> {
    const table = this.packIndex ?? (this.packIndex = new PackTable());
    let names: string[];
    try {
      names = await fsp.readdir(join(this.root, 'pack'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fromSystemError(e);
    }
    const present = new Set<string>();
    for (const n of names) {
      if (!n.endsWith('.idx')) continue;
      const pack = n.slice(0, -4);
      present.add(pack);
      if (this.loadedIdx.has(pack)) continue;
      if (this.badIdx.has(pack)) continue;
      let view: PackIndexView;
      try {
        const buf = await fsp.readFile(join(this.root, 'pack', n));
        // Large indexes are searched in place and checked entry by entry as they are used (fsck
        // checks them whole); small ones are checked whole here.
        view = PackIndexView.open(buf, { name: n, lazy: buf.length >= LAZY_INDEX_BYTES });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed by a concurrent gc
        // A damaged index must not stop every command: its objects read as missing (strata fsck
        // names the file and what it affects; strata fsck --repair salvages and refetches).
        this.badIdx.set(pack, (e as Error).message);
        continue;
      }
      table.addIndex(pack, view);
      this.loadedIdx.add(pack);
    }
    for (const p of [...this.badIdx.keys()]) if (!present.has(p)) this.badIdx.delete(p);
    // Forget packs that disappeared (repacked by gc).
    for (const p of [...this.loadedIdx]) {
      if (!present.has(p)) {
        this.loadedIdx.delete(p);
        table.dropPack(p);
        void this.closeHandle(p);
      }
    }
  }

  private async locate(id: string): Promise<{ loose: string } | { packed: PackLoc } | null> {
    // Packs first: a map lookup, where a failed access() costs a syscall and an exception.
    const packs = await this.packs();
    let loc = packs.get(id);
    if (loc) return { packed: loc };
    const p = this.objectPath(id);
    try {
      await fsp.access(p);
      return { loose: p };
    } catch {
      /* not loose */
    }
    await this.refreshPacks();
    loc = packs.get(id);
    return loc ? { packed: loc } : null;
  }

  private syncFds = new Map<string, number>();

  /**
   * Read a packed object synchronously (checkout of many small files: no promise, no thread-pool
   * round trip per object). Returns null when the object is not in a known pack.
   */
  readPackedSync(id: string): Buffer | null {
    const loc = this.packIndex?.get(id);
    if (!loc) return null;
    let fd = this.syncFds.get(loc.pack);
    if (fd === undefined) {
      try {
        fd = openSync(join(this.root, 'pack', `${loc.pack}.pack`), 'r');
      } catch {
        return null;
      }
      // A bounded set of descriptors (a repository can hold thousands of packs): the oldest goes.
      if (this.syncFds.size >= MAX_SYNC_FDS) {
        const [oldest, ofd] = this.syncFds.entries().next().value as [string, number];
        this.syncFds.delete(oldest);
        closeSync(ofd);
      }
      this.syncFds.set(loc.pack, fd);
    }
    const buf = Buffer.allocUnsafe(loc.size);
    let got = 0;
    while (got < loc.size) {
      const n = readSync(fd, buf, got, loc.size - got, loc.offset + got);
      if (n === 0) throw new StrataError('OBJECT_CORRUPT', `pack ${loc.pack} is truncated`);
      got += n;
    }
    return buf;
  }

  /** Load the pack indexes now (so readPackedSync can answer). */
  async loadPacks(): Promise<void> {
    await this.packs();
  }

  private handle(pack: string): Promise<fsp.FileHandle> {
    let h = this.handles.get(pack);
    if (!h) {
      h = fsp.open(join(this.root, 'pack', `${pack}.pack`), 'r');
      this.handles.set(pack, h);
      h.catch(() => this.handles.delete(pack));
    }
    return h;
  }

  private async closeHandle(pack: string): Promise<void> {
    const h = this.handles.get(pack);
    this.handles.delete(pack);
    if (h) await (await h.catch(() => null))?.close().catch(() => undefined);
  }

  // ------------------------------------------------------------ reads

  async has(id: string): Promise<boolean> {
    checkId(id);
    return (await this.locate(id)) !== null;
  }

  async hasMany(ids: Iterable<string>): Promise<Set<string>> {
    const out = new Set<string>();
    const packs = await this.packs();
    let refreshed = false;
    const rest: string[] = [];
    for (const id of ids) {
      if (packs.has(id)) out.add(id);
      else rest.push(id);
    }
    await mapLimit(rest, 32, async (id) => {
      try {
        await fsp.access(this.objectPath(id));
        out.add(id);
      } catch {
        if (!refreshed) {
          refreshed = true;
          await this.refreshPacks();
        }
        if (packs.has(id)) out.add(id);
      }
    });
    return out;
  }

  async stat(id: string): Promise<ObjectInfo | null> {
    checkId(id);
    const loc = await this.locate(id);
    if (!loc) return null;
    if ('packed' in loc) return { id, size: loc.packed.size };
    try {
      const st = await fsp.stat(loc.loose);
      return { id, size: st.size };
    } catch {
      return null;
    }
  }

  async get(id: string, opts: GetOptions = {}): Promise<Readable> {
    checkId(id);
    const loc = await this.locate(id);
    if (!loc) throw missing(id, this.location);
    if ('packed' in loc) {
      // Packed objects are small (< PACK_OBJECT_MAX): one read, and a missing or truncated pack
      // is a typed error here rather than an 'error' event on a file stream.
      return Readable.from([await this.getBytes(id, opts)]);
    }
    const path = loc.loose;
    const start = opts.range?.start ?? 0;
    const end = opts.range?.end ?? Infinity; // exclusive
    if (end <= start) return Readable.from([]);
    const rs = createReadStream(path, { start, end: end === Infinity ? undefined : end - 1, highWaterMark: 1 << 20 });
    if (opts.verify && !opts.range) {
      const vs = new VerifyingStream(id, this.location);
      // pipe() does not forward errors: without this a vanished or unreadable file was an
      // unhandled 'error' event that killed the process.
      rs.on('error', (e) => vs.destroy((e as NodeJS.ErrnoException).code === 'ENOENT' ? missing(id, this.location) : fromSystemError(e, path)));
      return rs.pipe(vs);
    }
    return rs;
  }

  async getBytes(id: string, opts: GetOptions = {}): Promise<Buffer> {
    checkId(id);
    const loc = await this.locate(id);
    if (!loc) throw missing(id, this.location);
    let buf: Buffer;
    if ('loose' in loc) {
      try {
        buf = await fsp.readFile(loc.loose);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(id, this.location);
        throw fromSystemError(e, loc.loose);
      }
      if (opts.range) buf = buf.subarray(opts.range.start, opts.range.end);
    } else {
      const s = opts.range?.start ?? 0;
      const e = Math.min(opts.range?.end ?? loc.packed.size, loc.packed.size);
      buf = Buffer.allocUnsafe(Math.max(0, e - s));
      const pack = loc.packed.pack;
      let fh: fsp.FileHandle;
      try {
        fh = await this.handle(pack);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new StrataError('OBJECT_MISSING', `object ${id} is missing: its pack file ${join(this.root, 'pack', pack + '.pack')} is gone (the index ${pack}.idx still lists it)`, {
            hint: 'run strata fsck to see what it affects; strata fsck --repair fetches lost objects from a remote',
            details: { id, pack },
          });
        }
        throw fromSystemError(err, join(this.root, 'pack', pack + '.pack'));
      }
      let got = 0;
      while (got < buf.length) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await fh.read(buf, got, buf.length - got, loc.packed.offset + s + got));
        } catch (err) {
          throw fromSystemError(err, join(this.root, 'pack', pack + '.pack'));
        }
        if (bytesRead === 0) {
          throw new StrataError('OBJECT_CORRUPT', `object ${id} is lost: pack file ${join(this.root, 'pack', pack + '.pack')} is truncated`, {
            hint: 'run strata fsck to see what it affects; strata fsck --repair fetches lost objects from a remote',
            details: { id, pack },
          });
        }
        got += bytesRead;
      }
    }
    if (opts.verify && !opts.range) {
      const h = createHasher();
      h.update(buf);
      const got = h.digestHex();
      if (got !== id) {
        throw new StrataError('OBJECT_CORRUPT', `object ${id} in ${this.location} is corrupt (its bytes hash to ${got})`, {
          hint: 'run strata fsck; fetch the object again from a remote if one has it',
          details: { id, actual: got },
        });
      }
    }
    return buf;
  }

  // ------------------------------------------------------------ writes

  async put(id: string, data: ObjectData, _opts: PutOptions = {}): Promise<void> {
    checkId(id);
    const dst = this.objectPath(id);
    if (await exists(dst)) {
      if (!Buffer.isBuffer(data) && !(data instanceof Uint8Array)) await drain(data);
      return;
    }
    await this.ensureDir(join(this.root, 'tmp'));
    await this.ensureDir(dirname(dst));
    const tmp = this.tmpPath('obj');
    try {
      const buf = await toBuffer(data);
      const fh = await fsp.open(tmp, 'w', 0o444);
      try {
        if (buf) await fh.writeFile(buf);
        else for await (const chunk of data as AsyncIterable<Uint8Array>) await fh.write(chunk);
        if (this.fsyncEnabled) await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, dst);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw fromSystemError(e, dst);
    }
  }

  async putFile(id: string, srcPath: string): Promise<void> {
    checkId(id);
    const dst = this.objectPath(id);
    if (await exists(dst)) return;
    await this.ensureDir(join(this.root, 'tmp'));
    await this.ensureDir(dirname(dst));
    const tmp = this.tmpPath('obj');
    try {
      await fsp.copyFile(srcPath, tmp, fsc.COPYFILE_FICLONE);
      await fsp.chmod(tmp, 0o444);
      if (this.fsyncEnabled) {
        const fh = await fsp.open(tmp, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      await fsp.rename(tmp, dst);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw fromSystemError(e, srcPath);
    }
  }

  batch(): BatchWriter {
    return new LocalPackWriter(this);
  }

  /** Called by the pack writer once a pack and its idx are durable. */
  registerPack(pack: string, entries: Array<{ id: string; offset: number; size: number }>): void {
    const table = this.packIndex;
    this.loadedIdx.add(pack);
    if (!table) return; // loaded lazily later, from disk
    // The newest pack wins: a pack being rewritten by gc is about to disappear.
    table.addWritten(pack, entries);
  }

  /**
   * For writers: is `id` already stored? Packed objects are checked in memory. Small objects are
   * almost never loose (only trees/commits written one by one), so for them the loose check is
   * skipped unless `checkLoose`: a rare duplicate in a pack costs a few bytes, while a syscall per
   * small file costs seconds on 100k files.
   */
  async knows(id: string, checkLoose = true): Promise<boolean> {
    const packs = await this.packs();
    if (packs.has(id)) return true;
    return checkLoose ? exists(this.objectPath(id)) : false;
  }

  /** Move a fully written, fsync'd temp file (from newTmp) into place as object `id`. */
  async adoptTmp(id: string, tmp: string): Promise<void> {
    const dst = this.objectPath(id);
    if (await exists(dst)) {
      await fsp.rm(tmp, { force: true });
      return;
    }
    await this.ensureDir(dirname(dst));
    await fsp.rename(tmp, dst);
  }

  newTmp(tag: string): string {
    return this.tmpPath(tag);
  }

  // ------------------------------------------------------------ listing and deletion

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    const seen = new Set<string>();
    let dirs: string[];
    try {
      dirs = await fsp.readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fromSystemError(e);
    }
    for (const d of dirs.sort()) {
      if (d.length !== 2 || !/^[0-9a-f]{2}$/.test(d)) continue;
      if (prefix && !(prefix.startsWith(d) || d.startsWith(prefix.slice(0, 2)))) continue;
      let files: string[];
      try {
        files = await fsp.readdir(join(this.root, d));
      } catch {
        continue;
      }
      for (const f of files) {
        const id = d + f;
        if (!isId(id) || !id.startsWith(prefix)) continue;
        const st = await fsp.stat(join(this.root, d, f)).catch(() => null);
        if (!st) continue;
        seen.add(id);
        yield { id, size: st.size };
      }
    }
    await this.refreshPacks();
    for (const [id, loc] of (await this.packs()).entries()) {
      if (seen.has(id) || !id.startsWith(prefix)) continue;
      yield { id, size: loc.size };
    }
  }

  async delete(id: string): Promise<void> {
    await this.deleteMany([id]);
  }

  async deleteMany(ids: Iterable<string>): Promise<void> {
    const packs = await this.packs();
    await this.refreshPacks();
    const byPack = new Map<string, Set<string>>();
    const loose: string[] = [];
    for (const id of ids) {
      checkId(id);
      loose.push(id);
      const loc = packs.get(id);
      if (loc) {
        let s = byPack.get(loc.pack);
        if (!s) byPack.set(loc.pack, (s = new Set()));
        s.add(id);
      }
    }
    await mapLimit(loose, 32, async (id) => {
      await fsp.rm(this.objectPath(id), { force: true });
    });
    for (const [pack, dead] of byPack) await this.rewritePack(pack, dead);
  }

  /** Rewrite `pack` without `dead`: the new pack is durable before the old one is removed. */
  private async rewritePack(pack: string, dead: Set<string>): Promise<void> {
    const idxPath = join(this.root, 'pack', `${pack}.idx`);
    const entries = decodePackIndex(await fsp.readFile(idxPath), { name: `${pack}.idx` }).entries;
    const live = entries.filter((e) => !dead.has(e.id));
    if (live.length > 0) {
      const w = new LocalPackWriter(this, { forceNew: true });
      const fh = await this.handle(pack);
      for (const e of live.sort((a, b) => a.offset - b.offset)) {
        const buf = Buffer.allocUnsafe(e.size);
        await fh.read(buf, 0, e.size, e.offset);
        await w.add(e.id, buf);
      }
      await w.finish();
    }
    // Remove the idx first: once it is gone the old pack is invisible.
    await fsp.rm(idxPath, { force: true });
    await this.closeHandle(pack);
    await fsp.rm(join(this.root, 'pack', `${pack}.pack`), { force: true });
    this.loadedIdx.delete(pack);
    this.packIndex!.dropPack(pack);
    await this.refreshPacks();
  }

  /**
   * Check every pack on disk against its index: the index decodes, the pack exists, and the pack
   * holds every byte range the index lists. Each problem names the file and the objects it loses.
   */
  async checkPacks(): Promise<PackProblem[]> {
    const dir = join(this.root, 'pack');
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromSystemError(e, dir);
    }
    const out: PackProblem[] = [];
    for (const n of names.sort()) {
      if (!n.endsWith('.idx')) continue;
      const pack = n.slice(0, -4);
      const idxFile = join(dir, n);
      const packFile = join(dir, `${pack}.pack`);
      let entries: Array<{ id: string; offset: number; size: number }>;
      try {
        const view = PackIndexView.open(await fsp.readFile(idxFile), { name: `${pack}.idx` });
        entries = [...view.entries()];
        if (!view.sorted) {
          out.push({ pack, file: idxFile, problem: 'idx-corrupt', detail: `pack index ${idxFile} lists its objects out of order: they cannot be found by search`, ids: entries.map((e) => e.id) });
          continue;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        out.push({ pack, file: idxFile, problem: 'idx-corrupt', detail: `pack index ${idxFile} is unreadable (${(e as Error).message}): the objects of ${pack}.pack cannot be found`, ids: [] });
        continue;
      }
      const st = await fsp.stat(packFile).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(fromSystemError(e, packFile))));
      if (!st) {
        // A concurrent gc removes the idx first, then the pack: not damage.
        if (!(await exists(idxFile))) continue;
        out.push({ pack, file: packFile, problem: 'pack-missing', detail: `pack file ${packFile} is missing; its index lists ${entries.length} object(s)`, ids: entries.map((e) => e.id) });
        continue;
      }
      const cut = entries.filter((e) => e.offset + e.size > st.size).map((e) => e.id);
      if (cut.length) {
        out.push({ pack, file: packFile, problem: 'pack-truncated', detail: `pack file ${packFile} is truncated (${st.size} bytes): ${cut.length} of its ${entries.length} object(s) are cut off`, ids: cut });
      }
    }
    return out;
  }

  /** Which pack holds `id` (null: loose or absent). */
  async packOf(id: string): Promise<string | null> {
    return (await this.packs()).get(id)?.pack ?? null;
  }

  /**
   * Take a damaged pack out of use: every object in it whose bytes still hash to its id is copied
   * into a new pack, then its .idx and .pack are moved to objects/damaged/ (kept, never deleted
   * here). Returns the ids copied and the ids lost (to fetch again).
   */
  async quarantinePack(pack: string): Promise<{ kept: string[]; lost: string[]; movedTo: string }> {
    const dir = join(this.root, 'pack');
    const idxFile = join(dir, `${pack}.idx`);
    const packFile = join(dir, `${pack}.pack`);
    let entries: Array<{ id: string; offset: number; size: number }> = [];
    try {
      entries = decodePackIndex(await fsp.readFile(idxFile), { name: `${pack}.idx` }).entries;
    } catch {
      /* unreadable index: nothing can be located in the pack */
    }
    const kept: string[] = [];
    const lost: string[] = [];
    let fh: fsp.FileHandle | null = null;
    try {
      fh = await fsp.open(packFile, 'r');
    } catch {
      fh = null;
    }
    const w = new LocalPackWriter(this, { forceNew: true });
    try {
      const size = fh ? (await fh.stat()).size : 0;
      for (const e of [...entries].sort((a, b) => a.offset - b.offset)) {
        if (!fh || e.offset + e.size > size) {
          lost.push(e.id);
          continue;
        }
        const buf = Buffer.allocUnsafe(e.size);
        const { bytesRead } = await fh.read(buf, 0, e.size, e.offset);
        if (bytesRead !== e.size || hashBytes(buf) !== e.id) {
          lost.push(e.id);
          continue;
        }
        await w.add(e.id, buf);
        kept.push(e.id);
      }
      await w.finish();
    } catch (e) {
      await w.abort();
      throw fromSystemError(e, packFile);
    } finally {
      await fh?.close().catch(() => undefined);
    }
    const damaged = join(this.root, 'damaged');
    await fsp.mkdir(damaged, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    // The index first: once it is gone the old pack is invisible.
    await fsp.rename(idxFile, join(damaged, `${pack}.idx.${stamp}`)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    await this.closeHandle(pack);
    await fsp.rename(packFile, join(damaged, `${pack}.pack.${stamp}`)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    this.loadedIdx.delete(pack);
    this.badIdx.delete(pack);
    this.packIndex?.dropPack(pack);
    await this.refreshPacks();
    return { kept, lost, movedTo: damaged };
  }

  /** Move a damaged loose object to objects/damaged/ so that a good copy can be stored. */
  async quarantineLoose(id: string): Promise<boolean> {
    checkId(id);
    const p = this.objectPath(id);
    const damaged = join(this.root, 'damaged');
    await fsp.mkdir(damaged, { recursive: true });
    try {
      await fsp.rename(p, join(damaged, `${id}.${new Date().toISOString().replace(/[:.]/g, '-')}`));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw fromSystemError(e, p);
    }
  }

  /** Remove leftovers of interrupted writes (temp files, packs without an idx). */
  async cleanTmp(olderThanMs = 0): Promise<number> {
    let removed = 0;
    const now = Date.now();
    for (const dir of [join(this.root, 'tmp'), join(this.root, 'pack')]) {
      let names: string[] = [];
      try {
        names = await fsp.readdir(dir);
      } catch {
        continue;
      }
      for (const n of names) {
        const p = join(dir, n);
        const isOrphanPack = dir.endsWith('pack') && n.endsWith('.pack') && !names.includes(n.slice(0, -5) + '.idx');
        const isTmp = dir.endsWith('tmp') || n.startsWith('tmp-');
        if (!isOrphanPack && !isTmp) continue;
        const st = await fsp.stat(p).catch(() => null);
        if (!st || now - st.mtimeMs < olderThanMs) continue;
        await fsp.rm(p, { force: true, recursive: true });
        removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    for (const p of [...this.handles.keys()]) await this.closeHandle(p);
    for (const fd of this.syncFds.values()) closeSync(fd);
    this.syncFds.clear();
  }
}

/**
 * Accumulates small objects into pack files. Objects >= PACK_OBJECT_MAX are stored loose.
 * Durability: pack fsync'd, then renamed into place, then its idx is written (fsync + rename).
 */
class LocalPackWriter implements BatchWriter {
  private fh: fsp.FileHandle | null = null;
  private tmp = '';
  private offset = 0;
  private entries: Array<{ id: string; offset: number; size: number }> = [];
  private ids = new Set<string>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private objects = 0;
  private bytes = 0;
  private finished = false;
  /** Loose objects this batch created (removed again by abort). */
  private loose: string[] = [];
  /** Large objects being made durable in the background. */
  private looseInflight: Promise<void>[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly store: LocalStore, private readonly opts: { forceNew?: boolean } = {}) {}

  /** Safe to call concurrently: adds are applied one at a time, in call order. */
  add(id: string, data: Buffer): Promise<void> {
    const p = this.chain.then(() => this.addOne(id, data));
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async addOne(id: string, data: Buffer): Promise<void> {
    if (this.finished) throw new Error('batch already finished');
    checkId(id);
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (!this.opts.forceNew && (await this.store.knows(id, data.length >= PACK_OBJECT_MAX))) return;
    this.objects++;
    this.bytes += data.length;
    if (data.length >= PACK_OBJECT_MAX) {
      // Written now; made durable (fsync) and renamed into place in the background, so a fetch of
      // many large objects is not one fsync after another. finish() waits for all of them.
      await fsp.mkdir(join(this.store.root, 'tmp'), { recursive: true });
      const tmp = this.store.newTmp('obj');
      try {
        await fsp.writeFile(tmp, data, { mode: 0o444 });
      } catch (e) {
        await fsp.rm(tmp, { force: true }).catch(() => undefined);
        throw fromSystemError(e, tmp);
      }
      const p = (async () => {
        try {
          if (this.store.fsyncEnabled) {
            const fh = await fsp.open(tmp, 'r');
            try {
              await fh.sync();
            } finally {
              await fh.close();
            }
          }
          await this.store.adoptTmp(id, tmp);
          this.loose.push(id);
        } catch (e) {
          await fsp.rm(tmp, { force: true }).catch(() => undefined);
          throw fromSystemError(e, tmp);
        }
      })();
      p.catch(() => undefined);
      this.looseInflight.push(p);
      while (this.looseInflight.length > 32) await this.looseInflight.shift();
      return;
    }
    if (!this.fh) {
      await fsp.mkdir(join(this.store.root, 'pack'), { recursive: true });
      await fsp.mkdir(join(this.store.root, 'tmp'), { recursive: true });
      this.tmp = this.store.newTmp('pack');
      this.fh = await fsp.open(this.tmp, 'w');
      this.offset = 0;
    }
    this.entries.push({ id, offset: this.offset, size: data.length });
    this.offset += data.length;
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= 4 << 20) await this.flushPending();
    if (this.offset >= PACK_TARGET_SIZE) await this.sealPack();
  }

  private async flushPending(): Promise<void> {
    if (!this.fh || this.pending.length === 0) return;
    const bufs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      await this.fh.writev(bufs);
    } catch (e) {
      throw fromSystemError(e, this.tmp);
    }
  }

  /** Packs being made durable in the background while the next one fills. */
  private sealing: Promise<void>[] = [];

  /**
   * Close the current pack and make it durable. The fsync (the slow part for a 256 MiB pack)
   * runs in the background, overlapping with filling the next pack; at most two are in flight.
   */
  private async sealPack(): Promise<void> {
    if (!this.fh) return;
    await this.flushPending();
    const fh = this.fh;
    const tmp = this.tmp;
    this.fh = null;
    const entries = this.entries;
    this.entries = [];
    const p = this.finalizePack(fh, tmp, entries);
    p.catch(() => undefined);
    this.sealing.push(p);
    while (this.sealing.length > 2) await this.sealing.shift();
  }

  private async finalizePack(fh: fsp.FileHandle, tmp: string, entries: Array<{ id: string; offset: number; size: number }>): Promise<void> {
    try {
      if (this.store.fsyncEnabled) await fh.sync();
      await fh.close();
      const name = `p-${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
      const packDir = join(this.store.root, 'pack');
      await fsp.rename(tmp, join(packDir, `${name}.pack`));
      const idxTmp = this.store.newTmp('idx');
      const ifh = await fsp.open(idxTmp, 'w');
      try {
        await ifh.writeFile(encodePackIndex(entries, packEnd(entries)).bytes);
        if (this.store.fsyncEnabled) await ifh.sync();
      } finally {
        await ifh.close();
      }
      await fsp.rename(idxTmp, join(packDir, `${name}.idx`));
      if (this.store.fsyncEnabled) await fsyncDir(packDir);
      this.store.registerPack(name, entries);
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw fromSystemError(e, tmp);
    }
  }

  async finish(): Promise<{ objects: number; bytes: number }> {
    this.chain = this.chain.then(() => this.sealPack());
    await this.chain;
    const pending = [...this.sealing, ...this.looseInflight];
    this.sealing = [];
    this.looseInflight = [];
    await Promise.all(pending);
    this.finished = true;
    return { objects: this.objects, bytes: this.bytes };
  }

  async abort(): Promise<void> {
    this.finished = true;
    await this.chain.catch(() => undefined);
    await Promise.allSettled([...this.sealing, ...this.looseInflight]);
    for (const id of this.loose) await fsp.rm(this.store.objectPath(id), { force: true }).catch(() => undefined);
    this.loose = [];
    const fh = this.fh;
    this.fh = null;
    this.pending = [];
    if (fh) {
      await fh.close().catch(() => undefined);
      await fsp.rm(this.tmp, { force: true }).catch(() => undefined);
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

async function drain(data: ObjectData): Promise<void> {
  for await (const _ of data as AsyncIterable<Uint8Array>) {
    /* discard */
  }
}

/** Type guard: `s` is a local folder store (packs, temp files, object paths). */
export function isLocalStore(s: ObjectStore): s is LocalStore {
  return s instanceof LocalStore;
}
