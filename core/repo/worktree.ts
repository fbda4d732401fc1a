/**
 * The workspace against the index and HEAD: status computation, staging, and materializing
 * files from the object store (checkout / restore / clone).
 */
import { closeSync, constants as fsc, fstatSync, linkSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, fromSystemError, isStrataError } from '../errors/index.js';
import { createHasher, hashBytes, hashFile } from '../hash/index.js';
import type { IndexRow, StatRow } from '../meta/db.js';
import { parseManifest, compareNames, type Id } from '../model/index.js';
import { loadIgnore } from '../workspace/ignore.js';
import { Ingestor, type Identified } from '../workspace/ingest.js';
import { isUnder, outermost, checkStoredPath, parentOf } from '../workspace/paths.js';
import { WorkspaceFs, checkPlanPaths, refuseSymlink, symlinkEscapes, type DirRef } from '../workspace/safe-fs.js';
import { randomBytes } from 'node:crypto';
import { cachedId, RACY_MS, scanRoots, type WorkFile } from '../workspace/scan.js';
import { mapLimit } from '../util/concurrency.js';
import type { Repository } from './index.js';
import { diffFlat, flattenTree, type Change, type Flat } from './tree.js';
import { readBool, readList } from '../config/registry.js';
import { settleLimit } from '../util/concurrency.js';

export interface ProgressSink {
  (p: { phase: string; done: number; total: number; bytes: number; totalBytes?: number }): void;
}

export interface WorkspaceView {
  /** Files present under the scanned roots, with their content identity. */
  files: Map<string, { wf: WorkFile; ident: Identified }>;
  /** Stat cache rows learned while hashing (persist them). */
  statUpdates: StatRow[];
  scanned: string[];
}

/** Scan `roots` and identify every file (stat cache first). `store` also writes objects. */
export async function viewWorkspace(
  repo: Repository,
  roots: string[],
  opts: { store: boolean; progress?: ProgressSink; jobs?: number },
): Promise<WorkspaceView & { ingestor: Ingestor }> {
  const ig = await loadIgnore(repo.root);
  const scanStart = Date.now();
  const { files } = await scanRoots(repo.root, roots, ig);
  const statCache = repo.db.loadStatCache();
  const ingestor = new Ingestor(repo, { store: opts.store, statCache });
  const list = [...files.values()];
  const out = new Map<string, { wf: WorkFile; ident: Identified }>();
  const totalBytes = list.reduce((a, f) => a + f.size, 0);
  let lastTick = 0;
  // Fast path: files the stat cache proves unchanged need no I/O and no promise.
  const slow: WorkFile[] = [];
  if (!opts.store) {
    for (const wf of list) {
      if (wf.type === 'file') {
        const c = cachedId(wf, statCache.get(wf.path));
        if (c) {
          out.set(wf.path, { wf, ident: { id: c.id, size: wf.size, chunks: c.chunks, target: null } });
          continue;
        }
      }
      slow.push(wf);
    }
  } else slow.push(...list);
  try {
    await mapLimit(slow, opts.jobs ?? 16, async (wf) => {
      const ident = await ingestor.identify(wf, scanStart);
      out.set(wf.path, { wf, ident });
      if (opts.progress) {
        const now = Date.now();
        if (now - lastTick > 100) {
          lastTick = now;
          opts.progress({ phase: opts.store ? 'adding' : 'hashing', done: ingestor.progress.files, total: list.length, bytes: ingestor.progress.bytes, totalBytes });
        }
      }
    });
  } catch (e) {
    await ingestor.abort();
    throw e;
  }
  return { files: out, statUpdates: ingestor.statUpdates, scanned: roots, ingestor };
}

export function identToRow(path: string, wf: WorkFile, ident: Identified): IndexRow {
  return wf.type === 'symlink'
    ? { path, type: 'symlink', exec: false, size: ident.size, id: ident.id, chunks: null, target: ident.target }
    : { path, type: 'file', exec: wf.exec, size: ident.size, id: ident.id, chunks: ident.chunks, target: null };
}

/** Persist stat-cache rows learned by a read-only command; skipped silently if the DB is busy. */
export function saveStatUpdates(repo: Repository, rows: StatRow[]): void {
  if (rows.length === 0) return;
  try {
    repo.db.tx(() => repo.db.upsertStat(rows));
  } catch {
    /* a cache: losing it costs only a re-hash next time */
  }
}

export interface StatusResult {
  branch: string | null;
  commit: Id | null;
  /** index vs HEAD */
  staged: Change[];
  /** workspace vs index (modified / deleted / typechange) */
  unstaged: Change[];
  /** files under tracked roots that are not in the index */
  untracked: string[];
  trackedRoots: string[];
  clean: boolean;
}

/** Compute status, optionally restricted to `paths` (repository paths). */
export async function computeStatus(repo: Repository, opts: { paths?: string[]; progress?: ProgressSink } = {}): Promise<StatusResult> {
  const head = repo.head();
  const headTree = head.commit ? (await repo.readCommit(head.commit)).tree : null;
  const index = repo.db.loadIndex();
  // The index is known to equal a tree after commit/checkout until it is next modified:
  // then there is nothing staged and HEAD's tree need not be read at all.
  const indexTree = repo.db.indexTree();
  const headFlat: Flat = indexTree !== null && indexTree === headTree ? index : await flattenTree(repo, headTree);
  const tracked = repo.db.trackedRoots();
  const restrict = opts.paths && opts.paths.length ? outermost(opts.paths) : null;
  const under = restrict ? (p: string) => restrict.some((r) => isUnder(p, r)) : undefined;
  // Scan the tracked roots (restricted to the requested paths), plus any index path's root.
  const roots = restrict
    ? restrict.filter((r) => tracked.some((t) => isUnder(r, t) || isUnder(t, r)) || [...index.keys()].some((p) => isUnder(p, r)))
        .flatMap((r) => {
          // scan the narrower of (r, tracked roots under r)
          const inner = tracked.filter((t) => isUnder(t, r) && t !== r);
          return tracked.some((t) => isUnder(r, t)) ? [r] : inner;
        })
    : tracked;
  const view = await viewWorkspace(repo, outermost(roots), { store: false, progress: opts.progress });
  saveStatUpdates(repo, view.statUpdates);
  const work = view.files;
  const staged = headFlat === index ? [] : diffFlat(headFlat, index, under);
  const unstaged: Change[] = [];
  const untracked: string[] = [];
  // Partial checkout (strata pull/clone -- PATH): files outside the sparse paths may be absent.
  const sparse = readList(repo.db, 'core.sparse');
  for (const [p, r] of index) {
    if (under && !under(p)) continue;
    const v = work.get(p);
    if (!v && sparse && !sparse.some((s) => isUnder(p, s))) continue;
    if (!v) {
      unstaged.push({ path: p, kind: 'deleted', oldSize: r.size, oldId: r.id });
      continue;
    }
    // Compare without building a row per file (100k files: allocation is most of the cost).
    const { wf, ident } = v;
    const same = r.id === ident.id && r.type === wf.type && (wf.type === 'symlink' ? r.target === ident.target : r.exec === wf.exec);
    if (!same) unstaged.push({ path: p, kind: r.type !== wf.type ? 'typechange' : 'modified', oldSize: r.size, newSize: ident.size, oldId: r.id, newId: ident.id });
  }
  for (const p of work.keys()) if (!index.has(p)) untracked.push(p);
  unstaged.sort((a, b) => compareNames(a.path, b.path));
  untracked.sort(compareNames);
  return {
    branch: head.branch,
    commit: head.commit,
    staged,
    unstaged,
    untracked,
    trackedRoots: tracked,
    clean: staged.length === 0 && unstaged.length === 0,
  };
}

// ---------------------------------------------------------------------------------- materialize

export interface MaterializePlan {
  /** Paths to remove from the workspace. */
  remove: string[];
  /** Rows to write into the workspace. */
  write: IndexRow[];
}

export interface MaterializeResult {
  written: number;
  removed: number;
  bytes: number;
  statRows: StatRow[];
}

export type LinkMode = 'copy' | 'reflink' | 'hardlink';

export interface MaterializeOptions {
  progress?: ProgressSink;
  link?: LinkMode;
  jobs?: number;
  /**
   * Every path of the tree being checked out. Validated as a whole before anything is written:
   * no path twice, no file `a` next to `a/b`. (Without it, the plan's own paths are checked.)
   */
  target?: Iterable<string>;
  /** Allow symlinks whose target leaves the workspace (default: config core.allowOutsideSymlinks). */
  allowOutsideSymlinks?: boolean;
}

/** Config key: `true` lets checkout create symbolic links that point outside the workspace. */
const ALLOW_OUTSIDE_SYMLINKS_KEY = 'core.allowOutsideSymlinks';

/**
 * Apply a plan to the workspace, through the one safe writer (workspace/safe-fs.ts):
 * 1. the whole plan is validated first (names, duplicates, symlink targets, objects present), so a
 *    hostile or broken tree is refused before anything changes;
 * 2. removals (never through a symlinked parent), then files, then symlinks last, so no link this
 *    plan creates can be traversed by a later write of the same plan;
 * 3. every file is produced in .strata/tmp/, verified against its id (the BLAKE3 of the whole
 *    content) and its declared size, then renamed into place: a corrupt or missing object aborts
 *    with OBJECT_CORRUPT / OBJECT_MISSING naming the path and the object, and the old file stays.
 */
export async function materialize(repo: Repository, plan: MaterializePlan, opts: MaterializeOptions = {}): Promise<MaterializeResult> {
  // ---- 1. validate the whole plan before the first write
  for (const p of plan.remove) checkStoredPath(p);
  for (const r of plan.write) {
    checkStoredPath(r.path);
    if (r.type === 'file' && (!Number.isSafeInteger(r.size) || r.size < 0)) {
      throw new StrataError('OBJECT_CORRUPT', `${r.path}: the tree declares an invalid size ${JSON.stringify(r.size)} for object ${r.id}`, { hint: 'the tree is corrupt; run strata fsck', details: { path: r.path, id: r.id } });
    }
  }
  checkPlanPaths(opts.target ?? plan.write.map((r) => r.path));
  if (opts.target) checkPlanPaths(plan.write.map((r) => r.path));
  const allowOutside = opts.allowOutsideSymlinks ?? readBool(repo.db, ALLOW_OUTSIDE_SYMLINKS_KEY) === true;
  for (const r of plan.write) {
    if (r.type !== 'symlink') continue;
    const t = r.target ?? '';
    if (t === '' || t.includes('\0')) throw refuseSymlink(r.path, t === '' ? 'its target is empty' : 'its target contains a NUL byte');
    const why = symlinkEscapes(r.path, t);
    if (why && !allowOutside) throw refuseSymlink(r.path, why);
  }
  await repo.localStore().loadPacks();
  const files = plan.write.filter((r) => r.type !== 'symlink').sort((a, b) => compareNames(a.path, b.path));
  const links = plan.write.filter((r) => r.type === 'symlink').sort((a, b) => compareNames(a.path, b.path));
  {
    const need = new Map<string, string>();
    for (const r of files) need.set(r.chunks ?? r.id, r.path);
    const have = await repo.store.hasMany(need.keys());
    for (const [id, p] of need) if (!have.has(id)) throw objectMissing(p, id);
  }

  const ws = await WorkspaceFs.open(repo.root, join(repo.dir, 'tmp'));
  try {
    // ---- 2. removals, then prune the folders they emptied (deepest first), never the root
    let removed = 0;
    for (const p of plan.remove) {
      try {
        if (ws.removeFile(p)) removed++;
      } catch (e) {
        throw fromSystemError(e, join(repo.root, p));
      }
    }
    const dirs = [...new Set(plan.remove.map((p) => parentOf(p)).filter((d) => d !== ''))].sort((a, b) => b.length - a.length);
    for (const d of dirs) {
      let cur = d;
      while (cur !== '' && ws.pruneDir(cur)) cur = parentOf(cur);
    }
    // Temporaries left next to files (by versions before the safe writer, or by a cross-filesystem
    // replacement killed midway): swept once when some may exist, not on every write.
    sweepNearTemps(repo, ws, plan);

    // ---- 3. files (verified), then symlinks
    const statRows: StatRow[] = [];
    const total = plan.write.length;
    const totalBytes = plan.write.reduce((a, r) => a + r.size, 0);
    let done = 0;
    let bytes = 0;
    let lastTick = 0;
    const tick = (row: IndexRow) => {
      done++;
      bytes += row.size;
      if (opts.progress) {
        const now = Date.now();
        if (now - lastTick > 100 || done === total) {
          lastTick = now;
          opts.progress({ phase: 'checkout', done, total, bytes, totalBytes });
        }
      }
    };
    const retired = new Retired();
    try {
      await settleLimit(files, opts.jobs ?? 16, async (row) => {
        const st = await writeOne(repo, ws, row, opts.link ?? 'copy', retired);
        if (st) statRows.push(st);
        tick(row);
      });
      for (const row of links) {
        await writeOne(repo, ws, row, opts.link ?? 'copy');
        tick(row);
      }
    } catch (e) {
      // Folders made for files that were never written go again (only if empty; deepest first).
      for (const d of [...ws.created].reverse()) ws.pruneDir(d);
      throw e;
    } finally {
      await retired.drain();
    }
    return { written: done, removed, bytes, statRows };
  } finally {
    ws.close();
  }
}


function objectMissing(path: string, id: string): StrataError {
  return new StrataError('OBJECT_MISSING', `${path}: object ${id} is not in the object store; ${path} was left as it was`, {
    hint: 'fetch it again (strata fetch) from a remote that has it (strata fsck lists every missing object), then run the command again',
    details: { path, id },
  });
}

function objectCorrupt(path: string, id: string, why: string): StrataError {
  return new StrataError('OBJECT_CORRUPT', `${path}: object ${id} is corrupt (${why}); ${path} was left as it was`, {
    hint: 'strata fsck lists every damaged object; get a sound copy from a remote that has one, then run the command again with --force (files it already wrote show in strata status)',
    details: { path, id },
  });
}

/** Read an object for `path`, turning store errors into errors that name the path. */
async function readFor(repo: Repository, path: string, id: string, verify: boolean): Promise<Buffer> {
  try {
    return await repo.store.getBytes(id, { verify });
  } catch (e) {
    if (isStrataError(e, 'OBJECT_MISSING')) throw objectMissing(path, id);
    if (isStrataError(e, 'OBJECT_CORRUPT')) throw objectCorrupt(path, id, e.message);
    throw e;
  }
}

/** Hash a loose object: in one read up to 64 MiB (most are under the 8 MiB chunking threshold), else streamed. */
async function hashLoose(path: string): Promise<{ id: string; size: number }> {
  const st = await fsp.stat(path);
  if (st.size > 64 << 20) return hashFile(path);
  const buf = await fsp.readFile(path);
  return { id: hashBytes(buf), size: buf.length };
}

/** The whole content of a file row must hash to row.id and be row.size bytes long. */
function checkWhole(row: IndexRow, got: string, size: number): void {
  if (size !== row.size) throw objectCorrupt(row.path, row.id, `it holds ${size} bytes where the tree declares ${row.size}`);
  if (got !== row.id) throw objectCorrupt(row.path, row.id, `the content hashes to ${got}`);
}

function checkBuffer(row: IndexRow, buf: Buffer): void {
  checkWhole(row, buf.length === row.size ? hashBytes(buf) : '', buf.length);
}

/**
 * A small file's object read from its pack synchronously and verified in memory against the row
 * (a damaged pack entry names the path); null when the object is not packed locally.
 */
function packedVerified(repo: Repository, row: IndexRow): Buffer | null {
  let buf: Buffer | null;
  try {
    buf = repo.localStore().readPackedSync(row.id);
  } catch (e) {
    if (isStrataError(e, 'OBJECT_CORRUPT')) throw objectCorrupt(row.path, row.id, e.message);
    throw e;
  }
  if (buf) checkBuffer(row, buf);
  return buf;
}

async function writeOne(repo: Repository, ws: WorkspaceFs, row: IndexRow, link: LinkMode, retired?: Retired): Promise<StatRow | null> {
  const i = row.path.lastIndexOf('/');
  const name = i < 0 ? row.path : row.path.slice(i + 1);
  const d = ws.dir(i < 0 ? '' : row.path.slice(0, i), { create: true })!;
  try {
    const final = d.at(name);
    const abs = join(repo.root, row.path);
    const existing = lstatSync(final, { throwIfNoEntry: false });
    if (existing?.isDirectory()) {
      throw new StrataError('UNCOMMITTED_CHANGES', `${row.path} is a directory in the workspace but a ${row.type === 'symlink' ? 'symbolic link' : 'file'} in the target`, {
        hint: `move ${row.path} away (or strata rm it) and retry`,
      });
    }
    if (row.type === 'symlink') {
      const tmp = ws.tmpPath();
      try {
        await fsp.symlink(row.target ?? '', tmp);
        await place(repo, tmp, final, d, true); // replaces a file or link there; never follows one
      } catch (e) {
        await fsp.rm(tmp, { force: true }).catch(() => undefined);
        throw fromSystemError(e, abs);
      }
      return null;
    }
    const mode = row.exec ? 0o755 : 0o644;
    // Fast path (most files of a checkout or a merge): a small packed object, verified in memory.
    // Nothing there yet: open(O_EXCL|O_NOFOLLOW) + write + fstat + close in place. A file or link
    // there: the same into a temporary in .strata/tmp, renamed over it (never followed). All
    // synchronous: a few microseconds a call, where a thread-pool round trip costs far more.
    if (existing && !existing.isDirectory() && !row.chunks && row.size < 1 << 20 && link !== 'hardlink') {
      const st = replaceSmallSync(repo, ws, row, final, abs, mode, retired);
      if (st) return st;
    }
    if (!existing && !row.chunks && row.size < 1 << 20 && link !== 'hardlink') {
      const buf = packedVerified(repo, row);
      if (buf) {
        const recorded = Date.now();
        let fd: number | null = null;
        try {
          fd = openSync(final, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0), mode);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fromSystemError(e, abs);
        }
        if (fd !== null) {
          try {
            let off = 0;
            while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
            const st = fstatSync(fd);
            return { path: row.path, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs, ino: st.ino, id: row.id, chunks: row.chunks, recorded: ownWrite(recorded, st.mtimeMs) };
          } catch (e) {
            throw fromSystemError(e, abs);
          } finally {
            closeSync(fd);
          }
        }
      }
    }
    const recorded = Date.now();
    const tmp = ws.tmpPath();
    try {
      if (row.chunks) {
        await writeChunked(repo, row, tmp, mode);
      } else {
        const loosePath = repo.localStore().objectPath(row.id);
        let usedLoose = false;
        if (row.size >= 1 << 20) {
          try {
            if (link === 'hardlink') {
              // The link shares the object's inode: verify the object itself first.
              const h = await hashLoose(loosePath);
              checkWhole(row, h.id, h.size);
              await fsp.link(loosePath, tmp);
            } else {
              // The kernel copies (or reflinks) while the object is hashed: both read the same
              // page-cached bytes, and the copy is not renamed into place unless they are sound.
              const [, h] = await Promise.all([
                fsp.copyFile(loosePath, tmp, fsc.COPYFILE_EXCL | (link === 'reflink' ? fsc.COPYFILE_FICLONE_FORCE : fsc.COPYFILE_FICLONE)),
                hashLoose(loosePath),
              ]);
              checkWhole(row, h.id, h.size);
              await fsp.chmod(tmp, mode);
            }
            usedLoose = true;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          }
        }
        if (!usedLoose) {
          const buf = await readFor(repo, row.path, row.id, false);
          checkBuffer(row, buf);
          await fsp.writeFile(tmp, buf, { mode, flag: 'wx' });
        }
      }
      await place(repo, tmp, final, d, false);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (e instanceof StrataError) throw e;
      throw fromSystemError(e, abs);
    }
    if (link === 'hardlink' && !row.chunks && row.size >= 1 << 20) return null;
    const st = lstatSync(final);
    return { path: row.path, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs, ino: st.ino, id: row.id, chunks: row.chunks, recorded: ownWrite(recorded, st.mtimeMs) };
  } finally {
    d.release();
  }
}

/**
 * Local meta key: 'clean' when no `.strata-tmp-*` file can exist beside workspace files (a
 * database created by this version starts so: see core/meta/db.ts); 'unknown' or absent (a
 * repository older versions wrote, or a cross-filesystem replacement since the last sweep) makes
 * the next writer sweep every tracked folder once.
 */
const TEMPS_KEY = 'workspace_temps';

function sweepNearTemps(repo: Repository, ws: WorkspaceFs, plan: MaterializePlan): void {
  if (repo.db.getLocalMeta(TEMPS_KEY) === 'clean') return;
  const dirs = new Set<string>(['']);
  const addParents = (p: string) => {
    for (let d = parentOf(p); d !== '' && !dirs.has(d); d = parentOf(d)) dirs.add(d);
  };
  for (const r of plan.write) addParents(r.path);
  for (const p of repo.db.loadIndex().keys()) addParents(p);
  for (const d of dirs) ws.cleanLegacyTemps(d);
  repo.db.setLocalMeta(TEMPS_KEY, 'clean');
}

/**
 * The inodes of replaced files, freed off the main thread. Freeing an inode is most of what a
 * rename over an existing file costs on ext4 (it happens inside the rename, which runs one at a
 * time: renames between folders share one filesystem lock). So before the rename, the old file
 * gets a second name in .strata/tmp (a hard link: the workspace name never goes missing, and the
 * rename stays atomic); the rename then frees nothing, and those names are unlinked in parallel on
 * the thread pool, in batches of 4,096 (at most 4 GiB of old small files held; freeing them only
 * after the batch's new files are created also spares each creation the scan an ext4 without a
 * journal makes past the inodes freed in the last minute, `recently_deleted`, a cost that grows
 * with them). A crash leaves
 * them among this process's temporaries, which the next writer removes. Where the link cannot be
 * made (another filesystem, a file the user may not link) the rename frees the inode as before.
 */
class Retired {
  private batch: string[] = [];
  private readonly running: Array<Promise<void>> = [];
  private static readonly BATCH = 4096;

  keep(ws: WorkspaceFs, final: string): void {
    const aside = ws.tmpPath();
    try {
      linkSync(final, aside);
    } catch {
      return;
    }
    this.batch.push(aside);
    if (this.batch.length >= Retired.BATCH) this.flush();
  }

  private flush(): void {
    const names = this.batch;
    this.batch = [];
    if (names.length) this.running.push(mapLimit(names, 8, (p) => fsp.unlink(p).catch(() => undefined)));
  }

  async drain(): Promise<void> {
    this.flush();
    await Promise.all(this.running);
  }
}

/**
 * Replace the file or link at `final` by a small packed object: verified in memory, written to a
 * temporary in .strata/tmp/ and renamed over it, synchronously. Null when the object is not in a
 * pack or the rename would cross filesystems (the caller's general path handles both).
 */
function replaceSmallSync(repo: Repository, ws: WorkspaceFs, row: IndexRow, final: string, abs: string, mode: number, retired?: Retired): StatRow | null {
  const buf = packedVerified(repo, row);
  if (!buf) return null;
  const recorded = Date.now();
  const tmp = ws.tmpPath();
  let fd: number;
  try {
    fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0), mode);
  } catch (e) {
    throw fromSystemError(e, tmp);
  }
  try {
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    } finally {
      closeSync(fd);
    }
    retired?.keep(ws, final);
    renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'EXDEV') return null;
    throw fromSystemError(e, abs);
  }
  const st = lstatSync(final);
  return { path: row.path, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs, ino: st.ino, id: row.id, chunks: row.chunks, recorded: ownWrite(recorded, st.mtimeMs) };
}

/**
 * Rename a verified temporary from .strata/tmp/ into place. When the destination folder is another
 * filesystem (a volume mounted inside the workspace), rename cannot cross: the bytes are copied to a
 * `.strata-tmp-<pid>-<random>` file in that folder first (ignored by status/add, removed by the next
 * writer if a crash leaves it) and renamed from there, so the replacement stays atomic.
 */
async function place(repo: Repository, tmp: string, final: string, d: DirRef, link: boolean): Promise<void> {
  try {
    await fsp.rename(tmp, final);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
  }
  // From here a crash could leave a temporary beside the file: the next writer sweeps.
  repo.db.setLocalMeta(TEMPS_KEY, 'unknown');
  const near = d.at(`.strata-tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    if (link) await fsp.symlink(await fsp.readlink(tmp), near);
    else await fsp.copyFile(tmp, near, fsc.COPYFILE_EXCL);
    await fsp.rename(near, final);
  } catch (e) {
    await fsp.rm(near, { force: true }).catch(() => undefined);
    throw e;
  } finally {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** Reassemble a chunked file into `tmp`, hashing the whole content while writing. */
async function writeChunked(repo: Repository, row: IndexRow, tmp: string, mode: number): Promise<void> {
  const manifestBytes = await readFor(repo, row.path, row.chunks!, true);
  let manifest;
  try {
    manifest = parseManifest(manifestBytes);
  } catch (e) {
    throw objectCorrupt(row.path, row.chunks!, e instanceof Error ? e.message : String(e));
  }
  if (manifest.size !== row.size) throw objectCorrupt(row.path, row.chunks!, `the chunk list declares ${manifest.size} bytes where the tree declares ${row.size}`);
  const h = createHasher();
  let size = 0;
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
    for (const [cid, csize] of manifest.chunks) {
      const b = await readFor(repo, row.path, cid, false);
      if (b.length !== csize) throw objectCorrupt(row.path, cid, `chunk of ${b.length} bytes where the chunk list declares ${csize}`);
      h.update(b);
      size += b.length;
      await fh.write(b);
    }
  } finally {
    await fh.close();
  }
  const got = h.digestHex();
  if (got === row.id && size === row.size) return;
  // Name the culprit: a damaged chunk, or a chunk list that does not make up this file.
  for (const [cid] of manifest.chunks) {
    const b = await readFor(repo, row.path, cid, false);
    const ch = hashBytes(b);
    if (ch !== cid) throw objectCorrupt(row.path, cid, `chunk bytes hash to ${ch}`);
  }
  throw objectCorrupt(row.path, row.id, `its chunks (list ${row.chunks}) hash to ${got}, not to the file's id`);
}

/**
 * Stat-cache time for a file Strata wrote itself. We know its bytes, so it is trusted at once, as
 * git trusts its own checkout: only another process rewriting the file with the same size within
 * the same timestamp tick, while the checkout runs, could slip by. (Files hashed by add/status
 * follow the stricter racy rule in scan.ts: a fresh mtime means re-check next time.) Without this,
 * the first status after checking out 100k files would re-read all of them.
 */
function ownWrite(recorded: number, mtime: number): number {
  return Math.max(recorded, mtime + RACY_MS);
}

/** Tracked roots a tree implies when none were recorded: its top-level entries. */
export function rootsOf(flat: Flat): string[] {
  const tops = new Set<string>();
  for (const p of flat.keys()) tops.add(p.split('/')[0]!);
  return [...tops].sort(compareNames);
}
