/**
 * A page of an attached table's rows (the web UI's table preview): rows [offset, offset + limit)
 * in file order, and the table's row count. DuckDB keeps the file's row order for a plain scan
 * (preserve_insertion_order, on by default), so page 2 follows page 1. Only the page reaches JS;
 * the count is read from Parquet metadata or by one streamed scan of a CSV/JSON Lines file.
 */
import { quoteIdent, type TableColumn, type TableEngine } from './engine.js';

/** The largest page a caller may ask for (rows). */
export const MAX_PAGE_ROWS = 500;

export interface TablePage {
  rows: number;
  /** One array per row, values in the order of `columns`. */
  values: unknown[][];
}

export async function tablePage(e: TableEngine, view: string, columns: TableColumn[], opts: { offset: number; limit: number }): Promise<TablePage> {
  const v = quoteIdent(view);
  const limit = Math.min(MAX_PAGE_ROWS, Math.max(0, Math.floor(opts.limit)));
  const offset = Math.max(0, Math.floor(opts.offset));
  const [c] = await e.query<{ n: number }>(`SELECT count(*) AS n FROM ${v}`);
  const rows = Number(c?.n ?? 0);
  if (limit === 0 || offset >= rows) return { rows, values: [] };
  // Columns under positional aliases: two columns whose names differ only in case stay apart.
  const sel = columns.map((col, i) => `${quoteIdent(col.name)}${/DATE|TIME|INTERVAL/i.test(col.type) ? '::VARCHAR' : ''} AS c_${i}`).join(', ');
  const page = await e.query(`SELECT ${sel || '1 AS c_0'} FROM ${v} LIMIT ${limit} OFFSET ${offset}`);
  return { rows, values: page.map((r) => columns.map((_, i) => r[`c_${i}`] ?? null)) };
}
