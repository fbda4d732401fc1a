/**
 * Load a module as it was at an earlier commit, to produce fixtures with the code that wrote them
 * (e.g. the pack index of a repository made before the formats were unified). The source comes
 * from `git show COMMIT:PATH`, is transpiled with TypeScript, and its relative imports point at
 * today's compiled modules in dist/ (the modules it used must still exist there).
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { ROOT } from './cli.js';

/** The last commit before issue 11 (old encoders live there). */
export const BEFORE_ISSUE_11 = '4e7b6174718d90cc3d82ea99b149031ff6d50e0c';

export async function loadOldModule<T>(commit: string, path: string): Promise<T> {
  const src = execFileSync('git', ['show', `${commit}:${path}`], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
  const compiledDir = join(ROOT, 'dist', dirname(path));
  const rewritten = js.replace(/(from\s+|import\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\2/g, (_m, kw: string, q: string, rel: string) => `${kw}${q}${pathToFileURL(resolve(compiledDir, rel)).href}${q}`);
  const dir = await fsp.mkdtemp(join(tmpdir(), 'strata-old-code-'));
  const file = join(dir, path.replace(/[/\\]/g, '_').replace(/\.ts$/, '.mjs'));
  await fsp.writeFile(file, rewritten);
  try {
    return (await import(pathToFileURL(file).href)) as T;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
