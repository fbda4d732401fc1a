/**
 * Bad input through the real `strata` binary: each case gets its documented exit code, a message
 * naming the problem and a hint, and leaves no partial state (index, refs, objects, workspace).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BIN, ok, seededBytes, strata, tempDir, writeFiles, type RunResult } from './helpers/cli.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { Repository } from '../core/repo/index.js';
import { commitId, type Commit } from '../core/model/index.js';
import { initHash } from '../core/hash/index.js';

await initHash();

let root = '';
let cleanup: () => Promise<void> = async () => {};
const FAST_LOCK = { STRATA_LOCK_WAIT_MS: '300' };

function expectFail(r: RunResult, code: number, message: RegExp, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, message, `${what}: message`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, `${what}: no stack trace`);
}

/** Everything a failed command must not have changed. */
async function state(dir = root): Promise<string> {
  const parts = await Promise.all([
    strata(dir, ['status', '--porcelain']),
    strata(dir, ['log', '--oneline']),
    strata(dir, ['--json', 'branch']),
    strata(dir, ['--json', 'tag']),
  ]);
  const tmp = await fsp.readdir(join(dir, '.strata', 'objects', 'tmp')).catch(() => []);
  return JSON.stringify([...parts.map((p) => [p.code, p.stdout]), tmp]);
}

async function fsckClean(dir = root): Promise<void> {
  const f = await strata(dir, ['fsck']);
  assert.equal(f.code, 0, f.stdout + f.stderr);
}

describe('bad input (strata binary)', { concurrency: false }, () => {
  before(async () => {
    ({ dir: root, cleanup } = await tempDir('strata-errors-'));
    await ok(root, ['init']);
    await writeFiles(root, { 'data/a.csv': 'a\n1\n', 'data/b.csv': 'b\n2\n', 'data/sub/c.bin': seededBytes(5000, 3) });
    await ok(root, ['add', 'data']);
    await ok(root, ['commit', '-m', 'one']);
    await ok(root, ['tag', 'v1']);
    await fsp.writeFile(join(root, 'data/a.csv'), 'a\n1\n2\n');
    await ok(root, ['commit', '-a', '-m', 'two']);
  });
  after(() => cleanup());

  it('outside a repository: exit 3', async () => {
    const { dir, cleanup: c } = await tempDir('strata-norepo-');
    try {
      for (const args of [['status'], ['log'], ['add', 'x'], ['commit', '-m', 'x'], ['gc']]) {
        expectFail(await strata(dir, args), 3, /^error: not a strata repository \(or any parent up to \/\): .*\nhint: run strata init here/, args.join(' '));
      }
      assert.deepEqual(await fsp.readdir(dir), [], 'nothing was created');
    } finally {
      await c();
    }
  });

  it('init twice: exit 3, repository untouched', async () => {
    const before = await state();
    expectFail(await strata(root, ['init']), EXIT_CODES.ALREADY_INITIALIZED, /is already a strata repository\nhint: nothing to do/, 'init twice');
    assert.equal(await state(), before);
  });

  it('unknown revision: exit 4', async () => {
    for (const args of [['show', 'nope'], ['checkout', 'nope'], ['diff', 'v1', 'nope'], ['log', 'nope'], ['cat', 'nope:data/a.csv'], ['branch', 'x', 'nope'], ['show', 'HEAD~5'], ['show', 'deadbeef']]) {
      expectFail(await strata(root, args), 4, /^error: (unknown revision|HEAD~5: commit .* has no parent)/, args.join(' '));
    }
    const j = await strata(root, ['--json', 'show', 'nope']);
    assert.equal(j.code, 4);
    assert.equal(JSON.parse(j.stdout).error.code, 'UNKNOWN_REF');
    assert.match(JSON.parse(j.stdout).error.hint, /strata branch/);
    expectFail(await strata(root, ['cat', 'HEAD:data/zzz']), 4, /data\/zzz does not exist in HEAD/, 'cat missing path');
    assert.ok(!(await strata(root, ['branch'])).stdout.includes(' x '), 'no branch created');
  });

  it('ambiguous commit prefix and ambiguous branch/tag name: exit 4', async () => {
    // Write two real commits whose ids share their first 4 hex digits (found by trying messages).
    const repo = await Repository.open(root);
    let pair: [Commit, Commit] | null = null;
    try {
      const head = repo.head().commit!;
      const base = await repo.readCommit(head);
      const seen = new Map<string, Commit>();
      for (let i = 0; !pair; i++) {
        const c: Commit = { ...base, parents: [head], message: `probe ${i}`, time: 1_700_000_000_000 };
        const p = commitId(c).id.slice(0, 4);
        const other = seen.get(p);
        if (other) pair = [other, c];
        else seen.set(p, c);
      }
      for (const c of pair) await repo.writeCommit(c);
    } finally {
      await repo.close();
    }
    const [a, b] = pair.map((c) => commitId(c).id) as [string, string];
    const prefix = a.slice(0, 4);
    expectFail(await strata(root, ['show', prefix]), 4, new RegExp(`commit prefix ${prefix} is ambiguous: .*${a.slice(0, 12)}.*\\nhint: use more characters`), 'ambiguous prefix');
    let n = 5;
    while (a.slice(0, n) === b.slice(0, n)) n++;
    assert.equal(JSON.parse((await ok(root, ['--json', 'show', a.slice(0, n)])).stdout).id, a, 'a longer prefix is unique');
    await fsckClean();

    // A branch and a tag with the same name at different commits.
    await ok(root, ['branch', 'same', 'HEAD']);
    await ok(root, ['tag', 'same', 'v1']);
    expectFail(await strata(root, ['show', 'same']), 4, /"same" is both a branch and a tag.*\nhint: say refs\/heads\/same or refs\/tags\/same/, 'branch/tag clash');
    assert.equal(JSON.parse((await ok(root, ['--json', 'show', 'refs/tags/same'])).stdout).parents.length, 0);
    await ok(root, ['tag', '-d', 'same']);
    await ok(root, ['branch', '-d', 'same']);
  });

  it('checkout with uncommitted changes: exit 5 and nothing touched; --force discards them', async () => {
    await fsp.writeFile(join(root, 'data/b.csv'), 'local edit\n');
    await fsp.writeFile(join(root, 'data/sub/untracked.txt'), 'keep me\n');
    const before = await state();
    expectFail(await strata(root, ['checkout', 'v1']), 5, /uncommitted changes would be overwritten: data\/b\.csv\nhint: commit them .* or use --force/, 'dirty checkout');
    expectFail(await strata(root, ['switch', '-c', 'other', 'v1']), 5, /uncommitted changes would be overwritten/, 'dirty switch -c');
    assert.equal(await fsp.readFile(join(root, 'data/b.csv'), 'utf8'), 'local edit\n');
    assert.equal(await fsp.readFile(join(root, 'data/a.csv'), 'utf8'), 'a\n1\n2\n', 'no file was switched');
    assert.equal(await state(), before);
    assert.match((await ok(root, ['branch'])).stdout, /^\* main/m);
    assert.doesNotMatch((await ok(root, ['branch'])).stdout, /other/, 'switch -c created no branch');

    await ok(root, ['checkout', '--force', 'v1']);
    assert.equal(await fsp.readFile(join(root, 'data/b.csv'), 'utf8'), 'b\n2\n');
    assert.equal(await fsp.readFile(join(root, 'data/a.csv'), 'utf8'), 'a\n1\n');
    await ok(root, ['checkout', 'main']);
    assert.equal(await fsp.readFile(join(root, 'data/a.csv'), 'utf8'), 'a\n1\n2\n');
    await fsp.rm(join(root, 'data/sub/untracked.txt'));
    assert.equal((await ok(root, ['status', '--porcelain'])).stdout, '');
    await fsckClean();
  });

  it('paths outside the workspace: exit 8; .strata itself: exit 2', async () => {
    const before = await state();
    const { dir: elsewhere, cleanup: c } = await tempDir('strata-elsewhere-');
    try {
      await fsp.writeFile(join(elsewhere, 'x.csv'), 'x');
      for (const p of ['../x', join(elsewhere, 'x.csv'), '/etc/hostname', 'data/../../x']) {
        expectFail(await strata(root, ['add', p]), 8, /is outside the repository at .*\nhint: strata only versions files inside the project folder/, `add ${p}`);
      }
      expectFail(await strata(join(root, 'data'), ['add', '../../x']), 8, /outside the repository/, 'add from a subfolder');
      expectFail(await strata(root, ['rm', '../x']), 8, /outside the repository/, 'rm ../x');
      expectFail(await strata(root, ['restore', '/etc/hostname']), 8, /outside the repository/, 'restore /etc/hostname');
      expectFail(await strata(root, ['add', '.strata']), 2, /inside \.strata\/, which strata manages itself/, 'add .strata');
    } finally {
      await c();
    }
    assert.equal(await state(), before);
  });

  it('unreadable file: exit 9, nothing staged', async (t) => {
    const { dir, cleanup: c } = await tempDir('strata-perm-');
    try {
      await ok(dir, ['init']);
      await writeFiles(dir, { 'data/ok.csv': 'fine\n', 'data/secret.csv': 'secret\n' });
      await fsp.chmod(join(dir, 'data/secret.csv'), 0o000);
      const isRoot = process.getuid?.() === 0;
      // root reads a mode-000 file anyway, so run strata as an unprivileged user (nobody) instead.
      let runAs: { uid: number; gid: number } | undefined;
      if (isRoot) {
        try {
          execFileSync('chown', ['-R', '65534:65534', dir]);
          runAs = { uid: 65534, gid: 65534 };
        } catch {
          t.skip('running as root and cannot chown to an unprivileged user');
          return;
        }
      }
      const run = (args: string[]) =>
        new Promise<RunResult>((res, rej) => {
          const p = spawn(process.execPath, [BIN, ...args], { cwd: dir, ...runAs, env: { ...process.env, HOME: dir, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          p.stdout.on('data', (d: Buffer) => (out += d));
          p.stderr.on('data', (d: Buffer) => (err += d));
          p.on('error', rej);
          p.on('close', (code) => res({ code: code ?? -1, stdout: out, stderr: err }));
        });
      expectFail(await run(['add', 'data']), 9, /^error: permission denied: .*data\/secret\.csv\nhint: check the file permissions/, 'add unreadable');
      assert.equal((await run(['status', '--porcelain'])).stdout, '', 'nothing staged or tracked');
      assert.deepEqual(await fsp.readdir(join(dir, '.strata', 'objects', 'tmp')), []);
      await fsp.chmod(join(dir, 'data/secret.csv'), 0o644);
      const r = await run(['add', 'data']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await run(['status', '--porcelain'])).stdout, 'A  data/ok.csv\nA  data/secret.csv\n');
    } finally {
      await c();
    }
  });

  it('disk full (a 3 MiB tmpfs): exit 10, nothing staged, and it works again once space is freed', async (t) => {
    const { dir, cleanup: c } = await tempDir('strata-full-');
    try {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'ignore' });
      } catch {
        t.skip('cannot mount a small tmpfs here (needs root); disk-full is not reproducible safely otherwise');
        return;
      }
      try {
        await ok(dir, ['init']);
        await writeFiles(dir, { 'data/small.csv': 'x,y\n1,2\n' });
        await ok(dir, ['add', 'data']);
        await ok(dir, ['commit', '-m', 'small']);
        const before = await state(dir);
        const { bavail, bsize } = await fsp.statfs(dir);
        // A file that fits, but not twice: storing its object fills the disk.
        await fsp.writeFile(join(dir, 'data/big.bin'), seededBytes(Math.floor(bavail * bsize * 0.7), 9));
        const r = await strata(dir, ['add', 'data']);
        expectFail(r, 10, /^error: (no space left on device|disk I\/O error).*\nhint: .*(free some disk space|disk is not full)/, 'add on a full disk');
        await fsp.rm(join(dir, 'data/big.bin'));
        assert.equal(await state(dir), before, 'no partial state');
        await fsckClean(dir);
        await ok(dir, ['gc']);
        await writeFiles(dir, { 'data/more.csv': 'z\n' });
        await ok(dir, ['add', 'data']);
        await ok(dir, ['commit', '-m', 'more']);
        await fsckClean(dir);
      } finally {
        execFileSync('umount', [dir]);
      }
    } finally {
      await c();
    }
  });

  it('nothing to commit: exit 5; empty message: exit 2', async () => {
    const before = await state();
    expectFail(await strata(root, ['commit', '-m', 'again']), 5, /nothing to commit: the index matches HEAD\nhint: stage changes with strata add/, 'empty commit');
    expectFail(await strata(root, ['commit', '-m', '  ']), 2, /empty commit message\nhint: pass -m/, 'blank message');
    expectFail(await strata(root, ['commit']), 2, /empty commit message/, 'no message');
    assert.equal(await state(), before);
    const { dir, cleanup: c } = await tempDir('strata-empty-');
    try {
      await ok(dir, ['init']);
      expectFail(await strata(dir, ['commit', '-m', 'nothing staged']), 5, /nothing to commit/, 'fresh repository');
      assert.match((await ok(dir, ['log'])).stdout, /no commits yet/);
      await ok(dir, ['commit', '--allow-empty', '-m', 'empty on purpose']);
      assert.equal((await ok(dir, ['--json', 'log'])).stdout.includes('empty on purpose'), true);
    } finally {
      await c();
    }
  });

  it('usage errors: unknown command, bad flag, bad values: exit 2', async () => {
    const before = await state();
    expectFail(await strata(root, ['frobnicate']), 2, /^strata: unknown command "frobnicate"; see strata --help/, 'unknown command');
    expectFail(await strata(root, ['stauts']), 2, /unknown command "stauts" \(did you mean status[,?]/, 'typo');
    expectFail(await strata(root, ['status', '--frob']), 2, /Unknown option '--frob'\nusage: strata status/, 'bad flag');
    expectFail(await strata(root, ['commit', '-m']), 2, /argument missing|requires an argument|usage: strata commit/i, 'flag without value');
    expectFail(await strata(root, ['log', '-n', 'abc']), 2, /-n must be a whole number/, 'log -n abc');
    expectFail(await strata(root, ['add', '-j', '0', 'data']), 2, /--jobs must be a whole number of at least 1/, 'add -j 0');
    expectFail(await strata(root, ['add', '-j', 'abc', 'data']), 2, /--jobs must be a whole number/, 'add -j abc');
    expectFail(await strata(root, ['diff', 'a', 'b', 'c']), 2, /diff takes at most two revisions/, 'diff 3 refs');
    expectFail(await strata(root, ['branch', 'bad..name']), 2, /invalid branch name "bad\.\.name"/, 'bad branch name');
    expectFail(await strata(root, ['checkout', 'v1', '--link', 'teleport']), 2, /--link must be copy, reflink or hardlink/, 'bad link mode');
    expectFail(await strata(root, ['add']), 2, /nothing to add/, 'add without paths');
    const j = await strata(root, ['--json', 'frobnicate']);
    assert.equal(j.code, 2);
    assert.equal(JSON.parse(j.stdout).error.code, 'INVALID_ARGUMENT');
    assert.equal(await state(), before, 'add -j 0 staged nothing (it used to stage every file as deleted)');
  });

  it('writer busy: a live lock holder makes a second writer exit 7 naming it; readers still work', async () => {
    const lock = join(root, '.strata', 'lock');
    const info = JSON.stringify({ pid: process.pid, op: 'add', host: hostname(), time: Date.now() });
    await fsp.writeFile(lock, info);
    try {
      const before = await state();
      for (const args of [['add', 'data'], ['commit', '-a', '-m', 'x'], ['branch', 'y'], ['gc']]) {
        const r = await strata(root, args, { env: FAST_LOCK });
        expectFail(r, 7, new RegExp(`^error: repository is busy \\(pid ${process.pid}, operation add\\)\\nhint: wait for the other strata command to finish`), args.join(' '));
      }
      assert.equal(await fsp.readFile(lock, 'utf8'), info, 'the holder keeps its lock');
      assert.equal(await state(), before, 'readers work while the lock is held');
      await fsckClean();
    } finally {
      await fsp.rm(lock, { force: true });
    }
  });

  it('a stale lock left by a dead process is taken over', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    const pid = dead.pid!;
    await new Promise((r) => dead.on('close', r));
    const lock = join(root, '.strata', 'lock');
    await fsp.writeFile(lock, JSON.stringify({ pid, op: 'commit', host: hostname(), time: Date.now() - 60_000 }));
    await fsp.writeFile(join(root, 'data/b.csv'), 'after a crash\n');
    await ok(root, ['add', 'data'], 0, { env: FAST_LOCK });
    await ok(root, ['commit', '-m', 'after stale lock'], 0, { env: FAST_LOCK });
    assert.equal(await fsp.stat(lock).catch(() => null), null, 'the lock is released afterwards');
    await fsckClean();
  });

  it('a reader that closes the pipe early gets no EPIPE stack trace', async () => {
    const r = await new Promise<{ code: number | null; err: string }>((res) => {
      const p = spawn(process.execPath, [BIN, 'log'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      p.stdout.destroy(); // like `strata log | head -0`
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d));
      p.on('close', (code) => res({ code, err }));
    });
    assert.doesNotMatch(r.err, /EPIPE|Unhandled/);
    assert.equal(r.code, 0);
  });
});
