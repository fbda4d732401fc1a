/**
 * The `rows` merge driver through the real CLI: two branches changing one table, merged row by row
 * by its key — disjoint rows, the same change on both sides, a cell conflict, a schema change on one
 * side and on both, delete/modify, a missing key and duplicate keys; CSV, Parquet (written by
 * DuckDB here) and JSON Lines.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ok, tempDir, writeFiles } from './helpers/cli.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let n = 0;
before(async () => {
  tmp = await tempDir('strata-merge-rows-');
});
after(async () => {
  await tmp?.cleanup();
});

async function duck<T>(fn: (run: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    return await fn(async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJS());
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}
const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Write a Parquet file with DuckDB from a SELECT. */
function parquet(file: string, sql: string): Promise<void> {
  return duck(async (run) => {
    await run(`COPY (${sql}) TO ${q(file)} (FORMAT parquet)`);
  });
}

/** base committed on main, theirs on exp, ours on main; rules committed in the base. */
async function diverged(rules: string, file: string, base: (p: string) => Promise<void>, ours: (p: string) => Promise<void>, theirs: (p: string) => Promise<void>): Promise<string> {
  const dir = join(tmp.dir, `r${n++}`);
  await fsp.mkdir(join(dir, 'data'), { recursive: true });
  await ok(dir, ['init']);
  await writeFiles(dir, { '.strataattributes': rules });
  const p = join(dir, file);
  await base(p);
  await ok(dir, ['add', '.strataattributes', 'data']);
  await ok(dir, ['commit', '-m', 'base']);
  await ok(dir, ['switch', '-c', 'exp']);
  await theirs(p);
  await ok(dir, ['commit', '-a', '-m', 'theirs']);
  await ok(dir, ['switch', 'main']);
  await ours(p);
  await ok(dir, ['commit', '-a', '-m', 'ours']);
  return dir;
}
const text = (s: string) => (p: string) => fsp.writeFile(p, s);
const CSV_RULE = 'data/*.csv merge=rows key=txn_id\n';

describe('merge=rows', { concurrency: false }, () => {
  it('merges rows both sides changed, added and deleted in a CSV, keeping ours order and delimiter', async () => {
    const base = 'txn_id;amount;note\n1;10;a\n2;20;b\n3;30;c\n4;40;d\n';
    const ours = 'txn_id;amount;note\n2;20;b\n1;11;a\n3;30;c\n4;40;d\n9;90;ours\n'; // reordered, 1 changed, 9 added
    const theirs = 'txn_id;amount;note\n1;10;a\n2;20;B\n4;40;d\n7;70;theirs\n5;50;theirs\n'; // 2 changed, 3 deleted, 7 and 5 added
    const dir = await diverged(CSV_RULE, 'data/t.csv', text(base), text(ours), text(theirs));
    const r = await ok(dir, ['merge', 'exp']);
    assert.match(r.stdout, /1 merged/);
    assert.equal(await fsp.readFile(join(dir, 'data/t.csv'), 'utf8'), 'txn_id;amount;note\n2;20;B\n1;11;a\n4;40;d\n9;90;ours\n5;50;theirs\n7;70;theirs\n');
    const st = await ok(dir, ['status', '--porcelain']);
    assert.equal(st.stdout.trim(), '');
  });

  it('keeps a row both sides changed the same way; a key both sides added identically', async () => {
    const base = 'txn_id,amount\n1,10\n2,20\n';
    const both = 'txn_id,amount\n1,15\n2,20\n3,30\n';
    const dir = await diverged(CSV_RULE, 'data/t.csv', text(base), text(both + '4,40\n'), text(both));
    await ok(dir, ['merge', 'exp']);
    assert.equal(await fsp.readFile(join(dir, 'data/t.csv'), 'utf8'), 'txn_id,amount\n1,15\n2,20\n3,30\n4,40\n');
  });

  it('reports a cell changed differently on both sides by key and column, in merge and status', async () => {
    const base = 'txn_id,amount,note\n1,10,a\n2,20,b\n';
    const dir = await diverged(CSV_RULE, 'data/t.csv', text(base), text('txn_id,amount,note\n1,11,a\n2,20,b\n'), text('txn_id,amount,note\n1,12,a\n2,20,z\n'));
    const r = await ok(dir, ['merge', 'exp'], 16);
    assert.match(r.stdout, /merge driver failed\s+data\/t\.csv/);
    assert.match(r.stdout, /rows: 1 conflict\(s\) by key txn_id: txn_id=1 column amount \(ours "11", theirs "12"\)/);
    const st = await ok(dir, ['status', '--json']);
    const s = JSON.parse(st.stdout) as { merge: { conflicts: Array<{ path: string; kind: string; reason?: string }> } };
    assert.deepEqual(s.merge.conflicts.map((c) => [c.path, c.kind]), [['data/t.csv', 'driver']]);
    assert.match(s.merge.conflicts[0]!.reason!, /txn_id=1 column amount/);
    assert.equal(await fsp.readFile(join(dir, 'data/t.csv'), 'utf8'), 'txn_id,amount,note\n1,11,a\n2,20,b\n', 'ours is left in place');
  });

  it('delete/modify is a conflict; a row deleted on one side and unchanged on the other is deleted', async () => {
    const base = 'txn_id,amount\n1,10\n2,20\n3,30\n';
    const dir = await diverged(CSV_RULE, 'data/t.csv', text(base), text('txn_id,amount\n1,10\n2,25\n'), text('txn_id,amount\n1,10\n3,30\n'));
    const r = await ok(dir, ['merge', 'exp'], 16);
    assert.match(r.stdout, /txn_id=2 deleted by theirs, changed by ours/);
    const dir2 = await diverged(CSV_RULE, 'data/t.csv', text(base), text('txn_id,amount\n1,10\n3,30\n'), text('txn_id,amount\n1,11\n2,20\n3,30\n'));
    await ok(dir2, ['merge', 'exp']);
    assert.equal(await fsp.readFile(join(dir2, 'data/t.csv'), 'utf8'), 'txn_id,amount\n1,11\n3,30\n');
  });

  it('a column added on one side applies (null in rows the other side added); schema changes on both sides conflict', async () => {
    const base = 'txn_id,amount\n1,10\n2,20\n';
    const dir = await diverged(CSV_RULE, 'data/t.csv', text(base), text('txn_id,amount\n1,10\n2,20\n3,30\n'), text('txn_id,amount,cur\n1,10,EUR\n2,21,USD\n'));
    await ok(dir, ['merge', 'exp']);
    assert.equal(await fsp.readFile(join(dir, 'data/t.csv'), 'utf8'), 'txn_id,amount,cur\n1,10,EUR\n2,21,USD\n3,30,\n');
    const dir2 = await diverged(CSV_RULE, 'data/t.csv', text(base), text('txn_id,amount,a\n1,10,x\n2,20,y\n'), text('txn_id,amount,b\n1,10,x\n2,20,y\n'));
    const r = await ok(dir2, ['merge', 'exp'], 16);
    assert.match(r.stdout, /columns changed on both sides \(base: txn_id, amount; ours: txn_id, amount, a; theirs: txn_id, amount, b\)/);
  });

  it('a missing key column or duplicate keys is a conflict with its reason, never a crash', async () => {
    const dir = await diverged('data/*.csv merge=rows key=id\n', 'data/t.csv', text('txn_id,amount\n1,10\n'), text('txn_id,amount\n1,11\n'), text('txn_id,amount\n1,12\n'));
    const r = await ok(dir, ['merge', 'exp'], 16);
    assert.match(r.stdout, /rows: key column id missing in base \(its columns as read: txn_id, amount\)/);
    const dir2 = await diverged(CSV_RULE, 'data/t.csv', text('txn_id,amount\n1,10\n'), text('txn_id,amount\n1,11\n1,12\n'), text('txn_id,amount\n1,10\n2,20\n'));
    const r2 = await ok(dir2, ['merge', 'exp'], 16);
    assert.match(r2.stdout, /rows: duplicate key in ours: txn_id=1 \(2 rows\)/);
  });

  it('a malformed CSV is a conflict naming the problem; a TSV keeps its tabs', async () => {
    const dir = await diverged(CSV_RULE, 'data/t.csv', text('txn_id,amount\n1,10\n'), text('txn_id,amount\n1,11\n'), text('txn_id,amount\n1,10\n2,20,extra,fields\n'));
    const r = await ok(dir, ['merge', 'exp'], 16);
    // DuckDB reads the ragged file as other columns: the key is not found there, and the reason says what was read.
    assert.match(r.stdout, /merge driver failed\s+data\/t\.csv .*rows: theirs's data\/t\.csv: cannot read the table: .*CSV parsing dialect/);
    const dir2 = await diverged('*.tsv merge=rows key=id\n', 'data/t.tsv', text('id\tv\n1\ta\n2\tb\n'), text('id\tv\n1\tA\n2\tb\n'), text('id\tv\n1\ta\n2\tB\n'));
    await ok(dir2, ['merge', 'exp']);
    assert.equal(await fsp.readFile(join(dir2, 'data/t.tsv'), 'utf8'), 'id\tv\n1\tA\n2\tB\n');
  });

  it('merges Parquet by a two-column key, keeping Parquet and its types', async () => {
    const rows = (vals: string) => `SELECT * FROM (VALUES ${vals}) AS v(region, id, amount)`;
    const dir = await diverged(
      'data/*.parquet merge=rows key=region,id\n',
      'data/t.parquet',
      (p) => parquet(p, rows(`('eu', 1, 10.5), ('eu', 2, 20.0), ('us', 1, 30.0)`)),
      (p) => parquet(p, rows(`('eu', 1, 11.5), ('eu', 2, 20.0), ('us', 1, 30.0)`)),
      (p) => parquet(p, rows(`('eu', 1, 10.5), ('eu', 2, 20.0), ('us', 1, 31.0), ('ap', 9, 1.0)`)),
    );
    await ok(dir, ['merge', 'exp']);
    const out = await duck((run) => run(`SELECT region, id, amount, typeof(amount) AS t FROM read_parquet(${q(join(dir, 'data/t.parquet'))})`));
    assert.deepEqual(out, [
      { region: 'eu', id: 1, amount: 11.5, t: 'DECIMAL(3,1)' },
      { region: 'eu', id: 2, amount: 20, t: 'DECIMAL(3,1)' },
      { region: 'us', id: 1, amount: 31, t: 'DECIMAL(3,1)' },
      { region: 'ap', id: 9, amount: 1, t: 'DECIMAL(3,1)' },
    ]);
  });

  it('merges JSON Lines and reports its cell conflicts', async () => {
    const rule = 'data/*.jsonl merge=rows key=id\n';
    const base = '{"id":1,"label":"cat"}\n{"id":2,"label":"dog"}\n';
    const dir = await diverged(rule, 'data/l.jsonl', text(base), text('{"id":1,"label":"cat"}\n{"id":2,"label":"wolf"}\n'), text('{"id":1,"label":"lion"}\n{"id":2,"label":"dog"}\n{"id":3,"label":"owl"}\n'));
    await ok(dir, ['merge', 'exp']);
    assert.equal(await fsp.readFile(join(dir, 'data/l.jsonl'), 'utf8'), '{"id":1,"label":"lion"}\n{"id":2,"label":"wolf"}\n{"id":3,"label":"owl"}\n');
    const dir2 = await diverged(rule, 'data/l.jsonl', text(base), text('{"id":1,"label":"tiger"}\n{"id":2,"label":"dog"}\n'), text('{"id":1,"label":"lion"}\n{"id":2,"label":"dog"}\n'));
    const r = await ok(dir2, ['merge', 'exp'], 16);
    assert.match(r.stdout, /id=1 column label \(ours "tiger", theirs "lion"\)/);
  });
});
