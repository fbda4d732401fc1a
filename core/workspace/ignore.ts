/**
 * Ignore rules: `.strataignore` at the project root, in gitignore syntax. `.strata/` and `.git/`
 * are always ignored.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import ignoreFactory, { type Ignore } from 'ignore';

export const IGNORE_FILE = '.strataignore';

export interface IgnoreRules {
  ignores(path: string, isDir?: boolean): boolean;
}

export async function loadIgnore(root: string): Promise<IgnoreRules> {
  const ig: Ignore = (ignoreFactory as unknown as () => Ignore)();
  ig.add(['.strata/', '.git/']);
  try {
    ig.add(await fsp.readFile(join(root, IGNORE_FILE), 'utf8'));
  } catch {
    /* no ignore file */
  }
  return {
    ignores(path: string, isDir = false): boolean {
      if (path === '') return false;
      return ig.ignores(isDir ? path + '/' : path);
    },
  };
}
