/**
 * The remote protocol's operations: what `strata serve` does for http(s) remotes, on an open
 * Repository, with no HTTP in it. The server (server/protocol.ts) parses requests, calls these and
 * writes responses; the limits it enforces on bodies are passed in.
 *
 * Objects: presence checks, reads, a verified single-object store (hashed while spooled), a wire
 * pack receiver (every object hash-verified, one batch, all or nothing) and serialised deletes.
 * Refs: the namespaces a server keeps (heads/, tags/, runs/), listing with ETags (core/format/
 * ref-body.ts), and compare-and-swap updates that refuse a target of the wrong kind or a commit
 * whose objects are incomplete or whose tree graph lies about counts and sizes.
 */
import type { Readable } from 'node:stream';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StrataError } from '../errors/index.js';
import { createHasher, hashBytes, isId } from '../hash/index.js';
import { WirePackDecoder } from '../format/wire-pack.js';
import { refEtag } from '../format/ref-body.js';
import { MAX_TREE_DEPTH, parseCommit, parseManifest, parseTree, type Commit, type Id, type Tree } from '../model/index.js';
import { checkTreeGraph } from '../repo/tree.js';
import type { Repository } from '../repo/index.js';
import { checkRefName, checkRefValue, refConflict, type RefEntry } from '../store/refs.js';
import { isLocalPathCapable } from '../store/types.js';
import { parseRun } from '../meta/runs.js';
import { recordReceivedRun, runObject, runObjects } from './runs.js';
import type { Refs } from './types.js';
import { gateBranchMove, type GateVerdict } from '../checks/gate.js';

export type { RefEntry };

/** A request body (or any source) larger than `limit` bytes: 413 on the server. */
export function payloadTooLarge(limit: number): StrataError {
  return new StrataError('PAYLOAD_TOO_LARGE', `request body larger than ${limit} bytes`, { hint: 'send less per request (the limits are in docs/api.md)', details: { limit } });
}

export function checkId(id: string): string {
  if (!isId(id)) throw new StrataError('INVALID_ARGUMENT', `invalid object id ${JSON.stringify(id)}`, { hint: 'object ids are 64 lowercase hex characters' });
  return id;
}

// ---------------------------------------------------------------- objects

/** The ids of `ids` the repository holds. */
export async function presentObjects(repo: Repository, ids: string[]): Promise<string[]> {
  const present = await repo.store.hasMany(ids);
  return ids.filter((i) => present.has(i));
}

/** Size of object `id`, or null when the repository does not hold it. */
export async function objectSize(repo: Repository, id: string): Promise<number | null> {
  checkId(id);
  const st = await repo.store.stat(id);
  return st ? st.size : null;
}

/** Bytes of object `id`: a byte range as stored, or the whole object verified against its id. */
export function readObject(repo: Repository, id: string, range: { start: number; end: number } | null): Promise<Readable> {
  return repo.store.get(id, range ? { range } : { verify: true });
}

/** Every object whose id starts with `prefix` (hex; anything else matches nothing). */
export async function* listObjects(repo: Repository, prefix: string): AsyncIterable<{ id: string; size: number }> {
  if (prefix.length > 64) throw new StrataError('INVALID_ARGUMENT', 'prefix is longer than an object id');
  if (!/^[0-9a-f]*$/.test(prefix)) return; // no id has such a prefix
  for await (const o of repo.store.list(prefix || undefined)) yield { id: o.id, size: o.size };
}

/**
 * Store object `id` from `source`: hashed while spooled to a temp file in `tmpDir`, stored only if
 * the bytes hash to `id` (OBJECT_CORRUPT otherwise, nothing stored); PAYLOAD_TOO_LARGE past `limit`.
 */
export async function storeObject(repo: Repository, id: string, source: AsyncIterable<unknown>, opts: { tmpDir: string; limit: number }): Promise<{ id: string; size: number; stored: true }> {
  checkId(id);
  const { tmpDir, limit } = opts;
  await mkdir(tmpDir, { recursive: true });
  const tmp = join(tmpDir, `put-${randomBytes(8).toString('hex')}`);
  try {
    const h = createHasher();
    let size = 0;
    const out = createWriteStream(tmp);
    let writeErr: Error | null = null;
    out.on('error', (e) => (writeErr = e));
    try {
      for await (const c of source) {
        size += (c as Buffer).length;
        if (size > limit) throw payloadTooLarge(limit);
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
    return { id, size, stored: true };
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Receive a wire pack (core/format/wire-pack.ts) from `source`: parse frames as they stream in,
 * verify each hash, write through one batch (nothing is kept unless the whole pack is good).
 * Linear in the pack's size: each frame's bytes are copied once, into a buffer of the size its
 * header declares (checked against the remaining limit before anything is allocated).
 * Malformed → INVALID_ARGUMENT; a frame or body past `limit` → PAYLOAD_TOO_LARGE.
 */
export async function receivePack(repo: Repository, source: AsyncIterable<unknown>, opts: { limit: number }): Promise<{ objects: number; bytes: number }> {
  const { limit } = opts;
  const batch = repo.store.batch();
  let ok = false;
  try {
    const bad = (_problem: string, msg: string) => new StrataError('INVALID_ARGUMENT', `malformed pack: ${msg}`, { hint: 'see the pack format in docs/api.md' });
    // The frame cannot fit in what the limit still allows: refuse before keeping any of it.
    const dec = new WirePackDecoder({
      error: bad,
      checkFrame: (size, consumed) => {
        if (consumed + size > limit) throw payloadTooLarge(limit);
      },
    });
    let total = 0;
    let objects = 0;
    let bytes = 0;
    for await (const chunk of source) {
      const c = chunk as Buffer;
      total += c.length;
      if (total > limit) throw payloadTooLarge(limit);
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

/**
 * The objects `ids`, in order, each verified against its id. Checks first that all are present
 * (OBJECT_MISSING naming up to 20 otherwise), before the first is yielded.
 */
export async function readObjects(repo: Repository, ids: string[]): Promise<AsyncIterable<{ id: string; data: Buffer }>> {
  const present = await repo.store.hasMany(ids);
  const missing = ids.filter((i) => !present.has(i));
  if (missing.length) throw new StrataError('OBJECT_MISSING', `${missing.length} requested object(s) are not on this server`, { details: { missing: missing.slice(0, 20) } });
  return (async function* () {
    for (const id of ids) yield { id, data: await repo.store.getBytes(id, { verify: true }) };
  })();
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

/** The ref namespaces a server keeps: branches, tags and run markers (what strata push sends). */
const REF_NAMESPACES = ['heads/', 'tags/', 'runs/'] as const;

/** A ref name relative to refs/ as a server accepts it: the one ref-name rule, then one of REF_NAMESPACES. */
export function checkServedRefName(name: string): string {
  checkRefName(name);
  if (!REF_NAMESPACES.some((ns) => name.startsWith(ns))) {
    throw new StrataError('INVALID_ARGUMENT', `ref ${JSON.stringify(name)} is outside the namespaces this server keeps`, { hint: 'use heads/<branch>, tags/<tag> or runs/<run id>' });
  }
  if (name.startsWith('runs/') && name.split('/').length !== 2) {
    throw new StrataError('INVALID_ARGUMENT', `run marker ${JSON.stringify(name)} must be runs/<run id>`);
  }
  return name;
}

/** Run object id of a run marker runs/<run id> (kept in the runs table, not as a ref). */
function runMarker(repo: Repository, name: string): string | null {
  return runObject(repo, name.slice(5));
}

function runMarkers(repo: Repository, prefix: string): RefEntry[] {
  if (!('runs/'.startsWith(prefix) || prefix.startsWith('runs/'))) return [];
  return runObjects(repo).map((r) => ({ name: `runs/${r.id}`, value: r.object, etag: refEtag(r.object) })).filter((r) => r.name.startsWith(prefix));
}

/** Refs relative to refs/ whose name starts with `prefix` (the remote-protocol view), run markers included, sorted. */
function listRefs(repo: Repository, prefix = ''): RefEntry[] {
  const refs = repo.db
    .listRefs('refs/' + prefix)
    .filter((r) => !r.name.startsWith('refs/remotes/') && !r.target.startsWith('ref: '))
    .map((r) => ({ name: r.name.slice(5), value: r.target, etag: refEtag(r.target) }));
  return [...refs, ...runMarkers(repo, prefix)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** HEAD, branches, tags (with their annotations) and the raw refs under `prefix`. */
export function refsOverview(repo: Repository, prefix = ''): Refs {
  const branches = repo.db.listRefs('refs/heads/').map((r) => ({ name: r.name.slice(11), commit: r.target, updatedAt: r.updatedAt }));
  const tags = repo.db.listRefs('refs/tags/').map((r) => {
    const name = r.name.slice(10);
    const t = repo.db.getTag(name);
    return { name, commit: r.target, message: t?.message ?? null, tagger: t?.tagger ?? null, time: t?.time ?? null };
  });
  return { head: repo.head(), branches, tags, refs: listRefs(repo, prefix) };
}

export function getRef(repo: Repository, name: string): RefEntry {
  if (name.startsWith('runs/')) {
    const v = runMarker(repo, name);
    if (!v) throw new StrataError('UNKNOWN_REF', `run marker ${name} does not exist`);
    return { name, value: v, etag: refEtag(v) };
  }
  const r = repo.db.getRef('refs/' + name);
  if (!r || r.target.startsWith('ref: ')) throw new StrataError('UNKNOWN_REF', `ref ${name} does not exist`);
  return { name, value: r.target, etag: refEtag(r.target) };
}

/** Commits, trees, runs and tags are canonical JSON objects of at most this size. */
const MAX_META_OBJECT = 16 * 1024 * 1024;

/**
 * What kind of object `id` is: the `strata` field of a metadata object ('commit', 'tree', 'run',
 * 'tag', 'chunks'), 'blob' for anything else, null when it is not in the repository.
 */
async function objectKind(repo: Repository, id: string): Promise<{ kind: string; bytes: Buffer | null } | null> {
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

/**
 * PUT runs/<run id>: the value is the run object's id. The run is read, checked against the name,
 * and inserted into the runs table and lineage graph. Markers are immutable: re-putting the same
 * value succeeds, a different value is a conflict.
 */
async function putRunMarker(repo: Repository, name: string, value: string, ifMatch: string | undefined, ifNone: string | undefined): Promise<RefEntry> {
  const cur = runMarker(repo, name);
  if (cur) {
    if (cur === value) return { name, value, etag: refEtag(value) };
    throw refConflict(name, ifNone !== undefined ? 'exists' : 'changed');
  }
  if (ifMatch !== undefined) throw refConflict(name, 'missing');
  const bytes = await checkTargetKind(repo, name, value, 'run');
  const r = parseRun(bytes);
  if (r.id !== name.slice(5)) throw new StrataError('INVALID_ARGUMENT', `run object ${value} is run ${r.id}, not ${name.slice(5)}`);
  recordReceivedRun(repo, r, value, bytes.toString('utf8'));
  return { name, value, etag: refEtag(value) };
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
async function collectForRef(repo: Repository, target: Id): Promise<Indexable> {
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

/**
 * Create (ifNoneMatch '*') or compare-and-swap (ifMatch: the etag read) ref `name` (relative to
 * refs/) to `value`. Exactly one condition must be given. heads/ and tags/ must point at a commit
 * whose objects are all present and whose tree graph checks out (checkTreeGraph); new commits and
 * trees are indexed in the same transaction as the ref moves. runs/<id> markers point at the run
 * object, are recorded in the runs table and are immutable. A lost race → REF_CONFLICT. A branch
 * that checks.protect names moves only to a commit whose checks pass (core/checks/gate.ts):
 * CHECK_FAILED otherwise, the ref unchanged; the verdict (warnings included) comes back as `checks`.
 */
export async function updateRef(repo: Repository, name: string, rawValue: string, cond: { ifMatch?: string; ifNoneMatch?: string }): Promise<RefEntry & { checks?: GateVerdict }> {
  const value = checkRefValue(rawValue);
  const ifMatch = cond.ifMatch;
  const ifNone = cond.ifNoneMatch;
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
  // A protected branch (checks.protect) moves only to a commit whose error-level checks pass; the
  // compare-and-swap below still refuses if the branch moved while they ran.
  const gate = name.startsWith('heads/')
    ? await gateBranchMove(repo, {
        branch: name.slice(6),
        commit: value,
        previous: before?.target ?? null,
        what: `push to ${name.slice(6)}`,
        hint: `fix the data, commit and push again (strata check ${name.slice(6)} --failures lists the failing rows); nothing was moved on the server`,
      })
    : null;
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
  return { name, value, etag: refEtag(value), ...(gate ? { checks: gate } : {}) };
}

/** Delete ref `name` whose current etag is `ifMatch` (required); run markers cannot be deleted. */
export function deleteRef(repo: Repository, name: string, ifMatch: string | undefined): void {
  if (name.startsWith('runs/')) throw new StrataError('INVALID_ARGUMENT', 'run markers cannot be deleted over HTTP');
  if (ifMatch === undefined) throw new StrataError('INVALID_ARGUMENT', 'deleting a ref needs If-Match: <etag>');
  const full = 'refs/' + name;
  repo.db.tx(() => {
    const cur = repo.db.getRef(full);
    if (!cur) throw refConflict(name, 'missing');
    if (refEtag(cur.target) !== ifMatch.trim()) throw refConflict(name, 'changed');
    repo.db.casRef(full, cur.target, null);
  });
}
