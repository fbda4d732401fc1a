/**
 * The fraud example pipeline (docs/examples/fraud) copied into a fresh git repository with a
 * strata repository in it, for end-to-end pipeline and lineage tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, ROOT, tempDir } from './cli.js';

export const EXAMPLE = join(ROOT, 'docs', 'examples', 'fraud');

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A git repo holding a committed code tree (`files`, or the fraud example) and `strata init`. */
export async function gitProject(opts: { example?: boolean; files?: Record<string, string> } = {}): Promise<{ dir: string; cleanup(): Promise<void>; commit: string }> {
  const t = await tempDir('strata-pipe-');
  const dir = t.dir;
  if (opts.example !== false) {
    if (!existsSync(join(EXAMPLE, 'strata.yaml'))) throw new Error(`example not found at ${EXAMPLE}`);
    await cp(EXAMPLE, dir, { recursive: true, filter: (src) => !/[\\/](data|models|metrics)$/.test(src) });
  }
  for (const [p, c] of Object.entries(opts.files ?? {})) await writeFile(join(dir, p), c);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test User');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'commit.gpgsign', 'false');
  await ok(dir, ['init']);
  await writeFile(join(dir, '.gitignore'), '/.strata/\n*.count\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'code');
  return { ...t, commit: git(dir, 'rev-parse', 'HEAD') };
}

/** Edit a file in place. */
export async function edit(path: string, from: string | RegExp, to: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`edit: ${String(from)} not found in ${path}`);
  await writeFile(path, next);
}
