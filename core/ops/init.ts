import * as fsp from 'node:fs/promises';
import { resolve } from 'node:path';
import { fromSystemError } from '../errors/index.js';
import { initRepository } from '../repo/index.js';
import { validateRefName } from '../repo/refs.js';
import { findGitRoot } from '../code/git.js';
import { syncGitignore } from './gitignore.js';
import { syncProjectFile } from '../project/file.js';

export interface InitOptions {
  dir: string;
  branch?: string;
}

export interface InitResult {
  root: string;
  branch: string;
  gitRoot: string | null;
  /** In a git work tree: the project file written (strata.project), shared through git. */
  projectFile: string | null;
}

export async function init(opts: InitOptions): Promise<InitResult> {
  const root = resolve(opts.dir);
  const branch = opts.branch ?? 'main';
  validateRefName(branch, 'branch');
  try {
    await fsp.mkdir(root, { recursive: true });
  } catch (e) {
    throw fromSystemError(e, root);
  }
  const repo = await initRepository(root, { branch });
  let projectFile: string | null = null;
  try {
    const gitRoot = await findGitRoot(root);
    if (gitRoot) {
      // .strata/ (database and objects) stays out of git; strata.project goes in.
      await syncGitignore(root, repo.db.trackedRoots());
      projectFile = (await syncProjectFile(repo))?.path ?? null;
    }
  } finally {
    await repo.close();
  }
  return { root, branch, gitRoot: await findGitRoot(root), projectFile };
}
