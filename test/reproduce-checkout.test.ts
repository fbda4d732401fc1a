/**
 * Reproducible training checkouts on the fraud example (real git repository, real binary):
 * train, change code + params + data and retrain, then `checkout --for` the FIRST model gives back
 * byte-identical inputs and code; a run on dirty code comes back with its uncommitted change; in
 * place with --into .; `strata show RUN_ID` in text and JSON; bad input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata } from './helpers/cli.js';
import { edit, git, gitProject } from './helpers/fraud.js';

interface Run {
  id: string;
  stage: string;
  code: { commit: string | null; dirty: boolean; diff?: string | null } | null;
  deps: Array<{ path: string; id: string }>;
  outs: Array<{ path: string; id: string }>;
}

const INPUTS = ['data/raw.csv', 'data/clean.csv', 'data/features.csv', 'train.mjs', 'lib.mjs', 'params.yaml', 'features.mjs', 'generate.mjs', 'clean.mjs'];

async function lastRun(dir: string, stage: string): Promise<Run> {
  const runs = JSON.parse((await ok(dir, ['runs', '--json', '--stage', stage, '-n', '1'])).stdout) as Run[];
  return runs[0]!;
}

describe('strata checkout --for', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  let dir: string;
  const first = new Map<string, Buffer>();
  let run1: Run;
  let commit1: string;
  let run2: Run;

  before(async () => {
    p = await gitProject();
    dir = p.dir;
    commit1 = p.commit;
    await ok(dir, ['repro']);
    run1 = await lastRun(dir, 'train');
    for (const f of [...INPUTS, 'models/model.json']) first.set(f, await readFile(join(dir, f)));
    await ok(dir, ['commit', '-m', 'first model']);
    await ok(dir, ['tag', 'v1']);
    // Change code (committed), params and data (fewer rows), and retrain.
    await edit(join(dir, 'train.mjs'), /\n/, '\n// v2: retrained with a lower learning rate\n');
    await edit(join(dir, 'params.yaml'), 'lr: 0.3', 'lr: 0.1');
    await edit(join(dir, 'params.yaml'), 'rows: 5000', 'rows: 4000');
    git(dir, 'commit', '-q', '-am', 'v2 code and params');
    await ok(dir, ['repro']);
    run2 = await lastRun(dir, 'train');
    await ok(dir, ['commit', '-m', 'second model']);
  });
  after(async () => p.cleanup());

  it('the first model: data, params and code come back byte-identical in a new folder', async () => {
    assert.notEqual(run1.id, run2.id);
    assert.notEqual((await readFile(join(dir, 'train.mjs'))).toString(), first.get('train.mjs')!.toString(), 'the workspace moved on');
    const r = JSON.parse((await ok(dir, ['--json', 'checkout', '--for', run1.id, '--into', 'first'])).stdout);
    assert.equal(r.run.id, run1.id);
    assert.deepEqual(r.chain.map((c: Run) => c.stage), ['ingest', 'clean', 'features', 'train']);
    assert.equal(r.code.commit, commit1);
    assert.equal(r.code.restored, 'git');
    assert.deepEqual(r.params.mismatches, []);
    assert.deepEqual(r.inputMismatches, []);
    const out = join(dir, 'first');
    for (const f of INPUTS) assert.ok((await readFile(join(out, f))).equals(first.get(f)!), `${f} is the first training's`);
    assert.ok(!existsSync(join(out, 'models/model.json')), 'outputs are not restored: they are what a re-run makes');
    // A shallow git repository at the recorded commit, clean; a strata project with clean status.
    assert.equal(git(out, 'rev-parse', 'HEAD'), commit1);
    assert.equal(git(out, 'status', '--porcelain', '--untracked-files=no'), '');
    const st = JSON.parse((await ok(out, ['--json', 'status'])).stdout);
    assert.equal((st.staged ?? []).length + (st.unstaged ?? []).length, 0, 'restored inputs are committed in the new project');
    // The run records travel with it.
    assert.match((await ok(out, ['show', run1.id])).stdout, /Stage: +train/);
    // The source repository's git state is untouched.
    assert.equal(git(dir, 'rev-parse', 'HEAD'), git(dir, 'rev-parse', 'main'));
    assert.equal(git(dir, 'status', '--porcelain', '--untracked-files=no'), '');
  });

  it('resolves MODEL_PATH (workspace version) and REF:PATH to the run that produced it', async () => {
    const byPath = JSON.parse((await ok(dir, ['--json', 'checkout', '--for', 'models/model.json', '--into', 'latest', '--no-upstream'])).stdout);
    assert.equal(byPath.run.id, run2.id);
    assert.equal(byPath.chain.length, 1);
    assert.ok(existsSync(join(dir, 'latest', 'data/features.csv')));
    assert.ok(!existsSync(join(dir, 'latest', 'data/raw.csv')), '--no-upstream restores only the run\'s own inputs');
    const byRef = JSON.parse((await ok(dir, ['--json', 'checkout', '--for', 'v1:models/model.json', '--into', 'viaref'])).stdout);
    assert.equal(byRef.run.id, run1.id);
    // Default folder name: ./repro-<first 12 hex digits of the run id>.
    const text = (await ok(dir, ['checkout', '--for', run2.id.slice(0, 13)])).stdout;
    const name = `repro-${run2.id.replace(/-/g, '').slice(0, 12)}`;
    assert.ok(existsSync(join(dir, name, 'train.mjs')), text);
    assert.match(text, /re-run with:/);
    assert.match(text, /node train\.mjs data\/features\.csv models\/model\.json/);
    assert.match(text, /strata reproduce .* --verify/);
  });

  it('a run on dirty code comes back with its uncommitted change applied', async () => {
    await writeFile(join(dir, 'train.mjs'), (await readFile(join(dir, 'train.mjs'), 'utf8')) + '\n// uncommitted experiment\n');
    const dirtyBytes = await readFile(join(dir, 'train.mjs'));
    await ok(dir, ['repro', 'train']);
    const run3 = await lastRun(dir, 'train');
    assert.equal(run3.code?.dirty, true);
    assert.match(run3.code?.diff ?? '', /^[0-9a-f]{64}$/, 'the code changes object id is recorded');
    git(dir, 'checkout', '--', 'train.mjs');
    const r = JSON.parse((await ok(dir, ['--json', 'checkout', '--for', run3.id, '--into', 'dirty'])).stdout);
    assert.deepEqual(r.code.applied, ['train.mjs']);
    assert.ok((await readFile(join(dir, 'dirty', 'train.mjs'))).equals(dirtyBytes), 'the restored script is the dirty version');
    assert.equal(git(join(dir, 'dirty'), 'status', '--porcelain', '--untracked-files=no'), 'M train.mjs');
    // strata show RUN_ID lists the recorded change.
    const show = (await ok(dir, ['show', run3.id])).stdout;
    assert.match(show, /dirty: uncommitted changes recorded as [0-9a-f]{64}/);
    assert.match(show, /modified +train\.mjs/);
    const js = JSON.parse((await ok(dir, ['show', run3.id, '--json'])).stdout);
    assert.equal(js.kind, 'run');
    assert.equal(js.run.code.diff, run3.code!.diff);
    assert.deepEqual(js.codeChanges.files.map((f: { path: string; status: string }) => [f.path, f.status]), [['train.mjs', 'modified']]);
  });

  it('strata show RUN_ID: the full record in text and JSON; refs still show commits', async () => {
    const text = (await ok(dir, ['show', run1.id])).stdout;
    for (const re of [/^run 01/m, /Stage: +train/, /Status: +ok/, /Command: +node train\.mjs/, /Wdir: +\./, /Exit: +0/, new RegExp(`Code: +git ${commit1} on main`), /train\.lr = 0\.3/, /data\/features\.csv +[0-9a-f]{64} +\d/, /models\/model\.json +[0-9a-f]{64} +\d+ B +model/, /Environment: node v/, /Log: +[0-9a-f]{64}/]) {
      assert.match(text, re);
    }
    const js = JSON.parse((await ok(dir, ['show', '--json', run1.id])).stdout);
    assert.equal(js.run.id, run1.id);
    assert.equal(js.run.stage, 'train');
    assert.equal(js.run.code.commit, commit1);
    assert.ok(js.duration >= 0);
    assert.ok(js.depSizes['data/features.csv'] > 0);
    const c = JSON.parse((await ok(dir, ['show', '--json'])).stdout);
    assert.equal(c.message, 'second model');
    assert.match((await ok(dir, ['show', 'v1'])).stdout, /first model/);
    const missing = await strata(dir, ['show', '01a2ffff-0000']);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /no run/);
  });

  it('--into . restores into the workspace; refuses over uncommitted changes without --force', async () => {
    await writeFile(join(dir, 'lib.mjs'), (await readFile(join(dir, 'lib.mjs'), 'utf8')) + '\n// wip\n');
    const refused = await strata(dir, ['checkout', '--for', run1.id, '--into', '.']);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /uncommitted changes would be overwritten/);
    assert.match(refused.stderr, /hint: .*--force/);
    const head = git(dir, 'rev-parse', 'HEAD');
    await ok(dir, ['checkout', '--for', run1.id, '--into', '.', '--force']);
    for (const f of ['data/features.csv', 'train.mjs', 'lib.mjs', 'params.yaml']) assert.ok((await readFile(join(dir, f))).equals(first.get(f)!), `${f} restored in place`);
    assert.equal(git(dir, 'rev-parse', 'HEAD'), head, 'git HEAD did not move');
    git(dir, 'checkout', '--', '.');
  });

  it('bad input: non-empty folder, unknown run, a commit instead of a model', async () => {
    const busy = await strata(dir, ['checkout', '--for', run1.id, '--into', 'first']);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, /exists and is not empty/);
    const unknown = await strata(dir, ['checkout', '--for', '01a2ffff-aaaa-7000-8000-000000000000']);
    assert.equal(unknown.code, 4);
    const notRun = await strata(dir, ['checkout', '--for', 'generate.mjs']);
    assert.notEqual(notRun.code, 0);
    assert.match(notRun.stderr, /hint:/);
    assert.ok(!existsSync(join(dir, 'repro-01a2ffffaaaa')), 'nothing created');
  });
});
