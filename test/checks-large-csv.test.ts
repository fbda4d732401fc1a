/**
 * Checks on a CSV larger than the memory they may use are streamed, not loaded whole: a 550 MB CSV
 * (8,000,000 rows written by DuckDB) judged with `tables.memoryLimit` 300MB passes its checks (a
 * unique over every id included, which spills to disk), finds and names the two bad rows in the
 * middle, and the `strata check` process's peak RSS, measured by GNU time, stays below the size of
 * the file. A limit too small for the work is one clear message naming the setting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ok, tempDir } from './helpers/cli.js';
import { duckWrite } from './helpers/tables.js';

const GNU_TIME = '/usr/bin/time';

/** Runs the CLI under GNU time: exit code, stdout and the peak RSS in bytes. */
function measured(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; rss: number }> {
  const rssFile = join(cwd, '..', `rss-${process.pid}-${Date.now()}`);
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-f', '%M', '-o', rssFile, process.execPath, BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const kib = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
      resolve({ code, stdout, stderr, rss: kib * 1024 });
    });
  });
}

test('checks on a CSV larger than tables.memoryLimit stream it and name a bad row', { timeout: 600_000 }, async (t) => {
  if (!existsSync(GNU_TIME)) {
    t.skip('GNU time (/usr/bin/time, Debian package time) is needed to measure the peak RSS');
    return;
  }
  const { dir: root, cleanup } = await tempDir('strata-large-csv-');
  try {
    const dir = join(root, 'repo');
    await fsp.mkdir(join(dir, 'data'), { recursive: true });
    await ok(dir, ['init', '-q']);
    await ok(dir, ['config', 'set', 'tables.memoryLimit', '300MB']);
    const csv = join(dir, 'data', 'big.csv');
    const rows = 8_000_000;
    // One bad amount (negative) and one null user in the middle of the file.
    await duckWrite(
      `SELECT i AS id, CASE WHEN i = 4000001 THEN NULL ELSE 'user-' || (i % 50000) END AS "user",
        CASE WHEN i = 4000000 THEN -1.0 ELSE (i % 100000) / 100.0 END AS amount,
        TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, 'padding-for-a-wider-row' AS note FROM range(${rows}) r(i)`,
      csv,
      'csv',
    );
    const size = (await fsp.stat(csv)).size;
    assert.ok(size > 500e6, `the CSV is ${size} bytes`);
    await fsp.writeFile(
      join(dir, 'strata.checks.yaml'),
      `tables:
  data/big.csv:
    - {kind: unique, columns: [id]}
    - {kind: not_null, columns: [id, ts]}
    - {kind: regex, column: note, pattern: '^padding'}
    - {kind: row_count, min: ${rows}, max: ${rows}}
    - {kind: range, column: amount, min: 0}
    - {kind: not_null, columns: [user]}
`,
    );
    await ok(dir, ['add', '.']);
    const bad = await measured(dir, ['check', '--json']);
    assert.equal(bad.code, 18, bad.stderr);
    const rep = JSON.parse(bad.stdout) as { results: Array<{ name: string; status: string; failing: number; sample: Array<Record<string, unknown>> }> };
    const byName = new Map(rep.results.map((r) => [r.name, r]));
    for (const n of ['unique(id)', 'not_null(id,ts)', 'regex(note)', 'row_count']) assert.equal(byName.get(n)?.status, 'pass', `${n}: ${JSON.stringify(byName.get(n))}`);
    assert.equal(byName.get('range(amount)')!.failing, 1);
    assert.equal(byName.get('range(amount)')!.sample[0]!.id, 4000000);
    assert.equal(byName.get('not_null(user)')!.failing, 1);
    assert.equal(byName.get('not_null(user)')!.sample[0]!.id, 4000001);
    assert.ok(bad.rss < size, `peak RSS ${Math.round(bad.rss / 1e6)} MB is not below the file's ${Math.round(size / 1e6)} MB`);

    // A limit too small for the work: one message naming the setting and the fix, exit 17.
    await ok(dir, ['config', 'set', 'tables.memoryLimit', '64MB']);
    // (another check, so that the results recorded above do not answer)
    await fsp.appendFile(join(dir, 'strata.checks.yaml'), '    - {kind: range, column: id, min: 0}\n');
    await ok(dir, ['add', 'strata.checks.yaml']);
    const small = await measured(dir, ['check']);
    assert.equal(small.code, 17, small.stderr);
    assert.match(small.stderr, /needs more memory than tables\.memoryLimit \(64MB\) allows/);
    assert.match(small.stderr, /strata config set tables\.memoryLimit/);
    assert.doesNotMatch(small.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    await cleanup();
  }
});
