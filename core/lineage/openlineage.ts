/**
 * OpenLineage export: RunEvent builder (core spec 2-0-2) and emitters (JSON-lines file, HTTP such as
 * Marquez's `POST /api/v1/lineage`). Emitting is best effort: `emitSafely` never throws, so a
 * failing lineage endpoint can never fail a run; the caller reports the errors it returns. The
 * HTTP emitter retries transient failures (backoff with full jitter, Retry-After) and, given the
 * repository's spool (core/lineage/spool.ts), keeps what the endpoint did not take for later.
 *
 * No dependency on the repository engine: the caller supplies ids, versions and the code location.
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StrataError } from '../errors/index.js';
import { redactText, redactUrl } from '../config/redact.js';
import { checkValue, findKey, parseDuration, readString, type ConfigSource } from '../config/registry.js';
import { credentialFor } from '../config/credentials.js';
import { Spool, type FlushResult, type SendOutcome } from './spool.js';
import { clientTransport } from './ol-config.js';

// ---------------------------------------------------------------- schema URLs

export const RUN_EVENT_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

/** `_schemaURL`s of the standard facets Strata emits (versions as published by the OpenLineage spec). */
export const FACET_SCHEMA_URLS = {
  datasetVersion: 'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
  datasetType: 'https://openlineage.io/spec/facets/1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet',
  symlinks: 'https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json#/$defs/SymlinksDatasetFacet',
  sourceCodeLocation: 'https://openlineage.io/spec/facets/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet',
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
  errorMessage: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  parent: 'https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet',
  dataQualityAssertions: 'https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet',
  dataQualityMetrics: 'https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet',
} as const;

/**
 * `_schemaURL`s of Strata's custom facets (keys `strata_<name>`, OpenLineage.md "Custom Facet
 * Naming"). Each schema is shipped in docs/openlineage/; its URL names the release tag that first
 * shipped that version of it, so the URL is immutable and there is one URL per schema version. A
 * changed schema gets the tag of the release that changes it (here and in the file's `$id`).
 */
export const STRATA_FACET_SCHEMA_URLS = {
  cache: 'https://raw.githubusercontent.com/strata-data/strata/v0.1.0/docs/openlineage/StrataCacheRunFacet.json#/$defs/StrataCacheRunFacet',
  code: 'https://raw.githubusercontent.com/strata-data/strata/v0.1.0/docs/openlineage/StrataCodeJobFacet.json#/$defs/StrataCodeJobFacet',
} as const;

/** Default base URI identifying Strata as a producer; the version is appended. */
const STRATA_PRODUCER_BASE = 'https://github.com/strata-data/strata';

/** The `producer` URI for a Strata version, e.g. `https://github.com/strata-data/strata/tree/v0.1.0`. */
export function strataProducer(version: string, base: string = STRATA_PRODUCER_BASE): string {
  return `${base.replace(/\/+$/, '')}/tree/v${version.replace(/^v/, '')}`;
}

// ---------------------------------------------------------------- UUIDv7

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

const SEQ_BITS = 42; // rand_a (12 bits) + top 30 bits of rand_b act as a counter within one ms
const SEQ_MAX = 2 ** SEQ_BITS;
let lastMs = -1;
let seq = 0;

function randomSeq(): number {
  // 41 random bits: the top counter bit starts at 0, leaving ~2^41 increments of headroom per ms.
  const b = new Uint8Array(6);
  randomFillSync(b);
  return ((b[0]! & 0x01) * 2 ** 40) + b[1]! * 2 ** 32 + ((b[2]! << 24) >>> 0) + (b[3]! << 16) + (b[4]! << 8) + b[5]!;
}

/**
 * A UUID version 7 (RFC 9562): 48-bit Unix time in ms, version 7, variant 10, then random bits.
 * Monotonic within this process: ids made in the same millisecond (or when the clock steps back)
 * increment a 42-bit counter seeded randomly (RFC 9562 §6.2, methods 1+3), so they sort in creation
 * order as strings and as bytes.
 */
export function uuidv7(now: number = Date.now()): string {
  let ms = Math.floor(now);
  if (!Number.isFinite(ms) || ms < 0 || ms >= 2 ** 48) throw new StrataError('INVALID_ARGUMENT', `uuidv7: time ${now} out of range`);
  if (ms > lastMs) {
    lastMs = ms;
    seq = randomSeq();
  } else {
    ms = lastMs;
    seq += 1;
    if (seq >= SEQ_MAX) {
      lastMs = ms = lastMs + 1;
      seq = randomSeq();
    }
  }
  const b = new Uint8Array(16);
  randomFillSync(b, 12, 4);
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  const hi12 = Math.floor(seq / 2 ** 30) & 0xfff;
  const lo30 = seq % 2 ** 30;
  b[6] = 0x70 | (hi12 >>> 8);
  b[7] = hi12 & 0xff;
  b[8] = 0x80 | (lo30 >>> 24);
  b[9] = (lo30 >>> 16) & 0xff;
  b[10] = (lo30 >>> 8) & 0xff;
  b[11] = lo30 & 0xff;
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The Unix time (ms) embedded in a UUIDv7. */
export function uuidv7Time(id: string): number {
  if (!isUuid(id) || id[14] !== '7') throw new StrataError('INVALID_ARGUMENT', `${id} is not a UUIDv7`);
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

// ---------------------------------------------------------------- event types

export type EventType = 'START' | 'RUNNING' | 'COMPLETE' | 'ABORT' | 'FAIL' | 'OTHER';

export interface Facet {
  _producer: string;
  _schemaURL: string;
  [key: string]: unknown;
}

export interface OLDataset {
  namespace: string;
  name: string;
  facets?: Record<string, Facet>;
  inputFacets?: Record<string, Facet>;
  outputFacets?: Record<string, Facet>;
}

export interface RunEvent {
  eventType: EventType;
  eventTime: string;
  run: { runId: string; facets: Record<string, Facet> };
  job: { namespace: string; name: string; facets: Record<string, Facet> };
  inputs: OLDataset[];
  outputs: OLDataset[];
  producer: string;
  schemaURL: string;
}

/** A dataset as Strata knows it. */
export interface DatasetRef {
  namespace: string;
  /** e.g. the project-relative path `data/clean.csv`. */
  name: string;
  /** Content id (BLAKE3 blob/tree id) of the version read or written; omitted when unknown (START). */
  version?: string;
  /** Strata output type (dataset → FILE, model → MODEL, metrics → FILE/METRICS) or a raw OpenLineage type. */
  type?: 'dataset' | 'model' | 'metrics' | (string & {});
  /** Extra dataset facets; `_producer` is filled in when missing. */
  facets?: Record<string, Partial<Facet> & { _schemaURL: string }>;
  /** Input dataset facets (used for inputs only); `_producer` is filled in when missing. */
  inputFacets?: Record<string, Partial<Facet> & { _schemaURL: string }>;
}

export interface CodeLocation {
  type: 'git' | (string & {});
  /**
   * Where the source is (required by the facet, a URI): a URL, a git scp-form remote
   * (`git@host:org/repo.git`, sent as `ssh://git@host/org/repo.git`) or an absolute local path
   * (sent as a percent-escaped `file://` URL).
   */
  url: string;
  repoUrl?: string;
  path?: string;
  /** The commit id. */
  version?: string;
  branch?: string;
  tag?: string;
}

export interface BuildRunEventInput {
  eventType: EventType;
  eventTime?: Date | string | number;
  runId: string;
  job: { namespace: string; name: string };
  inputs?: DatasetRef[];
  outputs?: DatasetRef[];
  codeLocation?: CodeLocation | null;
  producer: string;
  /** JobType facet's `jobType` (STAGE for a stage, PIPELINE for a repro). Default STAGE. */
  jobType?: string;
  parent?: RunRef & { root?: RunRef };
  /** For FAIL/ABORT: becomes the `errorMessage` run facet. */
  error?: string | { message: string; programmingLanguage?: string; stackTrace?: string };
  /** Extra run / job facets; `_producer` is filled in when missing. */
  runFacets?: Record<string, Partial<Facet> & { _schemaURL: string }>;
  jobFacets?: Record<string, Partial<Facet> & { _schemaURL: string }>;
}

/** A URI for a code location: scp-form git remotes and local paths become ssh:// and file:// URLs. */
function codeUri(loc: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(loc)) return loc;
  // scp-like syntax of git: [user@]host:path, where host has no '/' and is longer than a drive letter.
  const scp = /^(?:([^@/:]+)@)?([^@/:]{2,}):(?!\/\/)(.*)$/.exec(loc);
  if (scp) {
    const [, user, host, path] = scp;
    return `ssh://${user ? user + '@' : ''}${host}/${path!.replace(/^\/+/, '')}`;
  }
  if (isAbsolute(loc)) return pathToFileURL(loc).href;
  throw new StrataError('INVALID_ARGUMENT', `OpenLineage event: codeLocation url must be a URL, a git remote or an absolute path, got ${JSON.stringify(redactText(loc))}`);
}

function toIso(t: Date | string | number | undefined): string {
  const d = t === undefined ? new Date() : t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) throw new StrataError('INVALID_ARGUMENT', `invalid eventTime ${String(t)}`);
  return d.toISOString();
}

function need(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new StrataError('INVALID_ARGUMENT', `OpenLineage event: ${msg}`);
}

function datasetType(type: string | undefined): { datasetType: string; subType?: string } {
  switch (type) {
    case undefined:
    case 'dataset':
      return { datasetType: 'FILE' };
    case 'model':
      return { datasetType: 'MODEL' };
    case 'metrics':
      return { datasetType: 'FILE', subType: 'METRICS' };
    default:
      return { datasetType: type };
  }
}

function withProducer(facets: Record<string, Partial<Facet> & { _schemaURL: string }> | undefined, producer: string): Record<string, Facet> {
  const out: Record<string, Facet> = {};
  for (const [k, f] of Object.entries(facets ?? {})) {
    need(typeof f?._schemaURL === 'string' && f._schemaURL !== '', `facet ${k} needs a _schemaURL`);
    out[k] = { ...f, _producer: f._producer ?? producer, _schemaURL: f._schemaURL };
  }
  return out;
}

function buildDataset(d: DatasetRef, producer: string, side: 'input' | 'output'): OLDataset {
  need(typeof d.namespace === 'string' && d.namespace !== '', 'dataset namespace is required');
  need(typeof d.name === 'string' && d.name !== '', 'dataset name is required');
  const facets: Record<string, Facet> = {};
  if (d.version) facets.version = { _producer: producer, _schemaURL: FACET_SCHEMA_URLS.datasetVersion, datasetVersion: d.version };
  facets.datasetType = { _producer: producer, _schemaURL: FACET_SCHEMA_URLS.datasetType, ...datasetType(d.type) };
  Object.assign(facets, withProducer(d.facets, producer));
  const inputFacets = side === 'input' && d.inputFacets && Object.keys(d.inputFacets).length ? withProducer(d.inputFacets, producer) : null;
  return { namespace: redactUrl(d.namespace), name: d.name, facets, ...(inputFacets ? { inputFacets } : {}) };
}

// ---------------------------------------------------------------- data quality facets

/** A data check's result as the quality facets need it (core/tables/checks.ts CheckResult has these fields). */
export interface QualityResult {
  /** The file judged: the dataset itself, or a file inside a directory dataset. */
  path: string;
  name: string;
  kind: string;
  columns?: string[];
  severity: 'error' | 'warn';
  status: 'pass' | 'fail' | 'warn' | 'error';
  failing: number;
  message?: string;
  metrics: Record<string, number | string | null>;
}

/** Strata check kinds under the facet's classification names where the spec gives one. */
const ASSERTION_NAMES: Record<string, string> = { sql: 'custom_sql', columns: 'schema' };

/**
 * The `dataQualityAssertions` facet (1-1-0) of the dataset `name`: one assertion per check.
 * `success` is false when the check found issues or could not run, whatever its severity (the
 * facet's definition); `severity` is the configured one. Failing rows are never included (they
 * are data). Checks of a file inside a directory dataset are named `<file>: <check>`.
 */
export function dataQualityAssertionsFacet(name: string, results: readonly QualityResult[]): Partial<Facet> & { _schemaURL: string } {
  return {
    _schemaURL: FACET_SCHEMA_URLS.dataQualityAssertions,
    assertions: results.map((r) => {
      const inner = r.path !== name && r.path.startsWith(name.replace(/\/+$/, '') + '/') ? r.path.slice(name.replace(/\/+$/, '').length + 1) : null;
      const columns = r.columns ?? [];
      return {
        assertion: ASSERTION_NAMES[r.kind] ?? r.kind,
        success: r.status === 'pass',
        ...(columns.length === 1 ? { column: columns[0] } : {}),
        severity: r.severity,
        name: inner ? `${inner}: ${r.name}` : r.name,
        ...(r.message ? { description: redactText(r.message) } : {}),
        params: { status: r.status, failing: r.failing, ...(columns.length > 1 ? { columns: columns.join(',') } : {}) },
      };
    }),
  };
}

/**
 * The `dataQualityMetrics` input facet (1-0-3) from what the checks of one file already counted
 * (no extra scan): `rowCount` (every row-wise check counts the rows) and per column `nullCount`
 * (a not_null check of that one column). Null when the checks counted nothing.
 */
export function dataQualityMetricsFacet(results: readonly QualityResult[]): (Partial<Facet> & { _schemaURL: string }) | null {
  let rowCount: number | null = null;
  const columnMetrics: Record<string, { nullCount: number }> = {};
  for (const r of results) {
    if (r.status === 'error') continue;
    const rows = r.metrics.rows;
    if (typeof rows === 'number' && Number.isInteger(rows)) rowCount = rows;
    if (r.kind === 'not_null' && r.columns?.length === 1) columnMetrics[r.columns[0]!] = { nullCount: r.failing };
  }
  if (rowCount === null && Object.keys(columnMetrics).length === 0) return null;
  return { _schemaURL: FACET_SCHEMA_URLS.dataQualityMetrics, ...(rowCount !== null ? { rowCount } : {}), columnMetrics };
}

// ---------------------------------------------------------------- Strata custom facets

/**
 * The `strata_cache` run facet of a run that reused an earlier one (run cache): nothing was
 * executed, `reused` is the run whose outputs were restored, `original` the run that executed the
 * command (the same run, or the one `reused` was itself restored from). Strata run ids are the
 * runIds of their OpenLineage events, so each is both.
 */
export function strataCacheFacet(reused: string, original: string, signature: string): Partial<Facet> & { _schemaURL: string } {
  need(isUuid(reused) && isUuid(original), 'strata_cache needs run ids that are UUIDs');
  return { _schemaURL: STRATA_FACET_SCHEMA_URLS.cache, executed: false, reusedRun: { runId: reused.toLowerCase() }, originalRun: { runId: original.toLowerCase() }, signature };
}

/** A code file a stage read, as the `strata_code` job facet lists it. */
export interface CodeFile {
  path: string;
  kind: 'file' | 'dir';
  /** Strata content id (blob or tree). */
  id: string;
}

/**
 * The `strata_code` job facet: the stage's command (what a sourceCode facet would carry, redacted),
 * its working directory, the code files it read (deps tracked by git, not by Strata) with their
 * content ids, and the git state recorded (the location stays in sourceCodeLocation).
 */
export function strataCodeFacet(input: { command: string; wdir: string; files: readonly CodeFile[]; git: { commit: string | null; dirty: boolean; changes?: string | null } | null }): Partial<Facet> & { _schemaURL: string } {
  const git = input.git;
  return {
    _schemaURL: STRATA_FACET_SCHEMA_URLS.code,
    command: redactText(input.command),
    language: 'shell',
    wdir: input.wdir,
    files: input.files.map((f) => ({ path: f.path, kind: f.kind, id: f.id })),
    ...(git ? { git: { commit: git.commit, dirty: git.dirty, ...(git.changes ? { changes: git.changes } : {}) } } : {}),
  };
}

/** Build a spec-valid OpenLineage 2-0-2 RunEvent. Throws INVALID_ARGUMENT on a malformed input. */
export function buildRunEvent(input: BuildRunEventInput): RunEvent {
  const producer = input.producer;
  need(typeof producer === 'string' && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(producer), `producer must be a URI, got ${JSON.stringify(producer)}`);
  need(isUuid(input.runId), `runId must be a UUID, got ${JSON.stringify(input.runId)}`);
  need(input.job?.namespace && input.job?.name, 'job namespace and name are required');
  need(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER'].includes(input.eventType), `unknown eventType ${input.eventType}`);

  const runFacets: Record<string, Facet> = {};
  if (input.parent) {
    const p = input.parent;
    need(isUuid(p.runId) && p.job?.namespace && p.job?.name, 'parent needs runId (UUID), job namespace and name');
    runFacets.parent = {
      _producer: producer,
      _schemaURL: FACET_SCHEMA_URLS.parent,
      run: { runId: p.runId },
      job: { namespace: redactUrl(p.job.namespace), name: p.job.name },
      ...(p.root ? { root: { run: { runId: p.root.runId }, job: { namespace: redactUrl(p.root.job.namespace), name: p.root.job.name } } } : {}),
    };
  }
  if (input.error !== undefined || input.eventType === 'FAIL') {
    const e0 = typeof input.error === 'string' || input.error === undefined ? { message: input.error ?? 'stage failed' } : input.error;
    const e = { ...e0, message: redactText(e0.message), ...(e0.stackTrace ? { stackTrace: redactText(e0.stackTrace) } : {}) };
    runFacets.errorMessage = {
      _producer: producer,
      _schemaURL: FACET_SCHEMA_URLS.errorMessage,
      message: e.message,
      // Required by the facet; a stage's command runs through the shell.
      programmingLanguage: (e as { programmingLanguage?: string }).programmingLanguage ?? 'shell',
      ...((e as { stackTrace?: string }).stackTrace ? { stackTrace: (e as { stackTrace?: string }).stackTrace } : {}),
    };
  }
  Object.assign(runFacets, withProducer(input.runFacets, producer));

  const jobFacets: Record<string, Facet> = {};
  const cl = input.codeLocation;
  if (cl) {
    need(cl.type && cl.url, 'codeLocation needs type and url');
    // Git remotes may carry credentials (https://user:TOKEN@host/repo): events never do.
    const loc: Facet = { _producer: producer, _schemaURL: FACET_SCHEMA_URLS.sourceCodeLocation, type: cl.type, url: redactUrl(codeUri(cl.url)) };
    for (const k of ['repoUrl', 'path', 'version', 'tag', 'branch'] as const) if (cl[k]) loc[k] = k === 'repoUrl' ? redactUrl(cl[k]) : cl[k];
    jobFacets.sourceCodeLocation = loc;
  }
  jobFacets.jobType = {
    _producer: producer,
    _schemaURL: FACET_SCHEMA_URLS.jobType,
    processingType: 'BATCH',
    integration: 'STRATA',
    jobType: input.jobType ?? 'STAGE',
  };
  Object.assign(jobFacets, withProducer(input.jobFacets, producer));

  return {
    eventType: input.eventType,
    eventTime: toIso(input.eventTime),
    run: { runId: input.runId.toLowerCase(), facets: runFacets },
    job: { namespace: redactUrl(input.job.namespace), name: input.job.name, facets: jobFacets },
    inputs: (input.inputs ?? []).map((d) => buildDataset(d, producer, 'input')),
    outputs: (input.outputs ?? []).map((d) => buildDataset(d, producer, 'output')),
    producer,
    schemaURL: RUN_EVENT_SCHEMA_URL,
  };
}

// ---------------------------------------------------------------- emitters

export interface Emitter {
  /** Where events go, for messages (credentials removed). */
  readonly target: string;
  /** Deliver one event; rejects on failure. */
  emit(event: RunEvent): Promise<void>;
}

/**
 * Appends each event as one JSON line. The line is written with a single write() on a file opened
 * with O_APPEND, so concurrent writers (threads or processes) never interleave within a line.
 */
export class FileEmitter implements Emitter {
  readonly target: string;
  constructor(readonly path: string) {
    this.target = path;
  }

  async emit(event: RunEvent): Promise<void> {
    const line = Buffer.from(JSON.stringify(event) + '\n', 'utf8');
    await mkdir(dirname(this.path), { recursive: true });
    const fh = await open(this.path, 'a', 0o644);
    try {
      let off = 0;
      while (off < line.length) {
        const { bytesWritten } = await fh.write(line, off, line.length - off);
        off += bytesWritten;
      }
    } finally {
      await fh.close();
    }
  }
}

/** How an HTTP emitter retries an event the endpoint did not take. */
export interface RetryPolicy {
  /** Retries after the first attempt (0: none). */
  retries: number;
  /** Base of the exponential backoff: retry n waits a random time in [0, base * 2^(n-1)] (capped). */
  backoffMs: number;
  /** At most this long is spent on one event's attempts and waits. */
  maxTimeMs: number;
}

/** openlineage.retries, openlineage.retryBackoff and openlineage.retryMaxTime unset. */
const DEFAULT_RETRY: RetryPolicy = { retries: 4, backoffMs: 500, maxTimeMs: 10_000 };
/** No single backoff wait is longer than this. */
const MAX_BACKOFF_MS = 30_000;
/** A Retry-After longer than this is read as this (and then as the time left, whichever is less). */
const RETRY_AFTER_CAP_MS = 60_000;
/** Answers worth another attempt: the request timed out, too many requests, the server (or a proxy before it) failed. */
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Full jitter (the AWS backoff article's "full jitter"): a uniform wait in [0, min(cap, base * 2^(retry-1))]. */
export function backoffDelay(retry: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** A Retry-After header (delay-seconds or an HTTP date) in ms from `now`; null when absent or not one. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  if (header === null) return null;
  const v = header.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t) || !/[a-z]/i.test(v)) return null;
  return Math.max(0, t - now);
}

export interface HttpEmitterOptions {
  /** Abort one request after this many ms (default 5000). */
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  headers?: Record<string, string>;
  /** Appended when the URL has no path (default `api/v1/lineage`, Marquez's and the OpenLineage HTTP transport's). */
  endpoint?: string;
  /** Retries of transient failures (default DEFAULT_RETRY). */
  retry?: Partial<RetryPolicy>;
  /**
   * Where events the endpoint does not take go (`.strata/lineage`). With a spool, emit() never
   * rejects for the endpoint's sake: the event is spooled (or dead-lettered) and `onNotice` says
   * so; the spool is flushed before the first event is sent. Without one, emit() rejects.
   */
  spool?: Spool;
  /** Messages for the user about spooling and dead letters (never contain the key). */
  onNotice?: (message: string) => void;
  /** Where the API key came from, for the message when the server refuses it. */
  keyFix?: string;
}

type Attempt =
  | { kind: 'sent' }
  | { kind: 'retry'; reason: string; retryAfterMs: number | null }
  | { kind: 'rejected'; status: number; reason: string }
  | { kind: 'auth'; status: number; reason: string }
  | { kind: 'failed'; status: number; reason: string };

const KEY_FIX = 'set OPENLINEAGE_API_KEY (or the auth apiKey of openlineage.yml), or add the line "<openlineage url> <api key>" to the user credentials file ~/.config/strata/credentials';

/** POSTs each event as JSON, e.g. to Marquez: `new HttpEmitter('http://localhost:5000')`. */
export class HttpEmitter implements Emitter {
  readonly url: string;
  readonly target: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly retry: RetryPolicy;
  private readonly spool: Spool | null;
  private readonly notice: (m: string) => void;
  private readonly keyFix: string;
  /** The API key, kept only to blank it out of a server's answer that echoes it (messages, dead letters). */
  private readonly secret: string | null;
  /** The spool flush before the first event of this emitter. */
  private ready: Promise<void> | null = null;
  /** Set once an event of this emitter is spooled: the later ones follow it there, in order and without waiting. */
  private holding = false;

  constructor(url: string, opts: HttpEmitterOptions = {}) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new StrataError('CONFIG_INVALID', `OpenLineage URL ${JSON.stringify(redactText(url))} is not a valid URL`, { hint: 'use e.g. http://localhost:5000/api/v1/lineage' });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new StrataError('CONFIG_INVALID', `OpenLineage URL must be http(s), got ${u.protocol}`);
    }
    if (u.pathname === '/' || u.pathname === '') u.pathname = '/' + (opts.endpoint ?? 'api/v1/lineage').replace(/^\/+/, '');
    // fetch() refuses URLs with user info: it becomes Basic auth (unless an API key is given).
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    this.url = u.href;
    this.target = redactUrl(u.href);
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.retry = { ...DEFAULT_RETRY, ...(opts.retry ?? {}) };
    this.spool = opts.spool ?? null;
    this.notice = opts.onNotice ?? (() => undefined);
    this.keyFix = opts.keyFix ?? KEY_FIX;
    this.secret = opts.apiKey || pass || null;
    this.headers = { 'content-type': 'application/json', accept: 'application/json', ...(opts.headers ?? {}) };
    if (opts.apiKey) this.headers.authorization = `Bearer ${opts.apiKey}`;
    else if (user || pass) this.headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }

  /** One POST of `body`, classified. */
  private async attempt(body: string, timeoutMs: number): Promise<Attempt> {
    let res: Response;
    try {
      res = await fetch(this.url, { method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError') return { kind: 'retry', reason: `no answer within ${timeoutMs} ms`, retryAfterMs: null };
      const cause = err.cause?.code ?? err.cause?.message;
      return { kind: 'retry', reason: cause ? `${err.message} (${cause})` : err.message, retryAfterMs: null };
    }
    if (res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return { kind: 'sent' };
    }
    let text = '';
    try {
      text = (await res.text()).replace(/\s+/g, ' ').trim();
      if (this.secret) text = text.split(this.secret).join('***');
      text = text.slice(0, 200);
    } catch {
      /* body unreadable: the status says enough */
    }
    const reason = `HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}${text ? `: ${text}` : ''}`;
    if (TRANSIENT_STATUS.has(res.status)) return { kind: 'retry', reason, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
    if (res.status === 400 || res.status === 422) return { kind: 'rejected', status: res.status, reason };
    if (res.status === 401 || res.status === 403) return { kind: 'auth', status: res.status, reason };
    return { kind: 'failed', status: res.status, reason };
  }

  /** Send `body` with the retry policy: what it came to. */
  async deliver(body: string): Promise<SendOutcome> {
    const start = Date.now();
    const { retries, backoffMs, maxTimeMs } = this.retry;
    for (let n = 0; ; n++) {
      const left = maxTimeMs - (Date.now() - start);
      // The first attempt gets the full timeout; later ones no more than the time left.
      const r = await this.attempt(body, n === 0 ? this.timeoutMs : Math.max(1, Math.min(this.timeoutMs, left)));
      if (r.kind === 'sent') return r;
      if (r.kind === 'rejected' || r.kind === 'auth') return { kind: r.kind, status: r.status, reason: r.reason };
      const tries = `${n + 1} attempt${n === 0 ? '' : 's'}`;
      if (r.kind === 'failed') return { kind: 'failed', reason: `${r.reason} (not retried)` };
      if (n >= retries) return { kind: 'failed', reason: `${r.reason} (${tries})` };
      const wait = r.retryAfterMs !== null ? Math.min(r.retryAfterMs, RETRY_AFTER_CAP_MS) : backoffDelay(n + 1, backoffMs);
      const remaining = maxTimeMs - (Date.now() - start);
      if (wait > remaining) {
        const why = r.retryAfterMs !== null ? `the server asked to retry in ${Math.ceil(r.retryAfterMs / 1000)} s` : 'the next wait';
        return { kind: 'failed', reason: `${r.reason} (${tries}; ${why} is beyond openlineage.retryMaxTime ${maxTimeMs} ms)` };
      }
      await new Promise((res) => setTimeout(res, wait));
    }
  }

  /** Send what an earlier command spooled (before this command's first event). */
  private async drain(): Promise<void> {
    const spool = this.spool!;
    let r: FlushResult;
    try {
      r = await spool.flush((b) => this.deliver(b));
    } catch (e) {
      this.notice(`OpenLineage ${this.target}: cannot read the spool ${join(spool.label, 'spool')}: ${(e as Error).message}`);
      return;
    }
    for (const d of r.deadLettered) this.notice(deadLetterNotice(this.target, spool, d.name, d.reason, null));
    if (r.stopped) {
      this.holding = true;
      const why = r.stopped.kind === 'auth' ? `${r.stopped.reason}: ${this.keyFix}` : r.stopped.reason;
      this.notice(`OpenLineage ${this.target}: ${r.remaining} event(s) spooled earlier could not be sent yet (${why}); this command's events are spooled after them in ${join(spool.label, 'spool')} (strata lineage flush sends them; the run itself is unaffected)`);
    }
  }

  /** Send what earlier commands spooled, once (emit() does it before the first event otherwise). */
  sendSpooled(): Promise<void> {
    if (!this.spool) return Promise.resolve();
    return (this.ready ??= this.drain());
  }

  async emit(event: RunEvent): Promise<void> {
    const body = JSON.stringify(event);
    const spool = this.spool;
    if (!spool) {
      const r = await this.deliver(body);
      if (r.kind !== 'sent') throw new Error(r.reason);
      return;
    }
    await this.sendSpooled();
    if (this.holding) {
      await spool.add(body);
      return;
    }
    const r = await this.deliver(body);
    if (r.kind === 'sent') return;
    const what = `the ${event.eventType} event of ${event.job.name}`;
    if (r.kind === 'rejected') {
      const name = await spool.deadLetter(body, r.reason);
      this.notice(deadLetterNotice(this.target, spool, name, r.reason, what));
      return;
    }
    await spool.add(body);
    this.holding = true;
    if (r.kind === 'auth') {
      this.notice(`OpenLineage ${this.target}: ${r.reason}: the server refused the API key (or its absence): ${this.keyFix}. ${what[0]!.toUpperCase() + what.slice(1)} and the next ones are kept in ${join(spool.label, 'spool')}; strata lineage flush sends them once the key is right (the run itself is unaffected)`);
    } else {
      this.notice(`OpenLineage ${this.target}: ${r.reason}; ${what} and the next ones of this command are kept in ${join(spool.label, 'spool')} and sent by the next run or repro, or by strata lineage flush (the run itself is unaffected)`);
    }
  }
}

function deadLetterNotice(target: string, spool: Spool, name: string, reason: string, what: string | null): string {
  const file = join(spool.label, 'dead', name);
  return `OpenLineage ${target} rejected ${what ?? 'a spooled event'} (${reason}); it is not sent again: it is in ${file}, the server's reason beside it in ${file.replace(/\.json$/, '.reason.txt')}`;
}

// ---------------------------------------------------------------- settings

export interface OpenLineageSettings {
  /** HTTP endpoint: the openlineage.yml / OPENLINEAGE__TRANSPORT__ http transport, else OPENLINEAGE_URL, else config openlineage.url. */
  url: string | null;
  /** Path appended to a URL without one: the transport's endpoint, else OPENLINEAGE_ENDPOINT (default api/v1/lineage). */
  endpoint?: string;
  /** JSON-lines file: a file transport's log_file_path, else config openlineage.file. */
  file: string | null;
  /** OPENLINEAGE_NAMESPACE, else config openlineage.namespace; null: the caller's default. */
  namespace: string | null;
  /** The transport's auth apiKey, else OPENLINEAGE_API_KEY, else the credentials-file line matching the URL. Never from the repository config. */
  apiKey?: string;
  /** One request's timeout: the transport's timeout, else openlineage.timeout. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** Where the URL came from, for messages: an openlineage.yml path, OPENLINEAGE__TRANSPORT__*, OPENLINEAGE_URL or openlineage.url. */
  source: string | null;
  /** What to do when the server refuses the key, naming where it came from. */
  keyFix: string;
  /** Problems to report (an ignored key in the repository config, an invalid value). Never contain the key. */
  warnings: string[];
}

/**
 * Where OpenLineage events go, as the OpenLineage clients read it (precedence of the Python
 * client): an `openlineage.yml` (OPENLINEAGE_CONFIG, ./openlineage.yml, ~/.openlineage/openlineage.yml),
 * else the OPENLINEAGE__TRANSPORT__* variables (core/lineage/ol-config.ts), else the legacy
 * variables (OPENLINEAGE_URL, OPENLINEAGE_ENDPOINT) over the repository config
 * (openlineage.url/file/namespace); OPENLINEAGE_DISABLED turns it all off. The API key from the
 * transport's auth, the environment or the user credentials file only. Retries and the timeout from
 * openlineage.retries / retryBackoff / retryMaxTime / timeout. Never throws: OpenLineage is best
 * effort, so invalid values become warnings.
 */
export function openLineageSettings(db: ConfigSource, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): OpenLineageSettings {
  const warnings: string[] = [];
  const read = (key: string): string | null => {
    try {
      return readString(db, key);
    } catch (e) {
      warnings.push(`OpenLineage: ${(e as Error).message} (${(e as StrataError).hint ?? ''}); ${key} is ignored`);
      return null;
    }
  };
  const duration = (key: string, fallback: number): number => {
    const v = read(key);
    return v === null ? fallback : (parseDuration(v) ?? fallback);
  };
  const retriesRaw = read('openlineage.retries');
  const retry: RetryPolicy = {
    retries: retriesRaw === null ? DEFAULT_RETRY.retries : Number(retriesRaw),
    backoffMs: duration('openlineage.retryBackoff', DEFAULT_RETRY.backoffMs),
    maxTimeMs: duration('openlineage.retryMaxTime', DEFAULT_RETRY.maxTimeMs),
  };
  let timeoutMs = duration('openlineage.timeout', 5000);
  if (timeoutMs <= 0) {
    warnings.push('OpenLineage: openlineage.timeout must be more than 0; 5s is used');
    timeoutMs = 5000;
  }
  const base = { timeoutMs, retry, keyFix: KEY_FIX };
  if (db.getConfig('openlineage.apiKey') !== null) {
    warnings.push(`openlineage.apiKey in the repository config is ignored (secrets are not read from it); remove it with strata config unset openlineage.apiKey and ${findKey('openlineage.apiKey')!.setInstead}`);
  }
  if (/^(1|true|yes|on)$/i.test(env.OPENLINEAGE_DISABLED ?? '')) return { ...base, url: null, file: null, namespace: read('openlineage.namespace'), source: null, warnings };
  const envNs = env.OPENLINEAGE_NAMESPACE?.trim();
  const namespace = envNs ? envNs : read('openlineage.namespace');
  let file = read('openlineage.file');
  let url: string | null = null;
  let endpoint: string | undefined;
  let source: string | null = null;
  let apiKey: string | undefined;
  let keyFix = KEY_FIX;
  const client = clientTransport(env, cwd);
  warnings.push(...client.warnings);
  const t = client.transport;
  if (t) {
    // The client configuration names one transport: it replaces the endpoint (and, for a file transport, openlineage.file).
    if (t.type === 'http') {
      url = t.url!;
      source = t.source;
      endpoint = t.endpoint;
      if (t.timeoutMs) timeoutMs = t.timeoutMs;
      if (t.apiKey) {
        apiKey = t.apiKey;
        keyFix = `fix the auth apiKey of ${t.source}`;
      }
    } else if (t.type === 'file') file = t.file!;
  } else {
    url = read('openlineage.url');
    if (url) source = 'openlineage.url';
    const envUrl = env.OPENLINEAGE_URL?.trim();
    if (envUrl) {
      const def = findKey('openlineage.url')!;
      const r = checkValue(def, envUrl);
      // Credentials in the environment's URL are the user's choice (they are not stored); anything else invalid is skipped.
      if (r.ok || /^https?:\/\//i.test(envUrl)) {
        url = envUrl;
        source = 'OPENLINEAGE_URL';
      } else warnings.push(`OpenLineage: OPENLINEAGE_URL ${JSON.stringify(redactUrl(envUrl))} is not an http(s) URL; ignored`);
    }
    endpoint = env.OPENLINEAGE_ENDPOINT?.trim() || undefined;
  }
  if (!apiKey) apiKey = env.OPENLINEAGE_API_KEY || undefined;
  if (!apiKey && url) {
    const c = credentialFor(url, env);
    apiKey = c.secret;
    warnings.push(...c.warnings);
  }
  return { ...base, timeoutMs, keyFix, url, ...(endpoint ? { endpoint } : {}), file, namespace, ...(apiKey ? { apiKey } : {}), source, warnings };
}

/** The spool of a repository's OpenLineage events (`.strata/lineage`). */
export function repoSpool(strataDir: string): Spool {
  return new Spool(join(strataDir, 'lineage'), '.strata/lineage');
}

/**
 * The HTTP emitter of `settings` with the repository's spool (null: no endpoint). Throws
 * CONFIG_INVALID for a URL that is not one.
 */
export function httpEmitterFor(settings: OpenLineageSettings, strataDir: string, onNotice?: (m: string) => void): HttpEmitter | null {
  if (!settings.url) return null;
  return new HttpEmitter(settings.url, {
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    timeoutMs: settings.timeoutMs,
    retry: settings.retry,
    spool: repoSpool(strataDir),
    keyFix: settings.keyFix,
    ...(onNotice ? { onNotice } : {}),
  });
}

/** A run as the ParentRunFacet names it. */
export interface RunRef {
  runId: string;
  job: { namespace: string; name: string };
}

/**
 * The parent (and root) run an orchestrator passed in the environment, as the OpenLineage
 * integrations read it: `OPENLINEAGE_PARENT_ID` = `<namespace>/<job name>/<runId>` (what Airflow's
 * `lineage_parent_id` macro renders) or the separate `OPENLINEAGE_PARENT_JOB_NAMESPACE`,
 * `OPENLINEAGE_PARENT_JOB_NAME` and `OPENLINEAGE_PARENT_RUN_ID`; the root likewise from
 * `OPENLINEAGE_ROOT_PARENT_ID` or `OPENLINEAGE_ROOT_PARENT_JOB_NAMESPACE` / `_JOB_NAME` / `_RUN_ID`.
 * Without a root the parent is the root (the spec's semantics). An invalid value becomes a
 * warning, never an error. The namespace may contain `/` (e.g. `strata://x`): the run id is the
 * last segment and the job name the one before it.
 */
export function parentFromEnv(env: NodeJS.ProcessEnv = process.env): { parent: RunRef | null; root: RunRef | null; warnings: string[] } {
  const warnings: string[] = [];
  const read = (prefix: 'PARENT' | 'ROOT_PARENT'): RunRef | null => {
    const joined = env[`OPENLINEAGE_${prefix}_ID`]?.trim();
    const ns = env[`OPENLINEAGE_${prefix}_JOB_NAMESPACE`]?.trim();
    const name = env[`OPENLINEAGE_${prefix}_JOB_NAME`]?.trim();
    const runId = env[`OPENLINEAGE_${prefix}_RUN_ID`]?.trim();
    let ref: RunRef | null = null;
    let from = '';
    if (joined) {
      from = `OPENLINEAGE_${prefix}_ID`;
      const parts = joined.split('/');
      if (parts.length >= 3) ref = { runId: parts[parts.length - 1]!, job: { namespace: parts.slice(0, -2).join('/'), name: parts[parts.length - 2]! } };
    } else if (ns || name || runId) {
      from = `OPENLINEAGE_${prefix}_JOB_NAMESPACE, _JOB_NAME and _RUN_ID`;
      if (ns && name && runId) ref = { runId, job: { namespace: ns, name } };
    } else return null;
    if (!ref || !ref.job.namespace || !ref.job.name || !isUuid(ref.runId)) {
      warnings.push(`OpenLineage: ${from} must give <namespace>/<job name>/<run UUID>, got ${JSON.stringify(redactText(joined ?? [ns, name, runId].join('/')))}; ignored`);
      return null;
    }
    return { runId: ref.runId.toLowerCase(), job: ref.job };
  };
  const parent = read('PARENT');
  const root = read('ROOT_PARENT');
  return { parent, root: root ?? parent, warnings };
}

/**
 * An emitter for a configured target: an http(s) URL → HttpEmitter; `file:` URL or plain path →
 * FileEmitter.
 */
export function emitterFor(target: string, opts: HttpEmitterOptions = {}): Emitter {
  if (/^https?:\/\//i.test(target)) return new HttpEmitter(target, opts);
  if (/^file:/i.test(target)) return new FileEmitter(new URL(target).pathname);
  return new FileEmitter(target);
}

/**
 * Send `event` to every emitter (in parallel). Never throws: failures are returned as
 * `target: reason` strings for the caller to report as warnings.
 */
export async function emitSafely(emitters: readonly Emitter[] | null | undefined, event: RunEvent): Promise<{ ok: boolean; errors: string[] }> {
  const list = emitters ?? [];
  const results = await Promise.allSettled(
    list.map(async (em) => {
      await em.emit(event);
    }),
  );
  const errors: string[] = [];
  results.forEach((r, i) => {
    if (r.status === 'rejected') {
      let target = 'emitter';
      try {
        target = list[i]!.target ?? target;
      } catch {
        /* keep the generic name */
      }
      const reason = r.reason instanceof Error ? r.reason.message : String(r.reason);
      errors.push(redactText(`OpenLineage ${target}: ${reason}`));
    }
  });
  return { ok: errors.length === 0, errors };
}
