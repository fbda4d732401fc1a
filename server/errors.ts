/**
 * The ONE table mapping core error codes to HTTP statuses, and the JSON error body
 * {error: {code, message, hint, details?}}. Stack traces never leave the process.
 */
import type { ServerResponse } from 'node:http';
import { StrataError, type ErrorCode } from '../core/errors/index.js';

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  AMBIGUOUS_REF: 400,
  PATH_OUTSIDE_WORKSPACE: 400,
  PIPELINE_INVALID: 400,
  PIPELINE_CYCLE: 400,
  REMOTE_UNSUPPORTED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  REMOTE_AUTH: 403,
  NOT_A_REPOSITORY: 404,
  UNKNOWN_REF: 404,
  PATH_NOT_FOUND: 404,
  PATH_NOT_TRACKED: 404,
  RUN_NOT_FOUND: 404,
  OBJECT_MISSING: 404,
  REMOTE_NOT_FOUND: 404,
  REMOTE_UNKNOWN: 404,
  REF_EXISTS: 409,
  ALREADY_INITIALIZED: 409,
  NON_FAST_FORWARD: 409,
  MERGE_CONFLICT: 409,
  MERGE_IN_PROGRESS: 409,
  UNCOMMITTED_CHANGES: 409,
  NOTHING_TO_COMMIT: 409,
  REMOTE_EXISTS: 409,
  REF_CONFLICT: 412,
  PAYLOAD_TOO_LARGE: 413,
  OBJECT_CORRUPT: 422,
  VERIFY_MISMATCH: 422,
  NOT_A_TABLE: 422,
  TABLE_UNREADABLE: 422,
  TABLE_QUERY_FAILED: 422,
  TABLE_KEY_NOT_UNIQUE: 422,
  CHECK_FAILED: 422,
  REPO_BUSY: 503,
  REMOTE_UNREACHABLE: 503,
  DISK_FULL: 507,
  // The server's own metadata database is damaged: a server fault (the operator runs strata fsck --repair).
  DB_CORRUPT: 500,
};

function statusFor(code: string): number {
  return HTTP_STATUS[code as ErrorCode] ?? 500;
}

/** A StrataError with an explicit HTTP status that is not a core code mapping (405, 416). */
export class HttpError extends StrataError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    opts: { hint?: string; details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(code, message, opts);
    this.headers = opts.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

/** Normalise anything thrown into {status, body, headers}; unexpected errors become 500 INTERNAL. */
function errorResponse(e: unknown): { status: number; body: { error: Record<string, unknown> }; headers: Record<string, string>; internal: boolean } {
  if (e instanceof StrataError) {
    const status = e instanceof HttpError ? e.status : statusFor(e.code);
    const headers: Record<string, string> = e instanceof HttpError ? { ...e.headers } : {};
    if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="strata"';
    if (status === 503) headers['Retry-After'] = '1';
    const error: Record<string, unknown> = { code: e.code, message: e.message };
    if (e.hint) error.hint = e.hint;
    if (e.details) error.details = e.details;
    return { status, body: { error }, headers, internal: status >= 500 };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal server error', hint: 'see the server log' } },
    headers: {},
    internal: true,
  };
}

/** Remove what could be a secret from a log line: tokens, Authorization values, URL user info. */
export function redact(s: string): string {
  return s
    .replace(/strata_[0-9a-f]{12}_[A-Za-z0-9_-]+/g, 'strata_<redacted>')
    .replace(/(Bearer|Basic)\s+[^\s"',]+/gi, '$1 <redacted>')
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1<redacted>@');
}

export function sendError(res: ServerResponse, e: unknown, log?: (msg: string) => void): void {
  const r = errorResponse(e);
  if (r.internal && log) {
    // A mapped 5xx (busy, disk full, unreachable store) is one line; anything unexpected gets its stack.
    const text = e instanceof StrataError ? `${e.code}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e);
    log(`error: ${redact(text)}`);
  }
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(r.body));
  res.writeHead(r.status, { ...r.headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.length), 'Cache-Control': 'no-store' });
  res.end(body);
}
