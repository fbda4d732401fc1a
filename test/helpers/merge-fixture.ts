/**
 * Diverged branches for the compare/merge tests, built with the real CLI and pushed to a server:
 *
 *   main      c1: a.txt, b.txt, data/big.bin
 *   ffbase    = c1                    ff       = c1 + f.txt               (fast-forward)
 *   left      = c1 + a.txt changed    right    = c1 + c.txt, data/more.bin (clean three-way merge)
 *   expected  = left + right's files  (the tree the clean merge must produce)
 *   cl        = c1 + a.txt, b.txt edited   cr  = c1 + b.txt edited, a.txt deleted (content and modify/delete conflicts)
 */
import { ok, seededBytes, writeFiles } from './cli.js';

export const RIGHT_FILES = { 'c.txt': 'see\n', 'data/more.bin': seededBytes(50_000, 7) };

export async function mergeFixture(dir: string, remote: string, token: string): Promise<void> {
  const env = { env: { STRATA_TOKEN: token } };
  await writeFiles(dir, { 'a.txt': 'alpha\n', 'b.txt': 'bravo\n', 'data/big.bin': seededBytes(120_000, 3) });
  await ok(dir, ['init']);
  await ok(dir, ['add', 'a.txt', 'b.txt', 'data']);
  await ok(dir, ['commit', '-m', 'c1: first']);
  const branch = async (name: string, from: string, files: Record<string, string | Buffer>, message: string, rm: string[] = []) => {
    await ok(dir, ['switch', from]);
    await ok(dir, ['switch', '-c', name]);
    if (Object.keys(files).length) {
      await writeFiles(dir, files);
      await ok(dir, ['add', ...Object.keys(files)]);
    }
    if (rm.length) await ok(dir, ['rm', ...rm]);
    await ok(dir, ['commit', '-m', message]);
  };
  await ok(dir, ['branch', 'ffbase']);
  await branch('ff', 'main', { 'f.txt': 'fox\n' }, 'ff: add f.txt');
  await branch('left', 'main', { 'a.txt': 'alpha, edited on the left\n' }, 'left: edit a.txt');
  await branch('right', 'main', RIGHT_FILES, 'right: add c.txt and more data');
  await branch('expected', 'left', RIGHT_FILES, 'expected: left plus right');
  await branch('cl', 'main', { 'a.txt': 'alpha kept on the left\n', 'b.txt': 'bravo from the left\n' }, 'cl: edit a.txt and b.txt');
  await branch('cr', 'main', { 'b.txt': 'bravo from the right side\n' }, 'cr: edit b.txt, delete a.txt', ['a.txt']);
  await ok(dir, ['switch', 'main']);
  await ok(dir, ['remote', 'add', 'origin', remote]);
  await ok(dir, ['push', 'origin', '--all'], 0, env);
}
