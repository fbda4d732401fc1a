/**
 * `strata checkout --for MODEL_PATH|REF:PATH|RUN_ID [--into DIR] [--force]`: put back exactly what
 * a run read — its input data versions (from the object store), its parameters, and the code at
 * the recorded git commit with the recorded uncommitted changes re-applied — together with the
 * inputs of the runs upstream of it (the run that produced each input version, recursively).
 *
 * By default everything goes into a NEW folder (`./repro-<first 12 hex of the run id>`), which
 * becomes:
 *   - a shallow git repository holding just the recorded commit (when a code version was
 *     recorded), with the recorded code changes applied as uncommitted changes, and
 *   - a self-contained strata project (its own `.strata/` with copies of the objects it needs:
 *     sharing nothing with the original keeps a reproduction from ever touching the original's
 *     store, refs or run history, and the folder can be moved or archived as is), holding the
 *     chain's run records so `strata show RUN_ID` and lineage work there.
 * `--into .` restores into the current workspace instead (refusing to overwrite uncommitted
 * changes without --force; git's index and HEAD are not moved).
 *
 * Objects missing locally are fetched (hash-verified) from the default remote when one is
 * configured; otherwise OBJECT_MISSING lists what is missing.
 */
import * as fsp from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import { findGitRoot, readCodeState } from '../code/git.js';
import { applyCodeChanges, checkCodeChanges, checkoutCommitInto, hasGitCommit, parseCodeChanges, writeCommitFiles, type CodeChanges } from '../code/snapshot.js';
import { checkOnDisk, checkPathText, checkRestoreRows, filterRecordedEnv, isReservedName, safeRemove, safeWriteFile } from '../pipeline/safety.js';
import { StrataError, fromSystemError } from '../errors/index.js';
import type { IndexRow, StatRow } from '../meta/db.js';
import { findRun, getRun, insertRun, markRunsFetched, parseRun, runFetchedFrom, type RunDep, type RunRecord } from '../meta/runs.js';
import { canonicalJson, parseManifest, parseTree, type Id } from '../model/index.js';
import { WorkspaceHasher } from '../pipeline/executor.js';
import { paramName, readParams } from '../pipeline/spec.js';
import { defaultRemote, getRemote, listRemotes } from '../remote/config.js';
import { openRemote, type RemoteHandle } from '../remote/open.js';
import { RemoteReader } from '../remote/reader.js';
import { initRepository, Repository } from '../repo/index.js';
import { flattenTree } from '../repo/tree.js';
import { computeStatus, materialize } from '../repo/worktree.js';
import { checkStoredPath, isUnder, outermost } from '../workspace/paths.js';
import { commitIndex } from './commit.js';
import type { OpOptions } from './context.js';
import { resolveTarget } from './lineage.js';

export interface CheckoutForOptions extends OpOptions {
  /** Folder the user is in (absolute): `into` and the target path are relative to it; default the repository root. */
  cwd?: string;
  /** MODEL_PATH (workspace / HEAD version), REF:PATH, or a run id (unique prefix). */
  target: string;
  /** Folder to restore into (relative to cwd); default ./repro-<run id 12>; '.' = this workspace. */
  into?: string;
  /** With --into .: overwrite uncommitted changes. */
  force?: boolean;
  /** Also restore the inputs of the runs upstream of the target (default true). */
  upstream?: boolean;
  /** Remote to fetch missing objects from (default: origin / the only remote, if any). */
  remote?: string;
  /**
   * Called once the chain is resolved and checked, before anything is written; throw to stop
   * (reproduce asks here before running commands that came from someone else).
   */
  approve?(plan: { chain: RunRecord[]; foreign: ForeignRun[] }): Promise<void>;
}

/** A run of the chain that was not recorded by this repository (it came with a fetch/pull/clone). */
export interface ForeignRun {
  run: string;
  stage: string;
  from: string;
}

export interface RestoredData {
  path: string;
  id: Id;
  kind: 'file' | 'dir';
  size: number;
  files: number;
  /** store: written from the object store; code: already right in the restored code. */
  from: 'store' | 'code';
}

export interface ParamCheck {
  run: string;
  stage: string;
  name: string;
  recorded: unknown;
  /** undefined when the key is missing. */
  found: unknown;
}

export interface CheckoutForResult {
  /** What the target named. */
  target: { kind: 'run' | 'version'; path?: string; id?: Id; from?: string };
  /** The run that produced the target (a cached run is resolved to the run whose outputs it restored). */
  run: RunRecord;
  /** The runs restored for, upstream first, the target's run last. */
  chain: RunRecord[];
  /** The folder written (the copy of the git work tree, or the project). */
  dir: string;
  /** The strata project inside `dir` (differs from dir when the project is a subfolder of its git repository). */
  projectRoot: string;
  inPlace: boolean;
  code: {
    commit: string | null;
    branch: string | null;
    dirty: boolean;
    diff: Id | null;
    /** git: checked out in the new folder; in-place: written over this work tree; none: no code version recorded. */
    restored: 'git' | 'in-place' | 'none';
    files: number;
    /** Paths of recorded uncommitted changes re-applied. */
    applied: string[];
    /** Changes that were too large to be recorded (not re-applied). */
    skipped: CodeChanges['skipped'];
    /** Upstream runs recorded at another code version. */
    otherVersions: Array<{ run: string; stage: string; commit: string | null; dirty: boolean }>;
  };
  data: RestoredData[];
  params: { checked: number; mismatches: ParamCheck[]; written: string[] };
  /** Inputs whose restored content still differs from what the run read. */
  inputMismatches: Array<{ run: string; stage: string; path: string; recorded: Id; found: Id | null }>;
  fetched: { remote: string; objects: number; bytes: number } | null;
  /** Shell commands that re-run the chain in the restored folder, in order. */
  commands: string[];
  /** Runs of the chain recorded elsewhere: read their commands before running them. */
  foreign: ForeignRun[];
  warnings: string[];
}

/**
 * Refuse a run record whose paths could escape the folder or reach .git/.strata (deps, outputs,
 * wdir, params files), before anything is written. Recorded runs come from remotes too.
 */
function checkRunPaths(r: RunRecord): void {
  const what = (x: string) => `run ${r.id} (${r.stage}): ${x}`;
  for (const d of r.deps) checkPathText(d.path, what(`dep ${d.path}`));
  for (const o of r.outs) checkPathText(o.path, what(`output ${o.path}`));
  checkPathText(typeof r.wdir === 'string' ? r.wdir : '', what(`wdir ${r.wdir}`), { allowRoot: true });
  for (const ref of r.paramRefs) checkPathText(ref.file, what(`params file ${ref.file}`));
}

/** The files of an input version to restore: safe names, all under the input, no link outside (runs from elsewhere). */
function checkInputRows(path: string, rows: IndexRow[], foreign: boolean): void {
  checkRestoreRows(rows, `input ${path}`, { linksOutside: !foreign });
  for (const r of rows) {
    if (r.path !== path && !r.path.startsWith(path + '/')) throw new StrataError('PATH_OUTSIDE_WORKSPACE', `input ${path}: the stored version names ${r.path}`, { hint: 'the run record is corrupt or crafted' });
  }
}

/** Runs of `chain` that came from elsewhere. */
function foreignRuns(repo: Repository, chain: RunRecord[]): ForeignRun[] {
  const out: ForeignRun[] = [];
  for (const r of chain) {
    const from = runFetchedFrom(repo.db, r.id);
    if (from !== null) out.push({ run: r.id, stage: r.stage, from });
  }
  return out;
}

const RUN_ID_LIKE = /^[0-9a-f]{4,}-[0-9a-f-]*$|^[0-9a-f]{32}$/i;

/** The run that produced `path@id`: the newest executed one, else a cached one (resolved to its source). */
function producerOf(repo: Repository, path: string, id: Id): RunRecord | null {
  const rows = repo.db.producersOfVersion(path, id);
  if (rows.length === 0) return null;
  const ok = rows.find((r) => r.status === 'ok') ?? rows[0]!;
  return resolveCached(repo, parseRun(ok.record));
}

/** A cached run stands for the run whose outputs it restored (same signature: same inputs). */
function resolveCached(repo: Repository, run: RunRecord): RunRecord {
  if (run.status !== 'cached' || !run.cachedFrom) return normalize(run);
  const src = findRun(repo.db, run.cachedFrom);
  return src ? normalize(src) : normalize(run);
}

function normalize(r: RunRecord): RunRecord {
  return { ...r, env: r.env ?? {}, params: r.params ?? {}, paramRefs: r.paramRefs ?? [], deps: r.deps ?? [], outs: r.outs ?? [] };
}

/** The target's run and the runs upstream of it, upstream first. */
function runChain(repo: Repository, run: RunRecord, upstream: boolean): RunRecord[] {
  const out: RunRecord[] = [];
  const seen = new Set<string>();
  const visit = (r: RunRecord) => {
    if (seen.has(r.id)) return;
    seen.add(r.id);
    if (upstream) {
      for (const d of r.deps) {
        const p = producerOf(repo, d.path, d.id);
        if (p && !seen.has(p.id)) visit(p);
      }
    }
    out.push(r);
  };
  visit(run);
  return out;
}

/** Resolve MODEL_PATH | REF:PATH | RUN_ID to the run to restore for. */
async function resolveRunTarget(repo: Repository, cwd: string, target: string): Promise<{ target: CheckoutForResult['target']; run: RunRecord }> {
  const t = target.trim();
  if (!t) throw new StrataError('INVALID_ARGUMENT', 'name a model or data path, REF:PATH, or a run id', { hint: 'e.g. strata checkout --for models/model.json' });
  if (RUN_ID_LIKE.test(t)) {
    const r = findRun(repo.db, t);
    if (r) return { target: { kind: 'run', id: r.id }, run: resolveCached(repo, r) };
    if (t.includes('-')) getRun(repo.db, t); // throws RUN_NOT_FOUND
  }
  const lt = await resolveTarget(repo, cwd, t);
  if (lt.kind === 'run') return { target: { kind: 'run', id: lt.id }, run: resolveCached(repo, getRun(repo.db, lt.id)) };
  if (lt.kind === 'commit') {
    throw new StrataError('INVALID_ARGUMENT', `${t} is a commit, not a model, dataset or run`, { hint: 'name what a run produced: strata checkout --for models/model.json (or REF:PATH, or a run id from strata runs)' });
  }
  const run = producerOf(repo, lt.path, lt.id);
  if (!run) {
    throw new StrataError('RUN_NOT_FOUND', `no recorded run produced ${lt.path}@${lt.id.slice(0, 12)} (the ${lt.from === 'workspace' ? 'workspace' : lt.from === 'HEAD' ? 'HEAD' : lt.from === 'ref' ? lt.ref : 'latest known'} version)`, {
      hint: `see what produced which version with strata lineage ${lt.path}; name another version with REF:PATH, or a run id`,
    });
  }
  return { target: { kind: 'version', path: lt.path, id: lt.id, from: lt.from }, run };
}

// ---------------------------------------------------------------- objects

type Want = { id: Id; kind: 'blob' | 'tree' | 'manifest' | 'codechanges'; path: string };

/** Expand wanted roots to every object they need, fetching missing ones from a remote when possible. */
class ObjectGatherer {
  readonly all = new Map<Id, Want>();
  fetched: { remote: string; objects: number; bytes: number } | null = null;
  private remote: RemoteHandle | null | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly remoteName: string | undefined,
  ) {}

  private async openRemote(): Promise<RemoteHandle | null> {
    if (this.remote !== undefined) return this.remote;
    let name = this.remoteName;
    if (!name) {
      if (listRemotes(this.repo.db).length === 0) return (this.remote = null);
      name = defaultRemote(this.repo.db);
    }
    this.remote = await openRemote(getRemote(this.repo.db, name));
    return this.remote;
  }

  async close(): Promise<void> {
    if (this.remote) await this.remote.close();
  }

  private async bytesOf(w: Want): Promise<Buffer> {
    if (w.kind === 'tree') {
      const raw = this.repo.db.getTreeRaw(w.id);
      if (raw) return Buffer.from(raw);
    }
    return this.repo.store.getBytes(w.id, { verify: w.kind !== 'blob' });
  }

  private children(w: Want, b: Buffer): Want[] {
    if (w.kind === 'tree') {
      return parseTree(b, { id: w.id }).entries.map((e) => {
        const p = `${w.path}/${e.name}`;
        return e.type === 'dir' ? { id: e.id, kind: 'tree' as const, path: p } : e.type === 'file' && e.chunks ? { id: e.chunks, kind: 'manifest' as const, path: p } : { id: e.id, kind: 'blob' as const, path: p };
      });
    }
    if (w.kind === 'manifest') return parseManifest(b, { id: w.id }).chunks.map(([cid]) => ({ id: cid, kind: 'blob' as const, path: w.path }));
    if (w.kind === 'codechanges') return parseCodeChanges(b, { id: w.id }).files.filter((f) => f.id).map((f) => ({ id: f.id!, kind: 'blob' as const, path: f.path }));
    return [];
  }

  /** Make every object of `roots` local (downloading what a remote has); throws OBJECT_MISSING otherwise. */
  async gather(roots: Want[]): Promise<void> {
    let level = roots;
    const missing: Want[] = [];
    while (level.length) {
      const fresh = level.filter((w) => !this.all.has(w.id));
      for (const w of fresh) this.all.set(w.id, w);
      const have = await this.repo.store.hasMany(fresh.map((w) => w.id));
      const next: Want[] = [];
      const absent: Want[] = [];
      for (const w of fresh) {
        if (have.has(w.id) || (w.kind === 'tree' && this.repo.db.getTreeRaw(w.id))) {
          if (w.kind !== 'blob') next.push(...this.children(w, await this.bytesOf(w)));
        } else absent.push(w);
      }
      if (absent.length) {
        const remote = await this.openRemote();
        if (!remote) missing.push(...absent);
        else {
          const there = await remote.store.hasMany(absent.map((w) => w.id));
          for (const w of absent) if (!there.has(w.id)) missing.push(w);
          const get = absent.filter((w) => there.has(w.id));
          if (get.length) {
            const byId = new Map(get.map((w) => [w.id, w]));
            const batch = this.repo.store.batch();
            let objects = 0;
            let bytes = 0;
            try {
              await new RemoteReader(remote.store).fetch(byId.keys(), {
                onObject: async (id, b) => {
                  objects++;
                  bytes += b.length;
                  await batch.add(id, b);
                  const w = byId.get(id)!;
                  if (w.kind !== 'blob') next.push(...this.children(w, b));
                },
              });
              await batch.finish();
            } catch (e) {
              await batch.abort().catch(() => undefined);
              throw e;
            }
            this.fetched = { remote: remote.name, objects: (this.fetched?.objects ?? 0) + objects, bytes: (this.fetched?.bytes ?? 0) + bytes };
          }
        }
      }
      level = next;
    }
    if (missing.length) {
      const paths = [...new Set(missing.map((m) => m.path))];
      throw new StrataError('OBJECT_MISSING', `${missing.length} object(s) the run needs are not in the local store${this.remote ? ` nor on remote ${this.remote.name}` : ''}: ${paths.slice(0, 8).join(', ')}${paths.length > 8 ? ` and ${paths.length - 8} more` : ''}`, {
        hint: this.remote
          ? 'push them from a repository that has them (strata push), then retry'
          : 'configure the remote that has them (strata remote add origin URL) so they are fetched, or run this where the data is',
        details: { missing: missing.map((m) => ({ path: m.path, id: m.id, kind: m.kind })) },
      });
    }
  }
}

/** Object roots of a dep version. */
function depWant(d: RunDep): Want {
  return d.kind === 'dir' ? { id: d.id, kind: 'tree', path: d.path } : d.chunks ? { id: d.chunks, kind: 'manifest', path: d.path } : { id: d.id, kind: 'blob', path: d.path };
}

/** Index rows (project paths) of a dep version, read from `repo`. */
async function depRows(repo: Repository, d: RunDep): Promise<IndexRow[]> {
  if (d.kind === 'dir') {
    const flat = await flattenTree(repo, d.id);
    return [...flat.values()].map((r) => ({ ...r, path: `${d.path}/${r.path}` }));
  }
  const size = d.chunks ? parseManifest(await repo.store.getBytes(d.chunks), { id: d.chunks }).size : ((await repo.store.stat(d.id))?.size ?? 0);
  return [{ path: d.path, type: 'file', exec: false, size, id: d.id, chunks: d.chunks ?? null, target: null }];
}

// ---------------------------------------------------------------- params

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/**
 * Check the chain's recorded parameter values against the params files in `root`; params files
 * that do not exist there are written from the recorded values.
 */
async function checkParams(root: string, chain: RunRecord[], write: boolean): Promise<CheckoutForResult['params']> {
  const written: string[] = [];
  const mismatches: ParamCheck[] = [];
  let checked = 0;
  if (write) {
    const missingFiles = new Map<string, Record<string, unknown>>();
    for (const r of chain) {
      for (const ref of r.paramRefs) {
        const exists = missingFiles.has(ref.file) || (await fsp.lstat(join(root, ref.file)).then(() => true, () => false));
        if (exists && !missingFiles.has(ref.file)) continue;
        if (!missingFiles.has(ref.file)) missingFiles.set(ref.file, {});
        setPath(missingFiles.get(ref.file)!, ref.key, r.params[paramName(ref)]);
      }
    }
    for (const [file, values] of missingFiles) {
      checkStoredPath(file);
      const text = /\.json$/i.test(file) ? JSON.stringify(values, null, 2) + '\n' : `# written by strata checkout --for from the values the run recorded\n${yamlStringify(values)}`;
      await safeWriteFile(root, file, Buffer.from(text), '100644', `params file ${file}`);
      written.push(file);
    }
  }
  for (const r of chain) {
    for (const ref of r.paramRefs) {
      checked++;
      const name = paramName(ref);
      let found: unknown;
      try {
        found = (await readParams(root, [ref]))[name];
      } catch {
        found = undefined;
      }
      const rec = r.params[name];
      if (found === undefined || canonicalJson(found) !== canonicalJson(rec ?? null)) mismatches.push({ run: r.id, stage: r.stage, name, recorded: rec, found });
    }
  }
  return { checked, mismatches, written };
}

// ---------------------------------------------------------------- the operation

function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Shell commands that re-run `chain` from `base` (the folder the user cds into). The recorded
 * environment of runs from elsewhere (`foreign`) is shown filtered, as reproduce applies it.
 */
function rerunCommands(chain: RunRecord[], base: string, foreign: ReadonlySet<string> = new Set()): string[] {
  return chain.map((r) => {
    const env = Object.entries(filterRecordedEnv(r.env, foreign.has(r.id)).env)
      .map(([k, v]) => `${k}=${shQuote(v)} `)
      .join('');
    const dir = r.wdir === '.' ? base : join(base, r.wdir);
    return `(cd ${shQuote(dir)} && ${env}${r.cmd})`;
  });
}

async function emptyOrAbsent(dir: string): Promise<boolean> {
  try {
    const st = await fsp.stat(dir);
    if (!st.isDirectory()) return false;
    return (await fsp.readdir(dir)).length === 0;
  } catch {
    return true;
  }
}

export async function checkoutFor(repo: Repository, opts: CheckoutForOptions): Promise<CheckoutForResult> {
  return repo.withWriteLock('checkout', () => checkoutForIn(repo, opts));
}

/** The operation on an open source repository (holding its write lock). */
async function checkoutForIn(repo: Repository, opts: CheckoutForOptions): Promise<CheckoutForResult> {
  const ctx = { cwd: opts.cwd ?? repo.root, progress: opts.progress };
  const { target, run } = await resolveRunTarget(repo, ctx.cwd, opts.target);
  const chain = runChain(repo, run, opts.upstream !== false);
  for (const r of chain) checkRunPaths(r);
  const foreign = foreignRuns(repo, chain);
  const warnings: string[] = [];
  if (run.status === 'failed') warnings.push(`run ${run.id} failed (${run.error ?? 'non-zero exit'}); restoring what it read anyway`);

  const gitRoot = await findGitRoot(repo.root);
  const code = run.code;
  const hasCode = !!(code && code.commit);
  const prefix = hasCode && gitRoot ? relative(gitRoot, repo.root).split('\\').join('/') : '';

  const into = opts.into ?? `repro-${run.id.replace(/-/g, '').slice(0, 12)}`;
  const dirAbs = resolve(ctx.cwd, into);
  for (const base of [gitRoot, repo.root]) {
    if (!base) continue;
    const rel = relative(base, dirAbs).split('\\').join('/');
    if (rel && !rel.startsWith('..') && rel.split('/').some(isReservedName)) {
      throw new StrataError('PATH_OUTSIDE_WORKSPACE', `--into ${into} is inside .git or .strata`, { hint: 'name a new folder of your own with --into DIR' });
    }
  }
  const inPlace = dirAbs === repo.root || (gitRoot !== null && dirAbs === gitRoot) || dirAbs === resolve(ctx.cwd);
  if (opts.force && !inPlace) {
    throw new StrataError('INVALID_ARGUMENT', '--force only applies to --into . (the current workspace)', { hint: 'a new folder must be empty or absent: pick another --into DIR' });
  }

  // Objects: the code changes, every input version of the chain (fetched from a remote if needed).
  const gatherer = new ObjectGatherer(repo, opts.remote);
  let changes: CodeChanges | null = null;
  try {
    const roots: Want[] = [];
    if (code?.diff) roots.push({ id: code.diff, kind: 'codechanges', path: '(uncommitted code changes)' });
    for (const r of chain) for (const d of r.deps) roots.push(depWant(d));
    await gatherer.gather(roots);
  } finally {
    await gatherer.close();
  }
  if (code?.diff) {
    changes = parseCodeChanges(await repo.store.getBytes(code.diff, { verify: true }), { id: code.diff });
    // Recorded code changes never touch .git, never leave the folder, never plant an outside link.
    await checkCodeChanges(changes, (id) => repo.store.getBytes(id, { verify: true }));
  }
  if (code?.dirty && !code.diff) warnings.push('the run was made on uncommitted code changes that were not recorded (an older run): the code restored is the commit without them');
  if (hasCode && !gitRoot) throw new StrataError('PATH_NOT_FOUND', `the run recorded git commit ${code!.commit} but ${repo.root} is not in a git repository`, { hint: 'run this inside a clone of the code repository' });
  if (hasCode && !(await hasGitCommit(gitRoot!, code!.commit!, repo.db))) {
    throw new StrataError('OBJECT_MISSING', `git commit ${code!.commit} (the code the run used) is not in the git repository at ${gitRoot}`, {
      hint: `fetch it (git fetch --all${code!.remote ? `, from ${code!.remote}` : ''}), then retry`,
    });
  }
  const otherVersions = chain
    .filter((r) => r.id !== run.id && (r.code?.commit ?? null) !== (code?.commit ?? null))
    .map((r) => ({ run: r.id, stage: r.stage, commit: r.code?.commit ?? null, dirty: !!r.code?.dirty }));
  for (const o of otherVersions) warnings.push(`upstream run ${o.run} (${o.stage}) was recorded at code ${o.commit ? o.commit.slice(0, 12) : '(none)'}; the code restored is ${code?.commit?.slice(0, 12) ?? '(none)'} (its code inputs are checked below)`);

  // Versions to restore: path -> dep (the target's run wins when two runs read different versions).
  const wanted = new Map<string, { dep: RunDep; run: RunRecord }>();
  for (const r of chain) for (const d of r.deps) if (!wanted.has(d.path) || r.id === run.id) wanted.set(d.path, { dep: d, run: r });
  if (foreign.length) warnings.push(`run${foreign.length > 1 ? 's' : ''} ${foreign.map((f) => `${f.run} (${f.stage})`).join(', ')} came from ${foreign[0]!.from}, not recorded here: read the commands before running them`);
  await opts.approve?.({ chain, foreign });

  if (inPlace) return restoreInPlace(repo, ctx, { target, run, chain, changes, gitRoot, prefix, wanted, otherVersions, warnings, fetched: gatherer.fetched, force: !!opts.force, foreign });

  if (!(await emptyOrAbsent(dirAbs))) {
    throw new StrataError('INVALID_ARGUMENT', `${dirAbs} exists and is not empty`, { hint: 'name a new folder with --into DIR (or remove that one); --into . restores into this workspace' });
  }
  const createdDir = !(await fsp.stat(dirAbs).then(() => true, () => false));
  const projectRoot = prefix ? join(dirAbs, prefix) : dirAbs;
  let newRepo: Repository | null = null;
  try {
    await fsp.mkdir(dirAbs, { recursive: true });
    // Code.
    let codeFiles = 0;
    let applied: string[] = [];
    if (hasCode) {
      const restored = await checkoutCommitInto(gitRoot!, code!.commit!, dirAbs, code!.branch ?? 'main', repo.db);
      codeFiles = restored.files;
      warnings.push(...restored.warnings);
      if (changes) applied = await applyCodeChanges(dirAbs, changes, (id) => repo.store.getBytes(id, { verify: true }), { stageAdded: true });
    }
    await fsp.mkdir(projectRoot, { recursive: true });

    // A strata project with copies of the objects it needs and the chain's runs.
    newRepo = await initRepository(projectRoot);
    const batch = newRepo.store.batch();
    try {
      for (const id of gatherer.all.keys()) {
        const w = gatherer.all.get(id)!;
        const b = w.kind === 'tree' && repo.db.getTreeRaw(id) ? Buffer.from(repo.db.getTreeRaw(id)!) : await repo.store.getBytes(id);
        await batch.add(id, b);
        if (w.kind === 'tree') newRepo.db.putTree(id, b);
      }
      for (const r of chain) {
        const row = repo.db.getRunRow(r.id);
        for (const id of [row?.object, row?.log]) if (id && (await repo.store.has(id))) await batch.add(id, await repo.store.getBytes(id));
      }
      await batch.finish();
    } catch (e) {
      await batch.abort().catch(() => undefined);
      throw e;
    }

    // Data: every wanted version not already right in the restored code.
    const hasher = new WorkspaceHasher(newRepo);
    const now = await hasher.hash([...wanted.keys()], { store: false });
    const data: RestoredData[] = [];
    const write: IndexRow[] = [];
    const dataPaths: string[] = [];
    for (const [path, { dep, run: r }] of wanted) {
      const rows = await depRows(newRepo, dep);
      checkInputRows(path, rows, foreign.some((f) => f.run === r.id));
      const size = rows.reduce((a, r) => a + r.size, 0);
      if (now.get(path)?.id === dep.id) {
        data.push({ path, id: dep.id, kind: dep.kind, size, files: rows.length, from: 'code' });
        continue;
      }
      await safeRemove(projectRoot, path, `input ${path}`);
      write.push(...rows);
      dataPaths.push(path);
      data.push({ path, id: dep.id, kind: dep.kind, size, files: rows.length, from: 'store' });
    }
    const mat = await materialize(newRepo, { remove: [], write });
    const tracked = outermost([...dataPaths, ...chain.flatMap((r) => r.outs.filter((o) => o.cache).map((o) => o.path))]);
    const repoNew = newRepo;
    repoNew.db.tx(() => {
      repoNew.db.upsertIndex(write);
      repoNew.db.upsertStat(mat.statRows as StatRow[]);
      repoNew.db.setTrackedRoots(tracked);
      for (const r of chain) {
        const row = repo.db.getRunRow(r.id);
        if (row && !findRun(repoNew.db, r.id)) insertRun(repoNew.db, parseRun(row.record), row.object, row.record);
      }
      for (const f of foreign) markRunsFetched(repoNew.db, [f.run], f.from);
    });

    const params = await checkParams(projectRoot, chain, true);
    const inputMismatches = await checkInputs(newRepo, chain);
    // Commit the restored inputs in the new project, so its status is clean and `strata diff`
    // there shows what a re-run changed.
    if (write.length) await commitIndex(newRepo, `inputs of run ${run.id} (${run.stage}), restored by strata checkout --for`, { allowEmpty: true, meta: { reproduces: run.id } });
    const rel = relative(ctx.cwd, projectRoot) || '.';
    return {
      target,
      run,
      chain,
      dir: dirAbs,
      projectRoot,
      inPlace: false,
      code: {
        commit: code?.commit ?? null,
        branch: code?.branch ?? null,
        dirty: !!code?.dirty,
        diff: code?.diff ?? null,
        restored: hasCode ? 'git' : 'none',
        files: codeFiles,
        applied,
        skipped: changes?.skipped ?? [],
        otherVersions,
      },
      data,
      params,
      inputMismatches,
      fetched: gatherer.fetched,
      commands: rerunCommands(chain, rel, new Set(foreign.map((f) => f.run))),
      foreign,
      warnings,
    };
  } catch (e) {
    // No partial state: remove what was created.
    if (newRepo) await newRepo.close().catch(() => undefined);
    newRepo = null;
    if (createdDir) await fsp.rm(dirAbs, { recursive: true, force: true }).catch(() => undefined);
    else await emptyDir(dirAbs);
    throw e instanceof StrataError ? e : fromSystemError(e, dirAbs);
  } finally {
    if (newRepo) await newRepo.close();
  }
}

async function emptyDir(dir: string): Promise<void> {
  for (const n of await fsp.readdir(dir).catch(() => [] as string[])) await fsp.rm(join(dir, n), { recursive: true, force: true }).catch(() => undefined);
}

/** Inputs of the chain whose content in `repo`'s workspace differs from the recorded version. */
async function checkInputs(repo: Repository, chain: RunRecord[]): Promise<CheckoutForResult['inputMismatches']> {
  const paths = [...new Set(chain.flatMap((r) => r.deps.map((d) => d.path)))];
  const states = await new WorkspaceHasher(repo).hash(paths, { store: false });
  const out: CheckoutForResult['inputMismatches'] = [];
  for (const r of chain) for (const d of r.deps) if (states.get(d.path)?.id !== d.id) out.push({ run: r.id, stage: r.stage, path: d.path, recorded: d.id, found: states.get(d.path)?.id ?? null });
  // An input written by an upstream run of the chain may legitimately differ only if that run's
  // recorded version differs (it does not: versions come from lineage), so every entry is real.
  return out;
}

async function restoreInPlace(
  repo: Repository,
  ctx: { cwd: string; progress?: OpOptions['progress'] },
  s: {
    target: CheckoutForResult['target'];
    run: RunRecord;
    chain: RunRecord[];
    changes: CodeChanges | null;
    gitRoot: string | null;
    prefix: string;
    wanted: Map<string, { dep: RunDep; run: RunRecord }>;
    otherVersions: CheckoutForResult['code']['otherVersions'];
    warnings: string[];
    fetched: CheckoutForResult['fetched'];
    force: boolean;
    foreign: ForeignRun[];
  },
): Promise<CheckoutForResult> {
  const { run } = s;
  const code = run.code;
  const hasCode = !!(code && code.commit && s.gitRoot);
  // What would be overwritten: uncommitted code changes, uncommitted data changes at the inputs.
  if (!s.force) {
    const risky: string[] = [];
    if (hasCode) {
      const cs = await readCodeState(repo.root, { config: repo.db });
      if (cs.dirty) risky.push('(uncommitted changes to tracked code files)');
    }
    const st = await computeStatus(repo, { paths: [...s.wanted.keys()], progress: ctx.progress });
    const dataPaths = [...s.wanted.keys()];
    for (const p of [...st.unstaged.map((x) => x.path), ...st.staged.map((x) => x.path)]) if (dataPaths.some((d) => isUnder(p, d))) risky.push(p);
    if (risky.length) {
      throw new StrataError('UNCOMMITTED_CHANGES', `uncommitted changes would be overwritten: ${risky.slice(0, 5).join(', ')}${risky.length > 5 ? ` and ${risky.length - 5} more` : ''}`, {
        hint: 'commit them (git commit / strata commit), restore into a new folder (--into DIR), or use --force to discard them',
        details: { paths: risky },
      });
    }
  }
  // Nothing is written until every input path is known to be safe to replace.
  for (const [path, { dep, run: r }] of s.wanted) {
    await checkOnDisk(repo.root, path, `input ${path}`, { allowFinalLink: true });
    checkInputRows(path, await depRows(repo, dep), s.foreign.some((f) => f.run === r.id));
  }
  let codeFiles = 0;
  let applied: string[] = [];
  if (hasCode) {
    const r = await writeCommitFiles(s.gitRoot!, code!.commit!, repo.db);
    codeFiles = r.files;
    s.warnings.push(...r.warnings);
    if (s.changes) applied = await applyCodeChanges(s.gitRoot!, s.changes, (id) => repo.store.getBytes(id, { verify: true }));
  }
  const hasher = new WorkspaceHasher(repo);
  const now = await hasher.hash([...s.wanted.keys()], { store: false });
  const data: RestoredData[] = [];
  const write: IndexRow[] = [];
  for (const [path, { dep }] of s.wanted) {
    const rows = await depRows(repo, dep);
    const size = rows.reduce((a, r) => a + r.size, 0);
    if (now.get(path)?.id === dep.id) {
      data.push({ path, id: dep.id, kind: dep.kind, size, files: rows.length, from: 'code' });
      continue;
    }
    checkStoredPath(path);
    await safeRemove(repo.root, path, `input ${path}`);
    write.push(...rows);
    data.push({ path, id: dep.id, kind: dep.kind, size, files: rows.length, from: 'store' });
  }
  const mat = await materialize(repo, { remove: [], write }, { progress: ctx.progress });
  repo.db.tx(() => repo.db.upsertStat(mat.statRows));
  const params = await checkParams(repo.root, s.chain, false);
  const inputMismatches = await checkInputs(repo, s.chain);
  return {
    target: s.target,
    run,
    chain: s.chain,
    dir: repo.root,
    projectRoot: repo.root,
    inPlace: true,
    code: {
      commit: code?.commit ?? null,
      branch: code?.branch ?? null,
      dirty: !!code?.dirty,
      diff: code?.diff ?? null,
      restored: hasCode ? 'in-place' : 'none',
      files: codeFiles,
      applied,
      skipped: s.changes?.skipped ?? [],
      otherVersions: s.otherVersions,
    },
    data,
    params,
    inputMismatches,
    fetched: s.fetched,
    commands: rerunCommands(s.chain, relative(ctx.cwd, repo.root) || '.', new Set(s.foreign.map((f) => f.run))),
    foreign: s.foreign,
    warnings: s.warnings,
  };
}
