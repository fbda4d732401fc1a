/**
 * The table endpoints of the web UI (GET /table/rows, /table/stats, /table/diff) on a real
 * `strata serve` (the CLI, a loopback port) over a project with a Parquet file written by DuckDB,
 * a `;` CSV, a TSV and JSON Lines; expected values come from the data the test wrote. A malformed
 * CSV and a truncated Parquet answer 422 naming the file, never a 500.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ok, tempDir, writeFiles } from './helpers/cli.js';
import { raw } from './helpers/server.js';
import { serve, type Serve } from './helpers/browser.js';
import { duckWrite } from './helpers/tables.js';

const ROWS = 1234;
const csvV1 = ['id;name;amount', ...Array.from({ length: 8 }, (_, i) => `${i + 1};n${i + 1};${i % 3 === 0 ? '' : (i + 1) * 1.5}`)].join('\n') + '\n';
// v2: row 3 changes its amount, row 8 is removed, row 9 is added, a column "tag" is added
const csvV2 =
  ['id;name;amount;tag', ...Array.from({ length: 9 }, (_, i) => i + 1).filter((id) => id !== 8).map((id) => `${id};n${id};${id === 3 ? 99 : (id - 1) % 3 === 0 ? '' : id * 1.5};x`)].join('\n') + '\n';

describe('strata serve: table preview, statistics and row diff', { timeout: 120_000 }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  let srv: Serve;
  let repo = '';
  const get = async (p: string, status = 200) => {
    const r = await raw(srv.url, 'GET', `/api/repos/${encodeURIComponent(repo)}${p}`);
    assert.equal(r.status, status, `${p}: ${r.body.toString('utf8').slice(0, 500)}`);
    assert.match(String(r.headers['content-type']), /application\/json/);
    return r.json();
  };

  before(async () => {
    ({ dir, cleanup } = await tempDir('strata-srv-tables-'));
    await ok(dir, ['init']);
    await writeFiles(dir, {
      'data/t.csv': csvV1,
      'data/k.tsv': 'k\tv\na\t1\nb\t\n',
      'data/r.jsonl': '{"id":1,"tag":"x"}\n{"id":2,"tag":null}\n{"id":3,"tag":"x"}\n',
      'data/bad.csv': 'a,b\n' + Array.from({ length: 3000 }, (_, i) => `${i},${i}`).join('\n') + '\n1,2,3\n',
      'data/dup.csv': 'id,v\n1,a\n1,b\n',
      'notes.txt': 'hi\n',
      'data/damaged.csv': 'k,v\nonly-in-this-file,1\n',
    });
    await duckWrite(
      `SELECT range AS id, 'u' || range AS name, CASE WHEN range % 10 = 0 THEN NULL ELSE range / 2 END AS amount, DATE '2024-01-01' + CAST(range % 30 AS INTEGER) AS day FROM range(${ROWS})`,
      join(dir, 'data/p.parquet'),
      'parquet',
    );
    const pq = await readFile(join(dir, 'data/p.parquet'));
    await writeFile(join(dir, 'data/trunc.parquet'), pq.subarray(0, Math.floor(pq.length / 2)));
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-m', 'v1']);
    await writeFiles(dir, { 'data/t.csv': csvV2, 'data/dup.csv': 'id,v\n1,a\n1,c\n' });
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-m', 'v2']);
    srv = await serve(dir);
    repo = basename(dir);
  });
  after(async () => {
    await srv?.close();
    await cleanup();
  });

  it('GET /table/rows pages a Parquet file: columns with types, the row count, the rows asked for', async () => {
    const j = await get('/table/rows?path=data/p.parquet&offset=100&limit=50');
    assert.equal(j.format, 'parquet');
    assert.equal(j.delimiter, null);
    assert.equal(j.ref, 'HEAD');
    assert.match(j.commit, /^[0-9a-f]{64}$/);
    assert.deepEqual(j.columns, [
      { name: 'id', type: 'BIGINT' },
      { name: 'name', type: 'VARCHAR' },
      { name: 'amount', type: 'DOUBLE' },
      { name: 'day', type: 'DATE' },
    ]);
    assert.equal(j.rows, ROWS);
    assert.equal(j.offset, 100);
    assert.equal(j.limit, 50);
    assert.equal(j.values.length, 50);
    assert.deepEqual(j.values[0], [100, 'u100', null, '2024-01-11']);
    assert.deepEqual(j.values[49], [149, 'u149', 74.5, '2024-01-30']);
    // The last page is short; past the end is empty; the page size is clamped to 500.
    const last = await get(`/table/rows?path=data/p.parquet&offset=${ROWS - 4}&limit=10`);
    assert.deepEqual(last.values.map((r: unknown[]) => r[0]), [ROWS - 4, ROWS - 3, ROWS - 2, ROWS - 1]);
    assert.equal((await get(`/table/rows?path=data/p.parquet&offset=${ROWS}`)).values.length, 0);
    const big = await get('/table/rows?path=data/p.parquet&limit=100000');
    assert.equal(big.limit, 500);
    assert.equal(big.values.length, 500);
    // A ref: the same rows at the first commit, named by the commit it resolved to.
    const log = await get('/log');
    const v1 = await get(`/table/rows?path=data/p.parquet&ref=${log.commits[1].id}&limit=1`);
    assert.equal(v1.commit, log.commits[1].id);
    assert.deepEqual(v1.values, [[0, 'u0', null, '2024-01-01']]);
  });

  it('a CSV shows its sniffed delimiter and typed values; TSV and JSON Lines are read too', async () => {
    const j = await get('/table/rows?path=data/t.csv&ref=HEAD~1');
    assert.equal(j.format, 'csv');
    assert.equal(j.delimiter, ';');
    assert.deepEqual(j.columns.map((c: { type: string }) => c.type), ['BIGINT', 'VARCHAR', 'DOUBLE']);
    assert.equal(j.rows, 8);
    assert.deepEqual(j.values[1], [2, 'n2', 3]);
    assert.deepEqual(j.values[3], [4, 'n4', null]);
    const t = await get('/table/rows?path=data/k.tsv');
    assert.equal(t.delimiter, '\t');
    assert.deepEqual(t.values, [['a', 1], ['b', null]]);
    const l = await get('/table/rows?path=data/r.jsonl');
    assert.equal(l.format, 'jsonl');
    assert.equal(l.delimiter, null);
    assert.deepEqual(l.values, [[1, 'x'], [2, null], [3, 'x']]);
  });

  it('GET /table/stats gives the row count and per column type, nulls, distinct, min and max', async () => {
    const j = await get('/table/stats?path=data/p.parquet');
    assert.equal(j.stats.rows, ROWS);
    assert.equal(j.stats.distinctApprox, false);
    const by = Object.fromEntries(j.stats.columns.map((c: { name: string }) => [c.name, c]));
    assert.deepEqual(by.id, { name: 'id', type: 'BIGINT', nulls: 0, distinct: ROWS, min: 0, max: ROWS - 1 });
    assert.equal(by.amount.nulls, Math.ceil(ROWS / 10));
    assert.equal(by.day.distinct, 30);
    assert.equal(by.day.min, '2024-01-01');
    assert.equal(by.day.max, '2024-01-30');
    assert.equal(by.name.min, 'u0');
  });

  it('GET /table/diff: with a key, counts and changed cells; without, rows matched by content', async () => {
    const k = await get('/table/diff?from=HEAD~1&to=HEAD&path=data/t.csv&key=id');
    assert.deepEqual(k.key, ['id']);
    assert.deepEqual(k.schema.added, [{ name: 'tag', type: 'VARCHAR' }]);
    assert.deepEqual(k.counts, { added: 1, removed: 1, changed: 1 });
    assert.deepEqual(k.sample.changed, [{ key: { id: 3 }, cells: [{ column: 'amount', old: 4.5, new: 99 }] }]);
    assert.equal(k.sample.added[0].id, 9);
    assert.equal(k.sample.removed[0].id, 8);
    const c = await get('/table/diff?from=HEAD~1&to=HEAD&path=data/t.csv');
    assert.equal(c.key, null);
    assert.deepEqual(c.counts, { added: 2, removed: 2, changed: null });
    const dup = await get('/table/diff?from=HEAD~1&to=HEAD&path=data/dup.csv&key=id', 422);
    assert.equal(dup.error.code, 'TABLE_KEY_NOT_UNIQUE');
    const badKey = await get('/table/diff?from=HEAD~1&to=HEAD&path=data/t.csv&key=nope', 400);
    assert.match(badKey.error.message, /key column nope is not in the old version/);
    assert.equal((await get('/table/diff?to=HEAD&path=data/t.csv', 400)).error.code, 'INVALID_ARGUMENT');
  });

  it('a malformed CSV or truncated Parquet is a 422 naming the file; other bad requests are 4xx', async () => {
    for (const p of ['/table/rows?path=data/bad.csv', '/table/stats?path=data/bad.csv']) {
      const j = await get(p, 422);
      assert.equal(j.error.code, 'TABLE_UNREADABLE');
      assert.match(j.error.message, /^HEAD:data\/bad\.csv: cannot read the table/);
      assert.doesNotMatch(j.error.message, /tables-\d+|\.strata/);
    }
    const t = await get('/table/rows?path=data/trunc.parquet', 422);
    assert.equal(t.error.code, 'TABLE_UNREADABLE');
    assert.match(t.error.message, /^HEAD:data\/trunc\.parquet: /);
    assert.equal((await get('/table/rows?path=notes.txt', 422)).error.code, 'NOT_A_TABLE');
    assert.equal((await get('/table/rows?path=data', 422)).error.code, 'NOT_A_TABLE');
    assert.equal((await get('/table/rows?path=data/none.csv', 404)).error.code, 'PATH_NOT_FOUND');
    assert.equal((await get('/table/rows', 400)).error.code, 'INVALID_ARGUMENT');
    assert.equal((await get('/table/rows?path=data/p.parquet&offset=-1', 400)).error.code, 'INVALID_ARGUMENT');
    assert.equal((await get('/table/rows?path=data/p.parquet&ref=nope', 404)).error.code, 'UNKNOWN_REF');
    assert.equal((await get('/table/nothing?path=data/p.parquet', 404)).error.code, 'PATH_NOT_FOUND');
    assert.doesNotMatch(srv.output(), /error: /, 'nothing was logged as an internal error');
  });

  it('the bytes are verified against their id: a damaged object is a 422 OBJECT_CORRUPT naming the path, no rows', async () => {
    assert.equal((await get('/table/rows?path=data/damaged.csv')).rows, 1);
    // Small files live in packs as they are: change one byte of this file's content in its pack.
    const packs = join(dir, '.strata', 'objects', 'pack');
    let hit = 0;
    for (const f of (await readdir(packs)).filter((n) => n.endsWith('.pack'))) {
      const b = await readFile(join(packs, f));
      const i = b.indexOf('only-in-this-file');
      if (i < 0) continue;
      b[i] = 'O'.charCodeAt(0);
      await writeFile(join(packs, f), b);
      hit++;
    }
    assert.equal(hit, 1, 'the content is in one pack');
    const j = await get('/table/rows?path=data/damaged.csv', 422);
    assert.equal(j.error.code, 'OBJECT_CORRUPT');
    assert.match(j.error.message, /data\/damaged\.csv/);
    assert.equal(j.values, undefined);
  });
});
