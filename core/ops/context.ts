/** What every operation receives from its caller (CLI, server, tests). */
import type { ProgressSink } from '../repo/worktree.js';
import { Repository } from '../repo/index.js';

export interface OpContext {
  /** Directory the user is in; the repository is found from here. */
  cwd: string;
  /** Progress reports for long operations (the CLI draws them on a TTY). */
  progress?: ProgressSink;
}

/** Open the repository containing ctx.cwd, run fn, always close it. */
export async function withRepo<T>(ctx: OpContext, fn: (repo: Repository) => Promise<T>, opts: { readonly?: boolean } = {}): Promise<T> {
  const repo = await Repository.open(ctx.cwd, opts);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

/** Open, take the writer lock for `op`, run fn, release and close. */
export async function withWriteRepo<T>(ctx: OpContext, op: string, fn: (repo: Repository) => Promise<T>): Promise<T> {
  return withRepo(ctx, (repo) => repo.withWriteLock(op, () => fn(repo)));
}
