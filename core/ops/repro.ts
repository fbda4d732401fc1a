/**
 * `strata repro`: bring the pipeline's outputs up to date. For each stage, in DAG order:
 *  - up to date: the last successful run has the same signature and its outputs are in place;
 *  - restore: some successful run had the same signature (run cache): put its outputs back from
 *    the store without running the command, and record a `cached` run;
 *  - run: execute the command (as `strata run`).
 * `--jobs N` runs independent stages at once; `--dry-run` only says what would happen and why.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import { lastSuccessfulRun, successfulRunsBySignature, type RunDep, type RunRecord } from '../meta/runs.js';
import { Scheduler, buildDag, type StageGraph } from '../pipeline/dag.js';
import { outRestorable, StageRunner, type PathState, type RunnerHooks } from '../pipeline/executor.js';
import { staleReasons, stageSignature, type StageState } from '../pipeline/signature.js';
import { loadPipeline, paramName, pathsOverlap, PIPELINE_FILE, readParams, type ParamRef, type PipelineSpec, type StageSpec } from '../pipeline/spec.js';
import type { Repository } from '../repo/index.js';
import { runFetchedFrom } from '../meta/runs.js';
import { pipelineChanges, pipelineText, recordApproved, type PipelineChanges, type StageChange } from '../pipeline/trust.js';

export type StageAction = 'up-to-date' | 'ran' | 'restored' | 'failed' | 'skipped' | 'would-run' | 'would-restore';

export interface StageOutcome {
  stage: string;
  action: StageAction;
  /** Why the stage ran / would run (staleReasons), empty when up to date. */
  reasons: string[];
  runId?: string;
  /** For restored stages: the run whose outputs were put back. */
  cachedFrom?: string;
  exitCode?: number | null;
  error?: string;
}

export interface ReproOptions {
  /** Stages to bring up to date (with everything upstream); default all. */
  stages?: string[];
  /** Run the selected stages even when up to date (no run cache). */
  force?: boolean;
  dryRun?: boolean;
  /** Stages to run at once (default 1). */
  jobs?: number;
  /** After a failure, keep running stages that do not depend on it. */
  keepGoing?: boolean;
  /** Refuse to run when the code repository has uncommitted changes. */
  requireClean?: boolean;
  hooks?: RunnerHooks;
  /** Aborting it (reason = the signal name) stops the running commands and starts no more; the repro run sends ABORT. */
  signal?: AbortSignal;
  /** Called as each stage is decided or finished. */
  onOutcome?(o: StageOutcome): void;
  /** Run changed commands that came from someone else without asking (`--yes`). */
  yes?: boolean;
  /** Called before anything runs with how strata.yaml changed since the last repro here. */
  onPipelineChanges?(c: PipelineChanges): void;
  /**
   * Asked when changed commands that were not written locally would run (and `yes` is not set);
   * resolve true to run them. Without it (or on false) repro refuses with PERMISSION_DENIED.
   */
  confirm?(needs: StageChange[]): Promise<boolean>;
}

export interface ReproResult {
  dryRun: boolean;
  /** How strata.yaml changed since the last repro in this repository. */
  pipeline: PipelineChanges;
  /** In pipeline order. */
  stages: StageOutcome[];
  failed: string[];
  warnings: string[];
}

/** The pipeline of the repository, or PIPELINE_INVALID when there is none. */
export async function requirePipeline(repo: Repository): Promise<PipelineSpec> {
  const spec = await loadPipeline(repo.root);
  if (!spec) {
    throw new StrataError('PIPELINE_INVALID', `no ${PIPELINE_FILE} in ${repo.root}`, {
      hint: `define the stages in ${PIPELINE_FILE} (see docs/pipelines.md), or record a single command with strata run`,
    });
  }
  return spec;
}

/** The stage graph; a cycle error names the file and line of the first stage in the cycle. */
export function graphOf(spec: PipelineSpec): StageGraph {
  try {
    return buildDag(spec);
  } catch (e) {
    if (e instanceof StrataError && e.code === 'PIPELINE_CYCLE') {
      const cycle = (e.details?.cycle as string[] | undefined) ?? [];
      const first = spec.stages.find((s) => s.name === cycle[0]);
      if (first && !/:\d+:\d+:/.test(e.message)) {
        throw new StrataError('PIPELINE_CYCLE', e.message.replace(`${spec.file}:`, `${spec.file}:${first.line}:1:`), { hint: e.hint, details: e.details, cause: e });
      }
    }
    throw e;
  }
}

/** The run's view of a stage (for staleReasons). */
function runState(r: RunRecord): StageState {
  return {
    cmd: r.cmd,
    deps: Object.fromEntries(r.deps.map((d) => [d.path, d.id])),
    params: r.params,
    outs: Object.fromEntries(r.outs.map((o) => [o.path, o.id])),
    wdir: r.wdir,
    env: r.env,
  };
}

interface Assessment {
  decision: 'up-to-date' | 'restore' | 'run';
  reasons: string[];
  params: Record<string, unknown>;
  deps: RunDep[];
  missing: string[];
  signature: string | null;
  source: RunRecord | null;
  current: Map<string, PathState | null>;
}

/** Outputs upstream stages will write in a dry run: path -> known id (restore) or null (run). */
type Pending = Map<string, { stage: string; id: string | null }>;

async function assess(runner: StageRunner, st: StageSpec, params: Record<string, unknown>, force: boolean, pending?: Pending): Promise<Assessment> {
  const repo = runner.repo;
  const { deps, missing } = await runner.depVersions(st.deps);
  const upstreamReasons: string[] = [];
  if (pending && pending.size) {
    for (const d of st.deps) {
      for (const [p, w] of pending) {
        if (!pathsOverlap(p, d)) continue;
        if (p === d && w.id !== null) {
          // Restored upstream: the dep will have the restored id.
          const i = deps.findIndex((x) => x.path === d);
          if (i >= 0) deps[i] = { ...deps[i]!, id: w.id };
          else {
            deps.push({ path: d, id: w.id, kind: 'file' });
            missing.splice(missing.indexOf(d), 1);
          }
        } else upstreamReasons.push(`upstream stage ${w.stage} will run (${d})`);
      }
    }
    deps.sort((a, b) => (a.path < b.path ? -1 : 1));
  }
  const current = await runner.hasher.hash(st.outs.map((o) => o.path), { store: false });
  const last = lastSuccessfulRun(repo.db, st.name);
  const now: StageState = {
    cmd: st.cmd,
    deps: Object.fromEntries(st.deps.map((p) => [p, deps.find((d) => d.path === p)?.id ?? null])),
    params,
    outs: Object.fromEntries(st.outs.map((o) => [o.path, current.get(o.path)?.id ?? null])),
    wdir: st.wdir,
    env: st.env,
  };
  const reasons = [...new Set([...upstreamReasons, ...staleReasons(last ? runState(last) : null, now)])];
  if (force) reasons.unshift('forced');
  if (missing.length || upstreamReasons.length) return { decision: 'run', reasons, params, deps, missing, signature: null, source: null, current };
  const signature = stageSignature({ cmd: st.cmd, deps, params, outs: st.outs, wdir: st.wdir, env: st.env });
  if (!force && last && last.signature === signature && last.outs.every((o) => current.get(o.path)?.id === o.id && current.get(o.path)?.kind === o.kind)) {
    return { decision: 'up-to-date', reasons: [], params, deps, missing, signature, source: last, current };
  }
  if (!force) {
    for (const cand of successfulRunsBySignature(repo.db, signature)) {
      if (cand.outs.length !== st.outs.length || !st.outs.every((o) => cand.outs.some((c) => c.path === o.path))) continue;
      let ok = true;
      // A run recorded elsewhere (fetched) is a hit only when its outputs are here and verify.
      const deep = runFetchedFrom(repo.db, cand.id) !== null || (cand.cachedFrom !== null && runFetchedFrom(repo.db, cand.cachedFrom) !== null);
      for (const o of cand.outs) if (!(await outRestorable(repo, o, { deep }))) ok = false;
      if (ok) return { decision: 'restore', reasons, params, deps, missing, signature, source: cand, current };
    }
  }
  return { decision: 'run', reasons, params, deps, missing, signature, source: null, current };
}

/** Stop before running anything when a dep no stage produces is missing (with file:line). */
async function checkInputs(root: string, spec: PipelineSpec, selected: string[], g: StageGraph): Promise<void> {
  const outs = spec.stages.flatMap((s) => s.outs.map((o) => o.path));
  const problems: string[] = [];
  for (const name of selected) {
    const st = g.stage(name);
    for (const d of st.deps) {
      if (outs.some((o) => pathsOverlap(o, d))) continue;
      const exists = await fsp.lstat(join(root, d)).then(() => true, () => false);
      if (!exists) problems.push(`${spec.file}:${st.line}:1: stage "${name}": dep ${d} does not exist and no stage produces it`);
    }
  }
  if (problems.length) {
    throw new StrataError('PIPELINE_INVALID', problems.join('\n'), {
      hint: `create the missing input${problems.length > 1 ? 's' : ''}, add a stage that writes ${problems.length > 1 ? 'them' : 'it'}, or fix "deps" in ${spec.file}`,
    });
  }
}

export async function repro(repo: Repository, opts: ReproOptions = {}): Promise<ReproResult> {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new StrataError('INVALID_ARGUMENT', `--jobs must be a positive whole number, got ${opts.jobs}`, { hint: 'e.g. --jobs 4' });
  const body = async (repo: Repository): Promise<ReproResult> => {
    const spec = await requirePipeline(repo);
    const g = graphOf(spec);
    const targets = opts.stages && opts.stages.length ? opts.stages : undefined;
    if (targets) for (const t of targets) g.stage(t);
    const selected = g.order(targets);
    // Changed commands from someone else never run without being asked.
    const pipeline = await pipelineChanges(repo, spec);
    opts.onPipelineChanges?.(pipeline);
    const needs = pipeline.changes.filter((c) => c.incoming && selected.includes(c.stage));
    if (!opts.dryRun && needs.length && !opts.yes && !(opts.confirm && (await opts.confirm(needs)))) {
      throw new StrataError(
        'PERMISSION_DENIED',
        `strata.yaml changed since the last repro here: the command${needs.length > 1 ? 's' : ''} of stage${needs.length > 1 ? 's' : ''} ${needs.map((n) => n.stage).join(', ')} came from someone else (${needs[0]!.source ?? 'a pull'}) and never ran here; nothing was run`,
        {
          hint: `read ${needs.length > 1 ? 'them' : 'it'} (strata repro --dry-run lists the changes), then run strata repro --yes to run ${needs.length > 1 ? 'them' : 'it'}`,
          details: { stages: needs },
        },
      );
    }
    if (!opts.dryRun) await recordApproved(repo, spec, await pipelineText(repo), selected);
    await checkInputs(repo.root, spec, selected, g);
    // Parameters are read once, up front (each file parsed once): a missing key stops the repro
    // before anything runs.
    const refs = new Map<string, ParamRef>();
    for (const name of selected) for (const r of g.stage(name).params) refs.set(`${r.file}\0${r.key}`, r);
    const values = await readParams(repo.root, [...refs.values()]);
    const paramsOf = (st: StageSpec) => Object.fromEntries(st.params.map((r) => [paramName(r), values[paramName(r)]]));
    const runner = new StageRunner(repo, opts.hooks ?? {}, { stdin: jobs > 1 ? 'ignore' : 'inherit', ...(opts.signal ? { signal: opts.signal } : {}) });
    const outcomes = new Map<string, StageOutcome>();
    const report = (o: StageOutcome) => {
      outcomes.set(o.stage, o);
      opts.onOutcome?.(o);
    };

    if (opts.dryRun) {
      const pending: Pending = new Map();
      for (const name of selected) {
        const st = g.stage(name);
        const a = await assess(runner, st, paramsOf(st), !!opts.force, pending);
        if (a.decision === 'up-to-date') report({ stage: name, action: 'up-to-date', reasons: [] });
        else if (a.decision === 'restore') {
          report({ stage: name, action: 'would-restore', reasons: a.reasons, cachedFrom: a.source!.cachedFrom ?? a.source!.id });
          for (const o of a.source!.outs) pending.set(o.path, { stage: name, id: o.id });
        } else {
          report({ stage: name, action: 'would-run', reasons: a.reasons });
          for (const o of st.outs) pending.set(o.path, { stage: name, id: null });
        }
      }
      return { dryRun: true, pipeline, stages: selected.map((n) => outcomes.get(n)!), failed: [], warnings: runner.warnings };
    }

    if (opts.requireClean) {
      const code = await runner.codeState();
      if (code?.dirty) {
        throw new StrataError('CODE_DIRTY', 'the code repository has uncommitted changes to tracked files', {
          hint: 'commit them with git (or drop --require-clean) so every run records a code commit that reproduces it',
        });
      }
    }

    const doStage = async (name: string): Promise<boolean> => {
      const st = g.stage(name);
      try {
        const a = await assess(runner, st, paramsOf(st), !!opts.force);
        if (a.missing.length) {
          report({ stage: name, action: 'failed', reasons: a.reasons, error: `${a.missing.length === 1 ? 'dep' : 'deps'} ${a.missing.join(', ')} not found` });
          return false;
        }
        if (a.decision === 'up-to-date') {
          report({ stage: name, action: 'up-to-date', reasons: [] });
          return true;
        }
        const input = { params: a.params, paramRefs: st.params, deps: a.deps, signature: a.signature!, origin: 'pipeline' as const };
        if (a.decision === 'restore') {
          const rec = await runner.restore(st, a.source!, input, a.current);
          report({ stage: name, action: 'restored', reasons: a.reasons, runId: rec.id, cachedFrom: rec.cachedFrom ?? undefined });
          return true;
        }
        const rec = await runner.execute(st, input);
        if (rec.status === 'ok') {
          report({ stage: name, action: 'ran', reasons: a.reasons, runId: rec.id, exitCode: rec.exitCode });
          return true;
        }
        report({ stage: name, action: 'failed', reasons: a.reasons, runId: rec.id, exitCode: rec.exitCode, error: rec.error ?? 'failed' });
        return false;
      } catch (e) {
        report({ stage: name, action: 'failed', reasons: [], error: (e as Error).message });
        return false;
      }
    };

    // OpenLineage events earlier commands spooled go out first, even when no stage runs.
    await runner.sendSpooledEvents();
    runner.beginPipeline('repro');
    const sched = new Scheduler(g, selected, jobs);
    const running = new Map<string, Promise<void>>();
    let stop = false;
    for (;;) {
      if (runner.interrupted()) stop = true;
      if (!stop) {
        for (const name of sched.take()) {
          running.set(
            name,
            doStage(name).then((ok) => {
              sched.finish(name, ok);
              if ((!ok && !opts.keepGoing) || runner.interrupted()) stop = true;
              running.delete(name);
            }),
          );
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    const blocked = new Set(sched.skipped());
    for (const name of selected) {
      if (outcomes.has(name)) continue;
      const upstream = [...g.upstreamOf(name)].filter((u) => outcomes.get(u)?.action === 'failed');
      report({
        stage: name,
        action: 'skipped',
        reasons: [blocked.has(name) && upstream.length ? `upstream stage ${upstream.join(', ')} failed` : 'not started: an earlier stage failed (use --keep-going to run independent stages)'],
      });
    }
    const stages = selected.map((n) => outcomes.get(n)!);
    await runner.endPipeline(stages.filter((s) => s.action === 'failed').map((s) => s.stage));
    return { dryRun: false, pipeline, stages, failed: stages.filter((s) => s.action === 'failed').map((s) => s.stage), warnings: runner.warnings };
  };
  return opts.dryRun ? body(repo) : repo.withWriteLock('repro', () => body(repo));
}
