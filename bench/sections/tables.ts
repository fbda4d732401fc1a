/**
 * Tables section: 25 data checks over a 10,000,000-row table and a row-level diff of two versions
 * that differ in 1% of their rows (full scale; quick: 1,000,000 rows; tiny: 20,000), through the
 * CLI with the default `tables.memoryLimit` (1GB).
 *
 * Data: written by DuckDB in the bench process, columns id BIGINT, user VARCHAR, amount DOUBLE,
 * ts TIMESTAMP, cat VARCHAR; version 2 drops 0.25% of the rows, changes the amount of 0.5% and adds
 * 0.25% new ids. Both versions are committed as Parquet (data/big.parquet) and as CSV
 * (data/big.csv, the same rows), with a small dimension table data/cats.csv.
 *
 * Peer: pandas (Debian's python3-pandas, /usr/bin/python3) doing the same 25 checks and the same
 * keyed diff. Debian ships no pyarrow, so pandas cannot read Parquet here: it reads the CSV
 * versions, and strata is measured on the same CSV files too (the like-for-like row). The checks
 * include drift against the previous version, so both tools read both versions, and strata's
 * result cache never answers (a drift check makes the file's results uncacheable). Strata stores
 * the drift metrics of each version it checks (core/tables/checks.ts): the first timed check of a
 * version reads the previous one; with --runs above 1, later runs find its metrics stored.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerSection } from '../registry.js';
import { attempt, runSeq, repeat, skipped, valueFigure, warm, type SeqResult } from '../proc.js';
import { strata, strataEnv, strataMissing } from '../strata.js';
import type { BenchContext, Figure, PeerFigure, Row, RowResult } from '../types.js';

const PYTHON = '/usr/bin/python3';

function rowsFor(ctx: BenchContext): number {
  return ctx.scale.name === 'full' ? 10_000_000 : ctx.scale.name === 'quick' ? 1_000_000 : 20_000;
}

/** The 25 checks, applied to both data/big.parquet and data/big.csv. */
const CHECKS = [
  '{kind: columns, columns: {id: BIGINT, user: VARCHAR, amount: DOUBLE, ts: TIMESTAMP, cat: VARCHAR}}',
  '{kind: not_null, columns: [id]}',
  '{kind: not_null, columns: [user]}',
  '{kind: not_null, columns: [amount]}',
  '{kind: not_null, columns: [ts]}',
  '{kind: not_null, columns: [cat]}',
  '{kind: unique, columns: [id]}',
  '{kind: unique, columns: [id, user]}',
  '{kind: accepted_values, column: cat, values: [a, b, c, d]}',
  '{kind: range, name: amount_min, column: amount, min: 0}',
  '{kind: range, name: amount_max, column: amount, max: 100000}',
  "{kind: range, column: ts, min: '2024-01-01', max: '2025-06-01'}",
  '{kind: range, column: id, min: 0}',
  "{kind: regex, column: user, pattern: '^u[0-9]+$'}",
  "{kind: regex, column: cat, pattern: '^[a-d]$'}",
  '{kind: row_count, name: rows_min, min: 1}',
  '{kind: row_count, name: rows_max, max: 100000000}',
  '{kind: freshness, column: ts, max_age: 3650d, since: commit}',
  '{kind: foreign_key, column: cat, to: {path: data/cats.csv, column: code}}',
  "{kind: sql, name: no_huge_a, query: \"select * from t where amount > 1000 and cat = 'a'\"}",
  '{kind: drift, metric: row_count, max_change: 10%}',
  '{kind: drift, metric: mean, column: amount, max_change: 10%}',
  '{kind: drift, metric: null_rate, column: user, max_change: 10%}',
  '{kind: drift, metric: distinct_count, column: user, max_change: 10%}',
  '{kind: drift, metric: distinct_count, column: cat, max_change: 10%}',
];

/** The same 25 checks and the keyed diff in pandas (argv: check PREV CUR CATS | diff OLD NEW). */
const PANDAS = String.raw`
import sys
import pandas as pd

def read(p):
    return pd.read_csv(p, parse_dates=['ts'], dtype={'user': 'string', 'cat': 'string'})

def checks(prev_p, cur_p, cats_p):
    t = read(cur_p)
    prev = read(prev_p)
    cats = pd.read_csv(cats_p, dtype={'code': 'string'})
    r = {}
    want = {'id': 'int64', 'user': 'string', 'amount': 'float64', 'ts': 'datetime64[ns]', 'cat': 'string'}
    r['columns'] = sum(1 for c, d in want.items() if c not in t.columns or str(t[c].dtype) != d)
    for c in ['id', 'user', 'amount', 'ts', 'cat']:
        r['not_null_' + c] = int(t[c].isna().sum())
    r['unique_id'] = int(t['id'].duplicated(keep=False).sum())
    r['unique_id_user'] = int(t.duplicated(subset=['id', 'user'], keep=False).sum())
    r['accepted_cat'] = int((t['cat'].notna() & ~t['cat'].isin(['a', 'b', 'c', 'd'])).sum())
    r['amount_min'] = int((t['amount'] < 0).sum())
    r['amount_max'] = int((t['amount'] > 100000).sum())
    r['range_ts'] = int(((t['ts'] < pd.Timestamp('2024-01-01')) | (t['ts'] > pd.Timestamp('2025-06-01'))).sum())
    r['range_id'] = int((t['id'] < 0).sum())
    r['regex_user'] = int((t['user'].notna() & ~t['user'].str.contains('^u[0-9]+$', regex=True).fillna(False)).sum())
    r['regex_cat'] = int((t['cat'].notna() & ~t['cat'].str.contains('^[a-d]$', regex=True).fillna(False)).sum())
    n = len(t)
    r['rows_min'] = int(n < 1)
    r['rows_max'] = int(n > 100000000)
    r['freshness'] = int((pd.Timestamp.now() - t['ts'].max()) > pd.Timedelta(days=3650))
    r['fk_cat'] = int((t['cat'].notna() & ~t['cat'].isin(cats['code'])).sum())
    r['no_huge_a'] = int(((t['amount'] > 1000) & (t['cat'] == 'a')).sum())
    def drift(a, b):
        return 0 if b == 0 and a == 0 else (abs(a - b) / abs(b) * 100 if b != 0 else float('inf'))
    r['drift_rows'] = int(drift(n, len(prev)) > 10)
    r['drift_mean'] = int(drift(t['amount'].mean(), prev['amount'].mean()) > 10)
    r['drift_null_user'] = int(drift(t['user'].isna().mean(), prev['user'].isna().mean()) > 10)
    r['drift_distinct_user'] = int(drift(t['user'].nunique(), prev['user'].nunique()) > 10)
    r['drift_distinct_cat'] = int(drift(t['cat'].nunique(), prev['cat'].nunique()) > 10)
    assert len(r) == 25, len(r)
    failed = [k for k, v in r.items() if v]
    print('25 checks, failed: %s' % (failed or 'none'))
    sys.exit(1 if failed else 0)

def diff(old_p, new_p):
    a = read(old_p)
    b = read(new_p)
    m = a.merge(b, on='id', how='outer', suffixes=('_a', '_b'), indicator=True)
    removed = int((m['_merge'] == 'left_only').sum())
    added = int((m['_merge'] == 'right_only').sum())
    both = m[m['_merge'] == 'both']
    diff = pd.Series(False, index=both.index)
    for c in ['user', 'amount', 'ts', 'cat']:
        x, y = both[c + '_a'], both[c + '_b']
        diff |= ~((x == y).fillna(False) | (x.isna() & y.isna()))
    changed = both[diff]
    print('added %d, removed %d, changed %d; e.g. %s' % (added, removed, len(changed), changed.head(5)['id'].tolist()))

if sys.argv[1] == 'check':
    checks(sys.argv[2], sys.argv[3], sys.argv[4])
else:
    diff(sys.argv[2], sys.argv[3])
`;

interface Prepared {
  repo: string;
  /** The CSV files of both versions and the dimension table, outside the repository (pandas' inputs). */
  v1csv: string;
  v2csv: string;
  cats: string;
  script: string;
  rows: number;
}

let prepared: Prepared | null = null;

async function write(dir: string, rows: number): Promise<{ v1p: string; v2p: string; v1c: string; v2c: string; cats: string }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await inst.connect();
  const q = (p: string) => `'${p.replace(/'/g, "''")}'`;
  const out = { v1p: join(dir, 'v1.parquet'), v2p: join(dir, 'v2.parquet'), v1c: join(dir, 'v1.csv'), v2c: join(dir, 'v2.csv'), cats: join(dir, 'cats.csv') };
  try {
    // Version 1: deterministic rows. Timestamps 3 s apart from 2024-01-01 (10M rows: within the year).
    const v1 = `SELECT i AS id, 'u' || (i * 7919 % 100000) AS "user", round((i * 104729 % 100000) / 100.0, 2) AS amount,
      TIMESTAMP '2024-01-01' + to_seconds(i * 3) AS ts, ['a', 'b', 'c', 'd'][(i % 4) + 1] AS cat FROM range(${rows}) r(i)`;
    await c.run(`CREATE TABLE v1 AS ${v1}`);
    // Version 2: 0.25% removed (i % 400 = 1), 0.5% changed (i % 200 = 3: amount + 1), 0.25% added.
    await c.run(`CREATE TABLE v2 AS
      SELECT id, "user", CASE WHEN id % 200 = 3 THEN amount + 1 ELSE amount END AS amount, ts, cat FROM v1 WHERE id % 400 <> 1
      UNION ALL
      SELECT ${rows} + i AS id, 'u' || (i * 31 % 100000) AS "user", round((i * 7 % 100000) / 100.0, 2) AS amount,
        TIMESTAMP '2024-06-01' + to_seconds(i) AS ts, ['a', 'b', 'c', 'd'][(i % 4) + 1] AS cat FROM range(${Math.floor(rows / 400)}) r(i)`);
    for (const [t, p, f] of [['v1', out.v1p, 'parquet'], ['v2', out.v2p, 'parquet'], ['v1', out.v1c, 'csv'], ['v2', out.v2c, 'csv']] as const) {
      await c.run(`COPY (SELECT * FROM ${t} ORDER BY id) TO ${q(p)} (FORMAT ${f})`);
    }
  } finally {
    c.closeSync();
    inst.closeSync();
  }
  writeFileSync(out.cats, 'code,label\na,alpha\nb,beta\nc,gamma\nd,delta\n');
  return out;
}

async function prepare(ctx: BenchContext): Promise<Prepared> {
  if (prepared) return prepared;
  const rows = rowsFor(ctx);
  const src = join(ctx.work, 'src');
  const repo = join(ctx.work, 'repo');
  mkdirSync(src, { recursive: true });
  mkdirSync(join(repo, 'data'), { recursive: true });
  ctx.log(`tables: writing two ${rows.toLocaleString('en-US')}-row versions (Parquet and CSV) with DuckDB`);
  const f = await write(src, rows);
  const env = strataEnv();
  const S = (...a: string[]) => runSeq([strata(ctx.root, ...a)], { cwd: repo, env });
  await S('init', '-q');
  writeFileSync(join(repo, 'strata.checks.yaml'), `tables:\n  data/big.*:\n${CHECKS.map((c) => `    - ${c}\n`).join('')}`);
  copyFileSync(f.cats, join(repo, 'data', 'cats.csv'));
  for (const [v, parquet, csv] of [['1', f.v1p, f.v1c], ['2', f.v2p, f.v2c]] as const) {
    copyFileSync(parquet, join(repo, 'data', 'big.parquet'));
    copyFileSync(csv, join(repo, 'data', 'big.csv'));
    await S('add', '.');
    // The checks are what is measured: committing does not run them (--no-verify).
    await S('commit', '-q', '--no-verify', '-m', `version ${v}`);
  }
  const script = join(ctx.work, 'pandas_tables.py');
  writeFileSync(script, PANDAS);
  prepared = { repo, v1csv: f.v1c, v2csv: f.v2c, cats: f.cats, script, rows };
  return prepared;
}

/** Peak RSS (MB) of every strata run in this section, and of every pandas run. */
const strataRss: number[] = [];
const pandasRss: number[] = [];

function mb(r: SeqResult, into: number[]): void {
  if (r.rssKiB !== undefined) into.push(Math.round((r.rssKiB * 1024) / 1e6));
}

async function timeStrata(ctx: BenchContext, p: Prepared, args: string[], note: string): Promise<Figure> {
  const env = strataEnv();
  return attempt(async () =>
    valueFigure(
      await repeat(ctx.runs, async () => {
        const r = await runSeq([strata(ctx.root, ...args)], { cwd: p.repo, env });
        mb(r, strataRss);
        return r.ms;
      }),
      note,
    ),
  );
}

async function timePandas(ctx: BenchContext, p: Prepared, args: string[], inputs: string[]): Promise<Figure> {
  if (!ctx.tools.pandas?.available) return skipped('python3-pandas not installed (apt-get install python3-pandas)');
  for (const f of inputs) warm(f);
  return attempt(async () =>
    valueFigure(
      await repeat(ctx.runs, async () => {
        const r = await runSeq([[PYTHON, [p.script, ...args]]], { cwd: ctx.work });
        mb(r, pandasRss);
        return r.ms;
      }),
    ),
  );
}

/** A row measured on the prepared repository (an error figure when the CLI is not built). */
function tableRow(row: Omit<Row, 'run'>, measure: (ctx: BenchContext, p: Prepared, label: string) => Promise<RowResult>): Row {
  return {
    ...row,
    async run(ctx): Promise<RowResult> {
      const miss = strataMissing(ctx.root);
      if (miss) return { strata: { kind: 'error', message: miss }, peers: [] };
      const p = await prepare(ctx);
      return measure(ctx, p, `${rowsFor(ctx).toLocaleString('en-US')} rows`);
    },
  };
}

function rows(): Row[] {
  const diff = (...a: string[]) => ['diff', '--rows', ...a, 'HEAD~1', 'HEAD', '--'];
  return [
    tableRow({ id: 'tables.check-parquet', title: '25 checks on a 10M-row Parquet table', unit: 'ms', target: { kind: 'max', value: 5000 } }, async (ctx, p, label) => ({
      strata: await timeStrata(ctx, p, ['check', 'HEAD', 'data/big.parquet'], `${label}, 25 checks incl. 5 drift checks against the previous version`),
      peers: [],
      notes: ['pandas cannot read Parquet here (Debian has no pyarrow): the like-for-like comparison is the CSV row below'],
    })),
    tableRow({ id: 'tables.check-csv', title: '25 checks on a 10M-row CSV table', unit: 'ms', target: { kind: 'ratio', reference: 'pandas (same checks)', max: 1.0 } }, async (ctx, p, label) => ({
      strata: await timeStrata(ctx, p, ['check', 'HEAD', 'data/big.csv'], `${label}, CSV streamed by DuckDB (never loaded whole)`),
      peers: [{ name: 'pandas (same checks)', figure: await timePandas(ctx, p, ['check', p.v1csv, p.v2csv, p.cats], [p.v1csv, p.v2csv]) }],
    })),
    tableRow({ id: 'tables.diff-key', title: 'diff --rows --key id, 10M rows, 1% differ', unit: 'ms', target: { kind: 'max', value: 10000 } }, async (ctx, p, label) => {
      const fig = await timeStrata(ctx, p, [...diff('--key', 'id'), 'data/big.parquet'], `${label} (Parquet)`);
      const csv = await timeStrata(ctx, p, [...diff('--key', 'id'), 'data/big.csv'], `${label} (CSV)`);
      const peer = await timePandas(ctx, p, ['diff', p.v1csv, p.v2csv], [p.v1csv, p.v2csv]);
      return { strata: fig, peers: [{ name: 'strata on the CSV versions', figure: csv }, { name: 'pandas merge (CSV)', figure: peer }] };
    }),
    tableRow({ id: 'tables.diff-content', title: 'diff --rows by content, 10M rows, 1% differ', unit: 'ms', target: { kind: 'max', value: 10000 } }, async (ctx, p, label) => ({
      strata: await timeStrata(ctx, p, [...diff(), 'data/big.parquet'], `${label} (Parquet), rows matched by content`),
      peers: [],
    })),
    {
      id: 'tables.rss',
      title: 'peak RSS of the table rows (tables.memoryLimit 1GB)',
      unit: 'MB',
      target: { kind: 'max', value: 1000 },
      async run(): Promise<RowResult> {
        const strataFig: Figure = strataRss.length ? { kind: 'value', value: Math.max(...strataRss), samples: [...strataRss] } : { kind: 'error', message: 'no strata run of this section measured (is /usr/bin/time installed?)' };
        const peers: PeerFigure[] = pandasRss.length ? [{ name: 'pandas (same work)', figure: { kind: 'value', value: Math.max(...pandasRss), samples: [...pandasRss] } }] : [];
        return { strata: strataFig, peers, notes: ['the maximum over every strata run above (checks and diffs, Parquet and CSV) against the default tables.memoryLimit of 1GB'] };
      },
    },
  ];
}

registerSection({
  id: 'tables',
  title: 'Tables and checks',
  order: 70,
  aliases: ['checks'],
  datasets: [],
  description:
    'Two versions of a 10,000,000-row table (full scale; quick 1,000,000, tiny 20,000) written by DuckDB: id, user, amount, ts, cat; version 2 removes 0.25% of the rows, changes 0.5% and adds 0.25%. Committed as Parquet and as CSV. `strata check HEAD PATH` runs 25 checks (every kind, 5 of them drift against the previous version, so the result cache never answers); `strata diff --rows` with `--key id` and by content. Peer: pandas (Debian python3-pandas) doing the same 25 checks and the same keyed diff on the CSV versions (no pyarrow in Debian, so no Parquet for pandas). Default `tables.memoryLimit` (1GB); peak RSS by GNU time.',
  rows: rows(),
});
