/**
 * DVC's content-addressed objects: where they are (the project's cache, DVC 3 `files/md5/ab/cdef…`
 * or DVC 2 `ab/cdef…`, or a DVC remote on a local folder with the same layout), their md5 (DVC 3:
 * of the raw bytes; DVC 2: of a text file's bytes with CRLF turned into LF), and directory objects
 * (`<md5>.dir`: a JSON list of {md5, relpath}).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as fsp from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { StrataError } from '../errors/index.js';
import { normalizeProjectPath } from '../pipeline/spec.js';
import type { DvcRemote } from './project.js';

/** A folder holding DVC objects. */
export interface DvcObjectDir {
  /** For messages: `.dvc/cache`, `remote "store" (/mnt/dvc)`. */
  name: string;
  dir: string;
}

/** A DVC remote on S3 (or MinIO and other S3-compatible servers: `endpointurl`). */
export interface DvcS3Remote {
  name: string;
  url: string;
  bucket: string;
  prefix: string;
  endpoint?: string;
}

/**
 * Where to look, in order: the cache, then the remote: a local folder (`dirs`) or S3 (`s3`). A
 * remote of another kind (gs://, azure://, ssh://, ...) is not read: `unread` says so, for the
 * message about an object that is not in the cache.
 */
export function objectDirs(root: string, cacheDir: string, remote: DvcRemote | null): { dirs: DvcObjectDir[]; s3: DvcS3Remote | null; unread: string | null } {
  const dirs: DvcObjectDir[] = [{ name: '.dvc/cache', dir: cacheDir }];
  if (!remote) return { dirs, s3: null, unread: null };
  const url = remote.url;
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (s3) return { dirs, s3: { name: remote.name, url, bucket: s3[1]!, prefix: s3[2]!.replace(/\/+$/, ''), ...(remote.endpointUrl ? { endpoint: remote.endpointUrl } : {}) }, unread: null };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^file:\/\//i.test(url)) {
    return { dirs, s3: null, unread: `DVC remote "${remote.name}" is ${url.split('://')[0]}://, which strata import dvc does not read: fetch the data into the DVC cache first (dvc fetch -r ${remote.name}), or copy the remote to a folder and name a local-folder remote with --remote` };
  }
  const path = url.replace(/^file:\/\//i, '');
  // A relative remote URL is relative to the config file's folder (.dvc/).
  dirs.push({ name: `remote "${remote.name}" (${url})`, dir: isAbsolute(path) ? path : resolve(root, '.dvc', path) });
  return { dirs, s3: null, unread: null };
}

/**
 * Downloads objects of an S3 DVC remote into a temporary folder outside the project (they are
 * checked there like any other object file). Credentials: the AWS SDK's default chain (AWS_*
 * variables, shared config files, roles); none is read from .dvc/config or kept.
 */
export class S3ObjectFetcher {
  private conn: Promise<import('../store/s3/conn.js').S3Conn> | null = null;
  constructor(
    readonly remote: DvcS3Remote,
    private readonly tmpDir: string,
  ) {}

  get name(): string {
    return `remote "${this.remote.name}" (${this.remote.url})`;
  }

  /** Object `md5` downloaded (DVC 3 layout, then DVC 2): its file and its s3:// URL; null when the remote lacks it. */
  async fetch(md5: string): Promise<{ file: string; url: string } | null> {
    this.conn ??= import('../store/s3/conn.js').then((m) => new m.S3Conn({ bucket: this.remote.bucket, prefix: this.remote.prefix, ...(this.remote.endpoint ? { endpoint: this.remote.endpoint } : {}) }));
    const conn = await this.conn;
    for (const rel of [`files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`, `${md5.slice(0, 2)}/${md5.slice(2)}`]) {
      const body = await conn.getStream(conn.key(rel));
      if (!body) continue;
      const file = join(this.tmpDir, md5);
      await pipeline(body, createWriteStream(file));
      return { file, url: `s3://${conn.bucket}/${conn.key(rel)}` };
    }
    return null;
  }
}

/** The file of object `md5` in a folder (DVC 3 layout first, then DVC 2), or null. */
export async function findObject(dirs: DvcObjectDir[], md5: string): Promise<{ file: string; where: DvcObjectDir } | null> {
  const a = md5.slice(0, 2);
  const b = md5.slice(2);
  for (const d of dirs) {
    for (const file of [join(d.dir, 'files', 'md5', a, b), join(d.dir, a, b)]) {
      const st = await fsp.stat(file).catch(() => null);
      if (st?.isFile()) return { file, where: d };
    }
  }
  return null;
}

function looksText(head: Buffer): boolean {
  return !head.subarray(0, 8000).includes(0);
}

/**
 * The md5 of a file as DVC computes it: raw bytes; with `legacy` (DVC 2 entries) a text file's
 * CRLF is turned into LF first, as DVC 2 did. Returns both when they differ.
 */
export async function md5OfFile(file: string, legacy: boolean): Promise<{ raw: string; unix: string | null; size: number }> {
  const raw = createHash('md5');
  const unix = createHash('md5');
  let size = 0;
  let first: Buffer | null = null;
  let carryCr = false;
  let sawCrlf = false;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    size += chunk.length;
    raw.update(chunk);
    if (!legacy) continue;
    first ??= chunk;
    let s: Buffer = carryCr ? Buffer.concat([Buffer.from('\r'), chunk]) : chunk;
    carryCr = s.length > 0 && s[s.length - 1] === 0x0d;
    if (carryCr) s = s.subarray(0, s.length - 1);
    const parts: Buffer[] = [];
    let from = 0;
    for (let i = 0; i + 1 < s.length; i++) {
      if (s[i] === 0x0d && s[i + 1] === 0x0a) {
        parts.push(s.subarray(from, i));
        from = i + 1;
        sawCrlf = true;
      }
    }
    parts.push(s.subarray(from));
    for (const p of parts) unix.update(p);
  }
  if (carryCr) unix.update(Buffer.from('\r'));
  const rawHex = raw.digest('hex');
  const unixHex = legacy && sawCrlf && first && looksText(first) ? unix.digest('hex') : null;
  return { raw: rawHex, unix: unixHex, size };
}

/** True when the file's content has DVC hash `md5`. */
export async function fileMatches(file: string, md5: string, legacy: boolean): Promise<boolean> {
  const h = await md5OfFile(file, legacy);
  return h.raw === md5 || h.unix === md5;
}

export interface DirEntry {
  /** Relative to the directory, POSIX. */
  relpath: string;
  md5: string;
  size?: number;
}

/** Parse a `.dir` object: a JSON list of {md5, relpath} (paths checked: no `..`, not absolute). */
export function parseDirObject(bytes: Buffer, what: string): DirEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new StrataError('OBJECT_CORRUPT', `${what}: the directory object is not JSON`, { hint: 'the DVC cache is damaged; fetch it again (dvc fetch)' });
  }
  if (!Array.isArray(v)) throw new StrataError('OBJECT_CORRUPT', `${what}: the directory object is not a list`, { hint: 'the DVC cache is damaged; fetch it again (dvc fetch)' });
  return v.map((e: unknown) => {
    const o = e as { md5?: unknown; relpath?: unknown; size?: unknown };
    if (typeof o?.md5 !== 'string' || !/^[0-9a-f]{32}$/.test(o.md5) || typeof o.relpath !== 'string') {
      throw new StrataError('OBJECT_CORRUPT', `${what}: an entry of the directory object has no md5 or relpath`, { hint: 'the DVC cache is damaged; fetch it again (dvc fetch)' });
    }
    const n = normalizeProjectPath(o.relpath);
    if ('error' in n || n.path === '.') throw new StrataError('OBJECT_CORRUPT', `${what}: the directory object names ${JSON.stringify(o.relpath)}, not a path inside the directory`, { hint: 'the DVC cache is damaged or crafted; fetch it again (dvc fetch)' });
    return { relpath: n.path, md5: o.md5, ...(typeof o.size === 'number' ? { size: o.size } : {}) };
  });
}

/** Python's json.dumps(ensure_ascii=True) of a string. */
function pyString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) {
      const units = c > 0xffff ? [0xd800 + ((c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 0x3ff)] : [c];
      for (const u of units) out += '\\u' + u.toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + '"';
}

/**
 * The md5 DVC gives a directory with these files: md5 of `json.dumps(sorted list of {md5, relpath},
 * sort_keys=True)` (Python's default separators), plus `.dir`.
 */
export function dirMd5(entries: Array<{ relpath: string; md5: string }>): string {
  const sorted = [...entries].sort((a, b) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0));
  const body = '[' + sorted.map((e) => `{"md5": ${pyString(e.md5)}, "relpath": ${pyString(e.relpath)}}`).join(', ') + ']';
  return createHash('md5').update(body, 'utf8').digest('hex') + '.dir';
}
