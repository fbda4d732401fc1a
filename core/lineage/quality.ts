/**
 * Data check results as part of the lineage: the results recorded for a file version (meta
 * check_results, written by core/checks/judge.ts whenever `strata check`, `commit` or a pipeline
 * stage judges it) summarized for a lineage node, and the compact line `strata lineage` prints.
 *
 * A version shows its newest judgement: the results of the checks that judged it last (a run, a
 * commit or `strata check`; judging again with the same checks makes that judgement the newest).
 * A check that was removed from strata.checks.yaml since therefore no longer shows.
 */
import type { MetaStore } from '../meta/interface.js';
import type { CheckResult } from '../tables/checks.js';

/** One check's latest result on a version (samples of failing rows are left out: they are data). */
export interface VersionCheck {
  name: string;
  kind: CheckResult['kind'];
  /** Columns the check reads; [] for whole-table checks. */
  columns: string[];
  severity: CheckResult['severity'];
  status: CheckResult['status'];
  /** Failing rows (row-wise kinds), duplicate rows (unique), 1 for a failed table-level check. */
  failing: number;
  message?: string;
  metrics: CheckResult['metrics'];
}

export interface VersionChecks {
  /** When the results were recorded (ms since epoch). */
  time: number;
  passed: number;
  failed: number;
  warned: number;
  /** Checks that could not run (a missing column, a bad query). */
  errored: number;
  results: VersionCheck[];
}

/** Summary of a list of results (one file version's). */
function summarizeChecks(results: readonly CheckResult[], time: number): VersionChecks {
  const out: VersionChecks = { time, passed: 0, failed: 0, warned: 0, errored: 0, results: [] };
  for (const r of results) {
    if (r.status === 'pass') out.passed++;
    else if (r.status === 'fail') out.failed++;
    else if (r.status === 'warn') out.warned++;
    else out.errored++;
    out.results.push({
      name: r.name,
      kind: r.kind,
      columns: r.columns ?? [],
      severity: r.severity,
      status: r.status,
      failing: r.failing,
      ...(r.message ? { message: r.message } : {}),
      metrics: r.metrics,
    });
  }
  return out;
}

/** The newest recorded results of one file version, or null when no check ever judged it. */
export function recordedResults(db: MetaStore, path: string, id: string): { results: CheckResult[]; time: number } | null {
  const row = db.latestCheckResults(id, path);
  if (!row) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.record);
  } catch {
    return null;
  }
  // The record is Strata's own canonical JSON; anything else (a damaged row) shows as no results.
  if (!Array.isArray(parsed) || !parsed.every((r) => r && typeof r === 'object' && typeof r.name === 'string' && typeof r.status === 'string')) return null;
  return { results: parsed as CheckResult[], time: row.time };
}

/** The check summary of one file version for a lineage node, or null when no check judged it. */
export function versionChecks(db: MetaStore, path: string, id: string): VersionChecks | null {
  const r = recordedResults(db, path, id);
  return r ? summarizeChecks(r.results, r.time) : null;
}

/** `checks: 5 passed, 1 failed (not_null user_id: 3 rows)`: counts, then what did not pass. */
export function checksLine(c: VersionChecks): string {
  const counts = [
    c.passed ? `${c.passed} passed` : '',
    c.failed ? `${c.failed} failed` : '',
    c.warned ? `${c.warned} warned` : '',
    c.errored ? `${c.errored} could not run` : '',
  ].filter(Boolean);
  const bad = c.results.filter((r) => r.status !== 'pass');
  const shown = bad.slice(0, 3).map((r) => {
    const label = r.columns.length && !r.name.includes('(') ? `${r.name} ${r.columns.join(',')}` : r.name;
    if (r.status === 'error') return `${label}: could not run`;
    const rowWise = ['not_null', 'unique', 'accepted_values', 'range', 'regex', 'foreign_key', 'sql'].includes(r.kind);
    return rowWise ? `${label}: ${r.failing} row${r.failing === 1 ? '' : 's'}` : r.message ? `${label}: ${r.message}` : label;
  });
  if (bad.length > 3) shown.push(`${bad.length - 3} more`);
  return `checks: ${counts.join(', ') || 'none'}${shown.length ? ` (${shown.join('; ')})` : ''}`;
}
