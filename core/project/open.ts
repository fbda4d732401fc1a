/**
 * Finding and opening a repository in a project shared through git. After `git clone`, the folder
 * has strata.project (and strata.lock) but no `.strata/`: commands that bring data (`strata pull`,
 * `strata checkout`) create the repository from the project file — its remotes and shared
 * settings, the branch strata.lock names — and every other command says the data is not fetched
 * yet and names `strata pull`, instead of "not a strata repository".
 */
import * as fsp from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StrataError } from '../errors/index.js';
import { DB_FILE, initRepository, Repository, STRATA_DIR } from '../repo/index.js';
import { readProjectFile } from './file.js';
import { PROJECT_FILE } from '../workspace/ignore.js';
import { readLock } from './lock.js';

const isFile = (p: string) => fsp.stat(p).then((s) => s.isFile(), () => false);

/** The nearest folder at or above `cwd` holding a repository (.strata/strata.db) or a project file. */
async function findProject(cwd: string): Promise<{ root: string; repo: boolean } | null> {
  let cur = resolve(cwd);
  for (;;) {
    if (await isFile(join(cur, STRATA_DIR, DB_FILE))) return { root: cur, repo: true };
    if (await isFile(join(cur, PROJECT_FILE))) return { root: cur, repo: false };
    const up = dirname(cur);
    if (up === cur) return null;
    cur = up;
  }
}

/**
 * Open the repository containing `cwd`. In a project whose data is not fetched yet (a project
 * file, no .strata/): with `fromProject`, create the repository from the project file; without,
 * NOT_A_REPOSITORY saying so and naming strata pull.
 */
export async function openProject(cwd: string, opts: { readonly?: boolean; fromProject?: boolean } = {}): Promise<Repository> {
  const found = await findProject(cwd);
  if (!found) return Repository.open(cwd, opts);
  if (found.repo) return Repository.openAt(found.root, { readonly: opts.readonly });
  if (!opts.fromProject) {
    throw new StrataError('NOT_A_REPOSITORY', `${found.root} is a strata project (${PROJECT_FILE}) whose data is not fetched yet`, {
      hint: 'run strata pull: it sets up .strata/ from strata.project and downloads the data version strata.lock names',
    });
  }
  return createFromProject(found.root);
}

/** A new repository at `root` with the project file's settings, on the branch strata.lock names. */
async function createFromProject(root: string): Promise<Repository> {
  // Validate both files before anything is created.
  const settings = (await readProjectFile(root)) ?? new Map<string, string>();
  const lock = await readLock(root);
  const repo = await initRepository(root, { branch: lock?.branch ?? undefined });
  repo.db.tx(() => {
    for (const [k, v] of settings) repo.db.setConfig(k, v);
  });
  return repo;
}
