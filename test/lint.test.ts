// The code-health checks of `npm test`: ESLint (eslint.config.js) finds no problem, and every name
// exported from cli/, core/ and server/ is used by some other file (scripts/unused-exports.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { findUnusedExports } from '../scripts/unused-exports.js';

// dist/test/lint.test.js -> the repository root is two levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('eslint: no problem in the TypeScript sources', async () => {
  const eslint = new ESLint({ cwd: root });
  const results = await eslint.lintFiles(['.']);
  const problems = results.flatMap((r) => r.messages.map((m) => `${r.filePath.slice(root.length + 1)}:${m.line}:${m.column} ${m.message} (${m.ruleId ?? 'parse'})`));
  assert.ok(results.length > 100, `eslint looked at only ${results.length} files`);
  assert.deepEqual(problems, [], 'run `npm run lint` and fix these');
});

test('unused exports: every export in cli/, core/, server/ is used elsewhere', () => {
  const found = findUnusedExports(root).map((f) => `${f.file}: ${f.name} (${f.usedLocally ? 'drop the export' : 'dead code: delete it'})`);
  assert.deepEqual(found, []);
});
