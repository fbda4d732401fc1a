/**
 * Exact distinct counts of integer columns without a GROUP BY: when a column's values span a small
 * range (max - min < BITMAP_BITS), DuckDB's bitstring_agg sets one bit per value in a bitmap of that
 * range, and bit_count of it is the number of distinct non-null values, exactly. The bitmap is
 * range/8 bytes per thread (16 MB at most), where a GROUP BY of a 10M-value key builds a hash table
 * of 10M groups (measured on 10M ids: 0.2 s against 2.1 s). Callers take min and max from a scan
 * they make anyway (or, for Parquet, from the file's statistics), then ask for the bitmap.
 */
import { quoteIdent, type TableColumn, type TableEngine } from './engine.js';

/** Ranges of up to 2^27 values (a 16 MB bitmap) are counted by bitmap; wider ones by GROUP BY. */
const BITMAP_BITS = 1n << 27n;

const INTEGER_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/i;

/** An integer column type bitstring_agg takes. */
export function isBitmapType(type: string): boolean {
  return INTEGER_TYPE.test(type.trim());
}

function big(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return null;
}

/**
 * The aggregate counting the distinct non-null values of `column` (of integer `type`) whose
 * values lie in [lo, hi] (the column's min and max), or null when the range is too wide for a
 * bitmap (or min/max are not integers: no non-null value, say).
 */
export function bitmapDistinctExpr(column: string, type: string, lo: unknown, hi: unknown): string | null {
  const l = big(lo);
  const h = big(hi);
  if (!isBitmapType(type) || l === null || h === null || h < l || h - l >= BITMAP_BITS) return null;
  const t = type.trim().toUpperCase();
  return `bit_count(bitstring_agg(${quoteIdent(column)}, CAST(${l} AS ${t}), CAST(${h} AS ${t})))`;
}

/**
 * Whether the rows of `view` are pairwise distinct, proven by a column whose values are all
 * distinct and non-null (an integer id, say): its bitmap count equals the row count. Only asked of
 * Parquet views, whose row count and min/max come from the file's metadata (no scan); the bitmap
 * reads that one column (at most two columns are tried). Returns the row count and the proving
 * column, else null (not proven: no such column, another format, a range too wide).
 */
export async function provenDistinctRows(e: TableEngine, view: string, columns: TableColumn[]): Promise<{ rows: number; column: string } | null> {
  if (e.formatOf(view) !== 'parquet') return null;
  const ints = columns.filter((c) => isBitmapType(c.type));
  if (!ints.length) return null;
  const v = quoteIdent(view);
  const [r] = await e.query(`SELECT count(*) AS n, ${ints.map((c, i) => `min(${quoteIdent(c.name)}) AS lo_${i}, max(${quoteIdent(c.name)}) AS hi_${i}`).join(', ')} FROM ${v}`);
  const n = Number(r?.n ?? 0);
  let tries = 2;
  for (const [i, c] of ints.entries()) {
    if (tries === 0) break;
    const lo = big(r?.[`lo_${i}`]);
    const hi = big(r?.[`hi_${i}`]);
    // n distinct values need a range of at least n
    if (lo === null || hi === null || hi - lo + 1n < BigInt(n)) continue;
    const expr = bitmapDistinctExpr(c.name, c.type, lo, hi);
    if (expr === null) continue;
    tries--;
    const [d] = await e.query(`SELECT ${expr} AS d FROM ${v}`);
    if (Number(d?.d ?? -1) === n) return { rows: n, column: c.name };
  }
  return null;
}
