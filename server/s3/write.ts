/**
 * S3 writes to branches: PutObject, CopyObject (also across refs and buckets), DeleteObject,
 * DeleteObjects, and CreateBucket (a new repository). Each lands in the branch's uncommitted
 * changes (core/gateway/staging.ts): durable once answered, visible to reads of the branch, made a
 * commit by POST /api/repos/<repo>/staging/commit or `strata staging commit`.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { hashBytes } from '../../core/hash/index.js';
import { stageCopy, stageDelete, stagePut } from '../../core/gateway/staging.js';
import { verifiedFileStream } from '../../core/ops/cat.js';
import { objectEntry } from '../../core/gateway/view.js';
import { StrataError } from '../../core/errors/index.js';
import { authorize } from '../auth.js';
import { checkRepoName } from '../repos.js';
import { S3Error, toS3Error } from './errors.js';
import { drain, receiveText, receiveToFile } from './body.js';
import { anonymousMatters, etagOf, isoTime, openBucket, sendEmpty, sendXml, writableRef, type S3Ctx } from './context.js';
import { lookup } from './read.js';
import { childText, parseXml } from './xml.js';
import type { Repository } from '../../core/repo/index.js';
import type { GatewayObject } from '../../core/gateway/types.js';

/** The content type a write asks for (null: derive it from the name when read). */
function requestedType(ctx: S3Ctx): string | null {
  const t = ctx.req.headers['content-type'];
  return typeof t === 'string' && t && t !== 'binary/octet-stream' ? t : null;
}

/** `x-amz-copy-source: [/]bucket/key[?versionId=..]`, URL-encoded. */
function copySource(raw: string): { bucket: string; key: string } {
  let s = raw;
  if (s.includes('?')) {
    const [path, query] = s.split('?', 2) as [string, string];
    if (/(^|&)versionId=/.test(query)) throw new S3Error(501, 'NotImplemented', 'object versions are refs in Strata: copy from <ref>/<path> instead of using versionId');
    s = path;
  }
  try {
    s = decodeURIComponent(s);
  } catch {
    throw new S3Error(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey (malformed percent-encoding)', { ArgumentName: 'x-amz-copy-source' });
  }
  if (s.startsWith('/')) s = s.slice(1);
  const i = s.indexOf('/');
  if (i <= 0 || i === s.length - 1) throw new S3Error(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { ArgumentName: 'x-amz-copy-source' });
  return { bucket: s.slice(0, i), key: s.slice(i + 1) };
}

const EMPTY_ID = (): string => hashBytes(Buffer.alloc(0));

export async function putOrCopyObject(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'write');
  const ref = writableRef(repo, ctx.key);
  const src = ctx.req.headers['x-amz-copy-source'];
  if (typeof src === 'string') return copyObject(ctx, repo, ref.name, ref.path, src);
  if (ref.path === '' || ref.path.endsWith('/')) {
    // A folder marker (what `mkdir` does in s3fs, Hadoop's S3A, the console): folders exist as
    // soon as a file is in them, so an empty marker is accepted and not stored.
    await receiveText(ctx, 0).catch(() => {
      throw new S3Error(400, 'InvalidArgument', `a key ending in "/" names a folder; it cannot hold data`, { Key: ctx.key });
    });
    return sendEmpty(ctx, 200, { ETag: etagOf(EMPTY_ID()) });
  }
  const got = await receiveToFile(ctx);
  let o;
  try {
    o = await stagePut(repo, ref.name, ref.path, got.file, { contentType: requestedType(ctx) });
  } finally {
    await rm(got.file, { force: true });
  }
  sendEmpty(ctx, 200, { ETag: etagOf(o.entry.id) });
}

/**
 * The object `x-amz-copy-source` names (CopyObject, UploadPartCopy), after checking the caller may
 * read it and its copy-source-If-Match / If-None-Match conditions.
 */
export async function copySourceObject(ctx: S3Ctx, repo: Repository, raw: string): Promise<{ srcRepo: Repository; srcObj: GatewayObject; same: boolean }> {
  const { bucket, key } = copySource(raw);
  checkRepoName(bucket);
  const same = bucket === ctx.bucket;
  const srcRepo = same ? repo : await openBucket({ ...ctx, bucket }, 'read');
  if (same) authorize(ctx.principal, bucket, 'read', anonymousMatters(ctx, bucket) && ctx.host.anonymousRead(repo));
  const { object: srcObj } = await lookup(srcRepo, key);
  const ifMatch = ctx.req.headers['x-amz-copy-source-if-match'];
  if (typeof ifMatch === 'string' && ifMatch.split(',').every((t) => t.trim() !== etagOf(srcObj.entry.id) && t.trim() !== '*')) {
    throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'x-amz-copy-source-If-Match' });
  }
  const ifNone = ctx.req.headers['x-amz-copy-source-if-none-match'];
  if (typeof ifNone === 'string' && ifNone.split(',').some((t) => t.trim() === etagOf(srcObj.entry.id) || t.trim() === '*')) {
    throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'x-amz-copy-source-If-None-Match' });
  }
  return { srcRepo, srcObj, same };
}

async function copyObject(ctx: S3Ctx, repo: Repository, branch: string, path: string, raw: string): Promise<void> {
  await drain(ctx);
  if (!path || path.endsWith('/')) throw new S3Error(400, 'InvalidArgument', 'a copy needs a destination key naming a file', { Key: ctx.key });
  const { srcRepo, srcObj, same } = await copySourceObject(ctx, repo, raw);
  const directive = String(ctx.req.headers['x-amz-metadata-directive'] ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error(400, 'InvalidArgument', 'Unknown metadata directive.', { ArgumentName: 'x-amz-metadata-directive' });
  const contentType = directive === 'REPLACE' ? requestedType(ctx) : srcObj.contentType;
  let o;
  if (same) {
    o = await stageCopy(repo, branch, path, srcObj, { contentType });
  } else {
    // Another repository's objects: the bytes are read (verified) and written into this one.
    await mkdir(ctx.tmpDir, { recursive: true });
    const tmp = join(ctx.tmpDir, `s3-copy-${process.pid}-${randomBytes(8).toString('hex')}.part`);
    try {
      await pipeline(await verifiedFileStream(srcRepo.store, srcObj.path, objectEntry(srcObj)), createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      o = await stagePut(repo, branch, path, tmp, { contentType });
    } finally {
      await rm(tmp, { force: true });
    }
  }
  sendXml(ctx, 200, 'CopyObjectResult', { LastModified: isoTime(o.mtime), ETag: etagOf(o.entry.id) });
}

export async function deleteObject(ctx: S3Ctx): Promise<void> {
  await drain(ctx);
  const repo = await openBucket(ctx, 'write');
  const ref = writableRef(repo, ctx.key);
  if (ref.path && !ref.path.endsWith('/')) await stageDelete(repo, ref.name, [ref.path]);
  sendEmpty(ctx, 204);
}

export async function deleteObjects(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'write');
  const doc = parseXml(await receiveText(ctx));
  if (doc.name !== 'Delete') throw new S3Error(400, 'MalformedXML', 'the body must be a <Delete> document');
  const quiet = (childText(doc, 'Quiet') ?? '').trim() === 'true';
  const keys = doc.children.filter((c) => c.name === 'Object').map((c) => childText(c, 'Key') ?? '');
  if (keys.length === 0 || keys.length > 1000) throw new S3Error(400, 'MalformedXML', `a DeleteObjects request names 1 to 1000 keys (got ${keys.length})`);
  const deleted: Array<{ Key: string }> = [];
  const errors: Array<{ Key: string; Code: string; Message: string }> = [];
  const byBranch = new Map<string, Array<{ key: string; path: string }>>();
  for (const key of keys) {
    try {
      if (!key) throw new S3Error(400, 'InvalidArgument', 'an empty key');
      const ref = writableRef(repo, key);
      if (!ref.path || ref.path.endsWith('/')) {
        deleted.push({ Key: key });
        continue;
      }
      const l = byBranch.get(ref.name) ?? [];
      l.push({ key, path: ref.path });
      byBranch.set(ref.name, l);
    } catch (e) {
      const { err } = toS3Error(e);
      errors.push({ Key: key, Code: err.code, Message: err.message });
    }
  }
  for (const [branch, items] of byBranch) {
    try {
      await stageDelete(repo, branch, items.map((i) => i.path));
      for (const i of items) deleted.push({ Key: i.key });
    } catch (e) {
      const { err } = toS3Error(e);
      for (const i of items) errors.push({ Key: i.key, Code: err.code, Message: err.message });
    }
  }
  sendXml(ctx, 200, 'DeleteResult', { Deleted: quiet ? [] : deleted, Error: errors });
}

/** PUT /<bucket>: a new repository (needs a key with write permission for that name, or '*'). */
export async function createBucket(ctx: S3Ctx): Promise<void> {
  await drain(ctx);
  const name = ctx.bucket;
  try {
    checkRepoName(name);
  } catch (e) {
    throw new S3Error(400, 'InvalidBucketName', (e as Error).message, { BucketName: name });
  }
  if (ctx.host.readOnly) throw new S3Error(403, 'AccessDenied', 'this server serves a working project read-only');
  authorize(ctx.principal, name, 'write', false);
  if (ctx.host.exists(name)) throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: name });
  try {
    await ctx.host.create(name);
  } catch (e) {
    if (!(e instanceof StrataError && e.code === 'ALREADY_INITIALIZED')) throw e;
    throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: name });
  }
  sendEmpty(ctx, 200, { Location: `/${name}` });
}

/** The key of a branch path (what listings of uploads report). */
export function keyOf(branch: string, path: string): string {
  return `${branch}/${path}`;
}

/** The branch and path of a key that must name a file on a branch (multipart uploads). */
export function branchPath(ctx: S3Ctx, repo: Awaited<ReturnType<typeof openBucket>>): { branch: string; path: string } {
  const ref = writableRef(repo, ctx.key);
  if (!ref.path || ref.path.endsWith('/')) throw new S3Error(400, 'InvalidArgument', 'an upload needs a key naming a file: <branch>/<path>', { Key: ctx.key });
  return { branch: ref.name, path: ref.path };
}
