// Smoke test of the bench section `gateway` (bench/sections/gateway.ts) at tiny scale: a real
// `strata serve --s3-port` and s3rver as child processes, the client program of bench/s3-client.ts
// for every row. Every row must have a strata figure and an s3rver figure (targets are not judged:
// at tiny scale and on a shared machine they mean nothing), and the report must carry the notes
// the section promises (server CPU, the SDK reference runs).
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

interface Fig {
  kind: 'value' | 'error' | 'skipped';
  value?: number;
  message?: string;
  reason?: string;
}
interface JsonRow {
  id: string;
  title: string;
  unit: string;
  strata: Fig;
  peers: { name: string; figure: Fig }[];
  notes?: string[];
  evaluation: { verdict: string };
}

test('bench section gateway runs at tiny scale: strata and s3rver figures for all four rows', { timeout: 300_000 }, async () => {
  const root = projectRoot();
  const script = join(root, 'dist', 'bench', 'bench.js');
  assert.ok(existsSync(script), `${script} missing: run npm run build`);
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-gw-'));
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [script, '--scale', 'tiny', '--runs', '1', '--no-write', '--no-sync', '--only', 'gateway', '--dir', dir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    assert.equal(code, 0, `harness failed:\n${stderr}`);
    const json = JSON.parse(readFileSync(join(dir, 'results-tiny.json'), 'utf8')) as { rows: JsonRow[] };
    const byId = new Map(json.rows.map((r) => [r.id, r]));
    const units: Record<string, string> = { 'gateway.get-1g': 'MB/s', 'gateway.list-100k': 'ms', 'gateway.small-gets': 'req/s', 'gateway.put-1g': 'MB/s' };
    for (const [id, unit] of Object.entries(units)) {
      const r = byId.get(id);
      assert.ok(r, `row ${id} missing:\n${stderr}`);
      assert.equal(r.unit, unit);
      assert.equal(r.strata.kind, 'value', `${id}: strata ${JSON.stringify(r.strata)}`);
      assert.ok(r.strata.value! > 0, `${id}: strata ${r.strata.value}`);
      const peer = r.peers.find((p) => p.name === 's3rver')?.figure;
      assert.equal(peer?.kind, 'value', `${id}: s3rver ${JSON.stringify(peer)}`);
      assert.ok(peer!.value! > 0);
      assert.ok(['PASS', 'MISS'].includes(r.evaluation.verdict), `${id}: verdict ${r.evaluation.verdict}`);
      assert.ok(r.notes?.some((n) => /^strata serve process CPU/.test(n)), `${id}: no server CPU note in ${JSON.stringify(r.notes)}`);
    }
    for (const id of ['gateway.list-100k', 'gateway.small-gets']) {
      const sdk = byId.get(id)!.notes!.find((n) => n.startsWith('through @aws-sdk/client-s3'));
      assert.ok(sdk && !/error/.test(sdk), `${id}: SDK reference note ${JSON.stringify(sdk)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
