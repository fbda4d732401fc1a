/**
 * Parsing store / remote URLs.
 *
 *   s3://bucket            -> { kind: 's3', bucket, prefix: '' }
 *   s3://bucket/some/path  -> { kind: 's3', bucket, prefix: 'some/path' }   (no leading/trailing '/')
 *   file:///abs/path       -> { kind: 'local', path: '/abs/path' }
 *   /abs/path, rel/path    -> { kind: 'local', path: <resolved against cwd> }
 *
 * Anything else with a scheme (http://, gs://, ...) is REMOTE_UNSUPPORTED; a malformed s3 URL is
 * INVALID_ARGUMENT. Pure apart from path resolution: no I/O.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../errors/index.js';
import { redactUrl } from '../config/redact.js';

export type StoreUrl = { kind: 's3'; bucket: string; prefix: string } | { kind: 'local'; path: string };

/** S3 bucket naming rules (the subset every S3-compatible server accepts). */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * S3 general-purpose bucket naming rules: 3-63 characters of lowercase letters, digits, dots and
 * hyphens, starting and ending with a letter or digit; no '..', '.-' or '-.'; not an IPv4 address;
 * none of the reserved prefixes (xn--, sthree-, amzn-s3-demo-) or suffixes (-s3alias, --ol-s3,
 * .mrap, --x-s3, --table-s3).
 */
function isValidBucketName(bucket: string): boolean {
  if (!BUCKET_RE.test(bucket)) return false;
  if (bucket.includes('..') || bucket.includes('.-') || bucket.includes('-.')) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(bucket)) return false;
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(bucket)) return false;
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(bucket)) return false;
  return true;
}

export function parseStoreUrl(url: string, cwd: string = process.cwd()): StoreUrl {
  const raw = url.trim();
  if (raw === '') throw new StrataError('INVALID_ARGUMENT', 'empty store URL', { hint: 'use s3://bucket/prefix, file:///path or a directory path' });

  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):\/\//.exec(raw);
  if (!scheme) return { kind: 'local', path: resolve(cwd, raw) };

  switch (scheme[1]!.toLowerCase()) {
    case 's3': {
      const rest = raw.slice(scheme[0].length);
      const slash = rest.indexOf('/');
      const bucket = slash < 0 ? rest : rest.slice(0, slash);
      const prefix = normalizePrefix(slash < 0 ? '' : rest.slice(slash + 1));
      if (!isValidBucketName(bucket)) {
        throw new StrataError('INVALID_ARGUMENT', `invalid S3 bucket name ${JSON.stringify(bucket.slice(bucket.lastIndexOf('@') + 1))} in ${redactUrl(url)}`, {
          hint: 'bucket names are 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, not an IP address: s3://my-bucket/optional/prefix',
        });
      }
      if (prefix.split('/').some((seg) => seg === '.' || seg === '..')) {
        throw new StrataError('INVALID_ARGUMENT', `invalid S3 prefix in ${redactUrl(url)}: '.' and '..' segments are not allowed`, { hint: 'use s3://bucket/a/b without . or .. in the prefix' });
      }
      return { kind: 's3', bucket, prefix };
    }
    case 'file': {
      let path: string;
      try {
        path = fileURLToPath(raw);
      } catch (e) {
        throw new StrataError('INVALID_ARGUMENT', `invalid file URL ${redactUrl(url)}: ${(e as Error).message}`, {
          hint: 'use file:///absolute/path (three slashes) or a plain path',
          cause: e,
        });
      }
      return { kind: 'local', path };
    }
    default:
      throw new StrataError('REMOTE_UNSUPPORTED', `unsupported store URL scheme ${scheme[1]}:// in ${redactUrl(url)}`, {
        hint: 'supported: s3://bucket/prefix, file:///path, or a plain directory path',
      });
  }
}

/** Strip leading/trailing slashes and collapse repeated ones: 'a//b/' -> 'a/b'. */
export function normalizePrefix(prefix: string): string {
  return prefix
    .split('/')
    .filter((s) => s !== '')
    .join('/');
}
