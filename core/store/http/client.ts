/**
 * The HTTP client under the Strata server stores (core/store/http): base URL of one repository's
 * API, bearer token, retries of repeatable requests (429/502/503/504, resets; Retry-After), and the mapping of error answers
 * (the server's JSON `{error: {code, message, hint}}`) to StrataErrors.
 *
 * Token (Authorization: Bearer): opts.token, else STRATA_TOKEN, else the first matching line of the
 * credentials file ($XDG_CONFIG_HOME or ~/.config)/strata/credentials: `<url prefix> <token>`.
 */
import { credentialFor } from '../../config/credentials.js';
import { StrataError, type ErrorCode } from '../../errors/index.js';

export interface HttpRemoteOptions {
  token?: string;
  jobs?: number;
  name?: string;
  env?: NodeJS.ProcessEnv;
}

export interface HttpCounters {
  requests: number;
  bytesUp: number;
  bytesDown: number;
}

/** Token for `url`: explicit, STRATA_TOKEN, or the credentials file (core/config/credentials.ts). */
export function resolveToken(url: string, opts: { token?: string; env?: NodeJS.ProcessEnv } = {}): string | undefined {
  if (opts.token) return opts.token;
  const env = opts.env ?? process.env;
  if (env.STRATA_TOKEN) return env.STRATA_TOKEN;
  return credentialFor(url, env).secret;
}

export class HttpClient {
  readonly counters: HttpCounters = { requests: 0, bytesUp: 0, bytesDown: 0 };
  constructor(
    readonly base: string,
    readonly url: string,
    private readonly token: string | undefined,
  ) {}

  /**
   * One request. Retryable failures (connection errors and resets, 429, 502, 503, 504) are retried
   * up to RETRY.attempts times in all when the request may be repeated: `init.retry`, by default
   * every request whose body is absent or a Buffer (a stream cannot be sent twice). The wait is the
   * server's Retry-After (seconds or an HTTP-date, at most RETRY.maxAfterMs), else exponential
   * backoff with full jitter: a random time up to min(RETRY.capMs, RETRY.baseMs * 2^attempt).
   * Non-2xx answers become StrataErrors carrying the server's code, except `allow` statuses.
   */
  async request(method: string, path: string, init: { body?: Buffer | AsyncIterable<Uint8Array>; headers?: Record<string, string>; allow?: number[]; retry?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const retry = init.retry ?? !(init.body && !Buffer.isBuffer(init.body));
    const attempts = retry ? RETRY.attempts : 1;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        this.counters.requests++;
        const body = init.body as BodyInit | undefined;
        res = await fetch(this.base + path, { method, headers, body, ...(init.body && !Buffer.isBuffer(init.body) ? { duplex: 'half' } : {}) } as RequestInit);
        if (Buffer.isBuffer(init.body)) this.counters.bytesUp += init.body.length;
      } catch (e) {
        if (attempt < attempts) {
          await sleep(backoffMs(attempt));
          continue;
        }
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new StrataError('REMOTE_UNREACHABLE', `cannot reach Strata server ${this.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, {
          hint: 'check the URL (strata remote -v) and that strata serve is running there',
          cause: e,
        });
      }
      const len = Number(res.headers.get('content-length') ?? 0);
      if (method !== 'HEAD') this.counters.bytesDown += len;
      if (res.ok || init.allow?.includes(res.status)) return res;
      if (RETRY.statuses.has(res.status) && attempt < attempts) {
        const after = retryAfterMs(res.headers.get('retry-after'), Date.now());
        await res.body?.cancel();
        await sleep(after ?? backoffMs(attempt));
        continue;
      }
      throw await this.toError(res);
    }
  }

  async toError(res: Response): Promise<StrataError> {
    let body: { error?: { code?: string; message?: string; hint?: string; details?: Record<string, unknown> } } | undefined;
    try {
      body = (await res.json()) as typeof body;
    } catch {
      body = undefined;
    }
    const e = body?.error;
    const msg = e?.message ?? `HTTP ${res.status} ${res.statusText}`;
    const where = `Strata server ${this.url}`;
    if (res.status === 401) {
      return new StrataError('REMOTE_AUTH', `${where} refused the request: ${msg}`, {
        hint: this.token ? 'the token is invalid or revoked: create a new one (strata serve token create on the server)' : 'set STRATA_TOKEN, or add "<url> <token>" to ~/.config/strata/credentials',
        details: { status: 401 },
      });
    }
    if (res.status === 403) return new StrataError('REMOTE_AUTH', `${where}: ${msg}`, { hint: e?.hint ?? 'use a token with the write scope for this repository', details: { status: 403 } });
    if (e?.code === 'NOT_A_REPOSITORY') return new StrataError('REMOTE_NOT_FOUND', `${where}: ${msg}`, { hint: 'check the repository name in the URL; pushing with a write token creates it' });
    const code = (e?.code ?? (res.status >= 500 ? 'REMOTE_UNREACHABLE' : 'INVALID_ARGUMENT')) as ErrorCode;
    return new StrataError(code, res.status >= 500 && !e?.code ? `${where} failed: ${msg}` : msg, { hint: e?.hint, details: { ...(e?.details ?? {}), status: res.status } });
  }

  async json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.request(method, path, {
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    });
    return (await res.json()) as T;
  }
}

/** Retry policy of HttpClient.request (docs/remotes.md, "Retries"). */
const RETRY = {
  attempts: 5,
  baseMs: 200,
  capMs: 10_000,
  maxAfterMs: 30_000,
  statuses: new Set([429, 502, 503, 504]),
} as const;

/** Full jitter: a uniformly random wait up to min(cap, base * 2^attempt). */
function backoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(RETRY.capMs, RETRY.baseMs * 2 ** attempt));
}

/**
 * A Retry-After header (RFC 9110 section 10.2.3) as milliseconds from `now`: delay-seconds or an
 * HTTP-date, at most RETRY.maxAfterMs; undefined when absent or unreadable (backoff applies then).
 */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const v = header.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const t = Date.parse(v);
    if (!Number.isFinite(t)) return undefined;
    ms = Math.max(0, t - now);
  }
  return Math.min(ms, RETRY.maxAfterMs);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Split `http(s)://host[:port][/base]/REPO` into the API base for that repository. */
export function httpRemoteBase(url: string): { base: string; repo: string; server: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw new StrataError('INVALID_ARGUMENT', `invalid server URL ${url}`, { hint: 'use http(s)://host:port/REPO', cause: e });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new StrataError('INVALID_ARGUMENT', `not an http(s) URL: ${url}`);
  const segs = u.pathname.split('/').filter(Boolean);
  const repo = segs.pop();
  if (!repo) throw new StrataError('INVALID_ARGUMENT', `server URL ${url} names no repository`, { hint: 'use http(s)://host:port/REPO' });
  const server = `${u.origin}${segs.length ? '/' + segs.join('/') : ''}`;
  return { base: `${server}/api/repos/${encodeURIComponent(decodeURIComponent(repo))}`, repo, server };
}
