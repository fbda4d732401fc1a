/**
 * `strata import dvc`: a DVC project laid out by hand as DVC writes it (no DVC binary): a git repo
 * with dvc.yaml (vars, foreach/do, templating, map-form outs, params, metrics, plots, frozen),
 * dvc.lock with the right md5s, a `.dvc`-tracked folder with its `.dir` object, and a populated
 * DVC 3 cache (or a local-folder DVC remote). Through the real CLI: strata.yaml written, the data
 * imported as ONE commit, `strata repro` finds nothing to run, `strata status` clean; a corrupt
 * cache object is refused naming the file; untranslatable parts are listed. Also dvc.yaml files in
 * the style of DVC's public examples, parsed and translated into a strata.yaml that parses.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { S3RVER_CREDENTIALS, startS3rver } from './helpers/s3rver.js';
import { readDvcProject } from '../core/dvc/project.js';
import { toStrataYaml } from '../core/dvc/translate.js';
import { parsePipeline } from '../core/pipeline/spec.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' });

const md5 = (b: string | Buffer) => createHash('md5').update(b).digest('hex');

/** DVC's directory hash: md5 of Python's json.dumps(sorted [{md5, relpath}], sort_keys=True). */
function dirObject(files: Record<string, string>): { body: string; md5: string } {
  const entries = Object.keys(files).sort().map((rel) => `{"md5": "${md5(files[rel]!)}", "relpath": "${rel}"}`);
  const body = `[${entries.join(', ')}]`;
  return { body, md5: md5(body) + '.dir' };
}

const RAW = { 'a.csv': 'id,x\n1,0.5\n2,0.25\n', 'b.csv': 'id,x\n3,0.125\n' };
const PREPARED = { 'test.csv': 'id,x\n3,0.125\n', 'train.csv': 'id,x\n1,0.5\n2,0.25\n' };
const FEAT_A = 'f1,f2\n1,2\n';
const FEAT_B = 'f1,f2\n3,4\n';
const MODEL = 'MODEL-BYTES\u0000\u0001binary';
const METRICS = '{"auc": 0.91, "acc": 0.88}\n';
const ROC = '[{"fpr": 0, "tpr": 0}, {"fpr": 1, "tpr": 1}]\n';

const PARAMS = 'prepare:\n  split: 0.2\n  seed: 20170428\nfeaturize:\n  max_features: 100\ntrain:\n  seed: 1\n  n_est: 50\n';
const CONFIG = 'shards: [a, b]\nmodel:\n  name: forest\n';

const DVC_YAML = `vars:
  - config.yaml
  - outdir: out
stages:
  prepare:
    cmd: node src/prepare.mjs data/raw data/prepared \${prepare.split}
    deps:
      - src/prepare.mjs
      - data/raw
    params:
      - prepare.split
      - prepare.seed
    outs:
      - data/prepared
  featurize:
    foreach: \${shards}
    do:
      cmd: node src/featurize.mjs data/prepared \${outdir}/features-\${item}.csv \${featurize.max_features}
      deps:
        - src/featurize.mjs
        - data/prepared
      params:
        - featurize.max_features
      outs:
        - \${outdir}/features-\${item}.csv
  train:
    cmd:
      - node src/train.mjs \${model.name}
      - node src/score.mjs
    deps:
      - out/features-a.csv
      - out/features-b.csv
      - src
    params:
      - train
      - config.yaml:
          - model.name
    outs:
      - model.bin:
          persist: true
    metrics:
      - metrics.json:
          cache: false
    plots:
      - plots/roc.json:
          cache: false
          x: fpr
          y: tpr
    frozen: true
metrics:
  - metrics.json
plots:
  - plots/roc.json:
      template: simple
      x: fpr
      y: tpr
`;

const SRC: Record<string, string> = {
  'src/prepare.mjs': "import * as fs from 'node:fs';\nfs.mkdirSync(process.argv[3], { recursive: true });\n",
  'src/featurize.mjs': "import * as fs from 'node:fs';\nfs.mkdirSync('out', { recursive: true });\nfs.writeFileSync(process.argv[3], 'f1,f2\\n');\n",
  'src/train.mjs': "import * as fs from 'node:fs';\nfs.writeFileSync('model.bin', 'm');\n",
  'src/score.mjs': "import * as fs from 'node:fs';\nfs.writeFileSync('metrics.json', '{}');\n",
};

/** The md5 DVC gives a folder of the workspace. */
function srcDirMd5(): string {
  const files: Record<string, string> = {};
  for (const [p, c] of Object.entries(SRC)) files[p.slice('src/'.length)] = c;
  return dirObject(files).md5;
}

function lockText(): string {
  const raw = dirObject(RAW);
  const prepared = dirObject(PREPARED);
  const e = (path: string, h: string, size?: number) => `    - path: ${path}\n      hash: md5\n      md5: ${h}\n${size !== undefined ? `      size: ${size}\n` : ''}`;
  const feat = (k: string, body: string) => `  featurize@${k}:
    cmd: node src/featurize.mjs data/prepared out/features-${k}.csv 100
    deps:
${e('data/prepared', prepared.md5)}${e('src/featurize.mjs', md5(SRC['src/featurize.mjs']!))}    params:
      params.yaml:
        featurize.max_features: 100
    outs:
${e(`out/features-${k}.csv`, md5(body), body.length)}`;
  return `schema: '2.0'
stages:
  prepare:
    cmd: node src/prepare.mjs data/raw data/prepared 0.2
    deps:
${e('data/raw', raw.md5)}${e('src/prepare.mjs', md5(SRC['src/prepare.mjs']!))}    params:
      params.yaml:
        prepare.seed: 20170428
        prepare.split: 0.2
    outs:
${e('data/prepared', prepared.md5)}${feat('a', FEAT_A)}${feat('b', FEAT_B)}  train:
    cmd:
    - node src/train.mjs forest
    - node src/score.mjs
    deps:
${e('out/features-a.csv', md5(FEAT_A))}${e('out/features-b.csv', md5(FEAT_B))}${e('src', srcDirMd5())}    params:
      config.yaml:
        model.name: forest
      params.yaml:
        train:
          n_est: 50
          seed: 1
    outs:
${e('metrics.json', md5(METRICS))}${e('model.bin', md5(MODEL))}${e('plots/roc.json', md5(ROC))}`;
}

/** Put an object into a DVC 3 object folder (`files/md5/ab/cdef...`). */
async function putObject(dir: string, h: string, body: string): Promise<string> {
  const file = join(dir, 'files', 'md5', h.slice(0, 2), h.slice(2));
  await fsp.mkdir(join(file, '..'), { recursive: true });
  await fsp.writeFile(file, body);
  return file;
}

/**
 * A DVC project as a fresh `git clone` of it looks: code, params, dvc files and the cache: false
 * outputs in git; the data only in the DVC cache (or in `remote`, a local-folder DVC remote).
 */
async function layProject(dir: string, opts: { remote?: string; config?: string } = {}): Promise<void> {
  const raw = dirObject(RAW);
  await writeFiles(dir, {
    ...SRC,
    'params.yaml': PARAMS,
    'config.yaml': CONFIG,
    'dvc.yaml': DVC_YAML,
    'dvc.lock': lockText(),
    'data/raw.dvc': `outs:\n- md5: ${raw.md5}\n  size: ${Object.values(RAW).join('').length}\n  nfiles: 2\n  hash: md5\n  path: raw\n`,
    'data/.gitignore': '/raw\n/prepared\n',
    'out/.gitignore': '/features-a.csv\n/features-b.csv\n',
    '.gitignore': '/model.bin\n',
    'metrics.json': METRICS,
    'plots/roc.json': ROC,
    '.dvc/.gitignore': '/config.local\n/tmp\n/cache\n',
    '.dvc/config': opts.config ?? (opts.remote ? `[core]\n    remote = storage\n['remote "storage"']\n    url = ${opts.remote}\n` : ''),
    '.dvcignore': '',
  });
  const objects = opts.remote ? join(dir, '.dvc', opts.remote) : join(dir, '.dvc', 'cache');
  const prepared = dirObject(PREPARED);
  await putObject(objects, raw.md5, raw.body);
  await putObject(objects, prepared.md5, prepared.body);
  for (const body of [...Object.values(RAW), ...Object.values(PREPARED), FEAT_A, FEAT_B, MODEL]) await putObject(objects, md5(body), body);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'DVC project');
}

interface ImportJson {
  stages: Array<{ dvc: string; stage: string; state: string; reasons: string[]; runId?: string }>;
  data: { files: number; paths: string[]; from: Record<string, number> };
  commit: string | null;
  untranslated: Array<{ where: string; what: string }>;
}

describe('strata import dvc', () => {
  it('imports a DVC project: strata.yaml, the data as one commit, repro finds nothing to run, status clean', async () => {
    const t = await tempDir('strata-dvc-');
    try {
      const dir = join(t.dir, 'proj');
      await layProject(dir);
      await ok(dir, ['init']);

      // A dry run reports the same and writes nothing.
      const dry = await ok(dir, ['import', 'dvc', '--dry-run']);
      assert.match(dry.stdout, /would import the DVC project \./);
      assert.match(dry.stdout, /not translated \(\d+\):/);
      assert.match(dry.stdout, /dvc\.yaml: stages\.train\.frozen: frozen: true has no equivalent/);
      await assert.rejects(fsp.stat(join(dir, 'strata.yaml')));

      const r = await ok(dir, ['import', 'dvc', '--json']);
      const j = JSON.parse(r.stdout) as ImportJson;
      assert.deepEqual(j.stages.map((s) => [s.dvc, s.stage, s.state]), [
        ['prepare', 'prepare', 'up-to-date'],
        ['featurize@a', 'featurize-a', 'up-to-date'],
        ['featurize@b', 'featurize-b', 'up-to-date'],
        ['train', 'train', 'up-to-date'],
      ], JSON.stringify(j.stages));
      assert.ok(j.stages.every((s) => s.runId), 'a run recorded per stage');
      // 2 raw + 2 prepared + 2 features + model, all from the DVC cache.
      assert.equal(j.data.files, 7);
      assert.deepEqual(j.data.from, { '.dvc/cache': 7 });
      const where = j.untranslated.map((u) => u.where);
      for (const w of ['dvc.yaml: stages.train.frozen', 'dvc.yaml: plots', 'dvc.yaml: metrics', 'dvc.yaml: stages.train.outs.model.bin.persist', 'dvc.yaml: stages.train.plots.plots/roc.json.x']) {
        assert.ok(where.includes(w), `${w} listed as not translated: ${where.join(' | ')}`);
      }

      // The data is in the workspace, byte for byte.
      assert.equal(await fsp.readFile(join(dir, 'data/raw/a.csv'), 'utf8'), RAW['a.csv']);
      assert.equal(await fsp.readFile(join(dir, 'data/prepared/train.csv'), 'utf8'), PREPARED['train.csv']);
      assert.equal(await fsp.readFile(join(dir, 'out/features-b.csv'), 'utf8'), FEAT_B);
      assert.equal(await fsp.readFile(join(dir, 'model.bin'), 'utf8'), MODEL);

      // strata.yaml: the templated, foreach-expanded pipeline.
      const spec = parsePipeline(await fsp.readFile(join(dir, 'strata.yaml'), 'utf8'));
      const fa = spec.stages.find((s) => s.name === 'featurize-a')!;
      assert.equal(fa.cmd, 'node src/featurize.mjs data/prepared out/features-a.csv 100');
      assert.deepEqual(fa.outs.map((o) => o.path), ['out/features-a.csv']);
      const train = spec.stages.find((s) => s.name === 'train')!;
      assert.equal(train.cmd, 'node src/train.mjs forest && node src/score.mjs');
      assert.deepEqual(train.params.map((p) => `${p.file}:${p.key}`).sort(), ['config.yaml:model.name', 'params.yaml:train']);
      assert.deepEqual(train.outs.map((o) => [o.path, o.type, o.cache]), [['model.bin', 'dataset', true], ['metrics.json', 'metrics', false], ['plots/roc.json', 'dataset', false]]);

      // One commit.
      const log = JSON.parse((await ok(dir, ['log', '--json'])).stdout) as unknown[];
      assert.equal(log.length, 1);

      // repro: nothing to run.
      const rep = await ok(dir, ['repro', '--json']);
      const rj = JSON.parse(rep.stdout) as { stages: Array<{ stage: string; action: string }> };
      assert.deepEqual(rj.stages.map((s) => s.action), ['up-to-date', 'up-to-date', 'up-to-date', 'up-to-date'], rep.stdout);
      const st = await ok(dir, ['status']);
      assert.match(st.stdout, /nothing to commit, working tree clean/);

      // The imported runs came from DVC, not from this repository.
      const runs = await ok(dir, ['runs', '--json']);
      assert.equal((JSON.parse(runs.stdout) as unknown[]).length, 4);
    } finally {
      await t.cleanup();
    }
  });

  it('refuses a corrupt cache object, naming the file, and changes nothing', async () => {
    const t = await tempDir('strata-dvc-');
    try {
      const dir = join(t.dir, 'proj');
      await layProject(dir);
      await ok(dir, ['init']);
      const h = md5(RAW['b.csv']);
      const obj = join('.dvc', 'cache', 'files', 'md5', h.slice(0, 2), h.slice(2));
      await fsp.writeFile(join(dir, obj), 'id,x\n3,999\n');
      const r = await strata(dir, ['import', 'dvc']);
      assert.equal(r.code, 11, r.stderr);
      assert.ok(r.stderr.includes(obj), `names the object file: ${r.stderr}`);
      assert.match(r.stderr, /data\/raw\/b\.csv/);
      assert.match(r.stderr, /nothing was changed/);
      await assert.rejects(fsp.stat(join(dir, 'strata.yaml')));
      await assert.rejects(fsp.stat(join(dir, 'data/raw')));
      const log = await ok(dir, ['log', '--json']);
      assert.deepEqual(JSON.parse(log.stdout), []);
      // Bad arguments: one message naming the fix, exit 2.
      const what = await strata(dir, ['import', 'git']);
      assert.equal(what.code, 2);
      assert.match(what.stderr, /only dvc is supported/);
      assert.match(what.stderr, /hint: usage: strata import dvc/);
    } finally {
      await t.cleanup();
    }
  });

  it('reads a local-folder DVC remote when the cache is empty', async () => {
    const t = await tempDir('strata-dvc-');
    try {
      const dir = join(t.dir, 'proj');
      await layProject(dir, { remote: '../../dvc-remote' });
      await assert.rejects(fsp.stat(join(dir, '.dvc', 'cache')));
      await ok(dir, ['init']);
      const j = JSON.parse((await ok(dir, ['import', 'dvc', '--json'])).stdout) as ImportJson;
      assert.deepEqual(j.data.from, { 'remote "storage" (../../dvc-remote)': 7 });
      assert.ok(j.stages.every((s) => s.state === 'up-to-date'));
      const rep = JSON.parse((await ok(dir, ['repro', '--json'])).stdout) as { stages: Array<{ action: string }> };
      assert.ok(rep.stages.every((s) => s.action === 'up-to-date'));
      // An unknown remote is refused with the names of those there are.
      const bad = await strata(dir, ['import', 'dvc', '--remote', 'nope', '--force']);
      assert.equal(bad.code, 13);
      assert.match(bad.stderr, /DVC's remotes: storage/);
    } finally {
      await t.cleanup();
    }
  });

  it('leaves a stage DVC itself would rerun stale: repro runs it, with the reason', async () => {
    const t = await tempDir('strata-dvc-');
    try {
      const dir = join(t.dir, 'proj');
      await layProject(dir);
      await fsp.writeFile(join(dir, 'params.yaml'), PARAMS.replace('max_features: 100', 'max_features: 200'));
      await ok(dir, ['init']);
      const r = await ok(dir, ['import', 'dvc']);
      assert.match(r.stdout, /featurize-a \(DVC featurize@a\): is stale, strata repro will run it: cmd differs from dvc\.lock; param featurize\.max_features changed since dvc\.lock/);
      assert.match(r.stdout, /^prepare: up to date/m);
      const dry = await ok(dir, ['repro', '--dry-run']);
      assert.match(dry.stdout, /^prepare: up to date$/m);
      assert.match(dry.stdout, /^featurize-a: would run: never run$/m);
    } finally {
      await t.cleanup();
    }
  });

  it('reads an S3 DVC remote (s3rver, endpointurl from .dvc/config, credentials from the environment)', async () => {
    const t = await tempDir('strata-dvc-');
    const s3 = await startS3rver({ buckets: ['dvc'] });
    try {
      const dir = join(t.dir, 'proj');
      // Lay the objects in a folder first, then upload them under the remote's prefix.
      await layProject(dir, {
        remote: '../../staging',
        config: `[core]\n    remote = s3store\n['remote "s3store"']\n    url = s3://dvc/team/store\n    endpointurl = ${s3.endpoint}\n`,
      });
      const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
      const staging = join(t.dir, 'staging');
      const walk = async (rel: string): Promise<string[]> => {
        const out: string[] = [];
        for (const e of await fsp.readdir(join(staging, rel), { withFileTypes: true })) {
          const p = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) out.push(...(await walk(p)));
          else out.push(p);
        }
        return out;
      };
      for (const rel of await walk('')) await client.send(new PutObjectCommand({ Bucket: 'dvc', Key: `team/store/${rel}`, Body: await fsp.readFile(join(staging, rel)) }));
      client.destroy();
      await fsp.rm(staging, { recursive: true });
      await ok(dir, ['init']);
      const env = { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
      const j = JSON.parse((await ok(dir, ['import', 'dvc', '--json'], 0, { env })).stdout) as ImportJson;
      assert.deepEqual(j.data.from, { 'remote "s3store" (s3://dvc/team/store)': 7 });
      assert.ok(j.stages.every((s) => s.state === 'up-to-date'));
      assert.equal(await fsp.readFile(join(dir, 'model.bin'), 'utf8'), MODEL);
      const rep = JSON.parse((await ok(dir, ['repro', '--json'])).stdout) as { stages: Array<{ action: string }> };
      assert.ok(rep.stages.every((s) => s.action === 'up-to-date'));
    } finally {
      await s3.stop();
      await t.cleanup();
    }
  });

  it('DVC 2: objects in .dvc/cache/ab/cdef..., and a CRLF text file hashed as DVC 2 did (CRLF -> LF)', async () => {
    const t = await tempDir('strata-dvc-');
    try {
      const dir = t.dir;
      const crlf = 'id,x\r\n1,2\r\n';
      const unixMd5 = md5(crlf.replace(/\r\n/g, '\n'));
      await writeFiles(dir, {
        '.dvc/config': '',
        [`.dvc/cache/${unixMd5.slice(0, 2)}/${unixMd5.slice(2)}`]: crlf,
        'table.csv.dvc': `outs:\n- md5: ${unixMd5}\n  size: ${crlf.length}\n  path: table.csv\n`,
      });
      await ok(dir, ['init']);
      const j = JSON.parse((await ok(dir, ['import', 'dvc', '--json'])).stdout) as ImportJson;
      assert.deepEqual(j.data.from, { '.dvc/cache': 1 });
      assert.equal(j.stages.length, 0);
      // The bytes are the cache's (CRLF kept), committed.
      assert.equal(await fsp.readFile(join(dir, 'table.csv'), 'utf8'), crlf);
      assert.equal((JSON.parse((await ok(dir, ['log', '--json'])).stdout) as unknown[]).length, 1);
      await assert.rejects(fsp.stat(join(dir, 'strata.yaml')));
    } finally {
      await t.cleanup();
    }
  });

  it('refuses what Strata cannot hold, before writing anything: two stages writing one output, a path inside .git', async () => {
    const t = await tempDir('strata-dvc-');
    try {
      const dir = t.dir;
      await writeFiles(dir, {
        '.dvc/config': '',
        'dvc.yaml': 'stages:\n  a:\n    cmd: echo a > x.txt\n    outs: [x.txt]\n  b:\n    cmd: echo b > x.txt\n    outs: [x.txt]\n',
      });
      await ok(dir, ['init']);
      const r = await strata(dir, ['import', 'dvc']);
      assert.equal(r.code, 12, r.stderr);
      assert.match(r.stderr, /dvc\.yaml does not translate into a valid strata\.yaml; nothing was changed/);
      assert.match(r.stderr, /output x\.txt claimed by stages a and b/);
      await assert.rejects(fsp.stat(join(dir, 'strata.yaml')));

      await fsp.rm(join(dir, 'dvc.yaml'));
      const body = 'not a hook\n';
      const h = md5(body);
      await writeFiles(dir, { [`.dvc/cache/files/md5/${h.slice(0, 2)}/${h.slice(2)}`]: body, 'evil.dvc': `outs:\n- md5: ${h}\n  hash: md5\n  path: .git/hooks/pre-commit\n` });
      const e = await strata(dir, ['import', 'dvc']);
      assert.equal(e.code, 11, e.stderr);
      assert.match(e.stderr, /\.git\/hooks\/pre-commit \(tracked by evil\.dvc\)/);
      await assert.rejects(fsp.stat(join(dir, '.git', 'hooks', 'pre-commit')));
      assert.deepEqual(JSON.parse((await ok(dir, ['log', '--json'])).stdout), []);
    } finally {
      await t.cleanup();
    }
  });
});

describe('dvc.yaml in the style of DVC example projects', () => {
  it('example-get-started: prepare/featurize/train/evaluate with params, top-level metrics and plots', async () => {
    const t = await tempDir('strata-dvc-');
    try {
      await writeFiles(t.dir, {
        '.dvc/config': '',
        'params.yaml': 'prepare:\n  split: 0.20\n  seed: 20170428\nfeaturize:\n  max_features: 100\n  ngrams: 1\ntrain:\n  seed: 20170428\n  n_est: 50\n  min_split: 0.01\n',
        'dvc.yaml': `stages:
  prepare:
    cmd: python src/prepare.py data/data.xml
    deps:
    - data/data.xml
    - src/prepare.py
    params:
    - prepare.seed
    - prepare.split
    outs:
    - data/prepared
  featurize:
    cmd: python src/featurization.py data/prepared data/features
    deps:
    - data/prepared
    - src/featurization.py
    params:
    - featurize.max_features
    - featurize.ngrams
    outs:
    - data/features
  train:
    cmd: python src/train.py data/features model.pkl
    deps:
    - data/features
    - src/train.py
    params:
    - train.min_split
    - train.n_est
    - train.seed
    outs:
    - model.pkl
  evaluate:
    cmd: python src/evaluate.py model.pkl data/features
    deps:
    - data/features
    - model.pkl
    - src/evaluate.py
    outs:
    - eval
metrics:
- eval/metrics.json
plots:
- ROC:
    template: simple
    x: fpr
    y:
      eval/plots/sklearn/roc/train.json: tpr
      eval/plots/sklearn/roc/test.json: tpr
- eval/importance.png
artifacts:
  text-classification:
    path: model.pkl
    type: model
`,
        'data/data.xml.dvc': 'outs:\n- md5: 22a1a2931c8370d3aeedd7183606fd7f\n  size: 14445097\n  hash: md5\n  path: data.xml\n',
      });
      const proj = await readDvcProject(t.dir);
      assert.deepEqual(proj.stages.map((s) => s.name), ['prepare', 'featurize', 'train', 'evaluate']);
      assert.deepEqual(proj.stages[2]!.params, [
        { file: 'params.yaml', key: 'train.min_split' },
        { file: 'params.yaml', key: 'train.n_est' },
        { file: 'params.yaml', key: 'train.seed' },
      ]);
      assert.deepEqual(proj.tracked.map((x) => [x.file, x.path, x.md5, x.legacy]), [['data/data.xml.dvc', 'data/data.xml', '22a1a2931c8370d3aeedd7183606fd7f', false]]);
      const where = proj.untranslated.map((u) => u.where);
      assert.deepEqual(where, ['dvc.yaml: metrics', 'dvc.yaml: plots', 'dvc.yaml: artifacts']);
      const { text } = toStrataYaml(proj);
      const spec = parsePipeline(text!);
      assert.deepEqual(spec.stages.map((s) => [s.name, s.deps, s.outs.map((o) => o.path)]), [
        ['prepare', ['data/data.xml', 'src/prepare.py'], ['data/prepared']],
        ['featurize', ['data/prepared', 'src/featurization.py'], ['data/features']],
        ['train', ['data/features', 'src/train.py'], ['model.pkl']],
        ['evaluate', ['data/features', 'model.pkl', 'src/evaluate.py'], ['eval']],
      ]);
    } finally {
      await t.cleanup();
    }
  });

  it('foreach over a dictionary, ${key} and ${item.x}, wdir, stage vars and matrix', async () => {
    const t = await tempDir('strata-dvc-');
    try {
      await writeFiles(t.dir, {
        'dvc.yaml': `stages:
  build:
    foreach:
      uk:
        epochs: 3
        thresh: 10
      us:
        epochs: 10
        thresh: 15
    do:
      cmd: python train.py '\${key}' \${item.epochs} \${item.thresh}
      outs:
      - model-\${key}.hdfs
  report:
    vars:
      - fmt: html
    wdir: reports
    cmd: make report.\${fmt}
    deps:
    - ../model-uk.hdfs
    metrics:
    - scores.yaml:
        cache: false
    always_changed: true
  sweep:
    matrix:
      lr: [0.1, 0.01]
      opt: [sgd]
    cmd: python sweep.py --lr \${item.lr} --opt \${item.opt}
    outs:
    - sweep/\${item.opt}-\${item.lr}.json
`,
      });
      const proj = await readDvcProject(t.dir);
      assert.deepEqual(proj.stages.map((s) => [s.name, s.cmd]), [
        ['build@uk', "python train.py 'uk' 3 10"],
        ['build@us', "python train.py 'us' 10 15"],
        ['report', 'make report.html'],
        ['sweep@0.1-sgd', 'python sweep.py --lr 0.1 --opt sgd'],
        ['sweep@0.01-sgd', 'python sweep.py --lr 0.01 --opt sgd'],
      ]);
      const report = proj.stages[2]!;
      assert.equal(report.wdir, 'reports');
      assert.deepEqual(report.deps, ['model-uk.hdfs']);
      assert.deepEqual(report.outs, [{ path: 'reports/scores.yaml', cache: false, kind: 'metrics' }]);
      const untranslated: Array<{ where: string; what: string }> = [];
      const { text, names } = toStrataYaml(proj, (p) => p, untranslated);
      assert.equal(names.get('sweep@0.1-sgd'), 'sweep-0_1-sgd');
      const spec = parsePipeline(text!);
      assert.deepEqual(spec.stages.map((s) => s.name), ['build-uk', 'build-us', 'report', 'sweep-0_1-sgd', 'sweep-0_01-sgd']);
      assert.equal(spec.stages[2]!.wdir, 'reports');
      assert.deepEqual(spec.stages[2]!.outs.map((o) => [o.path, o.type, o.cache]), [['reports/scores.yaml', 'dataset', false]]);
      assert.ok(proj.untranslated.some((u) => u.where === 'dvc.yaml: stages.report.always_changed'));
      assert.ok(untranslated.some((u) => u.where === 'dvc.yaml: stages.report.metrics.reports/scores.yaml'), 'a YAML metrics file is listed');
    } finally {
      await t.cleanup();
    }
  });

  it('an undefined ${name} is refused naming the stage', async () => {
    const t = await tempDir('strata-dvc-');
    try {
      await writeFiles(t.dir, { 'dvc.yaml': 'stages:\n  a:\n    cmd: echo ${nope.x}\n' });
      await assert.rejects(readDvcProject(t.dir), (e: Error & { code?: string }) => e.code === 'PIPELINE_INVALID' && /stage a: \$\{nope\.x\} is not defined/.test(e.message));
    } finally {
      await t.cleanup();
    }
  });
});
