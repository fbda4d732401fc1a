/**
 * Small HTTP helpers for the server: safe URL parsing (no traversal, no encoded separators),
 * size-limited bodies, JSON responses, Range parsing, content types.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { StrataError } from '../core/errors/index.js';
import { HttpError } from './errors.js';
import { payloadTooLarge } from '../core/ops/protocol.js';

/**
 * Split a request path into decoded segments. Rejects encoded '/', '\\' and NUL, '.'/'..' segments
 * in any spelling, backslashes, empty segments inside the path and malformed escapes.
 */
export function pathSegments(rawPath: string): string[] {
  if (!rawPath.startsWith('/')) throw badPath('request path must start with /');
  if (/%(2f|5c|00)/i.test(rawPath)) throw badPath('encoded "/", "\\" and NUL are not allowed in request paths');
  const parts = rawPath.split('/').slice(1);
  if (parts.length && parts[parts.length - 1] === '') parts.pop(); // trailing slash
  return parts.map((p) => {
    let d: string;
    try {
      d = decodeURIComponent(p);
    } catch {
      throw badPath('malformed percent-encoding in request path');
    }
    if (d === '' || d === '.' || d === '..' || d.includes('\\') || d.includes('\0') || d.includes('/')) {
      throw badPath(`invalid path segment ${JSON.stringify(d)} in request`);
    }
    return d;
  });
}

function badPath(msg: string): StrataError {
  return new StrataError('INVALID_ARGUMENT', msg, { hint: 'request paths must not contain .., encoded slashes or NUL bytes' });
}

/** Validate a repository path from a query string (core/workspace/paths.ts checkRequestPath). */
export { checkRequestPath as checkRepoPath } from '../core/workspace/paths.js';

/**
 * Bytes of request bodies held in memory by readBody across the whole process, and the most it may
 * hold: many clients each sending a body just under its limit must not add up to an out-of-memory
 * kill. Past the budget a request is answered 503 (Retry-After) instead.
 */
let bodyBytesHeld = 0;
const BODY_MEMORY_BUDGET = 256 * 1024 * 1024;

/** Read a request body, failing with 413 past `limit` bytes (checked against Content-Length first). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of req) {
      const len = (c as Buffer).length;
      n += len;
      if (n > limit) throw tooLarge(limit);
      if (bodyBytesHeld + len > BODY_MEMORY_BUDGET) {
        throw new StrataError('REPO_BUSY', 'the server is holding too many request bodies at once', { hint: 'retry in a moment' });
      }
      bodyBytesHeld += len;
      parts.push(c as Buffer);
    }
    return Buffer.concat(parts, n);
  } finally {
    for (const p of parts) bodyBytesHeld -= p.length;
  }
}

/**
 * Read and throw away the rest of a request body, at most `limit` bytes; resolves true when the
 * body ended, false when it was longer than `limit` or the client went away (the caller then
 * closes the connection instead of reading further).
 */
export function discardBody(req: IncomingMessage, limit: number): Promise<boolean> {
  if (req.complete) return Promise.resolve(true);
  return new Promise((resolve) => {
    let n = 0;
    const done = (v: boolean): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      if (!v) req.pause();
      resolve(v);
    };
    const onData = (c: Buffer): void => {
      n += c.length;
      if (n > limit) done(false);
    };
    const onEnd = (): void => done(true);
    const onClose = (): void => done(req.complete);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onClose);
    req.resume();
  });
}

/** Wait until `stream` may be written again, or it closed (a client that went away): false then. */
export function waitDrain(stream: NodeJS.WritableStream & { destroyed?: boolean; once(e: string, f: () => void): unknown; off(e: string, f: () => void): unknown }): Promise<boolean> {
  if (stream.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onDrain = (): void => {
      stream.off('close', onClose);
      stream.off('error', onClose);
      resolve(true);
    };
    const onClose = (): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onClose);
      resolve(false);
    };
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', onClose);
  });
}

/** 413: a request body past `limit` bytes (the same error the protocol operations throw). */
export function tooLarge(limit: number): StrataError {
  return payloadTooLarge(limit);
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const buf = await readBody(req, limit);
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new StrataError('INVALID_ARGUMENT', 'request body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.length), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

/**
 * Parse a single-range `Range` header against `size` (RFC 9110 section 14.2). Returns null to serve
 * the whole body: no header, multiple ranges, a unit other than bytes, or an invalid range such as
 * `bytes=5-3` (last before first), which the RFC says to ignore. Throws 416 (Content-Range:
 * bytes *\/size) only when the range is valid but unsatisfiable: first byte at or past the end, or
 * a zero-length suffix.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (!header) return null;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!m) return null;
  const [, a, b] = m;
  let start: number;
  let end: number; // exclusive
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b);
    if (n === 0) throw unsatisfiable(size);
    start = Math.max(0, size - n);
    end = size;
  } else {
    start = Number(a);
    end = b === '' ? size : Math.min(size, Number(b) + 1);
    if (b !== '' && Number(b) < start) return null;
  }
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): HttpError {
  return new HttpError(416, 'INVALID_ARGUMENT', `range not satisfiable (size ${size})`, { headers: { 'Content-Range': `bytes */${size}` } });
}

const TYPES: Record<string, string> = {
  '.csv': 'text/csv; charset=utf-8',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.ndjson': 'application/x-ndjson',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.xml': 'application/xml',
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.parquet': 'application/vnd.apache.parquet',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export function contentType(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** Types a browser would render as an active document: served sandboxed. */
export function isActiveType(type: string): boolean {
  return /^(text\/html|image\/svg|application\/xml|text\/javascript)/.test(type);
}
