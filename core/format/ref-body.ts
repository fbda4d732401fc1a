/**
 * Ref body codec: how a ref is stored on every remote (file:// directory, S3 bucket) and how its
 * version token is computed, which the HTTP server uses as the ETag of a ref too. Documented in
 * docs/remote-format.md (refs) and docs/api.md (ref ETags).
 *
 *   body:  the 64-hex commit id and a newline ('<id>\n')
 *   ETag:  the quoted MD5 hex of the body, as S3 computes it for a single PUT
 *
 * So a client reads the same ETag for a ref whether it talks to a bucket, a directory or a server.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../errors/index.js';
import { isId } from '../hash/index.js';

/** The body of a ref pointing at `value`. */
export function refBody(value: string): Buffer {
  return Buffer.from(value + '\n', 'utf8');
}

/** Parse a ref body ('<id>\n'); OBJECT_CORRUPT naming the ref if it is not a commit id. */
export function parseRefBody(body: string, name: string): string {
  const v = body.trim();
  if (!isId(v)) throw new StrataError('OBJECT_CORRUPT', `ref ${name} is corrupt: ${JSON.stringify(body.slice(0, 80))} is not a commit id`);
  return v;
}

/** ETag of a ref body as the file store computes it: quoted MD5 hex, like S3's for a single PUT. */
export function bodyEtag(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

/** ETag of a ref pointing at `value` (bodyEtag of its refBody). */
export function refEtag(value: string): string {
  return bodyEtag(refBody(value));
}
