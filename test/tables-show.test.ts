/**
 * `strata show REF:PATH --schema / --stats` through the real CLI on CSV (; sniffed), TSV, Parquet
 * written by DuckDB and JSON Lines; expected values computed from the data the test wrote.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { duckWrite } from './helpers/tables.js';

describe('strata show --schema / --stats', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  const amounts = [2.5, null, 7, 1.25, null, 9];
  before(async () => {
    ({ dir, cleanup } = await tempDir('strata-tables-show-'));
    await ok(dir, ['init']);
    const csv = ['id;name;amount;day', ...amounts.map((a, i) => `${i + 1};${i % 2 ? 'bob' : 'ann'};${a ?? ''};2024-01-0${i + 1}`)].join('\n') + '\n';
    await writeFiles(dir, {
      'data/t.csv': csv,
      'data/t.tsv': 'k\tv\na\t1\nb\t\n',
      'data/r.jsonl': '{"id":1,"tag":"x"}\n{"id":2,"tag":null}\n{"id":3,"tag":"x"}\n',
      'data/bad.csv': 'a,b\n' + Array.from({ length: 3000 }, (_, i) => `${i},${i}`).join('\n') + '\n1,2,3\n',
      'README.txt': 'hi\n',
    });
    await duckWrite('SELECT range AS id, range % 7 AS bucket, CASE WHEN range % 10 = 0 THEN NULL ELSE range END AS maybe FROM range(5000)', join(dir, 'data/p.parquet'), 'parquet');
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-m', 'tables']);
  });
  after(() => cleanup());

  it('--schema lists columns and types (text and --json)', async () => {
    const r = await ok(dir, ['show', 'HEAD:data/t.csv', '--schema', '--json']);
    const j = JSON.parse(r.stdout);
    assert.equal(j.format, 'csv');
    assert.deepEqual(j.columns, [
      { name: 'id', type: 'BIGINT' },
      { name: 'name', type: 'VARCHAR' },
      { name: 'amount', type: 'DOUBLE' },
      { name: 'day', type: 'DATE' },
    ]);
    assert.equal(j.stats, undefined);
    const t = await ok(dir, ['show', 'data/t.tsv', '--schema']);
    assert.match(t.stdout, /^table HEAD:data\/t\.tsv {2}\(tsv\)$/m);
    assert.match(t.stdout, /^k +VARCHAR$/m);
    assert.match(t.stdout, /^v +BIGINT$/m);
  });

  it('--stats: rows, nulls, distinct, min, max for CSV, Parquet and JSONL', async () => {
    const c = JSON.parse((await ok(dir, ['show', 'HEAD:data/t.csv', '--stats', '--json'])).stdout);
    const nn = amounts.filter((a): a is number => a !== null);
    assert.equal(c.stats.rows, amounts.length);
    assert.equal(c.stats.distinctApprox, false);
    const amount = c.stats.columns.find((x: { name: string }) => x.name === 'amount');
    assert.deepEqual(amount, { name: 'amount', type: 'DOUBLE', nulls: amounts.length - nn.length, distinct: new Set(nn).size, min: Math.min(...nn), max: Math.max(...nn) });
    const day = c.stats.columns.find((x: { name: string }) => x.name === 'day');
    assert.equal(day.min, '2024-01-01');
    assert.equal(day.max, `2024-01-0${amounts.length}`);
    assert.equal(c.stats.columns.find((x: { name: string }) => x.name === 'name').distinct, 2);

    const p = JSON.parse((await ok(dir, ['show', 'HEAD:data/p.parquet', '--stats', '--json'])).stdout);
    assert.equal(p.stats.rows, 5000);
    const [id, bucket, maybe] = p.stats.columns;
    assert.deepEqual([id.min, id.max, id.distinct, id.nulls], [0, 4999, 5000, 0]);
    assert.equal(bucket.distinct, 7);
    assert.equal(maybe.nulls, 500);
    assert.equal(maybe.min, 1);

    const jl = JSON.parse((await ok(dir, ['show', 'HEAD:data/r.jsonl', '--stats', '--json'])).stdout);
    assert.equal(jl.stats.rows, 3);
    assert.deepEqual(jl.stats.columns[1], { name: 'tag', type: 'VARCHAR', nulls: 1, distinct: 1, min: 'x', max: 'x' });

    const text = (await ok(dir, ['show', 'HEAD:data/p.parquet', '--stats'])).stdout;
    assert.match(text, /^Rows: +5000$/m);
    assert.match(text, /^column +type +nulls +distinct +min +max$/m);
    assert.match(text, /^maybe +BIGINT +500 +4500 +1 +4999$/m);
  });

  it('errors: not a table, malformed CSV naming the file, missing path; plain show still works', async () => {
    const n = await strata(dir, ['show', 'HEAD:README.txt', '--stats']);
    assert.equal(n.code, 17);
    assert.match(n.stderr, /not a table/);
    const b = await strata(dir, ['show', 'HEAD:data/bad.csv', '--stats', '--json']);
    assert.equal(b.code, 17, b.stderr);
    const err = JSON.parse(b.stdout || b.stderr).error ?? JSON.parse(b.stdout || b.stderr);
    assert.equal(err.code, 'TABLE_UNREADABLE');
    assert.match(err.message, /HEAD:data\/bad\.csv/);
    const m = await strata(dir, ['show', 'HEAD:data/none.csv', '--schema']);
    assert.equal(m.code, 4);
    const plain = await ok(dir, ['show']);
    assert.match(plain.stdout, /^commit [0-9a-f]{64}/);
    // no engine folder left behind
    const left = (await fsp.readdir(join(dir, '.strata', 'tmp')).catch(() => [])).filter((x) => x.startsWith('tables-'));
    assert.deepEqual(left, []);
  });
});
