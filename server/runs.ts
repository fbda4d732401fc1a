/**
 * Runs and lineage for the web UI and API clients: parse the request, call the operations
 * (core/ops/runs.ts, core/ops/lineage-view.ts), send the result; GET /runs/{id}/log streams bytes.
 */
import type { ServerResponse } from 'node:http';
import type { Repository } from '../core/repo/index.js';
import type { RunRecord } from '../core/meta/runs.js';
import { runDetail, runLog, runsPage, type RunDetail, type RunsPage } from '../core/ops/runs.js';
import { lineageSearch, lineageView as lineageViewOp, type LineageSearchResult, type LineageView } from '../core/ops/lineage-view.js';
import { parseRange } from './http.js';
import { readObject } from '../core/ops/protocol.js';
import { intParam, sendBytes } from './browse.js';

export function runsView(repo: Repository, q: URLSearchParams): RunsPage {
  const limit = intParam(q.get('limit'), 50, 1, 1000, 'limit');
  const offset = intParam(q.get('offset'), 0, 0, 1_000_000, 'offset');
  const stage = q.get('stage') || undefined;
  const status = (q.get('status') || undefined) as RunRecord['status'] | undefined;
  return runsPage(repo, { stage, status, limit, offset });
}

export function runView(repo: Repository, id: string): RunDetail {
  return runDetail(repo, id);
}

export function lineageView(repo: Repository, q: URLSearchParams): Promise<LineageView> {
  return lineageViewOp(repo, {
    node: q.get('node') ?? '',
    depth: intParam(q.get('depth'), 3, 0, 1000, 'depth'),
    direction: q.get('direction') || undefined,
    types: q.get('types') || undefined,
  });
}

export function lineageSearchView(repo: Repository, q: URLSearchParams): LineageSearchResult {
  return lineageSearch(repo, { q: q.get('q') ?? '', limit: intParam(q.get('limit'), 20, 1, 100, 'limit') });
}

// ---------------------------------------------------------------- GET /runs/{id}/log

/**
 * A run's captured stdout+stderr as text/plain, with Range (one range, incl. suffix `bytes=-N`) and
 * If-None-Match. A run without a log (cached runs) answers 200 with an empty body.
 */
export async function serveRunLog(repo: Repository, idOrPrefix: string, reqHeaders: Record<string, string | string[] | undefined>, res: ServerResponse, head: boolean): Promise<void> {
  const { run, log } = await runLog(repo, idOrPrefix);
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'private, max-age=0, must-revalidate',
    'X-Content-Type-Options': 'nosniff',
    'X-Strata-Run': run.id,
  };
  if (!log) {
    headers['Content-Length'] = '0';
    res.writeHead(200, headers);
    res.end();
    return;
  }
  const logId = log.id;
  const st = { size: log.size };
  const etag = `"${logId}"`;
  headers.ETag = etag;
  const inm = reqHeaders['if-none-match'];
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  let range = st.size === 0 ? null : parseRange(reqHeaders['range'] as string | undefined, st.size);
  const ifRange = reqHeaders['if-range'];
  if (range && typeof ifRange === 'string' && ifRange !== etag) range = null;
  await sendBytes(res, head, headers, st.size, range, () => readObject(repo, logId, range));
}

