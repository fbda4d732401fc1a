/**
 * `strata diff --rows` through the real CLI: with a key (added, removed, changed cells, schema
 * changes), without a key (multiset by content), a duplicate key, and Parquet versions written by
 * DuckDB where the expected counts follow from how the test built them.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { duckWrite } from './helpers/tables.js';

describe('strata diff --rows', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('strata-tables-diff-'));
    await ok(dir, ['init']);
    await writeFiles(dir, { 't.csv': 'id;name;amount\n1;ann;2.5\n2;bob;3\n3;cy;7\n3;cy;7\n', 'dup.csv': 'k,v\n1,a\n2,b\n' });
    await duckWrite('SELECT range AS id, range * 10 AS v, \'x\' AS s FROM range(20000)', join(dir, 'p.parquet'), 'parquet');
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-m', 'v1']);
    // v2: id 2 amount changed, id 3 duplicate removed once, id 4 added, a new column, amount retyped
    await writeFiles(dir, { 't.csv': 'id;name;amount;extra\n1;ann;2.5;x\n2;bob;x4;y\n3;cy;7;z\n4;dee;1;w\n', 'dup.csv': 'k,v\n1,a\n1,b\n' });
    // p v2: ids >= 19900 removed (100), ids 20000..20049 added (50), every id divisible by 100 changed (199 below 19900)
    await duckWrite('SELECT range AS id, CASE WHEN range % 100 = 0 THEN -1 ELSE range * 10 END AS v, \'x\' AS s FROM range(20050) WHERE range < 19900 OR range >= 20000', join(dir, 'p.parquet'), 'parquet');
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-m', 'v2']);
  });
  after(() => cleanup());

  it('with --key: schema changes, added, removed and changed cells', async () => {
    const r = JSON.parse((await ok(dir, ['diff', '--rows', '--key', 'id', '--json', 'HEAD~1', 'HEAD', '--', 'p.parquet'])).stdout);
    assert.deepEqual(r.counts, { added: 50, removed: 100, changed: 199 });
    assert.equal(r.sample.added.length, 10);
    assert.deepEqual(r.sample.added[0], { id: 20000, v: -1, s: 'x' });
    assert.deepEqual(r.sample.removed[0], { id: 19900, v: 199000, s: 'x' });
    assert.deepEqual(r.sample.changed[0], { key: { id: 0 }, cells: [{ column: 'v', old: 0, new: -1 }] });
    assert.deepEqual(r.schema, { added: [], removed: [], retyped: [] });
    const lim = JSON.parse((await ok(dir, ['diff', '--rows', '--key', 'id', '--limit', '3', '--json', 'HEAD~1', 'HEAD', '--', 'p.parquet'])).stdout);
    assert.equal(lim.sample.changed.length, 3);
    assert.deepEqual(lim.sample.changed.map((c: { key: { id: number } }) => c.key.id), [0, 100, 200]);
  });

  it('CSV: retyped and added columns; text output', async () => {
    const t = await ok(dir, ['diff', '--rows', '--key', 'id', 'HEAD~1', 'HEAD', '--', 't.csv'], 17);
    assert.match(t.stderr, /TABLE_KEY_NOT_UNIQUE|not unique/);
    assert.match(t.stderr, /"id":3/);
    const c = JSON.parse((await ok(dir, ['diff', '--rows', '--json', 'HEAD~1', 'HEAD', '--', 't.csv'])).stdout);
    assert.deepEqual(c.schema.added, [{ name: 'extra', type: 'VARCHAR' }]);
    assert.deepEqual(c.schema.retyped, [{ name: 'amount', from: 'DOUBLE', to: 'VARCHAR' }]);
    // by content over id, name, amount; amount is retyped so compared as text: old 2.5, 3.0, 7.0, 7.0
    // (DOUBLE printed) against new '2.5', 'x4', '7', '1': only row 1 matches
    assert.equal(c.key, null);
    assert.deepEqual(c.counts, { added: 3, removed: 3, changed: null });
    const text = (await ok(dir, ['diff', '--rows', 'HEAD~1', 'HEAD', '--', 't.csv'])).stdout;
    assert.match(text, /^\+ column extra VARCHAR$/m);
    assert.match(text, /^~ column amount DOUBLE -> VARCHAR$/m);
    assert.match(text, /^3 added, 3 removed$/m);
  });

  it('duplicate key in the new version; bad arguments', async () => {
    const d = await strata(dir, ['diff', '--rows', '--key', 'k', '--json', 'HEAD~1', 'HEAD', '--', 'dup.csv']);
    assert.equal(d.code, 17);
    const err = JSON.parse(d.stdout || d.stderr).error;
    assert.equal(err.code, 'TABLE_KEY_NOT_UNIQUE');
    assert.match(err.message, /key \(k\) is not unique in the new version: \{"k":1\} appears 2 times/);
    assert.equal((await strata(dir, ['diff', '--rows', 'HEAD', '--', 'p.parquet'])).code, 2);
    assert.equal((await strata(dir, ['diff', '--rows', '--key', 'nope', 'HEAD~1', 'HEAD', '--', 'p.parquet'])).code, 2);
  });
});

/**
 * By content on Parquet, where the old version's rows are proven distinct by an integer column
 * (one full join on row hashes, samples read back by that column) and where they are not (hashes
 * grouped): each case is also diffed as CSV (never the join: no file statistics) and must give the
 * same counts and samples, which follow from how the versions were built.
 */
describe('strata diff --rows by content: join on distinct rows, grouped hashes otherwise', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  const cases: Record<string, [string, string]> = {
    // old ids 0..199 (v = id * 10); new: 190..199 removed, ids divisible by 50 changed, 200..204 added
    distinct: [
      'SELECT range AS id, range * 10 AS v FROM range(200)',
      'SELECT range AS id, CASE WHEN range % 50 = 0 THEN -1 ELSE range * 10 END AS v FROM range(205) WHERE range < 190 OR range >= 200',
    ],
    // new: the old row 5 twice (one more copy: added once), the new row 300 three times
    repeatsOld: ['SELECT range AS id, range AS v FROM range(20)', 'SELECT * FROM (SELECT range AS id, range AS v FROM range(20) UNION ALL SELECT 5, 5) ORDER BY id'],
    repeatsNew: ['SELECT range AS id, range AS v FROM range(20)', 'SELECT * FROM (SELECT range AS id, range AS v FROM range(20) UNION ALL SELECT 300, 1 FROM range(3)) ORDER BY id'],
    // old: row 7 twice (not distinct: grouped); new: once
    oldRepeats: ['SELECT * FROM (SELECT range AS id, range AS v FROM range(20) UNION ALL SELECT 7, 7) ORDER BY id', 'SELECT range AS id, range AS v FROM range(20)'],
    // id distinct in the old version, but the new one has no id: rows compared on v alone
    keyDropped: ['SELECT range AS id, range % 2 AS v FROM range(10)', 'SELECT CAST(v AS BIGINT) AS v FROM (VALUES (0), (0), (0), (1), (1)) t(v)'],
  };
  before(async () => {
    ({ dir, cleanup } = await tempDir('strata-tables-diff-content-'));
    await ok(dir, ['init']);
    for (const v of [0, 1]) {
      for (const [name, sqls] of Object.entries(cases)) {
        await duckWrite(sqls[v]!, join(dir, `${name}.parquet`), 'parquet');
        await duckWrite(sqls[v]!, join(dir, `${name}.csv`), 'csv');
      }
      await ok(dir, ['add', '.']);
      await ok(dir, ['commit', '-m', `v${v + 1}`]);
    }
  });
  after(() => cleanup());

  const diff = async (file: string) => JSON.parse((await ok(dir, ['diff', '--rows', '--json', 'HEAD~1', 'HEAD', '--', file])).stdout) as { counts: unknown; sample: unknown };
  const both = async (name: string) => {
    const p = await diff(`${name}.parquet`);
    const c = await diff(`${name}.csv`);
    assert.deepEqual(p.counts, c.counts, `${name}: Parquet and CSV counts`);
    assert.deepEqual(p.sample, c.sample, `${name}: Parquet and CSV samples`);
    return p;
  };

  it('distinct rows: counts and sorted samples of the multiset difference', async () => {
    const r = await both('distinct');
    // removed: 10 rows 190..199 and the 4 old versions of ids 0, 50, 100, 150; added: those 4 changed and 200..204
    assert.deepEqual(r.counts, { added: 9, removed: 14, changed: null });
    const s = r.sample as { added: unknown[]; removed: unknown[] };
    assert.deepEqual(s.added.slice(0, 5), [{ id: 0, v: -1 }, { id: 50, v: -1 }, { id: 100, v: -1 }, { id: 150, v: -1 }, { id: 200, v: -1 }]);
    assert.deepEqual(s.removed.slice(0, 5), [{ id: 0, v: 0 }, { id: 50, v: 500 }, { id: 100, v: 1000 }, { id: 150, v: 1500 }, { id: 190, v: 1900 }]);
  });

  it('rows repeated in the new version: an old row once more, a new row three times', async () => {
    const a = await both('repeatsOld');
    assert.deepEqual(a.counts, { added: 1, removed: 0, changed: null });
    assert.deepEqual(a.sample, { added: [{ id: 5, v: 5 }], removed: [], changed: [] });
    const b = await both('repeatsNew');
    assert.deepEqual(b.counts, { added: 3, removed: 0, changed: null });
    assert.deepEqual(b.sample, { added: [{ id: 300, v: 1 }, { id: 300, v: 1 }, { id: 300, v: 1 }], removed: [], changed: [] });
  });

  it('an old version with a repeated row; a distinct column the new version lacks', async () => {
    const a = await both('oldRepeats');
    assert.deepEqual(a.counts, { added: 0, removed: 1, changed: null });
    assert.deepEqual(a.sample, { added: [], removed: [{ id: 7, v: 7 }], changed: [] });
    // old v: 0 x5, 1 x5; new v: 0 x3, 1 x2
    const b = await both('keyDropped');
    assert.deepEqual(b.counts, { added: 0, removed: 5, changed: null });
    assert.deepEqual(b.sample, { added: [], removed: [{ v: 0 }, { v: 0 }, { v: 1 }, { v: 1 }, { v: 1 }], changed: [] });
  });
});
