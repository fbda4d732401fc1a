import * as fsp from 'node:fs/promises';
import { resolve } from 'node:path';
import { fromSystemError } from '../errors/index.js';
import { initRepository } from '../repo/index.js';
import { validateRefName } from '../repo/refs.js';
import { findGitRoot } from '../code/git.js';
import { syncGitignore } from './gitignore.js';
import { readProjectFile, syncProjectFile } from '../project/file.js';
import { readLock } from '../project/lock.js';

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
  // In a checkout of a shared project (a git clone: strata.project, maybe strata.lock), the new
  // repository takes the project's settings and branch, so that init never rewrites the committed
  // project file without the team's remotes. Both files are validated before anything is created.
  const shared = await readProjectFile(root);
  const lock = shared ? await readLock(root) : null;
  const branch = opts.branch ?? lock?.branch ?? 'main';
  validateRefName(branch, 'branch');
  try {
    await fsp.mkdir(root, { recursive: true });
  } catch (e) {
    throw fromSystemError(e, root);
  }
  const repo = await initRepository(root, { branch });
  if (shared?.size) {
    repo.db.tx(() => {
      for (const [k, v] of shared) repo.db.setConfig(k, v);
    });
  }
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
