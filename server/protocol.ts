/**
 * The object/ref protocol behind http(s) remotes: batch has-check, object GET/PUT/DELETE, pack
 * upload (every object hash-verified before it is stored), pack fetch, refs with compare-and-swap.
 * Pack format: the wire pack codec (core/format/wire-pack.ts), shared with the client and the tests.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StrataError } from '../core/errors/index.js';
import { createHasher, hashBytes, isId } from '../core/hash/index.js';
import { WIRE_PACK_MAGIC, WirePackDecoder, wireFrameHeader } from '../core/format/wire-pack.js';
import { MAX_TREE_DEPTH, parseCommit, parseManifest, parseTree, type Commit, type Id, type Tree } from '../core/model/index.js';
import { checkTreeGraph } from '../core/repo/tree.js';
import type { Repository } from '../core/repo/index.js';
import { checkRefName, checkRefValue, refConflict } from '../core/store/refs.js';
import { isLocalPathCapable } from '../core/store/types.js';
import { refEtag, sendBytes } from './browse.js';
import { discardBody, parseRange, readJson, sendJson, tooLarge, waitDrain } from './http.js';
import { recordReceivedRun, runObject, runObjects } from '../core/ops/runs.js';

export const MAX_IDS = 10_000;

export function parseIdList(body: unknown): string[] {
  const ids = (body as { ids?: unknown })?.ids;
  if (!Array.isArray(ids)) throw new StrataError('INVALID_ARGUMENT', 'body must be {"ids": [...]}');
  if (ids.length > MAX_IDS) throw new StrataError('INVALID_ARGUMENT', `at most ${MAX_IDS} ids per request (got ${ids.length})`, { hint: 'split the request' });
  for (const id of ids) if (typeof id !== 'string' || !isId(id)) throw new StrataError('INVALID_ARGUMENT', `invalid object id ${JSON.stringify(id)}`);
  return ids as string[];
}

export function checkId(id: string): string {
  if (!isId(id)) throw new StrataError('INVALID_ARGUMENT', `invalid object id ${JSON.stringify(id)}`, { hint: 'object ids are 64 lowercase hex characters' });
  return id;
}

export async function hasObjects(repo: Repository, req: IncomingMessage, jsonLimit: number): Promise<unknown> {
  const ids = parseIdList(await readJson(req, jsonLimit));
  const present = await repo.store.hasMany(ids);
  return { present: ids.filter((i) => present.has(i)) };
}

export async function getObject(repo: Repository, id: string, req: IncomingMessage, res: ServerResponse, head: boolean, isPublic: boolean): Promise<void> {
  checkId(id);
  const st = await repo.store.stat(id);
  if (!st) throw new StrataError('OBJECT_MISSING', `object ${id} is not on this server`);
  const range = parseRange(req.headers.range, st.size);
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    ETag: `"${id}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': `${isPublic ? 'public' : 'private'}, max-age=31536000, immutable`,
  };
  await sendBytes(res, head, headers, st.size, range, () => repo.store.get(id, range ? { range } : { verify: true }));
}

export async function listObjects(repo: Repository, prefix: string, res: ServerResponse): Promise<void> {
  if (prefix.length > 64) throw new StrataError('INVALID_ARGUMENT', 'prefix is longer than an object id');
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
  if (!/^[0-9a-f]*$/.test(prefix)) return void res.end(); // no id has such a prefix
  let buf = '';
  for await (const o of repo.store.list(prefix || undefined)) {
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
  if (await repo.store.has(id)) {
    if (!(await discardBody(req, limit))) throw tooLarge(limit);
    return sendJson(res, 200, { id, size: (await repo.store.stat(id))?.size ?? null, stored: false });
  }
  await mkdir(tmpDir, { recursive: true });
  const tmp = join(tmpDir, `put-${randomBytes(8).toString('hex')}`);
  try {
    const h = createHasher();
    let size = 0;
    const out = createWriteStream(tmp);
    let writeErr: Error | null = null;
    out.on('error', (e) => (writeErr = e));
    try {
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > limit) throw tooLarge(limit);
        h.update(c as Buffer);
        if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    } finally {
      await new Promise<void>((r) => out.end(() => r()));
    }
    if (writeErr) throw writeErr;
    const got = h.digestHex();
    if (got !== id) {
      throw new StrataError('OBJECT_CORRUPT', `uploaded bytes hash to ${got}, not ${id}`, { hint: 'the upload was corrupted or the client is broken; nothing was stored', details: { id, actual: got } });
    }
    const store = repo.store;
    if (isLocalPathCapable(store)) await store.putFile(id, tmp);
    else await store.put(id, createReadStream(tmp), { size });
    sendJson(res, 201, { id, size, stored: true });
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * POST a pack: parse frames as they stream in, verify each hash, write through one batch.
 * Linear in the pack's size: each frame's bytes are copied once, into a buffer of the size its
 * header declares (checked against the remaining limit before anything is allocated).
 */
export async function uploadPack(repo: Repository, req: IncomingMessage, limit: number): Promise<{ objects: number; bytes: number }> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const batch = repo.store.batch();
  let ok = false;
  try {
    const bad = (_problem: string, msg: string) => new StrataError('INVALID_ARGUMENT', `malformed pack: ${msg}`, { hint: 'see the pack format in docs/api.md' });
    // The frame cannot fit in what the limit still allows: refuse before keeping any of it.
    const dec = new WirePackDecoder({
      error: bad,
      checkFrame: (size, consumed) => {
        if (consumed + size > limit) throw tooLarge(limit);
      },
    });
    let total = 0;
    let objects = 0;
    let bytes = 0;
    for await (const chunk of req) {
      const c = chunk as Buffer;
      total += c.length;
      if (total > limit) throw tooLarge(limit);
      for (const { id, data } of dec.push(c)) {
        const got = hashBytes(data);
        if (got !== id) {
          throw new StrataError('OBJECT_CORRUPT', `object ${id} in the uploaded pack hashes to ${got}`, { hint: 'nothing from this pack was stored', details: { id, actual: got } });
        }
        await batch.add(id, data);
        objects++;
        bytes += data.length;
      }
    }
    dec.end();
    await batch.finish();
    ok = true;
    return { objects, bytes };
  } finally {
    if (!ok) await batch.abort().catch(() => {});
  }
}

/** POST /objects/fetch: the requested objects as one pack stream. */
export async function fetchPack(repo: Repository, req: IncomingMessage, res: ServerResponse, jsonLimit: number): Promise<void> {
  const ids = parseIdList(await readJson(req, jsonLimit));
  const present = await repo.store.hasMany(ids);
  const missing = ids.filter((i) => !present.has(i));
  if (missing.length) throw new StrataError('OBJECT_MISSING', `${missing.length} requested object(s) are not on this server`, { details: { missing: missing.slice(0, 20) } });
  res.writeHead(200, { 'Content-Type': 'application/x-strata-pack', 'Cache-Control': 'no-store' });
  res.write(WIRE_PACK_MAGIC);
  try {
    for (const id of ids) {
      const data = await repo.store.getBytes(id, { verify: true });
      res.write(wireFrameHeader(id, data.length));
      if (!res.write(data) && !(await waitDrain(res))) return; // the client went away
    }
    res.end();
  } catch {
    res.destroy(); // the client sees a truncated pack and fails
  }
}

/** Deletes are serialised per repository: concurrent pack rewrites could otherwise keep deleted objects. */
const deleting = new WeakMap<Repository, Promise<unknown>>();

export async function deleteObjects(repo: Repository, ids: string[]): Promise<void> {
  for (const id of ids) checkId(id);
  const prev = deleting.get(repo) ?? Promise.resolve();
  const next = prev.catch(() => {}).then(() => repo.store.deleteMany(ids));
  deleting.set(repo, next);
  await next;
}

// ---------------------------------------------------------------- refs

/** The ref namespaces this server keeps: branches, tags and run markers (what strata push sends). */
export const REF_NAMESPACES = ['heads/', 'tags/', 'runs/'] as const;

/** A ref name from URL segments: the one ref-name rule, then one of REF_NAMESPACES. */
export function refNameFrom(segs: string[]): string {
  const name = checkRefName(segs.join('/'));
  if (!REF_NAMESPACES.some((ns) => name.startsWith(ns))) {
    throw new StrataError('INVALID_ARGUMENT', `ref ${JSON.stringify(name)} is outside the namespaces this server keeps`, { hint: 'use heads/<branch>, tags/<tag> or runs/<run id>' });
  }
  if (name.startsWith('runs/') && name.split('/').length !== 2) {
    throw new StrataError('INVALID_ARGUMENT', `run marker ${JSON.stringify(name)} must be runs/<run id>`);
  }
  return name;
}

/** Commits, trees, runs and tags are canonical JSON objects of at most this size. */
const MAX_META_OBJECT = 16 * 1024 * 1024;

/**
 * What kind of object `id` is: the `strata` field of a metadata object ('commit', 'tree', 'run',
 * 'tag', 'chunks'), 'blob' for anything else, null when it is not on the server.
 */
export async function objectKind(repo: Repository, id: string): Promise<{ kind: string; bytes: Buffer | null } | null> {
  const st = await repo.store.stat(id);
  if (!st) return null;
  if (st.size > MAX_META_OBJECT) return { kind: 'blob', bytes: null };
  const bytes = await repo.store.getBytes(id, { verify: true });
  if (bytes[0] === 0x7b) {
    try {
      const v = JSON.parse(bytes.toString('utf8')) as unknown;
      if (v && typeof v === 'object' && typeof (v as { strata?: unknown }).strata === 'string') return { kind: (v as { strata: string }).strata, bytes };
    } catch {
      /* not JSON: a blob */
    }
  }
  return { kind: 'blob', bytes };
}

function kindName(kind: string): string {
  return kind === 'chunks' ? 'a chunk list' : kind === 'blob' ? 'a blob (file content)' : `a ${kind}`;
}

/** Refuse a ref update whose target is not the kind of object the namespace holds (400). */
async function checkTargetKind(repo: Repository, name: string, value: string, want: 'commit' | 'run'): Promise<Buffer> {
  const k = await objectKind(repo, value);
  if (!k) throw new StrataError('INVALID_ARGUMENT', `${want} object ${value} was not uploaded`, { hint: 'push the objects first (strata push does this)', details: { missing: [value] } });
  if (k.kind !== want || !k.bytes) {
    throw new StrataError('INVALID_ARGUMENT', `${name} must point at a ${want}, but ${value} is ${kindName(k.kind)}`, {
      hint: want === 'run' ? 'runs/<id> refs hold the id of the run object' : 'heads/ and tags/ refs hold commit ids',
      details: { ref: name, value, kind: k.kind },
    });
  }
  return k.bytes;
}

/** Run object id of a run marker runs/<run id> (kept in the runs table, not as a ref). */
export function runMarker(repo: Repository, name: string): string | null {
  return runObject(repo, name.slice(5));
}

export function runMarkers(repo: Repository, prefix: string): Array<{ name: string; value: string; etag: string }> {
  if (!('runs/'.startsWith(prefix) || prefix.startsWith('runs/'))) return [];
  return runObjects(repo).map((r) => ({ name: `runs/${r.id}`, value: r.object, etag: refEtag(r.object) })).filter((r) => r.name.startsWith(prefix));
}

/**
 * PUT runs/<run id>: the value is the run object's id. The run is read, checked against the name,
 * and inserted into the runs table and lineage graph. Markers are immutable: re-putting the same
 * value succeeds, a different value is a conflict.
 */
async function putRunMarker(repo: Repository, name: string, value: string, ifMatch: string | undefined, ifNone: string | undefined): Promise<{ name: string; value: string; etag: string }> {
  const cur = runMarker(repo, name);
  if (cur) {
    if (cur === value) return { name, value, etag: refEtag(value) };
    throw refConflict(name, ifNone !== undefined ? 'exists' : 'changed');
  }
  if (ifMatch !== undefined) throw refConflict(name, 'missing');
  const bytes = await checkTargetKind(repo, name, value, 'run');
  const { parseRun } = await import('../core/meta/runs.js');
  const r = parseRun(bytes);
  if (r.id !== name.slice(5)) throw new StrataError('INVALID_ARGUMENT', `run object ${value} is run ${r.id}, not ${name.slice(5)}`);
  recordReceivedRun(repo, r, value, bytes.toString('utf8'));
  return { name, value, etag: refEtag(value) };
}

export function getRef(repo: Repository, name: string): { name: string; value: string; etag: string } {
  if (name.startsWith('runs/')) {
    const v = runMarker(repo, name);
    if (!v) throw new StrataError('UNKNOWN_REF', `run marker ${name} does not exist`);
    return { name, value: v, etag: refEtag(v) };
  }
  const r = repo.db.getRef('refs/' + name);
  if (!r || r.target.startsWith('ref: ')) throw new StrataError('UNKNOWN_REF', `ref ${name} does not exist`);
  return { name, value: r.target, etag: refEtag(r.target) };
}

interface Indexable {
  commits: Array<{ id: Id; c: Commit; bytes: Buffer }>;
  trees: Array<{ id: Id; bytes: Buffer }>;
}

/**
 * Everything a ref update to `target` needs that the database does not know yet: new commits and
 * trees (read and hash-verified), plus a check that every blob, manifest and chunk they reference
 * exists. Throws INVALID_ARGUMENT naming missing objects: a ref never points at an incomplete commit.
 */
export async function collectForRef(repo: Repository, target: Id): Promise<Indexable> {
  const out: Indexable = { commits: [], trees: [] };
  const missing: Id[] = [];
  const need = new Set<Id>();
  const seenTrees = new Set<Id>();
  const readVerified = async (id: Id): Promise<Buffer | null> => {
    try {
      return await repo.store.getBytes(id, { verify: true });
    } catch (e) {
      if (e instanceof StrataError && e.code === 'OBJECT_MISSING') {
        missing.push(id);
        return null;
      }
      throw e;
    }
  };
  const parsed = new Map<Id, Tree>();
  const walkTree = async (id: Id, depth = 0): Promise<void> => {
    if (seenTrees.has(id) || repo.db.getTreeRaw(id)) return; // indexed trees are complete
    if (depth > MAX_TREE_DEPTH) throw new StrataError('OBJECT_CORRUPT', `tree object ${id} nests directories deeper than ${MAX_TREE_DEPTH} levels`);
    seenTrees.add(id);
    const bytes = await readVerified(id);
    if (!bytes) return;
    const tree = parseTree(bytes, { id });
    parsed.set(id, tree);
    out.trees.push({ id, bytes });
    for (const e of tree.entries) {
      if (e.type === 'dir') await walkTree(e.id, depth + 1);
      else if (e.type === 'file' && e.chunks) {
        const mb = await readVerified(e.chunks);
        if (mb) for (const [cid] of parseManifest(mb, { id: e.chunks }).chunks) need.add(cid);
      } else need.add(e.id);
    }
  };
  const queue: Id[] = [target];
  const seen = new Set<Id>();
  while (queue.length) {
    const id = queue.pop()!;
    if (seen.has(id) || repo.db.hasCommit(id)) continue;
    seen.add(id);
    const bytes = await readVerified(id);
    if (!bytes) continue;
    const c = parseCommit(bytes, { id });
    out.commits.push({ id, c, bytes });
    await walkTree(c.tree);
    // Declared counts and sizes true, and no tree bomb, before the ref can point at it.
    if (missing.length === 0) await checkTreeGraph(async (t) => parsed.get(t) ?? repo.readTree(t), c.tree);
    queue.push(...c.parents);
  }
  const ids = [...need];
  for (let i = 0; i < ids.length; i += 5000) {
    const slice = ids.slice(i, i + 5000);
    const have = await repo.store.hasMany(slice);
    for (const x of slice) if (!have.has(x)) missing.push(x);
  }
  if (missing.length) {
    throw new StrataError('INVALID_ARGUMENT', `cannot move the ref: ${missing.length} object(s) it needs were not uploaded`, {
      hint: 'push the objects first (strata push does this)',
      details: { missing: missing.slice(0, 20) },
    });
  }
  return out;
}

/** PUT /refs/<name>: create (If-None-Match: *) or compare-and-swap (If-Match). */
export async function putRef(repo: Repository, name: string, req: IncomingMessage, jsonLimit: number): Promise<{ name: string; value: string; etag: string }> {
  const body = (await readJson(req, jsonLimit)) as { value?: unknown } | undefined;
  const value = checkRefValue(typeof body?.value === 'string' ? body.value : String(body?.value));
  const ifMatch = req.headers['if-match'];
  const ifNone = req.headers['if-none-match'];
  if ((ifMatch === undefined) === (ifNone === undefined)) {
    throw new StrataError('INVALID_ARGUMENT', 'a ref update needs exactly one of If-Match: <etag> (move) or If-None-Match: * (create)');
  }
  if (ifNone !== undefined && ifNone.trim() !== '*') throw new StrataError('INVALID_ARGUMENT', 'If-None-Match must be *');
  const full = 'refs/' + name;
  if (name.startsWith('runs/')) return putRunMarker(repo, name, value, ifMatch, ifNone);
  // Cheap early check, before the (possibly long) completeness walk.
  const before = repo.db.getRef(full);
  if (ifNone !== undefined && before) throw refConflict(name, 'exists');
  if (ifMatch !== undefined) {
    if (!before) throw refConflict(name, 'missing');
    if (refEtag(before.target) !== ifMatch.trim()) throw refConflict(name, 'changed');
  }
  // Every ref but a run marker points at a complete commit (annotated tags too: tags/<name> holds
  // the tagged commit, as strata push sends it), so what fsck checks on the server always holds.
  await checkTargetKind(repo, name, value, 'commit');
  const idx: Indexable = await collectForRef(repo, value);
  repo.db.tx(() => {
    const cur = repo.db.getRef(full);
    if (ifNone !== undefined && cur) throw refConflict(name, 'exists');
    if (ifMatch !== undefined) {
      if (!cur) throw refConflict(name, 'missing');
      if (refEtag(cur.target) !== ifMatch.trim()) throw refConflict(name, 'changed');
    }
    for (const t of idx.trees) repo.db.putTree(t.id, t.bytes);
    for (const c of idx.commits) repo.indexCommit(c.id, c.c, c.bytes);
    try {
      repo.db.casRef(full, cur?.target ?? null, value);
    } catch (e) {
      if (e instanceof StrataError && e.code === 'REF_CONFLICT') throw refConflict(name, 'changed');
      throw e;
    }
  });
  return { name, value, etag: refEtag(value) };
}

export function deleteRef(repo: Repository, name: string, req: IncomingMessage): void {
  if (name.startsWith('runs/')) throw new StrataError('INVALID_ARGUMENT', 'run markers cannot be deleted over HTTP');
  const ifMatch = req.headers['if-match'];
  if (ifMatch === undefined) throw new StrataError('INVALID_ARGUMENT', 'deleting a ref needs If-Match: <etag>');
  const full = 'refs/' + name;
  repo.db.tx(() => {
    const cur = repo.db.getRef(full);
    if (!cur) throw refConflict(name, 'missing');
    if (refEtag(cur.target) !== ifMatch.trim()) throw refConflict(name, 'changed');
    repo.db.casRef(full, cur.target, null);
  });
}
