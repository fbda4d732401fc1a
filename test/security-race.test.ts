/**
 * The workspace writer under attack and under SIGKILL, with real processes:
 * - a background process keeps replacing a workspace folder with a symlink to a sentinel folder
 *   while `strata checkout` / `strata clone` write it: the sentinel stays empty, whatever the
 *   timing (10 trials each by default, 100 with STRATA_STRESS=1);
 * - `strata checkout` and `strata pull` killed with SIGKILL while replacing files leave no
 *   temporary file among the user's files; `add` stages none; the documented recovery (run the
 *   command again with --force) completes and the next writer removes the dead process's
 *   temporaries from .strata/tmp; `.strata-tmp-*` files left by older versions are never seen by
 *   status/add and are removed by the next checkout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ok, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { MetaDb } from '../core/meta/db.js';

const TRIALS = process.env.STRATA_STRESS === '1' ? 100 : 10;

let tmp: { dir: string; cleanup(): Promise<void> };
before(async () => {
  tmp = await tempDir('strata-sec-race-');
});
after(async () => {
  await tmp?.cleanup();
});

/** A process that swaps `victim` for a symlink to `sentinel` as fast as it can, until killed. */
function attacker(victim: string, sentinel: string): ChildProcess {
  const script = `
    const fs = require('fs');
    const [victim, sentinel] = process.argv.slice(1);
    for (;;) {
      try { fs.rmSync(victim, { recursive: true, force: true }); } catch {}
      try { fs.symlinkSync(sentinel, victim); } catch {}
      try { fs.renameSync(victim, victim + '.x'); fs.symlinkSync(sentinel, victim); fs.rmSync(victim + '.x', { recursive: true, force: true }); } catch {}
    }`;
  return spawn(process.execPath, ['-e', script, victim, sentinel], { stdio: 'ignore' });
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await gone;
}

/** Every path under `dir` (files, links and folders), relative, skipping .strata and .git. */
async function allPaths(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, base: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (!base && (e.name === '.strata' || e.name === '.git')) continue;
      const p = base ? `${base}/${e.name}` : e.name;
      out.push(p);
      if (e.isDirectory()) await walk(join(d, e.name), p);
    }
  };
  await walk(dir, '');
  return out;
}

describe('a symlink raced into the workspace', () => {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 150; i++) files[`data/sub/f${i}.txt`] = seededBytes(300 + i, i + 1);
  for (let i = 0; i < 50; i++) files[`data/sub/inner/g${i}.txt`] = seededBytes(200 + i, 500 + i);
  files['data/sub/medium.bin'] = seededBytes(1_200_000, 77);
  let repo = '';
  let remote = '';
  const sentinel = () => join(tmp.dir, 'sentinel');

  before(async () => {
    repo = join(tmp.dir, 'repo');
    remote = join(tmp.dir, 'remote');
    await fsp.mkdir(sentinel(), { recursive: true });
    await writeFiles(repo, { 'data/a.txt': 'a\n' });
    await ok(repo, ['init']);
    await ok(repo, ['add', 'data']);
    await ok(repo, ['commit', '-m', 'small']);
    await ok(repo, ['tag', 'small']);
    await writeFiles(repo, files);
    await ok(repo, ['add', 'data']);
    await ok(repo, ['commit', '-m', 'full']);
    await ok(repo, ['remote', 'add', 'origin', remote]);
    await ok(repo, ['push', 'origin', 'main']);
  });

  it(`checkout: ${TRIALS} trials, the sentinel stays empty`, async (t) => {
    let failed = 0;
    for (let n = 0; n < TRIALS; n++) {
      await fsp.rm(join(repo, 'data', 'sub'), { recursive: true, force: true });
      await fsp.rm(join(repo, 'data', 'sub.x'), { recursive: true, force: true });
      await ok(repo, ['checkout', '-f', 'small']);
      const a = attacker(join(repo, 'data', 'sub'), sentinel());
      try {
        const r = await strata(repo, ['checkout', '-f', 'main']);
        if (r.code !== 0) failed++;
        assert.doesNotMatch(r.stderr, /internal error/, r.stderr);
      } finally {
        await stop(a);
      }
      assert.deepEqual(await fsp.readdir(sentinel()), [], `trial ${n}: nothing written through the raced link`);
    }
    // Without the attacker the same checkout completes.
    t.diagnostic(`checkouts that stopped with an error under attack: ${failed}/${TRIALS}`);
    await fsp.rm(join(repo, 'data', 'sub'), { recursive: true, force: true });
    await fsp.rm(join(repo, 'data', 'sub.x'), { recursive: true, force: true });
    await ok(repo, ['checkout', '-f', 'main']);
    assert.equal((await ok(repo, ['status', '--porcelain'])).stdout, '');
  });

  it(`clone: ${TRIALS} trials, the sentinel stays empty`, async () => {
    for (let t = 0; t < TRIALS; t++) {
      const dest = join(tmp.dir, `clone-${t}`);
      const a = attacker(join(dest, 'data', 'sub'), sentinel());
      try {
        const r = await strata(tmp.dir, ['clone', remote, dest]);
        assert.doesNotMatch(r.stderr, /internal error/, r.stderr);
      } finally {
        await stop(a);
      }
      assert.deepEqual(await fsp.readdir(sentinel()), [], `trial ${t}: nothing written through the raced link`);
      await fsp.rm(dest, { recursive: true, force: true });
    }
  });
});

describe('SIGKILL while files are being replaced', () => {
  const v1: Record<string, Buffer> = {};
  const v2: Record<string, Buffer> = {};
  for (let i = 0; i < 400; i++) {
    v1[`data/d${i % 8}/f${i}.bin`] = seededBytes(500 + (i % 300), i + 1);
    v2[`data/d${i % 8}/f${i}.bin`] = seededBytes(500 + (i % 300), i + 10_000);
  }
  for (let i = 0; i < 6; i++) {
    v1[`data/m/m${i}.bin`] = seededBytes(1_500_000 + i, 100 + i);
    v2[`data/m/m${i}.bin`] = seededBytes(1_500_000 + i, 200 + i);
  }
  v1['data/big.bin'] = seededBytes(12 << 20, 300);
  v2['data/big.bin'] = seededBytes(12 << 20, 301);
  const known = new Set([...Object.keys(v1), 'data', 'data/m', ...Array.from({ length: 8 }, (_, i) => `data/d${i}`)]);

  async function noTempInWorkspace(ws: string, what: string): Promise<void> {
    const stray = (await allPaths(ws)).filter((p) => !known.has(p));
    assert.deepEqual(stray, [], `${what}: nothing but the versioned files in the workspace`);
    const st = await strata(ws, ['status', '--porcelain']);
    assert.doesNotMatch(st.stdout, /strata-tmp|\.strata\/tmp/, `${what}: status sees no temporary`);
    await ok(ws, ['add', 'data']);
    const staged = await ok(ws, ['status', '--porcelain']);
    assert.doesNotMatch(staged.stdout, /strata-tmp/, `${what}: add staged no temporary`);
  }

  async function killAfter(cwd: string, args: string[], ms: number): Promise<boolean> {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    let exited = false;
    void done.then(() => (exited = true));
    await new Promise((r) => setTimeout(r, ms));
    const running = !exited;
    p.kill('SIGKILL');
    await done;
    return running;
  }

  it('checkout and pull: no temporary left among the files, add stages none, --force recovers and cleans .strata/tmp', async (t) => {
    const repo = join(tmp.dir, 'kill-repo');
    const remote = join(tmp.dir, 'kill-remote');
    await writeFiles(repo, v1);
    await ok(repo, ['init']);
    await ok(repo, ['add', 'data']);
    await ok(repo, ['commit', '-m', 'v1']);
    await ok(repo, ['tag', 'v1']);
    await ok(repo, ['remote', 'add', 'origin', remote]);
    await ok(repo, ['push', 'origin', 'main']);
    // One clone of v1 per pull round.
    const pullRounds = [350, 700];
    const wss = pullRounds.map((ms) => join(tmp.dir, `kill-ws-${ms}`));
    for (const ws of wss) await ok(tmp.dir, ['clone', remote, ws]);
    await writeFiles(repo, v2);
    await ok(repo, ['commit', '-a', '-m', 'v2']);
    await ok(repo, ['tag', 'v2']);
    await ok(repo, ['push', 'origin', 'main']);

    let killedRunning = 0;
    for (const ms of [250, 500, 800]) {
      // checkout v2 -> v1 (every file replaced), killed midway; then the documented recovery.
      await ok(repo, ['checkout', '-f', 'v2']);
      if (await killAfter(repo, ['checkout', '-f', 'v1'], ms)) killedRunning++;
      await noTempInWorkspace(repo, `checkout killed after ${ms} ms`);
      await ok(repo, ['checkout', '-f', 'v1']);
      assert.deepEqual(await fsp.readdir(join(repo, '.strata', 'tmp')), [], `checkout killed after ${ms} ms: the recovery removed the dead process's temporaries`);
      assert.equal((await ok(repo, ['status', '--porcelain'])).stdout, '');
      assert.deepEqual(await fsp.readFile(join(repo, 'data/big.bin')), v1['data/big.bin']);
    }
    // pull v1 -> v2 killed midway; recovery: pull --force.
    for (const [i, ms] of pullRounds.entries()) {
      const ws = wss[i]!;
      if (await killAfter(ws, ['pull'], ms)) killedRunning++;
      await noTempInWorkspace(ws, `pull killed after ${ms} ms`);
      await ok(ws, ['pull', '-f']);
      assert.deepEqual(await fsp.readdir(join(ws, '.strata', 'tmp')), [], `pull killed after ${ms} ms: the recovery removed the dead process's temporaries`);
      assert.equal((await ok(ws, ['status', '--porcelain'])).stdout, '');
      assert.deepEqual(await fsp.readFile(join(ws, 'data/big.bin')), v2['data/big.bin']);
    }
    t.diagnostic(`killed while running: ${killedRunning}/5`);
    assert.ok(killedRunning > 0, 'at least one command was killed while it ran');
  });

  it('.strata-tmp-* files of older versions: status and add never see them, the next checkout of a repository they wrote removes them', async () => {
    const repo = join(tmp.dir, 'legacy');
    await writeFiles(repo, { 'data/a.txt': 'a\n', 'data/sub/b.txt': 'b\n' });
    await ok(repo, ['init']);
    await ok(repo, ['add', 'data']);
    await ok(repo, ['commit', '-m', 'one']);
    // A database this version creates starts 'clean' (nothing to sweep); one older versions
    // wrote has no such mark.
    const db = MetaDb.open(join(repo, '.strata', 'strata.db'));
    assert.equal(db.getLocalMeta('workspace_temps'), 'clean');
    db.setLocalMeta('workspace_temps', 'unknown');
    db.close();
    // A pid that is not running.
    let dead = 4_000_000;
    for (;;) {
      try {
        process.kill(dead, 0);
        dead++;
      } catch {
        break;
      }
    }
    const leftovers = [`data/.strata-tmp-${dead}-k2j3h4`, `data/sub/.strata-tmp-${dead}-zz9`];
    for (const l of leftovers) await fsp.writeFile(join(repo, l), 'half a file');
    assert.equal((await ok(repo, ['status', '--porcelain'])).stdout, '', 'status does not see them');
    await ok(repo, ['add', 'data']);
    assert.equal((await ok(repo, ['status', '--porcelain'])).stdout, '', 'add staged none');
    await fsp.writeFile(join(repo, 'data/a.txt'), 'edit\n');
    await fsp.writeFile(join(repo, 'data/sub/b.txt'), 'edit\n');
    await ok(repo, ['checkout', '-f', 'main']);
    for (const l of leftovers) assert.equal(existsSync(join(repo, l)), false, `${l} was removed`);
    const after = MetaDb.open(join(repo, '.strata', 'strata.db'));
    assert.equal(after.getLocalMeta('workspace_temps'), 'clean', 'swept once: later writes do not read every folder');
    after.close();
  });
});
