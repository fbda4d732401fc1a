/**
 * What every S3 handler gets: the parsed request (bucket, key, query), the authenticated caller,
 * the verified request body, and helpers to open the bucket's repository with a permission check
 * and to answer with XML.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Repository } from '../../core/repo/index.js';
import { resolveKey } from '../../core/gateway/view.js';
import type { ResolvedRef } from '../../core/gateway/types.js';
import { authorize, type Principal, type Scope } from '../auth.js';
import type { RepoHost } from '../repos.js';
import { S3Error } from './errors.js';
import { xmlDocument, type XmlNode } from './xml.js';

export interface S3Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  q: URLSearchParams;
  method: string;
  /** '' for the service (ListBuckets). */
  bucket: string;
  /** '' for bucket operations. */
  key: string;
  requestId: string;
  principal: Principal | null;
  /** The request body, decoded (aws-chunked) and verified against its signature as it streams. */
  body: Readable;
  host: RepoHost;
  /** Folder for temporary files on the server (same file system as the repositories). */
  tmpDir: string;
  region: string;
  /** Largest single PutObject / UploadPart body. */
  maxObjectBytes: number;
}

function noSuchBucket(bucket: string): S3Error {
  return new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
}

export function noSuchKey(key: string): S3Error {
  return new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
}

/** The bucket's repository, after checking the caller may `need` it. */
export async function openBucket(ctx: S3Ctx, need: Scope): Promise<Repository> {
  const name = ctx.bucket;
  if (!ctx.host.exists(name)) {
    // Say NoSuchBucket only to someone who could have seen it: a key for another repository is refused first.
    if (ctx.principal && ctx.principal.repo !== '*' && ctx.principal.repo !== name) authorize(ctx.principal, name, need, false);
    throw noSuchBucket(name);
  }
  const repo = await ctx.host.open(name);
  if (need === 'write' && ctx.host.readOnly) throw new S3Error(403, 'AccessDenied', 'this server serves a working project read-only');
  authorize(ctx.principal, name, need, anonymousMatters(ctx, name) && ctx.host.anonymousRead(repo));
  return repo;
}

/** Whether the repository's anonymous-read setting can change the answer (not for a key of this repository). */
export function anonymousMatters(ctx: S3Ctx, name: string): boolean {
  const p = ctx.principal;
  return !p || (p.repo !== '*' && p.repo !== name);
}

/** The ref a key starts with; NoSuchKey when it names none. */
export function refOf(repo: Repository, key: string): ResolvedRef {
  const r = resolveKey(repo, key);
  if (!r) throw new S3Error(404, 'NoSuchKey', `The specified key does not exist: ${key} does not start with a branch, tag or commit id of this repository`, { Key: key });
  return r;
}

/** The ref a write goes to: a branch, else AccessDenied saying why. */
export function writableRef(repo: Repository, key: string): ResolvedRef & { kind: 'branch' } {
  const r = resolveKey(repo, key);
  if (!r) {
    const first = key.split('/')[0] ?? '';
    throw new S3Error(404, 'NoSuchKey', `no branch ${JSON.stringify(first)} in this repository: writes go to <branch>/<path>; create the branch first (strata branch NAME, then strata push)`, { Key: key });
  }
  if (r.kind !== 'branch') {
    throw new S3Error(403, 'AccessDenied', `${r.kind === 'tag' ? `${r.name} is a tag` : `${r.name.slice(0, 12)} is a commit id`}: versions other than branches are read-only; write to <branch>/<path>`, { Key: key });
  }
  return r as ResolvedRef & { kind: 'branch' };
}

export function sendXml(ctx: S3Ctx, status: number, root: string, body: XmlNode, headers: Record<string, string> = {}): void {
  const buf = Buffer.from(xmlDocument(root, body), 'utf8');
  ctx.res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': String(buf.length), ...headers });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : buf);
}

export function sendEmpty(ctx: S3Ctx, status: number, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, { 'Content-Length': '0', ...headers });
  ctx.res.end();
}

/** The S3 ETag of content `id` (quoted; stable per content). */
export function etagOf(id: string): string {
  return `"${id}"`;
}

/** ISO 8601 with milliseconds, as S3 lists times. */
export function isoTime(ms: number): string {
  // The keys of one version share its commit's time: format each time once.
  let t = ISO_CACHE.get(ms);
  if (t === undefined) {
    if (ISO_CACHE.size > 4096) ISO_CACHE.clear();
    t = new Date(ms).toISOString();
    ISO_CACHE.set(ms, t);
  }
  return t;
}
const ISO_CACHE = new Map<number, string>();

/** A key as listed with encoding-type=url: percent-encoded, '/' kept. */
export function encodeKey(k: string, url: boolean): string {
  return url ? encodeURIComponent(k).replace(/%2F/g, '/') : k;
}
