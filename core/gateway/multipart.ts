/**
 * S3 multipart uploads into a branch's uncommitted changes. An upload is a MetaStore row; each
 * part is a file `.strata/uploads/<upload id>/<part number>.<md5>` (synced, then its row: the row
 * is the acknowledgement). Complete chunks the part files in order as one content (no
 * concatenated copy), exactly as `strata add` would store a file of those bytes, and in ONE
 * transaction writes the staged row and forgets the upload; the part folder goes afterwards.
 *
 * Crash safety: an acknowledged part has its file and its row; a re-sent part with other bytes
 * goes to another file name (its md5), so replacing it never touches the acknowledged file until
 * the new row is in. An interrupted Complete leaves the upload and its parts as they were (retry
 * it). recoverGateway removes what a crash can leave without a row: request bodies being
 * received, part files without a part row, folders of uploads that are gone.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';
import type { PartRow, UploadRow } from '../meta/interface.js';
import type { Repository } from '../repo/index.js';
import { branchHead, checkKeyPath, critical, ensureIngested, folderObject, ingestFiles, uploadsDir, writePutRow } from './staging.js';
import type { GatewayObject } from './types.js';

/** Every part but the last must be at least this big (S3's rule). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Part numbers are 1..MAX_PART_NUMBER. */
const MAX_PART_NUMBER = 10_000;

const UPLOAD_ID_RE = /^[0-9a-f]{32}$/;
const MD5_RE = /^[0-9a-f]{32}$/;

function s3Error(s3: string, message: string, hint: string, details: Record<string, unknown> = {}): StrataError {
  const code = s3 === 'NoSuchUpload' ? 'PATH_NOT_FOUND' : 'INVALID_ARGUMENT';
  return new StrataError(code, message, { hint, details: { s3, ...details } });
}

function noSuchUpload(id: string): StrataError {
  return s3Error('NoSuchUpload', `no multipart upload ${JSON.stringify(id)}: it was completed, aborted or never created`, 'start a new upload (CreateMultipartUpload)', { upload: id });
}

function getUploadRow(repo: Repository, id: string): UploadRow {
  const u = typeof id === 'string' && UPLOAD_ID_RE.test(id) ? repo.db.getUpload(id) : null;
  if (!u) throw noSuchUpload(String(id));
  return u;
}

function uploadDir(repo: Repository, id: string): string {
  return join(uploadsDir(repo), id);
}

function partFile(repo: Repository, id: string, part: number, md5: string): string {
  return join(uploadDir(repo, id), `${part}.${md5}`);
}

async function fsyncPath(p: string, dir = false): Promise<void> {
  const fh = await fsp.open(p, dir ? 'r' : 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Rename `src` to `dst`; across filesystems (the server's temp folder elsewhere), copy and sync. */
async function moveSynced(src: string, dst: string): Promise<void> {
  try {
    await fsp.rename(src, dst);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    const tmp = `${dst}.copy-${process.pid}`;
    await fsp.copyFile(src, tmp);
    await fsyncPath(tmp);
    await fsp.rename(tmp, dst);
  }
}

/** CreateMultipartUpload: the key is checked now (branch, path); the file/folder rule at Complete. */
export async function createUpload(repo: Repository, branch: string, path: string, opts: { contentType?: string | null } = {}): Promise<UploadRow> {
  checkKeyPath(path);
  branchHead(repo, branch);
  const u: UploadRow = { id: randomBytes(16).toString('hex'), branch, path, created: Date.now(), contentType: opts.contentType ?? null };
  repo.db.tx(() => repo.db.createUpload(u));
  return u;
}

/** Serializes the replacement of one part (file rename + row) within this process. */
const partLocks = new Map<string, Promise<void>>();
async function withPartLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = partLocks.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const chained = prev.then(() => mine);
  partLocks.set(key, chained);
  await prev;
  try {
    return await fn();
  } finally {
    done();
    if (partLocks.get(key) === chained) partLocks.delete(key);
  }
}

/**
 * UploadPart: `tmpFile` (consumed) becomes part `partNumber` of the upload, synced, then its row.
 * `md5Hex` is the MD5 of the bytes (the part's ETag). A part sent again replaces the earlier one.
 */
export async function uploadPart(repo: Repository, uploadId: string, partNumber: number, tmpFile: string, md5Hex: string): Promise<PartRow> {
  try {
    const u = getUploadRow(repo, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw s3Error('InvalidArgument', `part number ${partNumber} is not an integer from 1 to ${MAX_PART_NUMBER}`, 'number the parts 1, 2, 3, ...', { part: partNumber });
    }
    const md5 = String(md5Hex).toLowerCase();
    if (!MD5_RE.test(md5)) throw s3Error('InvalidDigest', `part MD5 ${JSON.stringify(md5Hex)} is not 32 hex digits`, 'send the MD5 of the part');
    let size: number;
    try {
      size = (await fsp.stat(tmpFile)).size;
      await fsyncPath(tmpFile);
    } catch (e) {
      throw fromSystemError(e, tmpFile);
    }
    const dir = uploadDir(repo, u.id);
    return await withPartLock(`${u.id}/${partNumber}`, async () => {
      const dst = partFile(repo, u.id, partNumber, md5);
      try {
        await fsp.mkdir(dir, { recursive: true });
        await moveSynced(tmpFile, dst);
        await fsyncPath(dir, true);
      } catch (e) {
        throw fromSystemError(e, dst);
      }
      const row: PartRow = { upload: u.id, part: partNumber, size, etag: md5, time: Date.now() };
      const before = repo.db.tx(() => {
        if (!repo.db.getUpload(u.id)) return null;
        const old = repo.db.listParts(u.id).find((p) => p.part === partNumber) ?? null;
        repo.db.putPart(row);
        return { old };
      });
      if (!before) {
        await fsp.rm(dst, { force: true }).catch(() => undefined);
        throw noSuchUpload(u.id);
      }
      if (before.old && before.old.etag !== md5) await fsp.rm(partFile(repo, u.id, partNumber, before.old.etag), { force: true }).catch(() => undefined);
      return row;
    });
  } finally {
    await fsp.rm(tmpFile, { force: true }).catch(() => undefined);
  }
}

/** ListParts: the parts received, by number. */
export function listParts(repo: Repository, uploadId: string): PartRow[] {
  const u = getUploadRow(repo, uploadId);
  return repo.db.listParts(u.id);
}

/** ListMultipartUploads: uploads in progress, of one branch and under a key prefix when given, by path then time. */
export function listUploads(repo: Repository, opts: { branch?: string; prefix?: string } = {}): UploadRow[] {
  if (opts.branch !== undefined) branchHead(repo, opts.branch);
  const prefix = opts.prefix ?? '';
  return repo.db.listUploads(opts.branch).filter((u) => u.path.startsWith(prefix));
}

/**
 * CompleteMultipartUpload: the listed parts (ascending numbers, ETags as received) become one
 * object staged at the upload's key. The upload is forgotten in the same transaction as the row
 * is written; when this fails part-way, the upload is intact and Complete can be sent again.
 */
export async function completeUpload(repo: Repository, uploadId: string, parts: ReadonlyArray<{ partNumber: number; etag: string }>): Promise<GatewayObject> {
  const u = getUploadRow(repo, uploadId);
  if (!Array.isArray(parts) || parts.length === 0) {
    throw s3Error('MalformedXML', 'CompleteMultipartUpload lists no parts', 'list every part with its PartNumber and ETag');
  }
  for (let i = 1; i < parts.length; i++) {
    if (!(parts[i]!.partNumber > parts[i - 1]!.partNumber)) {
      throw s3Error('InvalidPartOrder', `parts must be listed in ascending order (part ${parts[i]!.partNumber} follows ${parts[i - 1]!.partNumber})`, 'sort the parts by PartNumber');
    }
  }
  const stored = new Map(repo.db.listParts(u.id).map((p) => [p.part, p]));
  const chosen: PartRow[] = [];
  for (const [i, p] of parts.entries()) {
    const row = stored.get(p.partNumber);
    const etag = String(p.etag ?? '').replace(/^"|"$/g, '').toLowerCase();
    if (!row || row.etag !== etag) {
      throw s3Error('InvalidPart', row ? `part ${p.partNumber}'s ETag is ${row.etag}, not ${etag}` : `part ${p.partNumber} was not uploaded`, 'upload the part (again) and list the ETag it returned', { part: p.partNumber });
    }
    if (i < parts.length - 1 && row.size < MIN_PART_SIZE) {
      throw s3Error('EntityTooSmall', `part ${p.partNumber} is ${row.size} bytes; every part but the last must be at least ${MIN_PART_SIZE} (5 MiB)`, 'use larger parts', { part: p.partNumber, size: row.size });
    }
    chosen.push(row);
  }
  const files = chosen.map((p) => partFile(repo, u.id, p.part, p.etag));
  let total = 0;
  for (const [i, f] of files.entries()) {
    const st = await fsp.stat(f).catch(() => null);
    if (!st || st.size !== chosen[i]!.size) {
      throw s3Error('InvalidPart', `part ${chosen[i]!.part} is damaged or missing on the server`, 'upload the part again', { part: chosen[i]!.part });
    }
    total += st.size;
  }
  const key = checkKeyPath(u.path);
  let result: GatewayObject;
  if (key.folder) {
    repo.db.tx(() => repo.db.deleteUpload(u.id));
    result = folderObject(key.path);
  } else {
    const ing = await ingestFiles(repo, files, total);
    result = await critical(repo, async () => {
      await ensureIngested(repo, ing, files);
      return writePutRow(repo, u.branch, key.path, ing.entry, u.contentType, () => {
        if (!repo.db.getUpload(u.id)) throw noSuchUpload(u.id);
        repo.db.deleteUpload(u.id);
      });
    });
  }
  await fsp.rm(uploadDir(repo, u.id), { recursive: true, force: true }).catch(() => undefined);
  return result;
}

/** AbortMultipartUpload: forget the upload and remove its parts. */
export async function abortUpload(repo: Repository, uploadId: string): Promise<void> {
  const u = getUploadRow(repo, uploadId);
  repo.db.tx(() => repo.db.deleteUpload(u.id));
  await fsp.rm(uploadDir(repo, u.id), { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Remove what an interrupted server leaves without a row: request bodies being received
 * (`uploads/tmp/`), part files no part row names, folders of uploads that are gone. Call when the
 * repository is opened for serving, before any request runs.
 */
export async function recoverGateway(repo: Repository): Promise<{ removed: number }> {
  const root = uploadsDir(repo);
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { removed: 0 };
    throw fromSystemError(e, root);
  }
  let removed = 0;
  const rm = async (p: string) => {
    await fsp.rm(p, { recursive: true, force: true });
    removed++;
  };
  for (const n of names) {
    const p = join(root, n);
    if (n === 'tmp') {
      for (const t of await fsp.readdir(p).catch(() => [] as string[])) await rm(join(p, t));
      continue;
    }
    const u = UPLOAD_ID_RE.test(n) ? repo.db.getUpload(n) : null;
    if (!u) {
      await rm(p);
      continue;
    }
    const keep = new Set(repo.db.listParts(u.id).map((r) => `${r.part}.${r.etag}`));
    for (const f of await fsp.readdir(p).catch(() => [] as string[])) if (!keep.has(f)) await rm(join(p, f));
  }
  return { removed };
}
