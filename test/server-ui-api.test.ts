/**
 * The server API requests of the web UI (web/API-REQUESTS.md): path version history (/versions),
 * run logs (/runs/{id}/log with Range), sizes and metrics on lineage version nodes, and lineage node
 * search (/lineage/search). On the demo project (`strata demo --no-serve`: the fraud pipeline run
 * over two data versions), plus a deleted-and-re-added file and a synthetic run without a log whose
 * outputs have LIKE wildcards in their names. Real HTTP on a loopback port.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ok, tempDir, writeFiles } from './helpers/cli.js';
import { raw, type RawResponse } from './helpers/server.js';
import { startServer, type RunningServer } from '../server/app.js';
import { Repository } from '../core/repo/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { insertRun, serializeRun, type RunRecord } from '../core/meta/runs.js';

await initHash();
let srv: RunningServer;
let proj: string;
let cleanup: () => Promise<void>;
const name = 'proj';
const noLogRun = '01900000-0000-7000-8000-0000000000aa';
const oddPath = 'reports/100%_sure.json';
const oddMetrics = { acc: 0.5, note: 'wild%card_names' };
const bigMetricsPath = 'reports/big.json';
const bigMetrics = Buffer.from(JSON.stringify({ values: Array.from({ length: 12000 }, (_, i) => i * 1.5) })); // > 64 KiB
assert.ok(bigMetrics.length > 64 * 1024);
let tags: Record<string, string> = {};

const get = (p: string, headers?: Record<string, string>): Promise<RawResponse> => raw(srv.url, 'GET', p, { headers });
const api = (p: string) => `/api/repos/${name}${p}`;
const json = async (p: string, status = 200) => {
  const r = await get(api(p));
  assert.equal(r.status, status, `${p}: ${r.body.toString('utf8')}`);
  return r.json();
};

before(async () => {
  const t = await tempDir('strata-srv-ui-');
  cleanup = t.cleanup;
  proj = join(t.dir, name);
  await ok(t.dir, ['demo', proj, '--no-serve']);
  // A file that is added, deleted, then added again with other content.
  await writeFiles(proj, { 'notes/n.txt': 'one\n' });
  await ok(proj, ['add', 'notes']);
  await ok(proj, ['commit', '-m', 'notes v1']);
  await ok(proj, ['rm', 'notes/n.txt']);
  await ok(proj, ['commit', '-m', 'drop notes']);
  await writeFiles(proj, { 'notes/n.txt': 'two, longer\n' });
  await ok(proj, ['add', 'notes']);
  await ok(proj, ['commit', '-m', 'notes v2']);
  // A cached run (no log) whose metrics outputs have LIKE wildcards in their path / are large.
  const repo = await Repository.openAt(proj);
  const oddBytes = Buffer.from(JSON.stringify(oddMetrics));
  await repo.store.put(hashBytes(oddBytes), oddBytes);
  await repo.store.put(hashBytes(bigMetrics), bigMetrics);
  const rawCsv = repo.db.latestVersionNode('data/raw.csv')!.ref;
  const r: RunRecord = {
    id: noLogRun, stage: 'score_100%', status: 'cached', cmd: 'node score.mjs', wdir: '.', env: {}, params: {}, paramRefs: [],
    deps: [{ path: 'data/raw.csv', id: rawCsv, kind: 'file' }],
    outs: [
      { path: oddPath, id: hashBytes(oddBytes), type: 'metrics', kind: 'file', size: oddBytes.length, cache: true },
      { path: bigMetricsPath, id: hashBytes(bigMetrics), type: 'metrics', kind: 'file', size: bigMetrics.length, cache: true },
    ],
    code: null, environment: { node: 'v20', platform: 'linux', arch: 'x64', hostname: 'h', strata: '0' },
    started: 1, ended: 2, exitCode: null, signal: null, log: null, signature: 's', cachedFrom: null, error: null, origin: 'adhoc',
  };
  const bytes = serializeRun(r);
  repo.db.tx(() => insertRun(repo.db, r, hashBytes(bytes), bytes.toString('utf8')));
  await repo.close();
  srv = await startServer({ project: proj, port: 0, log: () => {}, webDir: null });
  const refs = (await get(api('/refs'))).json() as { tags: Array<{ name: string; commit: string }> };
  tags = Object.fromEntries(refs.tags.map((t) => [t.name, t.commit]));
});

after(async () => {
  await srv?.close();
  await cleanup?.();
});

describe('GET /versions', () => {
  it('lists the distinct versions of a file, newest first, with the commit that introduced each', async () => {
    const v = await json('/versions?path=data/raw.csv');
    assert.equal(v.path, 'data/raw.csv');
    assert.equal(v.ref, 'HEAD');
    assert.equal(v.versions.length, 2);
    assert.equal(v.next, null);
    for (const [i, tag] of [[0, 'v2'], [1, 'v1']] as const) {
      const e = (await json(`/tree?ref=${tag}&path=data/raw.csv`)).entry;
      const got = v.versions[i];
      assert.equal(got.id, e.id);
      assert.equal(got.kind, 'file');
      assert.equal(got.size, e.size);
      assert.equal(got.commit, tags[tag], `${tag} introduced version ${i}`);
      const c = await json(`/commits/${tags[tag]}`);
      assert.equal(got.time, c.time);
      assert.equal(got.message, c.message);
    }
    // At an older ref, only the older version.
    const old = await json('/versions?path=data/raw.csv&ref=v1');
    assert.deepEqual(old.versions.map((x: { id: string }) => x.id), [v.versions[1].id]);
  });

  it('reports a deletion as id null and does not report the absence before the first version', async () => {
    const v = await json('/versions?path=notes/n.txt');
    assert.deepEqual(v.versions.map((x: { message: string }) => x.message), ['notes v2', 'drop notes', 'notes v1']);
    assert.deepEqual(v.versions.map((x: { id: string | null }) => x.id), [hashBytes('two, longer\n'), null, hashBytes('one\n')]);
    assert.deepEqual(v.versions.map((x: { size: number | null }) => x.size), [12, null, 4]);
    assert.deepEqual(v.versions.map((x: { kind: string | null }) => x.kind), ['file', null, 'file']);
  });

  it('directories: tree id, total size and file count', async () => {
    const v = await json('/versions?path=data');
    assert.equal(v.versions.length, 2);
    const dir = await json('/tree?ref=v2&path=data');
    const total = dir.entries.reduce((n: number, e: { size: number }) => n + e.size, 0);
    assert.equal(v.versions[0].kind, 'dir');
    assert.equal(v.versions[0].size, total);
    assert.equal(v.versions[0].count, dir.entries.length);
    assert.equal(v.versions[0].commit, tags.v2);
  });

  it('limit stops the walk and `next` continues it', async () => {
    const p1 = await json('/versions?path=notes/n.txt&limit=2');
    assert.equal(p1.versions.length, 2);
    assert.equal(p1.limit, 2);
    assert.equal(typeof p1.next, 'string');
    const p2 = await json(`/versions?path=notes/n.txt&limit=2&ref=${p1.next}`);
    assert.deepEqual(p2.versions.map((x: { message: string }) => x.message), ['notes v1']);
    assert.equal(p2.next, null);
    // limit is clamped to 1..1000
    assert.equal((await json('/versions?path=notes/n.txt&limit=0')).versions.length, 1);
    assert.equal((await json('/versions?path=notes/n.txt&limit=5000')).limit, 1000);
  });

  it('errors: missing path, bad path, bad limit, unknown ref; a path never versioned has no versions', async () => {
    assert.equal((await json('/versions', 400)).error.code, 'INVALID_ARGUMENT');
    assert.equal((await json('/versions?path=../etc/passwd', 400)).error.code, 'PATH_OUTSIDE_WORKSPACE');
    assert.equal((await json('/versions?path=data/raw.csv&limit=ten', 400)).error.code, 'INVALID_ARGUMENT');
    assert.equal((await json('/versions?path=data/raw.csv&ref=nope', 404)).error.code, 'UNKNOWN_REF');
    assert.deepEqual((await json('/versions?path=no/such/file')).versions, []);
    const post = await raw(srv.url, 'POST', api('/versions?path=data/raw.csv'));
    assert.equal(post.status, 405);
  });
});

describe('GET /runs/{id}/log', () => {
  let runId: string;
  let logId: string;
  let full: Buffer;
  before(async () => {
    const runs = await json('/runs?stage=evaluate&limit=1');
    runId = runs.runs[0].id;
    logId = (await json(`/runs/${runId}`)).log;
    full = (await get(api(`/objects/${logId}`))).body;
    assert.ok(full.length > 20, 'the evaluate stage prints something');
  });

  it('serves the whole log as text/plain', async () => {
    const r = await get(api(`/runs/${runId}/log`));
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.equal(r.headers['etag'], `"${logId}"`);
    assert.equal(Number(r.headers['content-length']), full.length);
    assert.deepEqual(r.body, full);
    const again = await get(api(`/runs/${runId}/log`), { 'If-None-Match': `"${logId}"` });
    assert.equal(again.status, 304);
    const head = await raw(srv.url, 'HEAD', api(`/runs/${runId}/log`));
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers['content-length']), full.length);
    assert.equal(head.body.length, 0);
  });

  it('Range: a suffix range (the tail), a bounded range, a suffix longer than the log, unsatisfiable', async () => {
    const tail = await get(api(`/runs/${runId}/log`), { Range: 'bytes=-10' });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers['content-range'], `bytes ${full.length - 10}-${full.length - 1}/${full.length}`);
    assert.deepEqual(tail.body, full.subarray(full.length - 10));
    const mid = await get(api(`/runs/${runId}/log`), { Range: 'bytes=2-6' });
    assert.equal(mid.status, 206);
    assert.deepEqual(mid.body, full.subarray(2, 7));
    const long = await get(api(`/runs/${runId}/log`), { Range: 'bytes=-1000000' });
    assert.equal(long.status, 206);
    assert.equal(long.headers['content-range'], `bytes 0-${full.length - 1}/${full.length}`);
    assert.deepEqual(long.body, full);
    const bad = await get(api(`/runs/${runId}/log`), { Range: `bytes=${full.length}-` });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers['content-range'], `bytes */${full.length}`);
  });

  it('a unique run id prefix works; a run without a log is an empty 200; unknown runs are 404', async () => {
    const byPrefix = await get(api(`/runs/${runId.slice(0, 23)}/log`));
    assert.equal(byPrefix.status, 200);
    assert.deepEqual(byPrefix.body, full);
    const none = await get(api(`/runs/${noLogRun}/log`), { Range: 'bytes=-2048' });
    assert.equal(none.status, 200);
    assert.equal(none.body.length, 0);
    assert.equal(none.headers['content-type'], 'text/plain; charset=utf-8');
    const missing = await get(api('/runs/0190ffff-ffff-7fff-bfff-ffffffffffff/log'));
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error.code, 'RUN_NOT_FOUND');
    const junk = await get(api('/runs/not-a-run/log'));
    assert.equal(junk.status, 404);
    assert.equal(junk.json().error.code, 'RUN_NOT_FOUND');
    const other = await get(api(`/runs/${runId}/nope`));
    assert.equal(other.status, 404);
    assert.match(other.json().error.message, /no API endpoint/);
  });
});

type Node = { data: Record<string, any> };

describe('GET /lineage: size and metrics on version nodes', () => {
  it('every version node has its size: outputs from the run, inputs from the store', async () => {
    const g = await json('/lineage?node=HEAD:models/model.json&direction=up&depth=2');
    const versions = (g.nodes as Node[]).filter((n) => n.data.type !== 'run');
    assert.ok(versions.length >= 5);
    for (const n of versions) {
      assert.equal(typeof n.data.size, 'number', `${n.data.id} has a size`);
      const obj = await raw(srv.url, 'HEAD', api(`/objects/${n.data.objectId}`));
      assert.equal(obj.status, 200);
      assert.equal(n.data.size, Number(obj.headers['content-length']), `${n.data.path}`);
    }
    const model = versions.find((n) => n.data.path === 'models/model.json')!;
    assert.equal(model.data.size, (await json('/tree?path=models/model.json')).entry.size);
    assert.ok(versions.some((n) => n.data.path === 'train.mjs'), 'an input no run produced is sized too');
    for (const n of g.nodes as Node[]) if (n.data.type !== 'metrics') assert.equal(n.data.metrics, undefined);
  });

  it('metrics nodes carry their parsed JSON (<= 64 KiB), or why not', async () => {
    const g = await json('/lineage?node=HEAD:metrics/eval.json&depth=1');
    const m = (g.nodes as Node[]).find((n) => n.data.id === g.root)!;
    assert.equal(m.data.type, 'metrics');
    const bytes = (await get(api('/file?path=metrics/eval.json'))).body;
    assert.deepEqual(m.data.metrics, JSON.parse(bytes.toString('utf8')));
    assert.equal(m.data.size, bytes.length);
    // A model's metrics in one request: downstream, metrics only (runs bridged by derived edges).
    const mg = await json('/lineage?node=HEAD:models/model.json&direction=down&depth=1&types=metrics');
    const fromModel = (mg.nodes as Node[]).filter((n) => n.data.type === 'metrics');
    assert.deepEqual(fromModel.map((n) => n.data.metrics), [m.data.metrics]);
    // The synthetic run's outputs: one parsed, one too large.
    const s = await json(`/lineage?node=r:${noLogRun}&depth=1&direction=down`);
    const odd = (s.nodes as Node[]).find((n) => n.data.path === oddPath)!;
    assert.deepEqual(odd.data.metrics, oddMetrics);
    const big = (s.nodes as Node[]).find((n) => n.data.path === bigMetricsPath)!;
    assert.equal(big.data.size, bigMetrics.length);
    assert.equal(big.data.metrics, undefined);
    assert.match(big.data.metricsError, /larger than 65536 bytes/);
  });
});

describe('GET /lineage/search', () => {
  it('finds versions by path substring (newest first) with ids the lineage endpoint accepts', async () => {
    const r = await json('/lineage/search?q=RAW.csv');
    const hits = r.nodes.filter((n: { path?: string }) => n.path === 'data/raw.csv');
    assert.equal(hits.length, 2);
    assert.equal(r.nodes[0].path, 'data/raw.csv');
    const versions = (await json('/versions?path=data/raw.csv')).versions;
    assert.deepEqual(hits.map((n: { objectId: string }) => n.objectId), versions.map((v: { id: string }) => v.id));
    assert.equal(hits[0].type, 'dataset');
    assert.equal(hits[0].label, `raw.csv@${versions[0].id.slice(0, 8)}`);
    assert.equal(hits[0].id, `v:${versions[0].id}:data/raw.csv`);
    const g = await json(`/lineage?node=${encodeURIComponent(hits[1].id)}&depth=1`);
    assert.equal(g.root, hits[1].id);
    assert.ok((g.nodes as Node[]).some((n) => n.data.id === hits[1].id && n.data.label === hits[1].label));
  });

  it('finds runs by id prefix and by stage name', async () => {
    const runs = (await json('/runs?stage=train')).runs as Array<{ id: string }>;
    assert.equal(runs.length, 2);
    const byId = await json(`/lineage/search?q=${runs[1].id.slice(0, 23)}`);
    assert.equal(byId.nodes[0].id, `r:${runs[1].id}`);
    assert.equal(byId.nodes[0].type, 'run');
    assert.equal(byId.nodes[0].label, 'train');
    assert.equal(byId.nodes[0].match, 'run');
    const byStage = await json('/lineage/search?q=train');
    const stageHits = byStage.nodes.filter((n: { match: string }) => n.match === 'stage');
    assert.deepEqual(stageHits.map((n: { runId: string }) => n.runId), runs.map((x) => x.id), 'both train runs, newest first');
    assert.ok(byStage.nodes.some((n: { path?: string }) => n.path === 'train.mjs'), 'and the path train.mjs');
    const g = await json(`/lineage?node=${encodeURIComponent(stageHits[0].id)}&depth=1`);
    assert.equal(g.root, stageHits[0].id);
  });

  it('LIKE wildcards in q are literal', async () => {
    const pct = await json('/lineage/search?q=' + encodeURIComponent('%'));
    assert.deepEqual(pct.nodes.map((n: { id: string }) => n.id).sort(), [`r:${noLogRun}`, pct.nodes.find((n: { path?: string }) => n.path === oddPath)?.id].sort());
    const under = await json('/lineage/search?q=_');
    assert.deepEqual(new Set(under.nodes.map((n: { label: string; path?: string }) => n.path ?? n.label)), new Set([oddPath, 'score_100%']));
    const both = await json('/lineage/search?q=' + encodeURIComponent('0%_s'));
    assert.deepEqual(both.nodes.map((n: { path?: string }) => n.path), [oddPath]);
    assert.deepEqual((await json('/lineage/search?q=' + encodeURIComponent('\\'))).nodes, []);
  });

  it('limit, truncation and bad parameters', async () => {
    const all = await json('/lineage/search?q=data/');
    assert.equal(all.truncated, false);
    assert.ok(all.nodes.length >= 6);
    const one = await json('/lineage/search?q=data/&limit=2');
    assert.equal(one.nodes.length, 2);
    assert.equal(one.truncated, true);
    assert.deepEqual(one.nodes, all.nodes.slice(0, 2));
    assert.equal((await json('/lineage/search?q=data/&limit=100000')).limit, 100);
    assert.equal((await json('/lineage/search', 400)).error.code, 'INVALID_ARGUMENT');
    assert.equal((await json('/lineage/search?q=%20', 400)).error.code, 'INVALID_ARGUMENT');
    assert.equal((await json('/lineage/search?q=a&limit=-1', 400)).error.code, 'INVALID_ARGUMENT');
    assert.deepEqual((await json('/lineage/search?q=zzz-no-such-thing')).nodes, []);
  });
});
