import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStrataError, StrataError } from '../core/errors/index.js';
import { initHash } from '../core/hash/index.js';
import { loadPipeline, normalizeProjectPath, parsePipeline, readParams, type PipelineSpec } from '../core/pipeline/spec.js';
import { buildDag, renderDag, Scheduler, topologicalOrder } from '../core/pipeline/dag.js';
import { signatureOfStage, staleReasons, stageSignature, type SignatureInput, type StageState } from '../core/pipeline/signature.js';

/** Parse expecting failure; return the message. */
function invalid(text: string, code: 'PIPELINE_INVALID' | 'PIPELINE_CYCLE' = 'PIPELINE_INVALID'): string {
  try {
    const spec = parsePipeline(text);
    if (code === 'PIPELINE_CYCLE') buildDag(spec);
  } catch (e) {
    assert.ok(isStrataError(e, code), `expected ${code}, got ${(e as Error).message}`);
    return (e as StrataError).message;
  }
  assert.fail('expected an error');
}

const GOOD = `# a comment
stages:
  clean:
    cmd: node clean.js data/raw.csv data/clean.csv
    deps: [clean.js, ./data/raw.csv]
    params: [clean.min_amount, "other.yaml:a.b", {file: conf/x.json, keys: [q, r.s]}]
    outs:
      - data/clean.csv
      - {path: data/cache, cache: false}
    metrics: [metrics/clean.json]
    wdir: .
    env: {MODE: fast, N: 3}
  train:
    cmd:
      - node train.js
      - node check.js
    deps: [data/clean.csv, train.js]
    params: [train.lr]
    outs:
      - {path: models/model.json, type: model}
`;

describe('parsePipeline', () => {
  it('parses a full pipeline', () => {
    const spec = parsePipeline(GOOD);
    assert.equal(spec.file, 'strata.yaml');
    assert.deepEqual(
      spec.stages.map((s) => s.name),
      ['clean', 'train'],
    );
    const clean = spec.stages[0]!;
    assert.equal(clean.cmd, 'node clean.js data/raw.csv data/clean.csv');
    assert.deepEqual(clean.deps, ['clean.js', 'data/raw.csv']);
    assert.deepEqual(clean.params, [
      { file: 'params.yaml', key: 'clean.min_amount' },
      { file: 'other.yaml', key: 'a.b' },
      { file: 'conf/x.json', key: 'q' },
      { file: 'conf/x.json', key: 'r.s' },
    ]);
    assert.deepEqual(clean.outs, [
      { path: 'data/clean.csv', type: 'dataset', cache: true },
      { path: 'data/cache', type: 'dataset', cache: false },
      { path: 'metrics/clean.json', type: 'metrics', cache: true },
    ]);
    assert.equal(clean.wdir, '.');
    assert.deepEqual(clean.env, { MODE: 'fast', N: '3' });
    assert.equal(clean.line, 3);
    const train = spec.stages[1]!;
    assert.equal(train.cmd, 'node train.js && node check.js');
    assert.deepEqual(train.outs, [{ path: 'models/model.json', type: 'model', cache: true }]);
  });

  it('reports a non-list "outs" at the key, with file:line:col', () => {
    const msg = invalid(`stages:
  prep:
    cmd: a
  train:
    cmd: python train.py
    deps: [x]
    outs: models/model.json
`);
    assert.match(msg, /^strata\.yaml:7:5: stage "train": "outs" must be a list of paths/);
  });

  it('reports malformed YAML with the parser line', () => {
    const msg = invalid('stages:\n  a:\n    cmd: "unterminated\n    deps: [x]\n');
    assert.match(msg, /^strata\.yaml:\d+:\d+: invalid YAML: /);
    const msg2 = invalid('stages:\n  a:\n    cmd: x\n    cmd: y\n');
    assert.match(msg2, /^strata\.yaml:4:5: invalid YAML: Map keys must be unique/);
  });

  it('suggests the near-miss of an unknown key', () => {
    const msg = invalid('stages:\n  a:\n    cmd: x\n    outz: [y]\n    colour: 1\n');
    assert.match(msg, /strata\.yaml:4:5: stage "a": unknown key "outz"; did you mean "outs"\?/);
    assert.match(msg, /strata\.yaml:5:5: stage "a": unknown key "colour"; allowed keys: cmd, deps/);
    assert.match(invalid('stage:\n  a:\n    cmd: x\n'), /^strata\.yaml:1:1: unknown key "stage"; did you mean "stages"\?/);
  });

  it('rejects absolute and escaping paths', () => {
    const msg = invalid('stages:\n  a:\n    cmd: x\n    deps: [/etc/passwd, ../secret, ok/../../up]\n    outs: [C:/x]\n');
    assert.match(msg, /strata\.yaml:4:12: .*"\/etc\/passwd" is absolute/);
    assert.match(msg, /strata\.yaml:4:25: .*"\.\.\/secret" escapes the project/);
    assert.match(msg, /"ok\/\.\.\/\.\.\/up" escapes the project/);
    assert.match(msg, /strata\.yaml:5:12: .*"C:\/x" is absolute/);
  });

  it('rejects empty and missing cmd', () => {
    assert.match(invalid('stages:\n  a:\n    cmd: "  "\n'), /^strata\.yaml:3:5: stage "a": "cmd" is empty/);
    assert.match(invalid('stages:\n  a:\n    deps: [x]\n'), /^strata\.yaml:2:3: stage "a": "cmd" is missing/);
    assert.match(invalid('stages:\n  a:\n    cmd: []\n'), /^strata\.yaml:3:5: stage "a": "cmd" is empty/);
  });

  it('rejects stage names outside [A-Za-z0-9_-]', () => {
    assert.match(invalid('stages:\n  ok-1_a:\n    cmd: x\n  "bad name":\n    cmd: y\n'), /^strata\.yaml:4:3: stage name "bad name" may only contain/);
    assert.match(invalid('stages:\n  a.b:\n    cmd: x\n'), /^strata\.yaml:2:3: stage name "a\.b"/);
  });

  it('rejects an output claimed by two stages', () => {
    const msg = invalid(`stages:
  a:
    cmd: x
    outs: [data/x]
  b:
    cmd: y
    outs:
      - data/x
`);
    assert.match(msg, /^strata\.yaml:8:9: output data\/x claimed by stages a and b/);
  });

  it('rejects an output nested in another stage\'s output, and a stage reading its own output', () => {
    const msg = invalid('stages:\n  a:\n    cmd: x\n    outs: [data]\n  b:\n    cmd: y\n    outs: [data/sub/y.csv]\n');
    assert.match(msg, /^strata\.yaml:7:12: output data\/sub\/y\.csv of stage b lies inside output data of stage a/);
    const self = invalid('stages:\n  a:\n    cmd: x\n    deps: [data]\n    outs: [data/out.csv]\n');
    assert.match(self, /^strata\.yaml:4:12: stage "a": dep data overlaps its own output data\/out\.csv/);
  });

  it('rejects bad types with what to write instead', () => {
    assert.match(invalid('stages:\n  a: echo hi\n'), /^strata\.yaml:2:3: stage "a": must be a map .*write "cmd: echo hi"/);
    assert.match(invalid('stages:\n  a:\n    cmd: x\n    outs:\n      - {path: m, type: modle}\n'), /^strata\.yaml:5:25: .*type must be one of dataset, model, metrics.*did you mean "model"/);
    assert.match(invalid('stages:\n  a:\n    cmd: x\n    env: [A]\n'), /^strata\.yaml:4:5: stage "a": "env" must be a map/);
    assert.match(invalid('stages:\n  a:\n    cmd: x\n    params: [{file: p.yaml}]\n'), /^strata\.yaml:4:14: .*needs both "file" and "keys"/);
    assert.match(invalid(''), /^strata\.yaml:1:1: the file is empty/);
    assert.match(invalid('- a\n'), /^strata\.yaml:1:1: the top level must be a map/);
  });

  it('reports all problems, sorted by line, and uses the given file name', () => {
    try {
      parsePipeline('stages:\n  a:\n    cmd: x\n    outz: 1\n  b:\n    deps: /abs\n', 'sub/strata.yaml');
      assert.fail('expected error');
    } catch (e) {
      const lines = (e as Error).message.split('\n');
      assert.equal(lines.length, 3);
      assert.match(lines[0]!, /^sub\/strata\.yaml:4:5: /);
      assert.match(lines[1]!, /^sub\/strata\.yaml:5:3: stage "b": "cmd" is missing/);
      assert.match(lines[2]!, /^sub\/strata\.yaml:6:5: stage "b": "deps" must be a list/);
      assert.equal((e as StrataError).exitCode, 12);
    }
  });

  it('normalizes paths', () => {
    assert.deepEqual(normalizeProjectPath('./a//b/./c/'), { path: 'a/b/c' });
    assert.deepEqual(normalizeProjectPath('a\\b'), { path: 'a/b' });
    assert.deepEqual(normalizeProjectPath('a/../b'), { path: 'b' });
    assert.ok('error' in normalizeProjectPath('../a'));
    assert.ok('error' in normalizeProjectPath('/a'));
  });
});

describe('loadPipeline / readParams', () => {
  it('reads strata.yaml and params files, resolving dotted keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-spec-'));
    try {
      assert.equal(await loadPipeline(dir), null);
      await writeFile(join(dir, 'strata.yaml'), 'stages:\n  a:\n    cmd: x\n    params: [train.lr, train.layers.1, "conf/o.json:opt.name", whole]\n');
      await writeFile(join(dir, 'params.yaml'), 'train:\n  lr: 0.1\n  layers: [8, 16]\nwhole: {a: 1}\n');
      await mkdir(join(dir, 'conf'));
      await writeFile(join(dir, 'conf/o.json'), '{"opt": {"name": "adam"}}');
      const spec = (await loadPipeline(dir))!;
      const values = await readParams(dir, spec.stages[0]!.params);
      assert.deepEqual(values, { 'train.lr': 0.1, 'train.layers.1': 16, 'conf/o.json:opt.name': 'adam', whole: { a: 1 } });

      await assert.rejects(readParams(dir, [{ file: 'params.yaml', key: 'train.lrr' }]), (e: unknown) => {
        assert.ok(isStrataError(e, 'PIPELINE_INVALID'));
        assert.match((e as Error).message, /params file params\.yaml has no key "train\.lrr"; did you mean "train\.lr"\?/);
        return true;
      });
      await assert.rejects(readParams(dir, [{ file: 'nope.yaml', key: 'x' }]), /params file nope\.yaml not found \(needed for x\)/);
      await writeFile(join(dir, 'bad.yaml'), 'a: [1\n');
      await assert.rejects(readParams(dir, [{ file: 'bad.yaml', key: 'a' }]), /bad\.yaml:\d+:\d+: invalid YAML/);
      await writeFile(join(dir, 'strata.yaml'), 'stages:\n  a:\n    cmd: x\n    outs: y\n');
      await assert.rejects(loadPipeline(dir), /strata\.yaml:4:5: stage "a": "outs" must be a list/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function spec(stages: Record<string, { deps?: string[]; outs?: string[] }>): PipelineSpec {
  const lines = ['stages:'];
  for (const [name, s] of Object.entries(stages)) {
    lines.push(`  ${name}:`, `    cmd: run ${name}`);
    if (s.deps) lines.push(`    deps: [${s.deps.join(', ')}]`);
    if (s.outs) lines.push(`    outs: [${s.outs.join(', ')}]`);
  }
  return parsePipeline(lines.join('\n') + '\n');
}

describe('stage DAG', () => {
  const diamond = () =>
    spec({
      report: { deps: ['data/feat', 'models/m.json'], outs: ['report.md'] },
      ingest: { deps: ['src.csv'], outs: ['data/raw.csv'] },
      feat: { deps: ['data/raw.csv'], outs: ['data/feat'] },
      train: { deps: ['data/feat/part1.csv'], outs: ['models/m.json'] },
      lonely: { outs: ['other.txt'] },
    });

  it('links stages by equal, nested and containing paths and orders them deterministically', () => {
    const s = diamond();
    const g = buildDag(s);
    assert.deepEqual(g.parents('report'), ['feat', 'train']);
    assert.deepEqual(g.parents('train'), ['feat']); // dep lies inside feat's output directory
    assert.deepEqual(g.order(), ['ingest', 'feat', 'train', 'report', 'lonely']);
    assert.deepEqual(topologicalOrder(s), g.order());
    assert.deepEqual(g.order(['train']), ['ingest', 'feat', 'train']);
    // A dep that is a directory containing another stage's output.
    const s2 = spec({ a: { outs: ['data/x/a.csv'] }, b: { deps: ['data'], outs: ['out.txt'] } });
    assert.deepEqual(buildDag(s2).parents('b'), ['a']);
    assert.deepEqual(buildDag(s2).edges(), [{ from: 'a', to: 'b', via: ['data'] }]);
  });

  it('computes upstream and downstream sets', () => {
    const g = buildDag(diamond());
    assert.deepEqual([...g.upstreamOf('report')].sort(), ['feat', 'ingest', 'train']);
    assert.deepEqual([...g.upstreamOf(['train', 'lonely'], { includeSelf: true })].sort(), ['feat', 'ingest', 'lonely', 'train']);
    assert.deepEqual([...g.downstreamOf('feat')].sort(), ['report', 'train']);
    assert.deepEqual([...g.downstreamOf('report')], []);
    assert.throws(() => g.downstreamOf('nope'), /no stage named "nope"/);
  });

  it('detects cycles and names them', () => {
    const msg = invalid('stages:\n  a:\n    cmd: x\n    deps: [b.out]\n    outs: [a.out]\n  b:\n    cmd: y\n    deps: [a.out]\n    outs: [b.out]\n', 'PIPELINE_CYCLE');
    assert.match(msg, /cycle: a -> b -> a/);
    const msg3 = invalid(
      'stages:\n  x:\n    cmd: x\n    outs: [x.out]\n  a:\n    cmd: a\n    deps: [c.out, x.out]\n    outs: [a.out]\n  b:\n    cmd: b\n    deps: [a.out]\n    outs: [b.out]\n  c:\n    cmd: c\n    deps: [b.out]\n    outs: [c.out]\n',
      'PIPELINE_CYCLE',
    );
    assert.match(msg3, /cycle: a -> b -> c -> a/);
  });

  it('schedules ready stages for --jobs N and skips downstream of failures', () => {
    const g = buildDag(diamond());
    assert.deepEqual(g.ready({ completed: [] }), ['ingest', 'lonely']);
    assert.deepEqual(g.ready({ completed: ['ingest', 'feat'] }), ['train', 'lonely']);
    assert.deepEqual(g.ready({ completed: [], selected: ['train', 'report'] }), ['train']);

    const sched = new Scheduler(g, g.names, 2);
    const started: string[][] = [];
    for (;;) {
      const batch = sched.take();
      if (batch.length === 0) break;
      started.push(batch);
      for (const s of batch) sched.finish(s, s !== 'train');
    }
    assert.deepEqual(started, [['ingest', 'lonely'], ['feat'], ['train']]);
    assert.deepEqual(sched.skipped(), ['report']);
    assert.deepEqual(sched.failures, ['train']);
    assert.ok(sched.done());
  });

  it('renders text, dot and mermaid', () => {
    const s = spec({ a: { outs: ['x'] }, b: { deps: ['x'], outs: ['y'] }, c: { deps: ['x', 'y'], outs: ['z'] } });
    assert.equal(renderDag(s, 'text'), 'a\n  b    <- a\n    c  <- a, b\n');
    assert.equal(
      renderDag(s, 'dot'),
      'digraph strata {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n  "a";\n  "b";\n  "c";\n  "a" -> "b";\n  "a" -> "c";\n  "b" -> "c";\n}\n',
    );
    assert.equal(renderDag(s, 'mermaid'), 'flowchart LR\n  s0["a"]\n  s1["b"]\n  s2["c"]\n  s0 --> s1\n  s0 --> s2\n  s1 --> s2\n');
    assert.match(renderDag(s, 'dot', { files: true }), /"file:x" -> "b";/);
    assert.match(renderDag(s, 'mermaid', { files: true }), /s1 --> f1/);
  });
});

describe('stage signature', () => {
  before(async () => {
    await initHash();
  });
  const base: SignatureInput = {
    cmd: 'python train.py',
    deps: [
      { path: 'train.py', id: 'a'.repeat(64) },
      { path: 'data/x.csv', id: 'b'.repeat(64) },
    ],
    params: { 'train.lr': 0.1, 'train.epochs': 10 },
    outs: ['models/m.json', 'metrics/e.json'],
    wdir: '.',
    env: { A: '1' },
  };

  it('is stable and order-independent', () => {
    const k = stageSignature(base);
    assert.match(k, /^[0-9a-f]{64}$/);
    assert.equal(stageSignature(structuredClone(base)), k);
    assert.equal(
      stageSignature({ ...base, deps: [...base.deps].reverse(), outs: [...base.outs].reverse(), params: { 'train.epochs': 10, 'train.lr': 0.1 } }),
      k,
    );
    // Defaults for wdir/env equal the explicit defaults.
    assert.equal(stageSignature({ ...base, wdir: undefined, env: undefined }), stageSignature({ ...base, wdir: '.', env: {} }));
  });

  it('changes when anything changes', () => {
    const k = stageSignature(base);
    const variants: SignatureInput[] = [
      { ...base, cmd: 'python train.py --fast' },
      { ...base, deps: [base.deps[0]!, { path: 'data/x.csv', id: 'c'.repeat(64) }] },
      { ...base, deps: [base.deps[0]!, { path: 'data/y.csv', id: 'b'.repeat(64) }] },
      { ...base, deps: [base.deps[0]!] },
      { ...base, params: { ...base.params, 'train.lr': 0.2 } },
      { ...base, params: { ...base.params, 'train.lr': '0.1' } },
      { ...base, params: { ...base.params, extra: null } },
      { ...base, outs: ['models/m.json'] },
      { ...base, wdir: 'sub' },
      { ...base, env: { A: '2' } },
    ];
    const keys = new Set(variants.map(stageSignature));
    assert.equal(keys.size, variants.length);
    assert.ok(!keys.has(k));
  });

  it('computes from a parsed stage', () => {
    const st = parsePipeline(GOOD).stages[1]!;
    const k = signatureOfStage(st, { 'data/clean.csv': 'c'.repeat(64), 'train.js': 'd'.repeat(64) }, { 'train.lr': 0.1 });
    assert.equal(
      k,
      stageSignature({
        cmd: st.cmd,
        deps: [
          { path: 'train.js', id: 'd'.repeat(64) },
          { path: 'data/clean.csv', id: 'c'.repeat(64) },
        ],
        params: { 'train.lr': 0.1 },
        outs: ['models/model.json'],
      }),
    );
    assert.throws(() => signatureOfStage(st, {}, {}), /no id given for dep/);
  });
});

describe('staleReasons', () => {
  const prev: StageState = {
    cmd: 'python train.py',
    deps: { 'data/raw.csv': 'r1', 'train.py': 't1', 'old.py': 'o1' },
    params: { 'train.lr': 0.1, 'train.opt': 'adam', gone: 1 },
    outs: { 'models/model.json': 'm1', 'metrics/e.json': 'e1' },
  };

  it('says "never run" without a previous run, nothing when up to date', () => {
    assert.deepEqual(staleReasons(null, prev), ['never run']);
    assert.deepEqual(staleReasons(prev, structuredClone(prev)), []);
  });

  it('lists every difference in human terms', () => {
    const cur: StageState = {
      cmd: 'python train.py --x',
      deps: { 'data/raw.csv': 'r2', 'train.py': 't1', 'new.py': 'n1' },
      params: { 'train.lr': 0.2, 'train.opt': 'sgd', added: [1, 2] },
      outs: { 'models/model.json': null, 'metrics/e.json': 'e2' },
    };
    assert.deepEqual(staleReasons(prev, cur), [
      'cmd changed',
      'dep data/raw.csv changed',
      'dep new.py added',
      'dep old.py removed',
      'param added added ([1,2])',
      'param gone removed',
      'param train.lr changed 0.1 -> 0.2',
      'param train.opt changed "adam" -> "sgd"',
      'out metrics/e.json modified',
      'out models/model.json missing',
    ]);
    assert.deepEqual(staleReasons(prev, { ...prev, deps: { ...prev.deps, 'train.py': null } }), ['dep train.py missing']);
    assert.deepEqual(staleReasons({ ...prev, env: { A: '1' } }, { ...prev, wdir: 'sub', env: { A: '2' } }), ['wdir changed . -> sub', 'env A changed']);
  });
});
