/**
 * Data-mode server: repository creation, tokens (missing, read-only, other repository, revoked,
 * malformed), private repositories, hash-verified uploads (packs and single objects), size limits
 * (413), ref compare-and-swap, and indexing of pushed commits so the browse endpoints see them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from './helpers/cli.js';
import { bearer, makePack, raw } from './helpers/server.js';
import { startServer, type RunningServer } from '../server/app.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { commitId, treeId, type Tree } from '../core/model/index.js';

await initHash();
let srv: RunningServer;
let cleanup: () => Promise<void>;
let admin: string; // write, every repository
let writeA: string; // write, repo a
let readA: string; // read, repo a
let writeB: string; // write, repo b
let readP: string; // read, private repo p

const call = (method: string, path: string, token?: string, body?: Buffer | string, headers: Record<string, string> = {}) =>
  raw(srv.url, method, path, { headers: { ...(token ? bearer(token) : {}), ...headers }, body });
const json = (v: unknown) => JSON.stringify(v);

before(async () => {
  const t = await tempDir('strata-srv-auth-');
  cleanup = t.cleanup;
  srv = await startServer({ dataDir: t.dir, port: 0, log: () => {}, maxPackBytes: 256 * 1024, maxJsonBytes: 64 * 1024, maxObjectBytes: 512 * 1024, webDir: null });
  admin = srv.tokens.create('*', ['write']).token;
  writeA = srv.tokens.create('a', ['write']).token;
  readA = srv.tokens.create('a', ['read']).token;
  writeB = srv.tokens.create('b', ['write']).token;
  readP = srv.tokens.create('p', ['read']).token;
});
after(async () => {
  await srv.close();
  await cleanup();
});

describe('server auth and protocol (data mode)', () => {
  it('creating repositories needs a write token for that name', async () => {
    let r = await call('PUT', '/api/repos/a');
    assert.equal(r.status, 401);
    assert.equal(r.json().error.code, 'UNAUTHORIZED');
    assert.match(String(r.headers['www-authenticate']), /Bearer/);
    assert.equal((await call('PUT', '/api/repos/a', readA)).status, 403);
    assert.equal((await call('PUT', '/api/repos/a', writeB)).status, 403);
    r = await call('PUT', '/api/repos/a', writeA);
    assert.equal(r.status, 201);
    assert.equal(r.json().head.branch, 'main');
    assert.equal((await call('PUT', '/api/repos/a', writeA)).status, 409);
    assert.equal((await call('PUT', '/api/repos/.hidden', admin)).status, 400);
    r = await call('PUT', '/api/repos/p', admin, json({ anonymousRead: false }), { 'Content-Type': 'application/json' });
    assert.equal(r.status, 201);
    assert.equal(r.json().anonymousRead, false);
  });

  it('token failures: malformed, unknown, revoked, read token on write, other repository', async () => {
    const body = makePack([Buffer.from('one')]).body;
    assert.equal((await call('POST', '/api/repos/a/objects/pack', undefined, body)).status, 401);
    assert.equal((await call('POST', '/api/repos/a/objects/pack', 'not-a-token', body)).status, 401);
    assert.equal((await call('POST', '/api/repos/a/objects/pack', `strata_${'0'.repeat(12)}_${'A'.repeat(43)}`, body)).status, 401);
    const r = await raw(srv.url, 'GET', '/api/repos/a', { headers: { Authorization: 'Basic Zm9vOmJhcg==' } });
    assert.equal(r.status, 401);
    const ro = await call('POST', '/api/repos/a/objects/pack', readA, body);
    assert.equal(ro.status, 403);
    assert.equal(ro.json().error.code, 'FORBIDDEN');
    assert.equal((await call('POST', '/api/repos/a/objects/pack', writeB, body)).status, 403);
    const tmp = srv.tokens.create('a', ['write']);
    assert.equal((await call('POST', '/api/repos/a/objects/pack', tmp.token, body)).status, 200);
    srv.tokens.revoke(tmp.record.id);
    const rv = await call('POST', '/api/repos/a/objects/pack', tmp.token, body);
    assert.equal(rv.status, 401);
    assert.equal(rv.json().error.code, 'UNAUTHORIZED');
    // A token with the right id but a wrong secret.
    const forged = tmp.token.slice(0, 20) + 'B'.repeat(43);
    assert.equal((await call('GET', '/api/repos/a', forged)).status, 401);
  });

  it('private repositories need a read token; anonymous read elsewhere', async () => {
    assert.equal((await call('GET', '/api/repos/a/refs')).status, 200);
    let r = await call('GET', '/api/repos/p/refs');
    assert.equal(r.status, 401);
    assert.equal((await call('GET', '/api/repos/p/refs', readA)).status, 403);
    assert.equal((await call('GET', '/api/repos/p/refs', readP)).status, 200);
    assert.equal((await call('GET', '/api/repos/p/refs', admin)).status, 200);
    r = await call('GET', '/api/repos');
    assert.deepEqual(r.json().repos.map((x: { name: string }) => x.name), ['a']);
    r = await call('GET', '/api/repos', readP);
    assert.deepEqual(r.json().repos.map((x: { name: string }) => x.name), ['a', 'p']);
  });

  it('pack upload verifies every object and is all-or-nothing', async () => {
    const objs = Array.from({ length: 50 }, (_, i) => Buffer.from(`object number ${i}`));
    const bad = makePack(objs, 17);
    let r = await call('POST', '/api/repos/a/objects/pack', writeA, bad.body);
    assert.equal(r.status, 422);
    assert.equal(r.json().error.code, 'OBJECT_CORRUPT');
    assert.equal(r.json().error.details.id, bad.ids[17]);
    r = await call('POST', '/api/repos/a/objects/has', readA, json({ ids: bad.ids }));
    assert.deepEqual(r.json().present, []);
    const good = makePack(objs);
    r = await call('POST', '/api/repos/a/objects/pack', writeA, good.body);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { objects: 50, bytes: objs.reduce((n, o) => n + o.length, 0) });
    r = await call('POST', '/api/repos/a/objects/has', undefined, json({ ids: [...good.ids, hashBytes('absent')] }));
    assert.deepEqual(r.json().present, good.ids);
    r = await call('GET', `/api/repos/a/objects/${good.ids[3]}`);
    assert.equal(r.body.toString(), 'object number 3');
    assert.equal(r.headers.etag, `"${good.ids[3]}"`);
    r = await call('GET', `/api/repos/a/objects/${good.ids[3]}`, undefined, undefined, { Range: 'bytes=7-12' });
    assert.equal(r.status, 206);
    assert.equal(r.body.toString(), 'number');
    // Fetch several as one pack.
    r = await call('POST', '/api/repos/a/objects/fetch', undefined, json({ ids: good.ids.slice(0, 3) }));
    assert.equal(r.status, 200);
    assert.ok(r.body.subarray(0, 4).equals(Buffer.from('SPK1')));
    assert.equal((await call('POST', '/api/repos/a/objects/fetch', undefined, json({ ids: [hashBytes('absent')] }))).status, 404);
    // Malformed packs.
    assert.equal((await call('POST', '/api/repos/a/objects/pack', writeA, 'XXXX')).status, 400);
    assert.equal((await call('POST', '/api/repos/a/objects/pack', writeA, good.body.subarray(0, good.body.length - 3))).status, 400);
    assert.equal((await call('POST', '/api/repos/a/objects/has', readA, json({ ids: ['../../etc'] }))).status, 400);
    assert.equal((await call('GET', '/api/repos/a/objects/zz')).status, 400);
    assert.equal((await call('GET', `/api/repos/a/objects/${hashBytes('absent')}`)).json().error.code, 'OBJECT_MISSING');
  });

  it('single object PUT is hash-verified', async () => {
    const data = Buffer.from('a single object');
    const id = hashBytes(data);
    let r = await call('PUT', `/api/repos/a/objects/${hashBytes('other')}`, writeA, data);
    assert.equal(r.status, 422);
    assert.equal((await call('HEAD', `/api/repos/a/objects/${hashBytes('other')}`)).status, 404);
    r = await call('PUT', `/api/repos/a/objects/${id}`, writeA, data);
    assert.equal(r.status, 201);
    r = await call('PUT', `/api/repos/a/objects/${id}`, writeA, data);
    assert.equal(r.status, 200);
    assert.equal(r.json().stored, false);
    assert.equal((await call('PUT', `/api/repos/a/objects/${id}`, readA, data)).status, 403);
  });

  it('oversize bodies are rejected with 413', async () => {
    const big = makePack([Buffer.alloc(300 * 1024, 1)]).body;
    let r = await call('POST', '/api/repos/a/objects/pack', writeA, big);
    assert.equal(r.status, 413);
    assert.equal(r.json().error.code, 'PAYLOAD_TOO_LARGE');
    r = await call('POST', '/api/repos/a/objects/has', readA, json({ ids: Array.from({ length: 2000 }, () => 'a'.repeat(64)) }));
    assert.equal(r.status, 413);
    const obj = Buffer.alloc(600 * 1024, 2);
    r = await call('PUT', `/api/repos/a/objects/${hashBytes(obj)}`, writeA, obj);
    assert.equal(r.status, 413);
    r = await call('POST', '/api/repos/a/objects/has', readA, '{not json');
    assert.equal(r.status, 400);
    // The server still serves after rejecting.
    assert.equal((await call('GET', '/api/health')).status, 200);
  });

  it('refs: CAS with If-Match / If-None-Match, completeness check, indexing for browse', async () => {
    // Build a commit: tree { data/x.txt } -> commit.
    const blob = Buffer.from('pushed content\n');
    const sub: Tree = { entries: [{ type: 'file', name: 'x.txt', size: blob.length, id: hashBytes(blob), exec: false }] };
    const s = treeId(sub);
    const root: Tree = { entries: [{ type: 'dir', name: 'data', id: s.id, size: blob.length, count: 1 }] };
    const t = treeId(root);
    const c1 = commitId({ tree: t.id, parents: [], author: { name: 'T', email: 't@x' }, time: 1000, message: 'pushed', code: null });
    const c2 = commitId({ tree: t.id, parents: [c1.id], author: { name: 'T', email: 't@x' }, time: 2000, message: 'second', code: null });
    const put = (name: string, value: string, h: Record<string, string>, token = writeA) =>
      call('PUT', `/api/repos/a/refs/${name}`, token, json({ value }), { 'Content-Type': 'application/json', ...h });
    // Commit and trees uploaded but not the blob: refused, ref not created.
    await call('POST', '/api/repos/a/objects/pack', writeA, makePack([c1.bytes, t.bytes, s.bytes]).body);
    let r = await put('heads/main', c1.id, { 'If-None-Match': '*' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json().error.details.missing, [hashBytes(blob)]);
    assert.equal((await call('GET', '/api/repos/a/refs/heads/main')).status, 404);
    await call('POST', '/api/repos/a/objects/pack', writeA, makePack([blob, c2.bytes]).body);
    assert.equal((await put('heads/main', c1.id, {})).status, 400); // no precondition
    assert.equal((await put('heads/main', c1.id, { 'If-None-Match': '*' }, readA)).status, 403);
    r = await put('heads/main', c1.id, { 'If-None-Match': '*' });
    assert.equal(r.status, 200);
    const e1 = r.json().etag;
    assert.equal(r.headers.etag, e1);
    r = await put('heads/main', c1.id, { 'If-None-Match': '*' });
    assert.equal(r.status, 412);
    assert.equal(r.json().error.code, 'REF_CONFLICT');
    assert.equal((await put('heads/main', c2.id, { 'If-Match': '"stale"' })).status, 412);
    r = await put('heads/main', c2.id, { 'If-Match': e1 });
    assert.equal(r.status, 200);
    const e2 = r.json().etag;
    // Browse endpoints see the pushed history.
    const log = (await call('GET', '/api/repos/a/log')).json();
    assert.deepEqual(log.commits.map((c: { message: string }) => c.message), ['second', 'pushed']);
    assert.equal((await call('GET', '/api/repos/a/file?path=data/x.txt')).body.toString(), 'pushed content\n');
    assert.equal((await call('GET', '/api/repos/a/tree?path=data')).json().entries[0].name, 'x.txt');
    // Delete needs If-Match.
    assert.equal((await call('DELETE', '/api/repos/a/refs/heads/main', writeA)).status, 400);
    assert.equal((await call('DELETE', '/api/repos/a/refs/heads/main', writeA, undefined, { 'If-Match': e1 })).status, 412);
    assert.equal((await call('POST', '/api/repos/a/refs/heads/x', writeA)).status, 405);
    assert.equal((await call('PUT', '/api/repos/a/refs/heads/..', writeA, json({ value: c1.id }), { 'If-None-Match': '*' })).status, 400);
    assert.equal((await call('PUT', '/api/repos/a/refs/main', writeA, json({ value: c1.id }), { 'If-None-Match': '*' })).status, 400);
    // Concurrent CAS: exactly one of many racing updates from the same etag wins.
    await put('heads/race', c1.id, { 'If-None-Match': '*' });
    const base = (await call('GET', '/api/repos/a/refs/heads/race')).json().etag;
    const results = await Promise.all(Array.from({ length: 8 }, () => put('heads/race', c2.id, { 'If-Match': base })));
    assert.equal(results.filter((x) => x.status === 200).length, 1);
    assert.equal(results.filter((x) => x.status === 412).length, 7);
    assert.equal((await call('DELETE', '/api/repos/a/refs/heads/main', writeA, undefined, { 'If-Match': e2 })).status, 204);
  });

  it('run markers: PUT refs/runs/<id> indexes a pushed run; listed with the refs and in /runs', async () => {
    const { serializeRun } = await import('../core/meta/runs.js');
    const id = '01900000-0000-7000-8000-0000000000aa';
    const run = {
      id, stage: 'train', status: 'ok' as const, cmd: 'x', wdir: '.', env: {}, params: {}, paramRefs: [], deps: [], outs: [], code: null,
      environment: { node: 'v', platform: 'p', arch: 'a', hostname: 'h', strata: '0' }, started: 1, ended: 2, exitCode: 0, signal: null,
      log: null, signature: 's', cachedFrom: null, error: null, origin: 'pipeline' as const,
    };
    const bytes = serializeRun(run);
    const oid = hashBytes(bytes);
    const put = (name: string, value: string) => call('PUT', `/api/repos/a/refs/${name}`, writeA, json({ value }), { 'Content-Type': 'application/json', 'If-None-Match': '*' });
    assert.equal((await put(`runs/${id}`, oid)).status, 400); // object not uploaded yet
    await call('POST', '/api/repos/a/objects/pack', writeA, makePack([bytes]).body);
    assert.equal((await put('runs/01900000-0000-7000-8000-0000000000bb', oid)).status, 400); // name and record disagree
    assert.equal((await put(`runs/${id}`, oid)).status, 200);
    assert.equal((await put(`runs/${id}`, oid)).status, 200); // idempotent
    assert.equal((await put(`runs/${id}`, hashBytes(Buffer.from('object b')))).status, 412);
    const refs = (await call('GET', '/api/repos/a/refs?prefix=runs/')).json().refs;
    assert.deepEqual(refs.map((r: { name: string; value: string }) => [r.name, r.value]), [[`runs/${id}`, oid]]);
    assert.equal((await call('GET', `/api/repos/a/refs/runs/${id}`)).json().value, oid);
    const runs = (await call('GET', '/api/repos/a/runs')).json().runs;
    assert.deepEqual(runs.map((r: { id: string }) => r.id), [id]);
  });

  it('push-to-create: the first write with a write token creates the repository', async () => {
    const body = makePack([Buffer.from('for b')]).body;
    assert.equal((await call('GET', '/api/repos/b')).status, 404);
    assert.equal((await call('POST', '/api/repos/b/objects/pack', writeA, body)).status, 403);
    assert.equal((await call('GET', '/api/repos/b')).status, 404);
    assert.equal((await call('POST', '/api/repos/b/objects/pack', writeB, body)).status, 200);
    assert.equal((await call('GET', '/api/repos/b')).status, 200);
  });
});
