// Smoke test of the benchmark harness (bench/bench.ts) at tiny scale: it must complete, print a
// table with every built-in row (sections small, large + throughput, mixed, startup; later sections
// such as remotes/server have their own cost and are not run here) and measure the peers. Strata figures may be errors only while the
// CLI is absent (dist/cli/main.js not built). No network; well under 60 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function projectRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error('package.json not found');
    d = up;
  }
  return d;
}

const ROWS = [
  'add+commit small',
  'status, nothing changed, small',
  'status after touching 100 files, small',
  'checkout small into an empty folder',
  'peak RSS: add+commit small',
  'add+commit large file',
  'checkout large file (verified) into an empty folder',
  'store growth after 1% edit',
  'store growth after append',
  'peak RSS: add+commit large file',
  'chunking+hashing throughput',
  'add+commit mixed',
  'strata --version',
  'strata status in an empty repo',
];

interface Fig {
  kind: 'value' | 'error' | 'skipped';
  value?: number;
  message?: string;
}
interface JsonRow {
  id: string;
  title: string;
  strata: Fig;
  peers: { name: string; figure: Fig }[];
}

test('bench harness runs at tiny scale and reports every row', { timeout: 240_000 }, async () => {
  const root = projectRoot();
  const script = join(root, 'dist', 'bench', 'bench.js');
  assert.ok(existsSync(script), `${script} missing: run npm run build`);
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-smoke-'));
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [script, '--scale', 'tiny', '--runs', '1', '--no-write', '--no-sync', '--only', 'small,large,mixed,startup', '--dir', dir], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    assert.equal(code, 0, `harness failed:\n${stderr}`);
    for (const title of ROWS) assert.ok(stdout.includes(title), `row '${title}' missing from the table:\n${stdout}`);
    assert.match(stdout, /\| *ratio *\| *target *\| *result/);

    const json = JSON.parse(readFileSync(join(dir, 'results-tiny.json'), 'utf8')) as { rows: JsonRow[] };
    const byTitle = new Map(json.rows.map((r) => [r.title, r]));
    const peer = (row: string, name: string) => byTitle.get(row)?.peers.find((p) => p.name === name)?.figure;

    // Peers that every test machine has (git, cp) must have figures.
    for (const [row, name] of [
      ['add+commit small', 'git'],
      ['status, nothing changed, small', 'git'],
      ['status after touching 100 files, small', 'git'],
      ['checkout small into an empty folder', 'cp -r'],
      ['checkout small into an empty folder', 'git checkout'],
      ['add+commit mixed', 'git'],
    ] as const) {
      const f = peer(row, name);
      assert.equal(f?.kind, 'value', `${row} / ${name}: ${JSON.stringify(f)}`);
      assert.ok((f?.value ?? 0) > 0);
    }
    // Optional peers: a figure, or skipped because not installed — never a crash.
    for (const r of json.rows) for (const p of r.peers) if (p.figure.kind === 'error') assert.fail(`${r.title} / ${p.name} errored: ${p.figure.message}`);

    const cliBuilt = existsSync(join(root, 'dist', 'cli', 'main.js')) && existsSync(join(root, 'bin', 'strata.js'));
    for (const r of json.rows) {
      if (cliBuilt) assert.notEqual(r.strata.kind, 'error', `${r.title}: strata ${r.strata.message}`);
      else assert.ok(r.strata.kind === 'error' || r.strata.kind === 'skipped', `${r.title}: expected an error without the CLI`);
    }

    // --merge: a partial run re-measures its sections and carries the others over from the last results.
    const doc = join(dir, 'benchmarks.md');
    const merged = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [script, '--scale', 'tiny', '--runs', '1', '--no-sync', '--only', 'startup', '--merge', '--doc', doc, '--dir', dir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    assert.equal(merged.code, 0, `merge run failed:\n${merged.stderr}`);
    const text = readFileSync(doc, 'utf8');
    for (const title of ROWS) assert.ok(text.includes(`| ${title} |`), `row '${title}' missing from the merged report`);
    assert.match(text, /Rows of the section\(s\) `small`, `large`, `throughput`, `mixed` were not re-measured in this run/);
    const after = JSON.parse(readFileSync(join(dir, 'results-tiny.json'), 'utf8')) as { rows: Array<JsonRow & { measured: string }> };
    assert.equal(after.rows.length, json.rows.length, 'every row is kept');
    const first = after.rows.find((r) => r.title === 'add+commit small')!;
    const fresh = after.rows.find((r) => r.title === 'strata --version')!;
    assert.notEqual(first.measured, fresh.measured, 'carried rows keep the time they were measured');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
