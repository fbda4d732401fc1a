/**
 * The table endpoints of the web UI (docs/api.md, "Tables"): a page of rows, schema and statistics,
 * and a row diff. Each parses its query and calls the same operation as the CLI; table errors
 * (NOT_A_TABLE, TABLE_UNREADABLE naming the file, TABLE_KEY_NOT_UNIQUE) answer 422 through the
 * one status table. Each request opens its own DuckDB (tables.memoryLimit applies to each), so at
 * most TABLE_ENGINES of them run at once in the server; more wait their turn.
 */
import { StrataError } from '../core/errors/index.js';
import type { Repository } from '../core/repo/index.js';
import { diffRows } from '../core/ops/diff-rows.js';
import { tablePreview } from '../core/ops/table-preview.js';
import { tableShow } from '../core/ops/table-show.js';
import type { TablePreview, TableRowDiff, TableSchemaStats } from '../core/ops/types.js';
import { Limiter } from '../core/util/concurrency.js';
import { intParam } from './browse.js';
import { checkRepoPath } from './http.js';

const TABLE_ENGINES = 2;
const engines = new Limiter(TABLE_ENGINES);

function tablePath(q: URLSearchParams): string {
  const path = checkRepoPath(q.get('path'));
  if (!path) throw new StrataError('INVALID_ARGUMENT', 'the path parameter is required: the path of a table file', { hint: 'e.g. /table/rows?ref=main&path=data/a.parquet' });
  return path;
}

/** GET /table/rows?ref=&path=&offset=0&limit=100 */
export function tableRowsView(repo: Repository, q: URLSearchParams): Promise<TablePreview> {
  const path = tablePath(q);
  const opts = {
    ref: q.get('ref') || undefined,
    path,
    offset: intParam(q.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER, 'offset'),
    limit: intParam(q.get('limit'), 100, 1, 500, 'limit'),
  };
  return engines.run(() => tablePreview(repo, opts));
}

/** GET /table/stats?ref=&path= */
export function tableStatsView(repo: Repository, q: URLSearchParams): Promise<TableSchemaStats> {
  const path = tablePath(q);
  const ref = q.get('ref') || 'HEAD';
  return engines.run(() => tableShow(repo, { spec: `${ref}:${path}`, stats: true }));
}

/** GET /table/diff?from=&to=&path=[&key=a,b&limit=10] */
export function tableDiffView(repo: Repository, q: URLSearchParams): Promise<TableRowDiff> {
  const path = tablePath(q);
  const from = q.get('from');
  const to = q.get('to');
  if (!from || !to) throw new StrataError('INVALID_ARGUMENT', 'a row diff needs two revisions: from and to', { hint: 'e.g. /table/diff?from=main~1&to=main&path=data/a.csv&key=id' });
  const key = (q.get('key') ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  const limit = intParam(q.get('limit'), 10, 1, 100, 'limit');
  return engines.run(() => diffRows(repo, { refs: [from, to], path, key: key.length ? key : undefined, limit }));
}
