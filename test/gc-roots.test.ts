/**
 * gc and fsck start from explicit roots (core/ops/roots.ts collectRoots): refs, index, runs
 * (run objects, logs, outputs) and reproducibility (code-changes objects, run inputs). Through the
 * real CLI: a pipeline stage runs on dirty code, its output and its input are then replaced so
 * only the run keeps the old versions, gc deletes what nothing needs and keeps the rest, fsck is
 * clean, and checkout --for still restores the run's inputs and dirty code. In process: every
 * object the runs table names is among the roots reachable() walks, with nothing registered
 * by importing a module.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok, seededBytes, writeFiles } from './helpers/cli.js';
import { git, gitProject } from './helpers/fraud.js';
import { Repository } from '../core/repo/index.js';
import { reachable } from '../core/repo/reach.js';
import { collectRoots } from '../core/ops/roots.js';
import { listRuns } from '../core/meta/runs.js';
import { discardStaged, gatewayTempFile, stagePut } from '../core/gateway/staging.js';

const SCRIPT = "import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';\nmkdirSync('out', { recursive: true });\nwriteFileSync('out/result.txt', readFileSync('data/in.txt', 'utf8').toUpperCase());\n";

describe('gc and fsck roots', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  let dir: string;
  let runId: string;
  let diffId: string;
  let oldOut: Buffer;
  let oldIn: Buffer;

  before(async () => {
    p = await gitProject({
      example: false,
      files: {
        'make.mjs': SCRIPT,
        'strata.yaml': 'stages:\n  upper:\n    cmd: node make.mjs\n    deps: [make.mjs, data/in.txt]\n    outs:\n      - out/result.txt\n',
      },
    });
    dir = p.dir;
    await writeFiles(dir, { 'data/in.txt': 'first input\n' });
    await ok(dir, ['add', 'data']);
    // Dirty code: the run records a code-changes object.
    await writeFile(join(dir, 'make.mjs'), SCRIPT + '// uncommitted tweak\n');
    await ok(dir, ['repro']);
    const runs = JSON.parse((await ok(dir, ['runs', '--json'])).stdout) as Array<{ id: string; code: { dirty: boolean; diff?: string } }>;
    assert.equal(runs.length, 1);
    runId = runs[0]!.id;
    assert.equal(runs[0]!.code.dirty, true);
    diffId = runs[0]!.code.diff!;
    assert.match(diffId, /^[0-9a-f]{64}$/);
    oldOut = await readFile(join(dir, 'out/result.txt'));
    oldIn = await readFile(join(dir, 'data/in.txt'));
    git(dir, 'checkout', '--', 'make.mjs');
    // Replace input and output in the index and commit: only the run still needs the old versions.
    await writeFiles(dir, { 'data/in.txt': 'second input\n', 'out/result.txt': 'hand-written\n' });
    await ok(dir, ['add', 'data', 'out']);
    await ok(dir, ['commit', '-m', 'later data']);
    // Something nothing needs: a version staged and then replaced before any commit.
    await writeFiles(dir, { 'data/scratch.txt': 'staged once, then replaced\n' });
    await ok(dir, ['add', 'data']);
    await writeFiles(dir, { 'data/scratch.txt': 'the version that stays\n' });
    await ok(dir, ['add', 'data']);
  });
  after(async () => p.cleanup());

  it('collectRoots names every run object, log, output, input and code-changes object; reachable() walks them', async () => {
    const repo = await Repository.open(dir);
    try {
      const roots = await collectRoots(repo);
      assert.deepEqual(Object.keys(roots.extra).sort(), ['gateway', 'reproducibility', 'runs']);
      const live = await reachable(repo, roots);
      const [run] = listRuns(repo);
      const row = repo.db.getRunRow(run!.id)!;
      const want: Array<[string, string]> = [['run object', row.object], ['code changes', diffId]];
      if (row.log) want.push(['log', row.log]);
      for (const o of run!.outs) want.push([`output ${o.path}`, o.id]);
      for (const d of run!.deps) want.push([`input ${d.path}`, d.id]);
      for (const [what, id] of want) assert.ok(live.has(id), `${what} ${id} is a root`);
      assert.ok(roots.commits.length >= 1, 'refs are roots');
    } finally {
      await repo.close();
    }
  });

  it('gc deletes what nothing needs and keeps run objects, run outputs and code-changes objects; fsck is clean; checkout --for works', async () => {
    const gc = JSON.parse((await ok(dir, ['--json', 'gc'])).stdout) as { objects: number; kept: number };
    assert.ok(gc.objects >= 1, `gc removed the replaced staged version (${gc.objects})`);
    const again = JSON.parse((await ok(dir, ['--json', 'gc'])).stdout) as { objects: number };
    assert.equal(again.objects, 0, 'a second gc finds nothing more');
    const fsck = await ok(dir, ['fsck']);
    assert.doesNotMatch(fsck.stdout + fsck.stderr, /missing|corrupt/i);
    // The run is whole: its record, log and recorded code change.
    const show = JSON.parse((await ok(dir, ['show', runId, '--json'])).stdout) as { codeChanges: { files: Array<{ path: string }> } };
    assert.ok(show.codeChanges.files.some((f) => f.path === 'make.mjs'), JSON.stringify(show.codeChanges.files));
    // checkout --for restores the run's input (replaced in the workspace since) and its dirty code.
    const r = JSON.parse((await ok(dir, ['--json', 'checkout', '--for', runId, '--into', 'again'])).stdout) as { code: { applied: string[] }; inputMismatches: unknown[] };
    assert.ok(r.code.applied.includes('make.mjs'), JSON.stringify(r.code.applied));
    assert.deepEqual(r.inputMismatches, []);
    assert.ok((await readFile(join(dir, 'again', 'data/in.txt'))).equals(oldIn));
    assert.match(await readFile(join(dir, 'again', 'make.mjs'), 'utf8'), /uncommitted tweak/);
    // The run's output is still in the store: the run cache restores it in place of running again.
    await writeFiles(dir, { 'data/in.txt': oldIn.toString() });
    await writeFile(join(dir, 'make.mjs'), SCRIPT + '// uncommitted tweak\n');
    const repro = await ok(dir, ['--json', 'repro']);
    assert.match(repro.stdout, /cached|restore/i, repro.stdout);
    assert.ok((await readFile(join(dir, 'out/result.txt'))).equals(oldOut));
  });

  it('uncommitted S3 gateway writes are roots (blob, manifest, chunks): gc keeps them, fsck checks them; discarded, they go', async () => {
    const repo = await Repository.open(dir);
    let ids: string[];
    try {
      const body = async (b: Buffer | string) => {
        const p = await gatewayTempFile(repo);
        await writeFile(p, b);
        return p;
      };
      const small = await stagePut(repo, 'main', 'gw/small.txt', await body('written through the gateway only'), {});
      const big = await stagePut(repo, 'main', 'gw/big.bin', await body(seededBytes(9 << 20, 21)), {});
      assert.ok(big.entry.chunks);
      const roots = await collectRoots(repo);
      const gw = new Set(roots.extra.gateway);
      assert.ok(gw.has(small.entry.id), 'the staged blob');
      assert.ok(gw.has(big.entry.chunks!), 'the staged manifest');
      assert.ok(gw.size > 3, `and its chunks (${gw.size})`);
      ids = [...gw];
    } finally {
      await repo.close();
    }
    await ok(dir, ['gc']);
    const fsck = await ok(dir, ['fsck']);
    assert.doesNotMatch(fsck.stdout + fsck.stderr, /missing|corrupt/i);
    const again = await Repository.open(dir);
    try {
      const have = await again.store.hasMany(ids);
      assert.equal(have.size, ids.length, 'gc kept every staged object');
      discardStaged(again, 'main');
    } finally {
      await again.close();
    }
    await ok(dir, ['gc']);
    const last = await Repository.open(dir);
    try {
      assert.equal((await last.store.hasMany(ids)).size, 0, 'discarded writes are garbage');
    } finally {
      await last.close();
    }
  });
});
