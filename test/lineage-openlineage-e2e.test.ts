/**
 * OpenLineage from real runs: `strata run` / `strata repro` emit START and COMPLETE/FAIL events to
 * an HTTP receiver (started here on 127.0.0.1:0) and to a JSON-lines file; the events carry the
 * spec's required fields, Strata version ids, the model type and the git commit; code files (deps
 * git tracks and Strata does not) are in the strata_code job facet, not among the inputs; a repro
 * that restores from the run cache sends a START/COMPLETE run with the restored versions and the
 * strata_cache run facet; an unreachable endpoint only warns.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFile, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { git, gitProject } from './helpers/fraud.js';
import { pathToFileURL } from 'node:url';
import { hashBytes, initHash } from '../core/hash/index.js';
import { eventProblems } from './helpers/openlineage-schema.js';

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

/**
 * Every event is checked against the official schemas (root 2-0-2 and each facet's own
 * `_schemaURL`, newest versions), plus what Strata promises beyond them.
 */
function checkEvent(e: Event): void {
  assert.deepEqual(eventProblems(e), [], `${e.job.name} ${e.eventType} event`);
  assert.match(e.eventTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.match(e.producer, /^https:\/\/github\.com\/strata-data\/strata\/tree\/v\d+\.\d+\.\d+/);
  assert.match(e.run.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
}

describe('OpenLineage events from runs', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  let dir: string;
  let server: Server;
  let url: string;
  const received: Array<{ path: string; type: string; body: Event }> = [];
  const allEvents: Event[] = [];
  let onEvent: (() => void) | null = null;
  /** Resolves once an event matching `pred` has arrived (no timing involved). */
  const eventArrived = (pred: (e: Event) => boolean): Promise<void> =>
    new Promise((res) => {
      const check = (): void => {
        if (received.some((x) => pred(x.body))) {
          onEvent = null;
          res();
        }
      };
      onEvent = check;
      check();
    });

  before(async () => {
    await initHash();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Event;
        // Every event any test here makes must validate against the official schemas.
        allEvents.push(body);
        received.push({ path: req.url ?? '', type: String(req.headers['content-type']), body });
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
        onEvent?.();
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
    const root = await realpath(dir);
    for (const { path, type, body: e } of received) {
      assert.equal(path, '/api/v1/lineage');
      assert.match(type, /application\/json/);
      checkEvent(e);
      assert.equal(e.run.runId, run.id);
      assert.equal(e.job.namespace, `strata://${basename(dir)}`);
      assert.equal(e.job.name, 'train');
      assert.equal(e.job.facets.sourceCodeLocation!.type, 'git');
      assert.equal(e.job.facets.sourceCodeLocation!.version, commit);
      assert.equal(e.job.facets.sourceCodeLocation!.branch, 'main');
      // No remote: the repository's directory as a file:// URL (the facet's url is a URI).
      assert.equal(e.job.facets.sourceCodeLocation!.url, pathToFileURL(git(dir, 'rev-parse', '--show-toplevel')).href);
      assert.equal(e.job.facets.jobType!.jobType, 'STAGE');
      // Naming.md: local files are namespace `file`, name = the absolute path; Strata's own
      // identity (project, path) is the symlinks facet, the content id the version facet.
      // train.sh is code (committed to git, not tracked by Strata): the job facet lists it, the
      // inputs do not. data.csv (not in git) is a dataset.
      assert.deepEqual(e.inputs.map((d) => d.name), [join(root, 'data.csv')]);
      assert.deepEqual(e.job.facets.strata_code, {
        _producer: e.producer,
        _schemaURL: 'https://raw.githubusercontent.com/strata-data/strata/v0.1.0/docs/openlineage/StrataCodeJobFacet.json#/$defs/StrataCodeJobFacet',
        command: 'sh train.sh',
        language: 'shell',
        wdir: '.',
        files: [{ path: 'train.sh', kind: 'file', id: hashBytes('cat data.csv > model.bin\necho 0.9 > /dev/null\n') }],
        git: { commit, dirty: false },
      });
      const inputs = Object.fromEntries(e.inputs.map((d) => [d.name, d]));
      const data = inputs[join(root, 'data.csv')]!;
      assert.equal(data.namespace, 'file');
      assert.deepEqual(data.facets.symlinks!.identifiers, [{ namespace: `strata://${basename(dir)}`, name: 'data.csv', type: 'FILE' }]);
      assert.equal(data.facets.version!.datasetVersion, hashBytes('a,b\n1,2\n'));
      assert.equal(e.outputs[0]!.namespace, 'file');
      assert.equal(e.outputs[0]!.name, join(root, 'model.bin'));
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

  it('a git scp-form remote is sent as an ssh:// URL', async () => {
    git(dir, 'remote', 'add', 'origin', 'git@github.com:acme/fraud.git');
    try {
      received.length = 0;
      await ok(dir, ['run', '-n', 'remote', '-o', 'r.txt', '--', 'echo r > r.txt']);
      assert.equal(received.length, 2);
      for (const { body: e } of received) {
        checkEvent(e);
        assert.equal(e.job.facets.sourceCodeLocation!.url, 'ssh://git@github.com/acme/fraud.git');
        assert.equal(e.job.facets.sourceCodeLocation!.repoUrl, 'git@github.com:acme/fraud.git');
      }
    } finally {
      git(dir, 'remote', 'remove', 'origin');
    }
  });

  it('a failing run emits FAIL with the errorMessage facet', async () => {
    received.length = 0;
    const r = await strata(dir, ['run', '-n', 'broken', '-o', 'x.txt', '--', 'exit 4']);
    assert.equal(r.code, 14);
    assert.deepEqual(received.map((x) => x.body.eventType), ['START', 'FAIL']);
    const fail = received[1]!.body;
    checkEvent(fail);
    assert.match(String(fail.run.facets.errorMessage!.message), /command exited with code 4/);
    assert.equal(fail.run.facets.errorMessage!.programmingLanguage, 'shell');
  });

  it('repro emits events for executed stages only (not for up-to-date ones)', async () => {
    await writeFiles(dir, { 'strata.yaml': 'stages:\n  copy:\n    cmd: cp data.csv copy.csv\n    deps: [data.csv]\n    outs: [copy.csv]\n' });
    received.length = 0;
    await ok(dir, ['repro']);
    // The repro run is the parent run of its stages: its own START/COMPLETE wrap theirs.
    assert.deepEqual(received.map((x) => `${x.body.job.name}:${x.body.eventType}`), ['repro:START', 'copy:START', 'copy:COMPLETE', 'repro:COMPLETE']);
    const [rs, cs, cc, rc] = received.map((x) => x.body);
    for (const e of [rs!, cs!, cc!, rc!]) checkEvent(e);
    assert.equal(rs!.run.runId, rc!.run.runId);
    assert.equal(rs!.job.facets.jobType!.jobType, 'PIPELINE');
    assert.equal(rs!.run.facets.parent, undefined, 'no orchestrator: the repro run is a root');
    for (const e of [cs!, cc!]) {
      assert.deepEqual(e.run.facets.parent!.run, { runId: rs!.run.runId });
      assert.deepEqual(e.run.facets.parent!.job, { namespace: rs!.job.namespace, name: 'repro' });
      assert.deepEqual(e.run.facets.parent!.root, { run: { runId: rs!.run.runId }, job: { namespace: rs!.job.namespace, name: 'repro' } });
    }
    received.length = 0;
    await ok(dir, ['repro']);
    assert.equal(received.length, 0);
  });

  it('stages nest under the parent an orchestrator gives in OPENLINEAGE_PARENT_ID / OPENLINEAGE_ROOT_PARENT_ID', async () => {
    const taskRun = '01934f5e-7b1c-7d2e-9f00-0123456789ab';
    const dagRun = '01934f5e-0000-7000-8000-000000000001';
    await writeFiles(dir, { 'data.csv': 'a,b\n3,4\n' });
    received.length = 0;
    await ok(dir, ['repro'], 0, { env: { OPENLINEAGE_PARENT_ID: `airflow/fraud_dag.train/${taskRun}`, OPENLINEAGE_ROOT_PARENT_ID: `airflow/fraud_dag/${dagRun}` } });
    assert.deepEqual(received.map((x) => `${x.body.job.name}:${x.body.eventType}`), ['repro:START', 'copy:START', 'copy:COMPLETE', 'repro:COMPLETE']);
    const reproRun = received[0]!.body.run.runId;
    for (const { body: e } of received) {
      checkEvent(e);
      const p = e.run.facets.parent!;
      assert.deepEqual(p.root, { run: { runId: dagRun }, job: { namespace: 'airflow', name: 'fraud_dag' } });
      if (e.job.name === 'repro') assert.deepEqual([p.run, p.job], [{ runId: taskRun }, { namespace: 'airflow', name: 'fraud_dag.train' }]);
      else assert.deepEqual([p.run, p.job], [{ runId: reproRun }, { namespace: e.job.namespace, name: 'repro' }]);
    }

    // The separate variables; without a root the parent is the root. A single run nests directly.
    received.length = 0;
    await ok(dir, ['run', '-n', 'child', '-o', 'c.txt', '--', 'echo c > c.txt'], 0, {
      env: { OPENLINEAGE_PARENT_JOB_NAMESPACE: 'airflow', OPENLINEAGE_PARENT_JOB_NAME: 'fraud_dag.score', OPENLINEAGE_PARENT_RUN_ID: taskRun },
    });
    assert.equal(received.length, 2);
    for (const { body: e } of received) {
      checkEvent(e);
      assert.deepEqual(e.run.facets.parent, {
        _producer: e.producer,
        _schemaURL: 'https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet',
        run: { runId: taskRun },
        job: { namespace: 'airflow', name: 'fraud_dag.score' },
        root: { run: { runId: taskRun }, job: { namespace: 'airflow', name: 'fraud_dag.score' } },
      });
    }

    // A malformed value is a warning; the events go out without a parent.
    received.length = 0;
    const bad = await ok(dir, ['run', '--json', '-n', 'child', '-o', 'c.txt', '--', 'echo c > c.txt'], 0, { env: { OPENLINEAGE_PARENT_ID: 'airflow/not-a-uuid' } });
    const { warnings } = JSON.parse(bad.stdout) as { warnings: string[] };
    assert.ok(warnings.some((w) => /OPENLINEAGE_PARENT_ID must give <namespace>\/<job name>\/<run UUID>/.test(w)), warnings.join('\n'));
    assert.equal(received.length, 2);
    for (const { body: e } of received) assert.equal(e.run.facets.parent, undefined);
  });

  it('a repro that restores from the run cache sends a run of the stage with the restored versions and the strata_cache facet', async () => {
    const root = await realpath(dir);
    const runsOf = async (): Promise<Array<{ id: string; stage: string; status: string; cachedFrom: string | null; signature: string; deps: Array<{ path: string; id: string }> }>> => {
      const out = JSON.parse((await ok(dir, ['runs', '--json', '--stage', 'copy'])).stdout) as unknown;
      return (Array.isArray(out) ? out : (out as { runs: never[] }).runs) as never;
    };
    const reproRestoring = async (content: string): Promise<{ events: Event[]; runId: string; cachedFrom: string }> => {
      await writeFiles(dir, { 'data.csv': content });
      received.length = 0;
      const r = JSON.parse((await ok(dir, ['repro', '--json'])).stdout) as { stages: Array<{ stage: string; action: string; runId: string; cachedFrom: string }>; warnings: string[] };
      assert.deepEqual(r.warnings, []);
      const st = r.stages.find((x) => x.stage === 'copy')!;
      assert.equal(st.action, 'restored');
      const events = received.map((x) => x.body);
      // The file transport got the same events.
      const lines = (await readFile(join(dir, 'lineage-events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Event);
      assert.deepEqual(lines.slice(-events.length), events);
      return { events, runId: st.runId, cachedFrom: st.cachedFrom };
    };
    const check = (events: Event[], o: { runId: string; reused: { id: string; signature: string }; original: string; content: string }): void => {
      // A run of job `copy` inside the repro run, like an executed one.
      assert.deepEqual(events.map((e) => `${e.job.name}:${e.eventType}`), ['repro:START', 'copy:START', 'copy:COMPLETE', 'repro:COMPLETE']);
      const [rs, cs, cc] = events;
      for (const e of events) checkEvent(e);
      for (const e of [cs!, cc!]) {
        assert.equal(e.run.runId, o.runId);
        assert.equal(e.job.namespace, `strata://${basename(dir)}`);
        assert.deepEqual(e.run.facets.parent!.run, { runId: rs!.run.runId });
        assert.deepEqual(e.run.facets.strata_cache, {
          _producer: e.producer,
          _schemaURL: 'https://raw.githubusercontent.com/strata-data/strata/v0.1.0/docs/openlineage/StrataCacheRunFacet.json#/$defs/StrataCacheRunFacet',
          executed: false,
          reusedRun: { runId: o.reused.id },
          originalRun: { runId: o.original },
          signature: o.reused.signature,
        });
        assert.deepEqual(e.inputs.map((d) => [d.name, d.facets.version!.datasetVersion]), [[join(root, 'data.csv'), hashBytes(o.content)]]);
        assert.deepEqual(e.outputs.map((d) => d.name), [join(root, 'copy.csv')]);
        assert.equal(e.job.facets.strata_code!._schemaURL, 'https://raw.githubusercontent.com/strata-data/strata/v0.1.0/docs/openlineage/StrataCodeJobFacet.json#/$defs/StrataCodeJobFacet');
      }
      assert.equal(cs!.outputs[0]!.facets.version, undefined);
      // The COMPLETE carries the restored version: backends make it the dataset's current one.
      assert.equal(cc!.outputs[0]!.facets.version!.datasetVersion, hashBytes(o.content));
      assert.equal(cc!.run.facets.errorMessage, undefined);
    };

    // data.csv back to the content of the first copy run: its output is restored, nothing runs.
    const v1 = 'a,b\n1,2\n';
    const v2 = 'a,b\n3,4\n';
    const before = await runsOf();
    const first = before.filter((r) => r.status === 'ok' && r.deps.some((d) => d.path === 'data.csv' && d.id === hashBytes(v1)));
    assert.equal(first.length, 1, 'one executed copy run read v1');
    const a = await reproRestoring(v1);
    assert.equal(a.cachedFrom, first[0]!.id);
    check(a.events, { runId: a.runId, reused: first[0]!, original: first[0]!.id, content: v1 });
    assert.equal(await readFile(join(dir, 'copy.csv'), 'utf8'), v1);

    // Back to v2 (restored from the run under the orchestrator), then v1 again: the newest run
    // with that signature is the restore above, so it is the run reused and the first run the
    // original: the facet names both.
    await reproRestoring(v2);
    const c = await reproRestoring(v1);
    const runs = await runsOf();
    const reused = runs.find((r) => r.id === a.runId)!;
    assert.equal(reused.status, 'cached');
    assert.equal(c.cachedFrom, first[0]!.id);
    check(c.events, { runId: c.runId, reused, original: first[0]!.id, content: v1 });
    assert.notEqual(reused.id, first[0]!.id);
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} during a run: the command stops, the run is recorded as failed and ABORT (with no outputs) is sent`, async () => {
      received.length = 0;
      const child = spawn(process.execPath, [BIN, 'run', '-n', 'slow', '-o', 'never.txt', '--', 'sleep 60 && echo x > never.txt'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
      await eventArrived((e) => e.job.name === 'slow' && e.eventType === 'START');
      child.kill(sig);
      const code = await exited;
      assert.equal(code, 14, stderr);
      assert.match(stderr, new RegExp(`interrupted by ${sig}`));
      assert.deepEqual(received.map((x) => x.body.eventType), ['START', 'ABORT']);
      const abort = received[1]!.body;
      checkEvent(abort);
      assert.equal(abort.run.runId, received[0]!.body.run.runId);
      assert.deepEqual(abort.outputs, [], 'never.txt was never produced');
      assert.match(String(abort.run.facets.errorMessage!.message), new RegExp(`slow: interrupted by ${sig}`));
      const runs = JSON.parse((await ok(dir, ['runs', '--json', '--status', 'failed'])).stdout) as Array<{ id: string; error: string }> | { runs: Array<{ id: string; error: string }> };
      const list = Array.isArray(runs) ? runs : runs.runs;
      assert.match(list.find((r) => r.id === abort.run.runId)!.error, new RegExp(`interrupted by ${sig}`));
    });
  }

  it('a failed command sends FAIL without the outputs it never produced', async () => {
    received.length = 0;
    await ok(dir, ['run', '-n', 'nope', '-o', 'nope.txt', '--', 'exit 3'], 14);
    assert.deepEqual(received.map((x) => [x.body.eventType, x.body.outputs.length]), [['START', 1], ['FAIL', 0]]);
  });

  it('an unreachable endpoint warns but the run succeeds; its events wait in the spool for the endpoint', async () => {
    await ok(dir, ['config', 'set', 'openlineage.url', 'http://127.0.0.1:1/api/v1/lineage']);
    await ok(dir, ['config', 'unset', 'openlineage.file']);
    const env = { STRATA_CONFIG_OPENLINEAGE_RETRIES: '0' };
    const r = await strata(dir, ['run', '--json', '-n', 'fine', '-o', 'y.txt', '--', 'echo y > y.txt'], { env });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { run: { status: string }; warnings: string[] };
    assert.equal(out.run.status, 'ok');
    assert.ok(out.warnings.length >= 1);
    assert.match(out.warnings[0]!, /^OpenLineage http:\/\/127\.0\.0\.1:1\/api\/v1\/lineage: /);
    assert.match(r.stderr, /warning: OpenLineage http:\/\/127\.0\.0\.1:1/);
    const text = await strata(dir, ['run', '-n', 'fine', '-o', 'y.txt', '--', 'echo y > y.txt'], { env });
    assert.equal(text.code, 0);
    assert.match(text.stderr, /warning: OpenLineage .*the run itself is unaffected/);
    await ok(dir, ['config', 'set', 'openlineage.url', url]);
    // Both runs' events were kept; flushing sends them to the endpoint now configured, in order.
    received.length = 0;
    const f = await ok(dir, ['lineage', 'flush']);
    assert.match(f.stdout, /^sent 4 of 4 spooled event\(s\)/);
    assert.deepEqual(received.map((x) => `${x.body.job.name}:${x.body.eventType}`), ['fine:START', 'fine:COMPLETE', 'fine:START', 'fine:COMPLETE']);
    for (const x of received) checkEvent(x.body);
  });

  it('openlineage.namespace overrides the default namespace', async () => {
    await ok(dir, ['config', 'set', 'openlineage.namespace', 'team-fraud']);
    received.length = 0;
    await ok(dir, ['run', '-n', 'ns', '-o', 'z.txt', '--', 'echo z > z.txt']);
    assert.equal(received.length, 2);
    for (const { body: e } of received) {
      assert.equal(e.job.namespace, 'team-fraud');
      // Datasets keep their Naming.md names: the namespace setting renames jobs only.
      assert.equal(e.outputs[0]!.namespace, 'file');
      assert.equal((e.outputs[0]!.facets.symlinks!.identifiers as Array<{ namespace: string }>)[0]!.namespace, `strata://${basename(dir)}`);
    }
  });

  it('code or data: git-tracked deps (files, directories, files only added to the index) are code; Strata-tracked ones and untracked ones are data; in a project below the git root', async () => {
    const t = await tempDir('strata-olcode-');
    try {
      const top = t.dir;
      const proj = join(top, 'proj');
      git(top, 'init', '-q', '-b', 'main');
      git(top, 'config', 'user.name', 'Test User');
      git(top, 'config', 'user.email', 'test@example.com');
      git(top, 'config', 'commit.gpgsign', 'false');
      await writeFiles(proj, { 'step.sh': 'cat "$@"\n', 'src/a.sh': 'true\n', 'ref.csv': 'r\n1\n', '.gitignore': '/.strata/\n/ev.jsonl\n' });
      await ok(proj, ['init']);
      git(top, 'add', '-A');
      git(top, 'commit', '-q', '-m', 'code');
      // Only in the index; and a file git does not know.
      await writeFiles(proj, { 'new.sh': 'true\n', 'in.csv': 'x\n1\n' });
      git(top, 'add', 'proj/new.sh');
      // Committed to git, but tracked by Strata as well: data.
      await ok(proj, ['add', 'ref.csv']);
      await ok(proj, ['config', 'set', 'openlineage.file', 'ev.jsonl']);
      await writeFiles(proj, {
        'strata.yaml':
          'stages:\n  one:\n    cmd: sh step.sh in.csv ref.csv > mid.csv\n    deps: [src, step.sh, new.sh, in.csv, ref.csv]\n    outs: [mid.csv]\n' +
          '  two:\n    cmd: sh step.sh mid.csv > out.csv\n    deps: [mid.csv, step.sh]\n    outs: [out.csv]\n',
      });
      await ok(proj, ['repro']);
      const events = (await readFile(join(proj, 'ev.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Event);
      const root = await realpath(proj);
      const complete = (stage: string): Event => events.find((e) => e.job.name === stage && e.eventType === 'COMPLETE')!;
      const files = (e: Event): Array<[string, string]> => (e.job.facets.strata_code!.files as Array<{ path: string; kind: string }>).map((f) => [f.path, f.kind]);
      for (const e of events) checkEvent(e);
      assert.deepEqual(files(complete('one')), [['new.sh', 'file'], ['src', 'dir'], ['step.sh', 'file']]);
      assert.deepEqual(complete('one').inputs.map((d) => d.name).sort(), [join(root, 'in.csv'), join(root, 'ref.csv')]);
      // An output of another stage is tracked by Strata: data.
      assert.deepEqual(files(complete('two')), [['step.sh', 'file']]);
      assert.deepEqual(complete('two').inputs.map((d) => d.name), [join(root, 'mid.csv')]);
      assert.equal((complete('one').job.facets.strata_code!.files as Array<{ id: string }>)[2]!.id, hashBytes('cat "$@"\n'));
      // The pipeline run has no code facet (it has no deps of its own).
      assert.equal(events.find((e) => e.job.name === 'repro')!.job.facets.strata_code, undefined);
    } finally {
      await t.cleanup();
    }
  });

  it('every event the runs above sent validates against the official schemas', () => {
    assert.ok(allEvents.length >= 10, `${allEvents.length} events`);
    for (const e of allEvents) checkEvent(e);
  });
});
