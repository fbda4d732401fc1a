/**
 * HTTP conventions of the server and the clients (issue 15): Range per RFC 9110 (an invalid range
 * is ignored, an unsatisfiable one is 416), compressed and cached web UI assets, the access log
 * (no secrets), retries of the HTTP remote client (Retry-After, 429/502/503/504, resets; a real
 * `strata clone` through a flaky proxy), and S3 endpoints from an AWS profile's endpoint_url
 * (the real CLI against s3rver).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { startServer, type RunningServer } from '../server/app.js';
import { HttpClient, retryAfterMs } from '../core/store/http/client.js';
import { BIN, ok, readTreeBytes, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { raw } from './helpers/server.js';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';

let tmp: { dir: string; cleanup(): Promise<void> };
const servers: { close(): Promise<void> }[] = [];

before(async () => {
  tmp = await tempDir('strata-httpconv-');
});
after(async () => {
  for (const s of servers.reverse()) await s.close();
  await tmp?.cleanup();
});

const cleanEnv = { AWS_PROFILE: undefined, AWS_ENDPOINT_URL: undefined, AWS_ENDPOINT_URL_S3: undefined, AWS_EC2_METADATA_DISABLED: 'true', STRATA_TOKEN: undefined };

async function project(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const dir = join(tmp.dir, name);
  await fsp.mkdir(dir, { recursive: true });
  await ok(dir, ['init'], 0, { env: cleanEnv });
  await writeFiles(dir, files);
  await ok(dir, ['add', 'data'], 0, { env: cleanEnv });
  await ok(dir, ['commit', '-m', 'first'], 0, { env: cleanEnv });
  return dir;
}

async function serve(opts: Parameters<typeof startServer>[0]): Promise<RunningServer> {
  const s = await startServer({ port: 0, webDir: null, log: () => {}, ...opts });
  servers.push(s);
  return s;
}

/** A plain local HTTP server answering from `handler`; returns its base URL. */
async function local(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const srv: Server = createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  servers.push({ close: () => new Promise<void>((r) => srv.close(() => r())) });
  srv.unref();
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

describe('Range (RFC 9110 section 14)', () => {
  it('bytes=5-3 is ignored (200, whole body); a range past the end is 416 with Content-Range bytes */len', async () => {
    const body = 'abcdefghijklmnopqrstuvwxyz\n';
    const dir = await project('range', { 'data/a.txt': body });
    const s = await serve({ project: dir });
    const path = `/api/repos/range/file?path=data/a.txt`;
    const inv = await raw(s.url, 'GET', path, { headers: { Range: 'bytes=5-3' } });
    assert.equal(inv.status, 200);
    assert.equal(inv.body.toString(), body);
    assert.equal(inv.headers['content-range'], undefined);
    const part = await raw(s.url, 'GET', path, { headers: { Range: 'bytes=3-5' } });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), 'def');
    const past = await raw(s.url, 'GET', path, { headers: { Range: `bytes=${body.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], `bytes */${body.length}`);
    const multi = await raw(s.url, 'GET', path, { headers: { Range: 'bytes=0-1,4-5' } });
    assert.equal(multi.status, 200, 'several ranges: the whole body (documented in docs/api.md)');
    assert.equal(multi.body.toString(), body);
  });
});

describe('web UI assets: compression and caching', () => {
  it('br and gzip by Accept-Encoding, Vary, immutable hashed assets, no-cache index.html', async () => {
    const web = join(tmp.dir, 'web');
    const js = Buffer.from(Array.from({ length: 400 }, (_, i) => `export const v${i} = ${JSON.stringify('value ' + i)};\n`).join(''));
    const html = `<!doctype html><title>Strata</title>${'<p>strata web ui</p>'.repeat(100)}<script src="/assets/index-Ab3dE_9z.js"></script>`;
    const png = seededBytes(5000, 3);
    await writeFiles(web, { 'index.html': html, 'assets/index-Ab3dE_9z.js': js, 'assets/logo-Qw12Er34.png': png });
    const s = await serve({ project: await project('web-proj', { 'data/x.txt': 'x\n' }), webDir: web });

    const br = await raw(s.url, 'GET', '/assets/index-Ab3dE_9z.js', { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(Number(br.headers['content-length']), br.body.length);
    assert.ok(br.body.length < js.length);
    assert.deepEqual(brotliDecompressSync(br.body), js);

    const gz = await raw(s.url, 'GET', '/assets/index-Ab3dE_9z.js', { headers: { 'Accept-Encoding': 'gzip;q=1, br;q=0' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.body), js);

    const plain = await raw(s.url, 'GET', '/assets/index-Ab3dE_9z.js');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'Accept-Encoding');
    assert.deepEqual(plain.body, js);

    const head = await raw(s.url, 'HEAD', '/assets/index-Ab3dE_9z.js', { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(head.headers['content-length'], br.headers['content-length']);
    assert.equal(head.body.length, 0);

    const index = await raw(s.url, 'GET', '/', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(index.headers['cache-control'], 'no-cache');
    assert.equal(index.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(index.body).toString(), html);

    const deep = await raw(s.url, 'GET', '/repos/x/tree', { headers: { 'Accept-Encoding': 'br', Accept: 'text/html' } });
    assert.equal(deep.headers['cache-control'], 'no-cache', 'the app served for a deep link is not cached');
    assert.equal(brotliDecompressSync(deep.body).toString(), html);

    const image = await raw(s.url, 'GET', '/assets/logo-Qw12Er34.png', { headers: { 'Accept-Encoding': 'br, gzip' } });
    assert.equal(image.headers['content-encoding'], undefined, 'images are not recompressed');
    assert.deepEqual(image.body, png);
  });
});

describe('access log', () => {
  it('one line per request: method, path, status, bytes, ms; token query values and Authorization are not logged', async () => {
    const lines: string[] = [];
    const s = await serve({ project: await project('logged', { 'data/a.txt': 'hello\n' }), log: (m) => lines.push(m) });
    const secret = 'stk_SECRETSECRET123';
    const r = await raw(s.url, 'GET', `/api/repos/logged/file?path=data/a.txt&token=${secret}&access_token=${secret}&X-Amz-Signature=${secret}`, { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(r.status, 401, 'an unknown bearer token is refused');
    const r2 = await raw(s.url, 'GET', '/api/repos/logged/file?path=data/a.txt');
    assert.equal(r2.status, 200);
    await new Promise((res) => setImmediate(res));
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.ok(!lines.join('\n').includes(secret), lines.join('\n'));
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z GET \/api\/repos\/logged\/file\?path=data\/a\.txt&token=REDACTED&access_token=REDACTED&X-Amz-Signature=REDACTED 401 \d+ [\d.]+ms$/);
    assert.match(lines[1]!, new RegExp(`^\\S+ GET /api/repos/logged/file\\?path=data/a\\.txt 200 ${'hello\n'.length} [\\d.]+ms$`));
  });

  it('strata serve writes it to stderr; --no-access-log turns it off', async () => {
    const dir = await project('cli-log', { 'data/a.txt': 'hello\n' });
    for (const quiet of [false, true]) {
      const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', ...(quiet ? ['--no-access-log'] : [])], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        let o = '';
        proc.stdout.on('data', (d: Buffer) => {
          o += d.toString();
          const m = /"url":\s*"([^"]+)"/.exec(o);
          if (m) resolve(m[1]!);
        });
        proc.on('exit', (c) => reject(new Error(`server exited ${c}: ${err}`)));
      });
      assert.equal((await raw(url, 'GET', '/api/repos?token=abc123')).status, 200);
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await exited;
      if (quiet) assert.doesNotMatch(err, /GET \/api\/repos/);
      else {
        assert.match(err, /GET \/api\/repos\?token=REDACTED 200 \d+ [\d.]+ms/);
        assert.doesNotMatch(err, /abc123/);
      }
    }
  });
});

describe('HTTP remote retries', () => {
  it('Retry-After in seconds or as an HTTP-date, capped at 30 s; garbage falls back to backoff', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('1', now), 1000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    assert.equal(retryAfterMs('86400', now), 30_000);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(null, now), undefined);
  });

  it('429 with Retry-After, then 502, 504 and a reset connection are retried; a streamed body is not; attempts are bounded', async () => {
    const seen: string[] = [];
    const script = ['429', '502', '504', 'reset', 'ok'];
    const base = await local((req, res) => {
      req.resume();
      const step = script[Math.min(seen.length, script.length - 1)]!;
      seen.push(`${req.method} ${req.url} ${step}`);
      if (step === 'reset') return void req.socket.destroy();
      if (step === '429') return void res.writeHead(429, { 'Retry-After': '1', 'Content-Length': '0' }).end();
      if (step !== 'ok') return void res.writeHead(Number(step), { 'Content-Length': '0' }).end();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
    const c = new HttpClient(`${base}/api/repos/x`, `${base}/x`, undefined);
    assert.deepEqual(await c.json('GET', '/refs'), { ok: true });
    assert.deepEqual(seen, script.map((s) => `GET /api/repos/x/refs ${s}`));

    seen.length = 0;
    script.splice(0, script.length, '503');
    await assert.rejects(c.json('GET', '/refs'), (e: { code?: string }) => e.code === 'REMOTE_UNREACHABLE');
    assert.equal(seen.length, 5, 'five attempts in all, then the error');

    seen.length = 0;
    const stream = (async function* () {
      yield Buffer.from('pack');
    })();
    await assert.rejects(c.request('POST', '/objects', { body: stream }));
    assert.equal(seen.length, 1, 'a streamed body is sent once');
  });

  it('strata clone through a proxy that answers 429 (Retry-After: 1) and 502 once each succeeds', async () => {
    const src = await project('flaky', { 'data/a.csv': 'a,b\n1,2\n', 'data/b.bin': seededBytes(70_000, 5) });
    const s = await serve({ project: src });
    const upstream = new URL(s.url);
    const log: string[] = [];
    let n = 0;
    const proxy = await local((req, res) => {
      n++;
      if (n === 1 || n === 3) {
        log.push(`${n === 1 ? 429 : 502} ${req.method} ${req.url}`);
        req.resume();
        return void res.writeHead(n === 1 ? 429 : 502, n === 1 ? { 'Retry-After': '1', 'Content-Length': '0' } : { 'Content-Length': '0' }).end();
      }
      log.push(`proxied ${req.method} ${req.url}`);
      const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    const dest = join(tmp.dir, 'flaky-clone');
    await ok(tmp.dir, ['clone', `${proxy}/flaky`, dest], 0, { env: cleanEnv });
    assert.deepEqual(await readTreeBytes(join(dest, 'data')), await readTreeBytes(join(src, 'data')));
    // Each refused request was sent again.
    assert.equal(log.filter((l) => /^(429|502) /.test(l)).length, 2, log.join('\n'));
    for (const [i, l] of log.entries()) {
      if (/^(429|502) /.test(l)) assert.ok(log.slice(i + 1).includes(l.replace(/^\d+/, 'proxied')), `${l} was retried:\n${log.join('\n')}`);
    }
  });
});

describe('S3 endpoint from an AWS profile', () => {
  let s3: S3rverHandle;
  before(async () => {
    s3 = await startS3rver({ buckets: ['strata'] });
    servers.push({ close: () => s3.stop() });
  });

  it('remote add --profile minio uses the profile endpoint_url (and the services/s3 nested form) for push and clone', async () => {
    const aws = join(tmp.dir, 'aws');
    await writeFiles(aws, {
      config: [
        '[default]',
        'region = us-east-1',
        '[profile minio]',
        'region = us-east-1',
        `endpoint_url = ${s3.endpoint}`,
        '[profile nested]',
        'region = us-east-1',
        'endpoint_url = http://127.0.0.1:9/never-used',
        'services = local-s3',
        '[services local-s3]',
        's3 =',
        `  endpoint_url = ${s3.endpoint}`,
        '',
      ].join('\n'),
      credentials: ['[minio]', `aws_access_key_id = ${s3.credentials.accessKeyId}`, `aws_secret_access_key = ${s3.credentials.secretAccessKey}`, '[nested]', `aws_access_key_id = ${s3.credentials.accessKeyId}`, `aws_secret_access_key = ${s3.credentials.secretAccessKey}`, ''].join('\n'),
    });
    const env = { ...cleanEnv, AWS_CONFIG_FILE: join(aws, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials'), AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined };
    const src = await project('prof', { 'data/a.csv': 'a,b\n1,2\n' });
    for (const profile of ['minio', 'nested']) {
      const remote = `r-${profile}`;
      await ok(src, ['remote', 'add', remote, `s3://strata/${profile}`, '--profile', profile], 0, { env });
      await ok(src, ['push', remote], 0, { env });
      const dest = join(tmp.dir, `prof-clone-${profile}`);
      await ok(tmp.dir, ['clone', `s3://strata/${profile}`, dest, '--profile', profile], 0, { env });
      assert.deepEqual(await readTreeBytes(join(dest, 'data')), await readTreeBytes(join(src, 'data')));
    }
    const objects = await fsp.readdir(join(s3.dir, 'strata'), { recursive: true });
    assert.ok(objects.some((p) => String(p).startsWith('minio')) && objects.some((p) => String(p).startsWith('nested')), 'both pushes reached s3rver');
    // A profile naming a services section that does not exist: one clear error, no stack trace.
    await writeFiles(aws, { config: '[profile broken]\nregion = us-east-1\nservices = missing\n' });
    await ok(src, ['remote', 'add', 'r-broken', 's3://strata/broken', '--profile', 'broken'], 0, { env });
    const bad = await strata(src, ['push', 'r-broken'], { env });
    assert.equal(bad.code, EXIT_CODES.CONFIG_INVALID, bad.stderr);
    assert.match(bad.stderr, /services = missing.*no \[services missing\] section/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});
