/**
 * Two things `strata check` does to avoid work, through the real CLI: unique and distinct counts of
 * integer columns by bitmap (same verdicts and failing rows as a GROUP BY: NULLs, wide ranges,
 * duplicates), and drift metrics stored by content id and definition in strata.db (table_metrics):
 * a second run uses them (a changed stored value shows through), an unreadable one is computed
 * again and rewritten, and a changed check definition gets its own value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, tempDir } from './helpers/cli.js';
import { duckWrite } from './helpers/tables.js';

const require = createRequire(import.meta.url);
type Db = { prepare(sql: string): { all(...a: unknown[]): unknown[]; run(...a: unknown[]): unknown }; close(): void };
const Database = require('better-sqlite3') as new (path: string, opts?: Record<string, unknown>) => Db;

interface Result { name: string; status: string; failing: number; sample: Array<Record<string, unknown>>; metrics: Record<string, unknown>; message?: string }

async function check(dir: string, args: string[], expect: number): Promise<Map<string, Result>> {
  const r = await strata(dir, ['--json', 'check', ...args]);
  assert.equal(r.code, expect, r.stdout + r.stderr);
  return new Map((JSON.parse(r.stdout) as { results: Result[] }).results.map((x) => [x.name, x]));
}

/** Rows of table_metrics (read with SQLite itself, as a user of the file would). */
function metricRows(dir: string, where = ''): Array<{ object: string; def: string; value: string }> {
  const db = new Database(join(dir, '.strata', 'strata.db'), { readonly: true });
  try {
    return db.prepare(`SELECT object, def, value FROM table_metrics ${where} ORDER BY object, def`).all() as Array<{ object: string; def: string; value: string }>;
  } finally {
    db.close();
  }
}

function setMetric(dir: string, object: string, defLike: string, value: string): void {
  const db = new Database(join(dir, '.strata', 'strata.db'));
  try {
    const r = db.prepare('UPDATE table_metrics SET value = ? WHERE object = ? AND def LIKE ?').run(value, object, defLike) as { changes: number };
    assert.equal(r.changes, 1, `one stored metric like ${defLike}`);
  } finally {
    db.close();
  }
}

test('unique and distinct counts of integer columns: bitmap or GROUP BY, the same verdicts and rows', async () => {
  const { dir, cleanup } = await tempDir('strata-checks-bitmap-');
  try {
    await ok(dir, ['init', '-q', '.']);
    // a: 0..99; b: one NULL; c: two NULLs; w: distinct but spread over 9.9e12 (too wide for a bitmap);
    // wd: wide with 7e10 twice; d: 0..9 ten times each (a distinct count of 10)
    await duckWrite(
      `SELECT i AS a, CASE WHEN i = 50 THEN NULL ELSE i END AS b, CASE WHEN i IN (3, 4) THEN NULL ELSE i END AS c,
        i * 100000000000 AS w, CASE WHEN i = 8 THEN 700000000000 ELSE i * 100000000000 END AS wd, i % 10 AS d FROM range(100) r(i)`,
      join(dir, 'u.parquet'),
      'parquet',
    );
    await fsp.writeFile(join(dir, 'strata.checks.yaml'), `tables:
  u.parquet:
    - {kind: unique, columns: [a]}
    - {kind: unique, columns: [b]}
    - {kind: unique, columns: [c]}
    - {kind: unique, columns: [w]}
    - {kind: unique, columns: [wd]}
    - {kind: unique, columns: [d]}
    - {kind: drift, metric: distinct_count, column: d, max_change: 10%}
    - {kind: drift, metric: distinct_count, column: w, max_change: 10%}
`);
    await ok(dir, ['add', '.']);
    const r = await check(dir, [], 18);
    assert.equal(r.get('unique(a)')!.status, 'pass');
    assert.deepEqual(r.get('unique(a)')!.metrics, { rows: 100, duplicate_groups: 0 });
    assert.equal(r.get('unique(b)')!.status, 'pass');
    // two NULLs are one group of two, as GROUP BY has it
    assert.equal(r.get('unique(c)')!.failing, 2);
    assert.deepEqual(r.get('unique(c)')!.sample, [{ c: null, count: 2 }]);
    assert.equal(r.get('unique(w)')!.status, 'pass');
    assert.equal(r.get('unique(wd)')!.failing, 2);
    assert.deepEqual(r.get('unique(wd)')!.sample, [{ wd: 700000000000, count: 2 }]);
    assert.equal(r.get('unique(d)')!.failing, 100);
    assert.deepEqual(r.get('unique(d)')!.metrics, { rows: 100, duplicate_groups: 10 });
    assert.deepEqual(r.get('unique(d)')!.sample.map((s) => s.count), [10, 10, 10, 10, 10]);
    assert.equal(r.get('drift(distinct_count,d)')!.metrics.current, 10);
    assert.equal(r.get('drift(distinct_count,w)')!.metrics.current, 100);
  } finally {
    await cleanup();
  }
});

test('drift metrics are stored by content id and definition, reused, and recomputed when unreadable', async () => {
  const { dir, cleanup } = await tempDir('strata-checks-metrics-');
  try {
    await ok(dir, ['init', '-q', '.']);
    const write = (n: number) => duckWrite(`SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL ELSE i * 2.0 END AS amount, 'u' || (i % 7) AS "user" FROM range(${n}) r(i)`, join(dir, 't.parquet'), 'parquet');
    const checks = (second: string) => fsp.writeFile(join(dir, 'strata.checks.yaml'), `tables:
  t.parquet:
    - {kind: drift, metric: row_count, max_change: 50%}
    - {kind: drift, metric: distinct_count, column: user, max_change: 50%}
    - {kind: drift, metric: ${second}, column: amount, max_change: 50%}
`);
    await checks('mean');
    await write(100);
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-q', '--no-verify', '-m', 'v1']);
    await write(120);
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-q', '--no-verify', '-m', 'v2']);
    const r1 = await strata(dir, ['--json', 'check', 'HEAD']);
    assert.equal(r1.code, 0, r1.stderr);
    const cur = (JSON.parse(r1.stdout) as { results: Array<{ object: string }> }).results[0]!.object;
    const first = new Map((JSON.parse(r1.stdout) as { results: Result[] }).results.map((x) => [x.name, x]));
    // the metrics of both versions were stored by this run
    const objects = [...new Set(metricRows(dir).map((m) => m.object))];
    assert.equal(objects.length, 2);
    const prevId = objects.find((o) => o !== cur)!;
    assert.deepEqual(first.get('drift(row_count)')!.metrics, { current: 120, previous: 100, change_pct: 20 });
    assert.deepEqual(first.get('drift(distinct_count,user)')!.metrics, { current: 7, previous: 7, change_pct: 0 });
    // mean of i * 2 over i not divisible by 4: v1 (0..99) 2 * 3750 / 75 = 100, v2 (0..119) 2 * 5400 / 90 = 120
    assert.deepEqual(first.get('drift(mean,amount)')!.metrics, { current: 120, previous: 100, change_pct: 20 });
    // three metrics of each version stored
    assert.equal(metricRows(dir, `WHERE object = '${cur}'`).length, 3);
    assert.equal(metricRows(dir, `WHERE object = '${prevId}'`).length, 3);

    // the same run again: the same verdicts, from the stored values
    const again = await check(dir, ['HEAD'], 0);
    assert.deepEqual([...again.values()], [...first.values()]);
    // a stored value is what the check uses: the previous version is not read again
    setMetric(dir, prevId, '%"row_count"%', '1000');
    const used = await check(dir, ['HEAD'], 18);
    assert.deepEqual(used.get('drift(row_count)')!.metrics, { current: 120, previous: 1000, change_pct: 88 });
    // an unreadable value is not a metric: computed again, and the row rewritten
    setMetric(dir, prevId, '%"row_count"%', 'not json{');
    const fixed = await check(dir, ['HEAD'], 0);
    assert.deepEqual(fixed.get('drift(row_count)')!.metrics, { current: 120, previous: 100, change_pct: 20 });
    assert.deepEqual(metricRows(dir, `WHERE object = '${prevId}' AND def LIKE '%"row_count"%'`).map((m) => m.value), ['100']);
    setMetric(dir, prevId, '%"distinct_count"%', '"seven"');
    assert.deepEqual((await check(dir, ['HEAD'], 0)).get('drift(distinct_count,user)')!.metrics, { current: 7, previous: 7, change_pct: 0 });

    // a changed definition (null_rate of the same column) is its own metric, not the mean's value
    // (the staged versions: v2's table, compared with HEAD's, the same content)
    await checks('null_rate');
    const nulls = await check(dir, [], 0);
    // NULL where i % 4 = 0: 30 of 120
    assert.deepEqual(nulls.get('drift(null_rate,amount)')!.metrics, { current: 0.25, previous: 0.25, change_pct: 0 });
    assert.deepEqual(metricRows(dir, `WHERE object = '${cur}' AND def LIKE '%"null_rate"%'`).map((m) => m.value), ['0.25']);
    assert.equal(metricRows(dir, `WHERE object = '${cur}'`).length, 4);
  } finally {
    await cleanup();
  }
});
