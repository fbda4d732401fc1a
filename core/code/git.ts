/**
 * The code repository's state, read with isomorphic-git (no git binary needed): HEAD commit,
 * branch, origin URL (without user info or secret parameters) and whether tracked files have
 * uncommitted changes.
 */
import * as fsp from 'node:fs/promises';
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CodeVersion } from '../model/index.js';
import { redactUrl } from '../config/redact.js';
import { LOCK_FILE } from '../workspace/ignore.js';

/** The git work tree containing `dir`, or null. */
export async function findGitRoot(dir: string): Promise<string | null> {
  let cur = resolve(dir);
  for (;;) {
    try {
      await fsp.stat(join(cur, '.git'));
      return cur;
    } catch {
      /* keep looking */
    }
    const up = dirname(cur);
    if (up === cur) return null;
    cur = up;
  }
}

type Git = typeof import('isomorphic-git');
let gitMod: Git | undefined;
async function git(): Promise<Git> {
  gitMod ??= (await import('isomorphic-git')).default as unknown as Git;
  return gitMod;
}

export interface CodeStateOptions {
  /** Also compute the dirty flag (walks tracked files; skip for speed when not needed). */
  checkDirty?: boolean;
}

/** What the code repository around `dir` is at. `commit: null` when there is no git repo or no commit. */
export async function readCodeState(dir: string, opts: CodeStateOptions = {}): Promise<CodeVersion & { root: string | null }> {
  const root = await findGitRoot(dir);
  if (!root) return { root: null, commit: null, dirty: false };
  const g = await git();
  let commit: string | null = null;
  let branch: string | null = null;
  let remote: string | null = null;
  try {
    commit = await g.resolveRef({ fs, dir: root, ref: 'HEAD' });
  } catch {
    commit = null;
  }
  try {
    branch = (await g.currentBranch({ fs, dir: root, fullname: false })) ?? null;
  } catch {
    branch = null;
  }
  try {
    // Recorded in commits, runs and OpenLineage events: never with credentials in it.
    const url = (await g.getConfig({ fs, dir: root, path: 'remote.origin.url' })) as string | undefined;
    remote = typeof url === 'string' && url !== '' ? redactUrl(url) : null;
  } catch {
    remote = null;
  }
  let dirty = false;
  if (opts.checkDirty !== false && commit) dirty = (await changedTrackedFiles(root)).length > 0;
  return { root, commit, branch, remote, dirty };
}

/**
 * Tracked files whose working copy differs from HEAD (modified, deleted, or staged-new).
 * Untracked files are not code changes for reproducibility purposes and are ignored, and so is
 * strata.lock.
 */
async function changedTrackedFiles(root: string): Promise<string[]> {
  const g = await git();
  const matrix = await g.statusMatrix({ fs, dir: root, ignored: false });
  const out: string[] = [];
  for (const [file, head, workdir, stage] of matrix) {
    // [HEAD, WORKDIR, STAGE]: 1,1,1 unchanged; 0,2,0 untracked (skip); anything else with head or stage present is a change.
    if (head === 1 && workdir === 1 && stage === 1) continue;
    if (head === 0 && stage === 0) continue;
    // strata.lock records the data version (core/project/lock.ts): rewritten by strata itself, not a code change.
    if (file === LOCK_FILE || file.endsWith('/' + LOCK_FILE)) continue;
    out.push(file);
  }
  return out;
}
