/**
 * One S3 connection: the configured client, request/byte counters, error translation and the small
 * request helpers shared by S3Store and S3RefStore. The only module (with lib-storage in index.ts)
 * that touches the AWS SDK.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable, Transform } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { profileS3Endpoint } from './profile.js';
import { StrataError } from '../../errors/index.js';
import { normalizePrefix } from '../url.js';
import { Limiter } from '../../util/concurrency.js';

// The SDK warns on every process that it will require Node 22 from 2027: a notice for us (see
// package.json engines), not for a user running `strata push`.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' = bucket root). Leading/trailing slashes are ignored. */
  prefix?: string;
  /** Custom endpoint (MinIO, Ceph, s3rver...). Default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url (profile.ts), else AWS. */
  endpoint?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else 'us-east-1'. */
  region?: string;
  /** Default: true when a custom endpoint is set (MinIO needs it), false for AWS. */
  forcePathStyle?: boolean;
  /** Shared-config profile (default: AWS_PROFILE, then 'default'). */
  profile?: string;
  /** Maximum parallel requests (default 16). */
  jobs?: number;
  /**
   * Explicit credentials (tests). Normally omitted: the SDK's default provider chain is used
   * (env vars, shared config/credentials files with `profile`, SSO, web identity, ECS/EC2 roles).
   * Strata never stores credentials.
   */
  credentials?: S3ClientConfig['credentials'];
  /** Attempts per request including the first (default 6); backoff is exponential with jitter. */
  maxAttempts?: number;
  /** Milliseconds to establish a TCP connection before giving up (default 10 000). */
  connectTimeoutMs?: number;
  /** Environment to read AWS_* variables from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface TransferStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Request body bytes sent. */
  bytesUp: number;
  /** Response body bytes announced by the server (Content-Length of non-HEAD responses). */
  bytesDown: number;
}

interface SdkErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  errors?: unknown[];
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function networkCode(e: unknown, depth = 0): string | undefined {
  if (!e || typeof e !== 'object' || depth > 4) return undefined;
  const err = e as SdkErrorLike;
  if (err.code && NETWORK_CODES.has(err.code)) return err.code;
  if (err.name === 'TimeoutError') return 'ETIMEDOUT';
  for (const sub of err.errors ?? []) {
    const c = networkCode(sub, depth + 1);
    if (c) return c;
  }
  return networkCode(err.cause, depth + 1);
}

export function errorName(e: unknown): string {
  const err = e as SdkErrorLike;
  return err?.Code ?? err?.name ?? '';
}

export function httpStatus(e: unknown): number | undefined {
  return (e as SdkErrorLike)?.$metadata?.httpStatusCode;
}

export function isNotFound(e: unknown): boolean {
  const n = errorName(e);
  return n === 'NoSuchKey' || n === 'NotFound' || (httpStatus(e) === 404 && n !== 'NoSuchBucket');
}

export function isPreconditionFailed(e: unknown): boolean {
  const n = errorName(e);
  return n === 'PreconditionFailed' || n === 'ConditionalRequestConflict' || httpStatus(e) === 412 || httpStatus(e) === 409;
}

const AUTH_NAMES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidToken',
  'AccessDenied',
  'AllAccessDisabled',
  'AuthorizationHeaderMalformed',
  'CredentialsProviderError',
  'InvalidClientTokenId',
]);

const MAX_PART_SIZE_STREAM = 16 << 20;

export class S3Conn {
  readonly client: S3Client;
  readonly bucket: string;
  /** '' or 'some/prefix/' (always ends with '/' when non-empty). */
  readonly root: string;
  readonly location: string;
  /** The endpoint as shown in messages. */
  readonly endpointLabel: string;
  readonly limiter: Limiter;
  readonly jobs: number;
  readonly counters: TransferStats = { requests: 0, bytesUp: 0, bytesDown: 0 };
  private bucketChecked: Promise<void> | undefined;

  constructor(opts: S3StoreOptions) {
    const env = opts.env ?? process.env;
    if (!opts.bucket) throw new StrataError('CONFIG_INVALID', 'S3 store needs a bucket name');
    this.bucket = opts.bucket;
    const prefix = normalizePrefix(opts.prefix ?? '');
    this.root = prefix ? prefix + '/' : '';
    this.location = `s3://${this.bucket}${prefix ? '/' + prefix : ''}`;
    this.jobs = Math.max(1, Math.floor(opts.jobs ?? 16));
    this.limiter = new Limiter(this.jobs);

    const profile = opts.profile || env.AWS_PROFILE || undefined;
    // The profile's endpoint_url (core/store/s3/profile.ts) is read here rather than left to the SDK,
    // which looks it up in AWS_PROFILE's section only and would not switch to path-style for it.
    const ignoreEnv = /^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '');
    const endpoint = opts.endpoint || (ignoreEnv ? undefined : env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) || profileS3Endpoint(profile, env) || undefined;
    const regionGiven = opts.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
    this.endpointLabel = endpoint ?? `https://s3.${regionGiven ?? 'us-east-1'}.amazonaws.com`;
    const isHttps = !endpoint || /^https:/i.test(endpoint);

    // The SDK itself does not read AWS_CA_BUNDLE; honour it (like the AWS CLI) for TLS connections only.
    // Plain http:// endpoints (a local MinIO) never touch it, so a set-but-irrelevant bundle is harmless.
    let ca: Buffer | undefined;
    const bundle = env.AWS_CA_BUNDLE;
    if (isHttps && bundle) {
      try {
        ca = readFileSync(bundle);
      } catch (e) {
        throw new StrataError('CONFIG_INVALID', `AWS_CA_BUNDLE points to ${bundle}, which cannot be read: ${(e as Error).message}`, {
          hint: 'fix or unset AWS_CA_BUNDLE (it must name a PEM file of CA certificates)',
          cause: e,
        });
      }
    }
    const maxSockets = Math.max(32, this.jobs * 4);
    const config: S3ClientConfig = {
      bucketEndpoint: false,
      forcePathStyle: opts.forcePathStyle ?? Boolean(endpoint),
      maxAttempts: opts.maxAttempts ?? 6,
      // 'adaptive' = standard exponential backoff with full jitter, retrying throttling (503 SlowDown,
      // 429), 5xx and network errors, plus client-side rate limiting once the server throttles.
      retryMode: 'adaptive',
      // Strata verifies content by BLAKE3 id; skip the SDK's default CRC trailers, which use
      // aws-chunked encoding that several S3-compatible servers do not understand.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 10_000,
        httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets, ...(ca ? { ca } : {}) }),
      },
    };
    if (endpoint) config.endpoint = endpoint;
    if (profile) config.profile = profile;
    if (opts.credentials) config.credentials = opts.credentials;
    if (regionGiven) config.region = regionGiven;
    else {
      let region: Promise<string> | undefined;
      config.region = () => (region ??= profileRegion(profile));
    }
    this.client = new S3Client(config);

    const counters = this.counters;
    this.client.middlewareStack.add(
      (next) => async (args) => {
        counters.requests++;
        const req = args.request as { method?: string; headers?: Record<string, string> } | undefined;
        const up = Number(req?.headers?.['content-length'] ?? req?.headers?.['Content-Length'] ?? 0);
        if (up > 0) counters.bytesUp += up;
        const out = await next(args);
        const res = out.response as { headers?: Record<string, string> } | undefined;
        if (req?.method !== 'HEAD') {
          const down = Number(res?.headers?.['content-length'] ?? 0);
          if (down > 0) counters.bytesDown += down;
        }
        return out;
      },
      { step: 'deserialize', name: 'strataTransferStats', priority: 'high' },
    );
  }

  key(rel: string): string {
    return this.root + rel;
  }

  /** Translate an SDK error into a StrataError that names what to fix. */
  mapError(e: unknown, what: string): StrataError {
    if (e instanceof StrataError) return e;
    const name = errorName(e);
    const status = httpStatus(e);
    const msg = (e as SdkErrorLike)?.message ?? String(e);
    const net = networkCode(e);
    if (net) {
      return new StrataError('REMOTE_UNREACHABLE', `cannot reach S3 endpoint ${this.endpointLabel} (${net}) while ${what}`, {
        hint: 'check the endpoint URL (--endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL), your network, and that the server is running',
        details: { endpoint: this.endpointLabel, code: net },
        cause: e,
      });
    }
    if (name === 'NoSuchBucket') return this.noBucket(e);
    if (AUTH_NAMES.has(name) || status === 403 || status === 401 || /credential/i.test(name)) {
      const noCreds = name === 'CredentialsProviderError' || /Could not load credentials/i.test(msg);
      return new StrataError(
        'REMOTE_AUTH',
        noCreds
          ? `no AWS credentials found for ${this.location}`
          : `S3 refused the credentials for ${this.location} (${name || status}) while ${what}: ${msg}`,
        {
          hint:
            name === 'ExpiredToken' || name === 'TokenRefreshRequired'
              ? 'your session token expired: refresh it (aws sso login / re-assume the role) and retry'
              : 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or the profile (--profile / AWS_PROFILE) and its permissions on this bucket',
          details: { endpoint: this.endpointLabel, bucket: this.bucket, s3Code: name, status },
          cause: e,
        },
      );
    }
    if (status !== undefined && status >= 500) {
      return new StrataError('REMOTE_UNREACHABLE', `S3 endpoint ${this.endpointLabel} kept failing (${name || status}) while ${what}: ${msg}`, {
        hint: 'the server is overloaded or failing; retry later (requests were already retried with backoff)',
        details: { endpoint: this.endpointLabel, s3Code: name, status },
        cause: e,
      });
    }
    return new StrataError('IO_ERROR', `S3 error while ${what} (${name || status || 'unknown'}): ${msg}`, {
      details: { endpoint: this.endpointLabel, s3Code: name, status },
      cause: e,
    });
  }

  noBucket(cause?: unknown): StrataError {
    return new StrataError('REMOTE_NOT_FOUND', `bucket ${this.bucket} does not exist at ${this.endpointLabel}; create it or fix the URL`, {
      hint: `create the bucket (aws s3 mb s3://${this.bucket}) or correct the remote URL`,
      details: { bucket: this.bucket, endpoint: this.endpointLabel },
      cause,
    });
  }

  /**
   * A HEAD 404 does not say whether the key or the bucket is missing: check the bucket once.
   * 403 on HeadBucket (policy allows objects but not the bucket) counts as "exists".
   */
  async assertBucket(): Promise<void> {
    this.bucketChecked ??= (async () => {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      } catch (e) {
        const s = httpStatus(e);
        if (s === 404 || errorName(e) === 'NoSuchBucket' || errorName(e) === 'NotFound') throw this.noBucket(e);
        if (s === 403) return;
        throw this.mapError(e, `checking bucket ${this.bucket}`);
      }
    })();
    try {
      await this.bucketChecked;
    } catch (e) {
      this.bucketChecked = undefined;
      throw e;
    }
  }

  /** HEAD a key: its size and ETag, or null when missing. */
  async head(key: string): Promise<{ size: number; etag: string } | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: r.ContentLength ?? 0, etag: r.ETag ?? '' };
    } catch (e) {
      if (isNotFound(e)) {
        await this.assertBucket();
        return null;
      }
      throw this.mapError(e, `checking ${key}`);
    }
  }

  /**
   * GET a key (optionally bytes [start, end) of it) as a stream, or null when the key is missing.
   * The stream is cut at the requested length (some servers ignore parts of a Range header).
   */
  async getStream(key: string, range?: { start: number; end: number }): Promise<Readable | null> {
    if (range && range.end <= range.start) return Readable.from([]);
    let body: Readable;
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}) }),
      );
      body = r.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) return null;
      if (range && (errorName(e) === 'InvalidRange' || httpStatus(e) === 416)) return Readable.from([]);
      throw this.mapError(e, `reading ${key}`);
    }
    let left = range ? range.end - range.start : Infinity;
    const out = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        if (left <= 0) return cb();
        const c = chunk.length > left ? chunk.subarray(0, left) : chunk;
        left -= c.length;
        cb(null, c);
      },
    });
    body.on('error', (e) => out.destroy(this.mapError(e, `reading ${key}`)));
    out.on('close', () => {
      if (!body.destroyed) body.destroy();
    });
    body.pipe(out);
    return out;
  }

  async getBuffer(key: string, range?: { start: number; end: number }): Promise<Buffer | null> {
    const s = await this.getStream(key, range);
    if (!s) return null;
    const parts: Buffer[] = [];
    for await (const c of s) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  async putBuffer(key: string, body: Buffer, extra: { IfMatch?: string; IfNoneMatch?: string } = {}): Promise<string> {
    try {
      const r = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ...extra }));
      return r.ETag ?? '';
    } catch (e) {
      if (isPreconditionFailed(e)) throw e;
      throw this.mapError(e, `writing ${key}`);
    }
  }

  /** Every key under `prefix` with its size and ETag (ListObjectsV2, 1000 per page). */
  async *listKeys(prefix: string): AsyncIterable<{ key: string; size: number; etag: string }> {
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (e) {
        throw this.mapError(e, `listing ${prefix || 'the bucket'}`);
      }
      for (const o of r.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' };
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  /** Delete keys (missing keys are fine), 1000 per DeleteObjects request, in parallel. */
  async deleteKeys(keys: Iterable<string>): Promise<void> {
    const all = [...new Set(keys)];
    const chunks: string[][] = [];
    for (let i = 0; i < all.length; i += 1000) chunks.push(all.slice(i, i + 1000));
    await this.limiter.map(chunks, async (chunk) => {
      let r;
      try {
        r = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }),
        );
      } catch (e) {
        throw this.mapError(e, `deleting ${chunk.length} keys`);
      }
      const errs = (r.Errors ?? []).filter((x) => x.Code !== 'NoSuchKey');
      if (errs.length) {
        const first = errs[0]!;
        const fake = Object.assign(new Error(first.Message ?? 'delete failed'), { name: first.Code ?? 'DeleteError' });
        throw this.mapError(fake, `deleting ${first.Key}`);
      }
    });
  }

  /** Part size for a multipart upload of `size` bytes (unknown: 16 MiB, so up to ~160 GB in 10 000 parts). */
  partSize(size: number | undefined): number {
    if (size === undefined) return MAX_PART_SIZE_STREAM;
    return Math.max(8 << 20, Math.ceil(size / 9000));
  }

  close(): void {
    this.client.destroy();
  }
}

/** Region from the shared config profile, else us-east-1 (used when no region option/env is set). */
async function profileRegion(profile: string | undefined): Promise<string> {
  const probe = new S3Client(profile ? { profile } : {});
  try {
    const r = await probe.config.region();
    return r || 'us-east-1';
  } catch {
    return 'us-east-1';
  } finally {
    probe.destroy();
  }
}
