/**
 * In a git project, tracked data paths are listed in the project's .gitignore so git does not
 * swallow the data. Strata manages one marked block and leaves the rest of the file alone; the
 * block only grows (an entry for a path no longer tracked is the user's to delete).
 */
import * as fsp from 'node:fs/promises';
import { join, relative } from 'node:path';
import { findGitRoot } from '../code/git.js';

const BEGIN = '# >>> strata: data paths versioned by strata (managed block)';
const END = '# <<< strata';

export async function syncGitignore(projectRoot: string, roots: string[]): Promise<boolean> {
  const gitRoot = await findGitRoot(projectRoot);
  if (!gitRoot) return false;
  const file = join(gitRoot, '.gitignore');
  let text = '';
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    /* none yet */
  }
  const prefix = relative(gitRoot, projectRoot).split('\\').join('/');
  const re = new RegExp(`${escape(BEGIN)}[\\s\\S]*?${escape(END)}`);
  // Entries are added, never dropped: another checkout of the project (a clone, a worktree, a
  // submodule) that has not tracked every path yet must not rewrite the committed block without them.
  const had = re.exec(text)?.[0].split('\n').slice(1, -1).filter((l) => l.trim() !== '') ?? [];
  const lines = [...new Set(['/' + (prefix ? prefix + '/' : '') + '.strata/', ...had, ...roots.filter((r) => r !== '').map((r) => '/' + (prefix ? prefix + '/' : '') + r)])];
  const block = [BEGIN, ...lines, END].join('\n');
  const next = re.test(text) ? text.replace(re, block) : (text && !text.endsWith('\n') ? text + '\n' : text) + block + '\n';
  if (next === text) return false;
  const tmp = `${file}.strata-tmp`;
  await fsp.writeFile(tmp, next);
  await fsp.rename(tmp, file);
  return true;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
