/**
 * One page of a tracked table file's rows at a revision (the web UI's table preview, GET
 * /table/rows): the columns with their types, the delimiter a CSV was read with, the row count and
 * rows [offset, offset + limit). The bytes come verified out of the store (the table engine's
 * attachFile, as for `strata show --stats`), DuckDB runs under tables.memoryLimit, and a page holds
 * at most 500 rows.
 */
import { StrataError } from '../errors/index.js';
import type { Repository } from '../repo/index.js';
import { tableFormatOf, withTableEngine } from '../tables/engine.js';
import { MAX_PAGE_ROWS, tablePage } from '../tables/preview.js';
import { locateEntry } from './browse.js';
import type { TablePreview } from './types.js';

export interface TablePreviewOptions {
  /** Default HEAD. */
  ref?: string;
  path: string;
  /** First row (0-based, default 0). */
  offset?: number;
  /** Rows per page (default 100, at most 500). */
  limit?: number;
}

export async function tablePreview(repo: Repository, opts: TablePreviewOptions): Promise<TablePreview> {
  const ref = opts.ref || 'HEAD';
  const path = opts.path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (!path) throw new StrataError('INVALID_ARGUMENT', 'a table preview needs the path of a table file', { hint: 'e.g. /table/rows?ref=main&path=data/a.parquet' });
  const format = tableFormatOf(path);
  if (!format) {
    throw new StrataError('NOT_A_TABLE', `${ref}:${path} is not a table (tables are .csv, .tsv, .parquet/.pq and .jsonl/.ndjson files)`, { details: { path } });
  }
  const offset = opts.offset ?? 0;
  const limit = opts.limit ?? 100;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new StrataError('INVALID_ARGUMENT', `offset must be a whole number of rows from 0, not ${offset}`);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_ROWS) {
    throw new StrataError('INVALID_ARGUMENT', `limit must be a whole number of rows from 1 to ${MAX_PAGE_ROWS}, not ${limit}`);
  }
  // One lookup: the page and the commit named in the answer are the same version.
  const { commit, entry } = await locateEntry(repo, { ref, path });
  if (entry.type !== 'file') throw new StrataError('NOT_A_TABLE', `${ref}:${path} is a ${entry.type === 'dir' ? 'directory' : 'symbolic link'}, not a table`, { details: { path } });
  return withTableEngine(repo, async (e) => {
    const columns = await e.attachEntry('t', repo, path, entry, `${ref}:${path}`);
    const page = await tablePage(e, 't', columns, { offset, limit });
    return { ref, commit, path, format, delimiter: e.delimiterOf('t'), columns, offset, limit, rows: page.rows, values: page.values };
  });
}
