/**
 * Ignore rules: `.strataignore` at the project root, in gitignore syntax. `.strata/` and `.git/`
 * are always ignored, and so are `.strata-tmp-*` files (temporaries of older versions) and, at the
 * root, the files git shares for Strata: `strata.project` and `strata.lock` (core/project/).
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import type { Ignore } from 'ignore';

const IGNORE_FILE = '.strataignore';
/** The project file and the lock file (core/project/): at the root, they belong to git, never to the data. */
export const PROJECT_FILE = 'strata.project';
export const LOCK_FILE = 'strata.lock';
export const ROOT_FILES = [PROJECT_FILE, LOCK_FILE];

export interface IgnoreRules {
  ignores(path: string, isDir?: boolean): boolean;
  /** True when there is no .strataignore rule: only .strata/ and .git/ (skipped by the walker). */
  readonly trivial: boolean;
}

export async function loadIgnore(root: string): Promise<IgnoreRules> {
  // Loaded on demand: most commands in most projects never need it (see `trivial`).
  const ignoreFactory = ((await import('ignore')) as unknown as { default: () => Ignore }).default;
  const ig: Ignore = ignoreFactory();
  ig.add(['.strata/', '.git/', '.strata-tmp-*', ...ROOT_FILES.map((f) => '/' + f)]);
  let trivial = true;
  try {
    const text = await fsp.readFile(join(root, IGNORE_FILE), 'utf8');
    ig.add(text);
    trivial = !text.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  } catch {
    /* no ignore file */
  }
  return {
    trivial,
    ignores(path: string, isDir = false): boolean {
      if (path === '') return false;
      return ig.ignores(isDir ? path + '/' : path);
    },
  };
}
