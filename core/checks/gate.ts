/**
 * The server's check gate on protected branches. A repository's `checks.protect` (branch names and
 * globs, core/config/branch-patterns.ts) names the branches `strata serve` moves only to commits
 * whose error-level checks pass: a pushed ref update (core/ops/protocol.ts), POST /merge
 * (core/ops/merge.ts mergeRefs) and the S3 gateway's staging commit (core/gateway/staging.ts). Each
 * calls gateBranchMove before its compare-and-swap, so a refused commit moves nothing; its objects
 * stay, unreachable, for gc.
 *
 * What judges the commit is the strata.checks.yaml in the commit's own tree (never a file of the
 * server's folder), with the branch's current tip as the previous version for drift checks. The
 * verdict, pass or fail, is recorded in the check_results table under the commit's id (spec
 * `gate`, path the branch's ref), beside the per-file results checkFlat records.
 */
import { readString } from '../config/registry.js';
import { matchBranch, parseBranchPatterns } from '../config/branch-patterns.js';
import { canonicalJson, type Id } from '../model/index.js';
import { flattenTree, type Flat } from '../repo/tree.js';
import type { Repository } from '../repo/index.js';
import type { CheckReport } from './judge.js';

const PROTECT_KEY = 'checks.protect';

/** The `spec` column of a gate verdict's check_results row. */
export const GATE_RECORD = 'gate';

export interface GateVerdict {
  branch: string;
  /** The checks.protect pattern that protects the branch. */
  rule: string;
  commit: Id;
  /** Checks that ran (all severities). */
  checks: number;
  /** Warn-level checks that failed or could not run: they do not refuse, they are reported. */
  warnings: string[];
}

/** The checks.protect pattern protecting `branch` on this repository, or null when none does. */
function protectingRule(repo: Repository, branch: string): string | null {
  const raw = readString(repo.db, PROTECT_KEY);
  if (raw === null) return null;
  const r = parseBranchPatterns(raw);
  return r.ok ? matchBranch(r.patterns, branch) : null;
}

/**
 * Judge `commit` before branch `branch` moves to it from `previous`. Null when the branch is not
 * protected; the verdict when every error-level check passed; CHECK_FAILED (naming each failing
 * check, its path, the failing row count and a sample row) otherwise. `what` names the move in the
 * message ("push to main"), `hint` says how to get the data in.
 */
export async function gateBranchMove(repo: Repository, o: { branch: string; commit: Id; previous: Id | null; what: string; hint: string }): Promise<GateVerdict | null> {
  const rule = protectingRule(repo, o.branch);
  if (rule === null) return null;
  // The checks engine (YAML specs, table readers) loads only for a protected branch: every merge
  // and push passes here, and most repositories protect nothing.
  const { checkFailedError, checkFlat, describeFailure, readSpec } = await import('./judge.js');
  const c = await repo.readCommit(o.commit);
  const flat = await flattenTree(repo, c.tree);
  const parentFlat: Flat = o.previous ? await flattenTree(repo, (await repo.readCommit(o.previous)).tree) : new Map();
  const spec = await readSpec(repo, flat, false, { committedOnly: true });
  const report: CheckReport = spec
    ? await checkFlat(repo, flat, { commit: o.commit, parentFlat, commitTime: c.time < 1e12 ? c.time * 1000 : c.time, spec })
    : { commit: o.commit, results: [], ok: true };
  const warnings = report.results.filter((r) => r.severity === 'warn' && r.status !== 'pass').map(describeFailure);
  const verdict: GateVerdict = { branch: o.branch, rule, commit: o.commit, checks: report.results.length, warnings };
  repo.db.putCheckResults(o.commit, GATE_RECORD, 'refs/heads/' + o.branch, canonicalJson({ ...verdict, ok: report.ok, results: report.results.map((r) => ({ ...r, cached: undefined })) }));
  if (!report.ok) {
    throw checkFailedError(report, `${o.what} refused: branch ${o.branch} is protected (checks.protect: ${rule})`, {
      hint: o.hint,
      details: { branch: o.branch, commit: o.commit, rule, warnings },
    });
  }
  return verdict;
}
