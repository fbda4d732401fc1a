/**
 * Tracking the whole project (`strata add .`, tracked root ''): commits record the root '' and
 * every later command reads those commits back (a strict-parser regression: the second commit used
 * to fail with "its tracked roots list an empty path", exit 11). Merging such branches works too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, tempDir, writeFiles } from './helpers/cli.js';

let tmp: { dir: string; cleanup(): Promise<void> };
before(async () => {
  tmp = await tempDir('strata-root-');
});
after(async () => {
  await tmp?.cleanup();
});

describe('tracking the project root', () => {
  it('add ., commit twice, go back, merge', async () => {
    const dir = tmp.dir;
    await ok(dir, ['init']);
    await writeFiles(dir, { 'f.txt': 'a\n', 'sub/x.csv': 'x\n' });
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-m', 'one']);
    await writeFiles(dir, { 'g.txt': 'g\n' });
    await ok(dir, ['add', 'g.txt']);
    await ok(dir, ['commit', '-m', 'two']);
    const log = JSON.parse((await ok(dir, ['log', '--json'])).stdout) as Array<{ message: string; meta: { roots: string[] } }>;
    assert.deepEqual(log.map((e) => e.message), ['two', 'one']);
    assert.deepEqual(log[0]!.meta.roots, ['']);
    await ok(dir, ['switch', '-c', 'side', 'HEAD~1']);
    assert.equal(await fsp.stat(join(dir, 'g.txt')).catch(() => null), null);
    await writeFiles(dir, { 'h.txt': 'h\n' });
    await ok(dir, ['commit', '-a', '-m', 'side']);
    await ok(dir, ['switch', 'main']);
    const m = JSON.parse((await ok(dir, ['merge', 'side', '--json'])).stdout) as { status: string };
    assert.equal(m.status, 'merged');
    assert.equal(await fsp.readFile(join(dir, 'h.txt'), 'utf8'), 'h\n');
    assert.equal(await fsp.readFile(join(dir, 'g.txt'), 'utf8'), 'g\n');
    await ok(dir, ['fsck']);
  });
});
