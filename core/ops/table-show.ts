import { StrataError } from '../errors/index.js';
import { splitRefPath } from '../repo/refs.js';
import type { Repository } from '../repo/index.js';
import { tableFormatOf, withTableEngine, type TableColumn, type TableFormat } from '../tables/engine.js';
import { tableStats, type TableStats } from '../tables/stats.js';

export interface TableShowOptions {
  /** REF:PATH (a bare PATH means HEAD:PATH). */
  spec: string;
  stats?: boolean;
}

export interface TableShowResult {
  ref: string;
  path: string;
  format: TableFormat;
  columns: TableColumn[];
  /** With `stats`: row count and per-column nulls, distinct, min and max. */
  stats?: TableStats;
}

/** The schema (and with `stats` the statistics) of a tracked table file at a revision. */
export async function tableShow(repo: Repository, opts: TableShowOptions): Promise<TableShowResult> {
  const { ref, path: raw } = splitRefPath(opts.spec);
  const path = raw.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (!path) throw new StrataError('INVALID_ARGUMENT', 'show --schema/--stats needs REF:PATH', { hint: 'strata show HEAD:data/table.csv --stats' });
  const format = tableFormatOf(path);
  if (!format) {
    throw new StrataError('NOT_A_TABLE', `${ref}:${path} is not a table (tables are .csv, .tsv, .parquet/.pq and .jsonl/.ndjson files)`, { details: { path } });
  }
  return withTableEngine(repo, async (e) => {
    const columns = await e.attachFile('t', repo, ref, path);
    const out: TableShowResult = { ref, path, format, columns };
    if (opts.stats) out.stats = await tableStats(e, 't', columns);
    return out;
  });
}
