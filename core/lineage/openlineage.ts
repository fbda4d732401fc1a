/**
 * OpenLineage export: RunEvent builder (core spec 2-0-2) and emitters (JSON-lines file, HTTP such as
 * Marquez's `POST /api/v1/lineage`). Emitting is best effort: `emitSafely` never throws, so a
 * failing lineage endpoint can never fail a run; the caller reports the errors it returns.
 *
 * No dependency on the repository engine: the caller supplies ids, versions and the code location.
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StrataError } from '../errors/index.js';
import { redactText, redactUrl } from '../config/redact.js';
import { checkValue, findKey, readString, type ConfigSource } from '../config/registry.js';
import { credentialFor } from '../config/credentials.js';

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

export interface HttpEmitterOptions {
  /** Abort the request after this many ms (default 5000). */
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  headers?: Record<string, string>;
  /** Appended when the URL has no path (default `api/v1/lineage`, Marquez's and the OpenLineage HTTP transport's). */
  endpoint?: string;
}


/** POSTs each event as JSON, e.g. to Marquez: `new HttpEmitter('http://localhost:5000')`. */
export class HttpEmitter implements Emitter {
  readonly url: string;
  readonly target: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

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
    this.headers = { 'content-type': 'application/json', accept: 'application/json', ...(opts.headers ?? {}) };
    if (opts.apiKey) this.headers.authorization = `Bearer ${opts.apiKey}`;
    else if (user || pass) this.headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }

  async emit(event: RunEvent): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError') throw new Error(`no answer within ${this.timeoutMs} ms`, { cause: e });
      const cause = err.cause?.code ?? err.cause?.message;
      throw new Error(cause ? `${err.message} (${cause})` : err.message, { cause: e });
    }
    if (res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    let body = '';
    try {
      body = (await res.text()).replace(/\s+/g, ' ').trim().slice(0, 200);
    } catch {
      /* body unreadable: the status says enough */
    }
    throw new Error(`HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}${body ? `: ${body}` : ''}`);
  }
}

// ---------------------------------------------------------------- settings

export interface OpenLineageSettings {
  /** HTTP endpoint: OPENLINEAGE_URL, else config openlineage.url. */
  url: string | null;
  /** Path appended to a URL without one: OPENLINEAGE_ENDPOINT (default api/v1/lineage). */
  endpoint?: string;
  /** JSON-lines file: config openlineage.file. */
  file: string | null;
  /** OPENLINEAGE_NAMESPACE, else config openlineage.namespace; null: the caller's default. */
  namespace: string | null;
  /** OPENLINEAGE_API_KEY, else the credentials-file line matching the URL. Never from the repository config. */
  apiKey?: string;
  /** Problems to report (an ignored key in the repository config, an invalid value). Never contain the key. */
  warnings: string[];
}

/**
 * Where OpenLineage events go, as the OpenLineage clients read it: the environment
 * (OPENLINEAGE_URL, OPENLINEAGE_ENDPOINT, OPENLINEAGE_API_KEY, OPENLINEAGE_NAMESPACE,
 * OPENLINEAGE_DISABLED) over the repository config (openlineage.url/file/namespace); the API key
 * from the environment or the user credentials file only. Never throws: OpenLineage is best
 * effort, so invalid values become warnings.
 */
export function openLineageSettings(db: ConfigSource, env: NodeJS.ProcessEnv = process.env): OpenLineageSettings {
  const warnings: string[] = [];
  const read = (key: string): string | null => {
    try {
      return readString(db, key);
    } catch (e) {
      warnings.push(`OpenLineage: ${(e as Error).message} (${(e as StrataError).hint ?? ''}); ${key} is ignored`);
      return null;
    }
  };
  if (db.getConfig('openlineage.apiKey') !== null) {
    warnings.push(`openlineage.apiKey in the repository config is ignored (secrets are not read from it); remove it with strata config unset openlineage.apiKey and ${findKey('openlineage.apiKey')!.setInstead}`);
  }
  if (/^(1|true|yes|on)$/i.test(env.OPENLINEAGE_DISABLED ?? '')) return { url: null, file: null, namespace: read('openlineage.namespace'), warnings };
  let url = read('openlineage.url');
  const envUrl = env.OPENLINEAGE_URL?.trim();
  if (envUrl) {
    const def = findKey('openlineage.url')!;
    const r = checkValue(def, envUrl);
    // Credentials in the environment's URL are the user's choice (they are not stored); anything else invalid is skipped.
    if (r.ok || /^https?:\/\//i.test(envUrl)) url = envUrl;
    else warnings.push(`OpenLineage: OPENLINEAGE_URL ${JSON.stringify(redactUrl(envUrl))} is not an http(s) URL; ignored`);
  }
  const envNs = env.OPENLINEAGE_NAMESPACE?.trim();
  const namespace = envNs ? envNs : read('openlineage.namespace');
  let apiKey = env.OPENLINEAGE_API_KEY || undefined;
  if (!apiKey && url) {
    const c = credentialFor(url, env);
    apiKey = c.secret;
    warnings.push(...c.warnings);
  }
  const endpoint = env.OPENLINEAGE_ENDPOINT?.trim() || undefined;
  return { url, ...(endpoint ? { endpoint } : {}), file: read('openlineage.file'), namespace, ...(apiKey ? { apiKey } : {}), warnings };
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
