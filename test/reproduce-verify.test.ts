/**
 * `strata reproduce --verify` end to end: a deterministic chain reproduces identically (exit 0);
 * a stage writing a timestamp is reported with the differing file, sizes and ids (exit 15); a
 * stage reading an undeclared input fails in the reproduction (exit 14); a project that is not a
 * git repository (no code version); objects missing locally are fetched from a file:// remote, or
 * listed when there is no remote.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Repository } from '../core/repo/index.js';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { git, gitProject } from './helpers/fraud.js';

interface Out {
  path: string;
  identical: boolean;
  recorded: { id: string; size: number };
  reproduced: { id: string; size: number } | null;
  files: Array<{ path: string; recorded: { id: string; size: number } | null; reproduced: { id: string; size: number } | null }>;
}
interface Result {
  identical: boolean;
  failed: string | null;
  kept: boolean;
  dir: string;
  stages: Array<{ stage: string; status: string; outputs: Out[]; code: { sameAsRecorded: boolean } }>;
  differing: Array<{ stage: string; path: string }>;
  checkout: { code: { restored: string; commit: string | null }; fetched: { objects: number } | null; data: Array<{ path: string; from: string }> };
}

async function reproduceJson(dir: string, args: string[], expect: number): Promise<Result> {
  return JSON.parse((await ok(dir, ['--json', 'reproduce', ...args], expect)).stdout) as Result;
}

describe('strata reproduce on the fraud example', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  before(async () => {
    p = await gitProject();
    await ok(p.dir, ['repro']);
  });
  after(async () => p.cleanup());

  it('a deterministic chain reproduces identically: --verify exits 0', async () => {
    const r = await reproduceJson(p.dir, ['models/model.json', '--verify'], 0);
    assert.equal(r.identical, true);
    assert.deepEqual(r.stages.map((s) => s.stage), ['ingest', 'clean', 'features', 'train']);
    assert.ok(r.stages.every((s) => s.status === 'ok' && s.outputs.every((o) => o.identical)));
    assert.ok(r.stages.every((s) => s.code.sameAsRecorded), 'the reproduction ran on the recorded code');
    assert.equal(r.kept, false);
    assert.ok(!existsSync(r.dir), 'the temporary folder is removed');
    const text = await ok(p.dir, ['reproduce', 'models/model.json', '--verify', '--no-upstream']);
    assert.match(text.stdout, /identical +models\/model\.json/);
    assert.match(text.stdout, /result: all 1 output\(s\) identical/);
  });

  it('--into keeps the folder, a working project with the reproduced runs', async () => {
    const r = await reproduceJson(p.dir, ['metrics/eval.json', '--verify', '--into', 'again'], 0);
    assert.equal(r.kept, true);
    assert.deepEqual(r.stages.map((s) => s.stage), ['ingest', 'clean', 'features', 'train', 'evaluate']);
    const runs = JSON.parse((await ok(join(p.dir, 'again'), ['runs', '--json'])).stdout) as unknown[];
    assert.equal(runs.length, 10, 'the 5 recorded runs and the 5 reproduced ones');
    const same = await ok(join(p.dir, 'again'), ['repro', '--dry-run']);
    assert.match(same.stdout, /everything is up to date/);
  });

  it('objects missing locally are fetched from the file:// remote; without a remote, OBJECT_MISSING lists them', async () => {
    const remote = await tempDir('strata-remote-');
    try {
      await ok(p.dir, ['commit', '-m', 'data']);
      await ok(p.dir, ['remote', 'add', 'origin', `file://${remote.dir}`]);
      await ok(p.dir, ['push']);
      const features = JSON.parse((await ok(p.dir, ['lineage', 'data/features.csv', '--json', '--depth', '0'])).stdout).target.id as string;
      const drop = async () => {
        const repo = await Repository.openAt(p.dir);
        try {
          await repo.store.deleteMany([features]);
          assert.equal(await repo.store.has(features), false);
        } finally {
          await repo.close();
        }
      };
      await drop();
      const r = JSON.parse((await ok(p.dir, ['--json', 'checkout', '--for', 'models/model.json', '--no-upstream', '--into', 'fetched'])).stdout) as Result['checkout'];
      assert.ok(r.fetched && r.fetched.objects >= 1, 'fetched from origin');
      assert.ok((await readFile(join(p.dir, 'fetched', 'data/features.csv'))).equals(await readFile(join(p.dir, 'data/features.csv'))));
      await drop();
      await ok(p.dir, ['remote', 'remove', 'origin']);
      const miss = await strata(p.dir, ['checkout', '--for', 'models/model.json', '--no-upstream', '--into', 'nothing']);
      assert.equal(miss.code, 11, miss.stderr);
      assert.match(miss.stderr, /not in the local store: data\/features\.csv/);
      assert.match(miss.stderr, /hint: .*remote/);
      assert.ok(!existsSync(join(p.dir, 'nothing')), 'no partial folder left');
      const js = JSON.parse((await strata(p.dir, ['--json', 'checkout', '--for', 'models/model.json', '--no-upstream', '--into', 'nothing'])).stdout);
      assert.equal(js.error.code, 'OBJECT_MISSING');
      assert.deepEqual(js.error.details.missing.map((m: { path: string }) => m.path), ['data/features.csv']);
    } finally {
      await remote.cleanup();
    }
  });
});

describe('strata reproduce: non-deterministic and failing stages', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  before(async () => {
    p = await gitProject({
      example: false,
      files: {
        'stamp.mjs': "import fs from 'node:fs';\nfs.mkdirSync('out', { recursive: true });\nfs.writeFileSync('out/fixed.txt', fs.readFileSync('in.txt', 'utf8').toUpperCase());\nfs.writeFileSync('out/stamp.txt', `built at ${process.hrtime.bigint()} ${Math.random()}\\n`);\n",
        'in.txt': 'hello\n',
        'strata.yaml':
          'stages:\n  stamp:\n    cmd: node stamp.mjs\n    deps: [stamp.mjs, in.txt]\n    outs: [out]\n  secret:\n    cmd: cat secret.txt > copy.txt\n    outs: [copy.txt]\n',
      },
    });
    await writeFile(join(p.dir, 'secret.txt'), 'not declared, not in git\n');
    await writeFile(join(p.dir, '.gitignore'), '/.strata/\nsecret.txt\n');
    git(p.dir, 'commit', '-q', '-am', 'ignore secret');
    await ok(p.dir, ['repro']);
  });
  after(async () => p.cleanup());

  it('a stage writing a timestamp: the differing file with sizes and ids, exit 15', async () => {
    const r = await reproduceJson(p.dir, ['out', '--verify'], 15);
    assert.equal(r.identical, false);
    assert.deepEqual(r.differing, [{ stage: 'stamp', path: 'out' }]);
    const o = r.stages[0]!.outputs[0]!;
    assert.deepEqual(o.files.map((f) => f.path), ['out/stamp.txt'], 'only the timestamp file differs');
    const f = o.files[0]!;
    assert.ok(f.recorded && f.reproduced && f.recorded.id !== f.reproduced.id && f.recorded.size > 0 && f.reproduced.size > 0);
    const text = await strata(p.dir, ['reproduce', 'out', '--verify']);
    assert.equal(text.code, 15);
    assert.match(text.stdout, /DIFFERS +out\/ +recorded .* reproduced /);
    assert.match(text.stdout, /out\/stamp\.txt +recorded \d+ B [0-9a-f]{12} +reproduced \d+ B [0-9a-f]{12}/);
    assert.match(text.stdout, /not deterministic/);
    // Without --verify the difference is reported, not an error.
    assert.equal((await strata(p.dir, ['reproduce', 'out'])).code, 0);
  });

  it('a stage that needs an undeclared input fails in the reproduction: exit 14', async () => {
    const r = await strata(p.dir, ['reproduce', 'copy.txt', '--verify']);
    assert.equal(r.code, 14, r.stdout + r.stderr);
    assert.match(r.stderr, /stage secret failed/);
  });
});

describe('strata reproduce without git', () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    t = await tempDir('strata-nogit-');
    await ok(t.dir, ['init']);
    await writeFiles(t.dir, {
      'score.mjs': "import fs from 'node:fs';\nconst k = Number(process.argv[2]);\nconst rows = fs.readFileSync('data/in.csv', 'utf8').trim().split('\\n');\nfs.writeFileSync('score.json', JSON.stringify({ n: rows.length * k }));\n",
      'data/in.csv': 'a\nb\nc\n',
      'params.yaml': 'score:\n  k: 7\n',
      'strata.yaml': 'stages:\n  score:\n    cmd: node score.mjs 7\n    deps: [score.mjs, data/in.csv]\n    params: [score.k]\n    outs: [score.json]\n',
    });
    await ok(t.dir, ['add', 'data']);
    await ok(t.dir, ['repro']);
  });
  after(async () => t.cleanup());

  it('checkout --for says no code version was recorded and restores the inputs from the store', async () => {
    const text = (await ok(t.dir, ['checkout', '--for', 'score.json', '--into', 'back'])).stdout;
    assert.match(text, /no code version was recorded/);
    const back = join(t.dir, 'back');
    assert.equal(await readFile(join(back, 'score.mjs'), 'utf8'), await readFile(join(t.dir, 'score.mjs'), 'utf8'), 'a code file that was an input comes back from the store');
    assert.equal(await readFile(join(back, 'data/in.csv'), 'utf8'), 'a\nb\nc\n');
    assert.match(await readFile(join(back, 'params.yaml'), 'utf8'), /k: 7/, 'params written from the recorded values');
    const r = await reproduceJson(t.dir, ['score.json', '--verify'], 0);
    assert.equal(r.checkout.code.restored, 'none');
    assert.equal(r.checkout.code.commit, null);
  });
});
