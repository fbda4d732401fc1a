/**
 * S3 access keys and AWS Signature Version 4 (server/s3/keys.ts, server/s3/sigv4.ts), driven by
 * the real signers on this machine: @aws-sdk/client-s3 (buffer and stream uploads, flexible
 * checksums), @aws-sdk/s3-request-presigner, Debian's boto3 (/usr/bin/python3), aws-cli
 * (/usr/bin/aws) and rclone. The server in this file is a tiny in-memory S3 that calls
 * authenticate() and authorize() and keeps an upload only when its body stream ended cleanly, so
 * every refusal can also be checked as "nothing was stored".
 *
 * The aws-chunked signed modes have no client here: they are checked against the worked example
 * of the AWS documentation (seed and chunk signatures of the 66,560-byte upload) and against a
 * signer written from the specification in this file (chunks, trailers, tampering).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createServer, request, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ok, tempDir } from './helpers/cli.js';
import { authorize } from '../server/auth.js';
import { AccessKeyStore } from '../server/s3/keys.js';
import { authenticate, storedContentEncoding, type AuthOptions, type PayloadDigests } from '../server/s3/sigv4.js';
import { errorXml, S3Error, toS3Error } from '../server/s3/errors.js';
import { createChecksum } from '../server/s3/checksums.js';

// ---------------------------------------------------------------------------------------------
// The in-memory S3 around authenticate()

interface Seen {
  method: string;
  path: string;
  tokenId: string | null;
  accessKeyId: string | null;
  decodedLength: number | null;
  /** SHA-256 (hex) of the decoded body as the handler read it, when it ended cleanly. */
  sha256: string | null;
  digests: PayloadDigests | null;
  ended: boolean;
  error: string | null;
  host: string;
  contentEncoding: string | null;
}

interface Stored {
  data: Buffer;
  md5: string;
}

const md5hex = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

class FakeS3 {
  server!: Server;
  url = '';
  port = 0;
  seen: Seen[] = [];
  objects = new Map<string, Stored>();
  authOpts: AuthOptions = {};
  /** Virtual-host style: Host names ending in this suffix carry the bucket in front. */
  vhostSuffix = '.s3.test';

  constructor(readonly keys: Pick<AccessKeyStore, 'lookup'>) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  last(): Seen {
    const s = this.seen[this.seen.length - 1];
    assert.ok(s, 'the server saw no request');
    return s;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const host = String(req.headers.host ?? '');
    const hostname = host.replace(/:\d+$/, '');
    let bucket: string;
    let key: string;
    if (hostname.endsWith(this.vhostSuffix)) {
      bucket = hostname.slice(0, -this.vhostSuffix.length);
      key = decodeURIComponent(url.pathname.slice(1));
    } else {
      const [b, ...rest] = url.pathname.slice(1).split('/');
      bucket = decodeURIComponent(b ?? '');
      key = decodeURIComponent(rest.join('/'));
    }
    const seen: Seen = {
      method: req.method ?? '',
      path: `${bucket}/${key}`,
      tokenId: null,
      accessKeyId: null,
      decodedLength: null,
      sha256: null,
      digests: null,
      ended: false,
      error: null,
      host,
      contentEncoding: storedContentEncoding(req),
    };
    this.seen.push(seen);
    try {
      const a = authenticate(req, url, this.keys, this.authOpts);
      seen.tokenId = a.principal?.tokenId ?? null;
      seen.accessKeyId = a.accessKeyId;
      seen.decodedLength = a.decodedLength;
      const reading = req.method === 'PUT' || req.method === 'POST';
      if (bucket) authorize(a.principal, bucket, reading ? 'write' : 'read', false);
      a.body.wantMd5();
      const parts: Buffer[] = [];
      const h = createHash('sha256');
      a.body.on('end', () => (seen.ended = true));
      for await (const c of a.body as AsyncIterable<Buffer>) {
        parts.push(c);
        h.update(c);
      }
      // Only here, after a clean end, does the upload count.
      seen.sha256 = h.digest('hex');
      seen.digests = a.body.digests;
      const data = Buffer.concat(parts);
      if (req.method === 'PUT' && key) {
        this.objects.set(`${bucket}/${key}`, { data, md5: a.body.digests!.md5! });
        res.writeHead(200, { ETag: `"${a.body.digests!.md5}"` });
        return void res.end();
      }
      if (req.method === 'PUT') return void res.end(); // CreateBucket
      if (!key) return this.list(bucket, url, res);
      const o = this.objects.get(`${bucket}/${key}`);
      if (!o) {
        if (req.method === 'HEAD') {
          res.writeHead(404);
          return void res.end();
        }
        throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
      }
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(o.data.length),
        ETag: `"${o.md5}"`,
        'Last-Modified': new Date(0).toUTCString(),
      });
      res.end(req.method === 'HEAD' ? undefined : o.data);
    } catch (e) {
      const { err } = toS3Error(e);
      seen.error = err.code;
      if (!res.headersSent) {
        res.writeHead(err.status, { 'Content-Type': 'application/xml' });
        res.end(req.method === 'HEAD' ? undefined : errorXml(err, url.pathname, 'test'));
      } else res.destroy();
    }
  }

  private list(bucket: string, url: URL, res: ServerResponse): void {
    const prefix = url.searchParams.get('prefix') ?? '';
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => k.slice(bucket.length + 1));
    const contents = keys
      .map((k) => `<Contents><Key>${k}</Key><Size>${this.objects.get(`${bucket}/${k}`)!.data.length}</Size><ETag>"x"</ETag><LastModified>1970-01-01T00:00:00.000Z</LastModified></Contents>`)
      .join('');
    res.writeHead(200, { 'Content-Type': 'application/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${keys.length}</KeyCount>` +
        `<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// A SigV4 signer written from the AWS specification, for what no client here sends

interface SignInput {
  method: string;
  /** Path exactly as sent (already URI-encoded). */
  path: string;
  /** Raw query string as sent, without '?'. */
  query?: string;
  headers: Record<string, string>;
  payloadHash: string;
  accessKeyId: string;
  secret: string;
  amzDate: string;
  region?: string;
}

function enc(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function keyFor(secret: string, date: string, region: string): Buffer {
  const h = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest();
  return h(h(h(h('AWS4' + secret, date), region), 's3'), 'aws4_request');
}

/** Headers with Authorization added; also the seed signature and signing key for aws-chunked. */
function sign(i: SignInput): { headers: Record<string, string>; seed: string; key: Buffer; scope: string } {
  const region = i.region ?? 'us-east-1';
  const date = i.amzDate.slice(0, 8);
  const names = Object.keys(i.headers)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(i.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const query = (i.query ?? '')
    .split('&')
    .filter(Boolean)
    .map((p) => p.split('=').map((x) => enc(decodeURIComponent(x))))
    .map(([k, v]) => `${k}=${v ?? ''}`)
    .sort()
    .join('&');
  const path = i.path
    .split('/')
    .map((s) => enc(decodeURIComponent(s)))
    .join('/');
  const creq = [i.method, path, query, names.map((n) => `${n}:${lower[n]!.trim()}\n`).join(''), names.join(';'), i.payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const sts = `AWS4-HMAC-SHA256\n${i.amzDate}\n${scope}\n${sha256hex(creq)}`;
  const key = keyFor(i.secret, date, region);
  const seed = createHmac('sha256', key).update(sts).digest('hex');
  return {
    headers: { ...i.headers, Authorization: `AWS4-HMAC-SHA256 Credential=${i.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${seed}` },
    seed,
    key,
    scope,
  };
}

/** An aws-chunked body: signed chunks chained from `seed` (or unsigned), optionally a trailer. */
function chunked(
  pieces: Buffer[],
  o: { seed?: string; key?: Buffer; scope?: string; amzDate?: string; trailer?: Array<[string, string]>; signTrailer?: boolean },
): Buffer {
  const out: Buffer[] = [];
  let prev = o.seed ?? '';
  const chunkSig = (data: Buffer) => {
    const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${o.amzDate}\n${o.scope}\n${prev}\n${sha256hex('')}\n${sha256hex(data)}`;
    prev = createHmac('sha256', o.key!).update(sts).digest('hex');
    return prev;
  };
  for (const p of [...pieces, Buffer.alloc(0)]) {
    const ext = o.seed ? `;chunk-signature=${chunkSig(p)}` : '';
    out.push(Buffer.from(`${p.length.toString(16)}${ext}\r\n`), p);
    if (p.length) out.push(Buffer.from('\r\n'));
  }
  if (o.trailer) {
    const lines = o.trailer.map(([k, v]) => `${k}:${v}\n`).join('');
    out.push(Buffer.from(lines.replace(/\n/g, '\r\n')));
    if (o.signTrailer) {
      const sts = `AWS4-HMAC-SHA256-TRAILER\n${o.amzDate}\n${o.scope}\n${prev}\n${sha256hex(lines)}`;
      out.push(Buffer.from(`x-amz-trailer-signature:${createHmac('sha256', o.key!).update(sts).digest('hex')}\r\n`));
    }
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

function amzNow(offsetMs = 0): string {
  return new Date(Date.now() + offsetMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

interface Reply {
  status: number;
  body: string;
  code: string | null;
}

/** Send a request exactly as given (path, headers including Host). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false, setHost: !Object.keys(headers).some((h) => h.toLowerCase() === 'host') }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text, code: /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? null });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function run(cmd: string, args: string[], env: Record<string, string | undefined>, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const e: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) e[k] = v;
    const p = execFile(cmd, args, { env: e, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) p.stdin!.end(input);
  });
}

// ---------------------------------------------------------------------------------------------

let tmp: { dir: string; cleanup(): Promise<void> };
let keys: AccessKeyStore;
let s3: FakeS3;
let writer: { accessKeyId: string; secret: string };
let reader: { accessKeyId: string; secret: string };
let other: { accessKeyId: string; secret: string };

function client(k: { accessKeyId: string; secret: string }, extra: Partial<ConstructorParameters<typeof S3Client>[0]> = {}): S3Client {
  return new S3Client({
    endpoint: s3.url,
    region: 'eu-central-1',
    forcePathStyle: true,
    credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secret },
    maxAttempts: 1,
    ...extra,
  });
}

async function sdkError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { name: string }).name;
  }
  return 'no error';
}

before(async () => {
  // The SDK warns on Node 20 about its future Node requirement; that is not what these tests check.
  process.env.AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING = '1';
  tmp = await tempDir('strata-sigv4-');
  keys = new AccessKeyStore(join(tmp.dir, 'state'));
  const w = keys.create('data', ['read', 'write'], 'writer');
  writer = { accessKeyId: w.accessKeyId, secret: w.secret };
  const r = keys.create('data', ['read']);
  reader = { accessKeyId: r.accessKeyId, secret: r.secret };
  const o = keys.create('other', ['read', 'write']);
  other = { accessKeyId: o.accessKeyId, secret: o.secret };
  s3 = new FakeS3(keys);
  await s3.start();
});
after(async () => {
  await s3.close();
  await tmp.cleanup();
});

describe('S3 access keys (server/s3/keys.ts and strata serve key)', () => {
  it('creates keys in a 0600 file, lists them without secrets, and refuses revoked ones', () => {
    const st = statSync(keys.file);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(statSync(keys.stateDir).mode & 0o777, 0o700);
    assert.match(writer.accessKeyId, /^SK[A-Z0-9]{18}$/);
    assert.match(writer.secret, /^[A-Za-z0-9]{40}$/);
    const listed = JSON.stringify(keys.list());
    for (const k of [writer, reader, other]) {
      assert.ok(listed.includes(k.accessKeyId));
      assert.ok(!listed.includes(k.secret), 'list() must not contain secrets');
    }
    const { secret, principal } = keys.lookup(writer.accessKeyId);
    assert.equal(secret, writer.secret);
    assert.deepEqual(principal, { tokenId: `s3:${writer.accessKeyId}`, repo: 'data', scopes: ['read', 'write'] });
    assert.deepEqual(keys.lookup(reader.accessKeyId).principal.scopes, ['read']);

    const tmpKey = keys.create('*', ['read'], 'temporary');
    assert.equal(keys.lookup(tmpKey.accessKeyId).principal.repo, '*');
    const revoked = keys.revoke(tmpKey.accessKeyId);
    assert.equal(typeof revoked.revoked, 'number');
    assert.ok(!('secret' in revoked));
    assert.throws(() => keys.lookup(tmpKey.accessKeyId), (e: unknown) => e instanceof S3Error && e.code === 'InvalidAccessKeyId' && e.status === 403);
    assert.throws(() => keys.lookup('SKNOTAKEY0000000000X'), (e: unknown) => e instanceof S3Error && e.code === 'InvalidAccessKeyId');
    assert.throws(() => keys.revoke('SKNOTAKEY0000000000X'), /no S3 access key/);
    assert.equal(statSync(keys.file).mode & 0o777, 0o600);
  });

  it('strata serve key create/list/revoke reach a running store through the file', async () => {
    const data = join(tmp.dir, 'srv');
    await fsp.mkdir(data);
    const store = new AccessKeyStore(join(data, '.strata-server'));
    const created = await ok(tmp.dir, ['serve', 'key', 'create', '--repo', 'fraud', '--write', '--label', 'spark job', '--data', data]);
    const lines = created.stdout.trim().split('\n');
    assert.equal(lines.length, 2, created.stdout);
    const id = /^AWS_ACCESS_KEY_ID=(SK[A-Z0-9]{18})$/.exec(lines[0]!)?.[1];
    const secret = /^AWS_SECRET_ACCESS_KEY=([A-Za-z0-9]{40})$/.exec(lines[1]!)?.[1];
    assert.ok(id && secret, created.stdout);
    assert.match(created.stderr, new RegExp(`${id}.*fraud.*read, write`));
    // The store of a running server (created before the key) sees the new key.
    assert.equal(store.lookup(id).secret, secret);
    assert.deepEqual(store.lookup(id).principal.scopes, ['read', 'write']);

    const j = JSON.parse((await ok(tmp.dir, ['serve', 'key', 'create', '--repo', '*', '--data', data, '--json'])).stdout);
    assert.match(j.accessKeyId, /^SK/);
    assert.match(j.secretAccessKey, /^[A-Za-z0-9]{40}$/);
    assert.deepEqual(j.scopes, ['read']);
    assert.equal(j.repo, '*');

    const list = await ok(tmp.dir, ['serve', 'key', 'list', '--data', data]);
    assert.ok(list.stdout.includes(id) && list.stdout.includes('spark job') && list.stdout.includes(j.accessKeyId), list.stdout);
    assert.ok(!list.stdout.includes(secret) && !list.stdout.includes(j.secretAccessKey), 'key list must not print secrets');
    const listJson = JSON.parse((await ok(tmp.dir, ['serve', 'key', 'list', '--data', data, '--json'])).stdout);
    assert.equal(listJson.length, 2);
    assert.ok(listJson.every((k: any) => !('secret' in k) && !('secretAccessKey' in k)));

    const rv = await ok(tmp.dir, ['serve', 'key', 'revoke', id, '--data', data]);
    assert.match(rv.stdout, new RegExp(`revoked S3 access key ${id}`));
    assert.throws(() => store.lookup(id), (e: unknown) => e instanceof S3Error && e.code === 'InvalidAccessKeyId');
    assert.match((await ok(tmp.dir, ['serve', 'key', 'list', '--data', data])).stdout, new RegExp(`${id}.*revoked`));

    const bad = await ok(tmp.dir, ['serve', 'key', 'create', '--data', data], 2);
    assert.match(bad.stderr, /--repo/);
    const badName = await ok(tmp.dir, ['serve', 'key', 'create', '--repo', '../x', '--data', data], 2);
    assert.match(badName.stderr, /name/);
    assert.equal(statSync(store.file).mode & 0o777, 0o600);
  });
});

describe('SigV4 with real clients', () => {
  it('@aws-sdk/client-s3: PutObject from a Buffer (signed SHA-256 + CRC32 header) and GetObject', async () => {
    const c = client(writer);
    const body = Buffer.from('id,amount\n1,20\n2,35\n');
    const key = 'main/dir with space/a+b=c&d~e(ü).csv';
    const put = await c.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));
    assert.equal(put.ETag, `"${md5hex(body)}"`);
    const seen = s3.last();
    assert.equal(seen.error, null);
    assert.equal(seen.tokenId, `s3:${writer.accessKeyId}`);
    assert.equal(seen.path, `data/${key}`);
    assert.equal(seen.sha256, sha256hex(body));
    assert.equal(seen.decodedLength, body.length);
    assert.equal(seen.digests!.md5, md5hex(body));
    const crc = createChecksum('crc32');
    crc.update(body);
    assert.deepEqual(seen.digests!.checksums, { crc32: crc.digest().toString('base64') });

    const got = await c.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
    assert.equal(await got.Body!.transformToString(), body.toString());
    assert.equal(s3.last().tokenId, `s3:${writer.accessKeyId}`);

    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'main/dir with space/', StartAfter: 'main/a b', MaxKeys: 5 }));
    assert.equal(listed.Contents?.[0]?.Key, key);
    assert.equal(s3.last().error, null);
  });

  it('@aws-sdk/client-s3: PutObject from a stream (aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer)', async () => {
    const c = client(writer);
    const pieces = [Buffer.alloc(70_000, 'x'), Buffer.from('tail of the stream')];
    const all = Buffer.concat(pieces);
    await c.send(new PutObjectCommand({ Bucket: 'data', Key: 'main/streamed.bin', Body: Readable.from(pieces), ContentLength: all.length }));
    const seen = s3.last();
    assert.equal(seen.error, null);
    assert.equal(seen.sha256, sha256hex(all));
    assert.equal(seen.decodedLength, all.length);
    assert.equal(seen.contentEncoding, null, 'aws-chunked is not a stored content encoding');
    const crc = createChecksum('crc32');
    crc.update(all);
    assert.equal(seen.digests!.checksums.crc32, crc.digest().toString('base64'));
    assert.ok(s3.objects.get('data/main/streamed.bin')!.data.equals(all));
  });

  it('virtual-host-style addressing signs the Host as sent', async () => {
    const agent = new Agent({ lookup: ((_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => (o?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4))) as never });
    const c = client(writer, { endpoint: `http://s3.test:${s3.port}`, forcePathStyle: false, requestHandler: { httpAgent: agent } });
    await c.send(new PutObjectCommand({ Bucket: 'data', Key: 'main/vhost.txt', Body: 'virtual host' }));
    const seen = s3.last();
    assert.equal(seen.error, null);
    assert.equal(seen.host, `data.s3.test:${s3.port}`);
    assert.equal(seen.path, 'data/main/vhost.txt');
    const got = await c.send(new GetObjectCommand({ Bucket: 'data', Key: 'main/vhost.txt' }));
    assert.equal(await got.Body!.transformToString(), 'virtual host');
    agent.destroy();
  });

  it('@aws-sdk/s3-request-presigner: presigned GET and PUT work; expired and tampered URLs are refused', async () => {
    const c = client(writer);
    const putUrl = await getSignedUrl(c, new PutObjectCommand({ Bucket: 'data', Key: 'main/presigned.txt' }), { expiresIn: 300 });
    let r = await fetch(putUrl, { method: 'PUT', body: 'presigned body' });
    assert.equal(r.status, 200, await r.text());
    assert.equal(s3.last().tokenId, `s3:${writer.accessKeyId}`);
    assert.equal(s3.objects.get('data/main/presigned.txt')!.data.toString(), 'presigned body');

    const getUrl = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'data', Key: 'main/presigned.txt' }), { expiresIn: 300 });
    r = await fetch(getUrl);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'presigned body');

    const expired = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'data', Key: 'main/presigned.txt' }), { expiresIn: 60, signingDate: new Date(Date.now() - 3600_000) });
    r = await fetch(expired);
    assert.equal(r.status, 403);
    const text = await r.text();
    assert.match(text, /<Code>AccessDenied<\/Code><Message>Request has expired<\/Message>/);

    const tampered = getUrl.replace('presigned.txt', 'presigned.txx');
    r = await fetch(tampered);
    assert.equal(r.status, 403);
    assert.match(await r.text(), /SignatureDoesNotMatch/);

    const tooLong = new URL(getUrl);
    tooLong.searchParams.set('X-Amz-Expires', '604801');
    r = await fetch(tooLong);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /AuthorizationQueryParametersError/);

    // A presigned URL carries no way to send an unsigned x-amz-* header.
    r = await fetch(getUrl, { headers: { 'x-amz-meta-extra': 'smuggled' } });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /x-amz-meta-extra/);
  });

  it('Debian boto3: put_object, upload_fileobj, get_object and a presigned URL', async () => {
    const py = `
import boto3, io, sys
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-west-2', aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  config=Config(s3={'addressing_style': 'path'}, signature_version='s3v4', retries={'max_attempts': 1}))
s3.put_object(Bucket='data', Key='main/boto put.csv', Body=b'a,b\\n1,2\\n')
s3.upload_fileobj(io.BytesIO(b'from upload_fileobj'), 'data', 'main/boto/up.bin')
print(s3.get_object(Bucket='data', Key='main/boto put.csv')['Body'].read().decode())
print(s3.generate_presigned_url('get_object', Params={'Bucket': 'data', 'Key': 'main/boto/up.bin'}, ExpiresIn=120))
`;
    const r = await run('/usr/bin/python3', ['-c', py, s3.url, writer.accessKeyId, writer.secret], { AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' });
    assert.equal(r.code, 0, r.stderr);
    const [content, url] = r.stdout.trim().split('\n\n') as [string, string];
    assert.equal(content.trim(), 'a,b\n1,2'.split('\n').join('\n'));
    assert.equal(s3.objects.get('data/main/boto/up.bin')!.data.toString(), 'from upload_fileobj');
    const g = await fetch(url.trim());
    assert.equal(g.status, 200);
    assert.equal(await g.text(), 'from upload_fileobj');
    const puts = s3.seen.filter((s) => s.method === 'PUT' && s.path.startsWith('data/main/boto'));
    assert.equal(puts.length, 2);
    for (const p of puts) {
      assert.equal(p.error, null);
      assert.equal(p.tokenId, `s3:${writer.accessKeyId}`);
    }
  });

  it('Debian aws-cli: s3 cp up and down, s3 ls', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: writer.accessKeyId,
      AWS_SECRET_ACCESS_KEY: writer.secret,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    };
    const file = join(tmp.dir, 'cli.txt');
    await fsp.writeFile(file, 'uploaded by aws-cli\n');
    let r = await run('/usr/bin/aws', ['--endpoint-url', s3.url, 's3', 'cp', file, 's3://data/main/cli/one.txt'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s3.objects.get('data/main/cli/one.txt')!.data.toString(), 'uploaded by aws-cli\n');
    r = await run('/usr/bin/aws', ['--endpoint-url', s3.url, 's3', 'cp', 's3://data/main/cli/one.txt', '-'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'uploaded by aws-cli\n');
    r = await run('/usr/bin/aws', ['--endpoint-url', s3.url, 's3', 'ls', 's3://data/main/cli/'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /one\.txt/);
    // A read-only key cannot write: refused, nothing stored.
    r = await run('/usr/bin/aws', ['--endpoint-url', s3.url, 's3', 'cp', file, 's3://data/main/cli/two.txt'], { ...env, AWS_ACCESS_KEY_ID: reader.accessKeyId, AWS_SECRET_ACCESS_KEY: reader.secret });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /AccessDenied/);
    assert.ok(!s3.objects.has('data/main/cli/two.txt'));
  });

  it('rclone: copyto and cat', async () => {
    const env = {
      AWS_CA_BUNDLE: undefined,
      RCLONE_CONFIG: join(tmp.dir, 'no-rclone.conf'),
      RCLONE_CONFIG_ST_TYPE: 's3',
      RCLONE_CONFIG_ST_PROVIDER: 'Other',
      RCLONE_CONFIG_ST_ACCESS_KEY_ID: writer.accessKeyId,
      RCLONE_CONFIG_ST_SECRET_ACCESS_KEY: writer.secret,
      RCLONE_CONFIG_ST_ENDPOINT: s3.url,
      RCLONE_CONFIG_ST_REGION: 'us-east-1',
      RCLONE_CONFIG_ST_FORCE_PATH_STYLE: 'true',
    };
    const file = join(tmp.dir, 'rc.txt');
    await fsp.writeFile(file, 'sent by rclone\n');
    let r = await run('rclone', ['copyto', file, 'st:data/main/rclone/rc.txt'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s3.objects.get('data/main/rclone/rc.txt')!.data.toString(), 'sent by rclone\n');
    r = await run('rclone', ['cat', 'st:data/main/rclone/rc.txt'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'sent by rclone\n');
    assert.ok(s3.seen.filter((s) => s.path.startsWith('data/main/rclone')).every((s) => s.error === null || s.error === 'NoSuchKey'));
  });
});

describe('SigV4 refusals', () => {
  it('wrong key, wrong secret, revoked key, read-only key writing, key of another repository', async () => {
    const body = 'must not be stored';
    const put = (k: { accessKeyId: string; secret: string }, key: string) => client(k).send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));
    assert.equal(await sdkError(put({ accessKeyId: 'SKUNKNOWN00000000000', secret: writer.secret }, 'main/r1')), 'InvalidAccessKeyId');
    assert.equal(await sdkError(put({ accessKeyId: writer.accessKeyId, secret: reader.secret }, 'main/r2')), 'SignatureDoesNotMatch');
    assert.equal(await sdkError(put(reader, 'main/r3')), 'AccessDenied');
    assert.equal(await sdkError(put(other, 'main/r4')), 'AccessDenied');
    const k = keys.create('data', ['read', 'write']);
    await put({ accessKeyId: k.accessKeyId, secret: k.secret }, 'main/before-revoke');
    assert.equal(s3.last().error, null);
    keys.revoke(k.accessKeyId);
    assert.equal(await sdkError(put({ accessKeyId: k.accessKeyId, secret: k.secret }, 'main/r5')), 'InvalidAccessKeyId');
    for (const n of [1, 2, 3, 4, 5]) assert.ok(!s3.objects.has(`data/main/r${n}`), `r${n} was stored`);
    // The read-only key still reads.
    const got = await client(reader).send(new GetObjectCommand({ Bucket: 'data', Key: 'main/before-revoke' }));
    assert.equal(await got.Body!.transformToString(), body);
  });

  it('a tampered body of a signed payload errors the stream before it ends: nothing stored', async () => {
    const good = Buffer.from('the signed bytes');
    const bad = Buffer.from('the forged bytes');
    const amzDate = amzNow();
    const s = sign({
      method: 'PUT',
      path: '/data/main/tampered.txt',
      headers: { host: `127.0.0.1:${s3.port}`, 'x-amz-date': amzDate, 'x-amz-content-sha256': sha256hex(good), 'content-length': String(good.length) },
      payloadHash: sha256hex(good),
      ...writer,
      amzDate,
    });
    const okReply = await send(s3.port, 'PUT', '/data/main/tampered.txt', s.headers, good);
    assert.equal(okReply.status, 200, okReply.body);
    s3.objects.delete('data/main/tampered.txt');
    const r = await send(s3.port, 'PUT', '/data/main/tampered.txt', s.headers, bad);
    assert.equal(r.status, 400);
    assert.equal(r.code, 'XAmzContentSHA256Mismatch');
    assert.equal(s3.last().ended, false, "the body stream must not emit 'end'");
    assert.ok(!s3.objects.has('data/main/tampered.txt'));
  });

  it('Content-MD5 and x-amz-checksum-* mismatches are BadDigest; malformed values InvalidDigest / InvalidRequest', async () => {
    const data = Buffer.from('checksummed payload');
    const put = async (path: string, extra: Record<string, string>, body = data) => {
      const amzDate = amzNow();
      const s = sign({
        method: 'PUT',
        path,
        headers: { host: `127.0.0.1:${s3.port}`, 'x-amz-date': amzDate, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...extra },
        payloadHash: 'UNSIGNED-PAYLOAD',
        ...writer,
        amzDate,
      });
      return send(s3.port, 'PUT', path, s.headers, body);
    };
    const md5b64 = (b: Buffer) => createHash('md5').update(b).digest('base64');
    const crc = (alg: 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256', b: Buffer) => {
      const c = createChecksum(alg);
      c.update(b);
      return c.digest().toString('base64');
    };
    assert.equal((await put('/data/main/md5-ok', { 'content-md5': md5b64(data) })).status, 200);
    assert.equal(s3.last().digests!.md5, md5hex(data));
    let r = await put('/data/main/md5-bad', { 'content-md5': md5b64(Buffer.from('other')) });
    assert.equal(r.code, 'BadDigest');
    assert.equal(s3.last().ended, false);
    r = await put('/data/main/md5-malformed', { 'content-md5': 'not-base64!' });
    assert.equal(r.code, 'InvalidDigest');
    for (const alg of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const) {
      r = await put(`/data/main/ck-${alg}`, { [`x-amz-checksum-${alg}`]: crc(alg, data) });
      assert.equal(r.status, 200, `${alg}: ${r.body}`);
      assert.deepEqual(s3.last().digests!.checksums, { [alg]: crc(alg, data) });
      r = await put(`/data/main/ck-bad-${alg}`, { [`x-amz-checksum-${alg}`]: crc(alg, Buffer.from('different')) });
      assert.equal(r.code, 'BadDigest', alg);
      assert.ok(!s3.objects.has(`data/main/ck-bad-${alg}`));
    }
    r = await put('/data/main/ck-two', { 'x-amz-checksum-crc32': crc('crc32', data), 'x-amz-checksum-sha1': crc('sha1', data) });
    assert.equal(r.code, 'InvalidRequest');
    // Known values: CRC32C and CRC64NVME of "123456789" are e3069283 and ae8b14860a799888.
    for (const [alg, hex] of [['crc32c', 'e3069283'], ['crc64nvme', 'ae8b14860a799888'], ['crc32', 'cbf43926']] as const) {
      const c = createChecksum(alg);
      c.update(Buffer.from('1234'));
      c.update(Buffer.from('56789'));
      assert.equal(c.digest().toString('hex'), hex, alg);
    }
  });

  it('clock skew beyond 15 minutes is RequestTimeTooSkewed; a date outside the credential scope is malformed', async () => {
    s3.objects.set('data/main/clock.txt', { data: Buffer.from('on time'), md5: md5hex(Buffer.from('on time')) });
    const req = (amzDate: string, credDate = amzDate.slice(0, 8)) => {
      const headers = { host: `127.0.0.1:${s3.port}`, 'x-amz-date': amzDate, 'x-amz-content-sha256': sha256hex('') };
      const s = sign({ method: 'GET', path: '/data/main/clock.txt', headers, payloadHash: sha256hex(''), ...writer, amzDate });
      s.headers.Authorization = s.headers.Authorization!.replace(`/${amzDate.slice(0, 8)}/`, `/${credDate}/`);
      return send(s3.port, 'GET', '/data/main/clock.txt', s.headers);
    };
    assert.equal((await req(amzNow(-10 * 60_000))).status, 200);
    let r = await req(amzNow(-20 * 60_000));
    assert.equal(r.status, 403);
    assert.equal(r.code, 'RequestTimeTooSkewed');
    r = await req(amzNow(+20 * 60_000));
    assert.equal(r.code, 'RequestTimeTooSkewed');
    r = await req(amzNow(), '20000101');
    assert.equal(r.code, 'AuthorizationHeaderMalformed');
    // An SDK client corrects its clock from the ServerTime of the RequestTimeTooSkewed answer and
    // retries: here the server's clock runs 30 minutes ahead.
    s3.authOpts = { now: Date.now() + 30 * 60_000 };
    try {
      const before = s3.seen.length;
      const got = await client(writer, { maxAttempts: 3 }).send(new GetObjectCommand({ Bucket: 'data', Key: 'main/clock.txt' }));
      assert.equal(await got.Body!.transformToString(), 'on time');
      assert.deepEqual(s3.seen.slice(before).map((x) => x.error), ['RequestTimeTooSkewed', null]);
    } finally {
      s3.authOpts = {};
    }
  });

  it('malformed or unsupported authorization, unsigned x-amz-* headers, and another service', async () => {
    const host = `127.0.0.1:${s3.port}`;
    const amzDate = amzNow();
    const base = { host, 'x-amz-date': amzDate, 'x-amz-content-sha256': sha256hex('') };
    let r = await send(s3.port, 'GET', '/data/main/x', { ...base, Authorization: 'AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=' });
    assert.equal(r.code, 'InvalidRequest');
    r = await send(s3.port, 'GET', '/data/main/x', { ...base, Authorization: 'AWS4-HMAC-SHA256 Credential=SK/x' });
    assert.equal(r.code, 'AuthorizationHeaderMalformed');
    const s = sign({ method: 'GET', path: '/data/main/x', headers: base, payloadHash: sha256hex(''), ...writer, amzDate });
    r = await send(s3.port, 'GET', '/data/main/x', { ...s.headers, Authorization: s.headers.Authorization!.replace('/s3/', '/iam/') });
    assert.equal(r.code, 'AuthorizationHeaderMalformed');
    assert.match(r.body, /incorrect service/);
    r = await send(s3.port, 'GET', '/data/main/x', { ...s.headers, 'x-amz-meta-smuggled': '1' });
    assert.equal(r.code, 'AccessDenied');
    assert.match(r.body, /not signed/);
    // The signature covers the query: adding a parameter breaks it.
    r = await send(s3.port, 'GET', '/data/main/x?versionId=1', s.headers);
    assert.equal(r.code, 'SignatureDoesNotMatch');
    // No signature at all is anonymous: authorize() refuses a private bucket.
    r = await send(s3.port, 'GET', '/data/main/x', { host });
    assert.equal(r.code, 'AccessDenied');
    assert.equal(s3.last().tokenId, null);
  });
});

describe('aws-chunked signed payloads', () => {
  // The worked example of "Signature Calculations for the Authorization Header: Transferring
  // Payload in Multiple Chunks" in the Amazon S3 API reference.
  const example = {
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    amzDate: '20130524T000000Z',
    seed: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    chunks: [
      [65536, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'],
      [1024, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'],
      [0, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'],
    ] as Array<[number, string]>,
  };
  let ex: FakeS3;
  before(async () => {
    ex = new FakeS3({
      lookup: (id) => {
        if (id !== example.accessKeyId) throw new S3Error(403, 'InvalidAccessKeyId', 'unknown');
        return { secret: example.secret, principal: { tokenId: 's3:example', repo: '*', scopes: ['read', 'write'] } };
      },
    });
    ex.authOpts = { now: Date.UTC(2013, 4, 24, 0, 5) };
    await ex.start();
  });
  after(() => ex.close());

  const exampleHeaders = (contentLength: number) => ({
    Host: 's3.amazonaws.com',
    'x-amz-date': example.amzDate,
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    Authorization: `AWS4-HMAC-SHA256 Credential=${example.accessKeyId}/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=${example.seed}`,
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'Content-Encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'Content-Length': String(contentLength),
  });
  const exampleBody = (tamper?: number) => {
    const parts: Buffer[] = [];
    for (const [n, sig] of example.chunks) {
      parts.push(Buffer.from(`${n.toString(16)};chunk-signature=${sig}\r\n`), Buffer.alloc(n, 'a'), Buffer.from('\r\n'));
    }
    const b = Buffer.concat(parts);
    if (tamper !== undefined) b[tamper] = 'b'.charCodeAt(0);
    return b;
  };

  it('verifies the seed and every chunk signature of the AWS example', async () => {
    const body = exampleBody();
    assert.equal(body.length, 66824);
    const r = await send(ex.port, 'PUT', '/examplebucket/chunkObject.txt', exampleHeaders(body.length), body);
    assert.equal(r.status, 200, r.body);
    const seen = ex.last();
    assert.equal(seen.sha256, sha256hex(Buffer.alloc(66560, 'a')));
    assert.equal(seen.decodedLength, 66560);
    assert.equal(seen.tokenId, 's3:example');
  });

  it('a changed byte in the second chunk fails its signature before the body ends', async () => {
    const body = exampleBody(65536 + 90 + 100);
    const r = await send(ex.port, 'PUT', '/examplebucket/chunkObject.txt', exampleHeaders(body.length), body);
    assert.equal(r.status, 403);
    assert.equal(r.code, 'SignatureDoesNotMatch');
    assert.match(r.body, /chunk signature/);
    assert.equal(ex.last().ended, false);
    ex.objects.clear();
  });

  it('chunks swapped, dropped or truncated are refused', async () => {
    const amzDate = amzNow();
    const pieces = [Buffer.alloc(10_000, 1), Buffer.alloc(10_000, 2), Buffer.from('end')];
    const total = pieces.reduce((n, p) => n + p.length, 0);
    const headers = {
      host: `127.0.0.1:${s3.port}`,
      'x-amz-date': amzDate,
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(total),
    };
    const s = sign({ method: 'PUT', path: '/data/main/chunked.bin', headers, payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', ...writer, amzDate });
    const framing = { seed: s.seed, key: s.key, scope: s.scope, amzDate };
    const good = chunked(pieces, framing);
    let r = await send(s3.port, 'PUT', '/data/main/chunked.bin', s.headers, good);
    assert.equal(r.status, 200, r.body);
    assert.equal(s3.last().sha256, sha256hex(Buffer.concat(pieces)));
    s3.objects.delete('data/main/chunked.bin');

    // The same signed chunks in another order, or one left out: the chain breaks.
    const framed = `${(10_000).toString(16)};chunk-signature=`.length + 64 + 2 + 10_000 + 2;
    const swapped = Buffer.concat([good.subarray(framed, 2 * framed), good.subarray(0, framed), good.subarray(2 * framed)]);
    r = await send(s3.port, 'PUT', '/data/main/chunked.bin', s.headers, swapped);
    assert.equal(r.code, 'SignatureDoesNotMatch');
    const withoutSecond = Buffer.concat([good.subarray(0, framed), good.subarray(2 * framed)]);
    r = await send(s3.port, 'PUT', '/data/main/chunked.bin', s.headers, withoutSecond);
    assert.equal(r.code, 'SignatureDoesNotMatch');
    // Truncated: the connection ends inside a chunk.
    r = await send(s3.port, 'PUT', '/data/main/chunked.bin', s.headers, good.subarray(0, 15_000));
    assert.equal(r.code, 'IncompleteBody');
    assert.ok(!s3.objects.has('data/main/chunked.bin'));
  });

  it('signed and unsigned trailers: the checksum and the trailer signature are verified', async () => {
    const pieces = [Buffer.alloc(9000, 7), Buffer.from('trailer test')];
    const all = Buffer.concat(pieces);
    const c32c = createChecksum('crc32c');
    c32c.update(all);
    const value = c32c.digest().toString('base64');
    const attempt = async (mode: string, trailer: Array<[string, string]>, tamper?: (b: Buffer) => Buffer) => {
      const amzDate = amzNow();
      const headers = {
        host: `127.0.0.1:${s3.port}`,
        'x-amz-date': amzDate,
        'x-amz-content-sha256': mode,
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(all.length),
        'x-amz-trailer': 'x-amz-checksum-crc32c',
      };
      const s = sign({ method: 'PUT', path: '/data/main/trailer.bin', headers, payloadHash: mode, ...writer, amzDate });
      const signed = mode.startsWith('STREAMING-AWS4');
      let body = chunked(pieces, signed ? { seed: s.seed, key: s.key, scope: s.scope, amzDate, trailer, signTrailer: true } : { trailer });
      if (tamper) body = tamper(body);
      return send(s3.port, 'PUT', '/data/main/trailer.bin', s.headers, body);
    };
    for (const mode of ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER']) {
      let r = await attempt(mode, [['x-amz-checksum-crc32c', value]]);
      assert.equal(r.status, 200, `${mode}: ${r.body}`);
      assert.deepEqual(s3.last().digests!.checksums, { crc32c: value });
      s3.objects.delete('data/main/trailer.bin');
      r = await attempt(mode, [['x-amz-checksum-crc32c', 'AAAAAA==']]);
      assert.equal(r.code, 'BadDigest', mode);
      assert.equal(s3.last().ended, false);
      r = await attempt(mode, [['x-amz-checksum-crc32', value]]);
      assert.equal(r.code, 'InvalidRequest', mode);
      assert.ok(!s3.objects.has('data/main/trailer.bin'));
    }
    // The trailer signature covers the trailer: the right checksum with a forged signature fails.
    const r = await attempt('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', [['x-amz-checksum-crc32c', value]], (b) => {
      const t = b.toString('latin1');
      const i = t.indexOf('x-amz-trailer-signature:') + 'x-amz-trailer-signature:'.length;
      const forged = Buffer.from(b);
      forged[i] = forged[i] === 0x30 ? 0x31 : 0x30;
      return forged;
    });
    assert.equal(r.code, 'SignatureDoesNotMatch');
    assert.ok(!s3.objects.has('data/main/trailer.bin'));
  });
});
