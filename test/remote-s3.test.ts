/**
 * Remotes on S3 (s3rver on loopback, the real AWS SDK, the real strata binary): push, clone,
 * pull, partial pull, interrupted push, request counts, and the documented errors.
 *
 * s3rver accepts but does not enforce conditional writes (If-Match / If-None-Match), so the true
 * push race is tested on a file:// remote (test/remote-file.test.ts); here we test that a push
 * whose base is stale is refused as non-fast-forward.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ok, readTreeBytes, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
import { EXIT_CODES } from '../core/errors/index.js';

let s3: S3rverHandle;
let tmp: { dir: string; cleanup(): Promise<void> };
let env: Record<string, string | undefined>;

before(async () => {
  s3 = await startS3rver({ buckets: ['strata'] });
  tmp = await tempDir('strata-remote-s3-');
  env = {
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_PROFILE: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_S3: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
});

after(async () => {
  await s3?.stop();
  await tmp?.cleanup();
});

const run = (cwd: string, args: string[], expect = 0) => ok(cwd, args, expect, { env });
const json = async (cwd: string, args: string[], expect = 0) => JSON.parse((await run(cwd, ['--json', ...args], expect)).stdout);

async function newRepo(name: string, files: Record<string, string | Buffer>, url: string): Promise<string> {
  const dir = join(tmp.dir, name);
  await fsp.mkdir(dir, { recursive: true });
  await run(dir, ['init']);
  await writeFiles(dir, files);
  await run(dir, ['add', 'data']);
  await run(dir, ['commit', '-m', 'first']);
  await run(dir, ['remote', 'add', 'origin', url, '--endpoint', s3.endpoint]);
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  await walk(dir);
  return out;
}

describe('push / clone / pull on S3', () => {
  it('round trip: A pushes, a clone is byte-identical and fsck clean, B pushes, A pulls; a stale push is refused', async () => {
    const files: Record<string, string | Buffer> = {
      'data/big.bin': seededBytes(10 * 1024 * 1024 + 123, 7), // chunked (> 8 MiB)
      'data/mid.bin': seededBytes(1_500_000, 8), // a loose object
      'data/sub/deep/x.csv': 'a,b\n1,2\n',
    };
    for (let i = 0; i < 50; i++) files[`data/small/f${i}.txt`] = `file ${i}\n` + seededBytes(200 + i * 10, i + 100).toString('hex');
    const a = await newRepo('rt-a', files, 's3://strata/team/rt');
    const p = await json(a, ['push', '-v']);
    assert.equal(p.refs[0].status, 'created');
    assert.equal(p.guarantee, 's3-read-check-write', 's3rver ignores conditional writes and the probe says so');
    assert.ok(p.objects > 50 && p.requests > 0);
    // The probe answer is cached in the repository config.
    assert.match((await run(a, ['remote', 'list', '-v'])).stdout, /conditional-writes=not-enforced/);
    // It belongs to the server: moving within the bucket on the same endpoint keeps it, another bucket forgets it.
    await run(a, ['remote', 'set-url', 'origin', 's3://strata/team/rt-elsewhere']);
    assert.match((await run(a, ['remote', 'list', '-v'])).stdout, /conditional-writes=not-enforced/);
    await run(a, ['remote', 'set-url', 'origin', 's3://other-bucket/team/rt']);
    assert.doesNotMatch((await run(a, ['remote', 'list', '-v'])).stdout, /conditional-writes=/);
    await run(a, ['remote', 'set-url', 'origin', 's3://strata/team/rt']);

    const b = join(tmp.dir, 'rt-b');
    const c = await json(tmp.dir, ['clone', 's3://strata/team/rt', b, '--endpoint', s3.endpoint]);
    assert.equal(c.branch, 'main');
    assert.deepEqual(await readTreeBytes(b), await readTreeBytes(a));
    assert.equal((await json(b, ['fsck'])).ok, true);
    assert.match((await run(b, ['status'])).stdout, /working tree clean/);

    // No-op push: nothing sent, one ref read.
    const noop = await json(a, ['push']);
    assert.equal(noop.objects, 0);
    assert.equal(noop.refs[0].status, 'up-to-date');
    assert.ok(noop.requests <= 3, `no-op push used ${noop.requests} requests`);

    // B commits and pushes; A pulls.
    await writeFiles(b, { 'data/sub/deep/x.csv': 'a,b\n1,2\n3,4\n', 'data/new.txt': 'from B\n' });
    await fsp.rm(join(b, 'data/small/f3.txt'));
    await run(b, ['add', 'data']);
    await run(b, ['commit', '-m', 'from B']);
    const pb = await json(b, ['push']);
    assert.equal(pb.refs[0].status, 'updated');
    assert.ok(pb.objects <= 10, `second push sends only the change, sent ${pb.objects}`);

    const pa = await json(a, ['pull']);
    assert.equal(pa.status, 'fast-forward');
    assert.deepEqual(await readTreeBytes(a), await readTreeBytes(b));
    assert.equal((await json(a, ['fsck'])).ok, true);

    // A stale clone commits and pushes: refused, told to pull.
    const stale = join(tmp.dir, 'rt-stale');
    await run(tmp.dir, ['clone', 's3://strata/team/rt', stale, '--endpoint', s3.endpoint]);
    await writeFiles(a, { 'data/a-only.txt': 'A\n' });
    await run(a, ['add', 'data']);
    await run(a, ['commit', '-m', 'A again']);
    await run(a, ['push']);
    await writeFiles(stale, { 'data/stale.txt': 'stale\n' });
    await run(stale, ['add', 'data']);
    await run(stale, ['commit', '-m', 'stale']);
    const r = await strata(stale, ['--json', 'push'], { env });
    assert.equal(r.code, EXIT_CODES.NON_FAST_FORWARD);
    const err = JSON.parse(r.stdout).error;
    assert.equal(err.code, 'NON_FAST_FORWARD');
    assert.match(err.message, /strata pull/);
    // pull --ff-only refuses diverged histories, leaving the workspace as it was...
    const before = await readTreeBytes(stale);
    const pr = await strata(stale, ['--json', 'pull', '--ff-only'], { env });
    assert.equal(pr.code, EXIT_CODES.NON_FAST_FORWARD);
    assert.deepEqual(await readTreeBytes(stale), before);
    // ...and pull merges them (a commit with both parents), after which the push lands.
    const merged = await json(stale, ['pull']);
    assert.equal(merged.status, 'merged');
    assert.equal((await readTreeBytes(stale)).get('data/a-only.txt')?.toString(), 'A\n');
    assert.equal((await readTreeBytes(stale)).get('data/stale.txt')?.toString(), 'stale\n');
    await run(stale, ['push']);
    const back = await json(a, ['pull']);
    assert.equal(back.status, 'fast-forward');
    assert.equal((await readTreeBytes(a)).get('data/stale.txt')?.toString(), 'stale\n');
  });

  it('2,000 small files cost far fewer requests than files, and a partial pull downloads no other folder', async () => {
    const files: Record<string, string | Buffer> = {};
    for (let i = 0; i < 2000; i++) files[`data/many/d${i % 20}/f${i}.txt`] = `row ${i}\n` + 'x'.repeat(100 + (i % 300));
    for (let i = 0; i < 10; i++) files[`data/other/o${i}.bin`] = seededBytes(200_000, 500 + i);
    const a = await newRepo('small-a', files, 's3://strata/small');
    const p = await json(a, ['push']);
    assert.ok(p.objects >= 2010);
    assert.ok(p.requests < 100, `push of 2,000 files used ${p.requests} requests`);

    // Partial clone of one folder: no bytes of data/other.
    const b = join(tmp.dir, 'small-b');
    const c = await json(tmp.dir, ['clone', 's3://strata/small', b, '--endpoint', s3.endpoint, '--', 'data/many/d3']);
    const got = await readTreeBytes(b);
    assert.equal(got.size, 100);
    assert.ok([...got.keys()].every((k) => k.startsWith('data/many/d3/')));
    const otherBytes = 10 * 200_000;
    // File data downloaded = exactly the folder's bytes; on the wire: that plus commits, trees and pack indexes.
    const d3Bytes = Object.entries(files).filter(([k]) => k.startsWith('data/many/d3/')).reduce((n, [, v]) => n + Buffer.byteLength(v), 0);
    assert.equal(c.pull.download.bytes, d3Bytes);
    assert.ok(c.pull.wireBytesDown < otherBytes / 4, `partial clone received ${c.pull.wireBytesDown} bytes`);
    assert.match((await run(b, ['status'])).stdout, /working tree clean/);

    // A changes both folders; B pulls only data/many/d3.
    const change: Record<string, string | Buffer> = { 'data/many/d3/f3.txt': 'changed\n' };
    for (let i = 0; i < 10; i++) change[`data/other/o${i}.bin`] = seededBytes(200_000, 900 + i);
    await writeFiles(a, change);
    await run(a, ['add', 'data']);
    await run(a, ['commit', '-m', 'both']);
    await run(a, ['push']);
    const pl = await json(b, ['pull', '--', 'data/many/d3']);
    assert.equal(pl.status, 'fast-forward');
    assert.equal(pl.download.bytes, 'changed\n'.length);
    assert.ok(pl.wireBytesDown < otherBytes / 4, `partial pull received ${pl.wireBytesDown} bytes`);
    assert.equal(await fsp.readFile(join(b, 'data/many/d3/f3.txt'), 'utf8'), 'changed\n');
    await assert.rejects(fsp.stat(join(b, 'data/other')));
    assert.match((await run(b, ['status'])).stdout, /working tree clean/);

    // Leaving partial mode downloads the rest.
    await run(b, ['pull', '--', '.']);
    assert.deepEqual(await readTreeBytes(b), await readTreeBytes(a));
    assert.equal((await json(b, ['fsck'])).ok, true);
  });

  it('a push killed midway is retried uploading only what is missing', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 120; i++) files[`data/p${i}.bin`] = seededBytes(600 * 1024, 3000 + i); // ~70 MiB in ~5 packs
    const a = await newRepo('kill-a', files, 's3://strata/kill');
    const total = Object.values(files).reduce((n, b) => n + b.length, 0);

    // -j 1: one pack in flight at a time; kill -9 once the first pack index has landed.
    const child = spawn(process.execPath, [BIN, 'push', '-j', '1'], { cwd: a, env: { ...process.env, ...env, NO_COLOR: '1' } as NodeJS.ProcessEnv, stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let killed = false;
    for (;;) {
      const idx = (await filesUnder(join(s3.dir, 'strata', 'kill'))).filter((f) => /\.idx\._S3rver_object$/.test(f));
      if (idx.length >= 1) {
        killed = child.kill('SIGKILL');
        break;
      }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await exited;
    assert.ok(killed, 'the push finished before it could be killed');
    // The remote branch did not move.
    const ls = await strata(a, ['--json', 'fetch'], { env });
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(JSON.parse(ls.stdout).refs, []);

    const retry = await json(a, ['push']);
    assert.equal(retry.refs[0].status, 'created');
    assert.ok(retry.bytes < total, `retry sent ${retry.bytes} of ${total} bytes`);
    assert.ok(retry.skipped > 0 && retry.objects < 120, `retry sent ${retry.objects} objects, skipped ${retry.skipped}`);

    const b = join(tmp.dir, 'kill-b');
    await run(tmp.dir, ['clone', 's3://strata/kill', b, '--endpoint', s3.endpoint]);
    assert.deepEqual(await readTreeBytes(b), await readTreeBytes(a));
    assert.equal((await json(b, ['fsck'])).ok, true);
  });

  it('wrong credentials and a missing bucket give the documented errors and leave nothing behind', async () => {
    const a = await newRepo('err-a', { 'data/x.txt': 'x\n' }, 's3://strata/err');
    const bad = await strata(a, ['--json', 'push'], { env: { ...env, AWS_ACCESS_KEY_ID: 'NOT-A-KEY' } });
    assert.equal(bad.code, EXIT_CODES.REMOTE_AUTH);
    assert.equal(JSON.parse(bad.stdout).error.code, 'REMOTE_AUTH');
    assert.match(JSON.parse(bad.stdout).error.hint, /AWS_ACCESS_KEY_ID/);

    await run(a, ['remote', 'add', 'nob', 's3://no-such-bucket/x', '--endpoint', s3.endpoint]);
    const nb = await strata(a, ['--json', 'push', 'nob'], { env });
    assert.equal(nb.code, EXIT_CODES.REMOTE_NOT_FOUND);
    assert.equal(JSON.parse(nb.stdout).error.code, 'REMOTE_NOT_FOUND');
    assert.match(JSON.parse(nb.stdout).error.message, /no-such-bucket/);

    const dest = join(tmp.dir, 'err-clone');
    const cl = await strata(tmp.dir, ['--json', 'clone', 's3://no-such-bucket/x', dest, '--endpoint', s3.endpoint], { env });
    assert.equal(cl.code, EXIT_CODES.REMOTE_NOT_FOUND);
    await assert.rejects(fsp.stat(dest), 'a failed clone leaves no folder');

    const cl2 = await strata(tmp.dir, ['--json', 'clone', 's3://strata/err', join(tmp.dir, 'err-clone2'), '--endpoint', s3.endpoint], { env: { ...env, AWS_ACCESS_KEY_ID: 'NOT-A-KEY' } });
    assert.equal(cl2.code, EXIT_CODES.REMOTE_AUTH);
    await assert.rejects(fsp.stat(join(tmp.dir, 'err-clone2')));
  });
});
