/** What every operation receives from its caller (CLI, server, tests). */
import type { ProgressSink } from '../repo/worktree.js';
import { Repository } from '../repo/index.js';
import { sqliteToStrata } from '../meta/db.js';

/**
 * SQLite reports a full disk, a damaged file or a read-only database with its own error codes
 * (SQLITE_FULL, SQLITE_IOERR_* on a full disk, SQLITE_CORRUPT, SQLITE_READONLY, ...): give them
 * typed errors (core/meta/db.ts sqliteToStrata). A failed statement's transaction was rolled back
 * by SQLite, so nothing was committed.
 */
function fromSqliteError(e: unknown, dbPath?: string): unknown {
  return sqliteToStrata(e, dbPath);
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
    throw fromSqliteError(e, repo.db.path);
  } finally {
    await repo.close();
  }
}

/** Open, take the writer lock for `op`, run fn, release and close. */
export async function withWriteRepo<T>(ctx: OpContext, op: string, fn: (repo: Repository) => Promise<T>): Promise<T> {
  return withRepo(ctx, (repo) => repo.withWriteLock(op, () => fn(repo)));
}
