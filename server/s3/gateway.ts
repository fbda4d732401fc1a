/**
 * The S3 gateway of `strata serve`: the S3 REST API on its own port (--s3-port). Buckets are
 * repositories; keys are `<ref>/<path>` (core/gateway/view.ts). Path-style addressing
 * (`http://host:port/<bucket>/<key>`) always works; virtual-host style (`http://<bucket>.<domain>:port/<key>`)
 * when the server is given its domain (--s3-domain).
 *
 * Each request: parse the address, authenticate (AWS Signature Version 4: header or presigned
 * query; anonymous when neither), dispatch on method + subresource to the handlers of read.ts,
 * write.ts and multipart.ts, answer errors as S3 XML (errors.ts).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { redact } from '../errors.js';
import type { Principal } from '../auth.js';
import type { RepoHost } from '../repos.js';
import { S3Error, errorXml, toS3Error } from './errors.js';
import type { S3Ctx } from './context.js';
import { getBucketLocation, getBucketVersioning, getObjectTagging, getOrHeadObject, headBucket, listBuckets, listObjectsV1, listObjectsV2 } from './read.js';
import { createBucket, deleteObject, deleteObjects, putOrCopyObject } from './write.js';
import { abortUpload, completeUpload, createUpload, listParts, listUploads, uploadPart } from './multipart.js';

/** What authentication gives a handler: who asks (null = anonymous) and the verified body. */
export interface S3Auth {
  principal: Principal | null;
  body: Readable;
}

export interface GatewayOptions {
  host: RepoHost;
  authenticate: (req: IncomingMessage, url: URL) => Promise<S3Auth>;
  tmpDir: string;
  log: (msg: string) => void;
  /** Region reported (GetBucketLocation, x-amz-bucket-region); signatures of any region are accepted. */
  region?: string;
  /** Domain for virtual-host-style addressing: Host `<bucket>.<domain>`. */
  domain?: string | null;
  maxObjectBytes: number;
}

/** Bucket-level subresources S3 has that the gateway does not: answered NotImplemented. */
const UNSUPPORTED = ['acl', 'policy', 'cors', 'lifecycle', 'tagging', 'encryption', 'website', 'logging', 'notification', 'replication', 'object-lock', 'retention', 'legal-hold', 'torrent', 'restore', 'select', 'inventory', 'analytics', 'metrics', 'accelerate', 'requestPayment', 'ownershipControls', 'publicAccessBlock', 'intelligent-tiering', 'attributes', 'versionId', 'versions'];

function parseAddress(req: IncomingMessage, domain: string | null | undefined): { bucket: string; key: string; url: URL } {
  const raw = req.url ?? '/';
  const url = new URL(raw, 'http://s3.local');
  const rawPath = raw.split('?')[0]!;
  if (!rawPath.startsWith('/')) throw new S3Error(400, 'InvalidURI', 'Couldn\'t parse the specified URI.');
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new S3Error(400, 'InvalidURI', 'Couldn\'t parse the specified URI: malformed percent-encoding.');
    }
  };
  const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  if (domain && hostHeader.endsWith('.' + domain.toLowerCase())) {
    const bucket = hostHeader.slice(0, -(domain.length + 1));
    return { bucket, key: decode(rawPath.slice(1)), url };
  }
  const i = rawPath.indexOf('/', 1);
  if (i < 0) return { bucket: decode(rawPath.slice(1)), key: '', url };
  return { bucket: decode(rawPath.slice(1, i)), key: decode(rawPath.slice(i + 1)), url };
}

async function dispatch(ctx: S3Ctx): Promise<void> {
  const { method, q, bucket, key } = ctx;
  const allow = (methods: string[]): never => {
    throw new S3Error(405, 'MethodNotAllowed', `The specified method is not allowed against this resource (use ${methods.join(', ')})`, { Method: method, ResourceType: key ? 'OBJECT' : bucket ? 'BUCKET' : 'SERVICE' }, { Allow: methods.join(', ') });
  };
  if (!bucket) {
    if (method === 'GET' || method === 'HEAD') return listBuckets(ctx);
    return allow(['GET']);
  }
  // aws-cli reads an object's tags before a multipart copy (to copy them along): a tree keeps no tags.
  if (key && method === 'GET' && q.has('tagging')) return getObjectTagging(ctx);
  const unsupported = UNSUPPORTED.find((s) => q.has(s));
  if (unsupported && !(unsupported === 'versionId' && key)) {
    throw new S3Error(501, 'NotImplemented', `the ${unsupported} subresource is not supported by the Strata gateway (versions are refs: read <ref>/<path>)`);
  }
  if (!key) {
    switch (method) {
      case 'GET':
        if (q.has('location')) return getBucketLocation(ctx);
        if (q.has('versioning')) return getBucketVersioning(ctx);
        if (q.has('uploads')) return listUploads(ctx);
        if (q.get('list-type') === '2') return listObjectsV2(ctx);
        return listObjectsV1(ctx);
      case 'HEAD':
        return headBucket(ctx);
      case 'PUT':
        return createBucket(ctx);
      case 'POST':
        if (q.has('delete')) return deleteObjects(ctx);
        return allow(['GET', 'HEAD', 'PUT']);
      case 'DELETE':
        throw new S3Error(403, 'AccessDenied', 'a repository cannot be deleted through the S3 gateway (remove it on the server)');
      default:
        return allow(['GET', 'HEAD', 'PUT', 'POST']);
    }
  }
  switch (method) {
    case 'GET':
      if (q.has('uploadId')) return listParts(ctx);
      return getOrHeadObject(ctx);
    case 'HEAD':
      return getOrHeadObject(ctx);
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) return uploadPart(ctx);
      return putOrCopyObject(ctx);
    case 'POST':
      if (q.has('uploads')) return createUpload(ctx);
      if (q.has('uploadId')) return completeUpload(ctx);
      return allow(['GET', 'HEAD', 'PUT', 'DELETE']);
    case 'DELETE':
      if (q.has('uploadId')) return abortUpload(ctx);
      return deleteObject(ctx);
    default:
      return allow(['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);
  }
}

/** The request handler of the gateway's HTTP server. */
export function s3Handler(o: GatewayOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const region = o.region ?? 'us-east-1';
  return async (req, res) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('Server', 'Strata');
    let resource = req.url?.split('?')[0] ?? '/';
    try {
      const { bucket, key, url } = parseAddress(req, o.domain);
      resource = `/${bucket}${key ? '/' + key : ''}`;
      const auth = await o.authenticate(req, url);
      const ctx: S3Ctx = {
        req,
        res,
        url,
        q: url.searchParams,
        method: req.method ?? 'GET',
        bucket,
        key,
        requestId,
        principal: auth.principal,
        body: auth.body,
        host: o.host,
        tmpDir: o.tmpDir,
        region,
        maxObjectBytes: o.maxObjectBytes,
      };
      await dispatch(ctx);
    } catch (e) {
      const { err, internal } = toS3Error(e);
      if (internal) o.log(`s3 ${req.method} ${resource}: ${redact(e instanceof Error ? e.message : String(e))}`);
      if (res.headersSent) return void res.destroy();
      const body = req.method === 'HEAD' ? null : Buffer.from(errorXml(err, resource, requestId), 'utf8');
      const bodyLeft = !req.complete && (req.headers['content-length'] ?? '0') !== '0';
      res.writeHead(err.status, {
        'Content-Type': 'application/xml',
        ...(body ? { 'Content-Length': String(body.length) } : {}),
        ...(bodyLeft ? { Connection: 'close' } : {}),
        ...err.headers,
      });
      res.end(body ?? undefined);
    }
  };
}
