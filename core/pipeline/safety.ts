/**
 * Containment for pipelines and run records: every path a stage or a run record names (deps,
 * outputs, wdir, params files, recorded code changes) must stay inside its folder, never name
 * `.git` / `.strata` (any case, at any depth), and never pass through a symbolic link.
 *
 * Two levels of checks:
 *  - lexical (`pathProblem`): on the text of a normalized project path, at parse time and on
 *    records read from the store or a remote;
 *  - on disk (`diskProblem`, `checkOnDisk`): every existing component is lstat'ed; a component
 *    that is a symbolic link is refused (pointing anywhere), and the real path of the deepest
 *    existing folder must lie inside the real path of the root. Called right before anything
 *    is deleted, created or restored.
 *
 * The writers here (`safeMkdirs`, `safeRemove`, `safeWriteFile`) create paths component by
 * component and re-check after creating, so a link laid down or raced in cannot redirect them.
 */
import * as fsp from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import { join, posix, sep } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';
import type { IndexRow } from '../meta/db.js';

/** `.git` / `.strata` in any case (and the Windows aliases with trailing dots or spaces). */
export function isReservedName(seg: string): boolean {
  const s = seg.replace(/[. ]+$/, '').toLowerCase();
  return s === '.git' || s === '.strata' || s === 'git~1';
}

/**
 * What is wrong with a project-relative path (POSIX, as stored), or null. `.` (the root) is
 * accepted only with `allowRoot`.
 */
export function pathProblem(p: string, opts: { allowRoot?: boolean } = {}): string | null {
  if (typeof p !== 'string') return 'path is not a string';
  if (p === '.' || p === '') return opts.allowRoot ? null : 'path names the whole folder';
  if (p.includes('\0')) return `path ${JSON.stringify(p)} contains a NUL byte`;
  if (p.includes('\\')) return `path ${JSON.stringify(p)} contains a backslash`;
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.startsWith('~')) return `path ${JSON.stringify(p)} is absolute`;
  const segs = p.split('/');
  if (segs.some((s) => s === '..')) return `path ${JSON.stringify(p)} escapes the folder (..)`;
  if (segs.some((s) => s === '' || s === '.')) return `path ${JSON.stringify(p)} is not normalized`;
  const bad = segs.find(isReservedName);
  if (bad !== undefined) return `path ${JSON.stringify(p)} is inside ${bad.toLowerCase().startsWith('.s') ? '.strata' : '.git'}, which strata never writes`;
  return null;
}

function outsideError(what: string, problem: string): StrataError {
  return new StrataError('PATH_OUTSIDE_WORKSPACE', `${what}: ${problem}`, {
    hint: 'keep every dep, output and working directory inside the project, not in .git or .strata and not through a symbolic link',
  });
}

/** Throw PATH_OUTSIDE_WORKSPACE when `p` fails `pathProblem`. */
export function checkPathText(p: string, what: string, opts: { allowRoot?: boolean } = {}): void {
  const problem = pathProblem(p, opts);
  if (problem) throw outsideError(what, problem);
}

const realRoots = new Map<string, string>();
async function realRoot(root: string): Promise<string> {
  let r = realRoots.get(root);
  if (!r) {
    r = await fsp.realpath(root).catch(() => root);
    realRoots.set(root, r);
  }
  return r;
}

function inside(real: string, rootReal: string): boolean {
  return real === rootReal || real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
}

/**
 * On-disk problem with `rel` under `root`, or null: a component that is a symbolic link (the last
 * one too unless `allowFinalLink`), a component that is not a folder where one is needed, or a
 * real path outside the root. Missing components are fine (they will be created safely).
 */
export async function diskProblem(root: string, rel: string, opts: { allowFinalLink?: boolean } = {}): Promise<string | null> {
  if (rel === '.' || rel === '') return null;
  const segs = rel.split('/');
  let cur = root;
  let deepest = root;
  for (let i = 0; i < segs.length; i++) {
    cur = join(cur, segs[i]!);
    const last = i === segs.length - 1;
    let st;
    try {
      st = await fsp.lstat(cur);
    } catch {
      break; // does not exist yet: nothing below it exists either
    }
    const shown = segs.slice(0, i + 1).join('/');
    if (st.isSymbolicLink()) {
      if (last && opts.allowFinalLink) break;
      return `${shown} is a symbolic link${last ? '' : ` on the way to ${rel}`}; strata never writes, deletes or reads through one`;
    }
    if (!last && !st.isDirectory()) return `${shown} is not a folder`;
    deepest = cur;
  }
  const rootReal = await realRoot(root);
  const real = await fsp.realpath(deepest).catch(() => deepest);
  if (!inside(real, rootReal)) return `${rel} resolves to ${real}, outside ${rootReal}`;
  return null;
}

/** Lexical and on-disk checks; throws PATH_OUTSIDE_WORKSPACE naming `what`. */
export async function checkOnDisk(root: string, rel: string, what: string, opts: { allowFinalLink?: boolean; allowRoot?: boolean } = {}): Promise<void> {
  checkPathText(rel, what, { allowRoot: opts.allowRoot });
  const problem = await diskProblem(root, rel, opts);
  if (problem) throw outsideError(what, problem);
}

/** Create the folder `rel` (and its parents) component by component, never through a link. */
export async function safeMkdirs(root: string, rel: string, what = rel): Promise<void> {
  if (rel === '.' || rel === '') return;
  checkPathText(rel, what);
  let cur = root;
  const segs = rel.split('/');
  for (let i = 0; i < segs.length; i++) {
    cur = join(cur, segs[i]!);
    const shown = segs.slice(0, i + 1).join('/');
    let st = await fsp.lstat(cur).catch(() => null);
    if (!st) {
      await fsp.mkdir(cur).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw fromSystemError(e, cur);
      });
      st = await fsp.lstat(cur).catch(() => null);
    }
    if (!st) throw outsideError(what, `${shown} could not be created`);
    if (st.isSymbolicLink()) throw outsideError(what, `${shown} is a symbolic link; strata never writes through one`);
    if (!st.isDirectory()) throw outsideError(what, `${shown} is not a folder`);
  }
}

/** Remove `rel` (file, link or whole folder; a link itself, never what it points at). */
export async function safeRemove(root: string, rel: string, what = rel): Promise<void> {
  await checkOnDisk(root, rel, what, { allowFinalLink: true });
  const abs = join(root, rel);
  try {
    await fsp.rm(abs, { recursive: true, force: true });
  } catch (e) {
    throw fromSystemError(e, abs);
  }
}

/** Write a file (or a symbolic link when `mode` is 120000) at `rel`, never through a link. */
export async function safeWriteFile(root: string, rel: string, bytes: Uint8Array, mode: string | undefined, what = rel): Promise<void> {
  const dir = posix.dirname(rel);
  await safeMkdirs(root, dir === '.' ? '' : dir, what);
  await checkOnDisk(root, rel, what, { allowFinalLink: true });
  const abs = join(root, rel);
  const cur = await fsp.lstat(abs).catch(() => null);
  if (cur?.isDirectory()) {
    throw new StrataError('UNCOMMITTED_CHANGES', `${what}: ${rel} is a folder here but a file in what is restored`, { hint: `move ${rel} away and retry` });
  }
  if (cur) await fsp.rm(abs, { force: true });
  if (mode === '120000') {
    const target = Buffer.from(bytes).toString('utf8');
    const problem = linkTargetProblem(rel, target);
    if (problem) throw outsideError(what, problem);
    await fsp.symlink(target, abs);
    return;
  }
  const perm = mode === '100755' ? 0o755 : 0o644;
  // O_EXCL + O_NOFOLLOW: a link raced in after the checks makes the open fail instead of following it.
  const fh = await fsp.open(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0), perm);
  try {
    await fh.writeFile(bytes);
    await fh.chmod(perm);
  } finally {
    await fh.close();
  }
}

/**
 * What is wrong with a symbolic link at `linkPath` (folder-relative) pointing at `target`, or null:
 * absolute targets, targets leaving the folder, and targets into `.git` / `.strata` are refused.
 */
export function linkTargetProblem(linkPath: string, target: string): string | null {
  if (target === '' || target.includes('\0')) return `symbolic link ${linkPath} has an empty or invalid target`;
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target) || target.includes('\\')) return `symbolic link ${linkPath} points at the absolute path ${JSON.stringify(target)}`;
  const parts = posix.dirname(linkPath) === '.' ? [] : posix.dirname(linkPath).split('/');
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return `symbolic link ${linkPath} points outside the folder (${JSON.stringify(target)})`;
      parts.pop();
    } else {
      if (isReservedName(seg)) return `symbolic link ${linkPath} points into ${seg} (${JSON.stringify(target)})`;
      parts.push(seg);
    }
  }
  return null;
}

/**
 * Refuse a set of rows to restore (one output's files, or a code tree) that could escape: unsafe
 * or reserved names, the same path twice, a path below another row (a file or a link standing
 * where a folder is needed), and links pointing outside the folder (unless `linksOutside`: rows
 * that are the user's own workspace state of a moment ago, put back after a failed run).
 */
export function checkRestoreRows(rows: Array<Pick<IndexRow, 'path' | 'type' | 'target'>>, what: string, opts: { linksOutside?: boolean } = {}): void {
  const paths = new Set<string>();
  for (const r of rows) {
    const problem = pathProblem(r.path);
    if (problem) throw outsideError(what, problem);
    if (paths.has(r.path)) throw outsideError(what, `${r.path} is listed twice`);
    paths.add(r.path);
  }
  for (const r of rows) {
    const segs = r.path.split('/');
    for (let i = 1; i < segs.length; i++) {
      const up = segs.slice(0, i).join('/');
      if (paths.has(up)) throw outsideError(what, `${r.path} lies below ${up}, which is a file or a symbolic link`);
    }
    if (r.type === 'symlink' && !opts.linksOutside) {
      const problem = linkTargetProblem(r.path, r.target ?? '');
      if (problem) throw outsideError(what, problem);
    }
  }
}

// ---------------------------------------------------------------- recorded environment

/**
 * Recorded environment variables applied when re-running a run that came from elsewhere: only
 * these (and LC_*), which select locale, time zone, threads, devices and seeds, never what is
 * loaded or executed. Anything else (PATH, LD_PRELOAD, NODE_OPTIONS, PYTHONPATH, BASH_ENV, GIT_*,
 * ...) is dropped with a warning unless named with --allow-env.
 */
const SAFE_RECORDED_ENV: readonly string[] = [
  'TZ',
  'LANG',
  'LANGUAGE',
  'PYTHONHASHSEED',
  'SEED',
  'RANDOM_SEED',
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'OPENBLAS_NUM_THREADS',
  'NUMEXPR_NUM_THREADS',
  'VECLIB_MAXIMUM_THREADS',
  'CUDA_VISIBLE_DEVICES',
  'CUBLAS_WORKSPACE_CONFIG',
  'TF_DETERMINISTIC_OPS',
  'NO_COLOR',
];

/** Split a recorded env into what is applied and what is dropped (foreign runs only). */
export function filterRecordedEnv(env: Record<string, string>, foreign: boolean, allow: readonly string[] = []): { env: Record<string, string>; dropped: string[] } {
  if (!foreign) return { env, dropped: [] };
  const out: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (SAFE_RECORDED_ENV.includes(k) || /^LC_[A-Z]+$/.test(k) || allow.includes(k)) out[k] = v;
    else dropped.push(k);
  }
  return { env: out, dropped };
}
