/**
 * Executing pipeline stages: hashing deps and outputs (stat cache first), running the command
 * through the shell while streaming and capturing its output, storing outputs, restoring outputs
 * from the store (run cache, failed runs), recording runs (DB rows + run object + lineage) and
 * emitting OpenLineage events.
 *
 * Used by core/ops/run.ts (`strata run`) and core/ops/repro.ts (`strata repro`). Never prints:
 * output goes through the hooks the caller passes.
 */
import { checkFailedError, checkFlat, readSpec } from '../checks/judge.js';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { readCodeState } from '../code/git.js';
import { openCodeRepo } from '../code/repo.js';
import { snapshotCodeChanges } from '../code/snapshot.js';
import { StrataError, isStrataError } from '../errors/index.js';
import { hashBytes } from '../hash/index.js';
import {
  buildRunEvent,
  dataQualityAssertionsFacet,
  dataQualityMetricsFacet,
  emitSafely,
  emitterFor,
  httpEmitterFor,
  HttpEmitter,
  FACET_SCHEMA_URLS,
  openLineageSettings,
  parentFromEnv,
  strataCacheFacet,
  strataCodeFacet,
  strataProducer,
  uuidv7,
  type BuildRunEventInput,
  type CodeFile,
  type CodeLocation,
  type DatasetRef,
  type Emitter,
  type EventType,
  type RunRef,
} from '../lineage/openlineage.js';
import { recordedResults } from '../lineage/quality.js';
import type { IndexRow, StatRow } from '../meta/db.js';
import type { CheckResult } from '../tables/checks.js';
import { insertRun, markRunsFetched, serializeRun, type OutKind, type RunCode, type RunDep, type RunEnvironment, type RunOut, type RunRecord } from '../meta/runs.js';
import { compareNames, parseManifest, type Id } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { buildTree, computeTreeId, flattenTree } from '../repo/tree.js';
import { materialize } from '../repo/worktree.js';
import { mapLimit } from '../util/concurrency.js';
import { loadIgnore, type IgnoreRules } from '../workspace/ignore.js';
import { Ingestor } from '../workspace/ingest.js';
import { checkStoredPath, isUnder, outermost } from '../workspace/paths.js';
import { scanRoots } from '../workspace/scan.js';
import { syncGitignore } from '../ops/gitignore.js';
import type { OutSpec, ParamRef, StageSpec } from './spec.js';
import { checkOnDisk, checkRestoreRows, safeMkdirs, safeRemove } from './safety.js';
import { createHasher } from '../hash/index.js';

// ---------------------------------------------------------------- version, environment

let versionCache: string | undefined;
/** The strata package version. */
export function strataVersion(): string {
  if (versionCache) return versionCache;
  const require = createRequire(import.meta.url);
  for (const p of ['../../package.json', '../../../package.json']) {
    try {
      const v = (require(p) as { name?: string; version?: string });
      if (v.name === 'strata' && v.version) return (versionCache = v.version);
    } catch {
      /* try the next location (source vs dist) */
    }
  }
  return (versionCache = '0.0.0');
}

function runEnvironment(): RunEnvironment {
  return { node: process.version, platform: process.platform, arch: process.arch, hostname: hostname(), strata: strataVersion() };
}

// ---------------------------------------------------------------- hashing paths

/** The content of a dep or output path in the workspace. */
/** The run record's entry for output `o` found on disk as `s`. */
function runOut(o: OutSpec, s: PathState): RunOut {
  const out: RunOut = { path: o.path, id: s.id, type: o.type, kind: s.kind, size: s.size, cache: o.cache };
  if (s.kind === 'file') {
    if (s.exec) out.exec = true;
    if (s.chunks) out.chunks = s.chunks;
    if (s.link !== null) out.link = s.link;
  }
  return out;
}

export interface PathState {
  path: string;
  kind: 'file' | 'dir';
  /** Blob id (file) or tree id (directory). */
  id: Id;
  size: number;
  exec: boolean;
  chunks: Id | null;
  link: string | null;
  /** Index rows of the files (repository paths). */
  rows: IndexRow[];
}

/**
 * Hashes workspace paths with one stat cache and one set of ignore rules for a whole operation.
 * Stat-cache rows learned are kept until `takeStatUpdates()` (persist them in the run's transaction).
 */
export class WorkspaceHasher {
  private ig: IgnoreRules | null = null;
  private statCache: Map<string, StatRow> | null = null;
  private pending: StatRow[] = [];

  constructor(private readonly repo: Repository) {}

  private async init(): Promise<void> {
    this.ig ??= await loadIgnore(this.repo.root);
    this.statCache ??= this.repo.db.loadStatCache();
  }

  /** Rows learned since the last call (remove them from the queue). */
  takeStatUpdates(): StatRow[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Remember rows written by materialize (so the next hash of those files is free). */
  learn(rows: StatRow[]): void {
    if (!this.statCache) return;
    for (const r of rows) this.statCache.set(r.path, r);
    this.pending.push(...rows);
  }

  /**
   * State of each path (null when missing). `store`: also write the bytes (and directory trees)
   * to the object store, durably, before returning.
   */
  async hash(paths: string[], opts: { store: boolean }): Promise<Map<string, PathState | null>> {
    await this.init();
    const out = new Map<string, PathState | null>();
    if (paths.length === 0) return out;
    const roots = outermost(paths);
    const scanStart = Date.now();
    const { files } = await scanRoots(this.repo.root, roots, this.ig!);
    const ingestor = new Ingestor(this.repo, { store: opts.store, statCache: this.statCache! });
    const rows = new Map<string, IndexRow>();
    try {
      await mapLimit([...files.values()], 16, async (wf) => {
        const ident = await ingestor.identify(wf, scanStart);
        rows.set(
          wf.path,
          wf.type === 'symlink'
            ? { path: wf.path, type: 'symlink', exec: false, size: ident.size, id: ident.id, chunks: null, target: ident.target }
            : { path: wf.path, type: 'file', exec: wf.exec, size: ident.size, id: ident.id, chunks: ident.chunks, target: null },
        );
      });
      await ingestor.finish();
    } catch (e) {
      await ingestor.abort();
      throw e;
    }
    for (const r of ingestor.statUpdates) this.statCache!.set(r.path, r);
    this.pending.push(...ingestor.statUpdates);
    for (const p of paths) {
      const st = await fsp.lstat(join(this.repo.root, p)).catch(() => null);
      if (!st) {
        out.set(p, null);
        continue;
      }
      if (!st.isDirectory()) {
        const r = rows.get(p);
        if (!r) {
          out.set(p, null); // ignored, or not a regular file / link
          continue;
        }
        out.set(p, { path: p, kind: 'file', id: r.id, size: r.size, exec: r.exec, chunks: r.chunks, link: r.type === 'symlink' ? r.target : null, rows: [r] });
        continue;
      }
      const under = [...rows.values()].filter((r) => isUnder(r.path, p) && r.path !== p).sort((a, b) => compareNames(a.path, b.path));
      const rel = under.map((r) => ({ ...r, path: r.path.slice(p.length + 1) }));
      const id = opts.store ? await buildTree(this.repo, new Map(rel.map((r) => [r.path, r]))) : computeTreeId(rel);
      out.set(p, { path: p, kind: 'dir', id, size: under.reduce((a, r) => a + r.size, 0), exec: false, chunks: null, link: null, rows: under });
    }
    return out;
  }
}

/** The index rows an output version consists of (repository paths). */
async function rowsOfOut(repo: Repository, out: Pick<RunOut, 'path' | 'id' | 'kind' | 'size' | 'exec' | 'chunks' | 'link'>): Promise<IndexRow[]> {
  if (out.kind === 'file') {
    return [
      out.link !== undefined && out.link !== null
        ? { path: out.path, type: 'symlink', exec: false, size: out.size, id: out.id, chunks: null, target: out.link }
        : { path: out.path, type: 'file', exec: !!out.exec, size: out.size, id: out.id, chunks: out.chunks ?? null, target: null },
    ];
  }
  const flat = await flattenTree(repo, out.id);
  return [...flat.values()].map((r) => ({ ...r, path: `${out.path}/${r.path}` }));
}

/**
 * True when every object needed to restore `out` is in the local store, the rows it restores are
 * safe to write (no unsafe names, nothing below a file or link, no link pointing outside), and the
 * trees and manifests verify against their ids. `deep` (runs that came from elsewhere): every
 * blob and chunk is read and hashed too, and a chunked file's whole content against its id.
 */
export async function outRestorable(repo: Repository, out: RunOut, opts: { deep?: boolean } = {}): Promise<boolean> {
  if (!out.cache || !out.id) return false;
  try {
    checkRestoreRows([{ path: out.path, type: 'file', target: null }], `output ${out.path}`);
    if (out.kind === 'dir') {
      if (!(await repo.localStore().knows(out.id)) && !repo.db.getTreeRaw(out.id)) return false;
      const rows = await rowsOfOut(repo, out);
      checkRestoreRows(rows, `output ${out.path}`);
      for (const r of rows) if (!(await repo.localStore().knows(r.chunks ?? r.id))) return false;
      if (opts.deep) {
        if (await repo.localStore().knows(out.id)) await repo.store.getBytes(out.id, { verify: true });
        for (const r of rows) if (r.type === 'file' && !(await contentVerifies(repo, r.id, r.chunks))) return false;
      }
      return true;
    }
    if (out.link !== undefined && out.link !== null) {
      checkRestoreRows([{ path: out.path, type: 'symlink', target: out.link }], `output ${out.path}`);
      return true;
    }
    if (!(await repo.localStore().knows(out.chunks ?? out.id))) return false;
    return opts.deep ? await contentVerifies(repo, out.id, out.chunks ?? null) : true;
  } catch {
    return false;
  }
}

/** Read a file's bytes (whole, or chunk by chunk) and check them against its id. */
async function contentVerifies(repo: Repository, id: Id, chunks: Id | null | undefined): Promise<boolean> {
  try {
    if (!chunks) {
      await repo.store.getBytes(id, { verify: true });
      return true;
    }
    const h = createHasher();
    const manifest = parseManifest(await repo.store.getBytes(chunks, { verify: true }));
    for (const [cid] of manifest.chunks) h.update(await repo.store.getBytes(cid, { verify: true }));
    return h.digestHex() === id;
  } catch {
    return false;
  }
}

/** Lexical and on-disk checks of a stage's deps, outputs and wdir (before anything is touched). */
export async function checkStagePaths(root: string, stage: Pick<StageSpec, 'name' | 'deps' | 'outs' | 'wdir'>): Promise<void> {
  for (const o of stage.outs) await checkOnDisk(root, o.path, `stage ${stage.name}: output ${o.path}`, { allowFinalLink: true });
  for (const d of stage.deps) await checkOnDisk(root, d, `stage ${stage.name}: dep ${d}`, { allowFinalLink: true });
  await checkOnDisk(root, stage.wdir, `stage ${stage.name}: wdir ${stage.wdir}`, { allowRoot: true });
}

/** Remove a workspace path (file, link or whole directory), never following links. */
async function removePath(repo: Repository, path: string): Promise<void> {
  checkStoredPath(path);
  await safeRemove(repo.root, path, `output ${path}`);
}

/** Make room for output `path`: its parent folders exist (created safely) and nothing is at it. */
async function prepareOutput(repo: Repository, path: string): Promise<void> {
  await removePath(repo, path);
  const i = path.lastIndexOf('/');
  if (i > 0) await safeMkdirs(repo.root, path.slice(0, i), `output ${path}`);
}

/** Put `rows` (one output's files) in place of whatever is at `path` now. Returns stat rows. */
async function replaceOutput(repo: Repository, path: string, rows: IndexRow[], opts: { own?: boolean } = {}): Promise<StatRow[]> {
  checkRestoreRows(rows, `output ${path}`, { linksOutside: opts.own });
  for (const r of rows) {
    if (r.path !== path && !r.path.startsWith(path + '/')) {
      throw new StrataError('PATH_OUTSIDE_WORKSPACE', `output ${path}: the stored version names ${r.path}, outside the output`, { hint: 'the run record is corrupt or crafted; run strata fsck' });
    }
  }
  await prepareOutput(repo, path);
  if (rows.length === 0) {
    // An empty directory output.
    await safeMkdirs(repo.root, path, `output ${path}`);
    return [];
  }
  const r = await materialize(repo, { remove: [], write: rows });
  return r.statRows;
}

// ---------------------------------------------------------------- running a command

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  /** stdout and stderr as they arrived (capped; see LOG_CAP). */
  log: Buffer;
  /** Set when the command could not be started at all. */
  spawnError: string | null;
}

/** Captured log bytes kept per run (the terminal still sees everything). */
const LOG_CAP = 32 * 1024 * 1024;

/** Run `cmd` with the shell; stream output to `onOutput` and capture it. */
function execCommand(opts: {
  cmd: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  stdin?: 'inherit' | 'ignore';
  /** On abort the command gets the signal named by the reason (default SIGTERM). */
  signal?: AbortSignal;
}): Promise<ExecResult> {
  return new Promise((res) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let dropped = 0;
    const take = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
      if (kept + d.length <= LOG_CAP) {
        chunks.push(d);
        kept += d.length;
      } else dropped += d.length;
      opts.onOutput?.(stream, d);
    };
    // An interruptible command runs in its own process group, so an abort stops the whole command
    // (the shell and what it started). Not when it reads the terminal: a background group could
    // not, and a terminal's Ctrl-C reaches the whole foreground group anyway.
    const group = !!opts.signal && process.platform !== 'win32' && !((opts.stdin ?? 'inherit') === 'inherit' && process.stdin.isTTY);
    let child;
    try {
      child = spawn(opts.cmd, { shell: true, cwd: opts.cwd, env: opts.env, stdio: [opts.stdin ?? 'inherit', 'pipe', 'pipe'], detached: group });
    } catch (e) {
      res({ exitCode: null, signal: null, log: Buffer.alloc(0), spawnError: (e as Error).message });
      return;
    }
    let spawnError: string | null = null;
    child.stdout!.on('data', take('stdout'));
    child.stderr!.on('data', take('stderr'));
    child.on('error', (e) => {
      spawnError = e.message;
    });
    const c = child;
    const onAbort = (): void => {
      const reason: unknown = opts.signal?.reason;
      const sig = typeof reason === 'string' && /^SIG[A-Z]+$/.test(reason) ? (reason as NodeJS.Signals) : 'SIGTERM';
      try {
        if (group && c.pid) process.kill(-c.pid, sig);
        else c.kill(sig);
      } catch {
        c.kill(sig);
      }
    };
    // Once aborted, a process the command left behind must not keep the run open through the pipes.
    child.on('exit', () => {
      if (!opts.signal?.aborted) return;
      c.stdout?.destroy();
      c.stderr?.destroy();
    });
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (dropped) chunks.push(Buffer.from(`\n[strata: ${dropped} more bytes of output not kept in the log]\n`));
      res({ exitCode: code, signal: signal ?? null, log: Buffer.concat(chunks), spawnError });
    });
  });
}

// ---------------------------------------------------------------- the runner

export interface StageEvent {
  stage: string;
  phase: 'start' | 'end';
  /** What happens / happened: run = executing the command, restore = from the run cache. */
  action: 'run' | 'restore';
  runId?: string;
  status?: RunRecord['status'];
}

export interface RunnerHooks {
  /** Command output as it arrives (stream it to the terminal). */
  onOutput?(stage: string, stream: 'stdout' | 'stderr', chunk: Buffer): void;
  onStage?(ev: StageEvent): void;
}

export interface StageInput {
  params: Record<string, unknown>;
  paramRefs: ParamRef[];
  deps: RunDep[];
  signature: string;
  origin: RunRecord['origin'];
}

/** The fields every run record of `stage` shares: what ran, with which inputs, code and environment. */
function recordBase(stage: StageSpec, input: StageInput, code: RunCode | null): Pick<RunRecord, 'cmd' | 'wdir' | 'env' | 'params' | 'paramRefs' | 'code' | 'environment' | 'signature' | 'origin'> {
  return {
    cmd: stage.cmd,
    wdir: stage.wdir,
    env: stage.env,
    params: input.params,
    paramRefs: input.paramRefs.map((r) => ({ file: r.file, key: r.key })),
    code: code ? { commit: code.commit, branch: code.branch, remote: code.remote, dirty: code.dirty, ...(code.diff ? { diff: code.diff } : {}) } : null,
    environment: runEnvironment(),
    signature: input.signature,
    origin: input.origin,
  };
}

/** Shared state for the runs of one operation: code state, OpenLineage emitters, warnings. */
export class StageRunner {
  readonly hasher: WorkspaceHasher;
  readonly warnings: string[] = [];
  private code: Promise<(RunCode & { root: string | null }) | null> | null = null;
  private emittersCache: Emitter[] | null = null;
  /** Project paths git tracks (read once, for OpenLineage only). */
  private gitPaths: Promise<Set<string> | null> | null = null;
  /** Job namespace: openlineage.namespace / OPENLINEAGE_NAMESPACE, else strata://<project folder>. */
  private readonly namespace: string;
  /** The parent and root runs an orchestrator passed in the environment (OPENLINEAGE_PARENT_ID...). */
  private readonly envParent = parentFromEnv();
  /** The repro run that is the parent of the stage runs (beginPipeline). */
  private pipeline: { id: string; name: string; started: Promise<void> | null } | null = null;
  /** Namespace of Strata's own dataset identity (symlinks facet): always strata://<project folder>. */
  private readonly datasetNamespace: string;
  private readonly producer: string;

  constructor(
    readonly repo: Repository,
    private readonly hooks: RunnerHooks = {},
    private readonly opts: { stdin?: 'inherit' | 'ignore'; signal?: AbortSignal } = {},
  ) {
    this.hasher = new WorkspaceHasher(repo);
    this.datasetNamespace = `strata://${basename(repo.root)}`;
    this.namespace = openLineageSettings(repo.db).namespace ?? this.datasetNamespace;
    this.producer = strataProducer(strataVersion());
  }

  /** The code repository's state (read once per operation). */
  codeState(): Promise<(RunCode & { root: string | null }) | null> {
    this.code ??= readCodeState(this.repo.root, { config: this.repo.db }).then(
      async (c) => {
        if (!c.root) return null;
        let diff: string | null = null;
        if (c.dirty && c.commit) {
          // Keep the uncommitted changes of tracked code files, so the run stays reproducible.
          try {
            const snap = await snapshotCodeChanges(this.repo, c.root, c.commit);
            if (snap) {
              diff = snap.id;
              for (const w of snap.warnings) this.warn(w);
            }
          } catch (e) {
            this.warn(`could not record the uncommitted code changes: ${(e as Error).message}`);
          }
        }
        return { commit: c.commit, branch: c.branch ?? null, remote: c.remote ?? null, dirty: c.dirty, ...(diff ? { diff } : {}), root: c.root };
      },
      (e: unknown) => {
        // code.git = cli without a usable git program: say so before anything runs.
        if (isStrataError(e, 'CONFIG_INVALID')) throw e;
        this.warn(`could not read the code version (the run records none): ${(e as Error).message}`);
        return null;
      },
    );
    return this.code;
  }

  private warn(msg: string): void {
    if (!this.warnings.includes(msg)) this.warnings.push(msg);
  }

  private emitters(): Emitter[] {
    if (this.emittersCache) return this.emittersCache;
    const list: Emitter[] = [];
    const ol = openLineageSettings(this.repo.db);
    for (const w of [...ol.warnings, ...this.envParent.warnings]) this.warn(w);
    const { file } = ol;
    try {
      // Events the endpoint does not take are spooled in .strata/lineage (sent first next time).
      const http = httpEmitterFor(ol, this.repo.dir, (m) => this.warn(m));
      if (http) list.push(http);
    } catch (e) {
      this.warn(`OpenLineage: ${(e as Error).message}; no events sent to openlineage.url`);
    }
    if (file) list.push(emitterFor(/^file:/i.test(file) ? file : resolve(this.repo.root, file)));
    return (this.emittersCache = list);
  }

  /**
   * Send the OpenLineage events earlier commands spooled (at the start of a run or repro, so they
   * go out even when nothing runs; never throws, problems become warnings).
   */
  async sendSpooledEvents(): Promise<void> {
    for (const em of this.emitters()) if (em instanceof HttpEmitter) await em.sendSpooled();
  }

  /**
   * `checked`: the results of the data checks that judged this run's outputs (COMPLETE, or FAIL
   * when they failed), which become each output's dataQualityAssertions facet. Inputs carry the
   * newest results recorded for their version, as input facets (assertions and metrics).
   * `reused`: for a run-cache restore, the run whose outputs were restored and the run that
   * executed the command (the strata_cache run facet).
   */
  private async emit(
    type: EventType,
    rec: { id: string; stage: string; cmd: string; wdir: string; deps: RunDep[]; outs: Array<{ path: string; type: OutKind; id?: string }> },
    time: number,
    error?: string,
    checked?: readonly CheckResult[],
    reused?: { source: RunRecord; original: string },
  ): Promise<void> {
    const emitters = this.emitters();
    if (emitters.length === 0) return;
    // The repro run is the parent of its stages: its START goes out before the first stage's.
    if (this.pipeline) {
      const pl = this.pipeline;
      pl.started ??= this.send('START', { runId: pl.id, job: pl.name, jobType: 'PIPELINE', time, parent: this.envParent.parent });
      await pl.started;
    }
    // OpenLineage naming (spec/Naming.md): a local file is namespace `file`, name = its absolute
    // path. Strata's own identity (project + path; the version facet has the content id) is kept
    // as a symlink identifier, so nothing is lost.
    const ds = (path: string, id: string | undefined, type: OutKind | undefined): DatasetRef => ({
      namespace: 'file',
      name: resolve(this.repo.root, path).split('\\').join('/'),
      ...(id ? { version: id } : {}),
      ...(type ? { type } : {}),
      facets: { symlinks: { _schemaURL: FACET_SCHEMA_URLS.symlinks, identifiers: [{ namespace: this.datasetNamespace, name: path, type: 'FILE' }] } },
    });
    const input = (d: RunDep): DatasetRef => {
      const ref = ds(d.path, d.id, undefined);
      const recorded = d.kind === 'file' ? recordedResults(this.repo.db, d.path, d.id) : null;
      if (!recorded || recorded.results.length === 0) return ref;
      const metrics = dataQualityMetricsFacet(recorded.results);
      return { ...ref, inputFacets: { dataQualityAssertions: dataQualityAssertionsFacet(d.path, recorded.results), ...(metrics ? { dataQualityMetrics: metrics } : {}) } };
    };
    const output = (o: { path: string; type: OutKind; id?: string }): DatasetRef => {
      const ref = ds(o.path, type === 'START' ? undefined : o.id, o.type);
      const mine = (checked ?? []).filter((r) => r.path === o.path || r.path.startsWith(o.path.replace(/\/+$/, '') + '/'));
      return mine.length ? { ...ref, facets: { ...ref.facets, dataQualityAssertions: dataQualityAssertionsFacet(o.path, mine) } } : ref;
    };
    const parent = this.pipeline ? { runId: this.pipeline.id, job: { namespace: this.namespace, name: this.pipeline.name } } : this.envParent.parent;
    // Code files (deps git tracks and Strata does not) are versioned with the commit: they go in
    // the strata_code job facet, not among the input datasets.
    const { code, data } = await this.splitDeps(rec.deps);
    const state = await this.codeState();
    const jobFacets = {
      strata_code: strataCodeFacet({
        command: rec.cmd,
        wdir: rec.wdir,
        files: code,
        git: state ? { commit: state.commit, dirty: state.dirty, changes: state.diff ?? null } : null,
      }),
    };
    const runFacets = reused ? { strata_cache: strataCacheFacet(reused.source.id, reused.original, reused.source.signature) } : undefined;
    await this.send(type, { runId: rec.id, job: rec.stage, jobType: 'STAGE', time, parent, inputs: data.map(input), outputs: rec.outs.map(output), jobFacets, ...(runFacets ? { runFacets } : {}), ...(error !== undefined ? { error } : {}) });
  }

  /**
   * Split a run's deps into code files and data: a dep is code when git tracks it (a file or
   * directory of HEAD, or a file added to the index) and Strata does not (no tracked root is it,
   * holds it or lies inside it). Outside git, or when git cannot be read, every dep is data.
   */
  private async splitDeps(deps: readonly RunDep[]): Promise<{ code: CodeFile[]; data: RunDep[] }> {
    const git = deps.length ? await this.gitTracked() : null;
    if (!git) return { code: [], data: [...deps] };
    const roots = this.repo.db.trackedRoots();
    const code: CodeFile[] = [];
    const data: RunDep[] = [];
    for (const d of deps) {
      if (git.has(d.path) && !roots.some((r) => isUnder(d.path, r) || isUnder(r, d.path))) code.push({ path: d.path, kind: d.kind, id: d.id });
      else data.push(d);
    }
    return { code, data };
  }

  /** The project paths git tracks (read once per operation), or null outside git. */
  private gitTracked(): Promise<Set<string> | null> {
    this.gitPaths ??= (async () => {
      const state = await this.codeState();
      if (!state?.root) return null;
      try {
        const cr = await openCodeRepo(this.repo.root, { config: this.repo.db });
        if (!cr) return null;
        const prefix = relative(cr.root, this.repo.root).split('\\').join('/');
        const inProject = (p: string): string | null => (prefix === '' ? p : p.startsWith(prefix + '/') ? p.slice(prefix.length + 1) : null);
        const out = new Set<string>();
        const add = (gitPath: string): void => {
          const p = inProject(gitPath);
          if (p) out.add(p);
        };
        if (state.commit) for (const e of await cr.listTree(state.commit)) add(e.path);
        for (const c of await cr.changedFiles()) {
          if (c.status !== 'added') continue;
          // A file added to the index, and the directories holding it.
          for (let q = c.path; q !== ''; q = q.includes('/') ? q.slice(0, q.lastIndexOf('/')) : '') add(q);
        }
        return out;
      } catch (e) {
        this.warn(`OpenLineage: could not list the files git tracks, so code files are sent as input datasets: ${(e as Error).message}`);
        return null;
      }
    })();
    return this.gitPaths;
  }

  /**
   * Build and send one event. `parent`: the run this one belongs to (the repro run, or the one the
   * environment names); the root is the environment's root, else the parent.
   */
  private async send(
    type: EventType,
    ev: { runId: string; job: string; jobType: string; time: number; parent: RunRef | null; inputs?: DatasetRef[]; outputs?: DatasetRef[]; error?: string; runFacets?: BuildRunEventInput['runFacets']; jobFacets?: BuildRunEventInput['jobFacets'] },
  ): Promise<void> {
    const code = await this.codeState();
    let codeLocation: CodeLocation | null = null;
    if (code?.commit) {
      const sub = code.root ? relative(code.root, this.repo.root).split('\\').join('/') : '';
      codeLocation = {
        type: 'git',
        url: code.remote ?? code.root ?? this.repo.root,
        ...(code.remote ? { repoUrl: code.remote } : {}),
        ...(sub ? { path: sub } : {}),
        version: code.commit,
        ...(code.branch ? { branch: code.branch } : {}),
      };
    }
    const root = this.envParent.root ?? ev.parent;
    let event;
    try {
      event = buildRunEvent({
        eventType: type,
        eventTime: ev.time,
        runId: ev.runId,
        job: { namespace: this.namespace, name: ev.job },
        inputs: ev.inputs ?? [],
        outputs: ev.outputs ?? [],
        codeLocation,
        producer: this.producer,
        jobType: ev.jobType,
        ...(ev.parent ? { parent: { ...ev.parent, ...(root ? { root } : {}) } } : {}),
        ...(ev.error !== undefined ? { error: ev.error } : {}),
        ...(ev.runFacets ? { runFacets: ev.runFacets } : {}),
        ...(ev.jobFacets ? { jobFacets: ev.jobFacets } : {}),
      });
    } catch (e) {
      this.warn(`OpenLineage: cannot build the ${type} event for ${ev.job}: ${(e as Error).message}`);
      return;
    }
    const r = await emitSafely(this.emitters(), event);
    const what = ev.jobType === 'PIPELINE' ? `the ${ev.job} run` : `stage ${ev.job}`;
    for (const msg of r.errors) this.warn(`${msg} (${type} event of ${what} not delivered; the run itself is unaffected)`);
  }

  /**
   * Make the following stage runs children of one `name` run (strata repro): its START is sent
   * before the first stage's event, its end by endPipeline. Nothing is sent when no stage runs.
   */
  beginPipeline(name: string): void {
    this.pipeline = { id: uuidv7(), name, started: null };
  }

  /** The signal that interrupted the operation (SIGINT, SIGTERM), or null. */
  interrupted(): string | null {
    const sig = this.opts.signal;
    return sig?.aborted ? (typeof sig.reason === 'string' ? sig.reason : 'a signal') : null;
  }

  /** End the run beginPipeline opened: COMPLETE, FAIL naming the failed stages, or ABORT when interrupted. */
  async endPipeline(failed: readonly string[]): Promise<void> {
    const pl = this.pipeline;
    if (!pl?.started) return;
    await pl.started;
    const interrupted = this.interrupted();
    const error = interrupted ? `interrupted by ${interrupted}` : failed.length ? `failed: ${failed.join(', ')}` : undefined;
    await this.send(interrupted ? 'ABORT' : failed.length ? 'FAIL' : 'COMPLETE', { runId: pl.id, job: pl.name, jobType: 'PIPELINE', time: Date.now(), parent: this.envParent.parent, ...(error ? { error } : {}) });
  }

  /** Hash a stage's deps (no storing). Missing deps are returned separately. */
  async depVersions(paths: string[]): Promise<{ deps: RunDep[]; missing: string[] }> {
    const states = await this.hasher.hash(paths, { store: false });
    const deps: RunDep[] = [];
    const missing: string[] = [];
    for (const p of paths) {
      const s = states.get(p);
      if (!s) missing.push(p);
      else deps.push({ path: p, id: s.id, kind: s.kind });
    }
    return { deps, missing };
  }

  /**
   * Store the bytes of a stage's deps (files and directory trees) and return the deps with their
   * chunk manifest ids. A dep whose content changed since it was hashed keeps its recorded id
   * (and is not reproducible from the store); storing problems are warnings, never failures.
   */
  private async storeDeps(deps: RunDep[]): Promise<RunDep[]> {
    if (deps.length === 0) return deps;
    try {
      const states = await this.hasher.hash(deps.map((d) => d.path), { store: true });
      return deps.map((d) => {
        const s = states.get(d.path);
        if (!s || s.id !== d.id) return d;
        return s.kind === 'file' && s.chunks ? { ...d, chunks: s.chunks } : d;
      });
    } catch (e) {
      this.warn(`could not store the inputs of the run: ${(e as Error).message}`);
      return deps;
    }
  }

  /** Execute a stage's command and record the run (ok or failed). Never throws for a failing command. */
  async execute(stage: StageSpec, input: StageInput): Promise<RunRecord> {
    const repo = this.repo;
    const id = uuidv7();
    await checkStagePaths(repo.root, stage);
    const cwd = join(repo.root, stage.wdir === '.' ? '' : stage.wdir);
    const cwdStat = await fsp.stat(cwd).catch(() => null);
    if (!cwdStat?.isDirectory()) {
      throw new StrataError('PATH_NOT_FOUND', `stage ${stage.name}: working directory ${stage.wdir} does not exist`, { hint: `create it, or fix "wdir" of the stage` });
    }
    const code = await this.codeState();

    // Outputs as they are now go into the store (so a failure can put them back), then make room.
    const cachedOuts = stage.outs.filter((o) => o.cache);
    const prior = await this.hasher.hash(cachedOuts.map((o) => o.path), { store: true });
    for (const o of cachedOuts) await prepareOutput(repo, o.path);

    // The inputs go into the store too (most are there already), so the run can be checked out
    // and reproduced later whatever happens to the workspace (strata checkout --for, reproduce).
    const deps = await this.storeDeps(input.deps);

    this.hooks.onStage?.({ stage: stage.name, phase: 'start', action: 'run', runId: id });
    const started = Date.now();
    await this.emit('START', { id, stage: stage.name, cmd: stage.cmd, wdir: stage.wdir, deps: input.deps, outs: stage.outs }, started);
    const res = await execCommand({
      cmd: stage.cmd,
      cwd,
      env: { ...process.env, ...stage.env, STRATA_RUN_ID: id, STRATA_STAGE: stage.name },
      onOutput: (s, c) => this.hooks.onOutput?.(stage.name, s, c),
      stdin: this.opts.stdin,
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    });
    const ended = Date.now();

    let error: string | null = null;
    const interrupted = this.interrupted();
    if (interrupted) error = `interrupted by ${interrupted}`;
    else if (res.spawnError) error = `could not start the command: ${res.spawnError}`;
    else if (res.signal) error = `command killed by signal ${res.signal}`;
    else if (res.exitCode !== 0) error = `command exited with code ${res.exitCode}`;

    let outs: RunOut[] = stage.outs.map((o) => ({ path: o.path, id: '', type: o.type, kind: 'file', size: 0, cache: o.cache }));
    let outRows: IndexRow[] = [];
    if (!error) {
      const stored = await this.hasher.hash(cachedOuts.map((o) => o.path), { store: true });
      const plain = await this.hasher.hash(stage.outs.filter((o) => !o.cache).map((o) => o.path), { store: false });
      const missing: string[] = [];
      outs = stage.outs.map((o) => {
        const s = (o.cache ? stored : plain).get(o.path);
        if (!s) {
          missing.push(o.path);
          return { path: o.path, id: '', type: o.type, kind: 'file', size: 0, cache: o.cache };
        }
        if (o.cache) outRows.push(...s.rows);
        return runOut(o, s);
      });
      if (missing.length) {
        error = `the command succeeded but did not create ${missing.length === 1 ? 'output' : 'outputs'} ${missing.join(', ')}`;
        outs = outs.map((o) => ({ ...o, id: '', kind: 'file', size: 0 }));
        outRows = [];
      }
    }
    let checked: CheckResult[] = [];
    let checksRejected = false;
    if (!error && outRows.length > 0) {
      // Outputs that fail their error-level data checks are not recorded as versions.
      const spec = await readSpec(repo, new Map(), true);
      if (spec) {
        const produced = new Map(outRows.map((r) => [r.path, r]));
        const report = await checkFlat(repo, new Map([...repo.db.loadIndex(), ...produced]), { commit: null, parentFlat: new Map(), commitTime: Date.now(), spec, paths: [...produced.keys()] });
        checked = report.results;
        if (!report.ok) {
          checksRejected = true;
          error = checkFailedError(report, 'the outputs failed their checks').message;
          outs = outs.map((o) => ({ ...o, id: '', kind: 'file', size: 0 }));
          outRows = [];
        }
      }
    }

    if (error) {
      // Put the outputs back the way they were before the run.
      for (const o of cachedOuts) {
        const was = prior.get(o.path);
        if (was) this.hasher.learn(await replaceOutput(repo, o.path, was.rows, { own: true }));
        else await removePath(repo, o.path);
      }
    }

    const logId = hashBytes(res.log);
    await repo.store.put(logId, res.log);
    const rec: RunRecord = {
      id,
      stage: stage.name,
      status: error ? 'failed' : 'ok',
      ...recordBase(stage, input, code),
      deps,
      outs,
      started,
      ended,
      exitCode: res.exitCode,
      signal: res.signal,
      log: logId,
      cachedFrom: null,
      error,
    };
    await this.record(rec, error ? null : { outs: stage.outs.filter((o) => o.cache).map((o) => o.path), rows: outRows });
    // A FAIL/ABORT event names only outputs the command produced (those its checks rejected).
    if (error) await this.emit(interrupted ? 'ABORT' : 'FAIL', checksRejected ? rec : { ...rec, outs: [] }, ended, `${stage.name}: ${error}`, checked);
    else await this.emit('COMPLETE', rec, ended, undefined, checked);
    this.hooks.onStage?.({ stage: stage.name, phase: 'end', action: 'run', runId: id, status: rec.status });
    return rec;
  }

  /**
   * Restore `source`'s outputs (same signature) without running the command, and record a run with
   * status `cached`. `current`: the outputs' present state, to skip rewriting those already right.
   */
  async restore(stage: StageSpec, source: RunRecord, input: StageInput, current?: Map<string, PathState | null>): Promise<RunRecord> {
    const repo = this.repo;
    const id = uuidv7();
    this.hooks.onStage?.({ stage: stage.name, phase: 'start', action: 'restore', runId: id });
    const started = Date.now();
    const original = source.cachedFrom ?? source.id;
    const reused = { source, original };
    const outsOf = source.outs.map((o) => ({ ...o, type: stage.outs.find((s) => s.path === o.path)?.type ?? o.type }));
    const rows: IndexRow[] = [];
    // Check every output before touching any: declared by the stage, safe rows, safe on disk.
    await checkStagePaths(repo.root, stage);
    const plans: Array<{ out: RunOut; want: IndexRow[] }> = [];
    for (const o of source.outs) {
      if (!stage.outs.some((s) => s.path === o.path)) {
        throw new StrataError('PATH_OUTSIDE_WORKSPACE', `run ${source.id} restores ${o.path}, which stage ${stage.name} does not declare`, { hint: 'the run record is corrupt or crafted; run strata fsck' });
      }
      const want = await rowsOfOut(repo, o);
      checkRestoreRows(want, `output ${o.path}`);
      plans.push({ out: o, want });
    }
    for (const { out: o, want } of plans) {
      rows.push(...want);
      const now = current?.get(o.path);
      if (now && now.id === o.id && now.kind === o.kind) continue;
      this.hasher.learn(await replaceOutput(repo, o.path, want));
    }
    const code = await this.codeState();
    const rec: RunRecord = {
      id,
      stage: stage.name,
      status: 'cached',
      ...recordBase(stage, input, code),
      deps: input.deps,
      outs: outsOf,
      started,
      ended: Date.now(),
      exitCode: null,
      signal: null,
      log: null,
      cachedFrom: original,
      error: null,
    };
    await this.record(rec, { outs: source.outs.map((o) => o.path), rows });
    // A run of the same job that reused an earlier one (OpenLineage wants a START and an end per
    // run): the restored versions are its outputs, so backends move the datasets' current version.
    await this.emit('START', { ...rec, outs: outsOf.map((o) => ({ path: o.path, type: o.type })) }, started, undefined, undefined, reused);
    await this.emit('COMPLETE', rec, rec.ended, undefined, undefined, reused);
    this.hooks.onStage?.({ stage: stage.name, phase: 'end', action: 'restore', runId: id, status: 'cached' });
    return rec;
  }

  /**
   * Record a run for a stage whose outputs were produced elsewhere and are in the workspace now
   * (`strata import dvc`): status ok, not executed here (no exit code, no log), its outputs hashed,
   * stored and staged as a run's are. `from` says where it came from; the run counts as fetched
   * (not recorded by this repository) in every trust decision.
   */
  async adopt(stage: StageSpec, input: StageInput, from: string): Promise<RunRecord> {
    const repo = this.repo;
    await checkStagePaths(repo.root, stage);
    const started = Date.now();
    const stored = await this.hasher.hash(stage.outs.filter((o) => o.cache).map((o) => o.path), { store: true });
    const plain = await this.hasher.hash(stage.outs.filter((o) => !o.cache).map((o) => o.path), { store: false });
    const rows: IndexRow[] = [];
    const outs: RunOut[] = stage.outs.map((o) => {
      const s = (o.cache ? stored : plain).get(o.path);
      if (!s) throw new StrataError('PATH_NOT_FOUND', `stage ${stage.name}: output ${o.path} is not in the workspace`, { hint: 'the outputs of an imported stage must be in place before its run is recorded' });
      if (o.cache) rows.push(...s.rows);
      return runOut(o, s);
    });
    const code = await this.codeState();
    const rec: RunRecord = {
      id: uuidv7(),
      stage: stage.name,
      status: 'ok',
      ...recordBase(stage, input, code),
      deps: input.deps,
      outs,
      started,
      ended: Date.now(),
      exitCode: null,
      signal: null,
      log: null,
      cachedFrom: null,
      error: null,
    };
    await this.record(rec, { outs: stage.outs.filter((o) => o.cache).map((o) => o.path), rows }, from);
    return rec;
  }

  /**
   * Write the run object, then in one transaction: the run row, its lineage, the outputs staged in
   * the index (like `strata add`), and learned stat-cache rows (and, with `fetchedFrom`, the mark
   * that the run was not recorded here).
   */
  private async record(rec: RunRecord, staged: { outs: string[]; rows: IndexRow[] } | null, fetchedFrom?: string): Promise<void> {
    const repo = this.repo;
    const bytes = serializeRun(rec);
    const objectId = hashBytes(bytes);
    await repo.store.put(objectId, bytes);
    const trackedBefore = repo.db.trackedRoots();
    let tracked = trackedBefore;
    if (staged && staged.outs.length) tracked = outermost([...trackedBefore, ...staged.outs]);
    repo.db.tx(() => {
      insertRun(repo.db, rec, objectId, bytes.toString('utf8'));
      if (fetchedFrom !== undefined) markRunsFetched(repo.db, [rec.id], fetchedFrom);
      if (staged && staged.outs.length) {
        const index = repo.db.loadIndex();
        const keep = new Set(staged.rows.map((r) => r.path));
        const gone = [...index.keys()].filter((p) => staged.outs.some((o) => isUnder(p, o)) && !keep.has(p));
        repo.db.deleteIndex(gone);
        repo.db.upsertIndex(staged.rows);
        if (tracked.length !== trackedBefore.length || tracked.some((t, i) => t !== trackedBefore[i])) repo.db.setTrackedRoots(tracked);
      }
      repo.db.upsertStat(this.hasher.takeStatUpdates());
    });
    if (tracked !== trackedBefore) await syncGitignore(repo.root, tracked).catch(() => false);
  }
}

