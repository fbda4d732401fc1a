/**
 * Check results in the lineage (issue 14), through the real CLI: a version judged by `strata check`
 * or by the run that produced it shows its results in `strata lineage` (text and --json), and the
 * OpenLineage events of real `strata run` / `strata repro` runs carry them as dataQualityAssertions
 * (outputs: the run's own judgement; inputs: the newest recorded one) and dataQualityMetrics (inputs),
 * every event valid against the official schemas (root and each facet against its _schemaURL).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { eventProblems } from './helpers/openlineage-schema.js';

interface Assertion {
  assertion: string;
  success: boolean;
  column?: string;
  severity?: string;
  name?: string;
  params?: Record<string, unknown>;
}
interface Dataset {
  name: string;
  facets: Record<string, Record<string, unknown>>;
  inputFacets?: Record<string, Record<string, unknown>>;
  outputFacets?: Record<string, Record<string, unknown>>;
}
interface Event {
  eventType: string;
  job: { name: string };
  inputs: Dataset[];
  outputs: Dataset[];
}

const RAW = 'id,user_id,amount\n1,u1,10\n2,,20\n3,u3,-5\n4,,7\n5,u5,3\n6,,1\n';
const CHECKS = `tables:
  data/raw.csv:
    - {kind: unique, columns: [id]}
    - {kind: not_null, columns: [user_id]}
    - {kind: row_count, min: 1}
  data/clean.csv:
    - {kind: not_null, columns: [user_id]}
    - {kind: unique, columns: [id]}
    - {kind: range, column: amount, min: 0, severity: warn}
    - {kind: row_count, min: 1}
  data/copy.csv:
    - {kind: not_null, columns: [user_id]}
`;
const CLEAN_CMD = "grep -v ',,' data/raw.csv > data/clean.csv";

function byName(list: Assertion[]): Map<string, Assertion> {
  return new Map(list.map((a) => [a.name!, a]));
}

describe('check results in lineage and OpenLineage', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let events: Event[] = [];
  const readEvents = async (): Promise<Event[]> => (await readFile(join(dir, 'events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Event);

  before(async () => {
    ({ dir, cleanup } = await tempDir('strata-lineage-checks-'));
    await ok(dir, ['init', '-q', '.']);
    await writeFiles(dir, { 'data/raw.csv': RAW, 'strata.checks.yaml': CHECKS });
    await ok(dir, ['add', 'data/raw.csv', 'strata.checks.yaml']);
    // The raw table fails an error-level check: `strata check` says so and records it.
    const c = await strata(dir, ['check']);
    assert.equal(c.code, 18, c.stdout + c.stderr);
    await ok(dir, ['commit', '-q', '-m', 'raw', '--no-verify']);
    await ok(dir, ['config', 'set', 'openlineage.file', 'events.jsonl']);
    await ok(dir, ['run', '-n', 'clean', '-d', 'data/raw.csv', '-o', 'data/clean.csv', '--', CLEAN_CMD]);
    events = await readEvents();
  });
  after(async () => cleanup());

  it('every event of the run is valid against the official schemas', () => {
    assert.deepEqual(events.map((e) => e.eventType), ['START', 'COMPLETE']);
    for (const e of events) assert.deepEqual(eventProblems(e), [], `${e.eventType} event`);
  });

  it("an output carries the run's own judgement as dataQualityAssertions: passes, and a warn-level failure as success false", () => {
    const complete = events[1]!;
    const out = complete.outputs.find((d) => d.name.endsWith('/data/clean.csv'))!;
    const facet = out.facets.dataQualityAssertions!;
    assert.equal(facet._schemaURL, 'https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet');
    const a = byName(facet.assertions as Assertion[]);
    assert.deepEqual([...a.keys()].sort(), ['not_null(user_id)', 'range(amount)', 'row_count', 'unique(id)']);
    assert.deepEqual(a.get('not_null(user_id)'), { assertion: 'not_null', success: true, column: 'user_id', severity: 'error', name: 'not_null(user_id)', params: { status: 'pass', failing: 0 } });
    assert.equal(a.get('unique(id)')!.success, true);
    assert.equal(a.get('row_count')!.column, undefined, 'a whole-table check names no column');
    // -5 is out of range: found an issue (success false) though its severity only warns.
    assert.deepEqual(a.get('range(amount)'), { assertion: 'range', success: false, column: 'amount', severity: 'warn', name: 'range(amount)', params: { status: 'warn', failing: 1 } });
    // Metrics are an input facet in the spec: not on outputs.
    assert.equal(out.outputFacets, undefined);
    assert.equal(out.inputFacets, undefined);
    // START judged nothing yet.
    assert.equal(events[0]!.outputs[0]!.facets.dataQualityAssertions, undefined);
  });

  it('an input carries its newest recorded results as input facets: assertions and the metrics the checks counted', () => {
    for (const e of events) {
      const raw = e.inputs.find((d) => d.name.endsWith('/data/raw.csv'))!;
      assert.equal(raw.facets.dataQualityAssertions, undefined, 'input facets, not dataset facets');
      const a = byName(raw.inputFacets!.dataQualityAssertions!.assertions as Assertion[]);
      assert.equal(a.get('not_null(user_id)')!.success, false);
      assert.equal(a.get('not_null(user_id)')!.severity, 'error');
      assert.deepEqual(a.get('not_null(user_id)')!.params, { status: 'fail', failing: 3 });
      assert.equal(a.get('unique(id)')!.success, true);
      assert.equal(a.get('row_count')!.success, true);
      const m = raw.inputFacets!.dataQualityMetrics!;
      assert.equal(m._schemaURL, 'https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet');
      assert.equal(m.rowCount, 6);
      assert.deepEqual(m.columnMetrics, { user_id: { nullCount: 3 } });
    }
  });

  it('strata lineage shows the results of each version (text and --json)', async () => {
    const text = (await ok(dir, ['lineage', 'data/clean.csv', '--upstream'])).stdout;
    const lines = text.split('\n');
    assert.ok(lines.some((l) => /^data\/clean\.csv@[0-9a-f]{12} {2}checks: 3 passed, 1 warned \(range\(amount\): 1 row\)$/.test(l)), text);
    assert.ok(lines.some((l) => /data\/raw\.csv@[0-9a-f]{12} {2}checks: 2 passed, 1 failed \(not_null\(user_id\): 3 rows\)$/.test(l)), text);

    const j = JSON.parse((await ok(dir, ['lineage', 'data/raw.csv', '--downstream', '--json'])).stdout) as {
      target: { checks?: { passed: number; failed: number } };
      graph: { nodes: Array<{ kind: string; path?: string; checks?: { passed: number; failed: number; warned: number; errored: number; results: Array<Record<string, unknown>> } }> };
    };
    const raw = j.graph.nodes.find((n) => n.path === 'data/raw.csv')!;
    assert.deepEqual({ ...raw.checks!, results: undefined, time: undefined }, { time: undefined, passed: 2, failed: 1, warned: 0, errored: 0, results: undefined });
    const nn = raw.checks!.results.find((r) => r.name === 'not_null(user_id)')!;
    assert.deepEqual(nn, { name: 'not_null(user_id)', kind: 'not_null', columns: ['user_id'], severity: 'error', status: 'fail', failing: 3, metrics: { rows: 6 } });
    assert.equal(j.target.checks!.failed, 1);
    const clean = j.graph.nodes.find((n) => n.path === 'data/clean.csv')!;
    assert.equal(clean.checks!.warned, 1);
    assert.equal(j.graph.nodes.find((n) => n.kind === 'run')!.checks, undefined);
  });

  it('a version shows its newest judgement: checking it again with other checks replaces what lineage shows', async () => {
    await writeFiles(dir, { 'strata.checks.yaml': CHECKS.replace('    - {kind: range, column: amount, min: 0, severity: warn}\n', '') });
    await ok(dir, ['add', 'data/clean.csv', 'strata.checks.yaml']);
    await ok(dir, ['check', 'data/clean.csv']);
    const text = (await ok(dir, ['lineage', 'data/clean.csv', '--upstream'])).stdout;
    assert.match(text, /^data\/clean\.csv@[0-9a-f]{12} {2}checks: 3 passed$/m);
    // Judged again with the first checks (their results are reused, not recomputed): those are newest again.
    await writeFiles(dir, { 'strata.checks.yaml': CHECKS });
    await ok(dir, ['check', 'data/clean.csv']);
    assert.match((await ok(dir, ['lineage', 'data/clean.csv', '--upstream'])).stdout, /^data\/clean\.csv@[0-9a-f]{12} {2}checks: 3 passed, 1 warned/m);
  });

  it('a version no run touched still shows its results', async () => {
    await writeFiles(dir, { 'data/other.csv': 'id,user_id,amount\n1,u1,1\n', 'strata.checks.yaml': CHECKS + '  data/other.csv:\n    - {kind: row_count, min: 1}\n' });
    await ok(dir, ['add', 'data/other.csv', 'strata.checks.yaml']);
    await ok(dir, ['check', 'data/other.csv']);
    const out = (await ok(dir, ['lineage', 'data/other.csv'])).stdout;
    assert.match(out, /no lineage recorded\nchecks: 1 passed\n/);
  });

  it('repro: a stage whose output fails an error-level check emits FAIL with that assertion false, valid against the schemas', async () => {
    await writeFiles(dir, {
      'strata.checks.yaml': CHECKS,
      'strata.yaml': 'stages:\n  copy:\n    cmd: cp data/raw.csv data/copy.csv\n    deps: [data/raw.csv]\n    outs: [data/copy.csv]\n',
    });
    const before = (await readEvents()).length;
    const r = await strata(dir, ['repro']);
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    const evs = (await readEvents()).slice(before);
    assert.deepEqual(evs.map((e) => `${e.job.name}:${e.eventType}`).filter((s) => s.startsWith('copy:')), ['copy:START', 'copy:FAIL']);
    for (const e of evs) assert.deepEqual(eventProblems(e), [], `${e.job.name} ${e.eventType} event`);
    const fail = evs.find((e) => e.eventType === 'FAIL')! as Event & { run: { facets: { errorMessage: { message: string } } } };
    assert.match(fail.run.facets.errorMessage.message, /not_null\(user_id\) failed on 3 row/);
    const out = fail.outputs.find((d) => d.name.endsWith('/data/copy.csv'))!;
    assert.equal(out.facets.version, undefined, 'the rejected output is not a recorded version');
    const a = byName(out.facets.dataQualityAssertions!.assertions as Assertion[]);
    assert.deepEqual(a.get('not_null(user_id)'), { assertion: 'not_null', success: false, column: 'user_id', severity: 'error', name: 'not_null(user_id)', params: { status: 'fail', failing: 3 } });
  });
});
