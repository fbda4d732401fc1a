/**
 * The table engine (core/tables/engine.ts) on a real repository: CSV with `;` (delimiter sniffed),
 * TSV, Parquet written by DuckDB here, JSON Lines; a malformed CSV and a truncated Parquet give
 * TABLE_UNREADABLE naming the tracked file; SQL cannot read files outside the engine's folder; the
 * configured memory limit and thread count are applied; temp files are removed on close.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ok, tempDir, writeFiles } from './helpers/cli.js';
import { duckWrite } from './helpers/tables.js';
import { Repository } from '../core/repo/index.js';
import { withTableEngine, tableFormatOf, quoteIdent } from '../core/tables/engine.js';
import { isStrataError } from '../core/errors/index.js';

describe('table engine', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('strata-tables-engine-'));
    await ok(dir, ['init']);
    await writeFiles(dir, {
      'semi.csv': 'id;name;amount\n1;ann;2.5\n2;bob;\n3;cy;7\n',
      'tab.tsv': 'k\tv\na\t1\nb\t2\n',
      'rows.jsonl': '{"id":1,"tag":"x"}\n{"id":2,"tag":null}\n',
      'bad.csv': 'a,b\n' + Array.from({ length: 3000 }, (_, i) => `${i},${i}`).join('\n') + '\n3000,1,extra\n',
      // a short file whose last line has an extra field: the sniffer must not skip the first lines as a preamble
      'short-bad.csv': 'a,b\n1,2\n1,2,3\n',
      'notes.txt': 'hello\n',
    });
    await duckWrite('SELECT range AS id, range * 2 AS twice, \'r\' || range AS label FROM range(1000)', join(dir, 'p.parquet'), 'parquet');
    const whole = await fsp.readFile(join(dir, 'p.parquet'));
    await fsp.writeFile(join(dir, 'trunc.parquet'), whole.subarray(0, Math.floor(whole.length / 2)));
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-m', 'tables']);
  });
  after(() => cleanup());

  it('formats by extension', () => {
    assert.equal(tableFormatOf('a/b.CSV'), 'csv');
    assert.equal(tableFormatOf('x.tsv'), 'tsv');
    assert.equal(tableFormatOf('x.pq'), 'parquet');
    assert.equal(tableFormatOf('x.ndjson'), 'jsonl');
    assert.equal(tableFormatOf('x.json'), null);
    assert.equal(quoteIdent('a"b'), '"a""b"');
  });

  it('attaches CSV (; sniffed), TSV, Parquet and JSON Lines and queries them', async () => {
    const repo = await Repository.open(dir);
    try {
      await withTableEngine(repo, async (e) => {
        const semi = await e.attachFile('s', repo, 'HEAD', 'semi.csv');
        assert.deepEqual(semi.map((c) => c.name), ['id', 'name', 'amount']);
        assert.equal(semi[0]!.type, 'BIGINT');
        assert.deepEqual(await e.query('SELECT id, name, amount FROM s ORDER BY id'), [
          { id: 1, name: 'ann', amount: 2.5 },
          { id: 2, name: 'bob', amount: null },
          { id: 3, name: 'cy', amount: 7 },
        ]);
        const tab = await e.attachFile('tab', repo, 'HEAD', 'tab.tsv');
        assert.deepEqual(tab, [{ name: 'k', type: 'VARCHAR' }, { name: 'v', type: 'BIGINT' }]);
        const p = await e.attachFile('p', repo, 'HEAD', 'p.parquet');
        assert.deepEqual(p.map((c) => c.name), ['id', 'twice', 'label']);
        assert.deepEqual(await e.query('SELECT count(*) AS n, sum(twice) AS s FROM p'), [{ n: 1000, s: 999000 }]);
        assert.deepEqual(await e.query('SELECT label FROM p WHERE id = ?', [41]), [{ label: 'r41' }]);
        await e.attachFile('j', repo, 'HEAD', 'rows.jsonl');
        assert.deepEqual(await e.query('SELECT id, tag FROM j ORDER BY id'), [{ id: 1, tag: 'x' }, { id: 2, tag: null }]);
        // a big integer beyond 2^53 comes back as a string
        assert.deepEqual(await e.query('SELECT 9007199254740993::BIGINT AS big'), [{ big: '9007199254740993' }]);
        // attachBytes + exportTo round trip
        const csv = await e.exportTo('SELECT id, name FROM s ORDER BY id', 'csv', { delimiter: ';' });
        assert.equal(csv.toString('utf8'), 'id;name\n1;ann\n2;bob\n3;cy\n');
        await e.attachBytes('again', await e.exportTo('SELECT * FROM p WHERE id < 10', 'parquet'), 'parquet');
        assert.deepEqual(await e.query('SELECT count(*) AS n FROM again'), [{ n: 10 }]);
      });
    } finally {
      await repo.close();
    }
  });

  it('a malformed CSV and a truncated Parquet are TABLE_UNREADABLE naming the file; a text file is NOT_A_TABLE', async () => {
    const repo = await Repository.open(dir);
    try {
      await withTableEngine(repo, async (e) => {
        // the bad line is found when the file is sniffed or, past the sniffed sample, when it is read
        const readAll = async () => {
          await e.attachFile('bad', repo, 'HEAD', 'bad.csv');
          return e.query('SELECT count(*) FROM bad');
        };
        await assert.rejects(readAll(), (err: unknown) => {
          assert.ok(isStrataError(err, 'TABLE_UNREADABLE'), String(err));
          assert.match(err.message, /HEAD:bad\.csv/);
          assert.doesNotMatch(err.message, /tables-\d+/);
          return true;
        });
        await assert.rejects(
          (async () => {
            await e.attachFile('sb', repo, 'HEAD', 'short-bad.csv');
            return e.query('SELECT count(*) FROM sb');
          })(),
          (err: unknown) => {
            assert.ok(isStrataError(err, 'TABLE_UNREADABLE'), String(err));
            assert.match(err.message, /HEAD:short-bad\.csv/);
            return true;
          },
        );
        await assert.rejects(e.attachFile('t', repo, 'HEAD', 'trunc.parquet'), (err: unknown) => {
          assert.ok(isStrataError(err, 'TABLE_UNREADABLE'), String(err));
          assert.match(err.message, /HEAD:trunc\.parquet/);
          return true;
        });
        await assert.rejects(e.attachFile('n', repo, 'HEAD', 'notes.txt'), (err: unknown) => isStrataError(err, 'NOT_A_TABLE'));
      });
    } finally {
      await repo.close();
    }
  });

  it('SQL cannot reach other files, change settings or write; the memory limit and threads are applied', async () => {
    await ok(dir, ['config', 'set', 'tables.memoryLimit', '300MiB']);
    await ok(dir, ['config', 'set', 'tables.threads', '1']);
    const repo = await Repository.open(dir);
    let tmp = '';
    try {
      await withTableEngine(repo, async (e) => {
        await e.attachFile('p', repo, 'HEAD', 'p.parquet');
        const folders = (await fsp.readdir(join(dir, '.strata', 'tmp'))).filter((n) => n.startsWith(`tables-${process.pid}-`));
        assert.equal(folders.length, 1);
        tmp = join(dir, '.strata', 'tmp', folders[0]!);
        for (const sql of [
          "SELECT * FROM read_csv('/etc/passwd')",
          "SELECT * FROM read_text('/etc/hostname')",
          `SELECT * FROM read_parquet('${join(dir, 'p.parquet')}')`,
        ]) {
          await assert.rejects(e.query(sql), (err: unknown) => {
            assert.ok(isStrataError(err, 'TABLE_QUERY_FAILED'), String(err));
            assert.match(err.message, /disabled by configuration|Permission/i);
            return true;
          });
        }
        await assert.rejects(e.query("SET memory_limit = '8GB'"), (err: unknown) => isStrataError(err, 'TABLE_QUERY_FAILED'));
        await assert.rejects(e.query('CREATE TABLE x AS SELECT 1'), (err: unknown) => isStrataError(err, 'TABLE_QUERY_FAILED'));
        await assert.rejects(e.query('SELECT 1; SELECT 2'), (err: unknown) => isStrataError(err, 'TABLE_QUERY_FAILED'));
        const [s] = await e.query<{ m: string; t: number }>("SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t");
        // 70% of the configured size goes to DuckDB (the rest covers Node and what DuckDB does not count).
        assert.equal(s!.m, '209.8 MiB');
        assert.equal(Number(s!.t), 1);
      });
      await assert.rejects(fsp.stat(tmp), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    } finally {
      await repo.close();
      await ok(dir, ['config', 'unset', 'tables.memoryLimit']);
      await ok(dir, ['config', 'unset', 'tables.threads']);
    }
  });

  it('an invalid tables.threads is CONFIG_INVALID', async () => {
    await ok(dir, ['config', 'set', 'tables.threads', 'many']);
    const repo = await Repository.open(dir);
    try {
      await assert.rejects(withTableEngine(repo, async () => 1), (err: unknown) => isStrataError(err, 'CONFIG_INVALID'));
    } finally {
      await repo.close();
      await ok(dir, ['config', 'unset', 'tables.threads']);
    }
  });
});
