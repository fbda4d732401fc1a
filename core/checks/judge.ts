/**
 * Judging table versions against strata.checks.yaml: used by `strata check` and `commit`
 * (core/ops) and by the pipeline executor, which refuses stage outputs that fail their checks.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import { CHECKS_FILE, checksFor, checksHash, parseChecks, type ChecksSpec } from './spec.js';
import { runChecks, type CheckContext, type CheckResult, type MetricStore } from '../tables/checks.js';
import { canonicalJson } from '../model/index.js';
import { tableFormatOf, withTableEngine, type TableColumn, type TableEngine } from '../tables/engine.js';
import type { Flat } from '../repo/tree.js';
import type { IndexRow } from '../meta/interface.js';
import type { FileEntry } from '../model/index.js';
import type { Repository } from '../repo/index.js';

export interface CheckReport {
  commit: string | null;
  results: CheckResult[];
  /** False when an error-level check failed or could not run. */
  ok: boolean;
}

/**
 * The checks that judge a version: for the staged versions the workspace's strata.checks.yaml,
 * else the one committed with them; for a commit its own, else (the file is versioned in git, as
 * in a project shared through git) the workspace's. `committedOnly`: only the commit's own file (the
 * server's gate judges what was pushed, never a file of the server's folder).
 */
export async function readSpec(repo: Repository, flat: Flat, staged: boolean, opts: { committedOnly?: boolean } = {}): Promise<ChecksSpec | null> {
  let text: string | null = null;
  if (staged) {
    // The workspace file: what the user is editing is what the checks of this commit are.
    text = await fsp.readFile(join(repo.root, CHECKS_FILE), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
  }
  if (text === null) {
    const row = flat.get(CHECKS_FILE);
    if (row?.type === 'file') text = (await repo.store.getBytes(row.id, { verify: true })).toString('utf8');
  }
  if (text === null && !staged && !opts.committedOnly) {
    // A project whose code (strata.checks.yaml with it) is versioned in git, not with the data:
    // the commit holds no checks file, so the checked-out one judges it.
    text = await fsp.readFile(join(repo.root, CHECKS_FILE), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
  }
  if (text === null) return null;
  return parseChecks(text, CHECKS_FILE);
}

function entryOf(path: string, row: IndexRow): FileEntry {
  return { type: 'file', name: path, size: row.size, id: row.id, exec: row.exec, ...(row.chunks ? { chunks: row.chunks } : {}) };
}

/** The previous version of `path` for drift checks, or null when there is none. */
function previousOf(engine: TableEngine, repo: Repository, path: string, row: IndexRow | undefined): CheckContext['previous'] {
  if (!row || row.type !== 'file') return null;
  return {
    object: row.id,
    prefetch: () => engine.prefetchEntry(repo, path, entryOf(path, row)),
    attach: (view) => attachRow(engine, repo, view, path, row),
  };
}

/**
 * Drift metrics kept in the metadata database by content id (a version's content never changes).
 * A value is a JSON number or null; anything else read back (a damaged row) counts as not stored,
 * so the metric is computed again and its row rewritten. Rows are written in one transaction;
 * two runs storing the same version's metric store the same value.
 */
function storedMetrics(repo: Repository): MetricStore {
  return {
    get(object, defs) {
      const out = new Map<string, number | null>();
      for (const [def, text] of repo.db.getTableMetrics(object, defs)) {
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch {
          continue;
        }
        if (v === null || (typeof v === 'number' && Number.isFinite(v))) out.set(def, v);
      }
      return out;
    },
    put(object, values) {
      // NaN/Infinity (no JSON for them) are not stored: computed again next time.
      const rows = new Map([...values].filter(([, v]) => v === null || Number.isFinite(v)).map(([d, v]) => [d, JSON.stringify(v)]));
      if (rows.size) repo.db.putTableMetrics(object, rows);
    },
  };
}

async function attachRow(engine: TableEngine, repo: Repository, view: string, path: string, row: IndexRow): Promise<TableColumn[]> {
  if (!tableFormatOf(path) || row.type !== 'file') throw new StrataError('NOT_A_TABLE', `${path} is not a table (tables are .csv, .tsv, .parquet/.pq and .jsonl/.ndjson files)`, { details: { path } });
  return engine.attachEntry(view, repo, path, entryOf(path, row));
}

/** Judge the table versions of `flat` (a commit's tree or the index) against the spec. */
export async function checkFlat(repo: Repository, flat: Flat, opts: { commit: string | null; parentFlat: Flat; commitTime: number; spec: ChecksSpec; paths?: string[] }): Promise<CheckReport> {
  const under = (p: string) => !opts.paths?.length || opts.paths.some((q) => q === '.' || p === q || p.startsWith(q.replace(/\/$/, '') + '/'));
  const targets = [...flat.keys()].filter((p) => under(p) && tableFormatOf(p) && checksFor(opts.spec, p).length > 0).sort();
  const results: CheckResult[] = [];
  if (targets.length > 0) {
    await withTableEngine(repo, async (engine) => {
      for (const path of targets) {
        const row = flat.get(path)!;
        const checks = checksFor(opts.spec, path);
        // Results depend only on the file and its checks unless a check reads another table or the clock.
        const cacheable = checks.every((c) => c.kind !== 'foreign_key' && c.kind !== 'drift' && c.kind !== 'freshness' && !(c.kind === 'row_count' && c.sameAs !== undefined));
        const specHash = checksHash(checks);
        const cached = cacheable ? repo.db.getCheckResults(row.id, specHash, path) : null;
        if (cached !== null) {
          // Re-recorded: this is now the version's newest judgement (what lineage shows).
          repo.db.putCheckResults(row.id, specHash, path, cached);
          results.push(...(JSON.parse(cached) as CheckResult[]).map((r) => ({ ...r, commit: opts.commit, cached: true })));
          continue;
        }
        const columns = await attachRow(engine, repo, 't', path, row);
        const rs = await runChecks(
          engine,
          {
            view: 't',
            columns,
            commitTime: opts.commitTime,
            now: Date.now(),
            attachOther: async (view, p) => {
              const r = flat.get(p);
              if (!r || !tableFormatOf(p)) return false;
              await attachRow(engine, repo, view, p, r);
              return true;
            },
            previous: previousOf(engine, repo, path, opts.parentFlat.get(path)),
            metrics: storedMetrics(repo),
          },
          checks,
          { path, object: row.id, commit: opts.commit },
        );
        // Recorded whether or not they may be reused: the lineage of this version shows its newest results.
        repo.db.putCheckResults(row.id, specHash, path, canonicalJson(rs.map((r) => ({ ...r, commit: null }))));
        results.push(...rs);
      }
    });
  }
  const ok = !results.some((r) => r.severity === 'error' && (r.status === 'fail' || r.status === 'error'));
  return { commit: opts.commit, results, ok };
}


/** One line for a failed check: path, check, failing row count (or why it could not run), a sample row. */
export function describeFailure(r: CheckResult): string {
  const sample = r.sample.length ? `; e.g. ${JSON.stringify(r.sample[0])}` : '';
  if (r.status === 'error') return `${r.path}: ${r.name} could not run: ${r.message}`;
  return `${r.path}: ${r.name} ${r.status === 'warn' ? 'warned' : 'failed'} on ${r.failing} row(s)${r.message ? ` (${r.message})` : ''}${sample}`;
}

/** The CHECK_FAILED error for a report that is not ok: names check, path, failing count, a sample. */
export function checkFailedError(report: CheckReport, what: string, opts: { hint?: string; details?: Record<string, unknown> } = {}): StrataError {
  const bad = report.results.filter((r) => r.severity === 'error' && (r.status === 'fail' || r.status === 'error'));
  const lines = bad.slice(0, 10).map((r) => `  ${describeFailure(r)}`);
  return new StrataError('CHECK_FAILED', `${what}: ${bad.length} error-level check(s) failed\n${lines.join('\n')}`, {
    hint: opts.hint ?? 'fix the data (strata check --failures shows the rows), or commit anyway with --no-verify',
    details: { ...(opts.details ?? {}), failed: bad.map((r) => ({ path: r.path, check: r.name, failing: r.failing, sample: r.sample })) },
  });
}
