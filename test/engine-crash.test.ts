/**
 * Crash safety and concurrent writers, with real processes: `strata add` / `checkout` killed with
 * SIGKILL at various instants leave a repository that fsck calls clean and that keeps working; two
 * writers racing never corrupt it (the loser waits or exits 7).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ok, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { assertSameTree, saveCopy, snapshot } from './helpers/tree-equal.js';

let root = '';
let cleanup: () => Promise<void> = async () => {};
let savedV1 = '';
let savedV2 = '';

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', STRATA_AUTHOR_NAME: 'T', STRATA_AUTHOR_EMAIL: 't@example.com', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finished(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  p.stderr!.on('data', (d: Buffer) => (stderr += d));
  p.stdout!.resume();
  return new Promise((res) => p.on('close', (code, signal) => res({ code, signal, stderr })));
}

async function entries(dir: string): Promise<number> {
  return (await fsp.readdir(dir).catch(() => [])).length;
}

/**
 * Start `args`, wait until `ready()` says the process is in the middle of writing (or `maxMs`
 * passed), then SIGKILL it. Returns whether it was still running when killed.
 */
async function killMidway(args: string[], ready: () => Promise<boolean>, maxMs: number): Promise<boolean> {
  const p = start(args);
  const done = finished(p);
  let exited = false;
  void done.then(() => (exited = true));
  const t0 = Date.now();
  while (!exited && Date.now() - t0 < maxMs && !(await ready())) await new Promise((r) => setTimeout(r, 2));
  const wasRunning = !exited;
  p.kill('SIGKILL');
  await done;
  return wasRunning;
}

async function healthy(): Promise<void> {
  const f = await strata(root, ['fsck']);
  assert.equal(f.code, 0, `fsck: ${f.stdout}${f.stderr}`);
  const s = await strata(root, ['status', '--porcelain']);
  assert.equal(s.code, 0, `status: ${s.stderr}`);
}

describe('crash safety and concurrency (strata binary)', { concurrency: false }, () => {
  before(async () => {
    ({ dir: root, cleanup } = await tempDir('strata-crash-'));
    savedV1 = `${root}-v1`;
    savedV2 = `${root}-v2`;
    await ok(root, ['init']);
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 40; i++) files[`data/base/b${i}.bin`] = seededBytes(100 + i, 1000 + i);
    await writeFiles(root, files);
    await ok(root, ['add', 'data']);
    await ok(root, ['commit', '-m', 'base']);
    await ok(root, ['tag', 'v1']);
    saveCopy(join(root, 'data'), savedV1);
    const bulk: Record<string, Buffer> = {};
    for (let i = 0; i < 3000; i++) bulk[`data/bulk/d${i % 30}/f${i}.bin`] = seededBytes(200 + (i % 700), i + 1);
    for (let i = 0; i < 4; i++) bulk[`data/medium/m${i}.bin`] = seededBytes(2 * 1024 * 1024 + i, 50 + i);
    await writeFiles(root, bulk);
    saveCopy(join(root, 'data'), savedV2);
  });
  after(async () => {
    await cleanup();
    await fsp.rm(savedV1, { recursive: true, force: true });
    await fsp.rm(savedV2, { recursive: true, force: true });
  });

  it('strata add killed with SIGKILL at several instants: fsck clean, status works, retry succeeds', async (t) => {
    const tmp = join(root, '.strata', 'objects', 'tmp');
    const packDir = join(root, '.strata', 'objects', 'pack');
    const packsBefore = await entries(packDir);
    // 1: as soon as a temp file (pack or object being written) appears.
    const killedEarly = await killMidway(['add', 'data'], async () => (await entries(tmp)) > 0, 5000);
    await healthy();
    // 2 and 3: after fixed delays, somewhere in hashing/packing/committing to the index.
    let killedLater = 0;
    for (const ms of [150, 400]) {
      const t0 = Date.now();
      if (await killMidway(['add', 'data'], async () => Date.now() - t0 >= ms, ms + 50)) killedLater++;
      await healthy();
    }
    t.diagnostic(`killed while running: early=${killedEarly}, later=${killedLater}/2; leftovers in tmp: ${await entries(tmp)}`);
    assert.ok(killedEarly || killedLater > 0, 'at least one add was killed while running');
    // The dead writers' lock is stale and is taken over; their leftovers are garbage for gc.
    const add = await ok(root, ['--json', 'add', 'data']);
    const r = JSON.parse(add.stdout) as { files: number };
    assert.equal(r.files, 3044);
    assert.deepEqual((await ok(root, ['status', '--porcelain'])).stdout.split('\n').filter((l) => l && !l.startsWith('A  ')), []);
    await ok(root, ['commit', '-m', 'bulk']);
    assert.equal((await ok(root, ['status', '--porcelain'])).stdout, '');
    await ok(root, ['gc']);
    assert.deepEqual(await fsp.readdir(tmp), [], 'gc removes crash leftovers');
    assert.ok((await entries(packDir)) >= packsBefore);
    await healthy();
    // Round trip through checkout.
    await ok(root, ['checkout', 'v1']);
    assertSameTree(await snapshot(join(root, 'data')), await snapshot(savedV1), 'v1');
    await ok(root, ['checkout', 'main']);
    assertSameTree(await snapshot(join(root, 'data')), await snapshot(savedV2), 'main');
    await healthy();
  });

  it('strata checkout killed midway: the repository stays sound and checkout --force repairs the workspace', async (t) => {
    // Kill once it has started changing the workspace (the first bulk files are gone).
    const probe = join(root, 'data/bulk/d0');
    const killed = await killMidway(['checkout', 'v1'], async () => (await entries(probe)) < 100, 10_000);
    t.diagnostic(`checkout killed while running: ${killed}; files left: ${(await snapshot(join(root, 'data'))).size}`);
    await healthy();
    // Wherever it stopped, a forced checkout brings the workspace to exactly one version.
    await ok(root, ['checkout', '--force', 'main']);
    assertSameTree(await snapshot(join(root, 'data')), await snapshot(savedV2), 'main after killed checkout');
    assert.equal((await ok(root, ['status', '--porcelain'])).stdout, '');
    await healthy();
  });

  it('two writers at once never corrupt the repository; the loser waits or exits 7', async (t) => {
    const outcomes: number[] = [];
    for (let round = 0; round < 4; round++) {
      await writeFiles(root, { [`data/base/r${round}-a.txt`]: `a${round}\n`, [`data/bulk/r${round}-b.txt`]: `b${round}\n` });
      // Short wait on the lock in odd rounds (likely exit 7), the default 2 s in even rounds (likely both succeed).
      const env: Record<string, string> = round % 2 ? { STRATA_LOCK_WAIT_MS: '0' } : {};
      const a = finished(start(['commit', '-a', '-m', `a ${round}`], env));
      const b = finished(start(['add', 'data/base'], env));
      const c = finished(start(['commit', '-a', '-m', `c ${round}`], env));
      for (const r of await Promise.all([a, b, c])) {
        assert.ok([0, 5, 7].includes(r.code ?? -1), `unexpected exit ${r.code}: ${r.stderr}`);
        if (r.code === 7) assert.match(r.stderr, /repository is busy \(pid \d+, operation (add|commit)\)/);
        if (r.code === 5) assert.match(r.stderr, /nothing to commit/);
        outcomes.push(r.code!);
      }
      await healthy();
    }
    // Whatever happened, one last commit -a leaves a clean, consistent repository.
    const last = await strata(root, ['commit', '-a', '-m', 'settle']);
    assert.ok([0, 5].includes(last.code), last.stderr);
    assert.equal((await ok(root, ['status', '--porcelain'])).stdout, '');
    const log = JSON.parse((await ok(root, ['--json', 'log'])).stdout) as Array<{ id: string; parents: string[] }>;
    for (let i = 0; i + 1 < log.length; i++) assert.deepEqual(log[i]!.parents, [log[i + 1]!.id], 'history is linear: no commit was lost or overwritten');
    t.diagnostic(`writer exit codes: ${outcomes.join(',')}`);
    assert.ok(outcomes.includes(0));
    await healthy();
  });
});
