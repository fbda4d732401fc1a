/**
 * Row-level diff of two attached tables, in SQL (DuckDB does the joins; only counts and samples
 * reach JS). Compared columns are those both versions have; schema changes (added, removed,
 * retyped columns) are reported apart, and a retyped column is compared as text.
 *
 * With a key, one pass: a full outer join on the key of (key, hash of the other columns) from each
 * side, grouped so that every row equal on both sides falls into one counted group and every
 * other row keeps its key: added (key only in the new version), removed (only in the old),
 * changed (hashes differ). The counts also prove the key unique: a duplicate key either shows as
 * two rows of one key in a group, or makes the join fan out, so that the rows seen of a side
 * exceed its row count. Only then is the side searched for the value to name. Samples are read
 * back by key (the join's filter reaches the file scan, so these reads are cheap), and changed
 * cells compared exactly (IS DISTINCT FROM).
 *
 * Without a key, rows are matched by the hash of all compared columns: +1 a row of the new
 * version, -1 one of the old, summed by hash: a positive sum is a row added that many times,
 * negative removed. When the old version's rows are proven distinct (a column of distinct
 * integers, core/tables/distinct.ts), one full join on the hash does it (no hash can repeat on the
 * old side, so the join cannot fan out); else one grouped pass over the hashes of both versions.
 *
 * Rows are matched by 64-bit hashes (DuckDB's hash()): two different rows with the same hash would
 * be taken as equal, a chance of about 2^-64 a pair.
 */
import { StrataError } from '../errors/index.js';
import { quoteIdent, type TableColumn, type TableEngine } from './engine.js';
import { provenDistinctRows } from './distinct.js';

export interface RowDiffResult {
  key: string[] | null;
  schema: { added: TableColumn[]; removed: TableColumn[]; retyped: Array<{ name: string; from: string; to: string }> };
  counts: { added: number; removed: number; changed: number | null };
  sample: {
    added: Record<string, unknown>[];
    removed: Record<string, unknown>[];
    changed: Array<{ key: Record<string, unknown>; cells: Array<{ column: string; old: unknown; new: unknown }> }>;
  };
}

const ADDED = 1;
const REMOVED = 2;
const CHANGED = 3;

async function rowCount(e: TableEngine, view: string): Promise<number> {
  const [r] = await e.query<{ n: number }>(`SELECT count(*) AS n FROM ${view}`);
  return Number(r?.n ?? 0);
}

export async function rowDiff(e: TableEngine, a: string, ac: TableColumn[], b: string, bc: TableColumn[], opts: { key?: string[]; limit: number }): Promise<RowDiffResult> {
  const bt = new Map(bc.map((c) => [c.name, c.type]));
  const at = new Map(ac.map((c) => [c.name, c.type]));
  const schema: RowDiffResult['schema'] = {
    added: bc.filter((c) => !at.has(c.name)),
    removed: ac.filter((c) => !bt.has(c.name)),
    retyped: ac.filter((c) => bt.has(c.name) && bt.get(c.name) !== c.type).map((c) => ({ name: c.name, from: c.type, to: bt.get(c.name)! })),
  };
  const common = ac.filter((c) => bt.has(c.name)).map((c) => c.name);
  const retyped = new Set(schema.retyped.map((r) => r.name));
  // a retyped column is compared as text on both sides
  const col = (alias: string, n: string) => `${alias}.${quoteIdent(n)}${retyped.has(n) ? '::VARCHAR' : ''}`;
  const A = quoteIdent(a);
  const B = quoteIdent(b);
  const limit = Math.max(0, Math.floor(opts.limit));
  const key = opts.key?.length ? opts.key : null;
  const hashOf = (alias: string, cols: string[]) => (cols.length ? `hash(${cols.map((n) => col(alias, n)).join(', ')})` : '0');
  if (!key) return contentDiff(e, { a, ac, b, bc }, common, col, hashOf, schema, limit);

  for (const k of key) {
    for (const [side, m] of [['the old version', at], ['the new version', bt]] as const) {
      if (!m.has(k)) throw new StrataError('INVALID_ARGUMENT', `key column ${k} is not in ${side} (columns: ${[...m.keys()].join(', ')})`, { details: { key: k } });
    }
  }
  const values = common.filter((n) => !key.includes(n));
  const kq = key.map((_, i) => `k_${i}`);
  const side = (alias: string, view: string) => `(SELECT ${key.map((k, i) => `${col(alias, k)} AS k_${i}`).join(', ')}, ${hashOf(alias, values)} AS h, 1 AS p FROM ${view} AS ${alias})`;
  const on = kq.map((k) => `a.${k} = b.${k}`).join(' AND ');
  const eq = 'a.p IS NOT NULL AND b.p IS NOT NULL AND a.h = b.h';
  const st = `CASE WHEN ${eq} THEN 0 WHEN a.p IS NULL THEN ${ADDED} WHEN b.p IS NULL THEN ${REMOVED} ELSE ${CHANGED} END`;
  const keyOut = kq.map((k) => `CASE WHEN ${eq} THEN NULL WHEN a.p IS NULL THEN b.${k} ELSE a.${k} END AS ${k}`).join(', ');
  await e.materialize('rowdiff_d', `SELECT ${st} AS st, ${keyOut}, count(*) AS n FROM ${side('a', A)} AS a FULL JOIN ${side('b', B)} AS b ON ${on} GROUP BY ALL`);

  const groups = await e.query<{ st: number; rows: number; most: number }>('SELECT st, sum(n) AS rows, max(n) AS most FROM rowdiff_d GROUP BY st');
  const by = new Map(groups.map((g) => [Number(g.st), { rows: Number(g.rows), most: Number(g.most) }]));
  const rows = (s: number) => by.get(s)?.rows ?? 0;
  const [na, nb] = [await rowCount(e, A), await rowCount(e, B)];
  const seenA = rows(0) + rows(REMOVED) + rows(CHANGED);
  const seenB = rows(0) + rows(ADDED) + rows(CHANGED);
  // A duplicate key of one side makes the join repeat rows of the other (seen more often than it
  // has rows), or shows as two rows of one key among the rows only that side has.
  const dupIn = (s: number) => (by.get(s)?.most ?? 0) > 1;
  if (seenA !== na || seenB !== nb || dupIn(ADDED) || dupIn(REMOVED) || dupIn(CHANGED)) {
    await notUnique(e, [[A, 'the old version'], [B, 'the new version']], key);
  }

  const order = kq.join(', ');
  const sampleKeys = (s: number) => `(SELECT ${order} FROM rowdiff_d WHERE st = ${s} ORDER BY ${order} LIMIT ${limit})`;
  const byKey = (alias: string) => kq.map((k, i) => `${col(alias, key[i]!)} = s.${k}`).join(' AND ');
  const sampleRows = (s: number, alias: string, view: string) =>
    e.query(`SELECT ${alias}.* FROM ${view} AS ${alias} SEMI JOIN ${sampleKeys(s)} AS s ON ${byKey(alias)} ORDER BY ${key.map((k) => col(alias, k)).join(', ')}`);
  const pick = [...key.map((k, i) => `a.${quoteIdent(k)} AS k_${i}`), ...values.flatMap((n, i) => [`${col('a', n)} AS o_${i}`, `${col('b', n)} AS n_${i}`])];
  const changed = await e.query(
    `SELECT ${pick.join(', ')} FROM ${sampleKeys(CHANGED)} AS s JOIN ${A} AS a ON ${byKey('a')} JOIN ${B} AS b ON ${byKey('b')} ORDER BY ${kq.map((k) => `s.${k}`).join(', ')}`,
  );
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  return {
    key,
    schema,
    counts: { added: rows(ADDED), removed: rows(REMOVED), changed: rows(CHANGED) },
    sample: {
      added: await sampleRows(ADDED, 'b', B),
      removed: await sampleRows(REMOVED, 'a', A),
      changed: changed.map((r) => ({
        key: Object.fromEntries(key.map((k, i) => [k, r[`k_${i}`]])),
        cells: values.flatMap((n, i) => (same(r[`o_${i}`], r[`n_${i}`]) ? [] : [{ column: n, old: r[`o_${i}`], new: r[`n_${i}`] }])),
      })),
    },
  };
}

/** Name a duplicated key value (only called once the counts showed there is one). */
async function notUnique(e: TableEngine, sides: Array<[string, string]>, key: string[]): Promise<void> {
  const keyList = key.map(quoteIdent).join(', ');
  for (const [view, label] of sides) {
    const dup = await e.query(`SELECT ${keyList}, count(*) AS n FROM ${view} GROUP BY ALL HAVING count(*) > 1 ORDER BY ${keyList} LIMIT 1`);
    if (!dup.length) continue;
    const { n, ...value } = dup[0]!;
    throw new StrataError('TABLE_KEY_NOT_UNIQUE', `key (${key.join(', ')}) is not unique in ${label}: ${JSON.stringify(value)} appears ${String(n)} times`, {
      hint: 'name columns that identify each row with --key, or diff without --key (rows matched by content)',
      details: { key, value, count: n },
    });
  }
  throw new StrataError('INTERNAL', `the row diff's counts do not add up, yet no key (${key.join(', ')}) is repeated`, { details: { key } });
}

async function contentDiff(
  e: TableEngine,
  views: { a: string; ac: TableColumn[]; b: string; bc: TableColumn[] },
  common: string[],
  col: (alias: string, n: string) => string,
  hashOf: (alias: string, cols: string[]) => string,
  schema: RowDiffResult['schema'],
  limit: number,
): Promise<RowDiffResult> {
  const A = quoteIdent(views.a);
  const B = quoteIdent(views.b);
  // rowdiff_c: (h, n) for every row hash whose count differs, n = new count - old count.
  const joined = common.length > 0 ? await joinedDiff(e, views, A, B, common, col, hashOf) : null;
  if (!joined) {
    // Keeping the hashes in a table first grouped faster (5.5 s against 7.0 s on 2 x 10M Parquet
    // rows) but holds 240 MB more in DuckDB: not done, as the 10M-row CSV diff's peak RSS is already
    // near the 1GB limit (0.89 to 0.98 GiB measured, 1.01 GiB once with the table).
    await e.materialize(
      'rowdiff_c',
      `SELECT h, sum(s) AS n FROM (SELECT ${hashOf('b', common)} AS h, 1 AS s FROM ${B} AS b UNION ALL SELECT ${hashOf('a', common)} AS h, -1 AS s FROM ${A} AS a) GROUP BY h HAVING sum(s) <> 0`,
    );
  }
  const [c] = await e.query<{ added: number | null; removed: number | null }>(
    'SELECT sum(CASE WHEN n > 0 THEN n ELSE 0 END) AS added, sum(CASE WHEN n < 0 THEN -n ELSE 0 END) AS removed FROM rowdiff_c',
  );
  const sel = (alias: string) => common.map((n) => `${col(alias, n)} AS ${quoteIdent(n)}`).join(', ') || '1 AS x';
  // A row added twice is listed twice (up to the limit): the multiset difference, sorted.
  const byHash = (alias: string, view: string, sign: string) =>
    e.query(
      `SELECT * EXCLUDE (h_, n_, r_) FROM (SELECT ${sel(alias)}, d.h AS h_, abs(d.n) AS n_, row_number() OVER (PARTITION BY d.h) AS r_ FROM ${view} AS ${alias} JOIN rowdiff_c AS d ON ${hashOf(alias, common)} = d.h WHERE d.n ${sign} 0) WHERE r_ <= n_ ORDER BY ALL LIMIT ${limit}`,
    );
  // A side whose rows are distinct by the key column: its differing rows are those of the keys
  // kept in rowdiff_c (a semi join on one column, where matching by hash reads and hashes every row).
  const byKey = (alias: string, view: string, sign: string, key: string) =>
    e.query(`SELECT ${sel(alias)} FROM ${view} AS ${alias} SEMI JOIN (SELECT k FROM rowdiff_c WHERE n ${sign} 0) AS d ON ${col(alias, key)} = d.k ORDER BY ALL LIMIT ${limit}`);
  return {
    key: null,
    schema,
    counts: { added: Number(c?.added ?? 0), removed: Number(c?.removed ?? 0), changed: null },
    sample: {
      added: joined?.newDistinct ? await byKey('b', B, '>', joined.key) : await byHash('b', B, '>'),
      removed: joined ? await byKey('a', A, '<', joined.key) : await byHash('a', A, '<'),
      changed: [],
    },
  };
}

/**
 * The by-content diff as one full join on the row hash, when the old version's rows are proven
 * pairwise distinct by a column of distinct integers (core/tables/distinct.ts): then a row of the
 * new version matches at most one old row, the join cannot fan out, and every row equal on both
 * sides falls into one counted group (on 2 x 10M rows 3 s, where grouping 20M hashes took 5.5 s).
 * A row the old version has once and the new one more often makes the rows seen exceed the row
 * counts: then null, and the caller groups hashes instead. Leaves rowdiff_c as contentDiff says,
 * with the key column's value k of each differing row; `newDistinct`: the new version's rows are
 * distinct by that column too.
 */
async function joinedDiff(
  e: TableEngine,
  views: { a: string; ac: TableColumn[]; b: string; bc: TableColumn[] },
  A: string,
  B: string,
  common: string[],
  col: (alias: string, n: string) => string,
  hashOf: (alias: string, cols: string[]) => string,
): Promise<{ key: string; newDistinct: boolean } | null> {
  // The proving column must be compared: rows distinct by a column the hash leaves out are not.
  const old = await provenDistinctRows(e, views.a, views.ac.filter((c) => common.includes(c.name)));
  if (old === null) return null;
  const k = old.column;
  await e.materialize(
    'rowdiff_j',
    `SELECT CASE WHEN a.h IS NULL THEN b.h WHEN b.h IS NULL THEN a.h END AS h, CASE WHEN a.h IS NULL THEN b.k WHEN b.h IS NULL THEN a.k END AS k, CASE WHEN a.h IS NULL THEN 1 WHEN b.h IS NULL THEN -1 ELSE 0 END AS s, count(*) AS n FROM (SELECT ${hashOf('a', common)} AS h, ${col('a', k)} AS k FROM ${A} AS a) AS a FULL JOIN (SELECT ${hashOf('b', common)} AS h, ${col('b', k)} AS k FROM ${B} AS b) AS b ON a.h = b.h GROUP BY ALL`,
  );
  const groups = await e.query<{ s: number; rows: number }>('SELECT s, sum(n) AS rows FROM rowdiff_j GROUP BY s');
  const rows = (s: number) => Number(groups.find((g) => Number(g.s) === s)?.rows ?? 0);
  const nb = await rowCount(e, B);
  if (rows(0) + rows(-1) !== old.rows || rows(0) + rows(1) !== nb) return null;
  await e.materialize('rowdiff_c', 'SELECT h, s * n AS n, k FROM rowdiff_j WHERE s <> 0');
  const kb = views.bc.find((c) => c.name === k);
  const fresh = kb ? await provenDistinctRows(e, views.b, [kb]) : null;
  return { key: k, newDistinct: fresh !== null };
}
