/**
 * The code repository (git) around a Strata project, behind one interface with two
 * implementations: the `git` program (core/code/git-cli.ts: linked worktrees, submodules, sparse
 * checkouts, and a `status` that uses the index's stat cache) and isomorphic-git
 * (core/code/git-builtin.ts: no git program needed). `code.git` chooses: `auto` (the default: the
 * git program when one new enough is on PATH, else isomorphic-git), `cli` or `builtin`.
 * Both pass the contract suite in test/helpers/code-contract.ts.
 */
import * as fsp from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StrataError } from '../errors/index.js';
import { readString, type ConfigSource } from '../config/registry.js';

/** What a tracked file's working copy is, compared with HEAD. */
export type TrackedChangeStatus = 'modified' | 'deleted' | 'added';

export interface TrackedChange {
  /** Relative to the work tree root, `/`-separated. */
  path: string;
  /**
   * `deleted`: in HEAD, absent from the work tree; `added`: in the index, not in HEAD (the working
   * file may be absent again); `modified`: anything else that differs from HEAD, the index included
   * (the working copy may equal HEAD when only the index differs).
   */
  status: TrackedChangeStatus;
}

export interface GitTreeEntry {
  /** Full path from the commit's root tree. */
  path: string;
  /** git mode: 040000 (tree), 100644, 100755, 120000 (symlink), 160000 (submodule). */
  mode: string;
  type: 'tree' | 'blob' | 'commit';
  oid: string;
}

export interface CodeRepo {
  readonly kind: 'cli' | 'builtin';
  /** The work tree root (the folder holding `.git`, a folder or a `gitdir:` file). */
  readonly root: string;
  /** The commit HEAD points at, or null (no commit yet, or HEAD unreadable). */
  headCommit(): Promise<string | null>;
  /** The branch HEAD is on (short name), or null when detached. */
  branch(): Promise<string | null>;
  /** remote.origin.url as configured (callers redact it before recording), or null. */
  originUrl(): Promise<string | null>;
  /** Tracked files that differ from HEAD, sorted by path. Untracked and ignored files are not listed. */
  changedFiles(): Promise<TrackedChange[]>;
  /** True when `oid` names a commit in the object database. */
  hasCommit(oid: string): Promise<boolean>;
  commitInfo(oid: string): Promise<{ tree: string; parents: string[] }>;
  /** Every entry of the commit's tree, recursively, trees included, each tree before its entries. */
  listTree(commit: string): Promise<GitTreeEntry[]>;
  /** Read objects by id (raw content, no filters), calling `each` in order, one at a time. */
  readObjects(oids: string[], each: (oid: string, type: string, bytes: Uint8Array) => Promise<void> | void): Promise<void>;
}

export type CodeGitMode = 'auto' | 'cli' | 'builtin';

const OID_RE = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** Refuse anything but a full object id before it reaches git (never an option, never a revision expression). */
export function checkOid(oid: string): string {
  if (!OID_RE.test(oid)) throw new StrataError('INVALID_ARGUMENT', `${JSON.stringify(oid)} is not a git object id`, { hint: 'give the full 40-character (or 64-character) commit id' });
  return oid;
}

export interface OpenCodeRepoOptions {
  /** Where `code.git` is read (a repository's metadata store); null: environment and user config only. */
  config?: ConfigSource | null;
  /** Overrides `code.git`. */
  mode?: CodeGitMode;
}

const NO_REPO_CONFIG: ConfigSource = { getConfig: () => null };

/** The `code.git` setting (environment > repository > user file > `auto`). */
function codeGitMode(config: ConfigSource | null = null): CodeGitMode {
  return (readString(config ?? NO_REPO_CONFIG, 'code.git') ?? 'auto') as CodeGitMode;
}

/**
 * Is there a `.git` (folder, file or link) in `dir` or a folder above it? Without one neither git
 * (which runs with every GIT_* variable removed, so only this discovery finds a repository) nor the
 * built-in reader can find a code repository, and starting git to be told so costs tens of
 * milliseconds on every commit and merge of a project outside git.
 */
async function gitMarkerAbove(dir: string): Promise<boolean> {
  for (let cur = resolve(dir); ; ) {
    try {
      await fsp.lstat(join(cur, '.git'));
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return true; // unreadable: let git decide
    }
    const up = dirname(cur);
    if (up === cur) return false;
    cur = up;
  }
}

/** The code repository containing `dir`, or null when there is none. */
export async function openCodeRepo(dir: string, opts: OpenCodeRepoOptions = {}): Promise<CodeRepo | null> {
  const mode = opts.mode ?? codeGitMode(opts.config ?? null);
  if (!(await gitMarkerAbove(dir))) return null;
  if (mode !== 'builtin') {
    const cli = await import('./git-cli.js');
    const got = await cli.openCliRepo(dir);
    if (got.repo) return got.repo;
    if (got.why === 'not-a-repo') return null;
    if (mode === 'cli') {
      throw new StrataError('CONFIG_INVALID', `code.git is cli but the git program cannot read the code repository: ${got.detail}`, {
        hint: 'install git 2.31 or newer (on PATH), or set code.git to auto or builtin (strata config set code.git auto)',
      });
    }
  }
  const builtin = await import('./git-builtin.js');
  return builtin.openBuiltinRepo(dir);
}
