/**
 * Read endpoints for people and the web UI: refs, log, commits, tree, file bytes, diff.
 * Each works on an open Repository (no workspace: server repositories are bare).
 */
import type { ServerResponse } from 'node:http';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StrataError } from '../core/errors/index.js';
import { parseManifest, type TreeEntry } from '../core/model/index.js';
import type { Repository } from '../core/repo/index.js';
import type { LogEntry } from '../core/ops/log.js';
import type { Refs } from '../core/ops/types.js';
import { commitInfo, diffCommits, locateEntry, logPage, treeListing, type CommitDiff, type LogPage, type TreeListing } from '../core/ops/browse.js';
import { verifiedFileStream } from '../core/ops/cat.js';
import { bodyEtag, refBody, type RefEntry } from '../core/store/refs.js';
import { checkRepoPath, contentType, isActiveType, parseRange } from './http.js';
import { runMarkers } from './protocol.js';

export function headOf(repo: Repository): { branch: string | null; commit: string | null } {
  return repo.head();
}

export function refEtag(value: string): string {
  return bodyEtag(refBody(value));
}

/** Raw refs relative to refs/ (the remote-protocol view). */
export function rawRefs(repo: Repository, prefix = ''): RefEntry[] {
  const refs = repo.db
    .listRefs('refs/' + prefix)
    .filter((r) => !r.name.startsWith('refs/remotes/') && !r.target.startsWith('ref: '))
    .map((r) => ({ name: r.name.slice(5), value: r.target, etag: refEtag(r.target) }));
  return [...refs, ...runMarkers(repo, prefix)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function refsView(repo: Repository, prefix = ''): Refs {
  const branches = repo.db.listRefs('refs/heads/').map((r) => ({ name: r.name.slice(11), commit: r.target, updatedAt: r.updatedAt }));
  const tags = repo.db.listRefs('refs/tags/').map((r) => {
    const name = r.name.slice(10);
    const t = repo.db.getTag(name);
    return { name, commit: r.target, message: t?.message ?? null, tagger: t?.tagger ?? null, time: t?.time ?? null };
  });
  return { head: headOf(repo), branches, tags, refs: rawRefs(repo, prefix) };
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

/**
 * Stream bytes [start, end) of a file entry, verified (core/ops/cat.ts verifiedFileStream): small
 * files are checked whole before the first byte; chunked files chunk by chunk (each against its id
 * and declared size) and, for a whole-file request, against the file's id at the end. A range of a
 * chunked file reads and verifies each chunk it touches whole; the file's own id cannot be checked
 * without reading the whole file, so a range trusts the chunk list (itself verified by its id).
 */
export async function fileStream(repo: Repository, e: TreeEntry, range: { start: number; end: number } | null, path = e.name): Promise<Readable> {
  if (e.type === 'dir') throw new StrataError('INVALID_ARGUMENT', `${e.name} is a directory`);
  if (!range) return verifiedFileStream(repo.store, path, e);
  if (e.type === 'file' && e.chunks) {
    const chunksId = e.chunks;
    let m;
    try {
      m = parseManifest(await repo.store.getBytes(chunksId, { verify: true }));
    } catch (err) {
      if (err instanceof StrataError && (err.code === 'OBJECT_CORRUPT' || err.code === 'OBJECT_MISSING')) {
        throw new StrataError(err.code, `${path}: chunk list ${chunksId}: ${err.message}`, { hint: err.hint, details: { path, id: chunksId } });
      }
      throw err;
    }
    if (m.size !== e.size) throw new StrataError('OBJECT_CORRUPT', `${path}: chunk list ${chunksId} declares ${m.size} bytes where the tree declares ${e.size}`, { hint: 'run strata fsck on the server repository', details: { path, id: chunksId } });
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    const { start, end } = range;
    void (async () => {
      try {
        let pos = 0;
        for (const [cid, size] of m.chunks) {
          const cs = pos;
          const ce = pos + size;
          pos = ce;
          if (ce <= start) continue;
          if (cs >= end) break;
          const buf = await repo.store.getBytes(cid, { verify: true });
          if (buf.length !== size) throw new StrataError('OBJECT_CORRUPT', `${path}: chunk ${cid} holds ${buf.length} bytes where the chunk list declares ${size}`, { details: { path, id: cid } });
          const piece = buf.subarray(Math.max(start, cs) - cs, Math.min(end, ce) - cs);
          if (!out.write(piece)) await new Promise((r) => out.once('drain', r));
        }
        out.end();
      } catch (err) {
        out.destroy(err as Error);
      }
    })();
    return out;
  }
  // A single object: verify it whole (small: before the first byte), then send the range.
  const whole = await verifiedFileStream(repo.store, path, e);
  let pos = 0;
  const slice = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const cs = pos;
      pos += chunk.length;
      const a = Math.max(range.start, cs) - cs;
      const b = Math.min(range.end, pos) - cs;
      cb(null, b > a ? chunk.subarray(a, b) : undefined);
    },
  });
  whole.on('error', (err) => slice.destroy(err));
  return whole.pipe(slice);
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
