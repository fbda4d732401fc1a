/**
 * Remote branches through the real CLI on every kind of remote (file://, S3 on s3rver, a real
 * `strata serve`): push SRC:DST, push --delete / REMOTE :BRANCH (compare-and-swap delete, the
 * remote-tracking ref goes too, a branch the remote lacks is refused with nothing deleted), and
 * fetch --prune dropping remote-tracking refs of branches gone on the remote.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
import { EXIT_CODES } from '../core/errors/index.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let s3: S3rverHandle;
let server: ChildProcess;
let serverUrl: string;
let token: string;

before(async () => {
  tmp = await tempDir('strata-remote-branches-');
  s3 = await startS3rver({ buckets: ['strata'] });
  const data = join(tmp.dir, 'srv');
  server = spawn(process.execPath, [BIN, 'serve', '--data', data, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  serverUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.on('exit', (c) => reject(new Error(`server exited ${c}: ${stderr}`)));
  });
  token = (await ok(tmp.dir, ['serve', 'token', 'create', '--repo', 'proj', '--write', '--data', data])).stdout.trim();
});

after(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await s3?.stop();
  await tmp?.cleanup();
});

interface Kind {
  name: string;
  url: () => string;
  addArgs: () => string[];
  env: () => Record<string, string | undefined>;
}

const kinds: Kind[] = [
  { name: 'file://', url: () => pathToFileURL(join(tmp.dir, 'shared')).href, addArgs: () => [], env: () => ({}) },
  {
    name: 'S3',
    url: () => 's3://strata/team',
    addArgs: () => ['--endpoint', s3.endpoint],
    env: () => ({
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_PROFILE: undefined,
      AWS_ENDPOINT_URL: undefined,
      AWS_ENDPOINT_URL_S3: undefined,
      AWS_EC2_METADATA_DISABLED: 'true',
    }),
  },
  { name: 'strata serve', url: () => `${serverUrl}/proj`, addArgs: () => [], env: () => ({ STRATA_TOKEN: token }) },
];

for (const k of kinds) {
  describe(`remote branches on a ${k.name} remote`, () => {
    const run = (cwd: string, args: string[], expect = 0) => ok(cwd, args, expect, { env: k.env() });
    const json = async (cwd: string, args: string[], expect = 0) => JSON.parse((await run(cwd, ['--json', ...args], expect)).stdout);
    const remoteBranches = async (cwd: string) => (await json(cwd, ['branch', '-r'])).map((b: { name: string }) => b.name);
    let alice: string;
    let bob: string;

    it('push SRC:DST creates the remote branch DST and its tracking ref', async () => {
      const base = join(tmp.dir, k.name.replace(/\W+/g, '-'));
      alice = join(base, 'alice');
      bob = join(base, 'bob');
      for (const d of [alice, bob]) {
        await fsp.mkdir(d, { recursive: true });
        await run(d, ['init']);
        await run(d, ['remote', 'add', 'origin', k.url(), ...k.addArgs()]);
      }
      await writeFiles(alice, { 'data/a.txt': 'a\n' });
      await run(alice, ['add', 'data']);
      await run(alice, ['commit', '-m', 'first']);
      await run(alice, ['branch', 'topic']);
      await run(alice, ['push', 'origin', 'main']);
      await run(alice, ['push', 'origin', 'topic']);
      const head = (await json(alice, ['log', '-n', '1']))[0].id;
      const r = await json(alice, ['push', 'origin', 'main:release']);
      assert.deepEqual(r.refs, [{ ref: 'heads/release', old: null, new: head, status: 'created' }]);
      assert.deepEqual(await remoteBranches(alice), ['origin/main', 'origin/release', 'origin/topic']);
      // No local branch release was made.
      assert.deepEqual((await json(alice, ['branch'])).map((b: { name: string }) => b.name), ['main', 'topic']);
      await run(bob, ['fetch']);
      assert.deepEqual(await remoteBranches(bob), ['origin/main', 'origin/release', 'origin/topic']);
    });

    it('push --delete and push REMOTE :BRANCH delete remote branches and their tracking refs', async () => {
      const head = (await json(alice, ['log', '-n', '1']))[0].id;
      const d = await run(alice, ['push', '--delete', 'topic']);
      assert.equal(d.stdout, `topic: deleted on origin (was ${head.slice(0, 12)})\n`);
      assert.deepEqual(await remoteBranches(alice), ['origin/main', 'origin/release']);
      const r = await json(alice, ['push', 'origin', ':release']);
      assert.deepEqual(r.refs, [{ ref: 'heads/release', old: head, new: null, status: 'deleted' }]);
      assert.deepEqual(await remoteBranches(alice), ['origin/main']);
      // The local branch topic is untouched.
      assert.deepEqual((await json(alice, ['branch'])).map((b: { name: string }) => b.name), ['main', 'topic']);
    });

    it('deleting a branch the remote does not have is refused, and nothing is deleted', async () => {
      const r = await strata(alice, ['push', 'origin', '--delete', 'main', 'topic'], { env: k.env() });
      assert.equal(r.code, EXIT_CODES.UNKNOWN_REF, r.stderr);
      assert.match(r.stderr, /remote origin has no branch topic: nothing was deleted/);
      assert.match(r.stderr, /hint: .*strata fetch origin && strata branch -r/);
      await run(bob, ['fetch']);
      assert.ok((await remoteBranches(bob)).includes('origin/main'), 'main is still on the remote');
    });

    it('fetch keeps stale tracking refs; fetch --prune removes them', async () => {
      assert.deepEqual(await remoteBranches(bob), ['origin/main', 'origin/release', 'origin/topic']);
      const plain = await run(bob, ['fetch']);
      assert.doesNotMatch(plain.stdout, /pruned/);
      assert.deepEqual(await remoteBranches(bob), ['origin/main', 'origin/release', 'origin/topic']);
      const p = await json(bob, ['fetch', '--prune']);
      const pruned = p.refs.filter((u: { status: string }) => u.status === 'pruned').map((u: { ref: string }) => u.ref);
      assert.deepEqual(pruned, ['heads/release', 'heads/topic']);
      assert.deepEqual(await remoteBranches(bob), ['origin/main']);
      const again = await run(bob, ['fetch', '-p']);
      assert.doesNotMatch(again.stdout, /pruned/);
    });
  });
}

describe('remote branch delete is a compare-and-swap', () => {
  it('a branch another push holds (its lock file on a file:// remote) is not deleted: REF_CONFLICT, tracking ref kept', async () => {
    const a = join(tmp.dir, 'cas');
    const shared = join(tmp.dir, 'cas-remote');
    await fsp.mkdir(a, { recursive: true });
    await ok(a, ['init']);
    await writeFiles(a, { 'data/a.txt': 'a\n' });
    await ok(a, ['add', 'data']);
    await ok(a, ['commit', '-m', 'first']);
    await ok(a, ['remote', 'add', 'origin', pathToFileURL(shared).href]);
    await ok(a, ['push', 'origin', 'main:busy']);
    await fsp.writeFile(join(shared, 'refs', 'heads', 'busy.lock'), '');
    const r = await strata(a, ['push', '--delete', 'busy']);
    assert.equal(r.code, EXIT_CODES.REF_CONFLICT, r.stderr);
    assert.match(r.stderr, /branch busy on origin was changed by another push \(or one is under way\); it was not deleted/);
    await fsp.stat(join(shared, 'refs', 'heads', 'busy'));
    assert.deepEqual(JSON.parse((await ok(a, ['--json', 'branch', '-r'])).stdout).map((b: { name: string }) => b.name), ['origin/busy']);
    await fsp.rm(join(shared, 'refs', 'heads', 'busy.lock'));
    await ok(a, ['push', '--delete', 'busy']);
    assert.deepEqual(JSON.parse((await ok(a, ['--json', 'branch', '-r'])).stdout), []);
  });
});

describe('push refspec errors', () => {
  it('SRC: with no destination, and a bad destination name, are usage errors', async () => {
    const a = join(tmp.dir, 'spec');
    await fsp.mkdir(a, { recursive: true });
    await ok(a, ['init']);
    await writeFiles(a, { 'data/a.txt': 'a\n' });
    await ok(a, ['add', 'data']);
    await ok(a, ['commit', '-m', 'first']);
    await ok(a, ['remote', 'add', 'origin', pathToFileURL(join(tmp.dir, 'spec-remote')).href]);
    const noDst = await strata(a, ['push', 'origin', 'main:']);
    assert.equal(noDst.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(noDst.stderr, /names no remote branch after ':'/);
    const bad = await strata(a, ['push', 'origin', 'main:bad..name']);
    assert.equal(bad.code, EXIT_CODES.INVALID_ARGUMENT, bad.stderr);
    await ok(a, ['push']);
    const gone = await strata(a, ['push', 'origin', '--delete', 'nothing']);
    assert.equal(gone.code, EXIT_CODES.UNKNOWN_REF, gone.stderr);
  });
});
