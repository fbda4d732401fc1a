/**
 * The object/ref protocol behind http(s) remotes, as HTTP: batch has-check, object GET/PUT/DELETE,
 * pack upload, pack fetch, refs with compare-and-swap. Each handler parses the request (ids, headers,
 * body limits), calls the operation in core/ops/protocol.ts that does the work, and writes the
 * response. Pack format: the wire pack codec (core/format/wire-pack.ts), shared with the client and
 * the tests.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StrataError } from '../core/errors/index.js';
import { isId } from '../core/hash/index.js';
import { WIRE_PACK_MAGIC, wireFrameHeader } from '../core/format/wire-pack.js';
import type { Repository } from '../core/repo/index.js';
import {
  checkId,
  checkServedRefName,
  deleteObjects as deleteObjectsOp,
  deleteRef as deleteRefOp,
  getRef as getRefOp,
  listObjects as listObjectsOp,
  objectSize,
  presentObjects,
  readObject,
  readObjects,
  receivePack,
  storeObject,
  updateRef,
  type RefEntry,
} from '../core/ops/protocol.js';
import { sendBytes } from './browse.js';
import { discardBody, parseRange, readJson, sendJson, tooLarge, waitDrain } from './http.js';

const MAX_IDS = 10_000;

export function parseIdList(body: unknown): string[] {
  const ids = (body as { ids?: unknown })?.ids;
  if (!Array.isArray(ids)) throw new StrataError('INVALID_ARGUMENT', 'body must be {"ids": [...]}');
  if (ids.length > MAX_IDS) throw new StrataError('INVALID_ARGUMENT', `at most ${MAX_IDS} ids per request (got ${ids.length})`, { hint: 'split the request' });
  for (const id of ids) if (typeof id !== 'string' || !isId(id)) throw new StrataError('INVALID_ARGUMENT', `invalid object id ${JSON.stringify(id)}`);
  return ids as string[];
}

export async function hasObjects(repo: Repository, req: IncomingMessage, jsonLimit: number): Promise<unknown> {
  const ids = parseIdList(await readJson(req, jsonLimit));
  return { present: await presentObjects(repo, ids) };
}

export async function getObject(repo: Repository, id: string, req: IncomingMessage, res: ServerResponse, head: boolean, isPublic: boolean): Promise<void> {
  const size = await objectSize(repo, id);
  if (size === null) throw new StrataError('OBJECT_MISSING', `object ${id} is not on this server`);
  const range = parseRange(req.headers.range, size);
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    ETag: `"${id}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': `${isPublic ? 'public' : 'private'}, max-age=31536000, immutable`,
  };
  await sendBytes(res, head, headers, size, range, () => readObject(repo, id, range));
}

export async function listObjects(repo: Repository, prefix: string, res: ServerResponse): Promise<void> {
  const objects = listObjectsOp(repo, prefix)[Symbol.asyncIterator]();
  let first = await objects.next(); // a bad prefix is a 400 before the 200 head is written
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
  let buf = '';
  for (; !first.done; first = await objects.next()) {
    const o = first.value;
    buf += JSON.stringify({ id: o.id, size: o.size }) + '\n';
    if (buf.length > 64 * 1024) {
      if (!res.write(buf) && !(await waitDrain(res))) return; // the client went away
      buf = '';
    }
  }
  res.end(buf);
}

/** PUT one object: hash while spooling to a temp file, store only if it matches. */
export async function putObject(repo: Repository, id: string, req: IncomingMessage, res: ServerResponse, tmpDir: string, limit: number): Promise<void> {
  checkId(id);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const have = await objectSize(repo, id);
  if (have !== null) {
    if (!(await discardBody(req, limit))) throw tooLarge(limit);
    return sendJson(res, 200, { id, size: have, stored: false });
  }
  sendJson(res, 201, await storeObject(repo, id, req, { tmpDir, limit }));
}

/** POST a pack: refused at the declared length, then streamed through receivePack. */
export async function uploadPack(repo: Repository, req: IncomingMessage, limit: number): Promise<{ objects: number; bytes: number }> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  return receivePack(repo, req, { limit });
}

/** POST /objects/fetch: the requested objects as one pack stream. */
export async function fetchPack(repo: Repository, req: IncomingMessage, res: ServerResponse, jsonLimit: number): Promise<void> {
  const ids = parseIdList(await readJson(req, jsonLimit));
  const objects = await readObjects(repo, ids);
  res.writeHead(200, { 'Content-Type': 'application/x-strata-pack', 'Cache-Control': 'no-store' });
  res.write(WIRE_PACK_MAGIC);
  try {
    for await (const { id, data } of objects) {
      res.write(wireFrameHeader(id, data.length));
      if (!res.write(data) && !(await waitDrain(res))) return; // the client went away
    }
    res.end();
  } catch {
    res.destroy(); // the client sees a truncated pack and fails
  }
}

export function deleteObjects(repo: Repository, ids: string[]): Promise<void> {
  return deleteObjectsOp(repo, ids);
}

// ---------------------------------------------------------------- refs

/** A ref name from URL segments: the one ref-name rule, then one of the namespaces the server keeps. */
export function refNameFrom(segs: string[]): string {
  return checkServedRefName(segs.join('/'));
}

export function getRef(repo: Repository, name: string): RefEntry {
  return getRefOp(repo, name);
}

/** PUT /refs/<name>: create (If-None-Match: *) or compare-and-swap (If-Match). */
export async function putRef(repo: Repository, name: string, req: IncomingMessage, jsonLimit: number): Promise<RefEntry> {
  const body = (await readJson(req, jsonLimit)) as { value?: unknown } | undefined;
  const value = typeof body?.value === 'string' ? body.value : String(body?.value);
  return updateRef(repo, name, value, { ifMatch: req.headers['if-match'], ifNoneMatch: req.headers['if-none-match'] });
}

export function deleteRef(repo: Repository, name: string, req: IncomingMessage): void {
  deleteRefOp(repo, name, req.headers['if-match']);
}
