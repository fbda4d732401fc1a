/**
 * `strata run`: execute one command as an ad-hoc stage and record it as a run (deps before,
 * outputs after, params, code commit, environment, log), with lineage and OpenLineage events.
 */
import { StrataError } from '../errors/index.js';
import type { RunRecord } from '../meta/runs.js';
import { checkStagePaths, StageRunner, type RunnerHooks } from '../pipeline/executor.js';
import { checkOnDisk, checkPathText } from '../pipeline/safety.js';
import { stageSignature } from '../pipeline/signature.js';
import { DEFAULT_PARAMS_FILE, normalizeProjectPath, pathsOverlap, readParams, type OutSpec, type ParamRef, type StageSpec } from '../pipeline/spec.js';
import { toRepoPath } from '../workspace/paths.js';
import type { Repository } from '../repo/index.js';

export interface RunOptions {
  /** Folder the user is in (absolute): deps, outputs and the working folder are relative to it; default the repository root. */
  cwd?: string;
  /** Stage name recorded with the run (letters, digits, `_`, `-`). */
  name: string;
  /** Shell command. */
  cmd: string;
  /** Paths the command reads (relative to cwd). */
  deps?: string[];
  /** Dataset outputs. */
  outs?: string[];
  /** Model outputs. */
  models?: string[];
  /** Metrics outputs (JSON). */
  metrics?: string[];
  /** `file:key.path`, `file:k1,k2` or `key.path` (in params.yaml). */
  params?: string[];
  /** Refuse to run when the code repository has uncommitted changes to tracked files. */
  requireClean?: boolean;
  /** Extra environment variables for the command (recorded). */
  env?: Record<string, string>;
  hooks?: RunnerHooks;
  /** Aborting it (reason = the signal name, e.g. `SIGINT`) stops the command; the run is recorded as failed and sends ABORT. */
  signal?: AbortSignal;
}

export interface RunResult {
  run: RunRecord;
  /** Non-fatal problems (e.g. an unreachable OpenLineage endpoint). */
  warnings: string[];
}

const NAME_RE = /^[A-Za-z0-9_-]+$/;

/** Parse `-p` values into param refs (paths relative to the project root). */
function parseParamArgs(values: string[]): ParamRef[] {
  const refs: ParamRef[] = [];
  for (const v of values) {
    const colon = v.indexOf(':');
    const file = colon >= 0 ? v.slice(0, colon) : DEFAULT_PARAMS_FILE;
    const keys = (colon >= 0 ? v.slice(colon + 1) : v).split(',').map((k) => k.trim());
    const n = normalizeProjectPath(file);
    if ('error' in n || n.path === '.') {
      throw new StrataError('INVALID_ARGUMENT', `-p ${v}: ${'error' in n ? n.error : 'name a params file'}`, { hint: 'write -p params.yaml:train.lr (file relative to the project root, then the key)' });
    }
    for (const key of keys) {
      if (!/^[^.\s:][^\s:]*$/.test(key) || key.endsWith('.') || key.includes('..')) {
        throw new StrataError('INVALID_ARGUMENT', `-p ${v}: ${JSON.stringify(key)} is not a dotted key like train.lr`, { hint: 'write -p params.yaml:train.lr or -p train.lr' });
      }
      if (!refs.some((r) => r.file === n.path && r.key === key)) refs.push({ file: n.path, key });
    }
  }
  return refs;
}

export async function run(repo: Repository, opts: RunOptions): Promise<RunResult> {
  if (!opts.name || !NAME_RE.test(opts.name)) {
    throw new StrataError('INVALID_ARGUMENT', opts.name ? `invalid run name ${JSON.stringify(opts.name)}` : 'a run needs a name (-n NAME)', {
      hint: 'name it with -n, using letters, digits, "_" and "-": strata run -n train -d data.csv -o model.json -- python train.py',
    });
  }
  const cmd = opts.cmd.trim();
  if (!cmd) throw new StrataError('INVALID_ARGUMENT', 'no command given', { hint: 'put the command after --: strata run -n NAME -o OUT -- CMD ARGS...' });
  const paramRefs = parseParamArgs(opts.params ?? []);

  return repo.withWriteLock('run', async () => {
    const rel = (p: string, what: string) => {
      const r = toRepoPath(repo.root, opts.cwd ?? repo.root, p);
      if (r === '') throw new StrataError('INVALID_ARGUMENT', `${what} ${p} is the whole project`, { hint: `name the files or directories the command ${what === 'dep' ? 'reads' : 'writes'}` });
      checkPathText(r, `${what === 'dep' ? '-d' : '-o'} ${p}`);
      return r;
    };
    const deps = [...new Set((opts.deps ?? []).map((p) => rel(p, 'dep')))].sort();
    const outs: OutSpec[] = [];
    const addOut = (p: string, type: OutSpec['type']) => {
      const path = rel(p, 'output');
      const clash = outs.find((o) => pathsOverlap(o.path, path));
      if (clash) {
        throw new StrataError('INVALID_ARGUMENT', clash.path === path ? `output ${path} is given twice` : `outputs ${clash.path} and ${path} overlap`, { hint: 'name each output once; outputs may not lie inside each other' });
      }
      outs.push({ path, type, cache: true });
    };
    for (const p of opts.outs ?? []) addOut(p, 'dataset');
    for (const p of opts.models ?? []) addOut(p, 'model');
    for (const p of opts.metrics ?? []) addOut(p, 'metrics');
    for (const d of deps) {
      const o = outs.find((x) => pathsOverlap(x.path, d));
      if (o) throw new StrataError('INVALID_ARGUMENT', `dep ${d} overlaps output ${o.path}`, { hint: 'a command cannot read what it writes; write the result to a new path' });
    }
    const wdirRel = toRepoPath(repo.root, opts.cwd ?? repo.root, '.');
    const stage: StageSpec = { name: opts.name, cmd, deps, params: paramRefs, outs, wdir: wdirRel === '' ? '.' : wdirRel, env: opts.env ?? {}, line: 0 };

    // Nothing is read, deleted or written through a symbolic link or outside the project.
    await checkStagePaths(repo.root, stage);
    for (const r of paramRefs) await checkOnDisk(repo.root, r.file, `-p ${r.file}`);
    const runner = new StageRunner(repo, opts.hooks ?? {}, opts.signal ? { signal: opts.signal } : {});
    if (opts.requireClean) {
      const code = await runner.codeState();
      if (code?.dirty) {
        throw new StrataError('CODE_DIRTY', 'the code repository has uncommitted changes to tracked files', {
          hint: 'commit them with git (or drop --require-clean) so the run records a code commit that reproduces it',
        });
      }
    }
    const params = await readParams(repo.root, paramRefs);
    const { deps: depVersions, missing } = await runner.depVersions(deps);
    if (missing.length) {
      throw new StrataError('PATH_NOT_FOUND', `${missing.length === 1 ? 'dep' : 'deps'} ${missing.join(', ')} not found`, {
        hint: 'create the inputs first (or fix the -d paths; they are relative to the current directory)',
      });
    }
    const signature = stageSignature({ cmd, deps: depVersions, params, outs, wdir: stage.wdir, env: stage.env });
    await runner.sendSpooledEvents();
    const rec = await runner.execute(stage, { params, paramRefs, deps: depVersions, signature, origin: 'adhoc' });
    return { run: rec, warnings: runner.warnings };
  });
}
