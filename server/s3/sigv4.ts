/**
 * AWS Signature Version 4 for the S3 gateway: the Authorization header and presigned URLs, the
 * clock-skew limit, and every payload mode S3 clients send (x-amz-content-sha256):
 *
 *   <64 hex>                                   SHA-256 of the body, checked as it streams
 *   UNSIGNED-PAYLOAD                           nothing to check (presigned URLs, rclone)
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD         aws-chunked, each chunk signed, chained from the seed
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER the same plus signed trailing checksum headers
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER         aws-chunked, unsigned, trailing checksum (SDK v3 streams)
 *
 * authenticate() checks the request head at once (synchronously, so it also fits an
 * `Expect: 100-continue` handler) and returns the decoded body as a PayloadStream. Everything about
 * the body (SHA-256, chunk signatures, Content-MD5, x-amz-checksum-* headers and trailers, the
 * decoded length) is verified as it streams, and a failure errors the stream BEFORE it ends: a
 * handler that writes the body to a temporary file and keeps it only when the stream ends cleanly
 * never keeps a byte that failed a check.
 */
import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Principal } from '../auth.js';
import { CHECKSUM_BYTES, createChecksum, type Checksum, type ChecksumAlgorithm } from './checksums.js';
import { S3Error } from './errors.js';
import type { AccessKeyStore } from './keys.js';

export interface AuthOptions {
  /** The server's clock (ms since the epoch); default Date.now(). */
  now?: number;
  /** Largest difference allowed between the request's time and the server's; default 15 minutes. */
  maxSkewMs?: number;
}

export interface AuthResult {
  /** The key's principal, or null for an anonymous request (no signature at all). */
  principal: Principal | null;
  accessKeyId: string | null;
  /** The decoded payload (aws-chunked framing removed), verified as it is read. */
  body: VerifiedBody;
  /** Length of the decoded payload when the request states it, else null. */
  decodedLength: number | null;
}

/**
 * The request body as authenticate() hands it out: a Readable of the decoded bytes that errors
 * (with an S3Error) before it ends when any check fails.
 */
export interface VerifiedBody extends Readable {
  /** Compute the MD5 of the decoded bytes too (the S3 ETag of an object or part); call before reading. */
  wantMd5(): this;
  /** Digests of the verified body; null until it has ended cleanly (set before 'end' is emitted). */
  readonly digests: PayloadDigests | null;
}

/** What the body turned out to be, set when it ended cleanly (before 'end' is emitted). */
export interface PayloadDigests {
  bytes: number;
  /** MD5 (hex) of the decoded bytes: when wantMd5() was called or the client sent Content-MD5. */
  md5: string | null;
  /** The checksums the client sent (header or trailer) and that matched, base64 as S3 answers them. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const UNSIGNED = 'UNSIGNED-PAYLOAD';
const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const DEFAULT_SKEW_MS = 15 * 60 * 1000;
const MAX_EXPIRES_S = 604_800;
const HEX64 = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const ALGORITHMS: ChecksumAlgorithm[] = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'];

const malformedHeader = (why: string) => new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${why}`);
const malformedQuery = (why: string) => new S3Error(400, 'AuthorizationQueryParametersError', why);
const invalidRequest = (why: string) => new S3Error(400, 'InvalidRequest', why);

// ---------------------------------------------------------------------------------------------
// Canonical request pieces

/** AWS URI encoding: every UTF-8 byte except A-Z a-z 0-9 - _ . ~ as %XX (upper case). */
function awsEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function decodeLoose(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The request target split into raw path and raw query (absolute-form targets lose scheme and authority). */
function splitTarget(target: string): { path: string; query: string } {
  let t = target;
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(t);
  if (abs) t = t.slice(abs[0].length) || '/';
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf('?');
  return q < 0 ? { path: t, query: '' } : { path: t.slice(0, q), query: t.slice(q + 1) };
}

/** S3's canonical URI: the path as sent, each segment decoded once and encoded again by AWS rules (no dot-segment removal). */
function canonicalUri(rawPath: string): string {
  if (!rawPath) return '/';
  return rawPath
    .split('/')
    .map((seg) => awsEncode(decodeLoose(seg)))
    .join('/');
}

/** Raw query parameters in order, decoded (a '+' stays a '+', as S3 signers encode spaces as %20). */
function parseQuery(rawQuery: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    out.push(eq < 0 ? [decodeLoose(part), ''] : [decodeLoose(part.slice(0, eq)), decodeLoose(part.slice(eq + 1))]);
  }
  return out;
}

function canonicalQuery(params: Array<[string, string]>, skip?: string): string {
  const enc = params.filter(([k]) => k !== skip).map(([k, v]) => [awsEncode(k), awsEncode(v)] as const);
  enc.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return enc.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Every header's values as sent (rawHeaders keeps duplicates), by lower-case name. */
function headerValues(req: IncomingMessage): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const list = m.get(name);
    if (list) list.push(raw[i + 1]!);
    else m.set(name, [raw[i + 1]!]);
  }
  return m;
}

function canonicalHeaders(values: Map<string, string[]>, signed: string[]): string {
  let s = '';
  for (const name of signed) {
    const v = (values.get(name) ?? []).map((x) => x.trim().replace(/\s+/g, ' ')).join(',');
    s += `${name}:${v}\n`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Keys and signatures

const signingKeys = new Map<string, Buffer>();

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\0${region}\0${service}\0${secret}`;
  let k = signingKeys.get(id);
  if (!k) {
    k = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
    if (signingKeys.size >= 1024) signingKeys.clear();
    signingKeys.set(id, k);
  }
  return k;
}

function sameSignature(expectedHex: string, providedHex: string): boolean {
  const a = Buffer.from(expectedHex, 'hex');
  const b = Buffer.from(HEX64.test(providedHex) ? providedHex : '', 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** 20130524T000000Z -> ms since the epoch, or null. */
function parseAmzDate(s: string): number | null {
  const m = AMZ_DATE.exec(s);
  if (!m) return null;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isFinite(t) && new Date(t).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '') === s ? t : null;
}

/** 2013-05-24T00:20:43Z, as S3 writes times in its errors (SDKs parse it to correct their clock). */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

function parseCredential(value: string, fail: (why: string) => S3Error): Credential {
  const parts = value.split('/');
  if (parts.length !== 5 || !parts[0] || !/^\d{8}$/.test(parts[1]!) || !parts[2]) {
    throw fail('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  const [accessKeyId, date, region, service, terminal] = parts as [string, string, string, string, string];
  if (service !== 's3') throw fail(`incorrect service "${service}". This endpoint belongs to "s3".`);
  if (terminal !== 'aws4_request') throw fail(`incorrect terminal "${terminal}". This endpoint uses "aws4_request".`);
  return { accessKeyId, date, region, service };
}

interface Signed {
  credential: Credential;
  signedHeaders: string[];
  signature: string;
  /** ISO 8601 basic time of the request (x-amz-date, Date, or X-Amz-Date). */
  timestamp: string;
  time: number;
  payloadHash: string;
  canonicalQuery: string;
  presigned: boolean;
}

function parseAuthorizationHeader(auth: string, values: Map<string, string[]>, params: Array<[string, string]>): Signed {
  const rest = auth.slice(ALGORITHM.length).trim();
  const fields = new Map<string, string>();
  for (const part of rest.split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    if (eq <= 0) throw malformedHeader(`cannot parse "${p}"; expecting "Credential=..., SignedHeaders=..., Signature=...".`);
    fields.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }
  const cred = fields.get('Credential');
  const sh = fields.get('SignedHeaders');
  const sig = fields.get('Signature');
  if (!cred || !sh || !sig) throw malformedHeader('it needs Credential, SignedHeaders and Signature.');
  const credential = parseCredential(cred, malformedHeader);
  if (!/^[0-9a-fA-F]{64}$/.test(sig)) throw malformedHeader('the Signature is not 64 hexadecimal digits.');

  const first = (n: string) => values.get(n)?.[0];
  let timestamp: string;
  let time: number | null;
  const xAmzDate = first('x-amz-date');
  if (xAmzDate !== undefined) {
    time = parseAmzDate(xAmzDate.trim());
    timestamp = xAmzDate.trim();
  } else {
    const d = first('date');
    const t = d === undefined ? NaN : Date.parse(d);
    time = Number.isFinite(t) ? t : null;
    timestamp = time === null ? '' : amzDate(time);
  }
  if (time === null) throw new S3Error(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  if (credential.date !== timestamp.slice(0, 8)) {
    throw malformedHeader(`Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${timestamp.slice(0, 8)}".`);
  }
  const payload = first('x-amz-content-sha256')?.trim();
  let payloadHash: string;
  if (payload !== undefined) payloadHash = payload;
  else if (values.has('content-length') && first('content-length')!.trim() !== '0') throw invalidRequest('Missing required header for this request: x-amz-content-sha256');
  else if (values.has('transfer-encoding')) throw invalidRequest('Missing required header for this request: x-amz-content-sha256');
  else payloadHash = EMPTY_SHA256;
  return {
    credential,
    signedHeaders: sh.split(';').map((h) => h.trim().toLowerCase()),
    signature: sig.toLowerCase(),
    timestamp,
    time,
    payloadHash,
    canonicalQuery: canonicalQuery(params),
    presigned: false,
  };
}

function parsePresigned(params: Array<[string, string]>, now: number, maxSkewMs: number): Signed {
  const get = (n: string) => params.find(([k]) => k === n)?.[1];
  const alg = get('X-Amz-Algorithm');
  if (alg !== ALGORITHM) throw malformedQuery(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const cred = get('X-Amz-Credential');
  const date = get('X-Amz-Date');
  const expires = get('X-Amz-Expires');
  const sh = get('X-Amz-SignedHeaders');
  const sig = get('X-Amz-Signature');
  if (!cred || !date || expires === undefined || !sh || !sig) {
    throw malformedQuery('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  const credential = parseCredential(cred, (why) => malformedQuery(`Error parsing the X-Amz-Credential parameter; ${why}`));
  const time = parseAmzDate(date);
  if (time === null) throw malformedQuery(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  if (credential.date !== date.slice(0, 8)) {
    throw malformedQuery(`Error parsing the X-Amz-Credential parameter; Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${date.slice(0, 8)}".`);
  }
  if (!/^\d{1,7}$/.test(expires)) throw malformedQuery('X-Amz-Expires should be a number');
  const secs = Number(expires);
  if (secs < 1) throw malformedQuery('X-Amz-Expires must be non-negative and at least 1');
  if (secs > MAX_EXPIRES_S) throw malformedQuery(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_EXPIRES_S}`);
  if (!/^[0-9a-fA-F]{64}$/.test(sig)) throw malformedQuery('X-Amz-Signature is not 64 hexadecimal digits');
  if (time - now > maxSkewMs) throw new S3Error(403, 'AccessDenied', 'Request is not valid yet', { 'X-Amz-Date': date, ServerTime: isoSeconds(now) });
  if (now > time + secs * 1000) {
    throw new S3Error(403, 'AccessDenied', 'Request has expired', {
      'X-Amz-Expires': expires,
      Expires: isoSeconds(time + secs * 1000),
      ServerTime: isoSeconds(now),
    });
  }
  return {
    credential,
    signedHeaders: sh.split(';').map((h) => h.trim().toLowerCase()),
    signature: sig.toLowerCase(),
    timestamp: date,
    time,
    payloadHash: get('X-Amz-Content-Sha256') ?? UNSIGNED,
    canonicalQuery: canonicalQuery(params, 'X-Amz-Signature'),
    presigned: true,
  };
}

// ---------------------------------------------------------------------------------------------
// authenticate

/**
 * Authenticate one S3 request from its head. Throws S3Error (InvalidAccessKeyId,
 * SignatureDoesNotMatch, RequestTimeTooSkewed, AccessDenied, AuthorizationHeaderMalformed,
 * AuthorizationQueryParametersError, InvalidRequest, InvalidArgument, InvalidDigest). A request
 * with no signature at all is anonymous (principal null): authorize() decides what it may do.
 * The body is read only through the returned stream; it errors with XAmzContentSHA256Mismatch,
 * SignatureDoesNotMatch, BadDigest, IncompleteBody or InvalidRequest before it ends.
 *
 * `url` is the parsed request URL (for the X-Amz-* parameters); the canonical path and query are
 * taken from req.url exactly as sent, since URL parsing normalises both.
 */
export function authenticate(req: IncomingMessage, url: URL, keys: Pick<AccessKeyStore, 'lookup'>, opts: AuthOptions = {}): AuthResult {
  const now = opts.now ?? Date.now();
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_SKEW_MS;
  const values = headerValues(req);
  const { path, query } = splitTarget(req.url ?? '/');
  const auth = values.get('authorization')?.[0];
  const sp = url.searchParams;
  const queryAuth = sp.has('X-Amz-Algorithm') || sp.has('X-Amz-Credential') || sp.has('X-Amz-Signature');

  if (auth !== undefined && queryAuth) {
    throw new S3Error(400, 'InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified');
  }
  if (auth !== undefined && !auth.startsWith(ALGORITHM + ' ')) {
    throw invalidRequest(`The authorization mechanism you have provided is not supported. Please use ${ALGORITHM}.`);
  }
  if (auth === undefined && !queryAuth && (sp.has('Signature') || sp.has('AWSAccessKeyId'))) {
    throw invalidRequest(`The authorization mechanism you have provided is not supported. Please use ${ALGORITHM}.`);
  }

  if (auth === undefined && !queryAuth) {
    const mode = values.get('x-amz-content-sha256')?.[0]?.trim();
    if (mode === STREAMING_SIGNED || mode === STREAMING_SIGNED_TRAILER) throw new S3Error(403, 'AccessDenied', `${mode} needs a signed request (an Authorization header)`);
    return finish(req, values, null, null, mode ?? UNSIGNED, null);
  }

  const params = parseQuery(query);
  const s = auth !== undefined ? parseAuthorizationHeader(auth, values, params) : parsePresigned(params, now, maxSkewMs);
  const { secret, principal } = keys.lookup(s.credential.accessKeyId);

  if (!s.presigned && Math.abs(now - s.time) > maxSkewMs) {
    throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: s.timestamp,
      ServerTime: isoSeconds(now),
      MaxAllowedSkewMilliseconds: String(maxSkewMs),
    });
  }
  if (!s.signedHeaders.includes('host')) {
    throw new S3Error(403, 'AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: 'host' });
  }
  const unsigned = [...values.keys()].filter((h) => h.startsWith('x-amz-') && !s.signedHeaders.includes(h));
  if (unsigned.length) {
    throw new S3Error(403, 'AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.sort().join(', ') });
  }

  const canonicalRequest = [
    req.method ?? 'GET',
    canonicalUri(path),
    s.canonicalQuery,
    canonicalHeaders(values, s.signedHeaders),
    s.signedHeaders.join(';'),
    s.payloadHash,
  ].join('\n');
  const scope = `${s.credential.date}/${s.credential.region}/${s.credential.service}/aws4_request`;
  const stringToSign = `${ALGORITHM}\n${s.timestamp}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  const key = signingKey(secret, s.credential.date, s.credential.region, s.credential.service);
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  if (!sameSignature(expected, s.signature)) {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
      AWSAccessKeyId: s.credential.accessKeyId,
      StringToSign: stringToSign,
      SignatureProvided: s.signature,
      CanonicalRequest: canonicalRequest,
    });
  }
  if (s.presigned && s.payloadHash.startsWith('STREAMING-')) throw invalidRequest(`${s.payloadHash} cannot be used with a presigned URL`);
  return finish(req, values, principal, s.credential.accessKeyId, s.payloadHash, { key, scope, timestamp: s.timestamp, seed: expected });
}

interface ChainStart {
  key: Buffer;
  scope: string;
  timestamp: string;
  seed: string;
}

function finish(req: IncomingMessage, values: Map<string, string[]>, principal: Principal | null, accessKeyId: string | null, mode: string, chain: ChainStart | null): AuthResult {
  const first = (n: string) => values.get(n)?.[0]?.trim();
  let framing: Framing | null = null;
  let sha256: string | null = null;
  if (mode === STREAMING_SIGNED || mode === STREAMING_SIGNED_TRAILER || mode === STREAMING_UNSIGNED_TRAILER) {
    const signed = mode !== STREAMING_UNSIGNED_TRAILER;
    const withTrailer = mode !== STREAMING_SIGNED;
    if (signed && !chain) throw new S3Error(403, 'AccessDenied', `${mode} needs a signed request`);
    const declared = (first('x-amz-trailer') ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean);
    if (!withTrailer && declared.length) throw invalidRequest(`x-amz-trailer needs x-amz-content-sha256: ${STREAMING_SIGNED_TRAILER} or ${STREAMING_UNSIGNED_TRAILER}`);
    for (const t of declared) {
      if (!t.startsWith('x-amz-checksum-') || !ALGORITHMS.includes(t.slice('x-amz-checksum-'.length) as ChecksumAlgorithm)) {
        throw invalidRequest(`The value specified in the x-amz-trailer header is not supported: ${t}`);
      }
    }
    if (declared.length > 1) throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
    framing = { signed, trailer: withTrailer, declared, chain: signed ? chain : null };
  } else if (HEX64.test(mode)) {
    sha256 = mode;
  } else if (/^[0-9A-F]{64}$/.test(mode)) {
    sha256 = mode.toLowerCase();
  } else if (mode !== UNSIGNED) {
    if (mode.startsWith('STREAMING-')) throw new S3Error(501, 'NotImplemented', `x-amz-content-sha256 ${mode} is not supported; use ${STREAMING_SIGNED}, ${STREAMING_UNSIGNED_TRAILER} or UNSIGNED-PAYLOAD`);
    throw new S3Error(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.');
  }

  // Content-MD5 and x-amz-checksum-* headers
  let md5: Buffer | null = null;
  const md5Header = first('content-md5');
  if (md5Header !== undefined) {
    md5 = decodeBase64(md5Header, 16);
    if (!md5) throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
  }
  const sent = ALGORITHMS.filter((a) => values.has(`x-amz-checksum-${a}`));
  if (sent.length > 1 || (sent.length && framing?.declared.length)) throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  let checksum: { alg: ChecksumAlgorithm; expected: Buffer | null } | null = null;
  if (sent.length) {
    const alg = sent[0]!;
    const v = decodeBase64(first(`x-amz-checksum-${alg}`)!, CHECKSUM_BYTES[alg]);
    if (!v) throw invalidRequest(`Value for x-amz-checksum-${alg} header is invalid.`);
    checksum = { alg, expected: v };
  } else if (framing?.declared.length) {
    checksum = { alg: framing.declared[0]!.slice('x-amz-checksum-'.length) as ChecksumAlgorithm, expected: null };
  }

  let decodedLength: number | null = null;
  if (framing) {
    const d = first('x-amz-decoded-content-length');
    if (d !== undefined) {
      if (!/^\d{1,16}$/.test(d)) throw invalidRequest('x-amz-decoded-content-length must be a number of bytes');
      decodedLength = Number(d);
    }
  } else {
    const cl = first('content-length');
    if (cl !== undefined && /^\d{1,16}$/.test(cl)) decodedLength = Number(cl);
    else if (cl === undefined && !values.has('transfer-encoding')) decodedLength = 0;
  }

  const body = new PayloadStream({ framing, sha256, md5, checksum, decodedLength });
  body.attach(req);
  return { principal, accessKeyId, body, decodedLength };
}

function decodeBase64(s: string, bytes: number): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length !== Math.ceil(bytes / 3) * 4) return null;
  const b = Buffer.from(s, 'base64');
  return b.length === bytes ? b : null;
}

// ---------------------------------------------------------------------------------------------
// The body

interface Framing {
  signed: boolean;
  trailer: boolean;
  /** Trailer header names the client declared in x-amz-trailer (lower case). */
  declared: string[];
  chain: ChainStart | null;
}

interface PayloadSpec {
  framing: Framing | null;
  sha256: string | null;
  md5: Buffer | null;
  checksum: { alg: ChecksumAlgorithm; expected: Buffer | null } | null;
  decodedLength: number | null;
}

const MAX_LINE = 4096;
const CRLF = Buffer.from('\r\n');

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

/**
 * The decoded request body. Bytes come out as they arrive (aws-chunked framing removed); each
 * check runs on the bytes it covers and a failure destroys the stream with an S3Error, never
 * after 'end'. `digests` is set just before 'end'.
 */
class PayloadStream extends Transform implements VerifiedBody {
  private readonly spec: PayloadSpec;
  private bytes = 0;
  private sha256: Hash | null;
  private md5: Hash | null;
  private checksum: Checksum | null;
  private started = false;
  private result: PayloadDigests | null = null;
  // aws-chunked decoder
  private state: State = 'size';
  private line: Buffer[] = [];
  private lineLen = 0;
  private remaining = 0;
  private chunkHash: Hash | null = null;
  private chunkSignature = '';
  private previousSignature = '';
  private trailers: Array<[string, string]> = [];

  constructor(spec: PayloadSpec) {
    super();
    this.spec = spec;
    this.sha256 = spec.sha256 ? createHash('sha256') : null;
    this.md5 = spec.md5 ? createHash('md5') : null;
    this.checksum = spec.checksum ? createChecksum(spec.checksum.alg) : null;
    this.previousSignature = spec.framing?.chain?.seed ?? '';
  }

  wantMd5(): this {
    if (this.started) throw new Error('wantMd5() must be called before the body is read');
    this.md5 ??= createHash('md5');
    return this;
  }

  get digests(): PayloadDigests | null {
    return this.result;
  }

  /** Feed from the request: a client that goes away mid-body ends this stream with IncompleteBody. */
  attach(req: IncomingMessage): void {
    req.pipe(this);
    const incomplete = () => {
      if (!req.complete && !this.destroyed) this.destroy(new S3Error(400, 'IncompleteBody', 'The request body ended before the number of bytes the request declared was received.'));
    };
    req.on('aborted', incomplete);
    req.on('close', incomplete);
    req.on('error', incomplete);
    this.on('error', () => {
      req.unpipe(this);
      // Read and drop the rest so the error answer can still be delivered on this connection.
      if (!req.destroyed) req.resume();
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.started = true;
    try {
      if (this.spec.framing) this.decode(chunk);
      else this.emitData(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      const f = this.spec.framing;
      if (f && this.state !== 'done') {
        // After the final zero-size chunk's line, a body may stop without the closing empty line
        // (when no trailer was declared, or after the declared trailer lines).
        const atLineStart = this.state === 'trailer' && this.lineLen === 0;
        if (!atLineStart || (f.declared.length > 0 && this.trailers.length === 0)) {
          throw new S3Error(400, 'IncompleteBody', 'The aws-chunked request body ended before its final chunk.');
        }
        this.finishTrailer();
      }
      this.verifyEnd();
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  private emitData(b: Buffer): void {
    if (!b.length) return;
    this.bytes += b.length;
    if (this.spec.decodedLength !== null && this.bytes > this.spec.decodedLength) {
      throw invalidRequest(`The request body is longer than the ${this.spec.framing ? 'x-amz-decoded-content-length' : 'Content-Length'} it declared (${this.spec.decodedLength} bytes).`);
    }
    this.sha256?.update(b);
    this.md5?.update(b);
    this.checksum?.update(b);
    this.push(b);
  }

  private verifyEnd(): void {
    const spec = this.spec;
    if (spec.decodedLength !== null && this.bytes !== spec.decodedLength) {
      throw new S3Error(400, 'IncompleteBody', `You did not provide the number of bytes specified by the ${spec.framing ? 'x-amz-decoded-content-length' : 'Content-Length'} HTTP header (${this.bytes} of ${spec.decodedLength}).`);
    }
    if (this.sha256) {
      const got = this.sha256.digest('hex');
      if (got !== spec.sha256) {
        throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          ClientComputedContentSHA256: spec.sha256!,
          S3ComputedContentSHA256: got,
        });
      }
    }
    let md5: string | null = null;
    if (this.md5) {
      const d = this.md5.digest();
      md5 = d.toString('hex');
      if (spec.md5 && !d.equals(spec.md5)) {
        throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', {
          ExpectedDigest: spec.md5.toString('base64'),
          CalculatedDigest: d.toString('base64'),
        });
      }
    }
    const checksums: PayloadDigests['checksums'] = {};
    if (this.checksum && spec.checksum) {
      const alg = spec.checksum.alg;
      const got = this.checksum.digest();
      const expected = spec.checksum.expected;
      if (!expected) throw invalidRequest(`The x-amz-trailer header declared x-amz-checksum-${alg}, but the trailer did not send it.`);
      if (!got.equals(expected)) {
        throw new S3Error(400, 'BadDigest', `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`, {
          [`Checksum${alg.toUpperCase()}`]: expected.toString('base64'),
          [`Calculated${alg.toUpperCase()}`]: got.toString('base64'),
        });
      }
      checksums[alg] = got.toString('base64');
    }
    this.result = { bytes: this.bytes, md5, checksums };
  }

  // ---- aws-chunked

  private decode(b: Buffer): void {
    let i = 0;
    while (i < b.length) {
      switch (this.state) {
        case 'size':
        case 'trailer': {
          const nl = b.indexOf(0x0a, i);
          const end = nl < 0 ? b.length : nl + 1;
          this.line.push(b.subarray(i, end));
          this.lineLen += end - i;
          if (this.lineLen > MAX_LINE) throw invalidRequest('An aws-chunked chunk header or trailer line is too long.');
          i = end;
          if (nl < 0) break;
          const text = Buffer.concat(this.line).toString('latin1');
          this.line = [];
          this.lineLen = 0;
          if (!text.endsWith('\r\n')) throw invalidRequest('Malformed aws-chunked body: lines must end with CRLF.');
          const l = text.slice(0, -2);
          if (this.state === 'size') this.chunkHeader(l);
          else this.trailerLine(l);
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, b.length - i);
          const part = b.subarray(i, i + n);
          this.chunkHash?.update(part);
          this.emitData(part);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) {
            this.endChunk();
            this.state = 'data-crlf';
            this.remaining = 2;
          }
          break;
        }
        case 'data-crlf': {
          while (this.remaining > 0 && i < b.length) {
            if (b[i] !== CRLF[2 - this.remaining]) throw invalidRequest('Malformed aws-chunked body: chunk data must be followed by CRLF.');
            this.remaining--;
            i++;
          }
          if (this.remaining === 0) this.state = 'size';
          break;
        }
        case 'done':
          throw invalidRequest('Malformed aws-chunked body: bytes after the final chunk.');
      }
    }
  }

  private chunkHeader(l: string): void {
    const parts = l.split(';');
    const sizeHex = parts[0]!.trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeHex)) throw invalidRequest(`Malformed aws-chunked body: bad chunk size ${JSON.stringify(sizeHex.slice(0, 20))}.`);
    const size = parseInt(sizeHex, 16);
    const f = this.spec.framing!;
    if (f.signed) {
      const ext = parts.slice(1).map((p) => p.trim()).find((p) => p.startsWith('chunk-signature='));
      const sig = ext?.slice('chunk-signature='.length) ?? '';
      if (!/^[0-9a-fA-F]{64}$/.test(sig)) throw invalidRequest('Malformed aws-chunked body: a chunk has no chunk-signature.');
      this.chunkSignature = sig.toLowerCase();
      this.chunkHash = createHash('sha256');
    }
    if (size === 0) {
      this.endChunk();
      this.state = 'trailer';
      return;
    }
    this.remaining = size;
    this.state = 'data';
  }

  /** Check the signature of the chunk just read (signed modes), chained from the previous one. */
  private endChunk(): void {
    const f = this.spec.framing!;
    if (!f.signed || !this.chunkHash) return;
    const c = f.chain!;
    const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${c.timestamp}\n${c.scope}\n${this.previousSignature}\n${EMPTY_SHA256}\n${this.chunkHash.digest('hex')}`;
    const expected = createHmac('sha256', c.key).update(sts, 'utf8').digest('hex');
    this.chunkHash = null;
    if (!sameSignature(expected, this.chunkSignature)) {
      throw new S3Error(403, 'SignatureDoesNotMatch', 'The chunk signature we calculated does not match the chunk-signature you provided.', { StringToSign: sts, SignatureProvided: this.chunkSignature });
    }
    this.previousSignature = expected;
  }

  private trailerLine(l: string): void {
    if (l === '') {
      this.finishTrailer();
      this.state = 'done';
      return;
    }
    if (!this.spec.framing!.trailer) throw invalidRequest('Malformed aws-chunked body: a trailer was sent without x-amz-trailer.');
    const colon = l.indexOf(':');
    if (colon <= 0) throw invalidRequest('Malformed aws-chunked trailer line.');
    this.trailers.push([l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()]);
    if (this.trailers.length > 16) throw invalidRequest('Too many aws-chunked trailer headers.');
  }

  /** Apply the trailer (checksum value, trailer signature) once its lines are all read. */
  private finishTrailer(): void {
    const f = this.spec.framing!;
    if (!f.trailer) return;
    let signature: string | null = null;
    const headers: Array<[string, string]> = [];
    for (const [k, v] of this.trailers) {
      if (k === 'x-amz-trailer-signature') signature = v.toLowerCase();
      else headers.push([k, v]);
    }
    for (const [k, v] of headers) {
      if (!f.declared.includes(k)) throw invalidRequest(`The trailer header ${k} was not declared in x-amz-trailer.`);
      const alg = k.slice('x-amz-checksum-'.length) as ChecksumAlgorithm;
      const val = decodeBase64(v, CHECKSUM_BYTES[alg]);
      if (!val) throw invalidRequest(`Value for ${k} trailing header is invalid.`);
      if (this.spec.checksum?.alg === alg) this.spec.checksum.expected = val;
    }
    if (f.signed) {
      const c = f.chain!;
      const canonical = headers.map(([k, v]) => `${k}:${v}\n`).join('');
      const sts = `AWS4-HMAC-SHA256-TRAILER\n${c.timestamp}\n${c.scope}\n${this.previousSignature}\n${sha256Hex(canonical)}`;
      const expected = createHmac('sha256', c.key).update(sts, 'utf8').digest('hex');
      if (signature === null || !sameSignature(expected, signature)) {
        throw new S3Error(403, 'SignatureDoesNotMatch', 'The trailer signature we calculated does not match the x-amz-trailer-signature you provided.', { StringToSign: sts });
      }
    }
  }
}

/**
 * The Content-Encoding to keep for an object: the request's without `aws-chunked` (S3 removes the
 * transfer framing it decoded), or null when nothing is left.
 */
export function storedContentEncoding(req: IncomingMessage): string | null {
  const v = req.headers['content-encoding'];
  if (!v) return null;
  const rest = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s.toLowerCase() !== 'aws-chunked');
  return rest.length ? rest.join(', ') : null;
}
