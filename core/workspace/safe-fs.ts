/**
 * The one safe way to change files in the workspace.
 *
 * Everything that writes or deletes a workspace path goes through a WorkspaceFs:
 * - names are checked (no '', '.', '..', '/', '\', NUL; no `.git` / `.strata` in any case, at any
 *   depth) and a whole plan is checked before the first write (no path twice, no file `a` next to a
 *   file `a/b`, no symlink whose target leaves the workspace unless the user allowed it);
 * - directories are opened one component at a time with O_NOFOLLOW|O_DIRECTORY, and every later
 *   operation goes through the opened descriptor (`/proc/self/fd/N/name` on Linux: the kernel
 *   resolves N to the directory that was opened, not to whatever the path names now), so a symlink
 *   laid down earlier by the same tree or raced in by another process cannot redirect a write, a
 *   rename or a delete;
 * - files are produced in `.strata/tmp/` (same filesystem: the rename into place is atomic), so a
 *   killed checkout leaves no temporary file among the user's files, and stale temporaries of dead
 *   processes are removed by the next writer.
 *
 * Where /proc/self/fd is not available (not Linux), each component is lstat'ed right before use:
 * symlinks already present are refused the same way, but a symlink swapped in between the check and
 * the use is not excluded (documented in docs/security.md).
 */
import {
  closeSync,
  constants as fsc,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmdirSync,
  unlinkSync,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import { processAlive } from '../util/concurrency.js';

/** Old versions wrote `<dir>/.strata-tmp-<pid>-<random>` next to the file being replaced. */
const LEGACY_TMP_RE = /^\.strata-tmp-\d+-[a-z0-9]*$/;
/** Temporary files of workspace writes, in `.strata/tmp/`: ws-<pid>-<random>. */
const TMP_PREFIX = 'ws-';

function unsafe(p: string, why: string): StrataError {
  return new StrataError('PATH_OUTSIDE_WORKSPACE', `refusing to write ${JSON.stringify(p)}: ${why}`, {
    hint: 'the data names a path strata must never write; it may be corrupt or crafted to escape the workspace (run strata fsck, and check where it came from)',
    details: { path: p },
  });
}

/** `.git` and `.strata` in any case (and with the trailing dots/spaces Windows drops). */
function isReservedName(name: string): boolean {
  const n = name.replace(/[. ]+$/, '').toLowerCase();
  return n === '.git' || n === '.strata';
}

/** Why a single path component is not acceptable, or null. */
function badName(name: string): string | null {
  if (name === '') return 'it has an empty component';
  if (name === '.' || name === '..') return `it has a ${name} component`;
  if (name.includes('/') || name.includes('\\')) return 'a name contains a path separator';
  if (name.includes('\0')) return 'a name contains a NUL byte';
  if (isReservedName(name)) return `${name} is reserved (strata never writes inside .git or .strata)`;
  return null;
}

/** Validate a repository path from stored data, component by component. */
export function checkWorkspacePath(p: string): string {
  if (typeof p !== 'string' || p === '') throw unsafe(String(p), 'the path is empty');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw unsafe(p, 'it is absolute');
  for (const c of p.split('/')) {
    const why = badName(c);
    if (why) throw unsafe(p, why);
  }
  return p;
}

/** Refuse a plan that names a path twice, or a path and a path below it (file `a` and `a/b`). */
export function checkPlanPaths(paths: Iterable<string>): void {
  const sorted = [...paths].sort();
  const seen = new Set<string>();
  for (const p of sorted) {
    if (seen.has(p)) throw unsafe(p, 'the tree holds this path twice');
    seen.add(p);
  }
  // With plain code-unit order, every path below `a` sorts after `a` and before the next sibling
  // that is not below it, but `a-b` may sort between `a` and `a/b`: test each parent explicitly.
  for (const p of sorted) {
    let i = p.lastIndexOf('/');
    while (i > 0) {
      const parent = p.slice(0, i);
      if (seen.has(parent)) throw unsafe(p, `the tree also holds ${parent} as a file or symbolic link`);
      i = parent.lastIndexOf('/');
    }
  }
}

/**
 * Does a symlink at `linkPath` (repository path) with `target` point outside the workspace, or into
 * .git/.strata? Decided lexically from the link's folder (links are never followed).
 */
export function symlinkEscapes(linkPath: string, target: string): string | null {
  if (target === '') return 'its target is empty';
  if (target.includes('\0')) return 'its target contains a NUL byte';
  if (target.startsWith('/') || target.startsWith('\\') || /^[A-Za-z]:/.test(target)) return `its target ${target} is absolute`;
  const dir = linkPath.includes('/') ? linkPath.slice(0, linkPath.lastIndexOf('/')) : '';
  // Walk the target one component at a time from the link's folder: `a/../../x` leaves the root
  // even if it comes back later.
  // The leading `..` climb real directories (strata never creates a folder through a link), so
  // their meaning is known; a `..` after a name (`x/..`) depends on whether `x` is itself a link,
  // which cannot be decided without following it: refused.
  const stack = dir === '' ? [] : dir.split('/');
  let descended = false;
  for (const c of target.replace(/\\/g, '/').split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..' && descended) return `its target ${target} climbs back up after naming a folder (x/..), which cannot be checked without following links`;
    if (c !== '..') descended = true;
    if (c === '..') {
      if (stack.length === 0) return `its target ${target} leaves the workspace`;
      stack.pop();
    } else stack.push(c);
  }
  if (stack.some((c) => isReservedName(c))) return `its target ${target} points into .git or .strata`;
  return null;
}

export function refuseSymlink(p: string, why: string): StrataError {
  return new StrataError('PATH_OUTSIDE_WORKSPACE', `refusing to create symbolic link ${p}: ${why}`, {
    hint: 'links that leave the workspace are refused; if you trust this data, allow them with strata config set core.allowOutsideSymlinks true and retry',
    details: { path: p },
  });
}

const HAVE_PROC_FD = (() => {
  try {
    return process.platform === 'linux' && existsSync('/proc/self/fd');
  } catch {
    return false;
  }
})();

const DIR_FLAGS = fsc.O_RDONLY | (fsc.O_DIRECTORY ?? 0) | (fsc.O_NOFOLLOW ?? 0);
/** Close idle directory descriptors past this many. */
const MAX_DIR_FDS = 1024;

interface DirSlot {
  fd: number;
  users: number;
}

/** A directory of the workspace, held open: `at(name)` is a path that resolves through it. */
export interface DirRef {
  rel: string;
  at(name: string): string;
  release(): void;
}

export class WorkspaceFs {
  private readonly dirs = new Map<string, DirSlot>();
  private closed = false;
  /** Directories this writer created, parents before children (pruned again by a failed checkout). */
  readonly created: string[] = [];

  private constructor(readonly root: string, readonly tmpDir: string, private readonly rootFd: number | null) {}

  /** Open the writer for `root`; temporaries go to `tmpDir` (created; stale ones of dead processes removed). */
  static async open(root: string, tmpDir: string): Promise<WorkspaceFs> {
    await fsp.mkdir(tmpDir, { recursive: true });
    const st = await fsp.lstat(tmpDir);
    if (!st.isDirectory()) throw new StrataError('IO_ERROR', `${tmpDir} is not a directory`, { hint: `remove it and retry` });
    await cleanStaleTemps(tmpDir);
    let rootFd: number | null = null;
    if (HAVE_PROC_FD) {
      try {
        // The root itself may be reached through a symlink the user made (e.g. ~/proj -> /data/proj):
        // that is the user's choice, so it is opened following links; nothing below it is.
        rootFd = openSync(root, fsc.O_RDONLY | (fsc.O_DIRECTORY ?? 0));
      } catch {
        rootFd = null;
      }
    }
    return new WorkspaceFs(root, tmpDir, rootFd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.dirs.values()) closeSync(s.fd);
    this.dirs.clear();
    if (this.rootFd !== null) closeSync(this.rootFd);
  }

  /** A fresh temporary path in .strata/tmp/. */
  tmpPath(): string {
    // Unique per process (pid), per writer (random tag) and per call (counter).
    return join(this.tmpDir, `${TMP_PREFIX}${process.pid}-${this.tmpTag}${(this.tmpSeq++).toString(36)}`);
  }

  private readonly tmpTag = randomBytes(6).toString('hex');
  private tmpSeq = 0;

  private base(rel: string): string {
    if (rel === '') return this.rootFd !== null ? `/proc/self/fd/${this.rootFd}` : this.root;
    const s = this.dirs.get(rel);
    if (s) return `/proc/self/fd/${s.fd}`;
    return join(this.root, rel);
  }

  /**
   * Hold directory `rel` (created when `create`, component by component, never through a symlink).
   * Returns null when `create` is false and the directory is absent or a component is not a real
   * directory (nothing can be removed there without following a link).
   * `replaceFile(rel)` says whether a file standing where a directory must go may be removed.
   */
  dir(rel: string, opts: { create: boolean; replaceFile?: (rel: string) => boolean }): DirRef | null {
    if (rel !== '') checkWorkspacePath(rel);
    const ok = this.hold(rel, opts);
    if (!ok) return null;
    let released = false;
    const self = this;
    return {
      rel,
      at(name: string): string {
        return `${self.base(rel)}/${name}`;
      },
      release(): void {
        if (released) return;
        released = true;
        self.unhold(rel);
      },
    };
  }

  private unhold(rel: string): void {
    if (rel === '') return;
    const s = this.dirs.get(rel);
    if (s) s.users--;
  }

  /** Synchronous from start to end: no other task interleaves while components are opened. */
  private hold(rel: string, opts: { create: boolean; replaceFile?: (rel: string) => boolean }): boolean {
    if (rel === '') return true;
    const have = this.dirs.get(rel);
    if (have) {
      have.users++;
      return true;
    }
    const i = rel.lastIndexOf('/');
    const parent = i < 0 ? '' : rel.slice(0, i);
    const name = i < 0 ? rel : rel.slice(i + 1);
    if (!this.hold(parent, opts)) return false;
    try {
      const path = `${this.base(parent)}/${name}`;
      const fd = this.openDir(path, rel, opts);
      if (fd === null) return false;
      this.evictIdle();
      if (fd === -1) return true; // no /proc: checked now, used by path (see the module comment)
      this.dirs.set(rel, { fd, users: 1 });
      return true;
    } finally {
      this.unhold(parent);
    }
  }

  /** Open (or create) one directory component; -1 = checked but no descriptor (no /proc). */
  private openDir(path: string, rel: string, opts: { create: boolean; replaceFile?: (rel: string) => boolean }): number | null {
    for (let attempt = 0; attempt < 3; attempt++) {
      let st = lstatSync(path, { throwIfNoEntry: false });
      if (st?.isSymbolicLink()) {
        if (!opts.create) return null;
        throw new StrataError('PATH_OUTSIDE_WORKSPACE', `${rel} is a symbolic link; refusing to write files through it`, {
          hint: `remove the link ${rel} (or move it away) and retry`,
          details: { path: rel },
        });
      }
      if (st && !st.isDirectory()) {
        if (!opts.create) return null;
        if (!(opts.replaceFile?.(rel) ?? true)) {
          throw new StrataError('UNCOMMITTED_CHANGES', `${rel} is a file in the workspace but a directory in the target`, {
            hint: `move ${rel} away and retry`,
            details: { path: rel },
          });
        }
        unlinkSync(path); // unlink never follows the last component
        st = undefined;
      }
      if (!st) {
        if (!opts.create) return null;
        try {
          mkdirSync(path, 0o777);
          this.created.push(rel);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
      }
      if (this.rootFd === null) {
        const again = lstatSync(path, { throwIfNoEntry: false });
        if (again?.isDirectory() && !again.isSymbolicLink()) return -1;
        continue;
      }
      try {
        return openSync(path, DIR_FLAGS);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') continue; // changed under us: look again
        throw e;
      }
    }
    throw new StrataError('PATH_OUTSIDE_WORKSPACE', `${rel} keeps changing while strata writes it (a symbolic link or file is being put there); refusing to write through it`, {
      hint: 'stop the other process changing the workspace and retry',
      details: { path: rel },
    });
  }

  private evictIdle(): void {
    if (this.dirs.size < MAX_DIR_FDS) return;
    for (const [k, s] of this.dirs) {
      if (s.users > 0) continue;
      closeSync(s.fd);
      this.dirs.delete(k);
      if (this.dirs.size < MAX_DIR_FDS / 2) break;
    }
  }

  /**
   * Remove the file or symlink at `rel`. Nothing is removed through a symlinked or missing parent;
   * a directory standing there is left alone. Returns whether something was removed.
   */
  removeFile(rel: string): boolean {
    checkWorkspacePath(rel);
    const i = rel.lastIndexOf('/');
    const d = this.dir(i < 0 ? '' : rel.slice(0, i), { create: false });
    if (!d) return false;
    try {
      const p = d.at(i < 0 ? rel : rel.slice(i + 1));
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st || st.isDirectory()) return false;
      try {
        unlinkSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
      return true;
    } finally {
      d.release();
    }
  }

  /** Remove directory `rel` if it is empty (never through a link). */
  pruneDir(rel: string): boolean {
    const i = rel.lastIndexOf('/');
    const d = this.dir(i < 0 ? '' : rel.slice(0, i), { create: false });
    if (!d) return false;
    try {
      const p = d.at(i < 0 ? rel : rel.slice(i + 1));
      // Forget a descriptor we hold for it (an open descriptor does not stop rmdir, but it must not be reused).
      const s = this.dirs.get(rel);
      if (s && s.users > 0) return false;
      try {
        rmdirSync(p);
      } catch {
        return false;
      }
      if (s) {
        closeSync(s.fd);
        this.dirs.delete(rel);
      }
      return true;
    } finally {
      d.release();
    }
  }

  /** Remove `.strata-tmp-*` files older versions left in `rel` (and count them). */
  cleanLegacyTemps(rel: string): number {
    const d = this.dir(rel, { create: false });
    if (!d) return 0;
    let n = 0;
    try {
      let names: string[];
      try {
        names = readdirSync(d.at('.'));
      } catch {
        return 0;
      }
      for (const name of names) {
        if (!LEGACY_TMP_RE.test(name)) continue;
        const pid = Number(/^\.strata-tmp-(\d+)-/.exec(name)![1]);
        if (pid !== process.pid && processAlive(pid)) continue;
        const p = d.at(name);
        const st = lstatSync(p, { throwIfNoEntry: false });
        if (st && st.isFile()) {
          try {
            unlinkSync(p);
            n++;
          } catch {
            /* best effort */
          }
        }
      }
    } finally {
      d.release();
    }
    return n;
  }
}


/** Remove temporaries in `.strata/tmp/` left by workspace writers that are no longer running. */
async function cleanStaleTemps(tmpDir: string): Promise<number> {
  let names: string[];
  try {
    names = await fsp.readdir(tmpDir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    const m = /^ws-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await fsp.rm(join(tmpDir, name), { force: true }).catch(() => undefined);
    n++;
  }
  return n;
}
