/** Table files for tests, written by DuckDB itself (never hand-made Parquet). */
import { DuckDBInstance } from '@duckdb/node-api';

/** Write `sql`'s result to `file` with DuckDB's own writer (Parquet/CSV/JSON). */
export async function duckWrite(sql: string, file: string, format: 'parquet' | 'csv' | 'json'): Promise<void> {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    await c.run(`COPY (${sql}) TO '${file.replace(/'/g, "''")}' (FORMAT ${format})`);
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}
