/**
 * The CLI's one place that finds and opens the repository. Every command that works on an existing
 * repository goes through withCliRepo: it finds the repository from the current folder, opens it,
 * takes the writer lock when the command writes, maps SQLite failures to typed errors and closes
 * the repository whatever happens. In a git clone of a project whose data is not fetched yet it
 * says so (and pull/checkout create the repository from strata.project). The operations in core/ops/ take the open Repository.
 *
 * User paths: a user types paths relative to the folder they are in; operations take
 * repository-relative paths. repoPaths() is the one mapping (core/workspace/paths.ts toRepoPath).
 */
import type { Repository } from '../core/repo/index.js';
import { openProject } from '../core/project/open.js';
import { sqliteToStrata } from '../core/meta/db.js';
import { toRepoPath } from '../core/workspace/paths.js';

export interface CliRepoOptions {
  /** The command writes: hold the writer lock (named after this operation) while fn runs. */
  write?: string;
  /** Open the metadata database read-only (commands that never write, not even caches). */
  readonly?: boolean;
  /** Folder the user is in (default process.cwd()). */
  cwd?: string;
  /**
   * The command brings data (pull, checkout): in a git clone of a project (strata.project, no
   * .strata/ yet) create the repository from the project file (core/project/open.ts).
   */
  fromProject?: boolean;
}

/** Find the repository containing the user's folder, open it, run fn, always close it. */
export async function withCliRepo<T>(o: CliRepoOptions, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const cwd = o.cwd ?? process.cwd();
  let repo: Repository;
  try {
    repo = await openProject(cwd, { readonly: o.readonly, fromProject: o.fromProject });
  } catch (e) {
    throw sqliteToStrata(e);
  }
  try {
    return await (o.write ? repo.withWriteLock(o.write, () => fn(repo)) : fn(repo));
  } catch (e) {
    throw sqliteToStrata(e, repo.db.path);
  } finally {
    await repo.close();
  }
}

/** The user's paths (relative to their folder, or absolute) as repository paths. */
export function repoPaths(repo: Repository, paths: string[], cwd: string = process.cwd()): string[] {
  return paths.map((p) => toRepoPath(repo.root, cwd, p));
}
