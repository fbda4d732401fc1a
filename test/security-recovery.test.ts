/**
 * Recovery from kill -9 and from a full disk, through the real CLI:
 * - a clone killed at a random instant is resumed by running the same `strata clone` again, and
 *   the result is fsck-clean with no stray files; a folder left by a clone of another URL gets a
 *   message saying how to resume or clean up;
 * - on a full disk (a real small tmpfs) taking the lock says "disk full" and leaves no lock behind,
 *   the next command is not "busy"; SQLite's I/O errors on a full disk say "disk full" too; and
 *   the read-only commands (status, log, fsck, ls, cat, diff) work with 0 bytes free;
 * - an empty lock file left by an older strata is stale at once, not "busy" for seconds.
 * STRATA_STRESS=1 runs more kill trials.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ok, readTreeBytes, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';

let tmp = '';
let cleanup: () => Promise<void> = async () => {};

async function listAll(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(join(dir, base), { withFileTypes: true })) {
    const p = base ? `${base}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) out.push(...(await listAll(dir, p)));
  }
  return out;
}

/** Mount a tmpfs of `size` at a new folder; null when this machine does not allow it. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fill the filesystem of `dir` until `leave` bytes are free (0: completely). */
async function fill(dir: string, leave = 0): Promise<void> {
  const fh = await fsp.open(join(dir, 'filler'), 'w');
  const block = Buffer.alloc(64 << 10, 7);
  try {
    for (;;) {
      const { bavail, bsize } = await fsp.statfs(dir);
      const free = bavail * bsize;
      if (free <= leave) break;
      const n = Math.min(block.length, free - leave);
      try {
        await fh.write(block, 0, n);
      } catch {
        break;
      }
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
  if (leave === 0) {
    // Fill the last partial page too.
    const fh2 = await fsp.open(join(dir, 'filler2'), 'w');
    try {
      for (let i = 0; i < 64; i++) await fh2.write(Buffer.alloc(512, 1)).catch(() => undefined);
    } finally {
      await fh2.close().catch(() => undefined);
    }
  }
}

describe('recovery after kill -9 and on a full disk', () => {
  before(async () => {
    ({ dir: tmp, cleanup } = await tempDir('strata-recover-'));
  });
  after(async () => cleanup());

  it('a clone killed with SIGKILL at a random instant: strata clone again finishes it, fsck-clean, no stray files', async () => {
    const src = join(tmp, 'src');
    const remote = join(tmp, 'remote');
    await fsp.mkdir(src);
    await ok(src, ['init']);
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 200; i++) files[`data/part-${i}.bin`] = seededBytes(2000 + i, i + 1);
    files['data/big.bin'] = seededBytes(3 << 20, 999);
    await writeFiles(src, files);
    await ok(src, ['add', 'data']);
    await ok(src, ['commit', '-m', 'data']);
    await ok(src, ['remote', 'add', 'origin', remote]);
    await ok(src, ['push']);
    const want = await readTreeBytes(src);

    // How long a whole clone takes here, so the kills land inside it.
    const t0 = Date.now();
    await ok(tmp, ['clone', remote, join(tmp, 'timing')]);
    const full = Math.max(150, Date.now() - t0);
    const trials = process.env.STRATA_STRESS === '1' ? 25 : 3;
    let interrupted = 0;
    for (let t = 0; t < trials; t++) {
      const dst = join(tmp, `dst-${t}`);
      const delay = Math.floor(((t + 0.5) / trials) * full * 0.9 + Math.random() * 20);
      const p = spawn(process.execPath, [BIN, 'clone', remote, dst], { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
      const exited = new Promise<number | null>((res) => p.on('exit', (code) => res(code)));
      await new Promise((r) => setTimeout(r, delay));
      p.kill('SIGKILL');
      const code = await exited;
      if (code === null) interrupted++;
      // Killed after it had finished (the marker is removed last): a finished clone is not cloned twice.
      const finished = existsSync(join(dst, '.strata', 'strata.db')) && !existsSync(join(dst, '.strata', 'clone-in-progress'));
      if (!finished) {
        const again = await strata(tmp, ['clone', remote, dst]);
        assert.equal(again.code, 0, `trial ${t} (killed after ${delay} ms): clone again must succeed\n${again.stderr}`);
      }
      const f = await strata(dst, ['fsck']);
      assert.equal(f.code, 0, `trial ${t}: fsck ${f.stdout}${f.stderr}`);
      assert.deepEqual(await readTreeBytes(dst), want, `trial ${t}: the workspace is the remote's commit, nothing more`);
      assert.equal((await ok(dst, ['status', '--porcelain'])).stdout, '', `trial ${t}: clean status`);
      const stray = (await listAll(dst)).filter((p) => /(^|\/)\.strata-tmp-|clone-in-progress|lock\.tmp-|(^|\/)lock$/.test(p) || /^\.strata\/objects\/tmp\/./.test(p));
      assert.deepEqual(stray, [], `trial ${t}: no stray files`);
    }
    assert.ok(interrupted >= 1, 'at least one clone was really killed midway');
  });

  it('a folder left by a killed clone of another URL: the message says how to resume or clean up', async () => {
    const a = join(tmp, 'other-a');
    await fsp.mkdir(a);
    await ok(a, ['init']);
    await writeFiles(a, { 'x.csv': 'x\n' });
    await ok(a, ['add', 'x.csv']);
    await ok(a, ['commit', '-m', 'x']);
    await ok(a, ['remote', 'add', 'origin', join(tmp, 'other-remote-a')]);
    await ok(a, ['push']);
    const dst = join(tmp, 'other-dst');
    await fsp.mkdir(join(dst, '.strata'), { recursive: true });
    await fsp.writeFile(join(dst, '.strata', 'clone-in-progress'), JSON.stringify({ url: join(tmp, 'elsewhere'), branch: 'main' }));
    const r = await strata(tmp, ['clone', join(tmp, 'other-remote-a'), dst]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /holds an unfinished clone of .*elsewhere/);
    assert.match(r.stderr, /hint: resume it with strata clone .*elsewhere .*other-dst, or remove the folder \(rm -rf .*other-dst\)/);
    assert.ok(await fsp.stat(join(dst, '.strata', 'clone-in-progress')), 'left untouched');
  });

  it('an empty lock file left by an older strata is taken over at once, not "busy"', async () => {
    const d = join(tmp, 'old-lock');
    await fsp.mkdir(d);
    await ok(d, ['init']);
    await writeFiles(d, { 'a.csv': 'a\n' });
    const lock = join(d, '.strata', 'lock');
    await fsp.writeFile(lock, '');
    const old = new Date(Date.now() - 5000);
    await fsp.utimes(lock, old, old);
    const t0 = Date.now();
    const r = await strata(d, ['add', 'a.csv']);
    assert.equal(r.code, 0, `an empty 5-second-old lock is stale: ${r.stderr}`);
    assert.ok(Date.now() - t0 < 5000);
    await assert.rejects(fsp.stat(lock), 'released');
  });

  describe('on a real small tmpfs', () => {
    let disk = '';
    let mounted = false;
    before(async () => {
      disk = join(tmp, 'disk');
      await fsp.mkdir(disk);
      mounted = mountTmpfs(disk, '6m');
    });
    after(async () => {
      if (mounted) execFileSync('umount', [disk]);
    });

    const repoOnDisk = async (name: string): Promise<string> => {
      const d = join(disk, name);
      await fsp.mkdir(d);
      await ok(d, ['init']);
      await writeFiles(d, { 'data/a.csv': 'a,b\n1,2\n', 'data/b.csv': 'c\n' });
      await ok(d, ['add', 'data']);
      await ok(d, ['commit', '-m', 'one']);
      return d;
    };
    const unfill = async () => {
      await fsp.rm(join(disk, 'filler'), { force: true });
      await fsp.rm(join(disk, 'filler2'), { force: true });
    };

    it('0 bytes free: status, log, fsck, ls, cat and diff work', async (t) => {
      if (!mounted) return t.skip('cannot mount a tmpfs here (needs root)');
      const d = await repoOnDisk('readers');
      await fill(disk, 0);
      try {
        assert.equal((await fsp.statfs(disk)).bavail, 0);
        const st = await strata(d, ['status', '--porcelain']);
        assert.equal(st.code, 0, `status: ${st.stderr}`);
        assert.equal(st.stdout, '');
        const log = await strata(d, ['log', '--oneline']);
        assert.equal(log.code, 0, `log: ${log.stderr}`);
        assert.match(log.stdout, /one/);
        const f = await strata(d, ['fsck']);
        assert.equal(f.code, 0, `fsck: ${f.stderr}`);
        assert.equal((await strata(d, ['ls', '-r', 'HEAD'])).code, 0);
        const cat = await strata(d, ['cat', 'HEAD:data/a.csv']);
        assert.equal(cat.code, 0, cat.stderr);
        assert.equal(cat.stdout, 'a,b\n1,2\n');
        assert.equal((await strata(d, ['diff'])).code, 0);
      } finally {
        await unfill();
      }
    });

    it('0 bytes free: a writer says disk full, leaves no lock file, and the next command is not busy', async (t) => {
      if (!mounted) return t.skip('cannot mount a tmpfs here (needs root)');
      const d = await repoOnDisk('writer');
      await writeFiles(d, { 'data/c.csv': 'new\n' });
      await fill(disk, 0);
      try {
        const r = await strata(d, ['add', 'data']);
        assert.equal(r.code, 10, r.stderr);
        assert.match(r.stderr, /^error: no space left on device/m);
        assert.doesNotMatch(r.stderr, /internal error|disk I\/O error/);
        const left = (await fsp.readdir(join(d, '.strata'))).filter((n) => n.startsWith('lock'));
        assert.deepEqual(left, [], 'no lock file (whole or empty) and no temp left');
      } finally {
        await unfill();
      }
      const t0 = Date.now();
      const again = await strata(d, ['add', 'data']);
      assert.equal(again.code, 0, `not busy: ${again.stderr}`);
      assert.ok(Date.now() - t0 < 5000);
      await ok(d, ['commit', '-m', 'c']);
      await ok(d, ['fsck']);
    });

    it('a few KiB free: the lock is taken, SQLite fails, and the error says disk full, not "disk I/O error"', async (t) => {
      if (!mounted) return t.skip('cannot mount a tmpfs here (needs root)');
      const d = await repoOnDisk('sqlite-full');
      // Room for the lock file, none for the database's shared-memory and WAL files.
      await fill(disk, 8 << 10);
      try {
        for (const args of [['config', 'set', 'user.name', 'Someone'], ['branch', 'other']]) {
          const r = await strata(d, args);
          assert.equal(r.code, 10, `${args.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, /^error: no space left on device/m, `${args.join(' ')}`);
          assert.doesNotMatch(r.stderr, /disk I\/O error|internal error/);
          assert.deepEqual((await fsp.readdir(join(d, '.strata'))).filter((n) => n.startsWith('lock')), []);
        }
      } finally {
        await unfill();
      }
      await ok(d, ['branch', 'other']);
      await ok(d, ['fsck']);
    });
  });
});
