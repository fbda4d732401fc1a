/**
 * Copy a file or folder of a commit out to a destination outside any workspace: what `strata get`
 * (from a remote, core/ops/get.ts) and `strata export` (from the local repository,
 * core/ops/export.ts) share.
 *
 * - The tree under PATH is checked whole before the first byte is written: the tree graph (depth,
 *   declared counts and sizes, total paths: core/repo/tree.ts checkTreeGraph), every path (no '',
 *   '.', '..', separators, .git/.strata: the workspace writer's rule), no path twice, no file `a`
 *   beside `a/b`, and no symbolic link whose target leaves DEST.
 * - Everything is written into a stage folder `.strata-get-<pid>-<random>` beside DEST, through the
 *   workspace's safe writer (core/workspace/safe-fs.ts: directories held open with O_NOFOLLOW, so a
 *   link laid down by the same tree cannot redirect a later write), each file from
 *   verifiedFileStream (core/ops/cat.ts: every byte checked against its id) into a temporary that
 *   is renamed into place only once its stream ended without error. Only then is the staged result
 *   renamed to DEST: an interrupted or failed copy leaves no DEST, and the next copy into the same
 *   folder removes stage folders of processes that are no longer running.
 * - An existing DEST is refused unless `force`; with `force` it is replaced only after the new copy
 *   is complete.
 * - Files get mode 0644, or 0755 with the exec bit (less the umask), as checkout writes them;
 *   symbolic links are created as links.
 */
import * as fsp from 'node:fs/promises';
import { createWriteStream, lstatSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';
import { compareNames, type FileEntry, type Id, type SymlinkEntry, type Tree, type TreeEntry } from '../model/index.js';
import { PACK_OBJECT_MAX, type ObjectStore } from '../store/types.js';
import { checkTreeGraph } from '../repo/tree.js';
import type { ProgressSink } from '../repo/worktree.js';
import { checkPlanPaths, checkWorkspacePath, symlinkEscapes, WorkspaceFs } from '../workspace/safe-fs.js';
import { checkRequestPath } from '../workspace/paths.js';
import { verifiedFileStream } from './cat.js';
import { settleLimit, processAlive } from '../util/concurrency.js';

/** Where trees and file bytes of one version come from (a remote, or the local repository). */
export interface VersionSource {
  store: ObjectStore;
  /** A tree, parsed strictly and checked against its id. */
  readTree(id: Id): Promise<Tree>;
  /** Named in errors about trees from outside (e.g. `remote https://host/repo`). */
  source?: string;
  /**
   * Download many small objects in few requests (a remote: core/remote/reader.ts), each verified
   * against its id before onObject sees it. Without it every file is read on its own.
   */
  fetchMany?(ids: string[], onObject: (id: string, bytes: Buffer) => Promise<void>): Promise<void>;
}

export interface CopyOutOptions {
  /** Replace an existing DEST. */
  force?: boolean;
  jobs?: number;
  progress?: ProgressSink;
  /** Folders DEST must not be inside (a repository's .strata). */
  forbidden?: string[];
}

export interface CopyOutResult {
  /** Files and symbolic links written. */
  files: number;
  /** Bytes of the files written. */
  bytes: number;
  /** Absolute path written. */
  dest: string;
  /** The commit copied from. */
  commit: Id;
  /** The path copied ('' for the whole tree). */
  path: string;
  /** What PATH is in the commit. */
  type: 'file' | 'dir' | 'symlink';
}

type Leaf = FileEntry | SymlinkEntry;

/** A user-typed PATH inside a commit: '', '.' and '/' name the whole tree. */
export function normalizeCopyPath(p: string): string {
  const t = p.replace(/^\.?\/+/, '').replace(/^\.$/, '');
  return checkRequestPath(t);
}

/** DEST as given, or the last component of PATH in `cwd`. */
export function destFor(cwd: string, path: string, dest: string | undefined): string {
  if (dest !== undefined && dest !== '') return resolve(cwd, dest);
  if (path === '') {
    throw new StrataError('INVALID_ARGUMENT', 'copying the whole tree needs a destination', { hint: 'name one with -o DEST (a new folder)' });
  }
  return resolve(cwd, basename(path));
}

const STAGE_PREFIX = '.strata-get-';
/** Bytes of small objects asked for at once from a remote. */
const BATCH_BYTES = 32 << 20;

export async function copyOut(src: VersionSource, commit: Id, rootTree: Id, path: string, destIn: string, opts: CopyOutOptions = {}): Promise<CopyOutResult> {
  const dest = resolve(destIn);
  if (opts.forbidden?.length) {
    // Through links too: DEST's existing part as the filesystem resolves it.
    const real = await realDest(dest);
    for (const f of opts.forbidden) {
      const rf = await fsp.realpath(f).catch(() => f);
      const rel = relative(rf, real);
      if (rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel))) {
        throw new StrataError('INVALID_ARGUMENT', `refusing to write ${dest}: it is inside ${f}, which strata manages itself`, { hint: 'pick a destination outside .strata/' });
      }
    }
  }
  // ---- 1. what to write, checked whole
  const trees = new Map<Id, Tree>();
  const read = async (id: Id): Promise<Tree> => {
    let t = trees.get(id);
    if (!t) {
      t = await src.readTree(id);
      trees.set(id, t);
    }
    return t;
  };
  const entry = await entryIn(read, rootTree, path);
  if (!entry) throw new StrataError('PATH_NOT_FOUND', `${path} does not exist in commit ${commit.slice(0, 12)}`, { hint: 'list the commit: strata ls REF (in the source repository)', details: { path, commit } });
  const rows: Array<{ rel: string; e: Leaf }> = [];
  if (entry.type === 'dir') {
    await checkTreeGraph(read, entry.id, { source: src.source, depth: path === '' ? 0 : path.split('/').length });
    const walk = async (id: Id, base: string): Promise<void> => {
      const names = new Set<string>();
      for (const e of (await read(id)).entries) {
        const rel = base ? `${base}/${e.name}` : e.name;
        if (names.has(e.name)) throw new StrataError('OBJECT_CORRUPT', `tree ${id} holds the name ${JSON.stringify(rel)} twice`, { hint: 'the tree is corrupt or crafted', details: { path: rel, id } });
        names.add(e.name);
        if (e.type === 'dir') await walk(e.id, rel);
        else rows.push({ rel, e });
      }
    };
    await walk(entry.id, '');
  } else rows.push({ rel: '', e: entry });
  const shown = (rel: string) => (path && rel ? `${path}/${rel}` : path || rel);
  for (const r of rows) if (r.rel) checkWorkspacePath(r.rel);
  checkPlanPaths(rows.map((r) => r.rel));
  for (const r of rows) {
    if (r.e.type !== 'symlink') continue;
    // A link copied alone lands at DEST: its target may only go down from DEST's folder.
    const why = symlinkEscapes(r.rel || r.e.name, r.e.target);
    if (why) {
      throw new StrataError('PATH_OUTSIDE_WORKSPACE', `refusing to create symbolic link ${shown(r.rel)}: ${why.replace('leaves the workspace', 'leaves the destination')}`, {
        hint: 'links that point outside the copied folder are refused; copy the folder the link points into instead',
        details: { path: shown(r.rel), target: r.e.target },
      });
    }
  }
  if (src.store.kind === 'local') {
    const need = new Map<string, string>();
    for (const r of rows) if (r.e.type === 'file') need.set(r.e.chunks ?? r.e.id, shown(r.rel));
    const have = await src.store.hasMany(need.keys());
    for (const [id, p] of need) {
      if (!have.has(id)) {
        throw new StrataError('OBJECT_MISSING', `${p}: object ${id} is not in the object store; nothing was written`, {
          hint: 'fetch it (strata fetch, or strata pull -- PATH in a partial checkout) from a remote that has it; strata fsck lists every missing object',
          details: { path: p, id },
        });
      }
    }
  }

  // ---- 2. DEST
  const parent = dirname(dest);
  await refuseExisting(dest, opts.force === true);
  let madeParent: string | undefined;
  try {
    madeParent = await fsp.mkdir(parent, { recursive: true });
  } catch (e) {
    throw fromSystemError(e, parent);
  }
  await removeStaleStages(parent);

  // ---- 3. write into the stage folder
  const stage = join(parent, `${STAGE_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  const files = rows.filter((r) => r.e.type === 'file').sort((a, b) => compareNames(a.rel, b.rel));
  const links = rows.filter((r) => r.e.type === 'symlink').sort((a, b) => compareNames(a.rel, b.rel));
  const total = rows.length;
  const totalBytes = files.reduce((a, r) => a + r.e.size, 0);
  let done = 0;
  let bytes = 0;
  let lastTick = 0;
  const tick = (size: number) => {
    done++;
    bytes += size;
    const now = Date.now();
    if (opts.progress && (now - lastTick > 100 || done === total)) {
      lastTick = now;
      opts.progress({ phase: 'copying', done, total, bytes, totalBytes });
    }
  };
  let placed = false;
  try {
    await fsp.mkdir(stage);
  } catch (e) {
    throw fromSystemError(e, stage);
  }
  try {
    const ws = await WorkspaceFs.open(stage, join(stage, 'tmp'));
    try {
      // Rows land under `out` (a folder for a folder, the entry itself otherwise).
      const at = (rel: string) => (rel ? `out/${rel}` : 'out');
      if (entry.type === 'dir') ws.dir('out', { create: true })!.release();
      let streamed = files;
      if (src.fetchMany) {
        // Small whole objects from a remote: in batches, several per request.
        const small = new Map<Id, Array<{ rel: string; e: FileEntry }>>();
        streamed = [];
        for (const r of files) {
          const e = r.e as FileEntry;
          if (e.chunks || e.size >= PACK_OBJECT_MAX) streamed.push(r);
          else {
            const l = small.get(e.id);
            if (l) l.push({ rel: r.rel, e });
            else small.set(e.id, [{ rel: r.rel, e }]);
          }
        }
        for (const batch of batches(small, BATCH_BYTES)) {
          try {
            await src.fetchMany(batch, async (id, buf) => {
              for (const r of small.get(id) ?? []) {
                if (buf.length !== r.e.size) throw copyCorrupt(shown(r.rel), id, `it holds ${buf.length} bytes where the tree declares ${r.e.size}`);
                await writeBytes(ws, at(r.rel), buf, r.e.exec);
                tick(r.e.size);
              }
            });
          } catch (e) {
            throw namePath(e, (id) => small.get(id)?.[0]?.rel, shown);
          }
        }
      }
      await settleLimit(streamed, opts.jobs ?? 8, async (r) => {
        await writeFile(src.store, ws, at(r.rel), shown(r.rel), r.e as FileEntry);
        tick(r.e.size);
      });
      for (const r of links) {
        await writeLink(ws, at(r.rel), (r.e as SymlinkEntry).target);
        tick(0);
      }
    } finally {
      ws.close();
    }
    await moveIntoPlace(join(stage, 'out'), dest, stage, opts.force === true);
    placed = true;
  } finally {
    await fsp.rm(stage, { recursive: true, force: true }).catch(() => undefined);
    // Folders made for DEST go again when nothing was placed in them.
    if (!placed && madeParent) {
      for (let cur = parent; cur.length >= madeParent.length; cur = dirname(cur)) {
        if (!(await fsp.rmdir(cur).then(() => true, () => false))) break;
      }
    }
  }
  return { files: total, bytes, dest, commit, path, type: entry.type };
}

/** `p` with its longest existing prefix resolved through symbolic links. */
async function realDest(p: string): Promise<string> {
  let head = p;
  const tail: string[] = [];
  for (;;) {
    const r = await fsp.realpath(head).catch(() => null);
    if (r !== null) return join(r, ...tail.reverse());
    const up = dirname(head);
    if (up === head) return p;
    tail.push(basename(head));
    head = up;
  }
}

async function entryIn(read: (id: Id) => Promise<Tree>, root: Id, path: string): Promise<TreeEntry | null> {
  if (path === '') return { type: 'dir', name: '', id: root, size: 0, count: 0 };
  const parts = path.split('/');
  let cur = root;
  for (let i = 0; i < parts.length; i++) {
    const e = (await read(cur)).entries.find((x) => x.name === parts[i]);
    if (!e) return null;
    if (i === parts.length - 1) return e;
    if (e.type !== 'dir') return null;
    cur = e.id;
  }
  return null;
}

async function refuseExisting(dest: string, force: boolean): Promise<void> {
  const st = await fsp.lstat(dest).catch(() => null);
  if (!st || force) return;
  const what = st.isDirectory() ? 'a folder' : st.isSymbolicLink() ? 'a symbolic link' : 'a file';
  throw new StrataError('INVALID_ARGUMENT', `${dest} already exists (${what}); nothing was written`, {
    hint: 'pick another destination, or replace it with --force',
    details: { dest, reason: 'exists' },
  });
}

/** Split a destination path for the writer: the folder holding `rel` and its last name. */
function split(rel: string): { dir: string; name: string } {
  const i = rel.lastIndexOf('/');
  return i < 0 ? { dir: '', name: rel } : { dir: rel.slice(0, i), name: rel.slice(i + 1) };
}

async function writeFile(store: ObjectStore, ws: WorkspaceFs, rel: string, shown: string, e: FileEntry): Promise<void> {
  const { dir, name } = split(rel);
  const d = ws.dir(dir, { create: true })!;
  const tmp = ws.tmpPath();
  try {
    const stream = await verifiedFileStream(store, shown, e);
    try {
      await pipeline(stream, createWriteStream(tmp, { flags: 'wx', mode: e.exec ? 0o755 : 0o644 }));
    } catch (err) {
      if (err instanceof StrataError) throw err;
      throw fromSystemError(err, tmp);
    }
    await fsp.rename(tmp, d.at(name));
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  } finally {
    d.release();
  }
}

/** Groups of ids whose objects add up to about `max` bytes. */
function batches(small: Map<Id, Array<{ e: FileEntry }>>, max: number): Id[][] {
  const out: Id[][] = [];
  let cur: Id[] = [];
  let bytes = 0;
  for (const [id, rows] of small) {
    if (cur.length && bytes + rows[0]!.e.size > max) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(id);
    bytes += rows[0]!.e.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

function copyCorrupt(path: string, id: string, why: string): StrataError {
  return new StrataError('OBJECT_CORRUPT', `${path}: object ${id} is corrupt (${why}); nothing was written`, {
    hint: 'the source holds damaged data; copy from another remote or version, and have its owner run strata fsck',
    details: { path, id },
  });
}

/** A store error about an object, named after the path that needed it. */
function namePath(e: unknown, relOf: (id: string) => string | undefined, shown: (rel: string) => string): unknown {
  if (!(e instanceof StrataError) || (e.code !== 'OBJECT_CORRUPT' && e.code !== 'OBJECT_MISSING')) return e;
  const id = typeof e.details?.id === 'string' ? e.details.id : undefined;
  const rel = id === undefined ? undefined : relOf(id);
  if (rel === undefined || (e.details && 'path' in e.details)) return e;
  return new StrataError(e.code, `${shown(rel)}: ${e.message}; nothing was written`, { hint: e.hint, details: { ...e.details, path: shown(rel) } });
}

async function writeBytes(ws: WorkspaceFs, rel: string, buf: Buffer, exec: boolean): Promise<void> {
  const { dir, name } = split(rel);
  const d = ws.dir(dir, { create: true })!;
  const tmp = ws.tmpPath();
  try {
    await fsp.writeFile(tmp, buf, { mode: exec ? 0o755 : 0o644, flag: 'wx' });
    await fsp.rename(tmp, d.at(name));
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw fromSystemError(err, rel);
  } finally {
    d.release();
  }
}

async function writeLink(ws: WorkspaceFs, rel: string, target: string): Promise<void> {
  const { dir, name } = split(rel);
  const d = ws.dir(dir, { create: true })!;
  const tmp = ws.tmpPath();
  try {
    await fsp.symlink(target, tmp);
    await fsp.rename(tmp, d.at(name));
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw fromSystemError(err, rel);
  } finally {
    d.release();
  }
}

/**
 * Rename the finished copy to DEST. Without `force` a DEST that appeared meanwhile is still refused
 * (a file is placed with link(2), which never replaces; a folder is renamed after a last look). With
 * `force`, a file or link replaces a file or link in one rename; a folder on either side is moved
 * aside into the stage folder first and put back if the rename fails.
 */
async function moveIntoPlace(from: string, dest: string, stage: string, force: boolean): Promise<void> {
  const st = lstatSync(from);
  const old = await fsp.lstat(dest).catch(() => null);
  try {
    if (!old) {
      if (!st.isDirectory() && !st.isSymbolicLink()) {
        try {
          await fsp.link(from, dest);
          return;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') return refuseExisting(dest, false);
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw e;
        }
      }
      await refuseExisting(dest, false);
      await fsp.rename(from, dest);
      return;
    }
    if (!force) return refuseExisting(dest, false);
    if (!old.isDirectory() && !st.isDirectory()) {
      await fsp.rename(from, dest);
      return;
    }
    const aside = join(stage, 'old');
    await fsp.rename(dest, aside);
    try {
      await fsp.rename(from, dest);
    } catch (e) {
      await fsp.rename(aside, dest).catch(() => undefined);
      throw e;
    }
  } catch (e) {
    if (e instanceof StrataError) throw e;
    throw fromSystemError(e, dest);
  }
}


/** Stage folders of copies that were killed (their process is gone) in `dir`. */
async function removeStaleStages(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\.strata-get-(\d+)-[0-9a-f]+$/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await fsp.rm(join(dir, n), { recursive: true, force: true }).catch(() => undefined);
  }
}

