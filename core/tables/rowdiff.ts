/**
 * Row-level diff of two attached tables, in SQL (DuckDB does the joins; only counts and samples
 * reach JS). With a key: rows added/removed (anti joins on the key) and changed (an inner join on
 * the key, cells compared with IS DISTINCT FROM). Without one: rows matched by content as
 * multisets (EXCEPT ALL both ways). Compared columns are those both versions have; schema changes
 * (added, removed, retyped columns) are reported apart.
 */
import { StrataError } from '../errors/index.js';
import { quoteIdent, type TableColumn, type TableEngine } from './engine.js';

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

async function count(e: TableEngine, sql: string): Promise<number> {
  const [r] = await e.query<{ n: number }>(`SELECT count(*) AS n FROM (${sql}) AS q`);
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
  if (!key) {
    const sel = (alias: string, v: string) => `SELECT ${common.map((n) => col(alias, n) + ' AS ' + quoteIdent(n)).join(', ') || '1 AS x'} FROM ${v} AS ${alias}`;
    const added = `${sel('b', B)} EXCEPT ALL ${sel('a', A)}`;
    const removed = `${sel('a', A)} EXCEPT ALL ${sel('b', B)}`;
    return {
      key: null,
      schema,
      counts: { added: await count(e, added), removed: await count(e, removed), changed: null },
      sample: {
        added: await e.query(`SELECT * FROM (${added}) AS q LIMIT ${limit}`),
        removed: await e.query(`SELECT * FROM (${removed}) AS q LIMIT ${limit}`),
        changed: [],
      },
    };
  }
  for (const k of key) {
    for (const [side, m] of [['the old version', at], ['the new version', bt]] as const) {
      if (!m.has(k)) throw new StrataError('INVALID_ARGUMENT', `key column ${k} is not in ${side} (columns: ${[...m.keys()].join(', ')})`, { details: { key: k } });
    }
  }
  const keyList = key.map(quoteIdent).join(', ');
  for (const [v, label] of [[A, 'the old version'], [B, 'the new version']] as const) {
    const dup = await e.query(`SELECT ${keyList}, count(*) AS n FROM ${v} GROUP BY ALL HAVING count(*) > 1 LIMIT 1`);
    if (dup.length) {
      const { n, ...value } = dup[0]!;
      throw new StrataError('TABLE_KEY_NOT_UNIQUE', `key (${key.join(', ')}) is not unique in ${label}: ${JSON.stringify(value)} appears ${String(n)} times`, {
        hint: 'name columns that identify each row with --key, or diff without --key (rows matched by content)',
        details: { key, value, count: n },
      });
    }
  }
  const on = key.map((k) => `${col('a', k)} = ${col('b', k)}`).join(' AND ');
  const values = common.filter((n) => !key.includes(n));
  const added = `SELECT b.* FROM ${B} AS b ANTI JOIN ${A} AS a ON ${on}`;
  const removed = `SELECT a.* FROM ${A} AS a ANTI JOIN ${B} AS b ON ${on}`;
  const differs = values.map((n) => `${col('a', n)} IS DISTINCT FROM ${col('b', n)}`).join(' OR ') || 'false';
  const changedFrom = `FROM ${A} AS a JOIN ${B} AS b ON ${on} WHERE ${differs}`;
  const changedCount = await count(e, `SELECT 1 ${changedFrom}`);
  const pick = [...key.map((k, i) => `a.${quoteIdent(k)} AS k_${i}`), ...values.flatMap((n, i) => [`${col('a', n)} AS o_${i}`, `${col('b', n)} AS n_${i}`])];
  const rows = await e.query(`SELECT ${pick.join(', ')} ${changedFrom} ORDER BY ${key.map((_, i) => `k_${i}`).join(', ')} LIMIT ${limit}`);
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  return {
    key,
    schema,
    counts: { added: await count(e, added), removed: await count(e, removed), changed: changedCount },
    sample: {
      added: await e.query(`${added} ORDER BY ${key.map((k) => `b.${quoteIdent(k)}`).join(', ')} LIMIT ${limit}`),
      removed: await e.query(`${removed} ORDER BY ${key.map((k) => `a.${quoteIdent(k)}`).join(', ')} LIMIT ${limit}`),
      changed: rows.map((r) => ({
        key: Object.fromEntries(key.map((k, i) => [k, r[`k_${i}`]])),
        cells: values.flatMap((n, i) => (same(r[`o_${i}`], r[`n_${i}`]) ? [] : [{ column: n, old: r[`o_${i}`], new: r[`n_${i}`] }])),
      })),
    },
  };
}
