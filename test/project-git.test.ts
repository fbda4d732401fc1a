/**
 * Sharing a project through git (core/project/): strata.project and strata.lock are committed with
 * the code; after `git clone`, one `strata pull` restores the data byte for byte; after `git
 * checkout OLD`, `strata status` reports the mismatch and `strata checkout` restores that commit's
 * data; a URL with credentials never lands in either file; `strata clone URL .` writes beside the
 * files of a git clone unless one clashes. Real CLI binary, real git binary, a file:// data remote.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, tempDir, writeFiles, readTreeBytes, seededBytes } from './helpers/cli.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' });

/** The data files of a folder (not the git-shared files, not .strata/.git). */
async function dataBytes(dir: string): Promise<Map<string, Buffer>> {
  const all = await readTreeBytes(dir);
  return new Map([...all].filter(([p]) => p.startsWith('data/')));
}

describe('sharing a project through git', () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  let origin: string;
  let remote: string;
  let v1: Map<string, Buffer>;
  let v2: Map<string, Buffer>;
  let v1Commit: string;

  before(async () => {
    tmp = await tempDir('strata-gitshare-');
    origin = join(tmp.dir, 'origin');
    remote = `file://${join(tmp.dir, 'data-remote')}`;
    await fsp.mkdir(origin);
    git(origin, 'init', '-q', '-b', 'main');
    await writeFiles(origin, { 'train.py': 'print("train")\n', 'data/raw/a.bin': seededBytes(70_000, 1), 'data/labels.csv': 'id,label\n1,cat\n' });
    const init = await ok(origin, ['init']);
    assert.match(init.stdout, /Wrote .*strata\.project/);
    await ok(origin, ['remote', 'add', 'origin', remote]);
    // Tracking "." must not pick up the git-shared files.
    await ok(origin, ['add', 'data']);
    const c1 = await ok(origin, ['commit', '-m', 'v1', '--json']);
    v1Commit = JSON.parse(c1.stdout).id;
    await ok(origin, ['push']);
    v1 = await dataBytes(origin);
    git(origin, 'add', '-A');
    git(origin, 'commit', '-q', '-m', 'code v1');
    await writeFiles(origin, { 'data/labels.csv': 'id,label\n1,cat\n2,dog\n', 'data/raw/b.bin': seededBytes(5_000, 2) });
    await ok(origin, ['add', 'data']);
    await ok(origin, ['commit', '-m', 'v2']);
    await ok(origin, ['push']);
    v2 = await dataBytes(origin);
    assert.match(git(origin, 'status', '--porcelain'), /M strata\.lock/, 'the data commit rewrote strata.lock');
    git(origin, 'commit', '-q', '-am', 'code v2');
  });
  after(async () => tmp.cleanup());

  it('init writes strata.project and ignores .strata/; the lock file names the data commit', async () => {
    const project = await fsp.readFile(join(origin, 'strata.project'), 'utf8');
    assert.match(project, new RegExp(`^remote\\.origin\\.url = ${join(tmp.dir, 'data-remote')}$`, 'm'));
    assert.match(await fsp.readFile(join(origin, '.gitignore'), 'utf8'), /^\/\.strata\/$/m);
    assert.equal(git(origin, 'ls-files', '.strata').trim(), '', '.strata is not in git');
    const lock = await fsp.readFile(join(origin, 'strata.lock'), 'utf8');
    const head = JSON.parse((await ok(origin, ['log', '-n', '1', '--json'])).stdout);
    assert.match(lock, new RegExp(`^commit = ${(Array.isArray(head) ? head[0] : head.commits[0]).id}$`, 'm'));
    assert.match(lock, /^branch = main$/m);
    assert.match(lock, /^remote = origin$/m);
    const st = JSON.parse((await ok(origin, ['status', '--json'])).stdout);
    assert.deepEqual(st.untracked, [], 'strata.project and strata.lock are never data');
  });

  it('git clone + strata pull restores the data byte for byte; status before says to pull', async () => {
    const dir = join(tmp.dir, 'alice');
    git(tmp.dir, 'clone', '-q', origin, dir);
    const before = await strata(dir, ['status']);
    assert.equal(before.code, 3);
    assert.match(before.stderr, /strata project .* whose data is not fetched yet/);
    assert.match(before.stderr, /strata pull/);
    await ok(dir, ['pull']);
    assert.deepEqual(await dataBytes(dir), v2);
    assert.equal(git(dir, 'status', '--porcelain'), '', 'pull leaves git clean (lock file unchanged)');
    const remotes = JSON.parse((await ok(dir, ['remote', 'list', '--json'])).stdout);
    assert.equal(remotes[0].url, join(tmp.dir, 'data-remote'));
  });

  it('git checkout of an older code commit: status reports the mismatch, strata checkout restores its data', async () => {
    const dir = join(tmp.dir, 'bob');
    git(tmp.dir, 'clone', '-q', origin, dir);
    await ok(dir, ['pull']);
    git(dir, 'checkout', '-q', 'HEAD~1');
    const st = await ok(dir, ['status']);
    assert.match(st.stdout, /Data does not match the code: strata\.lock names [0-9a-f]{12}/);
    assert.match(st.stdout, /strata checkout/);
    assert.equal(JSON.parse((await ok(dir, ['status', '--json'])).stdout).data.mismatch, true);
    await ok(dir, ['checkout']);
    assert.deepEqual(await dataBytes(dir), v1);
    assert.equal(JSON.parse((await ok(dir, ['status', '--json'])).stdout).data.mismatch, false);
    assert.equal(git(dir, 'status', '--porcelain'), '', 'restoring the lock does not rewrite it');
    git(dir, 'checkout', '-q', 'main');
    await ok(dir, ['checkout']);
    assert.deepEqual(await dataBytes(dir), v2);
  });

  it('git clone + git checkout OLD + strata checkout: one command from nothing to that data', async () => {
    const dir = join(tmp.dir, 'carol');
    git(tmp.dir, 'clone', '-q', origin, dir);
    git(dir, 'checkout', '-q', 'HEAD~1');
    const r = JSON.parse((await ok(dir, ['checkout', '--json'])).stdout);
    assert.equal(r.commit, v1Commit);
    assert.ok(r.fetched && r.fetched.remote === 'origin');
    assert.deepEqual(await dataBytes(dir), v1);
  });

  it('strata init in a git clone of the project keeps .gitignore and strata.project whole and takes the remotes', async () => {
    const dir = join(tmp.dir, 'frank');
    git(tmp.dir, 'clone', '-q', origin, dir);
    const before = await fsp.readFile(join(dir, '.gitignore'), 'utf8');
    await ok(dir, ['init', '-q']);
    assert.equal(await fsp.readFile(join(dir, '.gitignore'), 'utf8'), before, 'init of a checkout with nothing tracked yet dropped entries');
    assert.equal(git(dir, 'status', '--porcelain'), '', 'the code stays clean (strata.project keeps the remotes)');
    // ... and the repository it made has the project's remote: one pull brings the data.
    await ok(dir, ['pull']);
    assert.deepEqual(await dataBytes(dir), v2);
  });

  it('a URL with credentials never lands in strata.project or strata.lock', async () => {
    const dir = join(tmp.dir, 'secret');
    await fsp.mkdir(dir);
    git(dir, 'init', '-q');
    await ok(dir, ['init']);
    const bad = await strata(dir, ['remote', 'add', 'srv', 'https://ada:hunter2@strata.example.com/fraud']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /carries credentials/);
    const tok = await strata(dir, ['remote', 'add', 'srv', 'https://strata.example.com/fraud?token=hunter2']);
    assert.notEqual(tok.code, 0);
    await ok(dir, ['remote', 'add', 'srv', 'https://strata.example.com/fraud']);
    await ok(dir, ['remote', 'default', 'srv']);
    await writeFiles(dir, { 'data/x.csv': 'x\n' });
    await ok(dir, ['add', 'data']);
    await ok(dir, ['commit', '-m', 'x']);
    // Tracking "." never picks up the files git shares for Strata.
    await ok(dir, ['add', '.']);
    const staged = (await ok(dir, ['status', '--porcelain'])).stdout;
    assert.match(staged, /\.gitignore/);
    assert.doesNotMatch(staged, /strata\.(project|lock)/);
    // A project file edited by hand to carry a secret is refused before anything is created.
    const project = await fsp.readFile(join(dir, 'strata.project'), 'utf8');
    assert.match(project, /^remote\.default = srv$/m);
    assert.match(project, /^remote\.srv\.url = https:\/\/strata\.example\.com\/fraud$/m);
    for (const f of ['strata.project', 'strata.lock']) assert.doesNotMatch(await fsp.readFile(join(dir, f), 'utf8'), /hunter2/);
    const hand = join(tmp.dir, 'hand');
    await fsp.mkdir(hand);
    await fsp.writeFile(join(hand, 'strata.project'), 'remote.origin.url = https://x:hunter2@strata.example.com/fraud\n');
    const p = await strata(hand, ['pull']);
    assert.equal(p.code, 12);
    assert.match(p.stderr, /strata\.project:1: .*carries credentials/);
    assert.doesNotMatch(p.stderr, /hunter2/);
    await assert.rejects(fsp.stat(join(hand, '.strata')), 'nothing created');
    // Local-only keys are refused too.
    await fsp.writeFile(join(hand, 'strata.project'), 'core.fsync = false\n');
    assert.match((await strata(hand, ['pull'])).stderr, /core\.fsync is not a shared setting/);
  });

  it('strata clone URL . into a git clone: fine beside its files; refused naming clashing files, nothing written', async () => {
    const good = join(tmp.dir, 'dave');
    git(tmp.dir, 'clone', '-q', origin, good);
    // An identical data file already there is fine.
    await writeFiles(good, { 'data/labels.csv': v2.get('data/labels.csv')! });
    await ok(good, ['clone', remote, '.']);
    assert.deepEqual(await dataBytes(good), v2);
    assert.equal(git(good, 'status', '--porcelain'), '');

    const bad = join(tmp.dir, 'erin');
    git(tmp.dir, 'clone', '-q', origin, bad);
    await writeFiles(bad, { 'data/labels.csv': 'mine\n', 'data/raw/a.bin/inner': 'a folder where a file goes\n' });
    const r = await strata(bad, ['clone', remote, '.']);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /differ from the data being checked out: data\/labels\.csv, data\/raw\/a\.bin; nothing was written/);
    await assert.rejects(fsp.stat(join(bad, '.strata')), 'no .strata left behind');
    assert.equal(await fsp.readFile(join(bad, 'data/labels.csv'), 'utf8'), 'mine\n');
    await assert.rejects(fsp.stat(join(bad, 'data/raw/b.bin')));
  });
});
