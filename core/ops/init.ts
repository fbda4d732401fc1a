import * as fsp from 'node:fs/promises';
import { resolve } from 'node:path';
import { fromSystemError } from '../errors/index.js';
import { initRepository } from '../repo/index.js';
import { validateRefName } from '../repo/refs.js';
import { findGitRoot } from '../code/git.js';

export interface InitOptions {
  dir: string;
  branch?: string;
}

export interface InitResult {
  root: string;
  branch: string;
  gitRoot: string | null;
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
  await repo.close();
  return { root, branch, gitRoot: await findGitRoot(root) };
}
