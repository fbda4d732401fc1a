/**
 * `strata run` through the real binary: deps/outs/params/model/metrics recorded, output streamed
 * and captured in the log, directory outputs as trees, --require-clean, failures and bad input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, writeFiles } from './helpers/cli.js';
import { git, gitProject } from './helpers/fraud.js';
import { Repository } from '../core/repo/index.js';
import { getRun, parseRun } from '../core/meta/runs.js';
import { hashBytes, initHash } from '../core/hash/index.js';

interface Run {
  id: string;
  stage: string;
  status: string;
  cmd: string;
  wdir: string;
  params: Record<string, unknown>;
  paramRefs: Array<{ file: string; key: string }>;
  deps: Array<{ path: string; id: string; kind: string }>;
  outs: Array<{ path: string; id: string; type: string; kind: string }>;
  code: { commit: string; branch: string; dirty: boolean };
  environment: { node: string; platform: string; hostname: string; strata: string };
  exitCode: number;
  log: string;
  signature: string;
}

describe('strata run', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  let dir: string;
  before(async () => {
    await initHash();
    p = await gitProject({
      example: false,
      files: {
        'params.yaml': 'train:\n  lr: 0.5\n  layers: [4, 2]\nother: 1\n',
        'cfg.yaml': 'seed: 7\n',
        'make.mjs': [
          "import fs from 'node:fs';",
          "fs.mkdirSync('models', { recursive: true }); fs.mkdirSync('out/parts', { recursive: true });",
          "const data = fs.readFileSync('input.csv', 'utf8');",
          "fs.writeFileSync('models/m.json', JSON.stringify({ rows: data.split('\\n').length }));",
          "fs.writeFileSync('scores.json', JSON.stringify({ acc: 0.9, nested: { f1: 0.5 } }));",
          "fs.writeFileSync('out/parts/a.txt', 'a'); fs.writeFileSync('out/b.txt', 'b');",
          "console.log('to stdout'); console.error('to stderr');",
        ].join('\n'),
      },
    });
    dir = p.dir;
    await writeFiles(dir, { 'input.csv': 'x,y\n1,2\n' });
  });
  after(async () => p.cleanup());

  it('records deps, params, model, metrics, directory outputs, code, environment and the log', async () => {
    const r = await strata(dir, ['run', '--json', '-n', 'make', '-d', 'input.csv', '-d', 'make.mjs', '-p', 'params.yaml:train.lr,train.layers', '-p', 'cfg.yaml:seed', '--model', 'models/m.json', '--metrics', 'scores.json', '-o', 'out', '--', 'node', 'make.mjs']);
    assert.equal(r.code, 0, r.stderr);
    // The command's stdout goes to stderr with --json, so stdout is one JSON document.
    assert.match(r.stderr, /to stdout/);
    assert.match(r.stderr, /to stderr/);
    const { run, warnings } = JSON.parse(r.stdout) as { run: Run; warnings: string[] };
    assert.deepEqual(warnings, []);
    assert.equal(run.stage, 'make');
    assert.equal(run.status, 'ok');
    assert.equal(run.cmd, 'node make.mjs');
    assert.equal(run.wdir, '.');
    assert.match(run.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(run.params, { 'train.lr': 0.5, 'train.layers': [4, 2], 'cfg.yaml:seed': 7 });
    assert.deepEqual(run.paramRefs, [
      { file: 'params.yaml', key: 'train.lr' },
      { file: 'params.yaml', key: 'train.layers' },
      { file: 'cfg.yaml', key: 'seed' },
    ]);
    assert.deepEqual(run.deps, [
      { path: 'input.csv', id: hashBytes('x,y\n1,2\n'), kind: 'file' },
      { path: 'make.mjs', id: hashBytes(await readFile(join(dir, 'make.mjs'))), kind: 'file' },
    ]);
    const outs = Object.fromEntries(run.outs.map((o) => [o.path, o]));
    assert.equal(outs['models/m.json']!.type, 'model');
    assert.equal(outs['models/m.json']!.id, hashBytes(await readFile(join(dir, 'models/m.json'))));
    assert.equal(outs['scores.json']!.type, 'metrics');
    assert.equal(outs.out!.kind, 'dir');
    assert.equal(outs.out!.type, 'dataset');
    assert.equal(run.code.commit, git(dir, 'rev-parse', 'HEAD'));
    assert.equal(run.code.branch, 'main');
    assert.equal(run.environment.node, process.version);
    assert.equal(run.environment.platform, process.platform);
    assert.ok(run.environment.hostname && run.environment.strata);
    assert.equal(run.exitCode, 0);

    // The run object and the log are in the store; getRun finds the run by a prefix.
    const repo = await Repository.open(dir);
    try {
      const rec = getRun(repo, run.id.slice(0, 18));
      assert.equal(rec.id, run.id);
      const row = repo.db.getRunRow(run.id)!;
      const obj = parseRun(await repo.store.getBytes(row.object, { verify: true }));
      assert.deepEqual(obj, rec);
      const log = (await repo.store.getBytes(run.log, { verify: true })).toString('utf8');
      assert.match(log, /to stdout/);
      assert.match(log, /to stderr/);
      // The directory output is a tree with both files.
      const tree = await repo.readTree(outs.out!.id);
      assert.deepEqual(tree.entries.map((e) => e.name).sort(), ['b.txt', 'parts']);
      // Outputs are staged like strata add.
      const idx = repo.db.loadIndex();
      assert.ok(idx.has('models/m.json') && idx.has('out/parts/a.txt') && idx.has('scores.json'));
    } finally {
      await repo.close();
    }
    const m = JSON.parse((await ok(dir, ['metrics', 'show', '--json'])).stdout) as Array<{ files: Array<{ path: string; values: Record<string, unknown> }> }>;
    assert.deepEqual(m[0]!.files, [{ path: 'scores.json', values: { acc: 0.9, 'nested.f1': 0.5 } }]);
    // A commit of the staged outputs, then lineage of the commit finds them.
    await ok(dir, ['commit', '-m', 'outputs']);
    const lin = JSON.parse((await ok(dir, ['lineage', 'HEAD', '--json'])).stdout) as { target: { kind: string; versions: Array<{ path: string }> } };
    assert.equal(lin.target.kind, 'commit');
    assert.deepEqual(lin.target.versions.map((v) => v.path), ['models/m.json', 'out', 'scores.json']);
  });

  it('--require-clean refuses dirty code with CODE_DIRTY (exit 5) and runs nothing', async () => {
    await writeFile(join(dir, 'make.mjs'), (await readFile(join(dir, 'make.mjs'), 'utf8')) + '\n// edit\n');
    const r = await strata(dir, ['run', '-n', 'x', '--require-clean', '-o', 'x.txt', '--', 'echo hi > x.txt']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /error: the code repository has uncommitted changes/);
    assert.match(r.stderr, /hint: commit them with git/);
    assert.ok(!existsSync(join(dir, 'x.txt')));
    // Without the flag it runs, and the run says the code was dirty.
    const ok2 = JSON.parse((await ok(dir, ['run', '--json', '-n', 'x', '-o', 'x.txt', '--', 'echo hi > x.txt'])).stdout) as { run: Run };
    assert.equal(ok2.run.code.dirty, true);
    git(dir, 'checkout', '--', 'make.mjs');
  });

  it('a failing command is recorded as failed (exit 14) and the earlier output is put back', async () => {
    const before = await readFile(join(dir, 'x.txt'));
    const r = await strata(dir, ['run', '--json', '-n', 'x', '-o', 'x.txt', '--', 'echo partial > x.txt; exit 9']);
    assert.equal(r.code, 14, r.stderr);
    const { run } = JSON.parse(r.stdout) as { run: Run };
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 9);
    assert.deepEqual(await readFile(join(dir, 'x.txt')), before);
    const text = await strata(dir, ['run', '-n', 'x', '-o', 'x.txt', '--', 'exit 2']);
    assert.equal(text.code, 14);
    assert.match(text.stderr, /error: x failed: command exited with code 2/);
  });

  it('a command that does not create its output fails', async () => {
    const r = await strata(dir, ['run', '--json', '-n', 'y', '-o', 'never.txt', '--', 'true']);
    assert.equal(r.code, 14);
    assert.match(JSON.parse(r.stdout).run.error, /did not create output never\.txt/);
  });

  it('bad input gets clear errors and records nothing', async () => {
    const count = async () => (JSON.parse((await ok(dir, ['runs', '--json'])).stdout) as unknown[]).length;
    const n = await count();
    const cases: Array<[string[], number, RegExp]> = [
      [['run', '-o', 'a.txt', '--', 'true'], 2, /a run needs a name/],
      [['run', '-n', 'bad name', '--', 'true'], 2, /invalid run name/],
      [['run', '-n', 'a'], 2, /no command given/],
      [['run', '-n', 'a', '-d', 'missing.csv', '--', 'true'], 4, /dep missing\.csv not found/],
      [['run', '-n', 'a', '-d', 'input.csv', '-o', 'input.csv', '--', 'true'], 2, /overlaps output/],
      [['run', '-n', 'a', '-o', '../outside.txt', '--', 'true'], 8, /outside the repository/],
      [['run', '-n', 'a', '-p', 'params.yaml:train.nope', '--', 'true'], 12, /params file params\.yaml has no key "train\.nope"/],
    ];
    for (const [args, code, re] of cases) {
      const r = await strata(dir, args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /hint: /);
    }
    assert.equal(await count(), n);
  });

  it('runs lists and filters runs', async () => {
    const all = JSON.parse((await ok(dir, ['runs', '--json'])).stdout) as Run[];
    assert.ok(all.length >= 5);
    const failed = JSON.parse((await ok(dir, ['runs', '--json', '--status', 'failed'])).stdout) as Run[];
    assert.ok(failed.length >= 3 && failed.every((r) => r.status === 'failed'));
    const make = JSON.parse((await ok(dir, ['runs', '--json', '--stage', 'make', '-n', '1'])).stdout) as Run[];
    assert.equal(make.length, 1);
    assert.equal(JSON.parse((await ok(dir, ['runs', '--json', '--since', '2999-01-01'])).stdout).length, 0);
    assert.equal(JSON.parse((await ok(dir, ['runs', '--json', '--since', '1h'])).stdout).length, all.length);
    const bad = await strata(dir, ['runs', '--status', 'weird']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /use one of: ok, failed, cached/);
    const badSince = await strata(dir, ['runs', '--since', 'yesterday-ish']);
    assert.equal(badSince.code, 2);
    const text = await ok(dir, ['runs']);
    assert.match(text.stdout, / make$/m);
  });
});
