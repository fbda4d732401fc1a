/**
 * `strata repro` end to end on the fraud example, through the real binary: first run, nothing
 * stale, a param edit re-runs exactly the affected stages, reverting restores from the run cache
 * without running, dry-run, failures, --jobs, and pipeline errors with file:line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, writeFiles } from './helpers/cli.js';
import { edit, git, gitProject } from './helpers/fraud.js';

interface Outcome {
  stage: string;
  action: string;
  reasons: string[];
  runId?: string;
  cachedFrom?: string;
}
interface Repro {
  stages: Outcome[];
  failed: string[];
  warnings: string[];
}

async function repro(dir: string, args: string[] = [], expect = 0): Promise<Repro> {
  const r = await ok(dir, ['repro', '--json', ...args], expect);
  return JSON.parse(r.stdout) as Repro;
}
const actions = (r: Repro) => Object.fromEntries(r.stages.map((s) => [s.stage, s.action]));
const count = async (dir: string, name: string) => (existsSync(join(dir, name)) ? (await readFile(join(dir, name), 'utf8')).length : 0);

describe('strata repro on the fraud example', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  let dir: string;
  const ids: Record<string, Record<string, string>> = {};

  before(async () => {
    p = await gitProject();
    dir = p.dir;
    // A side-effect counter: one character per execution of train's command (not an output).
    await edit(join(dir, 'strata.yaml'), 'cmd: node train.mjs data/features.csv models/model.json', 'cmd: node train.mjs data/features.csv models/model.json && printf x >> train.count');
    git(dir, 'commit', '-q', '-am', 'count train executions');
  });
  after(async () => p.cleanup());

  const outIds = async () => {
    const out: Record<string, string> = {};
    for (const f of ['data/raw.csv', 'data/clean.csv', 'data/features.csv', 'models/model.json', 'metrics/eval.json']) {
      const r = await ok(dir, ['lineage', f, '--json', '--depth', '0']);
      out[f] = JSON.parse(r.stdout).target.id;
    }
    return out;
  };

  it('first repro runs every stage in order and records ok runs', async () => {
    const r = await repro(dir);
    assert.deepEqual(r.stages.map((s) => s.stage), ['ingest', 'clean', 'features', 'train', 'evaluate']);
    assert.deepEqual(new Set(r.stages.map((s) => s.action)), new Set(['ran']));
    for (const s of r.stages) assert.deepEqual(s.reasons, ['never run']);
    assert.equal(await count(dir, 'train.count'), 1);
    const runs = JSON.parse((await ok(dir, ['runs', '--json'])).stdout) as Array<{ stage: string; status: string; code: { commit: string } }>;
    assert.equal(runs.length, 5);
    assert.ok(runs.every((x) => x.status === 'ok' && x.code.commit === git(dir, 'rev-parse', 'HEAD')));
    ids.first = await outIds();
  });

  it('second repro runs nothing', async () => {
    const r = await repro(dir);
    assert.deepEqual(new Set(r.stages.map((s) => s.action)), new Set(['up-to-date']));
    assert.equal(await count(dir, 'train.count'), 1);
    const text = await ok(dir, ['repro']);
    assert.match(text.stdout, /everything is up to date/);
  });

  it('dry-run names the stale stages and why, and changes nothing', async () => {
    await edit(join(dir, 'params.yaml'), 'lr: 0.3', 'lr: 0.1');
    const r = await ok(dir, ['repro', '--dry-run']);
    assert.match(r.stdout, /^ingest: up to date$/m);
    assert.match(r.stdout, /^features: up to date$/m);
    assert.match(r.stdout, /^train: would run: param train\.lr changed 0\.3 -> 0\.1$/m);
    assert.match(r.stdout, /^evaluate: would run: upstream stage train will run \(models\/model\.json\)$/m);
    assert.equal(await count(dir, 'train.count'), 1);
    const runs = JSON.parse((await ok(dir, ['runs', '--json'])).stdout) as unknown[];
    assert.equal(runs.length, 5);
  });

  it('editing a param re-runs exactly the affected stages', async () => {
    const r = await repro(dir);
    assert.deepEqual(actions(r), { ingest: 'up-to-date', clean: 'up-to-date', features: 'up-to-date', train: 'ran', evaluate: 'ran' });
    assert.deepEqual(r.stages.find((s) => s.stage === 'train')!.reasons, ['param train.lr changed 0.3 -> 0.1']);
    assert.deepEqual(r.stages.find((s) => s.stage === 'evaluate')!.reasons, ['dep models/model.json changed']);
    assert.equal(await count(dir, 'train.count'), 2);
    ids.second = await outIds();
    assert.equal(ids.second['data/features.csv'], ids.first!['data/features.csv']);
    assert.notEqual(ids.second['models/model.json'], ids.first!['models/model.json']);
  });

  it('reverting the edit restores outputs from the run cache without running the command', async () => {
    await edit(join(dir, 'params.yaml'), 'lr: 0.1', 'lr: 0.3');
    const dry = await ok(dir, ['repro', '--dry-run']);
    assert.match(dry.stdout, /^train: would restore from the run cache/m);
    const r = await repro(dir);
    assert.deepEqual(actions(r), { ingest: 'up-to-date', clean: 'up-to-date', features: 'up-to-date', train: 'restored', evaluate: 'restored' });
    assert.equal(await count(dir, 'train.count'), 2, 'train command must not have run');
    const train = r.stages.find((s) => s.stage === 'train')!;
    const cached = JSON.parse((await ok(dir, ['runs', '--json', '--status', 'cached', '--stage', 'train'])).stdout) as Array<{ id: string; cachedFrom: string; log: string | null }>;
    assert.equal(cached.length, 1);
    assert.equal(cached[0]!.id, train.runId);
    const firstTrain = JSON.parse((await ok(dir, ['runs', '--json', '--stage', 'train', '--status', 'ok'])).stdout) as Array<{ id: string }>;
    assert.equal(cached[0]!.cachedFrom, firstTrain[firstTrain.length - 1]!.id);
    assert.deepEqual(await outIds(), ids.first);
    // And then it is up to date.
    assert.deepEqual(new Set((await repro(dir)).stages.map((s) => s.action)), new Set(['up-to-date']));
  });

  it('a deleted output is restored from the store, not recomputed', async () => {
    await writeFile(join(dir, 'models/model.json'), 'tampered');
    const r = await repro(dir);
    assert.equal(actions(r).train, 'restored');
    assert.deepEqual(r.stages.find((s) => s.stage === 'train')!.reasons, ['out models/model.json modified']);
    assert.equal(await count(dir, 'train.count'), 2);
    assert.deepEqual(await outIds(), ids.first);
  });

  it('--force runs the selected stage (and only what it needs to be up to date)', async () => {
    const r = await repro(dir, ['train', '--force']);
    assert.deepEqual(r.stages.map((s) => [s.stage, s.action]), [
      ['ingest', 'ran'],
      ['clean', 'ran'],
      ['features', 'ran'],
      ['train', 'ran'],
    ]);
    assert.equal(await count(dir, 'train.count'), 3);
    // Deterministic stages: same outputs again.
    const now = await outIds();
    assert.equal(now['models/model.json'], ids.first!['models/model.json']);
  });

  it('a failing stage records a failed run and leaves earlier outputs intact', async () => {
    const before = {
      model: await readFile(join(dir, 'models/model.json')),
      features: await readFile(join(dir, 'data/features.csv')),
      evalm: await readFile(join(dir, 'metrics/eval.json')),
    };
    await edit(join(dir, 'params.yaml'), 'epochs: 400', 'epochs: 401');
    const yaml = join(dir, 'strata.yaml');
    const orig = await readFile(yaml, 'utf8');
    await edit(yaml, '&& printf x >> train.count', '&& printf x >> train.count && echo half > models/model.json && echo boom >&2 && exit 3');
    const r = await strata(dir, ['repro']);
    assert.equal(r.code, 14, r.stderr);
    assert.match(r.stdout, /^train: FAILED: command exited with code 3/m);
    assert.match(r.stdout, /^evaluate: skipped: upstream stage train failed$/m);
    assert.match(r.stderr, /boom/);
    assert.match(r.stderr, /error: stage train failed/);
    assert.deepEqual(await readFile(join(dir, 'models/model.json')), before.model, 'previous model is back');
    assert.deepEqual(await readFile(join(dir, 'data/features.csv')), before.features);
    assert.deepEqual(await readFile(join(dir, 'metrics/eval.json')), before.evalm);
    const failed = JSON.parse((await ok(dir, ['runs', '--json', '--status', 'failed'])).stdout) as Array<{ stage: string; exitCode: number; log: string; outs: Array<{ id: string }> }>;
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.stage, 'train');
    assert.equal(failed[0]!.exitCode, 3);
    assert.ok(failed[0]!.outs.every((o) => o.id === ''), 'no output versions for a failed run');
    // The captured log is in the store.
    const log = await ok(dir, ['cat', failed[0]!.log]).catch(() => null);
    if (log) assert.match(log.stdout, /boom/);
    // The failed run's partial model is not a version in the lineage graph.
    const lin = JSON.parse((await ok(dir, ['lineage', 'models/model.json', '--json', '--upstream'])).stdout) as { graph: { nodes: Array<{ kind: string; status?: string }> } };
    assert.ok(lin.graph.nodes.every((n) => n.kind !== 'run' || n.status !== 'failed'));
    await writeFile(yaml, orig);
    await edit(join(dir, 'params.yaml'), 'epochs: 401', 'epochs: 400');
    assert.equal(actions(await repro(dir)).train, 'up-to-date');
  });

  it('gc keeps run objects, logs and outputs needed by the run cache', async () => {
    await ok(dir, ['gc']);
    await edit(join(dir, 'params.yaml'), 'lr: 0.3', 'lr: 0.1');
    const r = await repro(dir);
    assert.equal(actions(r).train, 'restored', 'the lr=0.1 model survived gc');
    await edit(join(dir, 'params.yaml'), 'lr: 0.1', 'lr: 0.3');
    await repro(dir);
  });
});

describe('strata repro: jobs, dry-run and pipeline errors', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  before(async () => {
    p = await gitProject({ example: false });
  });
  after(async () => p.cleanup());

  it('--jobs 2 runs independent stages at the same time', async () => {
    // Each stage waits (up to 20 s) for the other to have started: with one job they would time out.
    const wait = (me: string, other: string) =>
      `node -e "const fs=require('fs');fs.writeFileSync('${me}.started','');const t=Date.now();(function w(){if(fs.existsSync('${other}.started')){fs.mkdirSync('out',{recursive:true});fs.writeFileSync('out/${me}.txt','${me}');}else if(Date.now()-t>20000){process.exit(7)}else setTimeout(w,20)})()"`;
    await writeFiles(p.dir, {
      'strata.yaml': `stages:\n  a:\n    cmd: ${JSON.stringify(wait('a', 'b'))}\n    outs: [out/a.txt]\n  b:\n    cmd: ${JSON.stringify(wait('b', 'a'))}\n    outs: [out/b.txt]\n  c:\n    cmd: cat out/a.txt out/b.txt > out/c.txt\n    deps: [out/a.txt, out/b.txt]\n    outs: [out/c.txt]\n`,
    });
    const r = await ok(p.dir, ['repro', '--jobs', '2']);
    assert.match(r.stdout, /^a: ran/m);
    assert.match(r.stdout, /^b: ran/m);
    assert.match(r.stdout, /^c: ran/m);
    assert.equal(await readFile(join(p.dir, 'out/c.txt'), 'utf8'), 'ab');
  });

  it('a cycle is reported with file:line and exit 12', async () => {
    await writeFiles(p.dir, {
      'strata.yaml': 'stages:\n  one:\n    cmd: cp b.txt a.txt\n    deps: [b.txt]\n    outs: [a.txt]\n  two:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n',
    });
    for (const args of [['repro'], ['repro', '--dry-run'], ['dag']]) {
      const r = await strata(p.dir, args);
      assert.equal(r.code, 12, r.stderr);
      assert.match(r.stderr, /error: strata\.yaml:2:1: the pipeline has a cycle: one -> two -> one/);
      assert.match(r.stderr, /hint: break the cycle/);
    }
  });

  it('malformed YAML and an output claimed twice are reported with file:line:col', async () => {
    await writeFiles(p.dir, { 'strata.yaml': 'stages:\n  a:\n    cmd: echo hi\n    outs: [x.txt\n' });
    let r = await strata(p.dir, ['repro']);
    assert.equal(r.code, 12);
    assert.match(r.stderr, /error: strata\.yaml:\d+:\d+: invalid YAML/);
    await writeFiles(p.dir, { 'strata.yaml': 'stages:\n  a:\n    cmd: echo a > x.txt\n    outs: [x.txt]\n  b:\n    cmd: echo b > x.txt\n    outs: [x.txt]\n' });
    r = await strata(p.dir, ['repro', '--json']);
    assert.equal(r.code, 12);
    const err = JSON.parse(r.stdout).error;
    assert.equal(err.code, 'PIPELINE_INVALID');
    assert.match(err.message, /^strata\.yaml:7:12: output x\.txt claimed by stages a and b/);
  });

  it('a missing input no stage produces stops before anything runs', async () => {
    await writeFiles(p.dir, { 'strata.yaml': 'stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n  b:\n    cmd: cat nope.txt > b.txt\n    deps: [nope.txt]\n    outs: [b.txt]\n' });
    const r = await strata(p.dir, ['repro']);
    assert.equal(r.code, 12);
    assert.match(r.stderr, /strata\.yaml:5:1: stage "b": dep nope\.txt does not exist and no stage produces it/);
    assert.ok(!existsSync(join(p.dir, 'a.txt')), 'nothing ran');
    const runs = await ok(p.dir, ['runs']);
    assert.doesNotMatch(runs.stdout, /stage a/);
  });

  it('--keep-going runs independent stages after a failure', async () => {
    await writeFiles(p.dir, { 'strata.yaml': 'stages:\n  bad:\n    cmd: exit 1\n    outs: [bad.txt]\n  good:\n    cmd: echo ok > good.txt\n    outs: [good.txt]\n' });
    let r = await strata(p.dir, ['repro', '--json']);
    assert.equal(r.code, 14);
    assert.deepEqual(JSON.parse(r.stdout).stages.map((s: Outcome) => s.action), ['failed', 'skipped']);
    r = await strata(p.dir, ['repro', '--keep-going', '--json']);
    assert.equal(r.code, 14);
    assert.deepEqual(JSON.parse(r.stdout).stages.map((s: Outcome) => s.action), ['failed', 'ran']);
  });
});
