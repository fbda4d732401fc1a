/** strata check and the commit gate through the real CLI, on CSV, Parquet (written by DuckDB) and JSONL. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, tempDir } from './helpers/cli.js';
import { duckWrite } from './helpers/tables.js';

interface Result { path: string; name: string; status: string; failing: number; sample: Array<Record<string, unknown>>; metrics: Record<string, unknown>; object: string; commit: string | null; message?: string }

async function repo(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const t = await tempDir('strata-checks-');
  await ok(t.dir, ['init', '-q', '.']);
  await fsp.mkdir(join(t.dir, 'data'));
  return t;
}

async function results(dir: string, args: string[], expect: number): Promise<Map<string, Result>> {
  const r = await strata(dir, ['--json', 'check', ...args]);
  assert.equal(r.code, expect, r.stdout + r.stderr);
  const rep = JSON.parse(r.stdout) as { results: Result[]; ok: boolean };
  assert.equal(rep.ok, expect === 0);
  return new Map(rep.results.map((x) => [`${x.path}#${x.name}`, x]));
}

test('every kind passes on good data and fails on bad data, naming the failing rows', async () => {
  const { dir, cleanup } = await repo();
  try {
    const p = (f: string) => join(dir, 'data', f);
    // good: Parquet written by DuckDB
    await duckWrite(`SELECT i AS id, 'u' || (i % 3) AS "user", i * 1.5 AS amount, CASE WHEN i % 2 = 0 THEN 'ok' ELSE 'refunded' END AS status, CAST(current_timestamp AS TIMESTAMP) - INTERVAL (i) HOUR AS ts FROM range(1, 101) r(i)`, p('tx.parquet'), 'parquet');
    await duckWrite(`SELECT 'u' || i AS id FROM range(0, 3) r(i)`, p('users.csv'), 'csv');
    await duckWrite(`SELECT i AS id FROM range(1, 101) r(i)`, p('tx_copy.parquet'), 'parquet');
    await fsp.writeFile(join(dir, 'strata.checks.yaml'), `tables:
  data/tx.parquet:
    - {kind: columns, columns: {id: BIGINT, user: VARCHAR, amount: any}}
    - {kind: not_null, columns: [user, id]}
    - {kind: unique, columns: [user, id]}
    - {kind: unique, columns: [id]}
    - {kind: accepted_values, column: status, values: [ok, refunded]}
    - {kind: range, column: amount, min: 0, max: 1000}
    - {kind: regex, column: user, pattern: '^u[0-9]+$'}
    - {kind: row_count, min: 10, max: 1000}
    - {kind: row_count, same_as: data/tx_copy.parquet}
    - {kind: freshness, column: ts, max_age: 30d, since: now}
    - {kind: foreign_key, column: user, to: {path: data/users.csv, column: id}}
    - {kind: sql, name: big, query: "SELECT * FROM t WHERE amount > 500"}
    - {kind: drift, metric: row_count, max_change: 20%}
    - {kind: drift, metric: mean, column: amount, max_change: 10%}
`);
    await ok(dir, ['add', 'data', 'strata.checks.yaml']);
    const good = await results(dir, [], 0);
    assert.equal(good.size, 14);
    // a superset of a proven key is unique without a GROUP BY of its own
    assert.equal(good.get('data/tx.parquet#unique(user,id)')!.message, 'implied by unique(id) in the same run');
    assert.equal(good.get('data/tx.parquet#row_count(same_as data/tx_copy.parquet)')!.metrics.same_as_rows, 100);
    for (const r of good.values()) assert.equal(r.status, 'pass', JSON.stringify(r));
    await ok(dir, ['commit', '-m', 'good data']);

    // bad: duplicates, a null user, a negative amount, an unknown status, an unknown user, a bad name, an old ts
    await duckWrite(`SELECT * FROM (VALUES
      (1, 'u1', 1.0, 'ok', TIMESTAMP '2020-01-01'),
      (1, 'u2', 2.0, 'ok', TIMESTAMP '2020-01-01'),
      (3, NULL, 3.0, 'ok', TIMESTAMP '2020-01-01'),
      (4, 'u1', -4.0, 'ok', TIMESTAMP '2020-01-01'),
      (5, 'u2', 5.0, 'lost', TIMESTAMP '2020-01-01'),
      (6, 'u9', 600.0, 'ok', TIMESTAMP '2020-01-02'),
      (7, 'X', 7.0, 'ok', TIMESTAMP '2020-01-01')
    ) v(id, "user", amount, status, ts)`, p('tx.parquet'), 'parquet');
    await ok(dir, ['add', 'data']);
    const bad = await results(dir, [], 18);
    const get = (n: string) => bad.get(`data/tx.parquet#${n}`)!;
    assert.equal(get('columns(id,user,amount)').status, 'fail'); // id is INTEGER now
    assert.deepEqual(get('columns(id,user,amount)').sample, [{ column: 'id', expected: 'BIGINT', found: 'INTEGER' }]);
    assert.equal(get('not_null(user,id)').failing, 1);
    assert.equal(get('not_null(user,id)').sample[0]!.id, 3);
    assert.equal(get('unique(id)').failing, 2);
    assert.equal(get('unique(user,id)').status, 'pass'); // (1,u1) and (1,u2): grouped, as id is not unique
    assert.equal(get('unique(user,id)').message, undefined);
    assert.deepEqual(get('unique(id)').sample, [{ id: 1, count: 2 }]);
    assert.equal(get('accepted_values(status)').failing, 1);
    assert.equal(get('accepted_values(status)').sample[0]!.id, 5);
    assert.equal(get('range(amount)').failing, 1);
    assert.equal(get('range(amount)').sample[0]!.id, 4);
    assert.equal(get('regex(user)').failing, 1);
    assert.equal(get('regex(user)').sample[0]!.user, 'X');
    assert.equal(get('row_count').status, 'fail');
    assert.equal(get('row_count(same_as data/tx_copy.parquet)').status, 'fail');
    assert.equal(get('row_count(same_as data/tx_copy.parquet)').message, '7 rows, expected 100 as in data/tx_copy.parquet');
    assert.equal(get('freshness(ts)').status, 'fail');
    assert.deepEqual(get('foreign_key(user)').sample.map((r) => r.user).sort(), ['X', 'u9']);
    assert.equal(get('big').failing, 1);
    assert.equal(get('big').sample[0]!.id, 6);
    assert.equal(get('drift(row_count)').status, 'fail');
    assert.equal(get('drift(row_count)').metrics.previous, 100);
    assert.equal(get('drift(row_count)').metrics.current, 7);
    assert.equal(get('drift(mean,amount)').status, 'fail');

    // the text output names check, status, count and rows; --failures hides passes
    const txt = await strata(dir, ['check', '--failures']);
    assert.equal(txt.code, 18);
    assert.match(txt.stdout, /data\/tx\.parquet\s+unique\(id\)\s+fail\s+2/);
    assert.match(txt.stdout, /id=4 user=u1 amount=-4/);
    assert.doesNotMatch(txt.stdout, /\spass\s/);
    assert.match(txt.stderr, /CHECK_FAILED|error-level check\(s\) failed/);

    // the commit gate
    const refused = await strata(dir, ['commit', '-m', 'bad data']);
    assert.equal(refused.code, 18, refused.stderr);
    assert.match(refused.stderr, /commit refused: \d+ error-level check\(s\) failed/);
    assert.match(refused.stderr, /data\/tx\.parquet: unique\(id\) failed on 2 row\(s\); e\.g\. \{"id":1,"count":2\}/);
    assert.match(refused.stderr, /--no-verify/);
    const log1 = await ok(dir, ['--json', 'log']);
    assert.equal((JSON.parse(log1.stdout) as unknown[]).length, 1);
    await ok(dir, ['commit', '-m', 'bad data anyway', '--no-verify']);
    // a commit is judged by REF too, and the older one still passes
    await results(dir, ['HEAD'], 18);
    const prev = await results(dir, ['HEAD~1', 'data/tx.parquet'], 0);
    assert.equal(prev.size, 14);
  } finally {
    await cleanup();
  }
});

test('warn-level failures do not fail; JSON Lines and CSV tables; paths limit the run', async () => {
  const { dir, cleanup } = await repo();
  try {
    await fsp.writeFile(join(dir, 'data', 'e.jsonl'), '{"k":1,"v":"a"}\n{"k":2,"v":null}\n');
    await fsp.writeFile(join(dir, 'data', 'c.csv'), 'k;v\n1;x\n1;y\n');
    await fsp.writeFile(join(dir, 'strata.checks.yaml'), `tables:
  data/*.jsonl:
    - {kind: not_null, columns: [v], severity: warn}
  data/c.csv:
    - {kind: unique, columns: [k]}
`);
    await ok(dir, ['add', 'data', 'strata.checks.yaml']);
    const onlyJsonl = await results(dir, ['data/e.jsonl'], 0);
    assert.equal(onlyJsonl.size, 1);
    assert.equal(onlyJsonl.get('data/e.jsonl#not_null(v)')!.status, 'warn');
    assert.equal(onlyJsonl.get('data/e.jsonl#not_null(v)')!.sample[0]!.k, 2);
    const all = await results(dir, [], 18);
    assert.equal(all.get('data/c.csv#unique(k)')!.failing, 2);
    assert.equal((all.get('data/c.csv#unique(k)') as { cached?: boolean }).cached, undefined);
    const again = await results(dir, [], 18);
    assert.equal((again.get('data/c.csv#unique(k)') as { cached?: boolean }).cached, true); // the first run recorded it
    assert.deepEqual(again.get('data/c.csv#unique(k)')!.sample, all.get('data/c.csv#unique(k)')!.sample);
    // recorded per file version + checks: a changed check runs again
    await fsp.writeFile(join(dir, 'strata.checks.yaml'), 'tables:\n  data/c.csv:\n    - {kind: unique, columns: [k, v]}\n');
    const rerun = await results(dir, [], 0);
    assert.equal(rerun.get('data/c.csv#unique(k,v)')!.status, 'pass');
    assert.equal((rerun.get('data/c.csv#unique(k,v)') as { cached?: boolean }).cached, undefined);
    assert.equal((await results(dir, [], 0)).get('data/c.csv#unique(k,v)')!.object, rerun.get('data/c.csv#unique(k,v)')!.object);
    // a check on a column the table lacks could not run: an error, named
    await fsp.writeFile(join(dir, 'strata.checks.yaml'), 'tables:\n  data/c.csv:\n    - {kind: not_null, columns: [nope]}\n');
    const r = await strata(dir, ['check']);
    assert.equal(r.code, 18);
    assert.match(r.stdout, /not_null\(nope\)\s+error\s+0\s+no column "nope" in data\/c\.csv \(columns: k, v\)/);
    // a malformed spec: file, line, fix
    await fsp.writeFile(join(dir, 'strata.checks.yaml'), 'tables:\n  data/c.csv:\n    - {kind: uniq, columns: [k]}\n');
    const m = await strata(dir, ['check']);
    assert.equal(m.code, 12);
    assert.match(m.stderr, /strata\.checks\.yaml:3:\d+: data\/c\.csv: unknown check kind "uniq"; did you mean "unique"\?/);
  } finally {
    await cleanup();
  }
});

test('repro: a stage whose outputs fail an error-level check is failed and its outputs are not recorded', async () => {
  const { dir, cleanup } = await repo();
  try {
    await fsp.writeFile(join(dir, 'strata.yaml'), "stages:\n  make:\n    cmd: mkdir -p out && printf 'id\\n1\\n1\\n' > out/t.csv\n    outs: [out/t.csv]\n");
    await fsp.writeFile(join(dir, 'strata.checks.yaml'), 'tables:\n  out/t.csv:\n    - {kind: unique, columns: [id]}\n');
    const r = await strata(dir, ['repro']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /make: FAILED: the outputs failed their checks: 1 error-level check\(s\) failed/);
    assert.match(r.stdout + r.stderr, /out\/t\.csv: unique\(id\) failed on 2 row\(s\); e\.g\. \{"id":1,"count":2\}/);
    const runs = JSON.parse((await ok(dir, ['--json', 'runs'])).stdout) as Array<{ status: string; outs: Array<{ id: string }> }>;
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.status, 'failed');
    assert.equal(runs[0]!.outs[0]!.id, '');
    // fixed data: the stage runs and its output is recorded
    await fsp.writeFile(join(dir, 'strata.yaml'), "stages:\n  make:\n    cmd: mkdir -p out && printf 'id\\n1\\n2\\n' > out/t.csv\n    outs: [out/t.csv]\n");
    await ok(dir, ['repro']);
    const after = JSON.parse((await ok(dir, ['--json', 'runs'])).stdout) as Array<{ status: string; outs: Array<{ id: string }> }>;
    const good = after.find((x) => x.status === 'ok')!;
    assert.match(good.outs[0]!.id, /^[0-9a-f]{64}$/);
  } finally {
    await cleanup();
  }
});
