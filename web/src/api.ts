/**
 * Client for the server's HTTP API (docs/api.md). The UI talks to nothing else.
 * Types mirror the documented JSON shapes; optional fields are ones older servers may omit.
 */

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public hint?: string,
  ) {
    super(message);
  }
}

// Response shapes: the operations' return types (core/ops/types.ts), imported as types only.
import type {
  ChangeInfo,
  CommitDiff,
  CommitInfo,
  CompareResult,
  Head,
  LineageChecks,
  LineageEdgeData,
  LineageNodeData,
  LineageView,
  LogPage,
  MergeConflict,
  MergeOutcome,
  PathVersion,
  PathVersions,
  Refs,
  RepoSummary,
  RunCodeInfo,
  RunDepInfo,
  RunDetail,
  RunOutInfo,
  RunSummary,
  RunsPage,
  TagInfo,
  BranchInfo,
  TablePreview,
  TableRowDiff,
  TableSchemaStats,
  TreeListing,
  TreeListingEntry,
} from '../../core/ops/types.js';

export type { CompareResult, MergeConflict, MergeOutcome };
export type { TablePreview, TableRowDiff, TableSchemaStats };
export type { Head, RepoSummary, Refs, LogPage, RunSummary, RunsPage, RunDetail, LineageChecks, LineageNodeData, LineageEdgeData };
export type Branch = BranchInfo;
export type Tag = TagInfo;
export type Commit = CommitInfo;
export type TreeEntry = TreeListingEntry;
export type TreeResult = TreeListing;
export type Change = ChangeInfo;
export type Diff = CommitDiff;
export type RunCode = RunCodeInfo;
export type RunDep = RunDepInfo;
export type RunOut = RunOutInfo;
export type NodeType = LineageNodeData['type'];
export type LineageGraph = LineageView;
/** A version of a path as the lineage panel lists it (deletions left out; older servers give fewer fields). */
export type VersionHistoryEntry = Pick<PathVersion, 'size' | 'commit' | 'time'> & { id: string; message?: string };

let runLogEndpoint = true;

type Params = Record<string, string | number | null | undefined>;

function url(path: string, params?: Params): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== null && v !== undefined && v !== '') u.set(k, String(v));
  const q = u.toString();
  return `/api${path}${q ? `?${q}` : ''}`;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = `${res.status} ${res.statusText}`.trim();
  let hint: string | undefined;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; hint?: string } };
    if (body?.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      hint = body.error.hint;
    }
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, message, hint);
}

async function send(u: string, init?: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(u, { credentials: 'same-origin', ...init });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `cannot reach the server (${(e as Error).message})`, 'is `strata serve` still running?');
  }
  if (!res.ok && res.status !== 206 && res.status !== 304) throw await errorOf(res);
  return res;
}

export async function getJson<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T> {
  const res = await send(url(path, params), { headers: { Accept: 'application/json' }, signal });
  return (await res.json()) as T;
}

const R = (repo: string) => `/repos/${encodeURIComponent(repo)}`;

export const api = {
  repos: () => getJson<{ repos: RepoSummary[] }>('/repos'),
  repo: (repo: string) => getJson<RepoSummary>(R(repo)),
  refs: (repo: string) => getJson<Refs>(`${R(repo)}/refs`),
  log: (repo: string, p: { ref?: string; limit?: number; offset?: number; path?: string }) => getJson<LogPage>(`${R(repo)}/log`, p),
  commit: (repo: string, rev: string) => getJson<Commit>(`${R(repo)}/commits/${encodeURIComponent(rev)}`),
  tree: (repo: string, ref: string, path: string) => getJson<TreeResult>(`${R(repo)}/tree`, { ref, path }),
  diff: (repo: string, p: { from?: string; to?: string; path?: string }) => getJson<Diff>(`${R(repo)}/diff`, p),
  compare: (repo: string, p: { base: string; head: string }) => getJson<CompareResult>(`${R(repo)}/compare`, p),
  /**
   * POST /merge. A merge stopped by conflicts (409) is an answer, not a failure: its outcome lists
   * them. `token` (a write token) is sent as the bearer token when given.
   */
  async merge(repo: string, body: { into: string; from: string; expect?: string; message?: string }, token?: string): Promise<MergeOutcome> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(url(`${R(repo)}/merge`), { method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, 'NETWORK', `cannot reach the server (${(e as Error).message})`, 'is `strata serve` still running?');
    }
    if (res.status === 409) {
      const clone = res.clone();
      const out = (await res.json().catch(() => null)) as MergeOutcome | null;
      if (out && out.status === 'conflicts') return out;
      throw await errorOf(clone);
    }
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as MergeOutcome;
  },
  /** A page of a table file's rows (CSV/TSV/Parquet/JSON Lines), at most 500. */
  tableRows: (repo: string, p: { ref: string; path: string; offset: number; limit: number }) => getJson<TablePreview>(`${R(repo)}/table/rows`, p),
  tableStats: (repo: string, p: { ref: string; path: string }) => getJson<TableSchemaStats>(`${R(repo)}/table/stats`, p),
  /** Row diff of one table file between two revisions; `key` is comma-separated column names ('' = by content). */
  tableDiff: (repo: string, p: { from: string; to: string; path: string; key?: string; limit?: number }) => getJson<TableRowDiff>(`${R(repo)}/table/diff`, p),
  runs: (repo: string, p: { limit?: number; offset?: number; stage?: string; status?: string }) => getJson<RunsPage>(`${R(repo)}/runs`, p),
  run: (repo: string, id: string) => getJson<RunDetail>(`${R(repo)}/runs/${encodeURIComponent(id)}`),
  lineage: (repo: string, p: { node: string; depth?: number; direction?: string; types?: string }, signal?: AbortSignal) =>
    getJson<LineageGraph>(`${R(repo)}/lineage`, p, signal),
  fileUrl: (repo: string, ref: string, path: string, download = false) => url(`${R(repo)}/file`, { ref, path, download: download ? 1 : null }),
  objectUrl: (repo: string, id: string) => url(`${R(repo)}/objects/${id}`),
  /** Bytes [start, start+len) of a file (Range). Returns the text, whether more follows, and the full size. */
  async fileHead(repo: string, ref: string, path: string, len: number): Promise<{ bytes: Uint8Array; total: number | null; partial: boolean }> {
    const res = await send(api.fileUrl(repo, ref, path), { headers: { Range: `bytes=0-${len - 1}` } });
    return readRanged(res);
  },
  async objectHead(repo: string, id: string, len: number, fromEnd = false): Promise<{ bytes: Uint8Array; total: number | null; partial: boolean }> {
    const res = await send(api.objectUrl(repo, id), { headers: { Range: fromEnd ? `bytes=-${len}` : `bytes=0-${len - 1}` } });
    return readRanged(res);
  },
  async objectSize(repo: string, id: string): Promise<number | null> {
    const res = await send(api.objectUrl(repo, id), { method: 'HEAD' });
    const n = Number(res.headers.get('content-length'));
    return Number.isFinite(n) ? n : null;
  },
  /** Optional endpoints requested in web/API-REQUESTS.md; null when the server lacks them. */
  async versions(repo: string, path: string): Promise<VersionHistoryEntry[] | null> {
    try {
      const r = await getJson<PathVersions>(`${R(repo)}/versions`, { path });
      // A deletion (id null) is not a version one can open.
      return r.versions.filter((v): v is PathVersion & { id: string } => v.id !== null);
    } catch (e) {
      if (isMissingEndpoint(e)) return null;
      throw e;
    }
  },
  async runLog(repo: string, run: RunDetail, tailBytes: number): Promise<{ text: string; partial: boolean } | null> {
    if (!run.log) return null;
    if (runLogEndpoint) try {
      const res = await send(url(`${R(repo)}/runs/${encodeURIComponent(run.id)}/log`), { headers: { Range: `bytes=-${tailBytes}` } });
      const r = await readRanged(res);
      return { text: new TextDecoder().decode(r.bytes), partial: r.partial };
    } catch (e) {
      if (e instanceof ApiError && e.status === 416) return { text: '', partial: false };
      if (!isMissingEndpoint(e)) throw e;
      runLogEndpoint = false;
    }
    // Fallback: the log is an object in the store.
    try {
      const r = await api.objectHead(repo, run.log, tailBytes, true);
      return { text: new TextDecoder().decode(r.bytes), partial: r.partial };
    } catch (e) {
      if (e instanceof ApiError && e.status === 416) return { text: '', partial: false };
      throw e;
    }
  },
};

/** A 404/405 for an endpoint this server does not have (as opposed to a missing path or run). */
export function isMissingEndpoint(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 405 || (e.status === 404 && /no API endpoint/i.test(e.message)));
}

async function readRanged(res: Response): Promise<{ bytes: Uint8Array; total: number | null; partial: boolean }> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const cr = res.headers.get('content-range');
  let total: number | null = null;
  if (cr) {
    const m = /\/(\d+)$/.exec(cr);
    if (m) total = Number(m[1]);
  } else total = bytes.length;
  return { bytes, total, partial: total !== null && bytes.length < total };
}
