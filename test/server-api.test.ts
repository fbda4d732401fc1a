/**
 * Read API of `strata serve` on a working project (project mode, read-only): repos, refs, log
 * paging, commits, tree, file bytes (Range, ETag, chunked files), diff, runs, lineage, and
 * rejection of traversal attempts and writes. Real HTTP on a loopback port.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { ok, seededBytes, tempDir, writeFiles } from './helpers/cli.js';
import { raw, type RawResponse } from './helpers/server.js';
import { startServer, type RunningServer } from '../server/app.js';
import { Repository } from '../core/repo/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { insertRun, serializeRun, type RunRecord } from '../core/meta/runs.js';

await initHash();
let srv: RunningServer;
let dir: string;
let cleanup: () => Promise<void>;
let name: string;
const big = seededBytes(9 * 1024 * 1024 + 123, 7); // above the 8 MiB chunking threshold
const runId = '01900000-0000-7000-8000-000000000001';

const get = (p: string, headers?: Record<string, string>): Promise<RawResponse> => raw(srv.url, 'GET', p, { headers });
const api = (p: string) => `/api/repos/${name}${p}`;

before(async () => {
  const t = await tempDir('strata-srv-api-');
  dir = t.dir;
  cleanup = t.cleanup;
  await ok(dir, ['init']);
  await writeFiles(dir, { 'data/a.csv': 'x,y\n1,2\n', 'data/b.json': '{"k":1}\n', 'data/sub/c.txt': 'hello\n', 'big.bin': big });
  await ok(dir, ['add', 'data', 'big.bin']);
  await ok(dir, ['commit', '-m', 'first']);
  await writeFiles(dir, { 'data/a.csv': 'x,y\n1,2\n3,4\n' });
  await ok(dir, ['add', 'data']);
  await ok(dir, ['commit', '-m', 'second']);
  await ok(dir, ['tag', 'v1']);
  await writeFiles(dir, { 'data/d.txt': 'new file\n' });
  await ok(dir, ['add', 'data']);
  await ok(dir, ['commit', '-m', 'third']);
  // A run: data/a.csv (current version) -> train -> models/m.bin
  const repo = await Repository.openAt(dir);
  const aId = hashBytes('x,y\n1,2\n3,4\n');
  const mId = hashBytes('model');
  const r: RunRecord = {
    id: runId, stage: 'train', status: 'ok', cmd: 'node train.mjs', wdir: '.', env: {}, params: { lr: 0.1 }, paramRefs: [],
    deps: [{ path: 'data/a.csv', id: aId, kind: 'file' }],
    outs: [{ path: 'models/m.bin', id: mId, type: 'model', kind: 'file', size: 5, cache: true }],
    code: null, environment: { node: 'v20', platform: 'linux', arch: 'x64', hostname: 'h', strata: '0' },
    started: 1, ended: 2, exitCode: 0, signal: null, log: null, signature: 's', cachedFrom: null, error: null, origin: 'pipeline',
  };
  const bytes = serializeRun(r);
  repo.db.tx(() => insertRun(repo.db, r, hashBytes(bytes), bytes.toString('utf8')));
  await repo.close();
  srv = await startServer({ project: dir, port: 0, log: () => {}, webDir: null });
  name = basename(dir);
});

after(async () => {
  await srv.close();
  await cleanup();
});

describe('server read API (project mode)', () => {
  it('health, repository list and repository', async () => {
    const h = await get('/api/health');
    assert.equal(h.status, 200);
    assert.equal(h.json().ok, true);
    const l = (await get('/api/repos')).json();
    assert.deepEqual(l.repos.map((r: { name: string }) => r.name), [name]);
    const r = (await get(api(''))).json();
    assert.equal(r.readOnly, true);
    assert.equal(r.head.branch, 'main');
    assert.deepEqual(r.counts, { branches: 1, tags: 1, commits: 3 });
    const missing = await get('/api/repos/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error.code, 'NOT_A_REPOSITORY');
  });

  it('refs: branches, tags and the raw refs view', async () => {
    const r = (await get(api('/refs'))).json();
    assert.deepEqual(r.branches.map((b: { name: string }) => b.name), ['main']);
    assert.deepEqual(r.tags.map((b: { name: string }) => b.name), ['v1']);
    assert.deepEqual(r.refs.map((x: { name: string }) => x.name), ['heads/main', `runs/${runId}`, 'tags/v1']);
    const one = await get(api('/refs/heads/main'));
    assert.equal(one.status, 200);
    assert.equal(one.headers.etag, one.json().etag);
    assert.equal((await get(api('/refs/heads/nope'))).json().error.code, 'UNKNOWN_REF');
  });

  it('log with paging and path filter; commit by rev', async () => {
    const p1 = (await get(api('/log?limit=2'))).json();
    assert.deepEqual(p1.commits.map((c: { message: string }) => c.message), ['third', 'second']);
    assert.equal(p1.nextOffset, 2);
    const p2 = (await get(api('/log?limit=2&offset=2'))).json();
    assert.deepEqual(p2.commits.map((c: { message: string }) => c.message), ['first']);
    assert.equal(p2.nextOffset, null);
    const byPath = (await get(api('/log?path=data/a.csv'))).json();
    assert.deepEqual(byPath.commits.map((c: { message: string }) => c.message), ['second', 'first']);
    const c = (await get(api('/commits/v1'))).json();
    assert.equal(c.message, 'second');
    assert.ok(c.refs.includes('tag: v1'));
    assert.equal((await get(api('/commits/main~2'))).json().message, 'first');
    assert.equal((await get(api('/commits/main%5E'))).json().message, 'second');
    const bad = await get(api('/commits/nope'));
    assert.equal(bad.status, 404);
    assert.equal(bad.json().error.code, 'UNKNOWN_REF');
    assert.ok(bad.json().error.hint);
    assert.equal((await get(api('/log?limit=abc'))).status, 400);
  });

  it('tree listing at a ref and path, single entries, missing paths', async () => {
    const root = (await get(api('/tree'))).json();
    assert.equal(root.type, 'dir');
    assert.deepEqual(root.entries.map((e: { name: string }) => e.name), ['data', 'big.bin']);
    const data = (await get(api('/tree?ref=v1&path=data'))).json();
    assert.deepEqual(data.entries.map((e: { path: string }) => e.path), ['data/sub', 'data/a.csv', 'data/b.json']);
    const f = (await get(api('/tree?path=big.bin'))).json();
    assert.equal(f.type, 'file');
    assert.equal(f.entry.size, big.length);
    assert.equal(f.entry.chunked, true);
    const miss = await get(api('/tree?path=data/zzz'));
    assert.equal(miss.status, 404);
    assert.equal(miss.json().error.code, 'PATH_NOT_FOUND');
  });

  it('file download: type, length, ETag, 304, Range 206/416, HEAD, chunked files', async () => {
    const f = await get(api('/file?path=data/a.csv'));
    assert.equal(f.status, 200);
    assert.equal(f.body.toString(), 'x,y\n1,2\n3,4\n');
    assert.match(String(f.headers['content-type']), /^text\/csv/);
    assert.equal(f.headers['content-length'], String(f.body.length));
    assert.equal(f.headers.etag, `"${hashBytes(f.body)}"`);
    assert.equal(f.headers['accept-ranges'], 'bytes');
    assert.equal((await get(api('/file?ref=v1~1&path=data/a.csv'))).body.toString(), 'x,y\n1,2\n');
    assert.equal((await get(api('/file?path=data/a.csv'), { 'If-None-Match': String(f.headers.etag) })).status, 304);
    const r = await get(api('/file?path=data/a.csv'), { Range: 'bytes=2-5' });
    assert.equal(r.status, 206);
    assert.equal(r.body.toString(), 'y\n1,');
    assert.equal(r.headers['content-range'], `bytes 2-5/${f.body.length}`);
    assert.equal((await get(api('/file?path=data/a.csv'), { Range: 'bytes=-3' })).body.toString(), ',4\n');
    const un = await get(api('/file?path=data/a.csv'), { Range: 'bytes=100-200' });
    assert.equal(un.status, 416);
    assert.equal(un.headers['content-range'], `bytes */${f.body.length}`);
    const h = await raw(srv.url, 'HEAD', api('/file?path=data/b.json'));
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-length'], '8');
    assert.equal(h.body.length, 0);
    const whole = await get(api('/file?path=big.bin'));
    assert.equal(whole.status, 200);
    assert.ok(whole.body.equals(big));
    const start = 8 * 1024 * 1024 - 1000;
    const part = await get(api('/file?path=big.bin'), { Range: `bytes=${start}-${start + 300_000}` });
    assert.equal(part.status, 206);
    assert.ok(part.body.equals(big.subarray(start, start + 300_001)));
    const dl = await get(api('/file?path=data/a.csv&download=1'));
    assert.match(String(dl.headers['content-disposition']), /attachment; filename="a.csv"/);
    assert.equal((await get(api('/file?path=data'))).status, 400);
    assert.equal((await get(api('/file?path=nope.txt'))).status, 404);
  });

  it('diff between refs and against the first parent', async () => {
    const d = (await get(api('/diff?from=v1&to=main'))).json();
    assert.deepEqual(d.changes.map((c: { path: string; kind: string }) => [c.path, c.kind]), [['data/d.txt', 'added']]);
    assert.equal(d.summary.added, 1);
    const p = (await get(api('/diff?to=v1'))).json();
    assert.deepEqual(p.changes.map((c: { path: string; kind: string }) => [c.path, c.kind]), [['data/a.csv', 'modified']]);
    const root = (await get(api('/diff?to=main~2&path=data'))).json();
    assert.equal(root.fromCommit, null);
    assert.equal(root.changes.length, 3);
  });

  it('runs list, run detail, unknown run', async () => {
    const l = (await get(api('/runs'))).json();
    assert.deepEqual(l.runs.map((r: { id: string }) => r.id), [runId]);
    assert.equal(l.runs[0].stage, 'train');
    const d = (await get(api(`/runs/${runId}`))).json();
    assert.equal(d.cmd, 'node train.mjs');
    assert.deepEqual(d.params, { lr: 0.1 });
    const miss = await get(api('/runs/0190ffff'));
    assert.equal(miss.status, 404);
    assert.equal(miss.json().error.code, 'RUN_NOT_FOUND');
  });

  it('lineage graph around a node: cytoscape elements, direction, types filter, bad params', async () => {
    const g = (await get(api(`/lineage?node=${encodeURIComponent('main:data/a.csv')}&direction=down&depth=2`))).json();
    const ids = g.nodes.map((n: { data: { id: string } }) => n.data.id);
    assert.equal(g.nodes.length, 3);
    assert.ok(ids.includes(`r:${runId}`));
    assert.ok(g.nodes.some((n: { data: { type: string } }) => n.data.type === 'model'));
    assert.equal(g.edges.length, 2);
    for (const e of g.edges) assert.ok(ids.includes(e.data.source) && ids.includes(e.data.target));
    const up = (await get(api(`/lineage?node=${encodeURIComponent('main:data/a.csv')}&direction=up`))).json();
    assert.equal(up.nodes.length, 1);
    const runs = (await get(api(`/lineage?node=r:${runId}&types=run,model`))).json();
    assert.deepEqual(runs.nodes.map((n: { data: { type: string } }) => n.data.type).sort(), ['model', 'run']);
    assert.equal((await get(api(`/lineage?node=${runId}&depth=99`))).status, 400);
    assert.equal((await get(api(`/lineage?node=${runId}&direction=sideways`))).status, 400);
    assert.equal((await get(api('/lineage'))).status, 400);
    assert.equal((await get(api(`/lineage?node=${encodeURIComponent('main:nope')}`))).status, 404);
  });

  it('path traversal attempts are rejected, never served', async () => {
    const attempts = [
      api('/file?path=../../etc/passwd'),
      api('/file?path=data/../../x'),
      api('/file?path=/etc/passwd'),
      api('/file?path=data%00/a.csv'),
      api('/tree?path=..'),
      '/api/repos/..%2F..%2Fetc/refs',
      '/api/repos/%2e%2e/refs',
      '/api/repos/a%2Fb/refs',
      '/api/repos/x%5C..%5Cy/refs',
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/..%2f..%2fpackage.json',
      '/api/repos/%00/refs',
    ];
    for (const p of attempts) {
      const r = await get(p);
      assert.ok(r.status === 400 || r.status === 404, `${p} -> ${r.status}`);
      assert.ok(!r.body.toString().includes('root:'), p);
      const err = r.json().error;
      assert.ok(err.code && err.message, p);
      assert.ok(!/\n\s+at /.test(r.body.toString()), `no stack trace for ${p}`);
    }
  });

  it('a working project is served read-only', async () => {
    const r = await raw(srv.url, 'PUT', api('/refs/heads/x'), { headers: { 'If-None-Match': '*', 'Content-Type': 'application/json' }, body: JSON.stringify({ value: 'a'.repeat(64) }) });
    assert.equal(r.status, 403);
    assert.equal(r.json().error.code, 'FORBIDDEN');
    assert.equal((await raw(srv.url, 'POST', api('/objects/pack'), { body: 'SPK1' })).status, 403);
  });

  it('unknown endpoints and methods', async () => {
    assert.equal((await get('/api/nope')).status, 404);
    assert.equal((await get(api('/nope'))).status, 404);
    const m = await raw(srv.url, 'DELETE', api('/log'));
    assert.equal(m.status, 405);
    assert.equal(m.headers.allow, 'GET');
    const home = await get('/');
    assert.equal(home.status, 200);
    assert.match(String(home.headers['content-type']), /text\/html/);
  });
});
