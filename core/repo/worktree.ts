/**
 * The workspace against the index and HEAD: status computation, staging, and materializing
 * files from the object store (checkout / restore / clone).
 */
import { closeSync, constants as fsc, fstatSync, openSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';
import type { IndexRow, StatRow } from '../meta/db.js';
import { parseManifest, compareNames, type Id } from '../model/index.js';
import { loadIgnore } from '../workspace/ignore.js';
import { Ingestor, type Identified } from '../workspace/ingest.js';
import { isUnder, outermost, checkStoredPath } from '../workspace/paths.js';
import { cachedId, RACY_MS, scanRoots, type WorkFile } from '../workspace/scan.js';
import { mapLimit } from '../store/local/index.js';
import type { Repository } from './index.js';
import { diffFlat, flattenTree, sameEntry, type Change, type Flat } from './tree.js';
import { readList } from '../config/registry.js';

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

/**
 * Apply a plan to the workspace: removals first, then writes. Never writes through a symlink or
 * outside the workspace; every path is validated. Files are written next to their final name and
 * renamed into place when they replace an existing file.
 */
export async function materialize(
  repo: Repository,
  plan: MaterializePlan,
  opts: { progress?: ProgressSink; link?: LinkMode; jobs?: number } = {},
): Promise<MaterializeResult> {
  const root = repo.root;
  const statRows: StatRow[] = [];
  let removed = 0;
  for (const p of plan.remove) {
    checkStoredPath(p);
    try {
      await fsp.rm(join(root, p), { force: true });
      removed++;
    } catch (e) {
      throw fromSystemError(e, join(root, p));
    }
  }
  // Prune directories emptied by the removals (deepest first), never the root.
  const dirs = [...new Set(plan.remove.map((p) => dirname(p)).filter((d) => d !== '.'))].sort((a, b) => b.length - a.length);
  for (const d of dirs) {
    let cur = d;
    while (cur && cur !== '.') {
      try {
        await fsp.rmdir(join(root, cur));
      } catch {
        break;
      }
      cur = dirname(cur);
    }
  }

  const verifiedDirs = new Set<string>(['']);
  const ensureDir = async (dir: string): Promise<void> => {
    if (verifiedDirs.has(dir)) return;
    const parent = dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '';
    await ensureDir(parent);
    const abs = join(root, dir);
    let st;
    try {
      st = await fsp.lstat(abs);
    } catch {
      st = null;
    }
    if (st && st.isSymbolicLink()) {
      throw new StrataError('PATH_OUTSIDE_WORKSPACE', `${dir} is a symbolic link; refusing to write files through it`, {
        hint: `remove the link ${dir} (or move it away) and retry`,
      });
    }
    if (st && !st.isDirectory()) {
      // A file stands where the tree has a directory: replace it (it was checked to be safe).
      await fsp.rm(abs, { force: true });
      st = null;
    }
    if (!st) await fsp.mkdir(abs).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw fromSystemError(e, abs);
    });
    verifiedDirs.add(dir);
  };

  await repo.store.loadPacks();
  const total = plan.write.length;
  const totalBytes = plan.write.reduce((a, r) => a + r.size, 0);
  let done = 0;
  let bytes = 0;
  let lastTick = 0;
  const writes = [...plan.write].sort((a, b) => compareNames(a.path, b.path));
  await mapLimit(writes, opts.jobs ?? 16, async (row) => {
    checkStoredPath(row.path);
    const i = row.path.lastIndexOf('/');
    await ensureDir(i < 0 ? '' : row.path.slice(0, i));
    const abs = join(root, row.path);
    const st = await writeOne(repo, row, abs, opts.link ?? 'copy');
    if (st) statRows.push(st);
    done++;
    bytes += row.size;
    if (opts.progress) {
      const now = Date.now();
      if (now - lastTick > 100 || done === total) {
        lastTick = now;
        opts.progress({ phase: 'checkout', done, total, bytes, totalBytes });
      }
    }
  });
  return { written: done, removed, bytes, statRows };
}

async function writeOne(repo: Repository, row: IndexRow, abs: string, link: LinkMode): Promise<StatRow | null> {
  // Fast path (most files of a checkout into an empty folder): a small packed object, no file
  // there yet. Synchronous open(O_EXCL) + write + fstat + close.
  if (row.type === 'file' && !row.chunks && row.size < 1 << 20 && link !== 'hardlink') {
    const buf = repo.store.readPackedSync(row.id);
    if (buf) {
      const recorded = Date.now();
      let fd: number | null = null;
      try {
        fd = openSync(abs, 'wx', row.exec ? 0o755 : 0o644);
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
  const existing = await fsp.lstat(abs).catch(() => null);
  if (existing?.isDirectory()) {
    throw new StrataError('UNCOMMITTED_CHANGES', `${row.path} is a directory in the workspace but a file in the target`, {
      hint: `move ${row.path} away (or strata rm it) and retry`,
    });
  }
  if (row.type === 'symlink') {
    if (existing) await fsp.rm(abs, { force: true });
    await fsp.symlink(row.target ?? '', abs);
    return null;
  }
  const recorded = Date.now();
  const target = existing ? `${dirname(abs)}/.strata-tmp-${process.pid}-${Math.random().toString(36).slice(2)}` : abs;
  const mode = row.exec ? 0o755 : 0o644;
  try {
    if (row.chunks) {
      const manifest = parseManifest(await repo.store.getBytes(row.chunks, { verify: true }));
      const fh = await fsp.open(target, 'wx', mode);
      try {
        for (const [cid] of manifest.chunks) await fh.write(await repo.store.getBytes(cid));
      } finally {
        await fh.close();
      }
    } else {
      const loosePath = repo.store.objectPath(row.id);
      let usedLoose = false;
      if (row.size >= 1 << 20) {
        try {
          if (link === 'hardlink') {
            await fsp.link(loosePath, target);
          } else {
            await fsp.copyFile(loosePath, target, fsc.COPYFILE_EXCL | (link === 'reflink' ? fsc.COPYFILE_FICLONE_FORCE : fsc.COPYFILE_FICLONE));
            await fsp.chmod(target, mode);
          }
          usedLoose = true;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
      if (!usedLoose) {
        const buf = await repo.store.getBytes(row.id);
        await fsp.writeFile(target, buf, { mode, flag: 'wx' });
      }
    }
    if (target !== abs) await fsp.rename(target, abs);
  } catch (e) {
    if (target !== abs) await fsp.rm(target, { force: true }).catch(() => undefined);
    if (e instanceof StrataError) throw e;
    throw fromSystemError(e, abs);
  }
  if (link === 'hardlink') return null;
  const st = await fsp.lstat(abs);
  return { path: row.path, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs, ino: st.ino, id: row.id, chunks: row.chunks, recorded: ownWrite(recorded, st.mtimeMs) };
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
