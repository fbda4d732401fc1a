/**
 * Schema and statistics of an attached table, computed by DuckDB in SQL (streamed over the file:
 * a 1 GB CSV is never loaded into JS). Distinct counts are exact up to EXACT_DISTINCT_MAX rows
 * and HyperLogLog estimates (approx_count_distinct, within about 10%) beyond; the result says which.
 */
import { quoteIdent, type TableColumn, type TableEngine } from './engine.js';
import type { TableColumnStatsInfo } from '../ops/types.js';

/** Tables of up to this many rows get exact distinct counts (a second pass); larger ones estimates. */
const EXACT_DISTINCT_MAX = 1_000_000;

export type ColumnStats = TableColumnStatsInfo;

export interface TableStats {
  rows: number;
  /** true: distinct counts are estimates (HyperLogLog), the table has more than 1,000,000 rows. */
  distinctApprox: boolean;
  columns: ColumnStats[];
}

/** Nested values (lists, structs, maps, unions) get no min/max. */
function ordered(type: string): boolean {
  return !/[[\]]|^(STRUCT|MAP|UNION)\b/i.test(type);
}

export async function tableStats(e: TableEngine, view: string, columns: TableColumn[]): Promise<TableStats> {
  const v = quoteIdent(view);
  const parts = ['count(*) AS n'];
  columns.forEach((c, i) => {
    const q = quoteIdent(c.name);
    parts.push(`count(*) - count(${q}) AS nulls_${i}`, `approx_count_distinct(${q}) AS d_${i}`);
    // dates and times as DuckDB prints them (2024-01-31, 2024-01-31 12:00:00), not JS Dates
    const cast = /DATE|TIME|INTERVAL/i.test(c.type) ? '::VARCHAR' : '';
    if (ordered(c.type)) parts.push(`min(${q})${cast} AS min_${i}`, `max(${q})${cast} AS max_${i}`);
  });
  const [row] = await e.query(`SELECT ${parts.join(', ')} FROM ${v}`);
  const r = row ?? {};
  const rows = Number(r.n ?? 0);
  const distinctApprox = rows > EXACT_DISTINCT_MAX;
  let exact: Record<string, unknown> | null = null;
  if (!distinctApprox && columns.length) {
    const [d] = await e.query(`SELECT ${columns.map((c, i) => `count(DISTINCT ${quoteIdent(c.name)}) AS d_${i}`).join(', ')} FROM ${v}`);
    exact = d ?? null;
  }
  return {
    rows,
    distinctApprox,
    columns: columns.map((c, i) => ({
      name: c.name,
      type: c.type,
      nulls: Number(r[`nulls_${i}`] ?? 0),
      distinct: Number((exact ?? r)[`d_${i}`] ?? 0),
      min: r[`min_${i}`] ?? null,
      max: r[`max_${i}`] ?? null,
    })),
  };
}
