/**
 * S3 reads: ListBuckets, HeadBucket, GetBucketLocation, GetBucketVersioning, ListObjects (v1, v2),
 * HeadObject and GetObject (ranges, conditional headers). Bytes come from the object store through
 * the verified readers (core/ops/file-bytes.ts): a chunked file is reassembled chunk by chunk, a
 * range reads only the chunks it touches, every chunk is checked against its id before it is sent.
 */
import { pipeline } from 'node:stream/promises';
import { fileBytes } from '../../core/ops/file-bytes.js';
import { getObject, listKeys, objectEntry } from '../../core/gateway/view.js';
import type { GatewayObject } from '../../core/gateway/types.js';
import type { Repository } from '../../core/repo/index.js';
import { StrataError } from '../../core/errors/index.js';
import { authorize } from '../auth.js';
import { contentType } from '../http.js';
import { S3Error } from './errors.js';
import { anonymousMatters, encodeKey, etagOf, isoTime, noSuchKey, openBucket, refOf, sendEmpty, sendXml, type S3Ctx } from './context.js';
import type { XmlNode } from './xml.js';

const OWNER = { ID: 'strata', DisplayName: 'strata' };
/** Objects up to this size are read whole and sent in one write. */
const SMALL_BYTES = 1 << 20;

export async function listBuckets(ctx: S3Ctx): Promise<void> {
  const buckets: XmlNode[] = [];
  for (const name of ctx.host.names()) {
    let repo: Repository;
    try {
      repo = await ctx.host.open(name);
      authorize(ctx.principal, name, 'read', anonymousMatters(ctx, name) && ctx.host.anonymousRead(repo));
    } catch {
      continue;
    }
    const head = repo.head();
    const created = head.commit ? (await repo.readCommit(head.commit).catch(() => null))?.time : undefined;
    buckets.push({ Name: name, CreationDate: isoTime(created ?? 0) });
  }
  sendXml(ctx, 200, 'ListAllMyBucketsResult', { Owner: OWNER, Buckets: { Bucket: buckets } });
}

export async function headBucket(ctx: S3Ctx): Promise<void> {
  await openBucket(ctx, 'read');
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.region });
}

export async function getBucketLocation(ctx: S3Ctx): Promise<void> {
  await openBucket(ctx, 'read');
  // us-east-1 is reported as an empty constraint, as AWS does.
  sendXml(ctx, 200, 'LocationConstraint', {});
}

export async function getBucketVersioning(ctx: S3Ctx): Promise<void> {
  await openBucket(ctx, 'read');
  // Versions are refs (<ref>/<path>), not S3 object versions: versioning is reported as never enabled.
  sendXml(ctx, 200, 'VersioningConfiguration', {});
}

function maxKeysOf(q: URLSearchParams): number {
  const raw = q.get('max-keys');
  if (raw === null || raw === '') return 1000;
  if (!/^\d+$/.test(raw)) throw new S3Error(400, 'InvalidArgument', 'max-keys must be a whole number', { ArgumentName: 'max-keys', ArgumentValue: raw });
  return Math.min(1000, Number(raw));
}

function encodingOf(q: URLSearchParams): boolean {
  const e = q.get('encoding-type');
  if (e === null || e === '') return false;
  if (e !== 'url') throw new S3Error(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: e });
  return true;
}

function contents(k: { key: string; object: GatewayObject }, url: boolean, owner: boolean): XmlNode {
  return {
    Key: encodeKey(k.key, url),
    LastModified: isoTime(k.object.mtime),
    ETag: etagOf(k.object.entry.id),
    Size: k.object.entry.size,
    ...(owner ? { Owner: OWNER } : {}),
    StorageClass: 'STANDARD',
  };
}

export async function listObjectsV2(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'read');
  const q = ctx.q;
  const url = encodingOf(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const max = maxKeysOf(q);
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after') ?? '';
  let after = startAfter;
  if (token !== null) {
    const m = /^k([A-Za-z0-9_-]*)$/.exec(token);
    if (!m) throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
    after = Buffer.from(m[1]!, 'base64url').toString('utf8');
  }
  const r = await listKeys(repo, { prefix, delimiter, after, max });
  const owner = q.get('fetch-owner') === 'true';
  sendXml(ctx, 200, 'ListBucketResult', {
    Name: ctx.bucket,
    Prefix: encodeKey(prefix, url),
    ...(delimiter ? { Delimiter: encodeKey(delimiter, url) } : {}),
    MaxKeys: max,
    KeyCount: r.keys.length + r.prefixes.length,
    IsTruncated: r.truncated,
    ...(token !== null ? { ContinuationToken: token } : {}),
    ...(r.truncated && r.next !== null ? { NextContinuationToken: 'k' + Buffer.from(r.next, 'utf8').toString('base64url') } : {}),
    ...(startAfter ? { StartAfter: encodeKey(startAfter, url) } : {}),
    ...(url ? { EncodingType: 'url' } : {}),
    Contents: r.keys.map((k) => contents(k, url, owner)),
    CommonPrefixes: r.prefixes.map((p) => ({ Prefix: encodeKey(p, url) })),
  });
}

export async function listObjectsV1(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'read');
  const q = ctx.q;
  const url = encodingOf(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const max = maxKeysOf(q);
  const marker = q.get('marker') ?? '';
  const r = await listKeys(repo, { prefix, delimiter, after: marker, max });
  sendXml(ctx, 200, 'ListBucketResult', {
    Name: ctx.bucket,
    Prefix: encodeKey(prefix, url),
    Marker: encodeKey(marker, url),
    ...(delimiter ? { Delimiter: encodeKey(delimiter, url) } : {}),
    MaxKeys: max,
    IsTruncated: r.truncated,
    // S3 sends NextMarker only with a delimiter (clients use the last key otherwise); it helps both.
    ...(r.truncated && r.next !== null ? { NextMarker: encodeKey(r.next, url) } : {}),
    ...(url ? { EncodingType: 'url' } : {}),
    Contents: r.keys.map((k) => contents(k, url, true)),
    CommonPrefixes: r.prefixes.map((p) => ({ Prefix: encodeKey(p, url) })),
  });
}

/** The object a GET/HEAD names (and the commit it was read at). */
export async function lookup(repo: Repository, key: string): Promise<{ object: GatewayObject; commit: string | null }> {
  const ref = refOf(repo, key);
  const o = await getObject(repo, ref, ref.path);
  if (!o) throw noSuchKey(key);
  return { object: o, commit: ref.commit };
}

/** Parse a Range header against `size`: null = whole object (absent, or several ranges, which S3 ignores). */
function parseRange(h: string | undefined, size: number): { start: number; end: number } | null {
  if (!h) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m) return null;
  const [, a, b] = m;
  let start: number;
  let end: number;
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b);
    if (n === 0) throw invalidRange(size);
    start = Math.max(0, size - n);
    end = size;
  } else {
    start = Number(a);
    end = b === '' ? size : Math.min(size, Number(b) + 1);
    if (b !== '' && Number(b) < start) return null;
  }
  if (start >= size) throw invalidRange(size);
  return { start, end };
}

function invalidRange(size: number): S3Error {
  return new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { ActualObjectSize: String(size) }, { 'Content-Range': `bytes */${size}` });
}

function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** RFC 7232 evaluation as S3 does it: 412 or 304, else null. */
function preconditions(ctx: S3Ctx, etag: string, mtime: number): 412 | 304 | null {
  const h = ctx.req.headers;
  const sec = Math.floor(mtime / 1000) * 1000;
  const matches = (list: string) => list.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === etag || `"${t.trim()}"` === etag);
  const im = h['if-match'];
  const inm = h['if-none-match'];
  const ims = h['if-modified-since'];
  const ius = h['if-unmodified-since'];
  if (im !== undefined) {
    if (!matches(im)) return 412;
  } else if (ius !== undefined) {
    const t = Date.parse(ius);
    if (Number.isFinite(t) && sec > t) return 412;
  }
  if (inm !== undefined) {
    if (matches(inm)) return 304;
  } else if (ims !== undefined) {
    const t = Date.parse(ims);
    if (Number.isFinite(t) && sec <= t) return 304;
  }
  return null;
}

const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

/** GetObjectTagging: the object must exist (and be readable); a tree keeps no tags, so the set is empty. */
export async function getObjectTagging(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'read');
  await lookup(repo, ctx.key);
  sendXml(ctx, 200, 'Tagging', { TagSet: {} });
}

export async function getOrHeadObject(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'read');
  const { object: o, commit } = await lookup(repo, ctx.key);
  const head = ctx.method === 'HEAD';
  const etag = etagOf(o.entry.id);
  const base: Record<string, string> = {
    ETag: etag,
    'Last-Modified': httpDate(o.mtime),
    'Accept-Ranges': 'bytes',
    ...(commit && !o.staged ? { 'x-amz-meta-strata-commit': commit } : {}),
    ...(o.staged ? { 'x-amz-meta-strata-uncommitted': 'true' } : {}),
  };
  const pre = preconditions(ctx, etag, o.mtime);
  if (pre === 412) throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  if (pre === 304) {
    ctx.res.writeHead(304, base);
    return void ctx.res.end();
  }
  const size = o.entry.size;
  const range = parseRange(ctx.req.headers.range, size);
  const type = o.contentType ?? contentType(o.path);
  const headers: Record<string, string> = { ...base, 'Content-Type': type };
  for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = ctx.q.get(param);
    if (v !== null) headers[header] = v;
  }
  const status = range ? 206 : 200;
  const len = range ? range.end - range.start : size;
  headers['Content-Length'] = String(len);
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end - 1}/${size}`;
  if (head) {
    ctx.res.writeHead(status, headers);
    return void ctx.res.end();
  }
  if (!o.entry.chunks && o.entry.type === 'file' && size <= SMALL_BYTES) {
    // A small object: read and verified whole before the status line, sent in one write.
    const buf = await repo.store.getBytes(o.entry.id, { verify: true });
    if (buf.length !== size) throw new StrataError('OBJECT_CORRUPT', `${o.path}: object ${o.entry.id} holds ${buf.length} bytes where the tree declares ${size}`, { hint: 'run strata fsck on the server repository' });
    ctx.res.writeHead(status, headers);
    return void ctx.res.end(range ? buf.subarray(range.start, range.end) : buf);
  }
  // Opened before the status line: the first chunk is verified here, so damage is an error answer.
  const stream = await fileBytes(repo, objectEntry(o), range, o.path);
  ctx.res.writeHead(status, headers);
  try {
    await pipeline(stream, ctx.res);
  } catch (e) {
    // Damage found mid-stream (a chunk that does not hash to its id) or the client left: the
    // connection is cut, so the client sees a short body, never wrong bytes.
    ctx.res.destroy();
    if ((e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
  }
}
