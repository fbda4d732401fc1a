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
