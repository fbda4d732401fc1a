/**
 * Hostile objects served by an S3 remote (s3rver on loopback, the real AWS SDK, the real CLI):
 * a normal repository is pushed, then hand-built, correctly hashed objects are written into the
 * bucket with the S3 store adapter and heads/main is moved to them. `strata clone` must exit 11
 * naming the object and the bucket, with no stack trace and no folder left; `strata pull` must
 * leave every local ref and file as it was. Covers a malformed tree and a tree bomb.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, readTreeBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { MetaDb } from '../core/meta/db.js';
import { serializeCommit, treeId, type Tree } from '../core/model/index.js';
import { openRemote } from '../core/remote/open.js';

await initHash();

let s3: S3rverHandle;
let tmp: { dir: string; cleanup(): Promise<void> };
let env: Record<string, string | undefined>;

before(async () => {
  s3 = await startS3rver({ buckets: ['strata'] });
  tmp = await tempDir('strata-hostile-s3-');
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

function refsOf(dir: string): Record<string, string | null> {
  const db = MetaDb.open(join(dir, '.strata', 'strata.db'), { readonly: true });
  try {
    return Object.fromEntries(['HEAD', 'refs/heads/main', 'refs/remotes/origin/main'].map((r) => [r, db.getRef(r)?.target ?? null]));
  } finally {
    db.close();
  }
}

/** Push a good repository to s3://strata/<prefix>, clone it, then serve `build(parent)` as heads/main. */
async function hostileBucket(prefix: string, build: (parent: string) => { objects: Buffer[]; commit: Buffer; names: string[] }) {
  const url = `s3://strata/${prefix}`;
  const a = join(tmp.dir, `${prefix}-a`);
  await fsp.mkdir(a);
  await run(a, ['init']);
  await writeFiles(a, { 'data/a.txt': 'alpha\n' });
  await run(a, ['add', 'data']);
  await run(a, ['commit', '-m', 'first']);
  await run(a, ['remote', 'add', 'origin', url, '--endpoint', s3.endpoint, '--path-style']);
  await run(a, ['push']);
  const b = join(tmp.dir, `${prefix}-b`);
  await run(tmp.dir, ['clone', url, b, '--endpoint', s3.endpoint, '--path-style']);
  const db = MetaDb.open(join(a, '.strata', 'strata.db'), { readonly: true });
  const parent = db.getRef('refs/heads/main')!.target;
  db.close();
  const h = build(parent);
  const saved = { ...process.env };
  Object.assign(process.env, Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)));
  try {
    const remote = await openRemote({ name: 'evil', url, endpoint: s3.endpoint, pathStyle: true });
    for (const o of [...h.objects, h.commit]) await remote.store.put(hashBytes(o), o);
    const cur = await remote.refs.get('heads/main');
    await remote.refs.update('heads/main', hashBytes(h.commit), cur!.etag);
    await remote.close();
  } finally {
    process.env = saved;
  }
  return { url, b, h };
}

async function refused(prefix: string, build: Parameters<typeof hostileBucket>[1]): Promise<void> {
  const { url, b, h } = await hostileBucket(prefix, build);
  const check = (r: { code: number; stdout: string; stderr: string }, what: string) => {
    const text = r.stdout + r.stderr;
    assert.equal(r.code, EXIT_CODES.OBJECT_CORRUPT, `${what}: exit ${r.code}\n${text}`);
    assert.ok(h.names.some((id) => text.includes(id)), `${what}: names the object\n${text}`);
    assert.ok(text.includes(`s3://strata/${prefix}`), `${what}: names the bucket\n${text}`);
    assert.doesNotMatch(text, /internal error|TypeError|\n\s+at .+:\d+:\d+/, text);
  };
  const dest = join(tmp.dir, `${prefix}-clone`);
  check(await strata(tmp.dir, ['clone', url, dest, '--endpoint', s3.endpoint, '--path-style'], { env, timeoutMs: 30_000 }), 'clone');
  assert.equal(await fsp.stat(dest).catch(() => null), null, 'a failed clone leaves no folder');
  const refsBefore = refsOf(b);
  const filesBefore = await readTreeBytes(b);
  check(await strata(b, ['pull'], { env, timeoutMs: 30_000 }), 'pull');
  assert.deepEqual(refsOf(b), refsBefore, 'no local ref moved');
  assert.deepEqual(await readTreeBytes(b), filesBefore, 'no file written');
}

const person = { name: 'Mallory', email: 'm@example.com' };
const X = hashBytes('x');
const commitOn = (parent: string, tree: string) => serializeCommit({ tree, parents: [parent], author: person, time: 1, message: 'evil', code: null, meta: { roots: ['data'] } });

describe('hostile S3 remote', () => {
  it('a tree entry whose name is a number: clone and pull exit 11 naming the tree and the bucket', async () => {
    await refused('numeric', (parent) => {
      const t = Buffer.from(JSON.stringify({ e: [[5, 'f', 1, X]], strata: 'tree', v: 1 }));
      return { objects: [t, Buffer.from('x')], commit: commitOn(parent, hashBytes(t)), names: [hashBytes(t)] };
    });
  });

  it('a tree bomb (2^30 paths from 32 objects) is refused fast', { timeout: 120_000 }, async () => {
    await refused('bomb', (parent) => {
      const objects: Buffer[] = [Buffer.from('x')];
      const names: string[] = [];
      let t: Tree = { entries: [{ type: 'file', name: 'f', id: X, size: 1, exec: false }] };
      let cur = treeId(t);
      let count = 1;
      objects.push(cur.bytes);
      for (let i = 0; i < 30; i++) {
        t = { entries: [{ type: 'dir', name: 'a', id: cur.id, size: count, count }, { type: 'dir', name: 'b', id: cur.id, size: count, count }] };
        count *= 2;
        cur = treeId(t);
        objects.push(cur.bytes);
        names.push(cur.id);
      }
      return { objects, commit: commitOn(parent, cur.id), names };
    });
  });
});
