/**
 * Pipeline runs and the lineage graph in the metadata DB (migration 2): the run record (also
 * stored as an object, canonical JSON), inserting a run with its lineage nodes and edges, and the
 * queries `strata runs`, `strata repro`, `strata show RUN` and gc need.
 *
 * Lineage model: a node per dataset/model version (project path + content id) and per run; edges
 * `used` (version -> run) and `produced` (run -> version). Graph traversals live in
 * core/lineage/graph.ts.
 */
import { StrataError } from '../errors/index.js';
import { canonicalJson, parseCodeVersion, type Id } from '../model/index.js';
import { MAX_LISTED_PATHS, MAX_SYMLINK_TARGET_BYTES } from '../model/limits.js';
import { arr, bad, bool, fields, id, idOrNull, int, jsonValue, obj, oneOf, parseObject, relPath, str, strOrNull, type ObjectContext } from '../model/strict.js';
import type { MetaStore } from './interface.js';

export type RunStatus = 'ok' | 'failed' | 'cached';
export const RUN_STATUSES: readonly RunStatus[] = ['ok', 'failed', 'cached'];
export type OutKind = 'dataset' | 'model' | 'metrics';

/** An input of a run: the version of a file or directory the command read. */
export interface RunDep {
  path: string;
  /** Blob id (file) or tree id (directory). */
  id: Id;
  kind: 'file' | 'dir';
  /** Chunk manifest id when the file dep is stored as chunks (recorded since reproducible checkouts). */
  chunks?: Id;
}

/** An output of a run: enough to restore it from the store without running the command again. */
export interface RunOut {
  path: string;
  /** Blob id (file, whole content), or tree id (directory). */
  id: Id;
  type: OutKind;
  kind: 'file' | 'dir';
  size: number;
  /** false: `cache: false` in strata.yaml; the bytes are not in the store (cannot be restored). */
  cache: boolean;
  exec?: boolean;
  /** Chunk manifest id when a large file is stored as chunks. */
  chunks?: Id;
  /** Symlink target when the output is a symbolic link. */
  link?: string;
}

export interface RunCode {
  commit: string | null;
  branch: string | null;
  remote: string | null;
  dirty: boolean;
  /** When dirty: id of the code changes object (core/code/snapshot.ts); absent in older records. */
  diff?: Id | null;
}

export interface RunEnvironment {
  node: string;
  platform: string;
  arch: string;
  hostname: string;
  strata: string;
}

/** Everything known about one execution (or run-cache restore) of a stage. */
export interface RunRecord {
  /** UUIDv7 (also the OpenLineage runId). */
  id: string;
  stage: string;
  status: RunStatus;
  cmd: string;
  /** Working directory of the command, project-relative ('.' = project root). */
  wdir: string;
  /** Stage environment variables added to the inherited environment. */
  env: Record<string, string>;
  /** Parameter values keyed by `paramName(ref)` (`key` for params.yaml, else `file:key`). */
  params: Record<string, unknown>;
  /** Where each parameter came from. */
  paramRefs: Array<{ file: string; key: string }>;
  deps: RunDep[];
  /** Outputs as declared (ids empty when the run failed). */
  outs: RunOut[];
  code: RunCode | null;
  environment: RunEnvironment;
  /** ms since epoch. */
  started: number;
  ended: number;
  /** Exit code of the command; null when killed by a signal or not executed (cached). */
  exitCode: number | null;
  signal: string | null;
  /** Object id of the captured stdout+stderr (null for cached runs). */
  log: Id | null;
  /** Run-cache key. */
  signature: string;
  /** For status cached: the run whose outputs were restored. */
  cachedFrom: string | null;
  /** Why a run failed, when it was not simply a non-zero exit. */
  error: string | null;
  /** 'pipeline' when the stage comes from strata.yaml, 'adhoc' for `strata run`. */
  origin: 'pipeline' | 'adhoc';
}

/** Canonical bytes of a run record (the run object stored next to trees and commits). */
export function serializeRun(r: RunRecord): Buffer {
  return Buffer.from(canonicalJson({ strata: 'run', v: 1, ...r }), 'utf8');
}

const RUN_ID_RE = /^[0-9a-fA-F-]{8,64}$/;
/** The working directory only names where a command ran: `.git`/`.strata` components are not refused there. */
const LOOSE = { reserved: false } as const;
const RUN_FIELDS = ['strata', 'v', 'id', 'stage', 'status', 'cmd', 'started', 'ended', 'signature'] as const;
/** Fields older records may lack (parseRun fills in their defaults). */
const RUN_OPTIONAL = ['wdir', 'env', 'params', 'paramRefs', 'deps', 'outs', 'code', 'environment', 'exitCode', 'signal', 'log', 'cachedFrom', 'error', 'origin'] as const;

/**
 * A run object (or the same text kept in the runs table), strictly: every field's type and range,
 * paths of inputs and outputs valid project-relative paths, ids valid, and the bytes canonical.
 */
export function parseRun(bytes: Uint8Array | string, ctx?: ObjectContext): RunRecord {
  return parseObject('run', bytes, ctx, buildRun, (_r, raw) => canonicalJson(raw));
}

function buildRun(rawIn: unknown): RunRecord {
  const raw = obj(rawIn, 'the object');
  if (raw.strata !== 'run') bad('it is not a run');
  fields(raw, 'the run', RUN_FIELDS, RUN_OPTIONAL);
  if (raw.v !== 1) bad(`unknown run version ${JSON.stringify(raw.v)}`);
  const runId = str(raw.id, 'its id');
  if (!RUN_ID_RE.test(runId)) bad('its id is not a run id');
  const env: Record<string, string> = {};
  if (raw.env !== undefined) {
    const e = obj(raw.env, 'its environment variables');
    for (const k of Object.keys(e)) env[str(k, 'an environment variable name', { nonEmpty: true, noNul: true })] = str(e[k], `environment variable ${k}`, { noNul: true });
  }
  const params = raw.params === undefined ? {} : (jsonValue(obj(raw.params, 'its parameters'), 'its parameters') as Record<string, unknown>);
  const paramRefs = raw.paramRefs === undefined ? [] : arr(raw.paramRefs, 'its parameter sources', MAX_LISTED_PATHS).map((x, i) => {
    const o = obj(x, `parameter source ${i}`);
    fields(o, `parameter source ${i}`, ['file', 'key']);
    return { file: str(o.file, `the file of parameter source ${i}`), key: str(o.key, `the key of parameter source ${i}`) };
  });
  const deps: RunDep[] = raw.deps === undefined ? [] : arr(raw.deps, 'its inputs', MAX_LISTED_PATHS).map((x, i) => {
    const o = obj(x, `input ${i}`);
    fields(o, `input ${i}`, ['path', 'id', 'kind'], ['chunks']);
    const d: RunDep = { path: relPath(o.path, `the path of input ${i}`), id: id(o.id, `the id of input ${i}`), kind: oneOf(o.kind, `the kind of input ${i}`, ['file', 'dir'] as const) };
    if ('chunks' in o) d.chunks = id(o.chunks, `the chunk manifest of input ${i}`);
    return d;
  });
  const status = oneOf(raw.status, 'its status', RUN_STATUSES);
  const outs: RunOut[] = raw.outs === undefined ? [] : arr(raw.outs, 'its outputs', MAX_LISTED_PATHS).map((x, i) => {
    const o = obj(x, `output ${i}`);
    fields(o, `output ${i}`, ['path', 'id', 'type', 'kind', 'size', 'cache'], ['exec', 'chunks', 'link']);
    // Outputs of failed runs (and `cache: false` outputs) may have no content id.
    const oid = o.id === '' ? '' : id(o.id, `the id of output ${i}`);
    const out: RunOut = {
      path: relPath(o.path, `the path of output ${i}`),
      id: oid,
      type: oneOf(o.type, `the type of output ${i}`, ['dataset', 'model', 'metrics'] as const),
      kind: oneOf(o.kind, `the kind of output ${i}`, ['file', 'dir'] as const),
      size: int(o.size, `the size of output ${i}`),
      cache: bool(o.cache, `the cache flag of output ${i}`),
    };
    if ('exec' in o) out.exec = bool(o.exec, `the exec flag of output ${i}`);
    if ('chunks' in o) out.chunks = id(o.chunks, `the chunk manifest of output ${i}`);
    if ('link' in o) out.link = str(o.link, `the link target of output ${i}`, { nonEmpty: true, noNul: true, max: MAX_SYMLINK_TARGET_BYTES });
    return out;
  });
  let code: RunCode | null = null;
  if (raw.code !== undefined && raw.code !== null) {
    const cv = parseCodeVersion(raw.code, 'its code version')!;
    code = { commit: cv.commit, branch: cv.branch ?? null, remote: cv.remote ?? null, dirty: cv.dirty, ...('diff' in cv ? { diff: cv.diff } : {}) };
  }
  let environment: RunEnvironment = { node: '', platform: '', arch: '', hostname: '', strata: '' };
  if (raw.environment !== undefined) {
    const e = obj(raw.environment, 'its machine environment');
    fields(e, 'its machine environment', ['node', 'platform', 'arch', 'hostname', 'strata']);
    environment = {
      node: str(e.node, 'its node version', { max: 1024 }),
      platform: str(e.platform, 'its platform', { max: 1024 }),
      arch: str(e.arch, 'its architecture', { max: 1024 }),
      hostname: str(e.hostname, 'its host name', { max: 1024 }),
      strata: str(e.strata, 'its strata version', { max: 1024 }),
    };
  }
  const cachedFrom = raw.cachedFrom === undefined ? null : strOrNull(raw.cachedFrom, 'the run it was restored from');
  if (cachedFrom !== null && !RUN_ID_RE.test(cachedFrom)) bad('the run it was restored from is not a run id');
  const wdir = raw.wdir === undefined ? '.' : str(raw.wdir, 'its working directory', { nonEmpty: true });
  if (wdir !== '.') relPath(wdir, 'its working directory', LOOSE);
  return {
    id: runId,
    stage: str(raw.stage, 'its stage', { nonEmpty: true, noNul: true, max: 1024 }),
    status,
    cmd: str(raw.cmd, 'its command'),
    wdir,
    env,
    params,
    paramRefs,
    deps,
    outs,
    code,
    environment,
    started: int(raw.started, 'its start time'),
    ended: int(raw.ended, 'its end time'),
    exitCode: raw.exitCode === undefined || raw.exitCode === null ? null : int(raw.exitCode, 'its exit code', -(2 ** 31), 2 ** 32),
    signal: raw.signal === undefined ? null : strOrNull(raw.signal, 'its signal', { max: 64 }),
    log: raw.log === undefined ? null : idOrNull(raw.log, 'its log'),
    signature: str(raw.signature, 'its signature', { max: 1024 }),
    cachedFrom,
    error: raw.error === undefined ? null : strOrNull(raw.error, 'its error'),
    origin: raw.origin === undefined ? 'pipeline' : oneOf(raw.origin, 'its origin', ['pipeline', 'adhoc'] as const),
  };
}

// ---------------------------------------------------------------- writing

/**
 * Insert a run (row + lineage node + edges). Call inside a transaction (`db.tx`). Failed runs get
 * `used` edges only: their outputs are not versions.
 */
export function insertRun(db: MetaStore, r: RunRecord, objectId: Id, record: string): void {
  db.insertRunRow({
    id: r.id,
    stage: r.stage,
    status: r.status,
    signature: r.signature,
    cmd: r.cmd,
    started: r.started,
    ended: r.ended,
    exitCode: r.exitCode,
    codeCommit: r.code?.commit ?? null,
    codeDirty: !!r.code?.dirty,
    log: r.log,
    object: objectId,
    cachedFrom: r.cachedFrom,
    record,
    used: r.deps.map((d) => ({ path: d.path, id: d.id, kind: d.kind })),
    produced: r.status === 'failed' ? [] : r.outs.map((o) => ({ path: o.path, id: o.id, kind: o.kind, type: o.type })),
  });
}

// ---------------------------------------------------------------- reading

interface Db {
  db: MetaStore;
}
/** Accept a MetaStore or anything holding one (a Repository). */
const dbOf = (x: MetaStore | Db): MetaStore => ('casRef' in x ? (x as MetaStore) : (x as Db).db);

/**
 * A run by id or unique id prefix (at least 4 characters; dashes optional). Throws RUN_NOT_FOUND,
 * or AMBIGUOUS_REF when the prefix matches several runs.
 */
export function getRun(repoOrDb: MetaStore | Db, idOrPrefix: string): RunRecord {
  const db = dbOf(repoOrDb);
  const run = findRun(db, idOrPrefix);
  if (!run) {
    throw new StrataError('RUN_NOT_FOUND', `no run ${JSON.stringify(idOrPrefix)}`, { hint: 'list runs with strata runs (ids are UUIDs; a unique prefix is enough)' });
  }
  return run;
}

/** Like getRun, but null when nothing matches (still throws on an ambiguous prefix). */
export function findRun(repoOrDb: MetaStore | Db, idOrPrefix: string): RunRecord | null {
  const db = dbOf(repoOrDb);
  const q = idOrPrefix.trim().toLowerCase();
  if (!/^[0-9a-f-]{4,36}$/.test(q)) return null;
  const exact = db.getRunRow(q);
  if (exact) return parseRun(exact.record);
  const hex = q.replace(/-/g, '');
  if (hex.length < 4) return null;
  // Re-insert the dashes where a UUID has them, so the prefix matches the stored form.
  let prefix = '';
  for (let i = 0; i < hex.length; i++) {
    if (i === 8 || i === 12 || i === 16 || i === 20) prefix += '-';
    prefix += hex[i];
  }
  const rows = db.runRowsByIdPrefix(prefix, 10);
  if (rows.length === 0) return null;
  if (rows.length > 1) {
    throw new StrataError('AMBIGUOUS_REF', `run prefix ${idOrPrefix} is ambiguous: ${rows.map((r) => r.id).join(', ')}`, {
      hint: 'use more characters of the run id (runs started in the same millisecond share their first 13 characters)',
    });
  }
  return parseRun(rows[0]!.record);
}

export interface RunFilter {
  stage?: string;
  status?: RunStatus;
  /** Only runs started at or after this time (ms since epoch). */
  since?: number;
  signature?: string;
  /** At most this many (newest first). */
  limit?: number;
}

/** Runs, newest first. */
export function listRuns(repoOrDb: MetaStore | Db, filter: RunFilter = {}): RunRecord[] {
  const db = dbOf(repoOrDb);
  if (filter.status !== undefined && !RUN_STATUSES.includes(filter.status)) {
    throw new StrataError('INVALID_ARGUMENT', `unknown run status ${JSON.stringify(filter.status)}`, { hint: `use one of: ${RUN_STATUSES.join(', ')}` });
  }
  return db
    .listRunRecords({
      stage: filter.stage,
      statuses: filter.status === undefined ? undefined : [filter.status],
      since: filter.since,
      signature: filter.signature,
      limit: filter.limit,
    })
    .map((r) => parseRun(r));
}

/** The newest successful (ok or cached) run of a stage, or null. */
export function lastSuccessfulRun(repoOrDb: MetaStore | Db, stage: string): RunRecord | null {
  const [rec] = dbOf(repoOrDb).listRunRecords({ stage, statuses: ['ok', 'cached'], limit: 1 });
  return rec === undefined ? null : parseRun(rec);
}

/** Successful runs with this signature, newest first (run-cache candidates). */
export function successfulRunsBySignature(repoOrDb: MetaStore | Db, signature: string, limit = 20): RunRecord[] {
  return dbOf(repoOrDb)
    .listRunRecords({ signature, statuses: ['ok', 'cached'], limit })
    .map((r) => parseRun(r));
}

/**
 * Object ids runs keep alive: run objects, logs and the outputs of successful runs (trees and
 * chunk manifests are expanded by core/repo/roots.ts, which can read objects).
 */
export function runObjectRoots(repoOrDb: MetaStore | Db): { ids: Id[]; outs: RunOut[] } {
  const db = dbOf(repoOrDb);
  const ids: Id[] = [];
  const outs: RunOut[] = [];
  for (const row of db.allRunRows()) {
    ids.push(row.object);
    if (row.log) ids.push(row.log);
    if (row.status !== 'failed') for (const o of parseRun(row.record).outs) if (o.cache) outs.push(o);
  }
  return { ids, outs };
}

// ---------------------------------------------------------------- where a run came from

/** Key prefix (table `meta`) marking runs that arrived from a remote (fetch, pull, clone). */
const FETCHED_KEY = 'run.fetched:';

/**
 * Remember that these runs were not recorded by this repository but fetched (from `from`). Call
 * inside the transaction that inserts them. Trust decisions (run cache, reproduce) read it.
 */
export function markRunsFetched(db: MetaStore, ids: string[], from: string): void {
  for (const id of ids) db.addLocalMeta(FETCHED_KEY + id, from);
}

/** Where a fetched run came from, or null for a run recorded by this repository. */
export function runFetchedFrom(db: MetaStore, id: string): string | null {
  return db.getLocalMeta(FETCHED_KEY + id);
}

/** A value of the local metadata's key/value table (null when absent). */
export function getLocalMeta(db: MetaStore, key: string): string | null {
  return db.getLocalMeta(key);
}

export function setLocalMeta(db: MetaStore, key: string, value: string): void {
  db.setLocalMeta(key, value);
}
