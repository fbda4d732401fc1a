/**
 * Typed errors with stable codes. `core/` throws these; the CLI maps them to exit codes and the
 * server maps them to HTTP statuses. Codes are part of the public contract: never rename one.
 */
export type ErrorCode =
  | 'NOT_A_REPOSITORY'
  | 'ALREADY_INITIALIZED'
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_REF'
  | 'AMBIGUOUS_REF'
  | 'REF_EXISTS'
  | 'REF_CONFLICT'
  | 'NON_FAST_FORWARD'
  | 'MERGE_CONFLICT'
  | 'MERGE_IN_PROGRESS'
  | 'UNCOMMITTED_CHANGES'
  | 'NOTHING_TO_COMMIT'
  | 'PATH_OUTSIDE_WORKSPACE'
  | 'PATH_NOT_FOUND'
  | 'PATH_NOT_TRACKED'
  | 'PERMISSION_DENIED'
  | 'DISK_FULL'
  | 'REPO_BUSY'
  | 'OBJECT_MISSING'
  | 'OBJECT_CORRUPT'
  | 'DB_CORRUPT'
  | 'CONFIG_INVALID'
  | 'REMOTE_UNKNOWN'
  | 'REMOTE_EXISTS'
  | 'REMOTE_UNREACHABLE'
  | 'REMOTE_AUTH'
  | 'REMOTE_NOT_FOUND'
  | 'REMOTE_UNSUPPORTED'
  | 'PIPELINE_INVALID'
  | 'PIPELINE_CYCLE'
  | 'STAGE_FAILED'
  | 'RUN_NOT_FOUND'
  | 'CODE_DIRTY'
  | 'VERIFY_MISMATCH'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'SCHEMA_TOO_NEW'
  | 'IO_ERROR'
  | 'NOT_A_TABLE'
  | 'TABLE_UNREADABLE'
  | 'TABLE_QUERY_FAILED'
  | 'TABLE_KEY_NOT_UNIQUE'
  | 'CHECK_FAILED'
  | 'INTERNAL';

/** Process exit codes per error code (documented in docs/cli.md). 0 = ok, 1 = generic failure. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 2,
  NOT_A_REPOSITORY: 3,
  ALREADY_INITIALIZED: 3,
  SCHEMA_TOO_NEW: 3,
  UNKNOWN_REF: 4,
  AMBIGUOUS_REF: 4,
  REF_EXISTS: 4,
  RUN_NOT_FOUND: 4,
  PATH_NOT_FOUND: 4,
  PATH_NOT_TRACKED: 4,
  UNCOMMITTED_CHANGES: 5,
  NOTHING_TO_COMMIT: 5,
  CODE_DIRTY: 5,
  REF_CONFLICT: 6,
  NON_FAST_FORWARD: 6,
  REPO_BUSY: 7,
  PATH_OUTSIDE_WORKSPACE: 8,
  PERMISSION_DENIED: 9,
  UNAUTHORIZED: 9,
  FORBIDDEN: 9,
  DISK_FULL: 10,
  IO_ERROR: 10,
  OBJECT_MISSING: 11,
  OBJECT_CORRUPT: 11,
  DB_CORRUPT: 11,
  CONFIG_INVALID: 12,
  PIPELINE_INVALID: 12,
  PIPELINE_CYCLE: 12,
  PAYLOAD_TOO_LARGE: 2,
  REMOTE_UNKNOWN: 13,
  REMOTE_EXISTS: 13,
  REMOTE_UNREACHABLE: 13,
  REMOTE_AUTH: 13,
  REMOTE_NOT_FOUND: 13,
  REMOTE_UNSUPPORTED: 13,
  STAGE_FAILED: 14,
  VERIFY_MISMATCH: 15,
  MERGE_CONFLICT: 16,
  MERGE_IN_PROGRESS: 5,
  NOT_A_TABLE: 17,
  TABLE_UNREADABLE: 17,
  TABLE_QUERY_FAILED: 17,
  TABLE_KEY_NOT_UNIQUE: 17,
  CHECK_FAILED: 18,
  INTERNAL: 1,
};

export class StrataError extends Error {
  readonly code: ErrorCode;
  /** One line telling the user what to do about it. */
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'StrataError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code] ?? 1;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isStrataError(e: unknown, code?: ErrorCode): e is StrataError {
  return e instanceof StrataError && (code === undefined || e.code === code);
}

/** Translate a Node system error (ENOSPC, EACCES, ...) on `path` into a StrataError. */
export function fromSystemError(e: unknown, path?: string): StrataError {
  if (e instanceof StrataError) return e;
  const err = e as NodeJS.ErrnoException;
  const where = path ?? err?.path ?? '';
  switch (err?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StrataError('DISK_FULL', `no space left on device while writing ${where}`, {
        hint: 'free some disk space (strata gc removes unreachable objects), then retry; nothing was committed',
        cause: e,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StrataError('PERMISSION_DENIED', `permission denied: ${where}`, {
        hint: 'check the file permissions and ownership of that path',
        cause: e,
      });
    case 'ENOENT':
      return new StrataError('PATH_NOT_FOUND', `no such file or directory: ${where}`, { cause: e });
    default:
      return new StrataError('IO_ERROR', `${err?.code ?? 'error'}: ${err?.message ?? String(e)}`, { cause: e });
  }
}
