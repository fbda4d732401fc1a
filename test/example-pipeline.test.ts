/**
 * The fraud example (docs/examples/fraud) runs with plain Node: its strata.yaml parses, its stages
 * run in DAG order via their `cmd`, and every output is byte-identical across two runs.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { exec } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hashFile, initHash } from '../core/hash/index.js';
import { buildDag } from '../core/pipeline/dag.js';
import { signatureOfStage, staleReasons } from '../core/pipeline/signature.js';
import { loadPipeline, readParams, type PipelineSpec } from '../core/pipeline/spec.js';

const run = promisify(exec);
const here = dirname(fileURLToPath(import.meta.url));
// From test/ when run with tsx, from dist/test/ when compiled.
const EXAMPLE = [join(here, '..', 'docs', 'examples', 'fraud'), join(here, '..', '..', 'docs', 'examples', 'fraud')].find((p) =>
  existsSync(join(p, 'strata.yaml')),
)!;
const env = { ...process.env, PATH: dirname(process.execPath) + delimiter + (process.env.PATH ?? '') };

async function copyExample(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  await cp(EXAMPLE, dir, { recursive: true, filter: (src) => !/[\\/](data|models|metrics)$/.test(src) });
  return dir;
}

/** Run the given stages' commands in order; return {path: blake3 id} of every output. */
async function runStages(dir: string, spec: PipelineSpec, stages: string[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const name of stages) {
    const st = spec.stages.find((s) => s.name === name)!;
    await run(st.cmd, { cwd: join(dir, st.wdir), env: { ...env, ...st.env }, timeout: 20_000 });
    for (const o of st.outs) ids[o.path] = (await hashFile(join(dir, o.path))).id;
  }
  return ids;
}

describe('fraud example pipeline', () => {
  let root: string;
  before(async () => {
    await initHash();
    root = await mkdtemp(join(tmpdir(), 'strata-fraud-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('parses, is wired ingest -> clean -> features -> train -> evaluate, and names existing params', async () => {
    const spec = (await loadPipeline(EXAMPLE))!;
    const g = buildDag(spec);
    assert.deepEqual(g.order(), ['ingest', 'clean', 'features', 'train', 'evaluate']);
    assert.deepEqual(g.parents('evaluate'), ['features', 'train']);
    const types = Object.fromEntries(spec.stages.flatMap((s) => s.outs.map((o) => [o.path, o.type])));
    assert.deepEqual(types, {
      'data/raw.csv': 'dataset',
      'data/clean.csv': 'dataset',
      'metrics/clean.json': 'metrics',
      'data/features.csv': 'dataset',
      'models/model.json': 'model',
      'metrics/eval.json': 'metrics',
    });
    for (const st of spec.stages) {
      const values = await readParams(EXAMPLE, st.params);
      assert.equal(Object.keys(values).length, st.params.length);
    }
  });

  it('runs with node alone and produces byte-identical outputs twice; a param change re-trains', async () => {
    const [a, b] = await Promise.all([copyExample(root, 'a'), copyExample(root, 'b')]);
    const spec = (await loadPipeline(a))!;
    const order = buildDag(spec).order();
    const [idsA, idsB] = await Promise.all([runStages(a, spec, order), runStages(b, spec, order)]);
    assert.equal(Object.keys(idsA).length, 6);
    assert.deepEqual(idsA, idsB);

    const raw = (await readFile(join(a, 'data/raw.csv'), 'utf8')).split('\n');
    assert.equal(raw[0], 'id,user,timestamp,amount,merchant,is_fraud');
    assert.equal(raw.length - 2, 5000);
    const clean = JSON.parse(await readFile(join(a, 'metrics/clean.json'), 'utf8'));
    assert.ok(clean.dropped.malformed > 0 && clean.dropped.below_min_amount > 0, JSON.stringify(clean));
    const evalM = JSON.parse(await readFile(join(a, 'metrics/eval.json'), 'utf8'));
    for (const k of ['accuracy', 'precision', 'recall', 'auc']) assert.equal(typeof evalM[k], 'number', k);
    assert.ok(evalM.auc > 0.8, `auc ${evalM.auc}`);
    const model = JSON.parse(await readFile(join(a, 'models/model.json'), 'utf8'));
    assert.equal(model.weights.length, model.features.length);

    // Change train.lr in copy b: staleness names it, and only train/evaluate outputs change.
    const trainStage = spec.stages.find((s) => s.name === 'train')!;
    const depIds = async (dir: string) =>
      Object.fromEntries(await Promise.all(trainStage.deps.map(async (d) => [d, (await hashFile(join(dir, d))).id] as const)));
    const before = { cmd: trainStage.cmd, deps: await depIds(b), params: await readParams(b, trainStage.params), outs: { 'models/model.json': idsB['models/model.json']! } };
    const paramsPath = join(b, 'params.yaml');
    await writeFile(paramsPath, (await readFile(paramsPath, 'utf8')).replace('lr: 0.3', 'lr: 0.1'));
    const nowParams = await readParams(b, trainStage.params);
    assert.deepEqual(staleReasons(before, { ...before, params: nowParams }), ['param train.lr changed 0.3 -> 0.1']);
    assert.notEqual(signatureOfStage(trainStage, before.deps, before.params), signatureOfStage(trainStage, before.deps, nowParams));

    const idsB2 = await runStages(b, spec, ['train', 'evaluate']);
    assert.notEqual(idsB2['models/model.json'], idsA['models/model.json']);
    assert.equal((await hashFile(join(b, 'data/features.csv'))).id, idsA['data/features.csv']);
  });
});
