/**
 * Writes to branches through the S3 gateway: a put, copy or delete lands in the branch's
 * uncommitted changes (MetaStore gateway_staged rows), and commitStaged turns them into one commit.
 *
 * The write model (docs/s3-gateway.md, "Writes and commits"):
 * - A put ingests the request body's temp file into repo.store exactly as `strata add` would (one
 *   object under CHUNK_THRESHOLD, else content-defined chunks + manifest: the same ids), made
 *   durable, and only then ONE metadata transaction writes the staged row. The row is the
 *   acknowledgement: once it is written the write survives a crash or a restart.
 * - Uploads run concurrently and without the repository's write lock. The lock is taken only for
 *   the short critical section that checks the objects are (still) in the store, rewrites any a
 *   concurrent gc removed (deduplicated objects nothing referenced yet), and writes the row. gc
 *   holds the same lock and counts staged entries as roots (core/ops/roots.ts), so an acknowledged
 *   write is never collected. Critical sections that queue up while one holds the lock run in that
 *   same holding (group commit: one lock-file round trip for many puts).
 * - The file/folder rule is checked against the branch head's tree with the staged rows laid over
 *   it: optimistically (head read before the transaction; the transaction re-checks that the head
 *   did not move and re-reads the staged rows it depends on, and starts over if the head moved).
 * - commitStaged reads the staged rows, builds head tree + overlay, writes the commit, moves the
 *   branch by compare-and-swap and deletes exactly the rows it read (by their seq): a write that
 *   lands while the commit runs stays staged for the next one.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';
import { hashBytes } from '../hash/index.js';
import { uuidv7 } from '../lineage/openlineage.js';
import type { IndexRow, StagedRow } from '../meta/interface.js';
import { insertRun, serializeRun, type RunDep, type RunOut, type RunRecord } from '../meta/runs.js';
import { canonicalJson, type Id, type TreeEntry } from '../model/index.js';
import { pathProblem } from '../model/strict.js';
import { newCommit } from '../ops/commit.js';
import { gateBranchMove } from '../checks/gate.js';
import { strataVersion } from '../pipeline/executor.js';
import { STRATA_DIR, type Repository } from '../repo/index.js';
import { HEADS, TAGS, validateRefName } from '../repo/refs.js';
import { entryAt, flattenTree, sameEntry, storeIndexTree, type Flat } from '../repo/tree.js';
import { isLocalStore } from '../store/local/index.js';
import { CHUNK_THRESHOLD, storeLargeFile } from '../workspace/large.js';
import { checkStoredPath } from '../workspace/paths.js';
import type { CommitStagedOptions, CommitStagedResult, GatewayObject, StagedChange } from './types.js';

// ---------------------------------------------------------------- where request bodies wait

/** `.strata/uploads`: multipart parts (`<upload id>/`) and request bodies being received (`tmp/`). */
export function uploadsDir(repo: Repository): string {
  return join(repo.root, STRATA_DIR, 'uploads');
}

/**
 * A fresh path for receiving a request body (its folder exists): hand it to stagePut or
 * uploadPart, which consume it. Outside `.strata/objects/tmp`, which gc empties; orphans left by a
 * crash are removed by recoverGateway.
 */
export async function gatewayTempFile(repo: Repository): Promise<string> {
  const dir = join(uploadsDir(repo), 'tmp');
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (e) {
    throw fromSystemError(e, dir);
  }
  return join(dir, `body-${process.pid}-${randomBytes(8).toString('hex')}`);
}

async function removeQuietly(p: string): Promise<void> {
  await fsp.rm(p, { force: true, recursive: true }).catch(() => undefined);
}

// ---------------------------------------------------------------- keys and branches

function invalidRequest(message: string, hint: string, extra: Record<string, unknown> = {}): StrataError {
  return new StrataError('INVALID_ARGUMENT', message, { hint, details: { s3: 'InvalidRequest', ...extra } });
}

/**
 * The repository path an S3 key (after `<ref>/`) names, from hostile input: every component a
 * valid tree name, nothing inside .git or .strata. A key ending in '/' is a folder marker (what
 * consoles and some tools create for "folders"): `folder` is true and nothing is stored for it.
 */
export function checkKeyPath(key: string): { path: string; folder: boolean } {
  if (typeof key !== 'string') throw new StrataError('INVALID_ARGUMENT', 'the key is not a string', { details: { s3: 'InvalidArgument' } });
  const folder = key.endsWith('/');
  const path = folder ? key.replace(/\/+$/, '') : key;
  if (folder && path === '') return { path: '', folder: true };
  const why = pathProblem(path);
  if (why) {
    throw new StrataError('INVALID_ARGUMENT', `invalid key ${JSON.stringify(key)}: a tree cannot hold ${why}`, {
      hint: 'name the object with a plain relative path of valid names, e.g. data/train.csv',
      details: { s3: 'InvalidArgument', path: key },
    });
  }
  try {
    checkStoredPath(path);
  } catch {
    throw new StrataError('INVALID_ARGUMENT', `invalid key ${JSON.stringify(key)}: no component may be .git or .strata`, {
      hint: 'Strata never stores anything inside .git or .strata; rename the object',
      details: { s3: 'InvalidArgument', path: key },
    });
  }
  return { path, folder };
}

/** The commit `branch` points at (null: the unborn branch HEAD names). Throws UNKNOWN_REF. */
export function branchHead(repo: Repository, branch: string): Id | null {
  validateRefName(branch, 'branch');
  const r = repo.db.getRef(HEADS + branch);
  if (r) return r.target;
  if (repo.head().branch === branch) return null;
  throw new StrataError('UNKNOWN_REF', `no branch ${JSON.stringify(branch)} in this repository`, {
    hint: 'writes go to an existing branch: create it first (strata branch NAME, then push it)',
    details: { s3: 'NoSuchKey', branch },
  });
}

async function headTree(repo: Repository, head: Id | null): Promise<Id | null> {
  return head ? (await repo.readCommit(head)).tree : null;
}

// ---------------------------------------------------------------- ingesting content

/** An entry ingested into the store, with every object it needs. */
export interface Ingested {
  entry: Omit<IndexRow, 'path'>;
  /** The blob, or the manifest and its chunks. */
  objects: Id[];
}

/**
 * Store `files` (read one after the other as one content) as `strata add` stores a file of that
 * content, durably: one object below CHUNK_THRESHOLD, else chunks + manifest in one batch.
 */
export async function ingestFiles(repo: Repository, files: readonly string[], size: number): Promise<Ingested> {
  if (size < CHUNK_THRESHOLD) {
    const bufs: Buffer[] = [];
    for (const f of files) {
      try {
        bufs.push(await fsp.readFile(f));
      } catch (e) {
        throw fromSystemError(e, f);
      }
    }
    const buf = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
    const id = hashBytes(buf);
    await repo.store.put(id, buf, { size: buf.length });
    return { entry: { type: 'file', exec: false, size: buf.length, id, chunks: null, target: null }, objects: [id] };
  }
  const batch = repo.store.batch();
  try {
    const r = await storeLargeFile(files, batch);
    await batch.finish();
    return { entry: { type: 'file', exec: false, size: r.size, id: r.id, chunks: r.manifest, target: null }, objects: [r.manifest, ...new Set(r.chunks)] };
  } catch (e) {
    await batch.abort().catch(() => undefined);
    throw e;
  }
}

/** Ids among `ids` that the store does not have (pack indexes re-read first: another process's gc may have rewritten them). */
async function missingObjects(repo: Repository, ids: readonly Id[]): Promise<Id[]> {
  if (isLocalStore(repo.store)) await repo.store.refreshPacks();
  const have = await repo.store.hasMany(ids);
  return ids.filter((id) => !have.has(id));
}

/**
 * Inside a critical section: make sure every object of `ing` is in the store. An object may be
 * gone when the put found it already stored (deduplicated), nothing referenced it, and a gc ran
 * before this critical section; it is written again from the source files.
 */
export async function ensureIngested(repo: Repository, ing: Ingested, files: readonly string[]): Promise<void> {
  if ((await missingObjects(repo, ing.objects)).length === 0) return;
  const again = await ingestFiles(repo, files, ing.entry.size);
  const still = await missingObjects(repo, again.objects);
  if (again.entry.id !== ing.entry.id || still.length) {
    throw new StrataError('INTERNAL', `the objects of ${ing.entry.id} could not be stored again (${still.length} missing)`, { hint: 'retry the upload' });
  }
}

// ---------------------------------------------------------------- critical sections

interface Job {
  fn: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
const queues = new WeakMap<Repository, { jobs: Job[]; running: boolean }>();
/** One holding of the lock runs queued jobs for at most this long, then lets other writers in. */
const HOLD_MAX_MS = 250;

/**
 * Run `fn` holding the repository's write lock (gc excluded). Jobs that queue while the lock is
 * held run in the same holding (up to HOLD_MAX_MS), one after the other; keep them short (checks
 * and one transaction).
 */
export function critical<T>(repo: Repository, fn: () => Promise<T>): Promise<T> {
  // Called inside a writing operation that holds the lock already: queueing behind it would wait forever.
  if (repo.holdsWriteLock()) return fn();
  let q = queues.get(repo);
  if (!q) queues.set(repo, (q = { jobs: [], running: false }));
  const queue = q;
  const p = new Promise<T>((resolve, reject) => queue.jobs.push({ fn, resolve: resolve as (v: unknown) => void, reject }));
  const drain = (): void => {
    if (queue.running || queue.jobs.length === 0) return;
    queue.running = true;
    repo
      .withWriteLock('gateway write', async () => {
        // Bounded, so that a stream of writes cannot keep gc (or a commit) waiting on the lock.
        const until = Date.now() + HOLD_MAX_MS;
        for (let j = queue.jobs.shift(); j; j = Date.now() < until ? queue.jobs.shift() : undefined) {
          try {
            j.resolve(await j.fn());
          } catch (e) {
            j.reject(e);
          }
        }
      })
      .catch((e: unknown) => {
        for (let j = queue.jobs.shift(); j; j = queue.jobs.shift()) j.reject(e);
      })
      .finally(() => {
        queue.running = false;
        drain();
      });
  };
  drain();
  return p;
}

// ---------------------------------------------------------------- the file/folder rule

/** What the head tree says about a path, read before the transaction that relies on it. */
interface HeadFacts {
  head: Id | null;
  /** The nearest ancestor of the path that is a file (or link) in the head tree. */
  fileAncestors: string[];
  /** The head entry at the path. */
  at: TreeEntry | null;
  /** When `at` is a directory and staged deletes exist below it: every file below it in the head. */
  below: string[] | null;
}

async function headFacts(repo: Repository, branch: string, head: Id | null, path: string): Promise<HeadFacts> {
  const tree = await headTree(repo, head);
  const facts: HeadFacts = { head, fileAncestors: [], at: null, below: null };
  if (!tree) return facts;
  const parts = path.split('/');
  let cur: Id | null = tree;
  for (let i = 0; i < parts.length && cur; i++) {
    const t = await repo.readTree(cur);
    const e = t.entries.find((x) => x.name === parts[i]);
    if (!e) break;
    if (i === parts.length - 1) facts.at = e;
    else if (e.type === 'dir') cur = e.id;
    else {
      facts.fileAncestors.push(parts.slice(0, i + 1).join('/'));
      break;
    }
  }
  if (facts.at?.type === 'dir' && repo.db.listStaged(branch, { prefix: path + '/' }).some((r) => r.op === 'delete')) {
    facts.below = [...(await flattenTree(repo, tree, path)).keys()];
  }
  return facts;
}

/**
 * Inside the transaction: refuse a put of `path` that would make a file and a folder of one name,
 * in the head tree with the staged rows over it. Returns false when the facts are stale (the head
 * moved, or a delete appeared below a head folder): read them again and retry.
 */
function putAllowed(repo: Repository, branch: string, path: string, f: HeadFacts): boolean {
  if ((repo.db.getRef(HEADS + branch)?.target ?? null) !== f.head) return false;
  // An ancestor that is a file: staged put, or a head file not deleted.
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const anc = parts.slice(0, i).join('/');
    const s = repo.db.getStaged(branch, anc);
    const headFile = f.fileAncestors.includes(anc);
    if ((s && s.op === 'put') || (headFile && !(s && s.op === 'delete'))) {
      throw invalidRequest(`cannot write ${path}: ${anc} is a file on branch ${branch}`, `delete ${anc} first, or write under another name`, { path, conflict: anc });
    }
  }
  // The path itself a folder: staged puts below it, or head files below it not all deleted.
  const under = repo.db.listStaged(branch, { prefix: path + '/' });
  const stagedBelow = under.find((r) => r.op === 'put');
  if (stagedBelow) {
    throw invalidRequest(`cannot write ${path}: it is a folder on branch ${branch} (${stagedBelow.path} is in it)`, `delete what is under ${path}/ first, or write under another name`, { path, conflict: stagedBelow.path });
  }
  if (f.at?.type === 'dir') {
    const deleted = new Set(under.filter((r) => r.op === 'delete').map((r) => r.path));
    if (deleted.size && f.below === null) return false;
    const left = (f.below ?? []).find((p) => !deleted.has(p));
    if (f.below === null || left !== undefined) {
      throw invalidRequest(`cannot write ${path}: it is a folder on branch ${branch}`, `delete what is under ${path}/ first, or write under another name`, { path, conflict: left ?? path + '/' });
    }
  }
  return true;
}

/**
 * Write one staged put row for `path` (after its objects are durable), checking the file/folder
 * rule; retries while the head moves. Runs inside a critical section. `also` runs in the same
 * transaction (multipart: forget the upload).
 */
export async function writePutRow(
  repo: Repository,
  branch: string,
  path: string,
  entry: Omit<IndexRow, 'path'>,
  contentType: string | null,
  also?: () => void,
): Promise<GatewayObject> {
  for (let attempt = 0; ; attempt++) {
    const head = branchHead(repo, branch);
    const facts = await headFacts(repo, branch, head, path);
    const time = Date.now();
    const row: Omit<StagedRow, 'seq'> = { branch, path, op: 'put', entry: { ...entry, path }, contentType, time };
    const ok = repo.db.tx(() => {
      if (!putAllowed(repo, branch, path, facts)) return false;
      also?.();
      repo.db.putStaged([row]);
      return true;
    });
    if (ok) return { path, entry: { ...entry, path }, mtime: time, contentType, staged: true };
    if (attempt > 50) throw new StrataError('REPO_BUSY', `branch ${branch} kept moving while writing ${path}`, { hint: 'retry the write', details: { s3: 'SlowDown' } });
  }
}

/** What a folder marker answers: nothing is stored (an empty object, not staged). */
export function folderObject(path: string): GatewayObject {
  const id = hashBytes(Buffer.alloc(0));
  return { path: path ? path + '/' : '', entry: { path: path ? path + '/' : '', type: 'file', exec: false, size: 0, id, chunks: null, target: null }, mtime: Date.now(), contentType: null, staged: false };
}

// ---------------------------------------------------------------- put, copy, delete

/**
 * PutObject: store the content of `tmpFile` (consumed: removed whatever happens) and stage it at
 * `path` on `branch`. Acknowledged (durable) when it returns.
 */
export async function stagePut(repo: Repository, branch: string, path: string, tmpFile: string, opts: { contentType?: string | null } = {}): Promise<GatewayObject> {
  try {
    const key = checkKeyPath(path);
    const head = branchHead(repo, branch);
    if (key.folder) return folderObject(key.path);
    // Fail early, before storing anything, when the rule already refuses it.
    const facts = await headFacts(repo, branch, head, key.path);
    putAllowed(repo, branch, key.path, facts);
    let size: number;
    try {
      size = (await fsp.stat(tmpFile)).size;
    } catch (e) {
      throw fromSystemError(e, tmpFile);
    }
    const ing = await ingestFiles(repo, [tmpFile], size);
    return await critical(repo, async () => {
      await ensureIngested(repo, ing, [tmpFile]);
      return writePutRow(repo, branch, key.path, ing.entry, opts.contentType ?? null);
    });
  } finally {
    await removeQuietly(tmpFile);
  }
}

/**
 * CopyObject without copying: stage `src`'s entry (content id, manifest) at `path`. The source must
 * be content of this repository (its objects are checked to be in the store). `contentType`
 * undefined keeps the source's.
 */
export async function stageCopy(repo: Repository, branch: string, path: string, src: GatewayObject, opts: { contentType?: string | null } = {}): Promise<GatewayObject> {
  const key = checkKeyPath(path);
  branchHead(repo, branch);
  if (key.folder) return folderObject(key.path);
  if (src.entry.type !== 'file') throw invalidRequest(`cannot copy ${src.path}: it is a symbolic link`, 'copy a regular file');
  const objects = src.entry.chunks ? [src.entry.chunks] : [src.entry.id];
  const contentType = opts.contentType === undefined ? src.contentType : opts.contentType;
  const entry: Omit<IndexRow, 'path'> = { type: 'file', exec: src.entry.exec, size: src.entry.size, id: src.entry.id, chunks: src.entry.chunks, target: null };
  return critical(repo, async () => {
    const missing = await missingObjects(repo, objects);
    if (missing.length) {
      throw invalidRequest(`cannot copy ${src.path}: its content is not in this repository's store`, 'copy within one repository, or read the object and put it', { missing });
    }
    return writePutRow(repo, branch, key.path, entry, contentType);
  });
}

/**
 * DeleteObject(s): a path in the head tree gets a tombstone; a put staged on top of nothing is
 * dropped. Deleting a key that does not exist succeeds and is not listed in `deleted`.
 */
export async function stageDelete(repo: Repository, branch: string, paths: string[]): Promise<{ deleted: string[] }> {
  const keys = paths.map((p) => checkKeyPath(p));
  for (let attempt = 0; ; attempt++) {
    const head = branchHead(repo, branch);
    const tree = await headTree(repo, head);
    const inHead = new Map<string, boolean>();
    for (const k of keys) {
      if (k.folder || inHead.has(k.path)) continue;
      const e = tree ? await entryAt(repo, tree, k.path) : null;
      inHead.set(k.path, !!e && e.type !== 'dir');
    }
    const now = Date.now();
    const deleted = repo.db.tx(() => {
      if ((repo.db.getRef(HEADS + branch)?.target ?? null) !== head) return null;
      const out: string[] = [];
      for (const [p, headFile] of inHead) {
        const s = repo.db.getStaged(branch, p);
        if (s?.op === 'put') {
          if (headFile) repo.db.putStaged([{ branch, path: p, op: 'delete', entry: null, contentType: null, time: now }]);
          else repo.db.deleteStaged(branch, [{ path: p, seq: s.seq }]);
          out.push(p);
        } else if (!s && headFile) {
          repo.db.putStaged([{ branch, path: p, op: 'delete', entry: null, contentType: null, time: now }]);
          out.push(p);
        }
      }
      return out;
    });
    if (deleted) return { deleted };
    if (attempt > 50) throw new StrataError('REPO_BUSY', `branch ${branch} kept moving while deleting`, { hint: 'retry', details: { s3: 'SlowDown' } });
  }
}

// ---------------------------------------------------------------- listing and discarding

function toChange(r: StagedRow): StagedChange {
  return { path: r.path, op: r.op, size: r.entry?.size ?? null, id: r.entry?.id ?? null, contentType: r.contentType, time: r.time };
}

/** A branch's uncommitted changes, by path. */
export function listStagedChanges(repo: Repository, branch: string): StagedChange[] {
  branchHead(repo, branch);
  return repo.db.listStaged(branch).map(toChange);
}

/**
 * Drop uncommitted changes: all of them, or those at or below `paths` (a path names a key or a
 * folder; a trailing '/' is allowed).
 */
export function discardStaged(repo: Repository, branch: string, paths?: string[]): { discarded: number } {
  branchHead(repo, branch);
  if (paths === undefined) return { discarded: repo.db.tx(() => repo.db.deleteStaged(branch, 'all')) };
  const roots = paths.map((p) => checkKeyPath(p).path);
  const discarded = repo.db.tx(() => {
    const rows = new Map<string, number>();
    for (const r of roots) {
      if (r === '') for (const s of repo.db.listStaged(branch)) rows.set(s.path, s.seq);
      else {
        const s = repo.db.getStaged(branch, r);
        if (s) rows.set(s.path, s.seq);
        for (const b of repo.db.listStaged(branch, { prefix: r + '/' })) rows.set(b.path, b.seq);
      }
    }
    return repo.db.deleteStaged(branch, [...rows].map(([path, seq]) => ({ path, seq })));
  });
  return { discarded };
}

// ---------------------------------------------------------------- commit

const STAGE_RE = /^[A-Za-z0-9_-]+$/;

/**
 * Turn the branch's uncommitted changes into one commit (NOTHING_TO_COMMIT when there are none),
 * optionally recorded as the outputs of a run whose inputs are the versions `run.inputs` name.
 */
export async function commitStaged(repo: Repository, branch: string, opts: CommitStagedOptions): Promise<CommitStagedResult> {
  const message = opts.message?.trim();
  if (!message) throw new StrataError('INVALID_ARGUMENT', 'empty commit message', { hint: 'give the commit a message' });
  if (opts.run && !STAGE_RE.test(opts.run.stage ?? '')) {
    throw new StrataError('INVALID_ARGUMENT', `invalid run stage name ${JSON.stringify(opts.run.stage)}`, { hint: 'name the stage with letters, digits, "_" and "-"' });
  }
  return repo.withWriteLock('gateway commit', async () => {
    const head = branchHead(repo, branch);
    const rows = repo.db.listStaged(branch);
    if (rows.length === 0) {
      throw new StrataError('NOTHING_TO_COMMIT', `nothing to commit on ${branch}: no uncommitted writes`, { hint: 'write objects through the S3 gateway first' });
    }
    const base = await flattenTree(repo, await headTree(repo, head));
    const flat: Flat = new Map(base);
    for (const r of rows) {
      if (r.op === 'put' && r.entry) flat.set(r.path, { ...r.entry, path: r.path });
      else flat.delete(r.path);
    }
    const changes: CommitStagedResult['changes'] = [];
    for (const r of rows) {
      const old = base.get(r.path);
      if (r.op === 'put' && r.entry && !(old && sameEntry(old, { ...r.entry, path: r.path }))) changes.push({ path: r.path, op: 'put' });
      else if (r.op === 'delete' && old) changes.push({ path: r.path, op: 'delete' });
    }
    if (changes.length === 0) {
      // Every write matches the head already: nothing to record; the no-op rows go.
      repo.db.tx(() => repo.db.deleteStaged(branch, rows.map((r) => ({ path: r.path, seq: r.seq }))));
      throw new StrataError('NOTHING_TO_COMMIT', `nothing to commit on ${branch}: the uncommitted writes match its head (they were dropped)`, { hint: 'write different content' });
    }
    let tree: Id;
    try {
      tree = await storeIndexTree(repo, flat);
    } catch (e) {
      if (e instanceof StrataError && e.code === 'INVALID_ARGUMENT') {
        throw invalidRequest(`cannot commit ${branch}: ${e.message}`, 'the branch moved under the uncommitted writes; discard the clashing path and write it again');
      }
      throw e;
    }
    // The caller's metadata goes under meta.labels, the one free-form part of a commit's meta.
    const labels = opts.meta && Object.keys(opts.meta).length ? { labels: opts.meta } : undefined;
    const { id } = await newCommit(repo, { tree, parents: head ? [head] : [], message, meta: labels, code: false, author: opts.author });
    // A protected branch (checks.protect) takes only a commit whose checks pass; refused, the
    // uncommitted writes stay, to be fixed (written again or discarded) and committed again.
    await gateBranchMove(repo, {
      branch,
      commit: id,
      previous: head,
      what: `gateway commit to ${branch}`,
      hint: `write the fixed objects through the S3 gateway (or drop them: strata staging discard, POST /staging/discard) and commit again; ${branch} was not moved and its uncommitted writes are kept`,
    });
    let run: { rec: RunRecord; object: Id; text: string } | null = null;
    if (opts.run) {
      const rec = await runRecord(repo, branch, opts.run, rows, flat, changes);
      const bytes = serializeRun(rec);
      const object = hashBytes(bytes);
      await repo.store.put(object, bytes);
      run = { rec, object, text: bytes.toString('utf8') };
    }
    repo.db.tx(() => {
      repo.db.casRef(HEADS + branch, head, id);
      if (run) insertRun(repo.db, run.rec, run.object, run.text);
      repo.db.deleteStaged(branch, rows.map((r) => ({ path: r.path, seq: r.seq })));
    });
    return { commit: id, branch, parent: head, changes, run: run ? run.rec.id : null };
  });
}

/**
 * The run a gateway commit records: its inputs the versions `inputs` name (`<ref>/<path>`), its
 * outputs the files the commit wrote. Never a run-cache candidate (its signature names the
 * gateway), origin adhoc, no code version (the server has no code of its own).
 */
async function runRecord(
  repo: Repository,
  branch: string,
  run: NonNullable<CommitStagedOptions['run']>,
  rows: StagedRow[],
  flat: Flat,
  changes: CommitStagedResult['changes'],
): Promise<RunRecord> {
  const deps: RunDep[] = [];
  for (const key of run.inputs ?? []) {
    const d = await inputVersion(repo, key);
    if (!deps.some((x) => x.path === d.path && x.id === d.id)) deps.push(d);
  }
  const outs: RunOut[] = [];
  for (const c of changes) {
    if (c.op !== 'put') continue;
    const e = flat.get(c.path)!;
    outs.push({ path: c.path, id: e.id, type: 'dataset', kind: 'file', size: e.size, cache: true, ...(e.exec ? { exec: true } : {}), ...(e.chunks ? { chunks: e.chunks } : {}) });
  }
  const cmd = run.cmd ?? '';
  const started = Math.min(...rows.map((r) => r.time));
  const signature = 's3-gateway:' + hashBytes(canonicalJson({ stage: run.stage, cmd, branch, deps: deps.map((d) => [d.path, d.id]), outs: outs.map((o) => [o.path, o.id]) }));
  return {
    id: uuidv7(),
    stage: run.stage,
    status: 'ok',
    cmd,
    wdir: '.',
    env: {},
    params: {},
    paramRefs: [],
    deps,
    outs,
    code: null,
    environment: { node: process.version, platform: process.platform, arch: process.arch, hostname: hostname(), strata: strataVersion() },
    started: Math.min(started, Date.now()),
    ended: Date.now(),
    exitCode: null,
    signal: null,
    log: null,
    signature,
    cachedFrom: null,
    error: null,
    origin: 'adhoc',
  };
}

/** A full commit id, or a unique prefix of 7 or more hex digits (as the gateway's keys). */
function commitByPrefix(repo: Repository, seg: string): Id | null {
  if (!/^[0-9a-f]{7,64}$/.test(seg)) return null;
  if (seg.length === 64) return repo.db.hasCommit(seg) ? seg : null;
  const ids = repo.db.commitIdsByPrefix(seg, 2);
  return ids.length === 1 ? ids[0]! : null;
}

/**
 * The version a key `<ref>/<path>` names, resolved as the gateway resolves keys: ref a branch (its
 * uncommitted writes included), a tag or a commit id (7+ hex digits); branch and tag names may hold
 * '/', the longest one that matches wins, a branch before a tag.
 */
async function inputVersion(repo: Repository, key: string): Promise<RunDep> {
  const segs = key.split('/');
  for (let i = segs.length - 1; i >= 1; i--) {
    const ref = segs.slice(0, i).join('/');
    const rest = segs.slice(i).join('/');
    const branch = repo.db.getRef(HEADS + ref);
    const isBranch = !!branch || repo.head().branch === ref;
    const tag = isBranch ? null : repo.db.getRef(TAGS + ref);
    const byId = i === 1 && !isBranch && !tag ? commitByPrefix(repo, ref) : null;
    if (!isBranch && !tag && !byId) continue;
    const commit = branch?.target ?? tag?.target ?? byId;
    const path = rest.replace(/\/+$/, '') === '' ? '' : checkKeyPath(rest).path;
    if (!path) break;
    if (isBranch) {
      const s = repo.db.getStaged(ref, path);
      if (s?.op === 'put' && s.entry) return { path, id: s.entry.id, kind: 'file', ...(s.entry.chunks ? { chunks: s.entry.chunks } : {}) };
      if (s?.op === 'delete') break;
    }
    const e = commit ? await entryAt(repo, (await repo.readCommit(commit)).tree, path) : null;
    if (!e) break;
    if (e.type === 'dir') return { path, id: e.id, kind: 'dir' };
    return { path, id: e.id, kind: 'file', ...(e.type === 'file' && e.chunks ? { chunks: e.chunks } : {}) };
  }
  throw new StrataError('PATH_NOT_FOUND', `run input ${JSON.stringify(key)} names nothing in this repository`, {
    hint: 'name inputs as <ref>/<path>, ref a branch, tag or commit id of this repository',
    details: { s3: 'NoSuchKey', key },
  });
}
