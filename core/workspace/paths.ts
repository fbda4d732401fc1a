/**
 * Workspace paths. Inside Strata every path is repository-relative, POSIX-separated, normalized,
 * with no leading './', no '..' and no trailing '/'. The root itself is ''.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { StrataError } from '../errors/index.js';
import { STRATA_DIR } from '../repo/index.js';
import { checkWorkspacePath } from './safe-fs.js';

function outside(p: string, root: string): StrataError {
  return new StrataError('PATH_OUTSIDE_WORKSPACE', `${p} is outside the repository at ${root}`, {
    hint: 'strata only versions files inside the project folder; move or copy the data under it',
  });
}

/** Turn a user-supplied path (relative to `cwd`, or absolute) into a repository path. */
export function toRepoPath(root: string, cwd: string, userPath: string): string {
  if (userPath.includes('\0')) throw new StrataError('INVALID_ARGUMENT', 'path contains a NUL byte');
  const abs = resolve(cwd, userPath);
  const rel = relative(root, abs);
  if (rel === '') return '';
  if (rel.startsWith('..') || isAbsolute(rel)) throw outside(userPath, root);
  const posix = sep === '/' ? rel : rel.split(sep).join('/');
  if (posix === STRATA_DIR || posix.startsWith(STRATA_DIR + '/')) {
    throw new StrataError('INVALID_ARGUMENT', `${userPath} is inside ${STRATA_DIR}/, which strata manages itself`, {
      hint: 'name a data path of your project',
    });
  }
  return posix;
}

/**
 * Validate a repository path that came from stored data (a tree, a remote, a server request):
 * it must not escape the workspace whatever it says, nor name anything inside .git or .strata
 * (any case, any depth). One rule, shared with the workspace writer (safe-fs.ts).
 */
export function checkStoredPath(p: string): string {
  return checkWorkspacePath(p);
}

/** Is `p` equal to `root` or below it? ('' is the root of everything.) */
export function isUnder(p: string, root: string): boolean {
  return root === '' || p === root || p.startsWith(root + '/');
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** Keep only the outermost of a set of paths (dropping those under another). */
export function outermost(paths: Iterable<string>): string[] {
  const sorted = [...new Set(paths)].sort();
  const out: string[] = [];
  for (const p of sorted) {
    if (!out.some((r) => isUnder(p, r))) out.push(p);
  }
  return out;
}

/**
 * Validate a repository path a client typed (a server query string, a lineage node): relative,
 * '/'-separated, no '.'/'..' segments; '' for none.
 */
export function checkRequestPath(p: string | null | undefined): string {
  if (p === null || p === undefined) return '';
  if (p.includes('\0') || p.includes('\\')) throw new StrataError('INVALID_ARGUMENT', 'path must not contain NUL or backslashes');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw new StrataError('INVALID_ARGUMENT', `path ${JSON.stringify(p)} must be relative to the repository root`, { hint: 'e.g. path=data/train.csv' });
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '';
  const segs = trimmed.split('/');
  if (segs.some((s) => s === '' || s === '.' || s === '..')) {
    throw new StrataError('PATH_OUTSIDE_WORKSPACE', `path ${JSON.stringify(p)} has an empty, '.' or '..' segment`, { hint: 'use a plain relative path like data/train.csv' });
  }
  return trimmed;
}
