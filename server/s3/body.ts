/**
 * Request bodies of S3 writes: streamed to a temporary file (with its MD5, which S3 reports as a
 * part's ETag) under a size limit, or read whole when small (XML). The body stream given by
 * authentication errors before its end when the bytes do not match their signature or checksum;
 * the temporary file is then removed, so nothing unverified is ever staged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Error } from './errors.js';
import type { S3Ctx } from './context.js';
import { processAlive } from '../../core/util/concurrency.js';

export interface ReceivedBody {
  file: string;
  size: number;
  md5: string;
}

function tooLarge(max: number): S3Error {
  return new S3Error(400, 'EntityTooLarge', `Your proposed upload exceeds the maximum allowed size (${max} bytes); use a multipart upload`, { MaxSizeAllowed: String(max) });
}

/**
 * The body into a temporary file in ctx.tmpDir; the caller owns (and removes or hands on) the file.
 * Not synced here: what keeps it is synced where it is kept (the object store for a put, the
 * upload's folder for a part).
 */
export async function receiveToFile(ctx: S3Ctx): Promise<ReceivedBody> {
  const declared = Number(ctx.req.headers['x-amz-decoded-content-length'] ?? ctx.req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > ctx.maxObjectBytes) throw tooLarge(ctx.maxObjectBytes);
  await mkdir(ctx.tmpDir, { recursive: true });
  const file = join(ctx.tmpDir, `s3-${process.pid}-${randomBytes(8).toString('hex')}.part`);
  const md5 = createHash('md5');
  let size = 0;
  const max = ctx.maxObjectBytes;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > max) return cb(tooLarge(max));
      md5.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(ctx.body, count, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    if (Number.isFinite(declared) && ctx.req.headers['x-amz-decoded-content-length'] !== undefined && size !== declared) {
      throw new S3Error(400, 'IncompleteBody', `You did not provide the number of bytes specified by the Content-Length HTTP header (got ${size} of ${declared})`);
    }
  } catch (e) {
    await rm(file, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new S3Error(507, 'InsufficientStorage', 'the server\'s disk is full; nothing was written');
    if ((e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' || (e as NodeJS.ErrnoException).code === 'ECONNRESET') {
      throw new S3Error(400, 'IncompleteBody', 'the request body ended early; nothing was written');
    }
    throw e;
  }
  return { file, size, md5: md5.digest('hex') };
}

/** A small body (XML of DeleteObjects, CompleteMultipartUpload) as text. */
export async function receiveText(ctx: S3Ctx, max = 2 << 20): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of ctx.body) {
    n += (c as Buffer).length;
    if (n > max) throw new S3Error(400, 'MalformedXML', `the request body is larger than ${max} bytes`);
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Read and drop a body (a request answered without using it). */
export async function drain(ctx: S3Ctx): Promise<void> {
  for await (const _c of ctx.body) {
    /* dropped */
  }
}

/** Remove request bodies left in `tmpDir` by gateway processes that are gone (a crash mid-request). */
export async function cleanStaleBodies(tmpDir: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
    const m = /^s3-(?:copy-)?(\d+)-[0-9a-f]{16}\.part$/.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    await rm(join(tmpDir, name), { force: true });
    n++;
  }
  return n;
}

