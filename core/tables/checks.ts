/**
 * Running checks over one table version with the table engine. The aggregate kinds (not_null,
 * range, accepted_values, regex, row_count, freshness, drift's current metrics) are computed in ONE
 * scan, and drift's previous metrics in one scan of the previous version; unique is a GROUP BY;
 * foreign_key an anti-join; sql counts the rows the query returns. Distinct counts are GROUP BYs,
 * never count(DISTINCT): DuckDB spills a GROUP BY to disk within its memory limit, while a DISTINCT
 * aggregate holds its hash table outside it (a 8M-id count(DISTINCT) doubled the process's RSS).
 * A sample of at most 5 failing rows is read only for checks that fail.
 */
import type { TableColumn, TableEngine } from './engine.js';
import { quoteIdent } from './engine.js';
import type { CheckSpec } from '../checks/spec.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'error';

/** One check's verdict on one file version (the canonical "check result" record). */
export interface CheckResult {
  path: string;
  /** Content id of the file version judged. */
  object: string;
  /** The commit it was read from; null for the staged version. */
  commit: string | null;
  name: string;
  kind: CheckSpec['kind'];
  /** The columns the check reads (absent for whole-table checks: row_count, columns, sql, drift of row_count). */
  columns?: string[];
  severity: CheckSpec['severity'];
  status: CheckStatus;
  failing: number;
  sample: Array<Record<string, unknown>>;
  metrics: Record<string, number | string | null>;
  /** Why the check could not run (status error), or what failed for column checks. */
  message?: string;
  /** Read from the results recorded for this file version and these checks (not run again). */
  cached?: boolean;
}

/** The other tables a file's checks may read, attached by the caller on request. */
export interface CheckContext {
  /** View name of the table judged (already attached). */
  view: string;
  columns: TableColumn[];
  /** Attach another tracked table (foreign_key) as `view`; false when it does not exist. */
  attachOther(view: string, path: string): Promise<boolean>;
  /** Attach the previous version of this path (drift) as `view`; false when there is none. */
  attachPrevious(view: string): Promise<boolean>;
  /** Commit time (ms) for freshness `since: commit`; now for the staged version. */
  commitTime: number;
  now: number;
}

const SAMPLE = 5;

function lit(v: string | number | boolean): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return `'${v.replace(/'/g, "''")}'`;
}

function jsonable(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v instanceof Date) out[k] = v.toISOString();
    else if (typeof v === 'bigint') out[k] = v.toString();
    else if (v !== null && typeof v === 'object') out[k] = String(v);
    else out[k] = v;
  }
  return out;
}

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  const d = typeof v === 'string' ? Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : v.replace(' ', 'T') + 'Z') : NaN;
  return Number.isFinite(d) ? d : null;
}

/** The SQL predicate selecting a failing row, for the row-wise kinds. */
function failPredicate(c: CheckSpec): string | null {
  switch (c.kind) {
    case 'not_null':
      return c.columns.map((col) => `${quoteIdent(col)} IS NULL`).join(' OR ');
    case 'range': {
      const col = quoteIdent(c.column);
      const parts: string[] = [];
      if (c.min !== undefined) parts.push(`${col} < ${lit(c.min)}`);
      if (c.max !== undefined) parts.push(`${col} > ${lit(c.max)}`);
      return parts.join(' OR ');
    }
    case 'accepted_values':
      return `${quoteIdent(c.column)} IS NOT NULL AND CAST(${quoteIdent(c.column)} AS VARCHAR) NOT IN (${c.values.map((v) => lit(String(v))).join(', ')})`;
    case 'regex':
      return `${quoteIdent(c.column)} IS NOT NULL AND NOT regexp_matches(CAST(${quoteIdent(c.column)} AS VARCHAR), ${lit(c.pattern)})`;
    default:
      return null;
  }
}

function referencedColumns(c: CheckSpec): string[] {
  switch (c.kind) {
    case 'not_null':
    case 'unique':
      return c.columns;
    case 'accepted_values':
    case 'range':
    case 'regex':
    case 'freshness':
    case 'foreign_key':
      return [c.column];
    case 'drift':
      return c.column ? [c.column] : [];
    default:
      return [];
  }
}

/** A drift metric as an aggregate of one scan; null for distinct_count (a GROUP BY of its own). */
function driftExpr(metric: string, column: string | undefined): string | null {
  const col = column ? quoteIdent(column) : '';
  switch (metric) {
    case 'row_count':
      return 'count(*)';
    case 'null_rate':
      return `CAST(count(*) FILTER (WHERE ${col} IS NULL) AS DOUBLE) / greatest(count(*), 1)`;
    case 'mean':
      return `avg(TRY_CAST(${col} AS DOUBLE))`;
    default:
      return null;
  }
}

/** The number of distinct non-null values of `column` in `view`, by a (spillable) GROUP BY. */
async function distinctCount(engine: TableEngine, view: string, column: string): Promise<number | null> {
  const col = quoteIdent(column);
  const [r] = await engine.query<Record<string, unknown>>(`SELECT count(*) AS "n" FROM (SELECT ${col} FROM ${quoteIdent(view)} WHERE ${col} IS NOT NULL GROUP BY ${col})`);
  return num(r!.n);
}

/** The drift metric `metric` of the check at index `i`: from the scan's row, or its own GROUP BY. */
async function driftValue(engine: TableEngine, view: string, c: Extract<CheckSpec, { kind: 'drift' }>, row: Record<string, unknown>, key: string): Promise<number | null> {
  return driftExpr(c.metric, c.column) === null ? distinctCount(engine, view, c.column!) : num(row[key]);
}

/** Run `checks` over the table attached as `ctx.view`; one result per check, in order. */
export async function runChecks(
  engine: TableEngine,
  ctx: CheckContext,
  checks: readonly CheckSpec[],
  base: { path: string; object: string; commit: string | null },
): Promise<CheckResult[]> {
  const t = quoteIdent(ctx.view);
  const have = new Map(ctx.columns.map((c) => [c.name, c.type]));
  const results: CheckResult[] = checks.map((c) => {
    const cols = referencedColumns(c);
    return { ...base, name: c.name, kind: c.kind, ...(cols.length ? { columns: cols } : {}), severity: c.severity, status: 'pass', failing: 0, sample: [], metrics: {} };
  });
  const verdict = (r: CheckResult, failing: number) => {
    r.failing = failing;
    r.status = failing === 0 ? 'pass' : r.severity === 'error' ? 'fail' : 'warn';
  };
  const runnable: number[] = [];
  checks.forEach((c, i) => {
    const missing = referencedColumns(c).filter((col) => !have.has(col));
    if (missing.length) {
      results[i]!.status = 'error';
      results[i]!.message = `no column ${missing.map((m) => JSON.stringify(m)).join(', ')} in ${base.path} (columns: ${[...have.keys()].join(', ')})`;
    } else runnable.push(i);
  });

  // One scan for every aggregate kind.
  const aggs: string[] = ['count(*) AS "n"'];
  for (const i of runnable) {
    const c = checks[i]!;
    const pred = failPredicate(c);
    if (pred) aggs.push(`count(*) FILTER (WHERE ${pred}) AS "f${i}"`);
    else if (c.kind === 'freshness') aggs.push(`max(${quoteIdent(c.column)}) AS "f${i}"`);
    else if (c.kind === 'drift') {
      const e = driftExpr(c.metric, c.column);
      if (e !== null) aggs.push(`${e} AS "f${i}"`);
    }
  }
  const [agg] = await engine.query<Record<string, unknown>>(`SELECT ${aggs.join(', ')} FROM ${t}`);
  const rowCount = num(agg!.n) ?? 0;

  // The previous version's drift metrics, in one scan of it (attached once).
  const drifts = runnable.filter((i) => checks[i]!.kind === 'drift');
  let previous: Record<string, unknown> | null = null;
  if (drifts.length > 0 && (await ctx.attachPrevious('prev'))) {
    const exprs = ['count(*) AS "n"'];
    for (const i of drifts) {
      const c = checks[i] as Extract<CheckSpec, { kind: 'drift' }>;
      const e = driftExpr(c.metric, c.column);
      if (e !== null) exprs.push(`${e} AS "p${i}"`);
    }
    [previous] = await engine.query<Record<string, unknown>>(`SELECT ${exprs.join(', ')} FROM "prev"`);
  }

  // Unique checks with fewer columns run first, so that a proven key spares its supersets a GROUP BY.
  const proven: string[][] = [];
  const width = (i: number) => { const c = checks[i]!; return c.kind === 'unique' ? c.columns.length : 0; };
  const order = [...runnable].sort((a, b) => width(a) - width(b) || a - b);
  for (const i of order) {
    const c = checks[i]!;
    const r = results[i]!;
    const pred = failPredicate(c);
    if (pred) {
      verdict(r, num(agg![`f${i}`]) ?? 0);
      r.metrics = { rows: rowCount };
      if (r.failing > 0) r.sample = (await engine.query<Record<string, unknown>>(`SELECT * FROM ${t} WHERE ${pred} LIMIT ${SAMPLE}`)).map(jsonable);
      continue;
    }
    switch (c.kind) {
      case 'row_count': {
        r.metrics = { rows: rowCount };
        const expected: string[] = [];
        if (c.min !== undefined && rowCount < c.min) expected.push(`at least ${c.min}`);
        if (c.max !== undefined && rowCount > c.max) expected.push(`at most ${c.max}`);
        if (c.sameAs !== undefined) {
          const other = `rc_${i}`;
          if (!(await ctx.attachOther(other, c.sameAs))) {
            r.status = 'error';
            r.message = `${c.sameAs} is not a tracked table here`;
            break;
          }
          const [o] = await engine.query<Record<string, unknown>>(`SELECT count(*) AS "n" FROM ${quoteIdent(other)}`);
          const want = num(o!.n) ?? 0;
          r.metrics.same_as_rows = want;
          if (want !== rowCount) expected.push(`${want} as in ${c.sameAs}`);
        }
        verdict(r, expected.length ? 1 : 0);
        if (expected.length) r.message = `${rowCount} rows, expected ${expected.join(' and ')}`;
        break;
      }
      case 'columns': {
        const problems: Array<Record<string, unknown>> = [];
        for (const col of c.columns) {
          const got = have.get(col.name);
          if (got === undefined) problems.push({ column: col.name, expected: col.type ?? 'present', found: 'missing' });
          else if (col.type !== null && got.toUpperCase() !== col.type) problems.push({ column: col.name, expected: col.type, found: got });
        }
        verdict(r, problems.length);
        r.sample = problems.slice(0, SAMPLE);
        r.metrics = { columns: ctx.columns.length };
        break;
      }
      case 'unique': {
        // Columns that hold a unique subset are unique (a proven key plus more columns): no GROUP BY.
        const implied = proven.find((set) => set.every((col) => c.columns.includes(col)));
        if (implied) {
          verdict(r, 0);
          r.metrics = { rows: rowCount, duplicate_groups: 0 };
          r.message = `implied by unique(${implied.join(',')}) in the same run`;
          break;
        }
        const cols = c.columns.map(quoteIdent).join(', ');
        const dup = `SELECT ${cols}, count(*) AS "count" FROM ${t} GROUP BY ${cols} HAVING count(*) > 1`;
        const [s] = await engine.query<Record<string, unknown>>(`SELECT count(*) AS "groups", coalesce(sum("count"), 0) AS "rows" FROM (${dup})`);
        verdict(r, num(s!.rows) ?? 0);
        if (r.failing === 0) proven.push(c.columns);
        r.metrics = { rows: rowCount, duplicate_groups: num(s!.groups) };
        if (r.failing > 0) r.sample = (await engine.query<Record<string, unknown>>(`${dup} ORDER BY "count" DESC, ${cols} LIMIT ${SAMPLE}`)).map(jsonable);
        break;
      }
      case 'freshness': {
        const newest = num(agg![`f${i}`]);
        const ref = c.since === 'commit' ? ctx.commitTime : ctx.now;
        const raw = agg![`f${i}`];
        r.metrics = { newest: raw instanceof Date ? raw.toISOString() : raw === null || raw === undefined ? null : String(raw), max_age_ms: c.maxAgeMs };
        const stale = newest === null || ref - newest > c.maxAgeMs;
        verdict(r, stale ? 1 : 0);
        if (stale) r.message = newest === null ? `no timestamp in ${c.column}` : `newest ${c.column} is ${Math.round((ref - newest) / 3_600_000)}h older than ${c.since === 'commit' ? 'the commit' : 'now'}`;
        break;
      }
      case 'foreign_key': {
        const other = `fk_${i}`;
        if (!(await ctx.attachOther(other, c.toPath))) {
          r.status = 'error';
          r.message = `${c.toPath} is not a tracked table here`;
          break;
        }
        const o = quoteIdent(other);
        const pred = `${quoteIdent(c.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${o} WHERE ${o}.${quoteIdent(c.toColumn)} = ${t}.${quoteIdent(c.column)})`;
        const [s] = await engine.query<Record<string, unknown>>(`SELECT count(*) AS "n" FROM ${t} WHERE ${pred}`);
        verdict(r, num(s!.n) ?? 0);
        r.metrics = { rows: rowCount };
        if (r.failing > 0) r.sample = (await engine.query<Record<string, unknown>>(`SELECT * FROM ${t} WHERE ${pred} LIMIT ${SAMPLE}`)).map(jsonable);
        break;
      }
      case 'sql': {
        const q = c.query.replace(/\bt\b/g, t);
        try {
          const [s] = await engine.query<Record<string, unknown>>(`SELECT count(*) AS "n" FROM (${q})`);
          verdict(r, num(s!.n) ?? 0);
          if (r.failing > 0) r.sample = (await engine.query<Record<string, unknown>>(`SELECT * FROM (${q}) LIMIT ${SAMPLE}`)).map(jsonable);
        } catch (e) {
          r.status = 'error';
          r.message = (e as Error).message;
        }
        break;
      }
      case 'drift': {
        const cur = await driftValue(engine, ctx.view, c, agg!, `f${i}`);
        if (previous === null) {
          r.metrics = { current: cur, previous: null };
          r.message = 'no previous version to compare with';
          break;
        }
        const before = await driftValue(engine, 'prev', c, previous, `p${i}`);
        const changePct = before === null || cur === null ? null : before === 0 ? (cur === 0 ? 0 : Infinity) : (Math.abs(cur - before) / Math.abs(before)) * 100;
        r.metrics = { current: cur, previous: before, change_pct: changePct === null || !Number.isFinite(changePct) ? changePct === null ? null : 'inf' : Math.round(changePct * 100) / 100 };
        const bad = changePct !== null && changePct > c.maxChangePct;
        verdict(r, bad ? 1 : 0);
        if (bad) r.message = `${c.metric}${c.column ? ` of ${c.column}` : ''} changed ${Number.isFinite(changePct) ? changePct.toFixed(1) : '∞'}% (${before} → ${cur}), more than ${c.maxChangePct}%`;
        break;
      }
    }
  }
  return results;
}
