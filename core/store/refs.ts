/**
 * Refs on a remote (bucket or directory): branches at refs/heads/<name>, tags at refs/tags/<name>,
 * each a small file/object whose body is the commit id and a newline. Every change is a
 * compare-and-swap against the ETag the caller read, so a concurrent writer is never silently
 * overwritten; a lost race throws StrataError REF_CONFLICT (details.reason: exists | changed | missing | busy).
 *
 * Names are relative to refs/: 'heads/main', 'tags/v1.0'.
 *
 * FileRefStore (this file) serves file:// remotes: a `<ref>.lock` file created with O_EXCL ('wx')
 * serialises writers, the new value is written into the lock file, fsynced, and renamed over the
 * ref: atomic CAS on a local filesystem. S3RefStore lives in s3/refs.ts.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';
import { isId } from '../hash/index.js';
import { bodyEtag, parseRefBody, refBody } from '../format/ref-body.js';

export interface RefValue {
  /** The commit id the ref points to. */
  value: string;
  /** Opaque version token; pass it back to update/delete. */
  etag: string;
  /** What a Strata server reported about the update it made (its check gate's warn-level failures). */
  warnings?: string[];
}

export interface RefEntry extends RefValue {
  name: string;
}

export interface RefStore {
  get(name: string): Promise<RefValue | null>;
  /** Refs whose name starts with `prefix` (e.g. 'heads/'), sorted by name. */
  list(prefix?: string): Promise<RefEntry[]>;
  /** Create a ref that must not exist yet. */
  create(name: string, value: string): Promise<RefValue>;
  /** Move a ref whose current etag is `expectedEtag`. */
  update(name: string, value: string, expectedEtag: string): Promise<RefValue>;
  /** Delete a ref whose current etag is `expectedEtag`. */
  delete(name: string, expectedEtag: string): Promise<void>;
}

/** Longest ref name, in characters (all ASCII), relative to refs/ or as a short branch/tag name. */
export const MAX_REF_NAME = 255;
const COMPONENT_RE = /^[A-Za-z0-9._+@-]+$/;

/**
 * THE ref-name rule — the one function every ref name passes through: branch, tag and remote
 * names in the CLI (core/repo/refs.ts validateRefName), names on every remote store (file, S3,
 * HTTP) and on the server (checkRefName below). Modelled on `git check-ref-format`, narrowed to
 * characters that are safe in URLs, S3 keys and file names on every OS: '/'-separated components
 * of letters, digits and . _ + @ -; no empty component; no component that starts with '.' or '-',
 * ends with '.' or '.lock', or is 'HEAD' or '@'; no '..'; at most MAX_REF_NAME characters relative
 * to refs/ (a branch name at most that minus 'heads/', so that what `strata branch` accepts, push
 * accepts).
 * (So: no control characters, space, ~ ^ : ? * [ \ # or '@{'.) Returns what is wrong, or null.
 */
export function refNameProblem(name: string, maxLength: number = MAX_REF_NAME): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'it is empty';
  if (name.length > maxLength) return `it is longer than ${maxLength} characters`;
  const bad = /[^A-Za-z0-9._+@/-]/.exec(name);
  if (bad) {
    const ch = bad[0];
    const code = ch.codePointAt(0)!;
    return code < 0x21 || code === 0x7f ? `it contains a control character or space (U+${code.toString(16).padStart(4, '0').toUpperCase()})` : `${JSON.stringify(ch)} is not allowed`;
  }
  if (name.includes('..')) return "it contains '..'";
  for (const c of name.split('/')) {
    if (c === '') return "it has an empty component (a leading, trailing or doubled '/')";
    if (!COMPONENT_RE.test(c)) return `component ${JSON.stringify(c)} has characters that are not allowed`;
    if (c.startsWith('.')) return `component ${JSON.stringify(c)} starts with '.'`;
    if (c.startsWith('-')) return `component ${JSON.stringify(c)} starts with '-'`;
    if (c.endsWith('.')) return `component ${JSON.stringify(c)} ends with '.'`;
    if (c.endsWith('.lock')) return `component ${JSON.stringify(c)} ends with '.lock'`;
    if (c === 'HEAD' || c === '@') return `${JSON.stringify(c)} is reserved`;
  }
  return null;
}

export const REF_NAME_HINT = "use '/'-separated parts of letters, digits and . _ + @ - (not starting with '.' or '-', not ending in '.' or '.lock'; no '..', no 'HEAD' part)";

/** Validate a ref name relative to refs/ ('heads/main'); throws INVALID_ARGUMENT. */
export function checkRefName(name: string): string {
  const problem = typeof name !== 'string' ? 'it is not a string' : refNameProblem(name) ?? (name.includes('/') ? null : 'it needs a namespace, e.g. heads/<branch> or tags/<tag>');
  if (problem) {
    throw new StrataError('INVALID_ARGUMENT', `invalid ref name ${JSON.stringify(name)}: ${problem}`, { hint: `use heads/<branch> or tags/<tag>; ${REF_NAME_HINT}` });
  }
  return name;
}

export function checkRefValue(value: string): string {
  if (!isId(value)) throw new StrataError('INVALID_ARGUMENT', `invalid ref value ${JSON.stringify(value)} (expected a 64-hex commit id)`);
  return value;
}


export function refConflict(name: string, reason: 'exists' | 'changed' | 'missing' | 'busy', extra = ''): StrataError {
  const what = {
    exists: `ref ${name} already exists`,
    changed: `ref ${name} was changed by someone else`,
    missing: `ref ${name} does not exist (deleted by someone else?)`,
    busy: `ref ${name} is being updated by another process`,
  }[reason];
  return new StrataError('REF_CONFLICT', what + (extra ? `: ${extra}` : ''), {
    hint: 'fetch the current value and retry',
    details: { ref: name, reason },
  });
}


/** Locks older than this are reported with a hint to remove them (a crashed writer). */
const STALE_LOCK_MS = 10 * 60 * 1000;

export class FileRefStore implements RefStore {
  readonly refsDir: string;

  /** `root` is the remote's root directory; refs live in `<root>/refs/`. */
  constructor(readonly root: string) {
    this.refsDir = join(root, 'refs');
  }

  private path(name: string): string {
    return join(this.refsDir, ...checkRefName(name).split('/'));
  }

  async get(name: string): Promise<RefValue | null> {
    const p = this.path(name);
    let body: Buffer;
    try {
      body = await readFile(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw fromSystemError(e, p);
    }
    return { value: parseRefBody(body.toString('utf8'), name), etag: bodyEtag(body) };
  }

  async list(prefix = ''): Promise<RefEntry[]> {
    const out: RefEntry[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let ents;
      try {
        ents = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw fromSystemError(e, dir);
      }
      for (const d of ents) {
        if (d.name.startsWith('.') || d.name.endsWith('.lock')) continue;
        const name = rel ? `${rel}/${d.name}` : d.name;
        if (d.isDirectory()) {
          if (name.startsWith(prefix) || prefix.startsWith(name + '/')) await walk(join(dir, d.name), name);
        } else if (d.isFile() && name.startsWith(prefix) && name.includes('/') && refNameProblem(name) === null) {
          // A file whose name breaks the ref-name rule is not a ref (and never reaches a client).
          const v = await this.get(name);
          if (v) out.push({ name, ...v });
        }
      }
    };
    await walk(this.refsDir, '');
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async create(name: string, value: string): Promise<RefValue> {
    checkRefValue(value);
    return this.locked(name, async (cur, write) => {
      if (cur) throw refConflict(name, 'exists');
      return write(value);
    });
  }

  async update(name: string, value: string, expectedEtag: string): Promise<RefValue> {
    checkRefValue(value);
    return this.locked(name, async (cur, write) => {
      if (!cur) throw refConflict(name, 'missing');
      if (cur.etag !== expectedEtag) throw refConflict(name, 'changed');
      return write(value);
    });
  }

  async delete(name: string, expectedEtag: string): Promise<void> {
    const p = this.path(name);
    await this.locked(name, async (cur) => {
      if (!cur) throw refConflict(name, 'missing');
      if (cur.etag !== expectedEtag) throw refConflict(name, 'changed');
      try {
        await unlink(p);
      } catch (e) {
        throw fromSystemError(e, p);
      }
      return cur;
    });
  }

  /**
   * Hold `<ref>.lock` (O_EXCL) while reading the current value and, via `write`, replacing it:
   * the lock file receives the new body, is fsynced, then renamed over the ref.
   */
  private async locked<T>(name: string, fn: (cur: RefValue | null, write: (value: string) => Promise<RefValue>) => Promise<T>): Promise<T> {
    const p = this.path(name);
    const lock = p + '.lock';
    try {
      await mkdir(dirname(p), { recursive: true });
    } catch (e) {
      throw fromSystemError(e, dirname(p));
    }
    let fh;
    try {
      fh = await open(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        let old = '';
        try {
          const s = await stat(lock);
          if (Date.now() - s.mtimeMs > STALE_LOCK_MS) old = `${lock} is ${Math.round((Date.now() - s.mtimeMs) / 60000)} minutes old; remove it if no strata process is running`;
        } catch {
          /* released meanwhile */
        }
        throw refConflict(name, 'busy', old);
      }
      throw fromSystemError(e, lock);
    }
    let renamed = false;
    try {
      const cur = await this.get(name);
      const write = async (value: string): Promise<RefValue> => {
        const body = refBody(value);
        await fh.writeFile(body);
        await fh.sync();
        await fh.close();
        await rename(lock, p);
        renamed = true;
        await syncDir(dirname(p));
        return { value, etag: bodyEtag(body) };
      };
      return await fn(cur, write);
    } catch (e) {
      throw e instanceof StrataError ? e : fromSystemError(e, p);
    } finally {
      await fh.close().catch(() => {});
      if (!renamed) await unlink(lock).catch(() => {});
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  if (sep === '\\') return; // directories cannot be fsynced on Windows
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}
