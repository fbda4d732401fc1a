/**
 * S3 multipart uploads: CreateMultipartUpload, UploadPart, ListParts, ListMultipartUploads,
 * CompleteMultipartUpload, AbortMultipartUpload, over core/gateway/multipart.ts (parts are synced
 * files until Complete ingests them as one content into the branch's uncommitted changes).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileBytes } from '../../core/ops/file-bytes.js';
import { objectEntry } from '../../core/gateway/view.js';
import * as mp from '../../core/gateway/multipart.js';
import { S3Error } from './errors.js';
import { receiveText, receiveToFile, drain } from './body.js';
import { etagOf, isoTime, openBucket, sendEmpty, sendXml, type S3Ctx } from './context.js';
import { branchPath, copySourceObject, keyOf } from './write.js';
import { childText, parseXml } from './xml.js';
import type { Repository } from '../../core/repo/index.js';
import type { UploadRow } from '../../core/meta/interface.js';

const OWNER = { ID: 'strata', DisplayName: 'strata' };

function noSuchUpload(id: string): S3Error {
  return new S3Error(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: id });
}

/** The upload the request names, checked against its key. */
function uploadOf(ctx: S3Ctx, repo: Repository): UploadRow {
  const id = ctx.q.get('uploadId') ?? '';
  if (!id) throw noSuchUpload(id);
  const u = mp.uploadInfo(repo, id);
  const { branch, path } = branchPath(ctx, repo);
  if (u.branch !== branch || u.path !== path) throw noSuchUpload(id);
  return u;
}

export async function createUpload(ctx: S3Ctx): Promise<void> {
  await drain(ctx);
  const repo = await openBucket(ctx, 'write');
  const { branch, path } = branchPath(ctx, repo);
  const t = ctx.req.headers['content-type'];
  const u = await mp.createUpload(repo, branch, path, { contentType: typeof t === 'string' && t && t !== 'binary/octet-stream' ? t : null });
  sendXml(ctx, 200, 'InitiateMultipartUploadResult', { Bucket: ctx.bucket, Key: ctx.key, UploadId: u.id });
}

export async function uploadPart(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'write');
  const raw = ctx.q.get('partNumber') ?? '';
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 10000) {
    throw new S3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: raw });
  }
  const u = uploadOf(ctx, repo);
  const src = ctx.req.headers['x-amz-copy-source'];
  if (typeof src === 'string') return uploadPartCopy(ctx, repo, u, Number(raw), src);
  const got = await receiveToFile(ctx);
  try {
    await mp.uploadPart(repo, u.id, Number(raw), got.file, got.md5);
  } finally {
    await rm(got.file, { force: true });
  }
  sendEmpty(ctx, 200, { ETag: `"${got.md5}"` });
}

/**
 * UploadPartCopy: the part is a byte range (x-amz-copy-source-range, else the whole object) of an
 * object of any ref the caller may read, read verified from the store. aws-cli and boto3 copy
 * objects above their multipart threshold this way (`aws s3 cp s3://r/v1/big s3://r/main/big`).
 */
async function uploadPartCopy(ctx: S3Ctx, repo: Repository, u: UploadRow, part: number, raw: string): Promise<void> {
  await drain(ctx);
  const { srcRepo, srcObj } = await copySourceObject(ctx, repo, raw);
  const size = srcObj.entry.size;
  let range: { start: number; end: number } | null = null;
  const rh = ctx.req.headers['x-amz-copy-source-range'];
  if (typeof rh === 'string') {
    const m = /^bytes=(\d+)-(\d+)$/.exec(rh.trim());
    if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) >= size) {
      throw new S3Error(400, 'InvalidArgument', `The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy (the source has ${size} bytes)`, {
        ArgumentName: 'x-amz-copy-source-range',
        ArgumentValue: rh,
      });
    }
    range = { start: Number(m[1]), end: Number(m[2]) + 1 };
  }
  const len = range ? range.end - range.start : size;
  if (len > ctx.maxObjectBytes) throw new S3Error(400, 'EntityTooLarge', `Your proposed upload exceeds the maximum allowed size (${ctx.maxObjectBytes} bytes)`, { MaxSizeAllowed: String(ctx.maxObjectBytes) });
  await mkdir(ctx.tmpDir, { recursive: true });
  const file = join(ctx.tmpDir, `s3-partcopy-${process.pid}-${randomBytes(8).toString('hex')}.part`);
  const md5 = createHash('md5');
  try {
    const bytes = await fileBytes(srcRepo, objectEntry(srcObj), range && range.start === 0 && range.end === size ? null : range, srcObj.path);
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        md5.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(bytes, hashing, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    const fh = await open(file, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const etag = md5.digest('hex');
    await mp.uploadPart(repo, u.id, part, file, etag);
    sendXml(ctx, 200, 'CopyPartResult', { LastModified: isoTime(Date.now()), ETag: `"${etag}"` });
  } finally {
    await rm(file, { force: true });
  }
}

export async function listParts(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'read');
  const u = uploadOf(ctx, repo);
  const max = Math.min(1000, Number(ctx.q.get('max-parts') ?? 1000) || 1000);
  const marker = Number(ctx.q.get('part-number-marker') ?? 0) || 0;
  const all = mp.listParts(repo, u.id).filter((p) => p.part > marker);
  const page = all.slice(0, max);
  const truncated = all.length > max;
  sendXml(ctx, 200, 'ListPartsResult', {
    Bucket: ctx.bucket,
    Key: ctx.key,
    UploadId: u.id,
    Initiator: OWNER,
    Owner: OWNER,
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    ...(truncated ? { NextPartNumberMarker: page[page.length - 1]!.part } : {}),
    MaxParts: max,
    IsTruncated: truncated,
    Part: page.map((p) => ({ PartNumber: p.part, LastModified: isoTime(p.time), ETag: `"${p.etag}"`, Size: p.size })),
  });
}

export async function listUploads(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'read');
  const prefix = ctx.q.get('prefix') ?? '';
  const keyMarker = ctx.q.get('key-marker') ?? '';
  const idMarker = ctx.q.get('upload-id-marker') ?? '';
  const max = Math.min(1000, Number(ctx.q.get('max-uploads') ?? 1000) || 1000);
  const all = mp
    .listUploads(repo)
    .map((u) => ({ u, key: keyOf(u.branch, u.path) }))
    .filter(({ key }) => key.startsWith(prefix))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.u.created - b.u.created))
    .filter(({ key, u }) => !keyMarker || key > keyMarker || (key === keyMarker && idMarker !== '' && u.id > idMarker));
  const page = all.slice(0, max);
  const truncated = all.length > max;
  const last = page[page.length - 1];
  sendXml(ctx, 200, 'ListMultipartUploadsResult', {
    Bucket: ctx.bucket,
    KeyMarker: keyMarker,
    UploadIdMarker: idMarker,
    ...(truncated && last ? { NextKeyMarker: last.key, NextUploadIdMarker: last.u.id } : {}),
    Prefix: prefix,
    MaxUploads: max,
    IsTruncated: truncated,
    Upload: page.map(({ u, key }) => ({ Key: key, UploadId: u.id, Initiator: OWNER, Owner: OWNER, StorageClass: 'STANDARD', Initiated: isoTime(u.created) })),
  });
}

export async function completeUpload(ctx: S3Ctx): Promise<void> {
  const repo = await openBucket(ctx, 'write');
  const u = uploadOf(ctx, repo);
  const doc = parseXml(await receiveText(ctx));
  if (doc.name !== 'CompleteMultipartUpload') throw new S3Error(400, 'MalformedXML', 'the body must be a <CompleteMultipartUpload> document');
  const parts = doc.children
    .filter((c) => c.name === 'Part')
    .map((c) => {
      const n = childText(c, 'PartNumber') ?? '';
      if (!/^\d+$/.test(n.trim())) throw new S3Error(400, 'MalformedXML', `a <Part> without a valid <PartNumber> (${JSON.stringify(n)})`);
      return { partNumber: Number(n.trim()), etag: (childText(c, 'ETag') ?? '').trim().replace(/^"|"$/g, '') };
    });
  const o = await mp.completeUpload(repo, u.id, parts);
  sendXml(ctx, 200, 'CompleteMultipartUploadResult', {
    Location: `/${ctx.bucket}/${ctx.key}`,
    Bucket: ctx.bucket,
    Key: ctx.key,
    ETag: etagOf(o.entry.id),
  });
}

export async function abortUpload(ctx: S3Ctx): Promise<void> {
  await drain(ctx);
  const repo = await openBucket(ctx, 'write');
  const u = uploadOf(ctx, repo);
  await mp.abortUpload(repo, u.id);
  sendEmpty(ctx, 204);
}
