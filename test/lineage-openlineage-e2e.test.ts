/**
 * OpenLineage from real runs: `strata run` / `strata repro` emit START and COMPLETE/FAIL events to
 * an HTTP receiver (started here on 127.0.0.1:0) and to a JSON-lines file; the events carry the
 * spec's required fields, Strata version ids, the model type and the git commit; an unreachable
 * endpoint only warns.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ok, strata, writeFiles } from './helpers/cli.js';
import { git, gitProject } from './helpers/fraud.js';
import { hashBytes, initHash } from '../core/hash/index.js';

interface Facet {
  _producer: string;
  _schemaURL: string;
  [k: string]: unknown;
}
interface Dataset {
  namespace: string;
  name: string;
  facets: Record<string, Facet>;
}
interface Event {
  eventType: string;
  eventTime: string;
  producer: string;
  schemaURL: string;
  run: { runId: string; facets: Record<string, Facet> };
  job: { namespace: string; name: string; facets: Record<string, Facet> };
  inputs: Dataset[];
  outputs: Dataset[];
}

/** The RunEvent's required fields (OpenLineage 2-0-2), checked one by one. */
function checkRequired(e: Event): void {
  assert.match(e.eventTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.ok(!Number.isNaN(Date.parse(e.eventTime)));
  assert.match(e.producer, /^https:\/\/github\.com\/strata-data\/strata\/tree\/v\d+\.\d+\.\d+/);
  assert.equal(e.schemaURL, 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent');
  assert.match(e.run.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER'].includes(e.eventType));
  assert.equal(typeof e.job.namespace, 'string');
  assert.ok(e.job.namespace.length > 0);
  assert.equal(typeof e.job.name, 'string');
  for (const d of [...e.inputs, ...e.outputs]) {
    assert.ok(d.namespace && d.name, 'dataset namespace and name');
  }
  const facets = [...Object.values(e.run.facets), ...Object.values(e.job.facets), ...[...e.inputs, ...e.outputs].flatMap((d) => Object.values(d.facets ?? {}))];
  for (const f of facets) {
    assert.match(f._producer, /^https:\/\//);
    assert.match(f._schemaURL, /^https:\/\/openlineage\.io\/spec\/facets\/.+#\/\$defs\/\w+$/);
  }
}

describe('OpenLineage events from runs', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  let dir: string;
  let server: Server;
  let url: string;
  const received: Array<{ path: string; type: string; body: Event }> = [];

  before(async () => {
    await initHash();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: String(req.headers['content-type']), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Event });
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address() as { port: number };
    url = `http://127.0.0.1:${addr.port}/api/v1/lineage`;
    p = await gitProject({ example: false, files: { 'train.sh': 'cat data.csv > model.bin\necho 0.9 > /dev/null\n' } });
    dir = p.dir;
    await writeFiles(dir, { 'data.csv': 'a,b\n1,2\n' });
    await ok(dir, ['config', 'set', 'openlineage.url', url]);
    await ok(dir, ['config', 'set', 'openlineage.file', 'lineage-events.jsonl']);
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await p.cleanup();
  });

  it('a run emits START then COMPLETE with versions, the model type and the git commit', async () => {
    received.length = 0;
    const r = await ok(dir, ['run', '--json', '-n', 'train', '-d', 'data.csv', '-d', 'train.sh', '--model', 'model.bin', '--', 'sh train.sh']);
    const { run, warnings } = JSON.parse(r.stdout) as { run: { id: string }; warnings: string[] };
    assert.deepEqual(warnings, []);
    assert.deepEqual(received.map((x) => x.body.eventType), ['START', 'COMPLETE']);
    const commit = git(dir, 'rev-parse', 'HEAD');
    for (const { path, type, body: e } of received) {
      assert.equal(path, '/api/v1/lineage');
      assert.match(type, /application\/json/);
      checkRequired(e);
      assert.equal(e.run.runId, run.id);
      assert.equal(e.job.namespace, `strata://${basename(dir)}`);
      assert.equal(e.job.name, 'train');
      assert.equal(e.job.facets.sourceCodeLocation!.type, 'git');
      assert.equal(e.job.facets.sourceCodeLocation!.version, commit);
      assert.equal(e.job.facets.sourceCodeLocation!.branch, 'main');
      assert.equal(e.job.facets.jobType!.jobType, 'STAGE');
      const inputs = Object.fromEntries(e.inputs.map((d) => [d.name, d]));
      assert.equal(inputs['data.csv']!.namespace, `strata://${basename(dir)}`);
      assert.equal(inputs['data.csv']!.facets.version!.datasetVersion, hashBytes('a,b\n1,2\n'));
      assert.equal(e.outputs[0]!.name, 'model.bin');
      assert.equal(e.outputs[0]!.facets.datasetType!.datasetType, 'MODEL');
    }
    const [start, complete] = received.map((x) => x.body);
    assert.equal(start!.outputs[0]!.facets.version, undefined, 'START does not know output versions yet');
    assert.equal(complete!.outputs[0]!.facets.version!.datasetVersion, hashBytes(await readFile(join(dir, 'model.bin'))));
    assert.ok(Date.parse(complete!.eventTime) >= Date.parse(start!.eventTime));

    // The file emitter got the same two events, one JSON document per line.
    const lines = (await readFile(join(dir, 'lineage-events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Event);
    assert.deepEqual(lines, received.map((x) => x.body));
  });

  it('a failing run emits FAIL with the errorMessage facet', async () => {
    received.length = 0;
    const r = await strata(dir, ['run', '-n', 'broken', '-o', 'x.txt', '--', 'exit 4']);
    assert.equal(r.code, 14);
    assert.deepEqual(received.map((x) => x.body.eventType), ['START', 'FAIL']);
    const fail = received[1]!.body;
    checkRequired(fail);
    assert.match(String(fail.run.facets.errorMessage!.message), /command exited with code 4/);
    assert.equal(fail.run.facets.errorMessage!.programmingLanguage, 'shell');
  });

  it('repro emits events for executed stages only (not for up-to-date ones)', async () => {
    await writeFiles(dir, { 'strata.yaml': 'stages:\n  copy:\n    cmd: cp data.csv copy.csv\n    deps: [data.csv]\n    outs: [copy.csv]\n' });
    received.length = 0;
    await ok(dir, ['repro']);
    assert.deepEqual(received.map((x) => `${x.body.job.name}:${x.body.eventType}`), ['copy:START', 'copy:COMPLETE']);
    received.length = 0;
    await ok(dir, ['repro']);
    assert.equal(received.length, 0);
  });

  it('an unreachable endpoint warns but the run succeeds', async () => {
    await ok(dir, ['config', 'set', 'openlineage.url', 'http://127.0.0.1:1/api/v1/lineage']);
    await ok(dir, ['config', 'unset', 'openlineage.file']);
    const r = await strata(dir, ['run', '--json', '-n', 'fine', '-o', 'y.txt', '--', 'echo y > y.txt']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { run: { status: string }; warnings: string[] };
    assert.equal(out.run.status, 'ok');
    assert.ok(out.warnings.length >= 1);
    assert.match(out.warnings[0]!, /^OpenLineage http:\/\/127\.0\.0\.1:1\/api\/v1\/lineage: /);
    assert.match(r.stderr, /warning: OpenLineage http:\/\/127\.0\.0\.1:1/);
    const text = await strata(dir, ['run', '-n', 'fine', '-o', 'y.txt', '--', 'echo y > y.txt']);
    assert.equal(text.code, 0);
    assert.match(text.stderr, /warning: OpenLineage .*the run itself is unaffected/);
    await ok(dir, ['config', 'set', 'openlineage.url', url]);
  });

  it('openlineage.namespace overrides the default namespace', async () => {
    await ok(dir, ['config', 'set', 'openlineage.namespace', 'team-fraud']);
    received.length = 0;
    await ok(dir, ['run', '-n', 'ns', '-o', 'z.txt', '--', 'echo z > z.txt']);
    assert.ok(received.length === 2 && received.every((x) => x.body.job.namespace === 'team-fraud' && x.body.outputs[0]!.namespace === 'team-fraud'));
  });
});
