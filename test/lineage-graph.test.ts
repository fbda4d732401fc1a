/**
 * Lineage: the graph queries on a real SQLite DB (depth limits, truncation, type filters), and
 * `strata lineage` end to end on the fraud example (upstream of the model, downstream of the raw
 * data, REF:PATH, run ids, commits, dot and mermaid).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, tempDir } from './helpers/cli.js';
import { edit, git, gitProject } from './helpers/fraud.js';
import { initHash, hashBytes } from '../core/hash/index.js';
import { MetaDb } from '../core/meta/db.js';
import { insertRun, serializeRun, type RunRecord } from '../core/meta/runs.js';
import { lineageGraph, upstreamOf, downstreamOf, versionKey, runKey } from '../core/lineage/graph.js';
import type { LineageGraph, RunNode, VersionNode } from '../core/lineage/graph.js';

const hex = (n: number) => hashBytes(String(n));

function fakeRun(i: number, deps: Array<[string, string]>, outs: Array<[string, string, 'dataset' | 'model']>, status: RunRecord['status'] = 'ok'): RunRecord {
  return {
    id: `0190${String(i).padStart(4, '0')}-0000-7000-8000-${String(i).padStart(12, '0')}`,
    stage: `s${i}`,
    status,
    cmd: `cmd ${i}`,
    wdir: '.',
    env: {},
    params: { k: i },
    paramRefs: [{ file: 'params.yaml', key: 'k' }],
    deps: deps.map(([path, id]) => ({ path, id, kind: 'file' as const })),
    outs: outs.map(([path, id, type]) => ({ path, id, type, kind: 'file' as const, size: 1, cache: true })),
    code: { commit: 'c'.repeat(40), branch: 'main', remote: null, dirty: false },
    environment: { node: 'v20', platform: 'linux', arch: 'x64', hostname: 'h', strata: '0.1.0' },
    started: 1000 + i,
    ended: 2000 + i,
    exitCode: 0,
    signal: null,
    log: null,
    signature: hex(1000 + i),
    cachedFrom: null,
    error: null,
    origin: 'pipeline',
  };
}

describe('lineage graph queries (SQLite)', () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let db: MetaDb;
  before(async () => {
    await initHash();
    t = await tempDir();
    db = MetaDb.open(join(t.dir, 'x.db'), { create: true });
    // A chain raw -> r1 -> d1 -> r2 -> d2 -> ... -> r5 -> model, plus a side input per run and a failed run.
    db.tx(() => {
      let prev: [string, string] = ['raw.csv', hex(0)];
      for (let i = 1; i <= 5; i++) {
        const out: [string, string, 'dataset' | 'model'] = i === 5 ? ['model.bin', hex(i), 'model'] : [`d${i}.csv`, hex(i), 'dataset'];
        const r = fakeRun(i, [prev, [`code${i}.py`, hex(100 + i)]], [out]);
        const bytes = serializeRun(r);
        insertRun(db, r, hashBytes(bytes), bytes.toString());
        prev = [out[0], out[1]];
      }
      const f = fakeRun(9, [['raw.csv', hex(0)]], [['junk.csv', hex(99), 'dataset']], 'failed');
      insertRun(db, f, hashBytes(serializeRun(f)), serializeRun(f).toString());
    });
  });
  after(async () => {
    db.close();
    await t.cleanup();
  });

  const runsOf = (g: LineageGraph) => g.nodes.filter((n): n is RunNode => n.kind === 'run').map((n) => n.stage).sort();
  const versionsOf = (g: LineageGraph) => g.nodes.filter((n): n is VersionNode => n.kind === 'version').map((n) => n.path).sort();

  it('upstream of the model walks the whole chain, with params and code', () => {
    const g = upstreamOf(db, 'model.bin', hex(5));
    assert.deepEqual(runsOf(g), ['s1', 's2', 's3', 's4', 's5']);
    assert.deepEqual(versionsOf(g), ['code1.py', 'code2.py', 'code3.py', 'code4.py', 'code5.py', 'd1.csv', 'd2.csv', 'd3.csv', 'd4.csv', 'model.bin', 'raw.csv']);
    assert.equal(g.truncated, false);
    assert.deepEqual(g.roots, [versionKey('model.bin', hex(5))]);
    const s5 = g.nodes.find((n) => n.kind === 'run' && n.stage === 's5') as RunNode;
    assert.deepEqual(s5.params, { k: 5 });
    assert.equal(s5.code?.commit, 'c'.repeat(40));
    assert.equal(s5.depth, 1);
    assert.equal(g.edges.length, 5 * 3);
    assert.ok(g.edges.some((e) => e.from === runKey(s5.id) && e.to === versionKey('model.bin', hex(5)) && e.rel === 'produced'));
  });

  it('depth counts runs and reports truncation', () => {
    const g1 = upstreamOf(db, 'model.bin', hex(5), { depth: 1 });
    assert.deepEqual(runsOf(g1), ['s5']);
    assert.deepEqual(versionsOf(g1), ['code5.py', 'd4.csv', 'model.bin']);
    assert.equal(g1.truncated, true);
    const g2 = upstreamOf(db, 'model.bin', hex(5), { depth: 2 });
    assert.deepEqual(runsOf(g2), ['s4', 's5']);
    assert.equal(upstreamOf(db, 'model.bin', hex(5), { depth: 5 }).truncated, false);
    const g0 = upstreamOf(db, 'model.bin', hex(5), { depth: 0 });
    assert.equal(g0.nodes.length, 1);
    assert.equal(g0.edges.length, 0);
    // From a run, depth 1 = the run and its inputs.
    const r = lineageGraph(db, [{ run: fakeRun(3, [], []).id }], { direction: 'upstream', depth: 1 });
    assert.deepEqual(versionsOf(r), ['code3.py', 'd2.csv']);
    assert.throws(() => upstreamOf(db, 'model.bin', hex(5), { depth: -1 }), /whole number/);
  });

  it('downstream of the raw data reaches the model; failed runs produce nothing', () => {
    const g = downstreamOf(db, 'raw.csv', hex(0));
    assert.ok(versionsOf(g).includes('model.bin'));
    assert.ok(!versionsOf(g).includes('junk.csv'));
    assert.ok(runsOf(g).includes('s9'), 'the failed run used it');
    const models = downstreamOf(db, 'raw.csv', hex(0), { nodeTypes: ['model'] });
    assert.deepEqual(models.nodes.map((n) => n.key).sort(), [versionKey('model.bin', hex(5)), versionKey('raw.csv', hex(0))].sort());
    assert.deepEqual(models.edges, [{ from: versionKey('raw.csv', hex(0)), to: versionKey('model.bin', hex(5)), rel: 'derived' }]);
  });

  it('unknown starts give an empty graph', () => {
    const g = upstreamOf(db, 'nope', hex(12345));
    assert.deepEqual([g.nodes.length, g.edges.length, g.roots.length], [0, 0, 0]);
  });
});

describe('strata lineage on the fraud example', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  let dir: string;
  const id = async (f: string) => hashBytes(await readFile(join(dir, f)));
  before(async () => {
    await initHash();
    p = await gitProject();
    dir = p.dir;
    await ok(dir, ['repro']);
  });
  after(async () => p.cleanup());

  it('upstream of the model lists the exact dataset versions, code commit and params', async () => {
    const r = JSON.parse((await ok(dir, ['lineage', 'models/model.json', '--upstream', '--json'])).stdout) as { target: { path: string; id: string }; graph: LineageGraph };
    assert.equal(r.target.id, await id('models/model.json'));
    const versions = Object.fromEntries(r.graph.nodes.filter((n): n is VersionNode => n.kind === 'version').map((n) => [n.path, n.id]));
    for (const f of ['data/features.csv', 'data/clean.csv', 'data/raw.csv', 'train.mjs', 'lib.mjs', 'features.mjs', 'clean.mjs', 'generate.mjs']) {
      assert.equal(versions[f], await id(f), f);
    }
    assert.equal(r.graph.nodes.find((n) => n.kind === 'version' && n.path === 'models/model.json')!.kind, 'version');
    const runs = r.graph.nodes.filter((n): n is RunNode => n.kind === 'run');
    assert.deepEqual(runs.map((n) => n.stage).sort(), ['clean', 'features', 'ingest', 'train']);
    const head = git(dir, 'rev-parse', 'HEAD');
    for (const run of runs) assert.equal(run.code?.commit, head);
    assert.deepEqual(runs.find((n) => n.stage === 'train')!.params, { 'train.lr': 0.3, 'train.epochs': 400, 'train.l2': 0.001 });
    assert.deepEqual(runs.find((n) => n.stage === 'ingest')!.params, { 'ingest.seed': 42, 'ingest.rows': 5000 });
    assert.equal((r.graph.nodes.find((n) => n.kind === 'version' && n.path === 'models/model.json') as VersionNode).type, 'model');

    const text = (await ok(dir, ['lineage', 'models/model.json', '--upstream'])).stdout;
    assert.match(text, /^models\/model\.json@[0-9a-f]{12}  \(model\)$/m);
    assert.match(text, /produced by run [0-9a-f-]{36}  train  ok  code [0-9a-f]{10}  params train\.epochs=400 train\.l2=0\.001 train\.lr=0\.3/);
    assert.match(text, /data\/raw\.csv@/);
  });

  it('downstream of the raw dataset version lists the models built from it', async () => {
    const raw = await id('data/raw.csv');
    const r = JSON.parse((await ok(dir, ['lineage', 'data/raw.csv', '--downstream', '--type', 'model', '--json'])).stdout) as { graph: LineageGraph };
    const models = r.graph.nodes.filter((n): n is VersionNode => n.kind === 'version' && n.type === 'model');
    assert.deepEqual(models.map((m) => [m.path, m.id]), [['models/model.json', await id('models/model.json')]]);
    assert.ok(r.graph.nodes.some((n) => n.kind === 'version' && n.id === raw));
    const text = (await ok(dir, ['lineage', 'data/raw.csv', '--downstream'])).stdout;
    assert.match(text, /used by run .*  clean  ok/);
    assert.match(text, /models\/model\.json@[0-9a-f]{12}  \(model\)/);
    assert.match(text, /metrics\/eval\.json@/);
  });

  it('after a new model, the old raw version still leads to both models; REF:PATH, run ids and commits work', async () => {
    await ok(dir, ['commit', '-m', 'lr 0.3']);
    const oldModel = await id('models/model.json');
    await edit(join(dir, 'params.yaml'), 'lr: 0.3', 'lr: 0.1');
    await ok(dir, ['repro']);
    const r = JSON.parse((await ok(dir, ['lineage', 'data/raw.csv', '--downstream', '--type', 'model', '--json'])).stdout) as { graph: LineageGraph };
    assert.deepEqual(
      r.graph.nodes.filter((n): n is VersionNode => n.kind === 'version' && n.type === 'model').map((n) => n.id).sort(),
      [oldModel, await id('models/model.json')].sort(),
    );
    // REF:PATH names the committed (lr 0.3) model.
    const old = JSON.parse((await ok(dir, ['lineage', 'HEAD:models/model.json', '--upstream', '--depth', '1', '--json'])).stdout) as { target: { id: string }; graph: LineageGraph };
    assert.equal(old.target.id, oldModel);
    assert.deepEqual((old.graph.nodes.find((n) => n.kind === 'run') as RunNode).params['train.lr'], 0.3);
    assert.equal(old.graph.truncated, true);
    // A run id prefix.
    const train = (old.graph.nodes.find((n) => n.kind === 'run') as RunNode).id;
    const byRun = JSON.parse((await ok(dir, ['lineage', train.slice(0, 20), '--json'])).stdout) as { target: { kind: string; id: string } };
    assert.deepEqual([byRun.target.kind, byRun.target.id], ['run', train]);
    // A commit: its versions and the runs around them.
    const c = JSON.parse((await ok(dir, ['lineage', 'HEAD', '--json'])).stdout) as { target: { kind: string; versions: Array<{ path: string }> }; graph: LineageGraph };
    assert.equal(c.target.kind, 'commit');
    assert.deepEqual(c.target.versions.map((v) => v.path), ['data/clean.csv', 'data/features.csv', 'data/raw.csv', 'metrics/clean.json', 'metrics/eval.json', 'models/model.json']);
    assert.ok(c.graph.nodes.some((n) => n.kind === 'run' && n.stage === 'train'));
    const ctext = (await ok(dir, ['lineage', 'HEAD'])).stdout;
    assert.match(ctext, /^commit [0-9a-f]{64}: 6 of 6 file\(s\) have lineage/);
  });

  it('renders dot and mermaid', async () => {
    const dot = (await ok(dir, ['lineage', 'models/model.json', '--upstream', '--dot'])).stdout;
    assert.match(dot, /^digraph lineage \{/);
    assert.match(dot, /shape=box3d/);
    assert.match(dot, /-> ".*" \[label="produced"\];/);
    const mm = (await ok(dir, ['lineage', 'models/model.json', '--upstream', '--mermaid'])).stdout;
    assert.match(mm, /^flowchart LR$/m);
    assert.match(mm, /-->\|used\|/);
  });

  it('bad targets and flags get clear errors', async () => {
    let r = await strata(dir, ['lineage', 'no/such/thing']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /nothing named "no\/such\/thing"/);
    r = await strata(dir, ['lineage', 'models/model.json', '--upstream', '--downstream']);
    assert.equal(r.code, 2);
    r = await strata(dir, ['lineage', 'models/model.json', '--depth', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--depth must be a whole number/);
    r = await strata(dir, ['lineage', 'HEAD:nope.csv']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /nope\.csv is not in HEAD/);
  });

  it('dag and metrics diff on the example', async () => {
    assert.equal((await ok(dir, ['dag'])).stdout, 'ingest\n  clean           <- ingest\n    features      <- clean\n      train       <- features\n        evaluate  <- features, train\n');
    assert.match((await ok(dir, ['dag', '--mermaid'])).stdout, /^flowchart LR/);
    assert.match((await ok(dir, ['dag', '--dot', '--outs'])).stdout, /"file:models\/model\.json"/);
    const d = JSON.parse((await ok(dir, ['metrics', 'diff', '--json'])).stdout) as { rows: Array<{ path: string; key: string; changed: boolean; change: number | null }> };
    const auc = d.rows.find((x) => x.path === 'metrics/eval.json' && x.key === 'auc')!;
    assert.equal(auc.changed, true, 'lr 0.1 changes the AUC vs HEAD (lr 0.3)');
    assert.equal(typeof auc.change, 'number');
    assert.equal(d.rows.find((x) => x.path === 'metrics/clean.json' && x.key === 'rows_out')!.changed, false);
    const text = (await ok(dir, ['metrics', 'diff'])).stdout;
    assert.match(text, /^path\s+key\s+HEAD\s+workspace\s+change$/m);
    assert.doesNotMatch(text, /rows_out/);
    const show = (await ok(dir, ['metrics', 'show', 'HEAD'])).stdout;
    assert.match(show, /^metrics\/eval\.json\s+auc\s+0\.\d+$/m);
  });
});
