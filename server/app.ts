/**
 * The Strata HTTP server: routing, auth, the API handlers and the static web UI, over node:http.
 *
 *   const s = await startServer({ dataDir, port: 0 });   // s.url, s.close()
 *
 * Layers: handlers call core (repositories, refs, trees, stores); errors are StrataErrors mapped to
 * statuses by the one table in errors.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../core/errors/index.js';
import { initHash } from '../core/hash/index.js';
import type { Repository } from '../core/repo/index.js';
import { authorize, TokenStore, type Principal, type Scope } from './auth.js';
import { commitView, diffView, logView, refsView, serveFile, treeView } from './browse.js';
import { HttpError, redact, sendError } from './errors.js';
import { contentType, pathSegments, readJson, sendEmpty, sendJson } from './http.js';
import { deleteObjects, deleteRef, fetchPack, getObject, getRef, hasObjects, listObjects, putObject, putRef, refNameFrom, uploadPack } from './protocol.js';
import { RepoHost, checkRepoName, readOnlyError, type HostOptions } from './repos.js';
import { versionsView } from './history.js';
import { compareView, mergeRequest } from './merge.js';
import { repoCounts } from '../core/ops/repo-info.js';
import { checkBranchName } from '../core/ops/open.js';
import type { RepoSummary } from '../core/ops/types.js';
import { s3Handler } from './s3/gateway.js';
import { accessLog } from './access-log.js';
import { compressedBody, compressible, negotiate } from './compress.js';
import { cleanStaleBodies } from './s3/body.js';
import { AccessKeyStore } from './s3/keys.js';
import { authenticate } from './s3/sigv4.js';
import { lineageSearchView, lineageView, runView, runsView, serveRunLog } from './runs.js';
import { stagingCommitRequest, stagingDiscardRequest, stagingView } from './staging.js';
import { tableDiffView, tableRowsView, tableStatsView } from './tables.js';

export interface ServerOptions extends Partial<HostOptions> {
  port?: number;
  host?: string;
  maxJsonBytes?: number;
  maxPackBytes?: number;
  maxObjectBytes?: number;
  /** Folder of the built web UI (default: <package>/web/dist when it exists). */
  webDir?: string | null;
  /** Where to log server-side errors and access lines (default: stderr). */
  log?: (msg: string) => void;
  /** Log one line per request (server/access-log.ts; default true). */
  accessLog?: boolean;
  /** Time for a client to send a request's headers (default 20 s). */
  headersTimeoutMs?: number;
  /** Time for a client to send a whole request, headers and body (default 10 min). */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection waits for its next request (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** A socket with no bytes in either direction for this long is closed (default 2 min; 0 = never). */
  idleTimeoutMs?: number;
  /** Most connections open at once; further ones are closed on arrival (default 512). */
  maxConnections?: number;
  /** Serve the S3 gateway on this port too (0 picks a free one); absent: no gateway (docs/s3-gateway.md). */
  s3Port?: number;
  /** Domain for virtual-host-style S3 addressing (`<bucket>.<domain>`). */
  s3Domain?: string;
  /** Region the gateway reports (default us-east-1). */
  s3Region?: string;
}

/** Defaults of the connection limits (docs/server.md, "Limits and timeouts"). */
const CONNECTION_DEFAULTS = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 600_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 120_000,
  maxConnections: 512,
} as const;

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  host: RepoHost;
  tokens: TokenStore;
  /** The S3 gateway, when started with s3Port. */
  s3?: { url: string; port: number };
  /** Requests handled so far (benchmarks report request counts). */
  stats(): { requests: number };
  close(): Promise<void>;
}

const MiB = 1 << 20;
/** After refusing a request whose body is still arriving: how long, and how much, to read and drop. */
const LINGER_MS = 2000;
const LINGER_BYTES = 16 * MiB;

function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(d, 'package.json'))) return d;
    d = resolve(d, '..');
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

function version(): string {
  try {
    return (createRequire(join(packageRoot(), 'package.json'))(join(packageRoot(), 'package.json')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  segs: string[];
  method: string;
  principal: Principal | null;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  await initHash();
  const host = new RepoHost({ dataDir: opts.dataDir, project: opts.project, storeUrl: opts.storeUrl, anonymousRead: opts.anonymousRead ?? true, s3: opts.s3 });
  const tokens = new TokenStore(host.stateDir);
  const limits = {
    json: opts.maxJsonBytes ?? 4 * MiB,
    pack: opts.maxPackBytes ?? 64 * MiB,
    object: opts.maxObjectBytes ?? 16 * 1024 * MiB,
  };
  const log = opts.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const webDir = opts.webDir === undefined ? join(packageRoot(), 'web', 'dist') : opts.webDir;
  const ver = version();
  const tmpDir = join(host.stateDir, 'tmp');

  // ------------------------------------------------------------------ helpers

  const repoFor = async (ctx: Ctx, name: string, need: Scope): Promise<Repository> => {
    checkRepoName(name);
    if (need === 'write' && host.readOnly) throw readOnlyError();
    const canWrite = (): boolean => {
      try {
        authorize(ctx.principal, name, 'write', false);
        return true;
      } catch {
        return false;
      }
    };
    if (!host.readOnly && !host.exists(name) && (need === 'write' || canWrite())) {
      // Push-to-create: a token with write scope for this name creates the repository on first use
      // (a push starts by reading refs, so reads by such a token create it too).
      authorize(ctx.principal, name, 'write', false);
      try {
        await host.create(name);
      } catch (e) {
        if (!(e instanceof StrataError && e.code === 'ALREADY_INITIALIZED')) throw e;
      }
    }
    const repo = await host.open(name);
    authorize(ctx.principal, name, need, host.anonymousRead(repo));
    return repo;
  };

  const canRead = (p: Principal | null, name: string, repo: Repository): boolean => {
    try {
      authorize(p, name, 'read', host.anonymousRead(repo));
      return true;
    } catch {
      return false;
    }
  };

  const repoJson = (name: string, repo: Repository, counts = false): RepoSummary => {
    const out: RepoSummary = { name, anonymousRead: host.anonymousRead(repo), readOnly: host.readOnly, head: repo.head() };
    if (counts) {
      out.counts = repoCounts(repo);
    }
    return out;
  };

  const methodNotAllowed = (allow: string[]): HttpError =>
    new HttpError(405, 'INVALID_ARGUMENT', `method not allowed here; use ${allow.join(', ')}`, { headers: { Allow: allow.join(', ') } });

  const route = (ctx: Ctx, allow: string[]): string => {
    const m = ctx.method === 'HEAD' && allow.includes('GET') && !allow.includes('HEAD') ? 'GET' : ctx.method;
    if (!allow.includes(m)) throw methodNotAllowed(allow);
    return m;
  };

  // ------------------------------------------------------------------ API

  const api = async (ctx: Ctx): Promise<void> => {
    const { segs, res, req, url } = ctx;
    const q = url.searchParams;
    if (segs.length === 2 && segs[1] === 'health') {
      route(ctx, ['GET']);
      return sendJson(res, 200, { ok: true, version: ver, readOnly: host.readOnly });
    }
    if (segs[1] !== 'repos') throw new StrataError('PATH_NOT_FOUND', `no API endpoint ${url.pathname}`, { hint: 'see docs/api.md' });
    if (segs.length === 2) {
      route(ctx, ['GET']);
      const repos = [];
      for (const name of host.names()) {
        let repo: Repository;
        try {
          repo = await host.open(name);
        } catch {
          continue;
        }
        if (canRead(ctx.principal, name, repo)) repos.push(repoJson(name, repo));
      }
      return sendJson(res, 200, { repos });
    }
    const name = checkRepoName(segs[2]!);
    if (segs.length === 3) {
      const m = route(ctx, ['GET', 'PUT']);
      if (m === 'PUT') {
        if (host.readOnly) throw readOnlyError();
        authorize(ctx.principal, name, 'write', false);
        const body = (await readJson(req, limits.json)) as { branch?: unknown; anonymousRead?: unknown } | undefined;
        const branch = body?.branch;
        const anon = body?.anonymousRead;
        if (branch !== undefined && typeof branch !== 'string') throw new StrataError('INVALID_ARGUMENT', 'branch must be a string');
        if (anon !== undefined && typeof anon !== 'boolean') throw new StrataError('INVALID_ARGUMENT', 'anonymousRead must be true or false');
        if (typeof branch === 'string') checkBranchName(branch);
        const repo = await host.create(name, { branch: branch as string | undefined, anonymousRead: anon as boolean | undefined });
        return sendJson(res, 201, repoJson(name, repo, true));
      }
      const repo = await repoFor(ctx, name, 'read');
      return sendJson(res, 200, repoJson(name, repo, true));
    }
    const what = segs[3]!;
    const rest = segs.slice(4);
    switch (what) {
      case 'refs': {
        if (rest.length === 0) {
          route(ctx, ['GET']);
          const repo = await repoFor(ctx, name, 'read');
          return sendJson(res, 200, refsView(repo, q.get('prefix') ?? ''));
        }
        const ref = refNameFrom(rest);
        const m = route(ctx, ['GET', 'PUT', 'DELETE']);
        if (m === 'GET') {
          const repo = await repoFor(ctx, name, 'read');
          const r = getRef(repo, ref);
          return sendJson(res, 200, r, { ETag: r.etag });
        }
        const repo = await repoFor(ctx, name, 'write');
        if (m === 'PUT') {
          const r = await putRef(repo, ref, req, limits.json);
          return sendJson(res, 200, r, { ETag: r.etag });
        }
        deleteRef(repo, ref, req);
        return sendEmpty(res, 204);
      }
      case 'log':
        if (rest.length) break;
        route(ctx, ['GET']);
        return sendJson(res, 200, await logView(await repoFor(ctx, name, 'read'), q));
      case 'commits':
        if (!rest.length) break;
        route(ctx, ['GET']);
        return sendJson(res, 200, await commitView(await repoFor(ctx, name, 'read'), rest.join('/')));
      case 'tree':
        if (rest.length) break;
        route(ctx, ['GET']);
        return sendJson(res, 200, await treeView(await repoFor(ctx, name, 'read'), q));
      case 'file': {
        if (rest.length) break;
        route(ctx, ['GET', 'HEAD']);
        const repo = await repoFor(ctx, name, 'read');
        return serveFile(repo, q, req.headers, res, ctx.method === 'HEAD');
      }
      case 'diff':
        if (rest.length) break;
        route(ctx, ['GET']);
        return sendJson(res, 200, await diffView(await repoFor(ctx, name, 'read'), q));
      case 'compare':
        if (rest.length) break;
        route(ctx, ['GET']);
        return sendJson(res, 200, await compareView(await repoFor(ctx, name, 'read'), q));
      case 'merge': {
        if (rest.length) break;
        route(ctx, ['POST']);
        const repo = await repoFor(ctx, name, 'write');
        const r = await mergeRequest(repo, await readJson(req, limits.json));
        return sendJson(res, r.status, r.body);
      }
      case 'staging': {
        if (rest.length === 0) {
          route(ctx, ['GET']);
          return sendJson(res, 200, stagingView(await repoFor(ctx, name, 'read'), q));
        }
        if (rest.length !== 1 || (rest[0] !== 'commit' && rest[0] !== 'discard')) break;
        route(ctx, ['POST']);
        const repo = await repoFor(ctx, name, 'write');
        const body = await readJson(req, limits.json);
        if (rest[0] === 'commit') return sendJson(res, 200, await stagingCommitRequest(repo, body, ctx.principal));
        return sendJson(res, 200, stagingDiscardRequest(repo, body));
      }
      case 'table': {
        if (rest.length !== 1) break;
        const sub = rest[0];
        if (sub !== 'rows' && sub !== 'stats' && sub !== 'diff') break;
        route(ctx, ['GET']);
        const repo = await repoFor(ctx, name, 'read');
        if (sub === 'rows') return sendJson(res, 200, await tableRowsView(repo, q));
        if (sub === 'stats') return sendJson(res, 200, await tableStatsView(repo, q));
        return sendJson(res, 200, await tableDiffView(repo, q));
      }
      case 'versions':
        if (rest.length) break;
        route(ctx, ['GET']);
        return sendJson(res, 200, await versionsView(await repoFor(ctx, name, 'read'), q));
      case 'runs':
        if (rest.length === 2 && rest[1] === 'log') {
          route(ctx, ['GET', 'HEAD']);
          return serveRunLog(await repoFor(ctx, name, 'read'), rest[0]!, req.headers, res, ctx.method === 'HEAD');
        }
        if (rest.length > 1) break;
        route(ctx, ['GET']);
        if (rest.length === 1) return sendJson(res, 200, runView(await repoFor(ctx, name, 'read'), rest[0]!));
        return sendJson(res, 200, runsView(await repoFor(ctx, name, 'read'), q));
      case 'lineage':
        if (rest.length === 1 && rest[0] === 'search') {
          route(ctx, ['GET']);
          return sendJson(res, 200, lineageSearchView(await repoFor(ctx, name, 'read'), q));
        }
        if (rest.length) break;
        route(ctx, ['GET']);
        return sendJson(res, 200, await lineageView(await repoFor(ctx, name, 'read'), q));
      case 'objects': {
        if (rest.length === 0) {
          route(ctx, ['GET']);
          return listObjects(await repoFor(ctx, name, 'read'), q.get('prefix') ?? '', res);
        }
        if (rest.length !== 1) break;
        const sub = rest[0]!;
        if (sub === 'has') {
          route(ctx, ['POST']);
          return sendJson(res, 200, await hasObjects(await repoFor(ctx, name, 'read'), req, limits.json));
        }
        if (sub === 'fetch') {
          route(ctx, ['POST']);
          return fetchPack(await repoFor(ctx, name, 'read'), req, res, limits.json);
        }
        if (sub === 'delete') {
          route(ctx, ['POST']);
          const repo = await repoFor(ctx, name, 'write');
          const { parseIdList } = await import('./protocol.js');
          const ids = parseIdList(await readJson(req, limits.json));
          await deleteObjects(repo, ids);
          return sendJson(res, 200, { deleted: ids.length });
        }
        if (sub === 'pack') {
          route(ctx, ['POST']);
          const repo = await repoFor(ctx, name, 'write');
          return sendJson(res, 200, await uploadPack(repo, req, limits.pack));
        }
        const m = route(ctx, ['GET', 'HEAD', 'PUT', 'DELETE']);
        if (m === 'GET' || m === 'HEAD') {
          const repo = await repoFor(ctx, name, 'read');
          return getObject(repo, sub, req, res, m === 'HEAD', host.anonymousRead(repo));
        }
        const repo = await repoFor(ctx, name, 'write');
        if (m === 'PUT') return putObject(repo, sub, req, res, tmpDir, limits.object);
        await deleteObjects(repo, [sub]);
        return sendEmpty(res, 204);
      }
    }
    throw new StrataError('PATH_NOT_FOUND', `no API endpoint ${url.pathname}`, { hint: 'see docs/api.md' });
  };

  // ------------------------------------------------------------------ static web UI

  const serveStatic = async (ctx: Ctx): Promise<void> => {
    const { res, segs } = ctx;
    route(ctx, ['GET', 'HEAD']);
    const head = ctx.method === 'HEAD';
    if (!webDir || !existsSync(join(webDir, 'index.html'))) {
      const body = Buffer.from(
        `<!doctype html><meta charset="utf-8"><title>Strata</title><h1>Strata server</h1><p>The web UI is not built (npm run build:web creates web/dist). The API is at <a href="/api/repos">/api/repos</a>; see docs/api.md.</p>`,
      );
      res.writeHead(segs.length === 0 ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(body.length) });
      return void res.end(head ? undefined : body);
    }
    const root = resolve(webDir);
    let file = join(root, ...segs);
    if (file !== root && !file.startsWith(root + sep)) throw new StrataError('PATH_OUTSIDE_WORKSPACE', 'path outside the web root');
    let st = statOrNull(file);
    if (st?.isDirectory()) {
      file = join(file, 'index.html');
      st = statOrNull(file);
    }
    let spa = false;
    if (!st || !st.isFile()) {
      const last = segs[segs.length - 1] ?? '';
      // Deep links (no file extension, or an HTML request) get the app; missing assets get 404.
      if (/\.[A-Za-z0-9]{1,8}$/.test(last) && !(ctx.req.headers.accept ?? '').includes('text/html')) {
        throw new StrataError('PATH_NOT_FOUND', `no such file: /${segs.join('/')}`);
      }
      file = join(root, 'index.html');
      st = statOrNull(file);
      spa = true;
      if (!st) throw new StrataError('PATH_NOT_FOUND', 'web UI index.html is missing');
    }
    // Vite names the files under assets/ after a hash of their content: cacheable for good.
    const immutable = !spa && segs[0] === 'assets' && /-[A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$/.test(file);
    const type = contentType(file);
    const headers: Record<string, string> = {
      'Content-Type': type,
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    };
    if (compressible(type)) {
      headers.Vary = 'Accept-Encoding';
      const enc = negotiate(ctx.req.headers['accept-encoding']);
      const body = enc ? await compressedBody(file, st, enc) : null;
      if (enc && body) {
        res.writeHead(200, { ...headers, 'Content-Encoding': enc, 'Content-Length': String(body.length) });
        return void res.end(head ? undefined : body);
      }
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(st.size) });
    if (head) return void res.end();
    // pipeline() closes the file when the client goes away mid-download (pipe() would leak it).
    try {
      await pipeline(createReadStream(file), res);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
    }
  };

  // ------------------------------------------------------------------ dispatch

  let requests = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests++;
    // Captured now: once the response has finished, req.socket / res.socket are detached (null).
    const socket = req.socket;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const rawPath = (req.url ?? '/').split('?')[0]!;
      const segs = pathSegments(rawPath);
      let principal: Principal | null = null;
      const auth = req.headers.authorization;
      if (auth !== undefined) {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
        if (!m) throw new StrataError('UNAUTHORIZED', 'Authorization header must be "Bearer <token>"');
        principal = tokens.verify(m[1]!);
      }
      const ctx: Ctx = { req, res, url, segs, method: req.method ?? 'GET', principal };
      if (segs[0] === 'api') await api(ctx);
      else await serveStatic(ctx);
    } catch (e) {
      // A body the handler did not read to its end (refused early, or too large): answer, then
      // close the connection rather than read an unbounded rest. Closing right after the answer
      // (Connection: close) would reset a connection the client is still writing to, and a reset
      // can wipe the answer out of the client's buffers; so the connection is half-closed after the
      // answer, what still arrives is read and dropped (Node discards the rest of the body) for at
      // most LINGER_MS or LINGER_BYTES, and then the socket is destroyed.
      const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
      const bodyLeft = hasBody && !req.complete;
      // The client went away mid-request (Node's 'aborted'): nobody to answer, nothing to log.
      if ((e as NodeJS.ErrnoException)?.code === 'ECONNRESET' && (req.destroyed || socket.destroyed)) return void socket.destroy();
      sendError(res, e, log);
      if (bodyLeft) {
        const linger = (): void => {
          if (socket.destroyed) return;
          let n = 0;
          const stop = (): void => {
            clearTimeout(timer);
            socket.off('data', count);
            socket.destroy();
          };
          const count = (c: Buffer): void => {
            n += c.length;
            if (n > LINGER_BYTES) stop();
          };
          const timer = setTimeout(stop, LINGER_MS);
          timer.unref();
          socket.on('data', count);
          socket.once('close', stop);
          socket.end();
        };
        if (res.writableFinished) linger();
        else {
          res.once('finish', linger);
          res.once('close', linger);
        }
      }
    }
  };

  const conn = {
    headersTimeoutMs: opts.headersTimeoutMs ?? CONNECTION_DEFAULTS.headersTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs ?? CONNECTION_DEFAULTS.requestTimeoutMs,
    keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? CONNECTION_DEFAULTS.keepAliveTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs ?? CONNECTION_DEFAULTS.idleTimeoutMs,
    maxConnections: opts.maxConnections ?? CONNECTION_DEFAULTS.maxConnections,
  };
  for (const [k, v] of Object.entries(conn)) {
    if (!Number.isInteger(v) || v < 0) throw new StrataError('INVALID_ARGUMENT', `${k} must be a non-negative whole number, not ${v}`);
  }
  if (conn.headersTimeoutMs < 1 || conn.requestTimeoutMs < 1 || conn.maxConnections < 1) {
    throw new StrataError('INVALID_ARGUMENT', 'the headers and request timeouts must be more than 0 seconds, and the connection cap at least 1', { hint: 'see "Limits and timeouts" in docs/server.md (--idle-timeout 0 turns the idle timeout off)' });
  }
  if (conn.headersTimeoutMs > conn.requestTimeoutMs) {
    throw new StrataError('INVALID_ARGUMENT', `the headers timeout (${conn.headersTimeoutMs / 1000} s) cannot be longer than the request timeout (${conn.requestTimeoutMs / 1000} s)`, {
      hint: 'the request timeout covers the headers too: raise --request-timeout or lower --headers-timeout',
    });
  }
  const accessLine = opts.accessLog === false ? null : log;
  const main = await listenWith(handle, conn, opts.port ?? 8080, opts.host ?? '127.0.0.1', '--port', log, accessLine);
  let gateway: Listening | null = null;
  if (opts.s3Port !== undefined) {
    try {
      await cleanStaleBodies(tmpDir);
      const keys = new AccessKeyStore(host.stateDir);
      const handler = s3Handler({
        host,
        authenticate: async (req, url) => authenticate(req, url, keys),
        tmpDir,
        log,
        region: opts.s3Region,
        domain: opts.s3Domain ?? null,
        maxObjectBytes: Math.min(limits.object, 5 * 1024 * MiB),
      });
      gateway = await listenWith(handler, conn, opts.s3Port, opts.host ?? '127.0.0.1', '--s3-port', log, accessLine);
    } catch (e) {
      await main.close();
      throw e;
    }
  }
  let closing: Promise<void> | null = null;
  return {
    url: main.url,
    port: main.port,
    server: main.server,
    ...(gateway ? { s3: { url: gateway.url, port: gateway.port } } : {}),
    host,
    tokens,
    stats: () => ({ requests }),
    close() {
      closing ??= (async () => {
        await Promise.all([main.close(), gateway?.close()]);
        await host.close();
      })();
      return closing;
    },
  };
}

interface Listening {
  server: Server;
  sockets: Set<Socket>;
  inFlight: Set<Promise<void>>;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** An HTTP server with the connection limits, its sockets and in-flight requests tracked, listening. */
async function listenWith(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  conn: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; idleTimeoutMs: number; maxConnections: number },
  port: number,
  bindHost: string,
  flag: string,
  log: (msg: string) => void,
  accessLine: ((line: string) => void) | null,
): Promise<Listening> {
  const inFlight = new Set<Promise<void>>();
  const server = createServer(
    {
      headersTimeout: conn.headersTimeoutMs,
      requestTimeout: conn.requestTimeoutMs,
      keepAliveTimeout: conn.keepAliveTimeoutMs,
      // Node checks the two timeouts above on this interval (default 30 s): check often enough
      // that a short timeout is honoured to within a quarter of itself.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(conn.headersTimeoutMs, conn.requestTimeoutMs) / 4))),
    },
    (req, res) => {
      if (accessLine) accessLog(req, res, accessLine);
      const p = handler(req, res)
        .catch((e) => {
          log(`error: ${redact(e instanceof Error ? e.message : String(e))}`);
          res.destroy();
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
  );
  server.maxConnections = conn.maxConnections;
  // Idle sockets (no bytes either way) are destroyed: Node does so when 'timeout' has no listener.
  server.timeout = conn.idleTimeoutMs;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    const res = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (!socket.writable || res?.headersSent) return void socket.destroy();
    const status =
      e.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : e.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
    setTimeout(() => socket.destroy(), 1000).unref();
  });
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new StrataError('INVALID_ARGUMENT', `port must be a whole number from 0 to 65535, not ${port}`, { hint: `e.g. ${flag} 8080 (0 picks a free port)` });
  }
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        fail(new StrataError('INVALID_ARGUMENT', `port ${port} on ${bindHost} is already in use`, { hint: `pick another with ${flag} N (0 picks a free port), or stop what is using it` }));
      } else if (e.code === 'EACCES') {
        fail(new StrataError('PERMISSION_DENIED', `not allowed to listen on ${bindHost}:${port}`, { hint: `ports below 1024 need privileges: use ${flag} 8080 or higher` }));
      } else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') {
        fail(new StrataError('INVALID_ARGUMENT', `cannot listen on ${bindHost}: no such local address`, { hint: 'use --host 127.0.0.1, or an address of this machine' }));
      } else fail(e);
    });
    server.listen(port, bindHost, () => {
      server.off('error', fail);
      ok();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostName = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    sockets,
    inFlight,
    url: `http://${hostName}:${addr.port}`,
    port: addr.port,
    async close() {
      const stopped = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      const deadline = Date.now() + 10_000;
      while (inFlight.size && Date.now() < deadline) await Promise.race([...inFlight, new Promise((r) => setTimeout(r, 100))]);
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await stopped;
    },
  };
}

function statOrNull(p: string): import('node:fs').Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}


/**
 * The process-level safety net of `strata serve`: an error that escapes every handler (a bug, an
 * 'error' event nobody listened to) is logged — message only, secrets redacted — and the server
 * keeps serving instead of exiting. Returns a function that removes the handlers.
 */
export function installSafetyNet(log: (msg: string) => void): () => void {
  const onError = (e: unknown): void => {
    try {
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      log(`strata serve: unexpected error, still serving: ${redact(msg)}`);
    } catch {
      /* logging must not throw from here */
    }
  };
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return () => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  };
}
