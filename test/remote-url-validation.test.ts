/**
 * `strata remote add` / `set-url` validate URLs through the real CLI: credentials in a URL are
 * refused naming where they go instead (the AWS chain for S3; STRATA_TOKEN or the user credentials
 * file for a Strata server) and are never echoed; a table of invalid URLs is refused with a clear
 * message and a documented exit code, leaving no remote behind; valid forms are accepted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, tempDir } from './helpers/cli.js';
import { EXIT_CODES, StrataError } from '../core/errors/index.js';
import { normalizeRemoteUrl, parseRemoteUrl } from '../core/remote/config.js';
import { hasUrlSecrets } from '../core/config/redact.js';

describe('remote URL validation', () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  const remotes = async () => JSON.parse((await ok(dir, ['remote', 'list', '--json'])).stdout) as Array<{ name: string; url: string }>;

  before(async () => {
    t = await tempDir('strata-remote-url-');
    dir = join(t.dir, 'proj');
    await mkdir(dir);
    await ok(dir, ['init']);
  });
  after(async () => t.cleanup());

  it('credentials in a URL are refused, named where they go, and never repeated', async () => {
    const cases: Array<[string, RegExp]> = [
      ['https://alice:hunter2SECRET@strata.example.com/fraud', /STRATA_TOKEN.*strata\/credentials.*chmod 600/],
      ['https://hunter2SECRET@strata.example.com/fraud', /STRATA_TOKEN/],
      ['http://127.0.0.1:8080/fraud?token=hunter2SECRET', /STRATA_TOKEN/],
      ['https://strata.example.com/fraud?access_token=hunter2SECRET', /STRATA_TOKEN/],
      ['s3://AKIAXXXX:hunter2SECRET@my-bucket/data', /AWS credential chain.*AWS_ACCESS_KEY_ID/],
      ['s3://my-bucket/data?X-Amz-Signature=hunter2SECRET&X-Amz-Credential=AKIA', /AWS credential chain/],
      ['file://user:hunter2SECRET@localhost/tmp/x', /no credentials/],
    ];
    for (const [url, where] of cases) {
      for (const args of [['remote', 'add', 'leak', url], ['--json', 'remote', 'add', 'leak', url]]) {
        const r = await strata(dir, args);
        assert.equal(r.code, EXIT_CODES.INVALID_ARGUMENT, `${url}: ${r.stdout}${r.stderr}`);
        assert.doesNotMatch(r.stdout + r.stderr, /hunter2SECRET/, url);
        assert.match(r.stdout + r.stderr, /carries credentials/, url);
        assert.match(r.stdout + r.stderr, where, url);
      }
    }
    // set-url too.
    await ok(dir, ['remote', 'add', 'srv', 'https://strata.example.com/fraud']);
    const r = await strata(dir, ['remote', 'set-url', 'srv', 'https://bob:hunter2SECRET@strata.example.com/fraud']);
    assert.equal(r.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.doesNotMatch(r.stderr, /hunter2SECRET/);
    assert.deepEqual((await remotes()).map((x) => x.url), ['https://strata.example.com/fraud']);
    await ok(dir, ['remote', 'remove', 'srv']);
    // An S3 endpoint with credentials is refused too.
    const ep = await strata(dir, ['remote', 'add', 'm', 's3://my-bucket/x', '--endpoint', 'http://minio:hunter2SECRET@localhost:9000']);
    assert.equal(ep.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.doesNotMatch(ep.stderr, /hunter2SECRET/);
  });

  it('a table of invalid URLs is refused, with no remote added', async () => {
    const bad: Array<[string, number, RegExp]> = [
      ['', EXIT_CODES.INVALID_ARGUMENT, /empty remote URL/],
      ['s3://', EXIT_CODES.INVALID_ARGUMENT, /bucket/],
      ['s3://ab/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name "ab"/],
      ['s3://My-Bucket/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://my_bucket/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://-bucket/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://bucket-/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://my..bucket/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://my.-bucket/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://192.168.1.10/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://xn--bucket/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://bucket-s3alias/x', EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://' + 'b'.repeat(64), EXIT_CODES.INVALID_ARGUMENT, /invalid S3 bucket name/],
      ['s3://my-bucket/a/../b', EXIT_CODES.INVALID_ARGUMENT, /'\.' and '\.\.' segments/],
      ['s3://my-bucket/x?versionId=1', EXIT_CODES.INVALID_ARGUMENT, /no \?query/],
      ['s3://my-bucket/x y', EXIT_CODES.INVALID_ARGUMENT, /spaces/],
      ['s3:my-bucket/x', EXIT_CODES.INVALID_ARGUMENT, /did you mean s3:\/\/my-bucket\/x\?/],
      ['s4://my-bucket/x', EXIT_CODES.REMOTE_UNSUPPORTED, /did you mean s3:\/\/\?/],
      ['s3a://my-bucket/x', EXIT_CODES.REMOTE_UNSUPPORTED, /did you mean s3:\/\/\?/],
      ['htps://strata.example.com/fraud', EXIT_CODES.REMOTE_UNSUPPORTED, /did you mean https:\/\/\?/],
      ['htp://strata.example.com/fraud', EXIT_CODES.REMOTE_UNSUPPORTED, /did you mean http:\/\/\?/],
      ['fiel:///tmp/x', EXIT_CODES.REMOTE_UNSUPPORTED, /did you mean file:\/\/\?/],
      ['gs://bucket/x', EXIT_CODES.REMOTE_UNSUPPORTED, /supported: s3:\/\//],
      ['ftp://host/x', EXIT_CODES.REMOTE_UNSUPPORTED, /supported/],
      ['http:/strata.example.com/fraud', EXIT_CODES.INVALID_ARGUMENT, /did you mean http:\/\/strata\.example\.com\/fraud\?/],
      ['https:strata.example.com/fraud', EXIT_CODES.INVALID_ARGUMENT, /did you mean https:\/\//],
      ['file:/tmp/x', EXIT_CODES.INVALID_ARGUMENT, /did you mean file:\/\/\/tmp\/x\?/],
      ['file://tmp/x', EXIT_CODES.INVALID_ARGUMENT, /names a host.*file:\/\/\/tmp\/x/s],
      ['file://', EXIT_CODES.INVALID_ARGUMENT, /names no directory/],
      ['file:///tmp/x?y=1', EXIT_CODES.INVALID_ARGUMENT, /no \?query/],
      ['file:///tmp/%00x', EXIT_CODES.INVALID_ARGUMENT, /control characters/],
      ['https://strata.example.com', EXIT_CODES.INVALID_ARGUMENT, /names no repository/],
      ['https://strata.example.com/', EXIT_CODES.INVALID_ARGUMENT, /names no repository/],
      ['https://strata.example.com/.hidden', EXIT_CODES.INVALID_ARGUMENT, /not a repository name/],
      ['https://strata.example.com/fraud?x=1', EXIT_CODES.INVALID_ARGUMENT, /no \?query/],
      ['https://strata.example.com/fraud#top', EXIT_CODES.INVALID_ARGUMENT, /no \?query or #fragment/],
      ['https://strata.example.com:99999/fraud', EXIT_CODES.INVALID_ARGUMENT, /not a valid URL/],
      ['https://strata.example.com:0/fraud', EXIT_CODES.INVALID_ARGUMENT, /port 0/],
      ['https://-bad-.example.com/fraud', EXIT_CODES.INVALID_ARGUMENT, /not a valid host name/],
      ['https://strata example.com/fraud', EXIT_CODES.INVALID_ARGUMENT, /spaces/],
      ['https://', EXIT_CODES.INVALID_ARGUMENT, /not a valid URL|no host/],
      ['https://strata.example.com/fr\naud', EXIT_CODES.INVALID_ARGUMENT, /control characters/],
      ['./dir\twith-tab', EXIT_CODES.INVALID_ARGUMENT, /control characters/],
      [' ./dir', EXIT_CODES.INVALID_ARGUMENT, /starts or ends with spaces/],
      ['./dir ', EXIT_CODES.INVALID_ARGUMENT, /starts or ends with spaces/],
      ['./' + 'x'.repeat(3000), EXIT_CODES.INVALID_ARGUMENT, /at most 2048/],
    ];
    for (const [url, code, why] of bad) {
      const r = await strata(dir, ['remote', 'add', 'bad', url]);
      assert.equal(r.code, code, `${JSON.stringify(url)}: ${r.stderr}`);
      assert.match(r.stderr, /^error: /, JSON.stringify(url));
      assert.match(r.stderr, why, `${JSON.stringify(url)}: ${r.stderr}`);
      assert.match(r.stderr, /\nhint: /, JSON.stringify(url));
      assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/);
    }
    assert.deepEqual(await remotes(), []);
  });

  it('valid URLs are accepted and stored in canonical form', async () => {
    const good: Array<[string, string]> = [
      ['s3://my-bucket', 's3://my-bucket'],
      ['s3://my-bucket/datasets/fraud/', 's3://my-bucket/datasets/fraud'],
      ['s3://a.b-c1/x', 's3://a.b-c1/x'],
      ['S3://my-bucket/x', 's3://my-bucket/x'],
      ['file:///tmp/strata-remote', '/tmp/strata-remote'],
      ['file://localhost/tmp/strata-remote2', '/tmp/strata-remote2'],
      ['./shared', join(dir, 'shared')],
      ['../dir with space', join(t.dir, 'dir with space')],
      ['/abs/path', '/abs/path'],
      ['http://127.0.0.1:8080/fraud', 'http://127.0.0.1:8080/fraud'],
      ['https://strata.example.com/team/fraud', 'https://strata.example.com/team/fraud'],
      ['http://[::1]:9000/r', 'http://[::1]:9000/r'],
      ['http://localhost/r_1.v2', 'http://localhost/r_1.v2'],
    ];
    let i = 0;
    for (const [url, stored] of good) {
      const name = `r${i++}`;
      const r = await ok(dir, ['remote', 'add', name, url, '--json']);
      assert.equal((JSON.parse(r.stdout) as { url: string }).url, stored, url);
    }
    assert.equal((await remotes()).length, good.length);
    await ok(dir, ['remote', 'set-url', 'r0', 's3://other-bucket/p']);
    const bad = await strata(dir, ['remote', 'set-url', 'r0', 's3://Bad_Bucket/p']);
    assert.equal(bad.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.equal((await remotes()).find((x) => x.name === 'r0')!.url, 's3://other-bucket/p');
  });

  it('generated near-miss URLs: refused with a StrataError, or stored in a form that parses again without credentials', () => {
    const trials = process.env.STRATA_STRESS ? 20_000 : 1500;
    const seeds = ['s3://my-bucket/data/x', 'file:///tmp/remote', 'https://strata.example.com/fraud', 'http://127.0.0.1:8080/r', './shared', '/abs/dir'];
    const pieces = ['', ':', '/', '//', '@', 'user:pw@', '?', '?token=x', '#', '%', '%00', '%2F', ' ', '\t', '\n', '..', '.', '-', '_', 'A', 'é', '\u0000', '[', ']', ':0', ':99999', 'xn--', '\\'];
    let x = 12345;
    const rnd = (n: number) => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x % n;
    };
    let accepted = 0;
    for (let i = 0; i < trials; i++) {
      let u = seeds[rnd(seeds.length)]!;
      for (let k = 0, n = 1 + rnd(3); k < n; k++) {
        const at = rnd(u.length + 1);
        const cut = rnd(3);
        u = u.slice(0, at) + pieces[rnd(pieces.length)]! + u.slice(at + cut);
      }
      let stored: string;
      try {
        stored = normalizeRemoteUrl(u, dir);
      } catch (e) {
        assert.ok(e instanceof StrataError, `${JSON.stringify(u)}: ${String(e)}`);
        assert.ok(e.code === 'INVALID_ARGUMENT' || e.code === 'REMOTE_UNSUPPORTED', `${JSON.stringify(u)}: ${e.code}`);
        assert.ok(e.hint, `${JSON.stringify(u)}: a hint`);
        continue;
      }
      accepted++;
      assert.doesNotMatch(stored, /[\u0000-\u001f\u007f]/, JSON.stringify(u));
      assert.equal(hasUrlSecrets(stored), false, JSON.stringify(u));
      assert.ok(stored.length <= 4096 + dir.length);
      parseRemoteUrl(stored, dir);
    }
    assert.ok(accepted > 0 && accepted < trials, `${accepted} of ${trials} accepted`);
  });
});
