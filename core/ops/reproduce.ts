/**
 * `strata reproduce MODEL_PATH|REF:PATH|RUN_ID [--verify] [--into DIR] [--keep]`: restore what the
 * run (and the runs upstream of it) read into a fresh folder (`checkout --for`), re-run the recorded
 * stages there in order with their recorded command, wdir and environment, and compare every output
 * with the version the original run recorded: identical, or which files differ (sizes and ids,
 * recorded vs reproduced). Non-deterministic stages are reported as such, never hidden.
 *
 * The reproduction is recorded as runs of the new folder's own strata project (with their own
 * code state: the same commit, and the same code changes object when the original was dirty), so
 * `strata show` / `strata lineage` work there with `--keep` or `--into`. The source project is only
 * locked while its objects are read; the stages run without holding it.
 */
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StrataError } from '../errors/index.js';
import type { RunRecord } from '../meta/runs.js';
import type { Id } from '../model/index.js';
import { StageRunner, type RunnerHooks } from '../pipeline/executor.js';
import { stageSignature } from '../pipeline/signature.js';
import { readParams, type StageSpec } from '../pipeline/spec.js';
import { Repository } from '../repo/index.js';
import { flattenTree } from '../repo/tree.js';
import { checkoutFor, type CheckoutForResult, type ForeignRun } from './checkout-for.js';
import { filterRecordedEnv } from '../pipeline/safety.js';
import { runFetchedFrom } from '../meta/runs.js';

export interface ReproduceOptions {
  /** Folder the user is in (absolute): `into` and a path target are relative to it; default the repository root. */
  cwd?: string;
  target: string;
  /** Folder to reproduce in (kept). Default: a temporary folder, removed afterwards unless `keep`. */
  into?: string;
  keep?: boolean;
  /** Re-run the upstream runs too (default true); false re-runs only the target's run on the recorded inputs. */
  upstream?: boolean;
  remote?: string;
  hooks?: RunnerHooks;
  /** Called once the inputs are restored, before any stage runs. */
  onCheckout?(co: CheckoutForResult): void;
  /** Called when a stage starts and ends. */
  onStage?(ev: { phase: 'start' | 'end'; stage: string; recordedRun: string; result?: ReproducedStage }): void;
  /** Run the commands of runs recorded elsewhere without asking (`--yes`). */
  yes?: boolean;
  /**
   * Asked (before anything is written) when the chain holds runs recorded elsewhere; resolve true
   * to go on. Without it (or on false) reproduce refuses with PERMISSION_DENIED.
   */
  confirm?(plan: ReproducePlan): Promise<boolean>;
  /** Recorded environment variables of runs from elsewhere to apply although not on the allowlist. */
  allowEnv?: string[];
}

/** What reproduce will run, shown before asking. */
export interface ReproducePlan {
  foreign: ForeignRun[];
  stages: Array<{ run: string; stage: string; cmd: string; wdir: string; env: Record<string, string>; dropped: string[]; foreign: boolean }>;
}


export interface Version {
  id: Id;
  size: number;
}

export interface FileDifference {
  /** Project path of the file. */
  path: string;
  recorded: Version | null;
  reproduced: Version | null;
}

export interface OutputComparison {
  path: string;
  kind: 'file' | 'dir';
  cache: boolean;
  recorded: Version;
  reproduced: Version | null;
  identical: boolean;
  /** For a differing directory: the files that differ (when the recorded tree is readable). */
  files: FileDifference[];
}

export interface ReproducedStage {
  stage: string;
  /** The original run. */
  recordedRun: string;
  /** The run recorded in the reproduction folder. */
  run: string | null;
  status: 'ok' | 'failed';
  exitCode: number | null;
  error: string | null;
  duration: number;
  /** Inputs whose version differs from the original run's (an upstream stage reproduced differently). */
  inputsDiffer: Array<{ path: string; recorded: Id; reproduced: Id | null }>;
  params: { differ: Array<{ name: string; recorded: unknown; reproduced: unknown }> };
  code: { commit: string | null; dirty: boolean; diff: Id | null; sameAsRecorded: boolean };
  outputs: OutputComparison[];
}

export interface ReproduceResult {
  checkout: CheckoutForResult;
  /** The reproduction folder (removed unless kept). */
  dir: string;
  kept: boolean;
  stages: ReproducedStage[];
  /** The stage that failed (the reproduction stopped there), or null. */
  failed: string | null;
  /** Every output of every re-run stage identical to the recorded version. */
  identical: boolean;
  differing: Array<{ stage: string; path: string }>;
  warnings: string[];
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export async function reproduce(repo: Repository, opts: ReproduceOptions): Promise<ReproduceResult> {
  const cwd = opts.cwd ?? repo.root;
  let into = opts.into;
  let temp = false;
  if (into !== undefined) {
    const abs = resolve(cwd, into);
    if (abs === resolve(cwd) || abs === repo.root) {
      throw new StrataError('INVALID_ARGUMENT', 'reproduce runs in a separate folder, not in this workspace', {
        hint: 'name a new folder with --into DIR (or none: a temporary one); to re-run stages here use strata repro --force',
      });
    }
  } else {
    into = await fsp.mkdtemp(join(tmpdir(), 'strata-reproduce-'));
    temp = true;
  }
  const keep = !temp || !!opts.keep;
  let co: CheckoutForResult;
  try {
    co = await checkoutFor(repo, {
      cwd,
      target: opts.target,
      into,
      upstream: opts.upstream,
      remote: opts.remote,
      // Commands recorded elsewhere are shown and run only when the user says so.
      approve: async ({ chain, foreign }) => {
        if (foreign.length === 0 || opts.yes) return;
        const isForeign = new Set(foreign.map((f) => f.run));
        const plan: ReproducePlan = {
          foreign,
          stages: chain.map((r) => {
            const f = filterRecordedEnv(r.env ?? {}, isForeign.has(r.id), opts.allowEnv);
            return { run: r.id, stage: r.stage, cmd: r.cmd, wdir: r.wdir, env: f.env, dropped: f.dropped, foreign: isForeign.has(r.id) };
          }),
        };
        if (opts.confirm && (await opts.confirm(plan))) return;
        throw new StrataError('PERMISSION_DENIED', `run${foreign.length > 1 ? 's' : ''} ${foreign.map((f) => `${f.run} (${f.stage})`).join(', ')} came from ${foreign[0]!.from}, not recorded here; reproduce would run ${foreign.length > 1 ? 'their commands' : 'its command'}, so nothing was done`, {
          hint: 'read the commands (strata show RUN_ID), then run strata reproduce --yes to run them',
          details: { plan },
        });
      },
    });
  } catch (e) {
    if (temp) await fsp.rm(into, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  try {
    opts.onCheckout?.(co);
    const rerunWarnings: string[] = [];
    const stages = await rerun(co, opts, rerunWarnings);
    const ran = new Set(stages.map((s) => s.recordedRun));
    // Differing directories: which files differ (the recorded trees are read from the source).
    const needTrees = stages.flatMap((s) => s.outputs.filter((o) => !o.identical && o.kind === 'dir' && o.reproduced));
    if (needTrees.length) {
      const repro = await Repository.openAt(co.projectRoot, { readonly: true });
      try {
        for (const o of needTrees) o.files = await treeDifferences(repo, repro, o);
      } finally {
        await repro.close();
      }
    }
    const differing = stages.flatMap((s) => s.outputs.filter((o) => !o.identical).map((o) => ({ stage: s.stage, path: o.path })));
    const failed = stages.find((s) => s.status === 'failed')?.stage ?? null;
    const warnings = [...co.warnings, ...rerunWarnings];
    const notRun = co.chain.filter((r) => !ran.has(r.id));
    if (failed && notRun.length) warnings.push(`not run after the failure: ${notRun.map((r) => r.stage).join(', ')}`);
    return { checkout: co, dir: co.dir, kept: keep, stages, failed, identical: !failed && differing.length === 0, differing, warnings };
  } finally {
    if (!keep) await fsp.rm(co.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function rerun(co: CheckoutForResult, opts: ReproduceOptions, warnings: string[]): Promise<ReproducedStage[]> {
  const repo = await Repository.openAt(co.projectRoot);
  const out: ReproducedStage[] = [];
  try {
    await repo.withWriteLock('reproduce', async () => {
      const runner = new StageRunner(repo, opts.hooks ?? {}, { stdin: 'ignore' });
      for (const r of co.chain) {
        opts.onStage?.({ phase: 'start', stage: r.stage, recordedRun: r.id });
        const foreign = co.foreign.some((f) => f.run === r.id) || runFetchedFrom(repo.db, r.id) !== null;
        const res = await rerunOne(runner, co.projectRoot, r, filterRecordedEnv(r.env ?? {}, foreign, opts.allowEnv));
        out.push(res);
        opts.onStage?.({ phase: 'end', stage: r.stage, recordedRun: r.id, result: res });
        if (res.status === 'failed') break;
      }
      for (const w of runner.warnings) if (!warnings.includes(w)) warnings.push(w);
    });
  } finally {
    await repo.close();
  }
  return out;
}

async function rerunOne(runner: StageRunner, root: string, r: RunRecord, env: { env: Record<string, string>; dropped: string[] }): Promise<ReproducedStage> {
  if (env.dropped.length) {
    runner.warnings.push(`stage ${r.stage}: recorded environment variable${env.dropped.length > 1 ? 's' : ''} ${env.dropped.join(', ')} not applied (the run came from elsewhere; name ${env.dropped.length > 1 ? 'them' : 'it'} with --allow-env to apply)`);
  }
  const spec: StageSpec = {
    name: r.stage,
    cmd: r.cmd,
    deps: r.deps.map((d) => d.path),
    params: r.paramRefs,
    outs: r.outs.map((o) => ({ path: o.path, type: o.type, cache: o.cache })),
    wdir: r.wdir,
    env: env.env,
    line: 0,
  };
  let params: Record<string, unknown>;
  try {
    params = await readParams(root, r.paramRefs);
  } catch {
    params = r.params;
  }
  const differ = Object.keys({ ...r.params, ...params })
    .filter((k) => !sameJson(r.params[k], params[k]))
    .map((name) => ({ name, recorded: r.params[name], reproduced: params[name] }));
  const base = {
    stage: r.stage,
    recordedRun: r.id,
    params: { differ },
  };
  const { deps, missing } = await runner.depVersions(spec.deps);
  const inputsDiffer = r.deps
    .map((d) => ({ path: d.path, recorded: d.id, reproduced: deps.find((x) => x.path === d.path)?.id ?? null }))
    .filter((d) => d.recorded !== d.reproduced);
  const code = await runner.codeState();
  const codeInfo = {
    commit: code?.commit ?? null,
    dirty: !!code?.dirty,
    diff: code?.diff ?? null,
    sameAsRecorded: (code?.commit ?? null) === (r.code?.commit ?? null) && (code?.diff ?? null) === (r.code?.diff ?? null),
  };
  if (missing.length) {
    return { ...base, run: null, status: 'failed', exitCode: null, error: `input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing`, duration: 0, inputsDiffer, code: codeInfo, outputs: [] };
  }
  const signature = stageSignature({ cmd: spec.cmd, deps, params, outs: spec.outs, wdir: spec.wdir, env: spec.env });
  const rec = await runner.execute(spec, { params, paramRefs: r.paramRefs, deps, signature, origin: r.origin });
  const outputs: OutputComparison[] = [];
  if (rec.status === 'ok') {
    for (const o of r.outs) {
      const n = rec.outs.find((x) => x.path === o.path);
      const reproduced = n && n.id ? { id: n.id, size: n.size } : null;
      const identical = !!n && n.id === o.id && n.kind === o.kind;
      const files: FileDifference[] = !identical && o.kind === 'file' ? [{ path: o.path, recorded: { id: o.id, size: o.size }, reproduced }] : [];
      outputs.push({ path: o.path, kind: o.kind, cache: o.cache, recorded: { id: o.id, size: o.size }, reproduced, identical, files });
    }
  }
  return {
    ...base,
    run: rec.id,
    status: rec.status === 'ok' ? 'ok' : 'failed',
    exitCode: rec.exitCode,
    error: rec.error,
    duration: rec.ended - rec.started,
    inputsDiffer,
    code: codeInfo,
    outputs,
  };
}

/** Files of a directory output that differ between the recorded and the reproduced tree. */
async function treeDifferences(src: Repository, repro: Repository, o: OutputComparison): Promise<FileDifference[]> {
  let a;
  try {
    a = await flattenTree(src, o.recorded.id);
  } catch {
    return [{ path: o.path, recorded: o.recorded, reproduced: o.reproduced }];
  }
  const b = await flattenTree(repro, o.reproduced!.id);
  const out: FileDifference[] = [];
  for (const p of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(p);
    const y = b.get(p);
    if (x && y && x.id === y.id) continue;
    out.push({ path: `${o.path}/${p}`, recorded: x ? { id: x.id, size: x.size } : null, reproduced: y ? { id: y.id, size: y.size } : null });
  }
  return out;
}
