/**
 * Read endpoints for people and the web UI: refs, log, commits, tree, file bytes, diff.
 * Each works on an open Repository (no workspace: server repositories are bare).
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StrataError } from '../core/errors/index.js';
import type { TreeEntry } from '../core/model/index.js';
import type { Repository } from '../core/repo/index.js';
import type { LogEntry } from '../core/ops/log.js';
import type { Refs } from '../core/ops/types.js';
import { commitInfo, diffCommits, locateEntry, logPage, treeListing, type CommitDiff, type LogPage, type TreeListing } from '../core/ops/browse.js';
import { fileBytes } from '../core/ops/file-bytes.js';
import { refsOverview } from '../core/ops/protocol.js';
import { checkRepoPath, contentType, isActiveType, parseRange } from './http.js';

export function refsView(repo: Repository, prefix = ''): Refs {
  return refsOverview(repo, prefix);
}

function intParam(v: string | null, def: number, min: number, max: number, name: string): number {
  if (v === null || v === '') return def;
  if (!/^\d+$/.test(v)) throw new StrataError('INVALID_ARGUMENT', `${name} must be a non-negative integer, not ${JSON.stringify(v)}`);
  return Math.min(max, Math.max(min, Number(v)));
}

export { intParam };

export function logView(repo: Repository, q: URLSearchParams): Promise<LogPage> {
  return logPage(repo, {
    ref: q.get('ref') || undefined,
    limit: intParam(q.get('limit'), 50, 1, 1000, 'limit'),
    offset: intParam(q.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER, 'offset'),
    path: checkRepoPath(q.get('path')),
  });
}

export function commitView(repo: Repository, rev: string): Promise<LogEntry> {
  return commitInfo(repo, rev);
}

function locate(repo: Repository, q: URLSearchParams): ReturnType<typeof locateEntry> {
  return locateEntry(repo, { ref: q.get('ref') || undefined, path: checkRepoPath(q.get('path')) });
}

export function treeView(repo: Repository, q: URLSearchParams): Promise<TreeListing> {
  return treeListing(repo, { ref: q.get('ref') || undefined, path: checkRepoPath(q.get('path')) });
}

/** Stream bytes [start, end) of a file entry, verified (core/ops/file-bytes.ts). */
function fileStream(repo: Repository, e: TreeEntry, range: { start: number; end: number } | null, path = e.name): Promise<Readable> {
  return fileBytes(repo, e, range, path);
}

/** GET/HEAD /file: bytes with Content-Type/Length, ETag, Range, If-None-Match. */
export async function serveFile(repo: Repository, q: URLSearchParams, reqHeaders: Record<string, string | string[] | undefined>, res: ServerResponse, head: boolean): Promise<void> {
  if (!q.get('path')) throw new StrataError('INVALID_ARGUMENT', 'the path parameter is required', { hint: 'e.g. /file?ref=main&path=data/a.csv' });
  const { path, entry } = await locate(repo, q);
  if (entry.type === 'dir') throw new StrataError('INVALID_ARGUMENT', `${path} is a directory`, { hint: 'list it with /tree' });
  const name = path.slice(path.lastIndexOf('/') + 1);
  const type = entry.type === 'symlink' ? 'text/plain; charset=utf-8' : contentType(name);
  const etag = `"${entry.id}"`;
  const headers: Record<string, string> = {
    'Content-Type': type,
    ETag: etag,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'private, max-age=0, must-revalidate',
    'X-Content-Type-Options': 'nosniff',
  };
  if (isActiveType(type)) headers['Content-Security-Policy'] = 'sandbox';
  if (q.get('download') === '1') headers['Content-Disposition'] = `attachment; filename="${name.replace(/["\\\r\n]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
  const inm = reqHeaders['if-none-match'];
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const size = entry.size;
  let range = parseRange(reqHeaders['range'] as string | undefined, size);
  const ifRange = reqHeaders['if-range'];
  if (range && typeof ifRange === 'string' && ifRange !== etag) range = null;
  await sendBytes(res, head, headers, size, range, () => fileStream(repo, entry, range, path));
}

export async function sendBytes(
  res: ServerResponse,
  head: boolean,
  headers: Record<string, string>,
  size: number,
  range: { start: number; end: number } | null,
  open: () => Promise<Readable>,
): Promise<void> {
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end - 1}/${size}`;
    headers['Content-Length'] = String(range.end - range.start);
  } else headers['Content-Length'] = String(size);
  if (head) {
    res.writeHead(range ? 206 : 200, headers);
    res.end();
    return;
  }
  const stream = await open(); // errors before the first byte become a proper JSON error
  res.writeHead(range ? 206 : 200, headers);
  try {
    await pipeline(stream, res);
  } catch {
    res.destroy(); // mid-stream failure (e.g. corruption detected): the client sees a truncated body
  }
}

export function diffView(repo: Repository, q: URLSearchParams): Promise<CommitDiff> {
  return diffCommits(repo, { from: q.get('from') || undefined, to: q.get('to') || undefined, path: checkRepoPath(q.get('path')) });
}
