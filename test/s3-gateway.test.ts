/**
 * The S3 gateway of `strata serve` driven by the real AWS SDK (@aws-sdk/client-s3, lib-storage,
 * s3-request-presigner): every read and write operation, ranges and conditional requests, writes
 * landing in a branch's uncommitted changes and committed by one call, multipart uploads,
 * presigned URLs, virtual-host-style addressing, and the refusals (bad keys, bad signatures,
 * read-only keys, keys of another repository, writes to tags and commits).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ok, seededBytes, tempDir, writeFiles } from './helpers/cli.js';
import { startServer, type RunningServer } from '../server/app.js';
import { AccessKeyStore } from '../server/s3/keys.js';
import { hashBytes, initHash } from '../core/hash/index.js';

await initHash();

let srv: RunningServer;
let cleanup: () => Promise<void>;
let project: string;
let keys: AccessKeyStore;
let rw: { accessKeyId: string; secretAccessKey: string };
let ro: { accessKeyId: string; secretAccessKey: string };
let other: { accessKeyId: string; secretAccessKey: string };
const BIG = seededBytes(20 * 1024 * 1024, 11);
const CSV = 'id,amount\n1,10\n2,20\n';

function client(creds: { accessKeyId: string; secretAccessKey: string }, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: srv.s3!.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: creds,
    maxAttempts: 1,
    ...extra,
  });
}

async function text(c: S3Client, key: string, bucket = 'ds'): Promise<string> {
  const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return r.Body!.transformToString('utf8');
}

async function s3Code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    const code = err.Code ?? err.name ?? '';
    // A body-less answer (HEAD, 304) has no S3 code: the SDK says Unknown; report the status then.
    return code && code !== 'Unknown' ? code : `http ${err.$metadata?.httpStatusCode}`;
  }
  return 'no error';
}

async function commitStaged(branch: string, message: string): Promise<{ commit: string }> {
  const token = srv.tokens.create('ds', ['write']).token;
  const r = await fetch(`${srv.url}/api/repos/ds/staging/commit`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ branch, message, author: { name: 'Gateway Test', email: 'gw@example.com' } }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as { commit: string };
}

before(async () => {
  const t = await tempDir('strata-s3gw-');
  cleanup = t.cleanup;
  srv = await startServer({ dataDir: `${t.dir}/data`, port: 0, s3Port: 0, s3Domain: 's3.test', log: () => {}, webDir: null, anonymousRead: false });
  keys = new AccessKeyStore(srv.host.stateDir);
  const k1 = keys.create('ds', ['read', 'write'], 'rw');
  rw = { accessKeyId: k1.accessKeyId, secretAccessKey: k1.secret };
  const k2 = keys.create('ds', ['read'], 'ro');
  ro = { accessKeyId: k2.accessKeyId, secretAccessKey: k2.secret };
  const k3 = keys.create('other', ['read', 'write'], 'other');
  other = { accessKeyId: k3.accessKeyId, secretAccessKey: k3.secret };
  project = `${t.dir}/project`;
  await writeFiles(project, { 'data/a.csv': CSV, 'data/b/c.txt': 'see\n', 'data/big.bin': BIG, 'README.md': '# ds\n', 'space name.txt': 'spaced\n' });
  await ok(project, ['init']);
  await ok(project, ['add', 'data', 'README.md', 'space name.txt']);
  await ok(project, ['commit', '-m', 'first']);
  await ok(project, ['tag', 'v1']);
  await ok(project, ['branch', 'feature/x']);
  await ok(project, ['remote', 'add', 'origin', `${srv.url}/ds`]);
  const token = srv.tokens.create('ds', ['write']).token;
  await ok(project, ['push', 'origin', '--all', '--tags'], 0, { env: { STRATA_TOKEN: token } });
});
after(async () => {
  await srv.close();
  await cleanup();
});

describe('S3 gateway: reads (AWS SDK)', () => {
  it('lists buckets the key may read, and heads and locates them', async () => {
    const c = client(rw);
    const b = await c.send(new ListBucketsCommand({}));
    assert.deepEqual(b.Buckets?.map((x) => x.Name), ['ds']);
    await c.send(new HeadBucketCommand({ Bucket: 'ds' }));
    assert.equal(await s3Code(c.send(new HeadBucketCommand({ Bucket: 'nope' }))), 'http 403', 'a key for ds learns nothing about other names');
    const anyRepo = keys.create('*', ['read'], 'all');
    assert.equal(await s3Code(client({ accessKeyId: anyRepo.accessKeyId, secretAccessKey: anyRepo.secret }).send(new HeadBucketCommand({ Bucket: 'nope' }))), 'NotFound');
    const loc = await c.send(new GetBucketLocationCommand({ Bucket: 'ds' }));
    assert.equal(loc.LocationConstraint ?? '', '');
  });

  it('lists refs as top-level prefixes, then folders and files under a ref', async () => {
    const c = client(rw);
    const top = await c.send(new ListObjectsV2Command({ Bucket: 'ds', Delimiter: '/' }));
    assert.deepEqual(top.CommonPrefixes?.map((p) => p.Prefix), ['feature/', 'main/', 'v1/']);
    const main = await c.send(new ListObjectsV2Command({ Bucket: 'ds', Prefix: 'main/', Delimiter: '/' }));
    assert.deepEqual(main.Contents?.map((o) => o.Key), ['main/README.md', 'main/space name.txt']);
    assert.deepEqual(main.CommonPrefixes?.map((p) => p.Prefix), ['main/data/']);
    const data = await c.send(new ListObjectsV2Command({ Bucket: 'ds', Prefix: 'main/data/' }));
    assert.deepEqual(data.Contents?.map((o) => [o.Key, o.Size]), [['main/data/a.csv', CSV.length], ['main/data/b/c.txt', 4], ['main/data/big.bin', BIG.length]]);
    const branchWithSlash = await c.send(new ListObjectsV2Command({ Bucket: 'ds', Prefix: 'feature/x/data/b/' }));
    assert.deepEqual(branchWithSlash.Contents?.map((o) => o.Key), ['feature/x/data/b/c.txt']);
  });

  it('pages with max-keys and continuation tokens, start-after, fetch-owner, and ListObjects v1 markers', async () => {
    const c = client(rw);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await c.send(new ListObjectsV2Command({ Bucket: 'ds', Prefix: 'main/', MaxKeys: 2, ContinuationToken: token, FetchOwner: true }));
      pages++;
      assert.ok((r.KeyCount ?? 0) <= 2);
      for (const o of r.Contents ?? []) {
        seen.push(o.Key!);
        assert.ok(o.Owner?.ID);
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    assert.deepEqual(seen, ['main/README.md', 'main/data/a.csv', 'main/data/b/c.txt', 'main/data/big.bin', 'main/space name.txt']);
    assert.equal(pages, 3);
    const after = await c.send(new ListObjectsV2Command({ Bucket: 'ds', Prefix: 'main/', StartAfter: 'main/data/b/c.txt' }));
    assert.deepEqual(after.Contents?.map((o) => o.Key), ['main/data/big.bin', 'main/space name.txt']);
    const v1 = await c.send(new ListObjectsCommand({ Bucket: 'ds', Prefix: 'v1/', MaxKeys: 3 }));
    assert.equal(v1.IsTruncated, true);
    const v1b = await c.send(new ListObjectsCommand({ Bucket: 'ds', Prefix: 'v1/', Marker: v1.Contents!.at(-1)!.Key }));
    assert.deepEqual([...v1.Contents!, ...v1b.Contents!].map((o) => o.Key), ['v1/README.md', 'v1/data/a.csv', 'v1/data/b/c.txt', 'v1/data/big.bin', 'v1/space name.txt']);
  });

  it('gets bytes by branch, tag and commit id with a stable ETag, the type and the commit time', async () => {
    const c = client(rw);
    const a = await c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv' }));
    assert.equal(await a.Body!.transformToString(), CSV);
    assert.equal(a.ContentType, 'text/csv; charset=utf-8');
    assert.equal(a.ETag, `"${hashBytes(Buffer.from(CSV))}"`);
    const head = (JSON.parse((await ok(project, ['log', '--json'])).stdout) as Array<{ id: string; time: number }>)[0]!;
    assert.equal(a.LastModified?.getTime(), Math.floor(head.time / 1000) * 1000);
    assert.equal(a.Metadata?.['strata-commit'], head.id, 'committed content names its commit');
    const byTag = await c.send(new HeadObjectCommand({ Bucket: 'ds', Key: 'v1/data/a.csv' }));
    assert.equal(byTag.ETag, a.ETag);
    assert.equal(await text(c, `${head.id}/data/a.csv`), CSV);
    assert.equal(await text(c, `${head.id.slice(0, 12)}/space name.txt`), 'spaced\n');
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/missing.csv' }))), 'NoSuchKey');
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'nobranch/data/a.csv' }))), 'NoSuchKey');
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data' }))), 'NoSuchKey');
  });

  it('serves a chunked file whole and by ranges (single, open, suffix), and refuses an unsatisfiable one', async () => {
    const c = client(rw);
    const whole = Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/big.bin' }))).Body!.transformToByteArray());
    assert.ok(whole.equals(BIG));
    const mid = await c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/big.bin', Range: 'bytes=9000000-9000099' }));
    assert.equal(mid.ContentRange, `bytes 9000000-9000099/${BIG.length}`);
    assert.ok(Buffer.from(await mid.Body!.transformToByteArray()).equals(BIG.subarray(9_000_000, 9_000_100)));
    const tail = await c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/big.bin', Range: 'bytes=-10' }));
    assert.ok(Buffer.from(await tail.Body!.transformToByteArray()).equals(BIG.subarray(BIG.length - 10)));
    const open = await c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv', Range: 'bytes=3-' }));
    assert.equal(await open.Body!.transformToString(), CSV.slice(3));
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv', Range: `bytes=${CSV.length}-` }))), 'InvalidRange');
  });

  it('answers conditional requests: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async () => {
    const c = client(rw);
    const h = await c.send(new HeadObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv' }));
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv', IfMatch: '"0000"' }))), 'PreconditionFailed');
    assert.equal(await text(c, 'main/data/a.csv'), CSV);
    const got = await c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv', IfMatch: h.ETag }));
    assert.equal(await got.Body!.transformToString(), CSV);
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv', IfNoneMatch: h.ETag }))), 'http 304');
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv', IfModifiedSince: new Date(Date.now() + 3600_000) }))), 'http 304');
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv', IfUnmodifiedSince: new Date(0) }))), 'PreconditionFailed');
    const since = await c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv', IfModifiedSince: new Date(0) }));
    assert.equal(await since.Body!.transformToString(), CSV);
  });

  it('addresses buckets virtual-host style (Host: <bucket>.<domain>)', async () => {
    const port = srv.s3!.port;
    // s3.test resolves to nothing: send its subdomains to the server (what a DNS entry would do).
    const lookup = (_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void): void => (o?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
    const agent = new Agent({ keepAlive: false, lookup: lookup as never });
    const c = new S3Client({
      endpoint: `http://s3.test:${port}`,
      region: 'us-east-1',
      forcePathStyle: false,
      credentials: rw,
      requestHandler: new NodeHttpHandler({ httpAgent: agent }),
      maxAttempts: 1,
    });
    assert.equal(await text(c, 'main/data/b/c.txt'), 'see\n');
    const l = await c.send(new ListObjectsV2Command({ Bucket: 'ds', Prefix: 'v1/data/b/' }));
    assert.deepEqual(l.Contents?.map((o) => o.Key), ['v1/data/b/c.txt']);
  });
});

describe('S3 gateway: writes land in the branch and commit in one call', () => {
  it('puts, copies (across refs) and deletes; reads of the branch see them, the tag does not', async () => {
    const c = client(rw);
    const put = await c.send(new PutObjectCommand({ Bucket: 'ds', Key: 'main/out/new.csv', Body: 'x,y\n1,2\n', ContentType: 'text/csv' }));
    assert.equal(put.ETag, `"${hashBytes(Buffer.from('x,y\n1,2\n'))}"`);
    assert.equal(await text(c, 'main/out/new.csv'), 'x,y\n1,2\n');
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'v1/out/new.csv' }))), 'NoSuchKey');
    const stream = Readable.from([Buffer.from('streamed '), Buffer.from('body\n')]);
    await c.send(new PutObjectCommand({ Bucket: 'ds', Key: 'main/out/stream.txt', Body: stream, ContentLength: 14 }));
    assert.equal(await text(c, 'main/out/stream.txt'), 'streamed body\n');
    await c.send(new CopyObjectCommand({ Bucket: 'ds', Key: 'main/out/copy.csv', CopySource: 'ds/v1/data/a.csv' }));
    assert.equal(await text(c, 'main/out/copy.csv'), CSV);
    // From another repository: the bytes are read (verified) and stored in this one.
    await ok(project, ['remote', 'add', 'second', `${srv.url}/ds2`]);
    await ok(project, ['push', 'second', 'main'], 0, { env: { STRATA_TOKEN: srv.tokens.create('ds2', ['write']).token } });
    const both = keys.create('*', ['read', 'write'], 'both');
    const cb = client({ accessKeyId: both.accessKeyId, secretAccessKey: both.secret });
    await cb.send(new CopyObjectCommand({ Bucket: 'ds', Key: 'main/out/from-ds2.txt', CopySource: 'ds2/main/data/b/c.txt' }));
    assert.equal(await text(c, 'main/out/from-ds2.txt'), 'see\n');
    assert.equal(await s3Code(c.send(new CopyObjectCommand({ Bucket: 'ds', Key: 'main/out/denied.txt', CopySource: 'ds2/main/data/b/c.txt' }))), 'AccessDenied', 'a key for ds cannot read ds2');
    const staged = await c.send(new HeadObjectCommand({ Bucket: 'ds', Key: 'main/out/new.csv' }));
    assert.equal(staged.Metadata?.['strata-uncommitted'], 'true');
    assert.equal(staged.ContentType, 'text/csv');
    await c.send(new DeleteObjectCommand({ Bucket: 'ds', Key: 'main/README.md' }));
    assert.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/README.md' }))), 'NoSuchKey');
    assert.equal(await text(c, 'v1/README.md'), '# ds\n');
    const del = await c.send(new DeleteObjectsCommand({ Bucket: 'ds', Delete: { Objects: [{ Key: 'main/out/stream.txt' }, { Key: 'main/never/was.txt' }, { Key: 'v1/data/a.csv' }] } }));
    assert.deepEqual(del.Deleted?.map((d) => d.Key).sort(), ['main/never/was.txt', 'main/out/stream.txt']);
    assert.deepEqual(del.Errors?.map((e) => [e.Key, e.Code]), [['v1/data/a.csv', 'AccessDenied']]);
    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'ds', Prefix: 'main/' }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key), ['main/data/a.csv', 'main/data/b/c.txt', 'main/data/big.bin', 'main/out/copy.csv', 'main/out/from-ds2.txt', 'main/out/new.csv', 'main/space name.txt']);

    const { commit } = await commitStaged('main', 'gateway writes');
    assert.match(commit, /^[0-9a-f]{64}$/);
    assert.equal(await text(c, `${commit}/out/new.csv`), 'x,y\n1,2\n');
    await ok(project, ['pull', 'origin', 'main'], 0, { env: { STRATA_TOKEN: srv.tokens.create('ds', ['read']).token } });
    assert.equal((await ok(project, ['cat', 'main:out/copy.csv'])).stdout, CSV);
    assert.equal((await ok(project, ['cat', 'main:out/new.csv'])).stdout, 'x,y\n1,2\n');
  });

  it('refuses writes to tags and commit ids with AccessDenied, and to a missing branch', async () => {
    const c = client(rw);
    assert.equal(await s3Code(c.send(new PutObjectCommand({ Bucket: 'ds', Key: 'v1/x.txt', Body: 'no' }))), 'AccessDenied');
    const head = (JSON.parse((await ok(project, ['log', '--json'])).stdout) as Array<{ id: string }>)[0]!.id;
    assert.equal(await s3Code(c.send(new PutObjectCommand({ Bucket: 'ds', Key: `${head}/x.txt`, Body: 'no' }))), 'AccessDenied');
    assert.equal(await s3Code(c.send(new PutObjectCommand({ Bucket: 'ds', Key: 'nobranch/x.txt', Body: 'no' }))), 'NoSuchKey');
  });

  it('multipart: create, upload parts, list parts and uploads, complete; abort forgets', async () => {
    const c = client(rw);
    const part1 = seededBytes(5 * 1024 * 1024, 21);
    const part2 = seededBytes(1234567, 22);
    const up = await c.send(new CreateMultipartUploadCommand({ Bucket: 'ds', Key: 'main/models/model.bin' }));
    const id = up.UploadId!;
    const p1 = await c.send(new UploadPartCommand({ Bucket: 'ds', Key: 'main/models/model.bin', UploadId: id, PartNumber: 1, Body: part1 }));
    const p2 = await c.send(new UploadPartCommand({ Bucket: 'ds', Key: 'main/models/model.bin', UploadId: id, PartNumber: 2, Body: part2 }));
    const parts = await c.send(new ListPartsCommand({ Bucket: 'ds', Key: 'main/models/model.bin', UploadId: id }));
    assert.deepEqual(parts.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, part1.length], [2, part2.length]]);
    const ups = await c.send(new ListMultipartUploadsCommand({ Bucket: 'ds' }));
    assert.deepEqual(ups.Uploads?.map((u) => [u.Key, u.UploadId]), [['main/models/model.bin', id]]);
    const done = await c.send(
      new CompleteMultipartUploadCommand({ Bucket: 'ds', Key: 'main/models/model.bin', UploadId: id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }),
    );
    const whole = Buffer.concat([part1, part2]);
    assert.equal(done.ETag, `"${hashBytes(whole)}"`);
    const back = Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/models/model.bin' }))).Body!.transformToByteArray());
    assert.ok(back.equals(whole));
    const gone = await c.send(new CreateMultipartUploadCommand({ Bucket: 'ds', Key: 'main/models/tmp.bin' }));
    await c.send(new AbortMultipartUploadCommand({ Bucket: 'ds', Key: 'main/models/tmp.bin', UploadId: gone.UploadId }));
    assert.equal(await s3Code(c.send(new ListPartsCommand({ Bucket: 'ds', Key: 'main/models/tmp.bin', UploadId: gone.UploadId }))), 'NoSuchUpload');
    assert.equal(await s3Code(c.send(new UploadPartCommand({ Bucket: 'ds', Key: 'main/models/tmp.bin', UploadId: 'nope', PartNumber: 1, Body: 'x' }))), 'NoSuchUpload');
  });

  it('lib-storage Upload of a stream of unknown length goes multipart and reads back', async () => {
    const c = client(rw);
    const data = seededBytes(13 * 1024 * 1024, 31);
    const up = new Upload({ client: c, params: { Bucket: 'ds', Key: 'main/models/streamed.bin', Body: Readable.from([data.subarray(0, 7_000_000), data.subarray(7_000_000)]) }, partSize: 5 * 1024 * 1024, queueSize: 2 });
    await up.done();
    const back = Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/models/streamed.bin' }))).Body!.transformToByteArray());
    assert.ok(back.equals(data));
  });

  it('presigned GET and PUT work; an expired presigned URL is refused', async () => {
    const c = client(rw);
    const getUrl = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'ds', Key: 'v1/data/a.csv' }), { expiresIn: 60 });
    const r = await fetch(getUrl);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), CSV);
    const putUrl = await getSignedUrl(c, new PutObjectCommand({ Bucket: 'ds', Key: 'main/presigned.txt' }), { expiresIn: 60 });
    const p = await fetch(putUrl, { method: 'PUT', body: 'presigned bytes\n' });
    assert.equal(p.status, 200, await p.text());
    assert.equal(await text(c, 'main/presigned.txt'), 'presigned bytes\n');
    const expired = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'ds', Key: 'v1/data/a.csv' }), { expiresIn: 1, signingDate: new Date(Date.now() - 3600_000) });
    const e = await fetch(expired);
    assert.equal(e.status, 403);
    assert.match(await e.text(), /<Code>AccessDenied<\/Code>.*expired/s);
  });
});

describe('S3 gateway: refusals write nothing', () => {
  it('wrong key, wrong secret, read-only key, key of another repository, anonymous on a private repository', async () => {
    const before = await client(rw).send(new ListObjectsV2Command({ Bucket: 'ds', Prefix: 'main/' }));
    assert.equal(await s3Code(client({ accessKeyId: 'SKNOSUCHKEY000000000', secretAccessKey: 'x'.repeat(40) }).send(new PutObjectCommand({ Bucket: 'ds', Key: 'main/evil.txt', Body: 'x' }))), 'InvalidAccessKeyId');
    assert.equal(await s3Code(client({ accessKeyId: rw.accessKeyId, secretAccessKey: 'y'.repeat(40) }).send(new PutObjectCommand({ Bucket: 'ds', Key: 'main/evil.txt', Body: 'x' }))), 'SignatureDoesNotMatch');
    assert.equal(await s3Code(client(ro).send(new PutObjectCommand({ Bucket: 'ds', Key: 'main/evil.txt', Body: 'x' }))), 'AccessDenied');
    assert.equal(await text(client(ro), 'main/data/a.csv'), CSV);
    assert.equal(await s3Code(client(other).send(new GetObjectCommand({ Bucket: 'ds', Key: 'main/data/a.csv' }))), 'AccessDenied');
    assert.equal(await s3Code(client(other).send(new PutObjectCommand({ Bucket: 'ds', Key: 'main/evil.txt', Body: 'x' }))), 'AccessDenied');
    const anon = await fetch(`${srv.s3!.url}/ds/main/data/a.csv`);
    assert.equal(anon.status, 403);
    assert.match(await anon.text(), /<Code>AccessDenied<\/Code>/);
    const afterList = await client(rw).send(new ListObjectsV2Command({ Bucket: 'ds', Prefix: 'main/' }));
    assert.deepEqual(afterList.Contents?.map((o) => o.Key), before.Contents?.map((o) => o.Key));
  });
});
