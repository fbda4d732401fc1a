/**
 * The code repository's state: HEAD commit, branch, origin URL (without user info or secret
 * parameters) and whether tracked files have uncommitted changes, read through a CodeRepo
 * (core/code/repo.ts: the git program, or isomorphic-git when there is none).
 */
import * as fsp from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { CodeVersion } from '../model/index.js';
import type { ConfigSource } from '../config/registry.js';
import { redactUrl } from '../config/redact.js';
import { LOCK_FILE } from '../workspace/ignore.js';
import { openCodeRepo } from './repo.js';

/**
 * The git work tree containing `dir`, or null: the nearest folder holding `.git`, a folder or a
 * `gitdir:` file (a linked worktree or a submodule).
 */
export async function findGitRoot(dir: string): Promise<string | null> {
  let cur = resolve(dir);
  for (;;) {
    const dotgit = join(cur, '.git');
    const st = await fsp.stat(dotgit).catch(() => null);
    if (st?.isDirectory()) return cur;
    if (st?.isFile()) {
      const head = await fsp.readFile(dotgit, 'utf8').then((t) => t.slice(0, 8), () => '');
      if (head === 'gitdir: ') return cur;
    }
    const up = dirname(cur);
    if (up === cur) return null;
    cur = up;
  }
}

export interface CodeStateOptions {
  /** Also compute the dirty flag (skip for speed when not needed). */
  checkDirty?: boolean;
  /** Where `code.git` is read (the repository's metadata store). */
  config?: ConfigSource | null;
}

/** What the code repository around `dir` is at. `commit: null` when there is no git repo or no commit. */
export async function readCodeState(dir: string, opts: CodeStateOptions = {}): Promise<CodeVersion & { root: string | null }> {
  const code = await openCodeRepo(dir, { config: opts.config ?? null });
  if (!code) return { root: null, commit: null, dirty: false };
  const [commit, branch, url] = await Promise.all([
    code.headCommit().catch(() => null),
    code.branch().catch(() => null),
    code.originUrl().catch(() => null),
  ]);
  // Recorded in commits, runs and OpenLineage events: never with credentials in it.
  const remote = url ? redactUrl(url) : null;
  let dirty = false;
  if (opts.checkDirty !== false && commit) dirty = (await code.changedFiles()).some((c) => !isLockFile(c.path));
  return { root: code.root, commit, branch, remote, dirty };
}

/** strata.lock records the data version (core/project/lock.ts): rewritten by strata itself, not a code change. */
function isLockFile(path: string): boolean {
  return path === LOCK_FILE || path.endsWith('/' + LOCK_FILE);
}
