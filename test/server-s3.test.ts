/**
 * `--store s3://bucket/prefix`: a server whose objects live in a bucket (s3rver on loopback) while
 * metadata stays in the data directory. Push objects and a commit over HTTP, read them back through
 * the API, and find them under <prefix>/<repo>/ in the bucket.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from './helpers/cli.js';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
import { startServer, type RunningServer } from '../server/app.js';
import { openHttpRemote } from '../core/remote/http.js';
import { S3Store } from '../core/store/s3/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { commitId, treeId } from '../core/model/index.js';

await initHash();
let s3: S3rverHandle;
let srv: RunningServer;
let cleanup: () => Promise<void>;

before(async () => {
  s3 = await startS3rver({ buckets: ['strata'] });
  const t = await tempDir('strata-srv-s3-');
  cleanup = t.cleanup;
  const opts = s3.storeOptions('strata', 'ignored');
  srv = await startServer({ dataDir: t.dir, port: 0, storeUrl: 's3://strata/hosted', s3: { endpoint: opts.endpoint, credentials: opts.credentials, forcePathStyle: true, region: 'us-east-1' }, log: () => {}, webDir: null });
});
after(async () => {
  await srv.close();
  await s3.stop();
  await cleanup();
});

describe('server with objects in S3', () => {
  it('push objects + ref over HTTP; objects land in the bucket; API reads them', async () => {
    const token = srv.tokens.create('ds', ['write']).token;
    const h = await openHttpRemote(`${srv.url}/ds`, { token });
    const blob = Buffer.from('bucket-backed bytes\n');
    const t = treeId({ entries: [{ type: 'file', name: 'f.txt', size: blob.length, id: hashBytes(blob), exec: false }] });
    const c = commitId({ tree: t.id, parents: [], author: { name: 'a', email: 'a@b' }, time: 1, message: 'm', code: null });
    const w = h.store.batch();
    for (const b of [blob, t.bytes, c.bytes]) await w.add(hashBytes(b), b);
    await w.finish();
    await h.refs.create('heads/main', c.id);
    const f = await fetch(`${srv.url}/api/repos/ds/file?path=f.txt`);
    assert.equal(await f.text(), 'bucket-backed bytes\n');
    const direct = new S3Store(s3.storeOptions('strata', 'hosted/ds'));
    assert.equal((await direct.hasMany([hashBytes(blob), t.id, c.id])).size, 3);
    await direct.close();
  });
});
