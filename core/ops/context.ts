/** What every operation receives from its caller (CLI, server, tests). */
import type { ProgressSink } from '../repo/worktree.js';
import { Repository } from '../repo/index.js';
import { StrataError } from '../errors/index.js';

/**
 * SQLite reports a full disk or a read-only database with its own error codes (SQLITE_FULL,
 * SQLITE_READONLY, ...): give them the same typed errors as the filesystem's ENOSPC and EACCES.
 * The failed statement's transaction was rolled back by SQLite, so nothing was committed.
 */
function fromSqliteError(e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return e;
  if (code.startsWith('SQLITE_FULL')) {
    return new StrataError('DISK_FULL', 'no space left on device while writing the metadata database', {
      hint: 'free some disk space (strata gc removes unreachable objects), then retry; nothing was committed',
      cause: e,
    });
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH')) {
    return new StrataError('PERMISSION_DENIED', `cannot write the metadata database: ${(e as Error).message}`, {
      hint: 'check the permissions and ownership of .strata/ and strata.db',
      cause: e,
    });
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new StrataError('IO_ERROR', `disk I/O error on the metadata database: ${(e as Error).message}`, {
      hint: 'check that the disk is not full and the filesystem is healthy, then retry; nothing was committed',
      cause: e,
    });
  }
  return e;
}

export interface OpContext {
  /** Directory the user is in; the repository is found from here. */
  cwd: string;
  /** Progress reports for long operations (the CLI draws them on a TTY). */
  progress?: ProgressSink;
}

/** Open the repository containing ctx.cwd, run fn, always close it. */
export async function withRepo<T>(ctx: OpContext, fn: (repo: Repository) => Promise<T>, opts: { readonly?: boolean } = {}): Promise<T> {
  let repo: Repository;
  try {
    repo = await Repository.open(ctx.cwd, opts);
  } catch (e) {
    throw fromSqliteError(e);
  }
  try {
    return await fn(repo);
  } catch (e) {
    throw fromSqliteError(e);
  } finally {
    await repo.close();
  }
}

/** Open, take the writer lock for `op`, run fn, release and close. */
export async function withWriteRepo<T>(ctx: OpContext, op: string, fn: (repo: Repository) => Promise<T>): Promise<T> {
  return withRepo(ctx, (repo) => repo.withWriteLock(op, () => fn(repo)));
}
