/**
 * The lock file `strata.lock`: the data commit that goes with the code, committed to git beside
 * it (DVC's dvc.lock / .dvc files). Every operation that moves the data HEAD (commit, checkout and
 * switch, pull, clone, merge) calls recordDataVersion() after its final transaction; after
 * `git checkout OLD`, `strata checkout` with no revision brings the data back to the commit the
 * lock file names (core/project/restore.ts), and `strata status` says when they differ.
 *
 * Format (small and stable, one `key = value` per line):
 *
 *   commit = <64 hex: the data commit>
 *   branch = <the data branch, absent when HEAD was detached>
 *   remote = <the remote to fetch it from, absent when none is configured>
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';
import { isId } from '../hash/index.js';
import { defaultRemote } from '../remote/config.js';
import type { Repository } from '../repo/index.js';
import type { Id } from '../model/index.js';
import { isSharedProject, writeIfChanged } from './file.js';
import { LOCK_FILE } from '../workspace/ignore.js';


export interface DataLock {
  commit: Id;
  branch: string | null;
  remote: string | null;
}

/** The lock file at `root`, or null when there is none. */
export async function readLock(root: string): Promise<DataLock | null> {
  const file = join(root, LOCK_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fromSystemError(e, file);
  }
  const kv = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const s = raw.replace(/\r$/, '').trim();
    if (!s || s.startsWith('#')) continue;
    const m = /^(commit|branch|remote)\s*=\s*(\S+)$/.exec(s);
    if (m) kv.set(m[1]!, m[2]!);
  }
  const commit = kv.get('commit');
  if (!commit || !isId(commit)) {
    throw new StrataError('CONFIG_INVALID', `${LOCK_FILE} names no data commit (a line "commit = <64 hex digits>")`, {
      hint: `restore it from git (git checkout -- ${LOCK_FILE}), or write it again: strata checkout BRANCH records the version checked out`,
    });
  }
  return { commit, branch: kv.get('branch') ?? null, remote: kv.get('remote') ?? null };
}

function renderLock(l: DataLock): string {
  return [
    '# strata.lock: the data version that goes with this code (written by strata; commit it with the code).',
    '# After git checkout, run "strata checkout" to bring the data to this version.',
    `commit = ${l.commit}`,
    ...(l.branch ? [`branch = ${l.branch}`] : []),
    ...(l.remote ? [`remote = ${l.remote}`] : []),
  ].join('\n') + '\n';
}

/**
 * Record the data HEAD in the lock file, when the project is shared through git and HEAD has a
 * commit. Call it after the operation's last transaction. Returns what was recorded (null: not a
 * shared project, or no commit yet). A failure to write is not the operation's failure (its data
 * change is committed): `strata status` reports a lock file that does not match.
 */
export async function recordDataVersion(repo: Repository): Promise<(DataLock & { changed: boolean }) | null> {
  try {
    if (!(await isSharedProject(repo.root))) return null;
    const head = repo.head();
    if (!head.commit) return null;
    let remote: string | null = null;
    try {
      remote = defaultRemote(repo.db);
    } catch {
      /* no remote (yet): the lock names none */
    }
    const lock: DataLock = { commit: head.commit, branch: head.branch, remote };
    // Already at this commit (strata checkout restoring the lock, a detached checkout of it):
    // the file stays as git has it.
    const cur = await readLock(repo.root).catch(() => null);
    if (cur?.commit === lock.commit) return { ...cur, changed: false };
    return { ...lock, changed: await writeIfChanged(join(repo.root, LOCK_FILE), renderLock(lock)) };
  } catch {
    return null;
  }
}

export interface DataVersionState {
  /** What strata.lock names (null: no lock file). */
  lock: DataLock | null;
  /** The data HEAD. */
  head: Id | null;
  /** The lock file names a commit other than HEAD: run strata checkout. */
  mismatch: boolean;
}

/** Whether the data checked out is the version the code's lock file names (null: no lock file). */
export async function dataVersionState(repo: Repository): Promise<DataVersionState | null> {
  const lock = await readLock(repo.root);
  if (!lock) return null;
  const head = repo.head().commit;
  return { lock, head, mismatch: head !== lock.commit };
}
