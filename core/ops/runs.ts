/** `strata runs`: list recorded runs, newest first, filtered by stage, status and start time. */
import { StrataError } from '../errors/index.js';
import { listRuns as listRunRecords, RUN_STATUSES, type RunRecord, type RunStatus } from '../meta/runs.js';
import type { Repository } from '../repo/index.js';

export interface RunsOptions {
  stage?: string;
  status?: string;
  /** ISO date/time (`2025-01-31`, `2025-01-31T12:00`), or a relative age: `30m`, `12h`, `7d`, `2w`. */
  since?: string;
  limit?: number;
}

/** Parse --since into ms since epoch. */
export function parseSince(s: string, now = Date.now()): number {
  const rel = /^(\d+)\s*(s|m|h|d|w)$/i.exec(s.trim());
  if (rel) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[rel[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
    return now - Number(rel[1]) * unit;
  }
  const t = Date.parse(s.trim());
  if (!/^\d{4}-\d{2}-\d{2}/.test(s.trim()) || Number.isNaN(t)) {
    throw new StrataError('INVALID_ARGUMENT', `--since ${JSON.stringify(s)} is not a date or an age`, { hint: 'use a date like 2025-01-31 (or 2025-01-31T12:00) or an age like 12h, 7d' });
  }
  return t;
}

export async function runs(repo: Repository, opts: RunsOptions = {}): Promise<RunRecord[]> {
  if (opts.status !== undefined && !RUN_STATUSES.includes(opts.status as RunStatus)) {
    throw new StrataError('INVALID_ARGUMENT', `unknown run status ${JSON.stringify(opts.status)}`, { hint: `use one of: ${RUN_STATUSES.join(', ')}` });
  }
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) {
    throw new StrataError('INVALID_ARGUMENT', `-n must be a positive whole number`, { hint: 'e.g. -n 20' });
  }
  const since = opts.since !== undefined ? parseSince(opts.since) : undefined;
  return listRunRecords(repo.db, { stage: opts.stage, status: opts.status as RunStatus | undefined, since, limit: opts.limit });
}
