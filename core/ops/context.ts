/**
 * What operations share.
 *
 * The rule (ARCH-NOTES-ops.md): an operation on an existing repository takes the open Repository
 * and its options and returns a value: `log(repo, opts)`, `add(repo, opts)`. Callers (the CLI's
 * cli/repo.ts, the server's routes, tests) find and open the repository. Path lists in options are
 * repository-relative; an operation that interprets a single user-typed location (run's working
 * folder, lineage's target, checkout --for's folder, a directory remote URL) takes `cwd` (absolute)
 * in its options, default the repository root.
 *
 * Writing operations take the writer lock themselves with repo.withWriteLock(op, fn); the lock is
 * re-entrant on one Repository, so a caller that already holds it (the CLI takes it for the whole
 * command) is not blocked.
 *
 * Operations that create or find repositories (init, clone, demo, fsck, reproduce into a new
 * folder) keep taking folders: OpContext.
 */
import type { ProgressSink } from '../repo/worktree.js';
import { Repository } from '../repo/index.js';
import { sqliteToStrata } from '../meta/db.js';

export interface OpContext {
  /** Directory the user is in; the repository is found (or created) from here. */
  cwd: string;
  /** Progress reports for long operations (the CLI draws them on a TTY). */
  progress?: ProgressSink;
}

/** Options every operation accepts. */
export interface OpOptions {
  /** Progress reports for long operations (the CLI draws them on a TTY). */
  progress?: ProgressSink;
}

/**
 * Open the repository containing ctx.cwd, run fn, always close it: for the operations that find a
 * repository from a folder themselves (reproduce opens its source; demo the folder it made).
 */
export async function withRepo<T>(ctx: OpContext, fn: (repo: Repository) => Promise<T>, opts: { readonly?: boolean } = {}): Promise<T> {
  let repo: Repository;
  try {
    repo = await Repository.open(ctx.cwd, opts);
  } catch (e) {
    throw sqliteToStrata(e);
  }
  try {
    return await fn(repo);
  } catch (e) {
    throw sqliteToStrata(e, repo.db.path);
  } finally {
    await repo.close();
  }
}
