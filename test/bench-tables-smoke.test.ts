// Smoke test of the bench section `tables` (bench/sections/tables.ts) at tiny scale (20,000 rows):
// the data is written by DuckDB, the 25 checks pass on it (strata check exits 0, else the row is an
// error), both diffs run, and pandas (Debian python3-pandas) measures the same checks and the keyed
// diff. Targets are not judged: at tiny scale and on a shared machine they mean nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

interface Fig {
  kind: 'value' | 'error' | 'skipped';
  value?: number;
  message?: string;
  reason?: string;
}

test('the tables bench section runs at tiny scale with strata and pandas figures', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-tables-'));
  try {
    const script = join(ROOT, 'dist', 'bench', 'bench.js');
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [script, '--scale', 'tiny', '--runs', '1', '--no-write', '--no-sync', '--only', 'tables', '--dir', dir], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    assert.equal(code, 0, `harness failed:\n${stderr}`);
    const json = JSON.parse(readFileSync(join(dir, 'results-tiny.json'), 'utf8')) as { rows: Array<{ id: string; strata: Fig; peers: Array<{ name: string; figure: Fig }> }> };
    const byId = new Map(json.rows.map((r) => [r.id, r]));
    for (const id of ['tables.check-parquet', 'tables.check-csv', 'tables.diff-key', 'tables.diff-content', 'tables.rss']) {
      const r = byId.get(id);
      assert.ok(r, `row ${id} missing`);
      assert.equal(r.strata.kind, 'value', `${id}: ${JSON.stringify(r.strata)}`);
      assert.ok((r.strata.value ?? 0) > 0, id);
    }
    for (const [id, peer] of [['tables.check-csv', 'pandas (same checks)'], ['tables.diff-key', 'pandas merge (CSV)'], ['tables.diff-key', 'strata on the CSV versions'], ['tables.rss', 'pandas (same work)']] as const) {
      const f = byId.get(id)!.peers.find((p) => p.name === peer)?.figure;
      assert.equal(f?.kind, 'value', `${id} / ${peer}: ${JSON.stringify(f)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
