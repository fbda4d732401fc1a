/**
 * Building blocks of the strict object parsers: every field of an object read from a store or a
 * remote is checked for type and range before anything uses it, and each failure becomes ONE
 * StrataError('OBJECT_CORRUPT') naming the object (never a TypeError from deep inside a caller).
 * Pure: no I/O.
 */
import { StrataError } from '../errors/index.js';
import { ID_RE } from '../hash/index.js';
import { MAX_JSON_DEPTH, MAX_NAME_BYTES, MAX_TEXT_BYTES } from './limits.js';

/** Where an object came from, for the error message: its id and (when downloaded) the remote. */
export interface ObjectContext {
  id?: string;
  /** e.g. `remote origin (file:///srv/data)`. */
  source?: string;
}

/** Thrown by the field checks; turned into one OBJECT_CORRUPT error by `parseObject`. */
class Malformed extends Error {
  constructor(
    readonly reason: string,
    readonly canonical = false,
  ) {
    super(reason);
  }
}

export function bad(reason: string): never {
  throw new Malformed(reason);
}

/** "tree object 3fa… from remote origin (file:///…)" */
function describeObject(kind: string, ctx: ObjectContext = {}): string {
  return `${kind} object${ctx.id ? ' ' + ctx.id : ''}${ctx.source ? ' from ' + ctx.source : ''}`;
}

function corruptError(kind: string, ctx: ObjectContext, reason: string, canonical = false): StrataError {
  const what = describeObject(kind, ctx);
  const message = canonical ? `${what} is not in canonical form (${reason})` : `${what} is corrupt: ${reason}`;
  const hint = ctx.source
    ? 'nothing was changed locally; the remote serves an object Strata refuses (damaged or crafted): push a good copy from a repository that has one, or ask the remote owner'
    : 'the object is damaged or was crafted; run strata fsck (a good copy can be fetched again from a remote that has one)';
  return new StrataError('OBJECT_CORRUPT', message, { hint, details: { kind, ...(ctx.id ? { id: ctx.id } : {}), ...(ctx.source ? { source: ctx.source } : {}), reason } });
}

/**
 * Decode `bytes` as JSON, hand the value to `build` (which checks every field and returns the
 * typed object), then require that re-serializing gives back exactly the input bytes.
 */
export function parseObject<T>(kind: string, bytes: Uint8Array | string, ctx: ObjectContext | undefined, build: (raw: unknown) => T, serialize: (v: T, raw: unknown) => Buffer | string): T {
  const c = ctx ?? {};
  const buf = typeof bytes === 'string' ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const text = buf ? buf.toString('utf8') : (bytes as string);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new Malformed('not valid JSON');
    }
    const v = build(raw);
    let again: Buffer | string;
    try {
      again = serialize(v, raw);
    } catch {
      throw new Malformed('it cannot be serialized again', true);
    }
    // Compare as text (no copy); bytes that were not valid UTF-8 decode to U+FFFD, so when one is
    // present compare the bytes too.
    const againText = typeof again === 'string' ? again : again.toString('utf8');
    let same = againText === text;
    if (same && buf && text.includes('\uFFFD')) same = buf.equals(Buffer.from(againText, 'utf8'));
    if (!same) throw new Malformed('its bytes differ from the canonical serialization of what they contain: whitespace, key order, number or string form, or an unexpected field', true);
    return v;
  } catch (e) {
    if (e instanceof Malformed) throw corruptError(kind, c, e.reason, e.canonical);
    if (e instanceof StrataError) throw e;
    // A bug in a check must still not surface as a TypeError: report the object, keep the cause.
    const err = corruptError(kind, c, `it could not be read (${(e as Error)?.message ?? String(e)})`);
    throw err;
  }
}

// ------------------------------------------------------------------------ field checks

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(v)) bad(`${what} is not an object`);
  return v;
}

export function arr(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v)) bad(`${what} is not a list`);
  if (v.length > max) bad(`${what} has ${v.length} items, over the limit of ${max}`);
  return v;
}

/** Refuse fields not in `required` or `optional`, and missing required ones. */
export function fields(o: Record<string, unknown>, what: string, required: readonly string[], optional: readonly string[] = []): void {
  for (const k of Object.keys(o)) {
    if (!required.includes(k) && !optional.includes(k)) bad(`${what} has an unknown field ${JSON.stringify(k)}`);
  }
  for (const k of required) if (!(k in o)) bad(`${what} has no field ${JSON.stringify(k)}`);
}

/** True when `s` is well-formed UTF-16 (no lone surrogate), i.e. it has one UTF-8 encoding. */
function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

export function str(v: unknown, what: string, opts: { max?: number; nonEmpty?: boolean; noNul?: boolean } = {}): string {
  if (typeof v !== 'string') bad(`${what} is not a string`);
  if (opts.nonEmpty && v === '') bad(`${what} is empty`);
  if (!wellFormed(v)) bad(`${what} is not valid Unicode`);
  const max = opts.max ?? MAX_TEXT_BYTES;
  // Byte length is at most 3x the UTF-16 length: only count when it could be over.
  if (v.length * 3 > max && Buffer.byteLength(v, 'utf8') > max) bad(`${what} is longer than ${max} bytes`);
  if (opts.noNul && v.includes('\0')) bad(`${what} contains a NUL byte`);
  return v;
}

export function strOrNull(v: unknown, what: string, opts: { max?: number; nonEmpty?: boolean; noNul?: boolean } = {}): string | null {
  return v === null ? null : str(v, what, opts);
}

export function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') bad(`${what} is not true or false`);
  return v;
}

/** A safe integer (default: non-negative). */
export function int(v: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad(`${what} is not an integer`);
  if (v < min) bad(`${what} is ${v}, below ${min}`);
  if (v > max) bad(`${what} is ${v}, over ${max}`);
  return v;
}

export function id(v: unknown, what: string): string {
  if (typeof v !== 'string' || !ID_RE.test(v)) bad(`${what} is not an object id (64 lowercase hex digits)`);
  return v;
}

export function idOrNull(v: unknown, what: string): string | null {
  return v === null ? null : id(v, what);
}

export function oneOf<T extends string>(v: unknown, what: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(`${what} is ${JSON.stringify(v)}, not one of ${allowed.join(', ')}`);
  return v as T;
}

/** Free-form JSON (parameters, metadata): any JSON value, nested at most MAX_JSON_DEPTH deep. */
export function jsonValue(v: unknown, what: string, depth = 0): unknown {
  if (depth > MAX_JSON_DEPTH) bad(`${what} is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) bad(`${what} is not a finite number`);
    return v;
  }
  if (typeof v === 'string') return str(v, what);
  if (Array.isArray(v)) {
    for (const x of v) jsonValue(x, what, depth + 1);
    return v;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) {
      str(k, `a key in ${what}`);
      jsonValue(v[k], what, depth + 1);
    }
    return v;
  }
  bad(`${what} is not JSON`);
}

// ------------------------------------------------------------------------ names and paths

/** Names no tree may hold in any directory, compared without case (as git refuses `.GIT`). */
const RESERVED = new Set(['.git', '.strata']);

/**
 * Why `name` cannot be a path component, or null when it can. `reserved: false` accepts `.git` and
 * `.strata` (for paths a record only names — tracked roots, run inputs — where refusing would make a
 * user's own record unreadable; the workspace writer refuses writing there in any case).
 */
export function nameProblem(name: unknown, opts: { reserved?: boolean } = {}): string | null {
  if (typeof name !== 'string') return `a name that is not a string (${name === null ? 'null' : typeof name})`;
  if (name === '') return 'an empty name';
  if (name === '.' || name === '..') return `the name ${JSON.stringify(name)}`;
  if (name.includes('/') || name.includes('\\')) return `the name ${JSON.stringify(name)}, which contains a path separator`;
  if (name.includes('\0')) return `the name ${JSON.stringify(name)}, which contains a NUL byte`;
  if (!wellFormed(name)) return `the name ${JSON.stringify(name)}, which is not valid Unicode`;
  if (name.length * 3 > MAX_NAME_BYTES && Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `a name longer than ${MAX_NAME_BYTES} bytes`;
  if (opts.reserved !== false && (name.length === 4 || name.length === 7) && name.charCodeAt(0) === 0x2e && RESERVED.has(name.toLowerCase())) return `the reserved name ${JSON.stringify(name)}`;
  return null;
}

/** A project-relative path ("a/b/c"): every component a valid name (see nameProblem for `reserved`). */
export function pathProblem(p: unknown, opts: { reserved?: boolean } = {}): string | null {
  if (typeof p !== 'string') return 'a path that is not a string';
  if (p === '') return 'an empty path';
  if (p.length > 16 * 1024) return 'a path longer than 16384 characters';
  for (const part of p.split('/')) {
    const why = nameProblem(part, opts);
    if (why) return `the path ${JSON.stringify(p)} (${why})`;
  }
  return null;
}

export function relPath(v: unknown, what: string, opts: { reserved?: boolean } = {}): string {
  const why = pathProblem(v, opts);
  if (why) bad(`${what} is ${why}`);
  return v as string;
}
