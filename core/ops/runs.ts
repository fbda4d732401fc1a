/** `strata runs`: list recorded runs, newest first, filtered by stage, status and start time. */
import { StrataError } from '../errors/index.js';
import { parseTimeOption } from '../util/time.js';
import { getRun, insertRun, listRuns as listRunRecords, RUN_STATUSES, type RunRecord, type RunStatus } from '../meta/runs.js';
import type { Repository } from '../repo/index.js';
import type { RunDetail, RunSummary, RunsPage } from './types.js';

export type { RunDetail, RunsPage };

export interface RunsOptions {
  stage?: string;
  status?: string;
  /** ISO date (UTC midnight), date-time (UTC unless it has Z or an offset), or an age: `30m`, `12h`, `7d`, `2w` (core/util/time.ts). */
  since?: string;
  limit?: number;
}

export async function runs(repo: Repository, opts: RunsOptions = {}): Promise<RunRecord[]> {
  if (opts.status !== undefined && !RUN_STATUSES.includes(opts.status as RunStatus)) {
    throw new StrataError('INVALID_ARGUMENT', `unknown run status ${JSON.stringify(opts.status)}`, { hint: `use one of: ${RUN_STATUSES.join(', ')}` });
  }
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) {
    throw new StrataError('INVALID_ARGUMENT', `-n must be a positive whole number`, { hint: 'e.g. -n 20' });
  }
  const since = opts.since !== undefined ? parseTimeOption('--since', opts.since) : undefined;
  return listRunRecords(repo.db, { stage: opts.stage, status: opts.status as RunStatus | undefined, since, limit: opts.limit });
}

// ---------------------------------------------------------------- pages for the server and the web UI

function summary(r: RunRecord): RunSummary {
  return {
    id: r.id,
    stage: r.stage,
    status: r.status,
    cmd: r.cmd,
    startedAt: r.started,
    endedAt: r.ended,
    exitCode: r.exitCode,
    code: r.code,
    origin: r.origin,
    cachedFrom: r.cachedFrom,
    inputs: r.deps.length,
    outputs: r.outs.length,
  };
}

/** A page of runs, newest first. */
export function runsPage(repo: Repository, opts: { stage?: string; status?: RunRecord['status']; limit?: number; offset?: number } = {}): RunsPage {
  const limit = opts.limit ?? 50;
  const offset = opts.offset ?? 0;
  const all = listRunRecords(repo, { stage: opts.stage, status: opts.status, limit: offset + limit + 1 });
  return { runs: all.slice(offset, offset + limit).map(summary), offset, limit, nextOffset: all.length > offset + limit ? offset + limit : null };
}

/** One run (id or unique prefix) in full. */
export function runDetail(repo: Repository, idOrPrefix: string): RunDetail {
  const r = getRun(repo, idOrPrefix);
  return { ...r, startedAt: r.started, endedAt: r.ended };
}

/** A run's captured log: its object id and size (null: the run has no log, e.g. a cached run). */
export async function runLog(repo: Repository, idOrPrefix: string): Promise<{ run: RunRecord; log: { id: string; size: number } | null }> {
  const run = getRun(repo, idOrPrefix);
  if (!run.log) return { run, log: null };
  const st = await repo.store.stat(run.log);
  if (!st) throw new StrataError('OBJECT_MISSING', `the log of run ${run.id} (object ${run.log}) is not in this repository's store`, { hint: 'push the run again from the project that ran it' });
  return { run, log: { id: run.log, size: st.size } };
}

// ---------------------------------------------------------------- run objects (remote protocol)

/** The run object id recorded for run `id`, or null. */
export function runObject(repo: Repository, id: string): string | null {
  return repo.db.getRunRow(id)?.object ?? null;
}

/** Every recorded run with its run object id, by run id. */
export function runObjects(repo: Repository): Array<{ id: string; object: string }> {
  return repo.db.allRunRows().map((r) => ({ id: r.id, object: r.object }));
}

/** Record a run received from elsewhere (its object `objectId`, canonical text `text`), once. */
export function recordReceivedRun(repo: Repository, r: RunRecord, objectId: string, text: string): void {
  repo.db.tx(() => {
    if (!repo.db.hasRun(r.id)) insertRun(repo.db, r, objectId, text);
  });
}
