/**
 * Remotes in a directory (file:// URLs and plain paths): remote management, a full round trip,
 * and the push race (FileRefStore's lock file + rename is a real compare-and-swap, so exactly one
 * of two concurrent pushes to a branch wins).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ok, readTreeBytes, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { EXIT_CODES } from '../core/errors/index.js';

let tmp: { dir: string; cleanup(): Promise<void> };
before(async () => {
  tmp = await tempDir('strata-remote-file-');
});
after(async () => {
  await tmp?.cleanup();
});

const json = async (cwd: string, args: string[], expect = 0) => JSON.parse((await ok(cwd, ['--json', ...args], expect)).stdout);

async function repoWith(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const dir = join(tmp.dir, name);
  await fsp.mkdir(dir, { recursive: true });
  await ok(dir, ['init']);
  await writeFiles(dir, files);
  await ok(dir, ['add', 'data']);
  await ok(dir, ['commit', '-m', 'first']);
  return dir;
}

describe('file:// remotes', () => {
  it('remote add / list / set-url / remove, and clear errors', async () => {
    const a = await repoWith('cfg', { 'data/a.txt': 'a\n' });
    await ok(a, ['remote', 'add', 'origin', 's3://bucket/p', '--endpoint', 'http://localhost:9000', '--region', 'eu-west-1', '--path-style']);
    const list = await json(a, ['remote', 'list']);
    assert.deepEqual(list, [{ name: 'origin', url: 's3://bucket/p', endpoint: 'http://localhost:9000', region: 'eu-west-1', pathStyle: true }]);
    const dup = await strata(a, ['remote', 'add', 'origin', './x']);
    assert.equal(dup.code, EXIT_CODES.REMOTE_EXISTS);
    const badUrl = await strata(a, ['remote', 'add', 'g', 'gs://bucket/x']);
    assert.equal(badUrl.code, EXIT_CODES.REMOTE_UNSUPPORTED);
    const badOpt = await strata(a, ['remote', 'add', 'd', './dir', '--endpoint', 'http://x:1']);
    assert.equal(badOpt.code, EXIT_CODES.INVALID_ARGUMENT);
    await ok(a, ['remote', 'set-url', 'origin', './shared']);
    const after = await json(a, ['remote', 'list']);
    assert.equal(after[0].url, join(a, 'shared'));
    assert.equal(after[0].endpoint, undefined, 'S3 settings are dropped for a directory URL');
    // Credentials are never stored.
    const cfg = (await ok(a, ['config', 'list'], 0)).stdout;
    assert.doesNotMatch(cfg, /secret|access/i);
    await ok(a, ['remote', 'remove', 'origin']);
    const gone = await strata(a, ['push']);
    assert.equal(gone.code, EXIT_CODES.REMOTE_UNKNOWN);
    // A server URL is dispatched to the server client (REMOTE_UNSUPPORTED until it exists, else it tries to connect).
    await ok(a, ['remote', 'add', 'srv', 'http://127.0.0.1:9/repo']);
    const srv = await strata(a, ['--json', 'push', 'srv']);
    assert.equal(srv.code, 13, srv.stdout + srv.stderr);
    // Fetching from a directory that does not exist.
    await ok(a, ['remote', 'add', 'nowhere', join(tmp.dir, 'does-not-exist')]);
    const nf = await strata(a, ['--json', 'fetch', 'nowhere']);
    assert.equal(nf.code, EXIT_CODES.REMOTE_NOT_FOUND);
  });

  it('round trip through a file:// URL: push, clone, pull, partial clone, --no-checkout', async () => {
    const remote = join(tmp.dir, 'shared.strata');
    const a = await repoWith('rt-a', {
      'data/x/one.bin': seededBytes(300_000, 1),
      'data/x/two.txt': 'two\n',
      'data/y/three.bin': seededBytes(9 * 1024 * 1024, 3),
    });
    await ok(a, ['remote', 'add', 'origin', pathToFileURL(remote).href]);
    const p = await json(a, ['push']);
    assert.equal(p.guarantee, 'file-lock');
    assert.equal(p.requests, null);
    for (const d of ['objects', 'refs/heads/main']) await fsp.stat(join(remote, d));

    const b = join(tmp.dir, 'rt-b');
    await ok(tmp.dir, ['clone', remote, b]);
    assert.deepEqual(await readTreeBytes(b), await readTreeBytes(a));
    assert.equal((await json(b, ['fsck'])).ok, true);

    await writeFiles(b, { 'data/x/two.txt': 'TWO\n' });
    await ok(b, ['add', 'data']);
    await ok(b, ['commit', '-m', 'b']);
    await ok(b, ['push']);
    await ok(a, ['pull']);
    assert.equal(await fsp.readFile(join(a, 'data/x/two.txt'), 'utf8'), 'TWO\n');

    const c = join(tmp.dir, 'rt-c');
    await ok(tmp.dir, ['clone', remote, c, '--', 'data/x']);
    assert.deepEqual([...(await readTreeBytes(c)).keys()].sort(), ['data/x/one.bin', 'data/x/two.txt']);
    assert.match((await ok(c, ['status'])).stdout, /working tree clean/);
    // A commit in a partial checkout keeps the files it did not download.
    await writeFiles(c, { 'data/x/more.txt': 'more\n' });
    await ok(c, ['add', 'data/x']);
    await ok(c, ['commit', '-m', 'partial commit']);
    await ok(c, ['push']);
    await ok(a, ['pull']);
    assert.equal((await fsp.stat(join(a, 'data/y/three.bin'))).size, 9 * 1024 * 1024);
    assert.equal(await fsp.readFile(join(a, 'data/x/more.txt'), 'utf8'), 'more\n');

    const d = join(tmp.dir, 'rt-d');
    await ok(tmp.dir, ['clone', '--no-checkout', remote, d]);
    assert.equal((await readTreeBytes(d)).size, 0);
    assert.match((await ok(d, ['status'])).stdout, /working tree clean/);
    await ok(d, ['pull', '--', '.']);
    assert.deepEqual(await readTreeBytes(d), await readTreeBytes(a));
  });

  it('pipeline runs travel with push and are rebuilt by clone (run objects + runs/<id> markers)', async () => {
    const remote = join(tmp.dir, 'runs-remote');
    const a = await repoWith('runs-a', { 'data/in.txt': 'hello\n' });
    await ok(a, ['run', '-n', 'upper', '-d', 'data/in.txt', '-o', 'out/upper.txt', '--', `${JSON.stringify(process.execPath)} -e "require('fs').mkdirSync('out',{recursive:true});require('fs').writeFileSync('out/upper.txt', require('fs').readFileSync('data/in.txt','utf8').toUpperCase())"`]);
    await ok(a, ['commit', '-m', 'ran']);
    await ok(a, ['remote', 'add', 'origin', remote]);
    const p = await json(a, ['push']);
    assert.equal(p.runs, 1);
    const markers = await fsp.readdir(join(remote, 'runs'));
    assert.equal(markers.length, 1);
    const again = await json(a, ['push']);
    assert.equal(again.runs, 0);
    const b = join(tmp.dir, 'runs-b');
    await ok(tmp.dir, ['clone', remote, b]);
    const ra = await json(a, ['runs']);
    const rb = await json(b, ['runs']);
    assert.equal(rb.length, 1);
    assert.equal(JSON.stringify(rb), JSON.stringify(ra));
    assert.equal((await json(b, ['fsck'])).ok, true);
  });

  it('two concurrent pushes to one branch: exactly one wins, the other is told to pull', async () => {
    const remote = join(tmp.dir, 'race');
    const base = await repoWith('race-base', { 'data/base.txt': 'base\n' });
    await ok(base, ['remote', 'add', 'origin', remote]);
    await ok(base, ['push']);
    for (let round = 0; round < 3; round++) {
      const a = join(tmp.dir, `race-a${round}`);
      const b = join(tmp.dir, `race-b${round}`);
      await ok(tmp.dir, ['clone', remote, a]);
      await ok(tmp.dir, ['clone', remote, b]);
      for (const [dir, who] of [[a, 'a'], [b, 'b']] as const) {
        await writeFiles(dir, { [`data/${who}${round}.bin`]: seededBytes(50_000, round * 10 + who.length) });
        await ok(dir, ['add', 'data']);
        await ok(dir, ['commit', '-m', who]);
      }
      const [ra, rb] = await Promise.all([strata(a, ['--json', 'push']), strata(b, ['--json', 'push'])]);
      const codes = [ra.code, rb.code].sort();
      assert.deepEqual(codes, [0, 6], `round ${round}: ${ra.stdout}${ra.stderr} / ${rb.stdout}${rb.stderr}`);
      const loser = ra.code === 0 ? rb : ra;
      const err = JSON.parse(loser.stdout).error;
      assert.ok(['REF_CONFLICT', 'NON_FAST_FORWARD'].includes(err.code), err.code);
      assert.match(`${err.message} ${err.hint}`, /strata pull/);
      // The winner's commit is on the remote; the base can fast-forward to it.
      await ok(base, ['pull']);
      const winner = ra.code === 0 ? a : b;
      assert.deepEqual(await readTreeBytes(base), await readTreeBytes(winner));
    }
  });
});
