/**
 * S3 errors: the XML body and status every S3 client expects
 * (<Error><Code>NoSuchKey</Code><Message>..</Message><Resource>..</Resource><RequestId>..</RequestId></Error>),
 * and the ONE mapping from core error codes (StrataError) to S3 codes. A core error may name its S3
 * code itself in `details.s3` (NoSuchUpload, InvalidPart, EntityTooSmall, BadDigest, ...).
 */
import { StrataError, type ErrorCode } from '../../core/errors/index.js';

/** An error answered as an S3 XML error body. */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

const FROM_CORE: Partial<Record<ErrorCode, [number, string]>> = {
  INVALID_ARGUMENT: [400, 'InvalidArgument'],
  AMBIGUOUS_REF: [400, 'InvalidArgument'],
  PATH_OUTSIDE_WORKSPACE: [400, 'InvalidArgument'],
  PAYLOAD_TOO_LARGE: [400, 'EntityTooLarge'],
  UNAUTHORIZED: [403, 'AccessDenied'],
  FORBIDDEN: [403, 'AccessDenied'],
  PERMISSION_DENIED: [403, 'AccessDenied'],
  NOT_A_REPOSITORY: [404, 'NoSuchBucket'],
  UNKNOWN_REF: [404, 'NoSuchKey'],
  PATH_NOT_FOUND: [404, 'NoSuchKey'],
  REF_CONFLICT: [409, 'OperationAborted'],
  REF_EXISTS: [409, 'OperationAborted'],
  NOTHING_TO_COMMIT: [409, 'OperationAborted'],
  UNCOMMITTED_CHANGES: [409, 'OperationAborted'],
  MERGE_IN_PROGRESS: [409, 'OperationAborted'],
  REPO_BUSY: [503, 'SlowDown'],
  REMOTE_UNREACHABLE: [503, 'ServiceUnavailable'],
  DISK_FULL: [507, 'InsufficientStorage'],
  OBJECT_MISSING: [500, 'InternalError'],
  OBJECT_CORRUPT: [500, 'InternalError'],
  DB_CORRUPT: [500, 'InternalError'],
};

/** Status of the S3 codes a core error may name in details.s3. */
const S3_STATUS: Record<string, number> = {
  NoSuchUpload: 404,
  NoSuchKey: 404,
  NoSuchBucket: 404,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  EntityTooSmall: 400,
  EntityTooLarge: 400,
  BadDigest: 400,
  InvalidDigest: 400,
  InvalidRequest: 400,
  InvalidArgument: 400,
  MalformedXML: 400,
  InvalidRange: 416,
  PreconditionFailed: 412,
  AccessDenied: 403,
  OperationAborted: 409,
  MethodNotAllowed: 405,
};

/** Anything thrown, as an S3Error (unexpected errors become 500 InternalError, their text stays in the log). */
export function toS3Error(e: unknown): { err: S3Error; internal: boolean } {
  if (e instanceof S3Error) return { err: e, internal: e.status >= 500 };
  if (e instanceof StrataError) {
    const named = typeof e.details?.s3 === 'string' ? (e.details.s3 as string) : null;
    if (named) return { err: new S3Error(S3_STATUS[named] ?? 400, named, withHint(e)), internal: false };
    const [status, code] = FROM_CORE[e.code] ?? [500, 'InternalError'];
    const internal = status >= 500;
    return { err: new S3Error(status, code, internal && status === 500 ? 'We encountered an internal error. Please try again.' : withHint(e)), internal };
  }
  return { err: new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'), internal: true };
}

function withHint(e: StrataError): string {
  return e.hint ? `${e.message} (${e.hint})` : e.message;
}

/** XML-escape text for element content and attribute values. */
export function xmlEscape(s: string): string {
  // Most values (ids, sizes, plain keys) need nothing: test before building a new string.
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}
const NEEDS_ESCAPE = /[&<>"']/;

/** The XML body of an error. */
export function errorXml(err: S3Error, resource: string, requestId: string): string {
  const extra = Object.entries(err.extra)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message>${extra}` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>${xmlEscape(requestId)}</RequestId></Error>`
  );
}
