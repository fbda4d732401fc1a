/**
 * `strata import dvc [PATH]`: bring a DVC project over. Reads dvc.yaml, dvc.lock and the `.dvc`
 * files (core/dvc/project.ts), checks every file the import needs against its DVC md5 (from the
 * DVC cache, a local-folder DVC remote, or the workspace), and only then:
 *  1. puts the data into the workspace through the safe writer (from the object store);
 *  2. writes the equivalent strata.yaml;
 *  3. stages the data and, for each stage DVC itself considers up to date (dvc.lock matches its
 *     command, deps, params and outs), records a run with the signature `strata repro` computes,
 *     so repro finds it up to date without running it;
 *  4. commits the data as one commit.
 * A missing or corrupt object stops the import before anything is written. What has no Strata
 * equivalent is returned in `untranslated`, never dropped silently.
 */
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { StrataError } from '../errors/index.js';
import { hashBytes, hashFile } from '../hash/index.js';
import { PACK_OBJECT_MAX } from '../store/types.js';
import type { IndexRow } from '../meta/db.js';
import { canonicalJson } from '../model/index.js';
import { StageRunner } from '../pipeline/executor.js';
import { stageSignature } from '../pipeline/signature.js';
import { loadPipeline, paramName, parsePipeline, PIPELINE_FILE, readParams, type StageSpec } from '../pipeline/spec.js';
import type { Repository } from '../repo/index.js';
import { materialize, saveStatUpdates } from '../repo/worktree.js';
import { checkStoredPath, outermost } from '../workspace/paths.js';
import { graphOf } from './repro.js';
import { readDvcProject, type DvcHashed, type DvcLockStage, type DvcStage, type Untranslated } from '../dvc/project.js';
import { toStrataYaml } from '../dvc/translate.js';
import { dirMd5, fileMatches, findObject, md5OfFile, objectDirs, parseDirObject, S3ObjectFetcher, type DvcObjectDir } from '../dvc/objects.js';
import { commitIndex } from './commit.js';
import { stagePaths } from './add.js';
import type { OpOptions } from './context.js';

export interface ImportDvcOptions extends OpOptions {
  /** The DVC project folder: absolute, or relative to the repository root (default: the root). */
  path?: string;
  /** The DVC remote to read objects the cache lacks from (default: DVC's core.remote). */
  remote?: string;
  /** Check and report only; write nothing. */
  dryRun?: boolean;
  /** Replace an existing strata.yaml. */
  force?: boolean;
  message?: string;
}

export interface ImportedStage {
  /** DVC's name (`train@uk`). */
  dvc: string;
  /** The stage's name in strata.yaml (`train-uk`). */
  stage: string;
  /** up-to-date: DVC's lock matches, a run was recorded; stale: strata repro will run it. */
  state: 'up-to-date' | 'stale';
  reasons: string[];
  runId?: string;
}

export interface ImportDvcResult {
  dryRun: boolean;
  /** The DVC project, relative to the repository root ('.' = the root). */
  source: string;
  /** DVC files read. */
  read: string[];
  /** strata.yaml written (false in a dry run or with no dvc.yaml). */
  pipelineWritten: boolean;
  stages: ImportedStage[];
  data: { paths: string[]; files: number; bytes: number; from: Record<string, number> };
  commit: string | null;
  untranslated: Untranslated[];
}

/** One file to import: where it goes, its DVC hash, and where its bytes are. */
interface Planned {
  path: string;
  md5: string;
  file: string;
  from: string;
  size: number;
}

const joinCmd = (c: string | string[]) => (Array.isArray(c) ? c.join(' && ') : c);

/** Files under a folder of the workspace (regular files only; relative POSIX paths). */
async function walkFiles(abs: string, rel = '', out: string[] = []): Promise<string[]> {
  for (const e of await fsp.readdir(join(abs, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) await walkFiles(abs, p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** DVC's md5 of a workspace path now (file or directory), or null when it is missing. */
async function workspaceMd5(abs: string, legacy: boolean): Promise<string | null> {
  const st = await fsp.lstat(abs).catch(() => null);
  if (!st) return null;
  if (st.isFile()) {
    const h = await md5OfFile(abs, legacy);
    return h.unix ?? h.raw;
  }
  if (!st.isDirectory()) return null;
  const entries: Array<{ relpath: string; md5: string }> = [];
  for (const f of await walkFiles(abs)) {
    const h = await md5OfFile(join(abs, f), legacy);
    entries.push({ relpath: f, md5: h.unix ?? h.raw });
  }
  return dirMd5(entries);
}

const sameValue = (a: unknown, b: unknown) => {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
};

export async function importDvc(repo: Repository, opts: ImportDvcOptions = {}): Promise<ImportDvcResult> {
  const root = resolve(repo.root, opts.path ?? '.');
  const source = relative(repo.root, root).split('\\').join('/') || '.';
  if (source.startsWith('..') || isAbsolute(source)) {
    throw new StrataError('PATH_OUTSIDE_WORKSPACE', `the DVC project ${root} is outside the strata repository ${repo.root}`, { hint: 'run strata init in the DVC project (or a folder above it), then strata import dvc there' });
  }
  const proj = await readDvcProject(root);
  const untranslated = [...proj.untranslated];

  const remote = opts.remote !== undefined ? proj.remotes.find((r) => r.name === opts.remote) : proj.defaultRemote ? proj.remotes.find((r) => r.name === proj.defaultRemote) : undefined;
  if (opts.remote !== undefined && !remote) {
    throw new StrataError('REMOTE_UNKNOWN', `no DVC remote named ${JSON.stringify(opts.remote)} in ${source}/.dvc/config`, { hint: proj.remotes.length ? `DVC's remotes: ${proj.remotes.map((r) => r.name).join(', ')}` : 'the DVC project has no remotes; drop --remote to read the DVC cache' });
  }
  if (!opts.dryRun && proj.stages.length && !opts.force && (await fsp.lstat(join(repo.root, PIPELINE_FILE)).then(() => true, () => false))) {
    throw new StrataError('INVALID_ARGUMENT', `${PIPELINE_FILE} exists already; importing would replace it`, { hint: 'move it away, or pass --force to replace it with the translation of dvc.yaml' });
  }
  const { dirs, s3, unread } = objectDirs(root, proj.cacheDir, remote ?? null);
  const tmpDir = s3 ? await fsp.mkdtemp(join(tmpdir(), 'strata-dvc-')) : null;
  try {
    return await importWith(repo, opts, { root, source, proj, untranslated, dirs, unread, fetcher: s3 ? new S3ObjectFetcher(s3, tmpDir!) : null });
  } finally {
    if (tmpDir) await fsp.rm(tmpDir, { recursive: true, force: true });
  }
}

interface Ctx {
  root: string;
  source: string;
  proj: Awaited<ReturnType<typeof readDvcProject>>;
  untranslated: Untranslated[];
  dirs: DvcObjectDir[];
  unread: string | null;
  fetcher: S3ObjectFetcher | null;
}

async function importWith(repo: Repository, opts: ImportDvcOptions, ctx: Ctx): Promise<ImportDvcResult> {
  const { root, source, proj, untranslated, dirs, unread, fetcher } = ctx;
  /** A path relative to the DVC root, as a repository path. */
  const repoPath = (p: string) => (source === '.' ? p : p === '.' ? source : `${source}/${p}`);
  const where = [...dirs.map((d) => d.name), ...(fetcher ? [fetcher.name] : [])].join(', ');
  /** An object's file: the cache, a local-folder remote, or downloaded from S3. */
  const find = async (md5: string): Promise<{ file: string; shown: string; where: { name: string } } | null> => {
    const local = await findObject(dirs, md5);
    if (local) return { ...local, shown: relative(repo.root, local.file) || local.file };
    if (!fetcher) return null;
    const got = await fetcher.fetch(md5);
    return got ? { file: got.file, shown: got.url, where: { name: fetcher.name } } : null;
  };

  // ---- the pipeline, translated
  const { text: doc, names } = toStrataYaml(proj, repoPath, untranslated);
  if (doc) {
    // The translation must be a valid pipeline before anything is written.
    try {
      graphOf(parsePipeline(doc, PIPELINE_FILE));
    } catch (e) {
      if (!(e instanceof StrataError)) throw e;
      throw new StrataError(e.code, `dvc.yaml does not translate into a valid ${PIPELINE_FILE}; nothing was changed:\n${e.message}`, { hint: `change dvc.yaml so that each output has one producing stage, outputs do not nest and no stage reads its own outputs (line numbers above refer to the translated ${PIPELINE_FILE})`, cause: e });
    }
  }

  // ---- every file to import, checked against its md5 before anything is written
  const problems: string[] = [];
  let corrupt = false;
  const planned = new Map<string, Planned>();
  const noCache = new Set(proj.stages.flatMap((s) => s.outs.filter((o) => !o.cache).map((o) => o.path)));
  const wanted: Array<DvcHashed & { what: string }> = [];
  for (const s of proj.stages) {
    const lock = proj.lock.get(s.name);
    if (!lock) continue;
    for (const o of lock.outs) if (!noCache.has(o.path) && s.outs.some((x) => x.path === o.path)) wanted.push({ ...o, what: `output of stage ${s.name}` });
  }
  for (const t of proj.tracked) wanted.push({ ...t, what: `tracked by ${t.file}` });

  const locate = async (path: string, md5: string, legacy: boolean, what: string): Promise<Planned | null> => {
    try {
      checkStoredPath(repoPath(path));
    } catch (e) {
      problems.push(`${repoPath(path)} (${what}): ${(e as Error).message}`);
      corrupt = true;
      return null;
    }
    const obj = await find(md5);
    const ws = join(root, path);
    if (obj) {
      if (await fileMatches(obj.file, md5, legacy)) {
        return { path, md5, file: obj.file, from: obj.where.name, size: (await fsp.stat(obj.file)).size };
      }
      problems.push(`${repoPath(path)} (${what}): ${obj.shown} in ${obj.where.name} does not match its md5 ${md5}: the object is corrupt`);
      corrupt = true;
      return null;
    }
    const st = await fsp.lstat(ws).catch(() => null);
    if (st?.isFile() && (await fileMatches(ws, md5, legacy))) return { path, md5, file: ws, from: 'workspace', size: st.size };
    problems.push(`${repoPath(path)} (${what}): object ${md5} is in none of ${where}${st?.isFile() ? ', and the workspace file differs' : ''}${unread ? `; ${unread}` : ''}`);
    return null;
  };

  for (const w of wanted) {
    if (!w.md5.endsWith('.dir')) {
      const p = await locate(w.path, w.md5, w.legacy, w.what);
      if (p) planned.set(p.path, p);
      continue;
    }
    const dirId = w.md5.slice(0, -4);
    const obj = await find(w.md5).then((o) => o ?? find(dirId));
    if (!obj) {
      problems.push(`${repoPath(w.path)}/ (${w.what}): directory object ${w.md5} is in none of ${where}${unread ? `; ${unread}` : ''}`);
      continue;
    }
    if (!(await fileMatches(obj.file, dirId, false))) {
      problems.push(`${repoPath(w.path)}/ (${w.what}): ${obj.shown} in ${obj.where.name} does not match its md5 ${w.md5}: the directory object is corrupt`);
      corrupt = true;
      continue;
    }
    let entries;
    try {
      entries = parseDirObject(await fsp.readFile(obj.file), `${repoPath(w.path)}/ (${obj.shown})`);
    } catch (e) {
      problems.push((e as Error).message);
      corrupt = true;
      continue;
    }
    for (const e of entries) {
      const p = await locate(`${w.path === '.' ? '' : w.path + '/'}${e.relpath}`, e.md5, w.legacy, w.what);
      if (p) planned.set(p.path, p);
    }
  }
  if (problems.length) {
    throw new StrataError(corrupt ? 'OBJECT_CORRUPT' : 'OBJECT_MISSING', `cannot import the DVC data; nothing was changed:\n  ${problems.join('\n  ')}`, {
      hint: corrupt ? 'fetch the damaged objects again (delete them, then dvc fetch), then retry' : 'fetch the data first (dvc fetch), or name a local-folder DVC remote that has it with --remote',
      details: { problems },
    });
  }
  const files = [...planned.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  const from: Record<string, number> = {};
  for (const f of files) from[f.from] = (from[f.from] ?? 0) + 1;
  const dataRoots = outermost([...new Set(wanted.map((w) => repoPath(w.path)))]);
  const data = { paths: dataRoots, files: files.length, bytes: files.reduce((a, f) => a + f.size, 0), from };

  if (opts.dryRun) {
    const stages: ImportedStage[] = [];
    for (const s of proj.stages) {
      const reasons = await lockReasons(root, s, proj.lock.get(s.name), planned, noCache);
      stages.push({ dvc: s.name, stage: names.get(s.name)!, state: reasons.length ? 'stale' : 'up-to-date', reasons });
    }
    return { dryRun: true, source, read: proj.files, pipelineWritten: false, stages, data, commit: null, untranslated };
  }

  return repo.withWriteLock('import dvc', async () => {
    // ---- 1. the data: into the store (BLAKE3), then into the workspace through the safe writer
    // (Files already in the workspace with the right md5 stay as they are.)
    // Small files are packed (as strata add packs them), large ones stored whole; the stat rows
    // of the written files let the staging below find them stored already.
    const toWrite: IndexRow[] = [];
    const batch = repo.store.batch();
    try {
      for (const f of files) {
        if (f.from === 'workspace') continue;
        let id: string;
        let size: number;
        if (f.size < PACK_OBJECT_MAX) {
          const bytes = await fsp.readFile(f.file);
          id = hashBytes(bytes);
          size = bytes.length;
          await batch.add(id, bytes);
        } else {
          ({ id, size } = await hashFile(f.file));
          await repo.store.put(id, createReadStream(f.file), { size });
        }
        toWrite.push({ path: repoPath(f.path), type: 'file', exec: false, size, id, chunks: null, target: null });
      }
      await batch.finish();
    } catch (e) {
      await batch.abort();
      throw e;
    }
    if (toWrite.length) saveStatUpdates(repo, (await materialize(repo, { remove: [], write: toWrite })).statRows);

    // ---- 2. strata.yaml
    let pipelineWritten = false;
    if (doc) {
      await fsp.writeFile(join(repo.root, PIPELINE_FILE), doc, 'utf8');
      pipelineWritten = true;
    }
    const spec = doc ? await loadPipeline(repo.root) : null;

    // ---- 3. stage the data, record the runs of up-to-date stages
    if (dataRoots.length) await stagePaths(repo, dataRoots, { progress: opts.progress });
    const runner = new StageRunner(repo);
    const stages: ImportedStage[] = [];
    const fromLabel = `DVC (dvc.lock in ${source})`;
    for (const s of proj.stages) {
      const name = names.get(s.name)!;
      const reasons = await lockReasons(root, s, proj.lock.get(s.name), planned, noCache);
      const st = spec?.stages.find((x) => x.name === name);
      if (reasons.length || !st) {
        stages.push({ dvc: s.name, stage: name, state: 'stale', reasons: reasons.length ? reasons : ['not in strata.yaml'] });
        continue;
      }
      const runId = await adoptStage(repo, runner, st, fromLabel);
      stages.push({ dvc: s.name, stage: name, state: 'up-to-date', reasons: [], runId });
    }

    // ---- 4. one commit
    let commit: string | null = null;
    if (dataRoots.length) {
      const c = await commitIndex(repo, opts.message?.trim() || `import from DVC (${source === '.' ? 'dvc.yaml, dvc.lock' : source})`, { allowEmpty: true });
      commit = c.id;
    }
    return { dryRun: false, source, read: proj.files, pipelineWritten, stages, data, commit, untranslated };
  });
}

/** Record the run of an up-to-date stage with exactly the signature `strata repro` computes. */
async function adoptStage(repo: Repository, runner: StageRunner, st: StageSpec, from: string): Promise<string> {
  const { deps, missing } = await runner.depVersions(st.deps);
  if (missing.length) throw new StrataError('PATH_NOT_FOUND', `stage ${st.name}: ${missing.join(', ')} not found`, { hint: 'the imported stage reads a path that is not in the project' });
  const values = await readParams(repo.root, st.params);
  const params = Object.fromEntries(st.params.map((r) => [paramName(r), values[paramName(r)]]));
  const signature = stageSignature({ cmd: st.cmd, deps, params, outs: st.outs, wdir: st.wdir, env: st.env });
  const rec = await runner.adopt(st, { params, paramRefs: st.params, deps, signature, origin: 'pipeline' }, from);
  return rec.id;
}

/**
 * Why DVC itself would rerun the stage (empty = dvc.lock matches): its command, each dep's md5
 * now, each param's value now, and each output (imported, or in the workspace for cache: false).
 */
async function lockReasons(root: string, s: DvcStage, lock: DvcLockStage | undefined, planned: Map<string, Planned>, noCache: Set<string>): Promise<string[]> {
  if (!lock) return ['not in dvc.lock (never run by DVC)'];
  const reasons: string[] = [];
  if (joinCmd(lock.cmd) !== joinCmd(s.cmd)) reasons.push('cmd differs from dvc.lock');
  for (const d of s.deps) {
    const l = lock.deps.find((x) => x.path === d);
    if (!l) {
      reasons.push(`dep ${d} not in dvc.lock`);
      continue;
    }
    const now = await workspaceMd5(join(root, d), l.legacy);
    if (now === null) reasons.push(`dep ${d} missing`);
    else if (now !== l.md5) {
      // A directory written by DVC 2 may hash differently; compare its files one by one then.
      if (!(l.md5.endsWith('.dir') && (await dirMatchesPlanned(root, d, planned)))) reasons.push(`dep ${d} changed since dvc.lock`);
    }
  }
  for (const l of lock.deps) if (!s.deps.includes(l.path)) reasons.push(`dep ${l.path} removed since dvc.lock`);
  const byFile = new Map<string, Record<string, unknown>>();
  for (const p of s.params) {
    const recorded = lock.params[p.file];
    if (!recorded || !(p.key in recorded)) {
      reasons.push(`param ${p.key} not in dvc.lock`);
      continue;
    }
    if (!byFile.has(p.file)) {
      try {
        byFile.set(p.file, await readParams(root, s.params.filter((x) => x.file === p.file).map((x) => ({ file: x.file, key: x.key }))));
      } catch (e) {
        reasons.push(`params of ${p.file}: ${(e as Error).message}`);
        byFile.set(p.file, {});
      }
    }
    const vals = byFile.get(p.file)!;
    const k = paramName({ file: p.file, key: p.key });
    if (k in vals && !sameValue(vals[k], recorded[p.key])) reasons.push(`param ${p.key} changed since dvc.lock`);
  }
  for (const o of s.outs) {
    const l = lock.outs.find((x) => x.path === o.path);
    if (!l) {
      reasons.push(`out ${o.path} not in dvc.lock`);
      continue;
    }
    if (noCache.has(o.path)) {
      const now = await workspaceMd5(join(root, o.path), l.legacy);
      if (now !== l.md5) reasons.push(now === null ? `out ${o.path} (cache: false) is not in the workspace` : `out ${o.path} (cache: false) changed since dvc.lock`);
    }
  }
  return reasons;
}

/** Every file of the imported directory `d` is in the plan (its md5 was checked there). */
async function dirMatchesPlanned(root: string, d: string, planned: Map<string, Planned>): Promise<boolean> {
  const inPlan = [...planned.keys()].filter((p) => p.startsWith(d + '/'));
  if (inPlan.length === 0) return false;
  const now = await walkFiles(join(root, d)).catch(() => [] as string[]);
  return now.length === inPlan.length && now.every((f) => planned.has(`${d}/${f}`));
}
