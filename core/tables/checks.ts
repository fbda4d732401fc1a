/**
 * Running checks over one table version with the table engine. The aggregate kinds (not_null,
 * range, accepted_values, regex, row_count, freshness, drift's current metrics) are computed in ONE
 * scan, and drift's previous metrics in one scan of the previous version; unique is a GROUP BY;
 * foreign_key an anti-join; sql counts the rows the query returns. Distinct counts are GROUP BYs,
 * never count(DISTINCT): DuckDB spills a GROUP BY to disk within its memory limit, while a DISTINCT
 * aggregate holds its hash table outside it (a 8M-id count(DISTINCT) doubled the process's RSS).
 * Integer columns of a small range are counted by bitmap instead (core/tables/distinct.ts), in one
 * scan for all of them: a unique integer column then needs no GROUP BY (only a column that has
 * duplicates is grouped, to count and name them).
 * A sample of at most 5 failing rows is read only for checks that fail.
 *
 * Drift metrics are stored by content id and definition (ctx.metrics): a version's metrics are
 * computed once, and the previous version is not read at all when its metrics are stored (as they
 * are once it was checked itself).
 */
import type { TableColumn, TableEngine } from './engine.js';
import { quoteIdent } from './engine.js';
import { bitmapDistinctExpr, isBitmapType } from './distinct.js';
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
  /** The previous version of this path (drift), or null when there is none. */
  previous: {
    /** Its content id. */
    object: string;
    /** Start copying it out (it will be attached): the copy runs while the current version is read. */
    prefetch(): void;
    /** Attach it as `view`. */
    attach(view: string): Promise<TableColumn[]>;
  } | null;
  /** Stored metrics of table versions by content id and definition (metricDefinition); null: none kept. */
  metrics: MetricStore | null;
  /** Commit time (ms) for freshness `since: commit`; now for the staged version. */
  commitTime: number;
  now: number;
}

/** Metrics of table versions, by content id and definition. */
export interface MetricStore {
  /** The stored values among `defs` (a definition absent: never stored, or not readable as a metric). */
  get(object: string, defs: readonly string[]): Map<string, number | null>;
  put(object: string, values: ReadonlyMap<string, number | null>): void;
}

const SAMPLE = 5;

/** Bumped when a metric's meaning changes other than through its SQL (which is part of the definition). */
const METRIC_VERSION = 1;

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

/** The SQL of a (spillable) GROUP BY counting the distinct non-null values of `column` in `view`. */
function distinctSql(view: string, column: string): string {
  const col = quoteIdent(column);
  return `SELECT count(*) AS "n" FROM (SELECT ${col} FROM ${quoteIdent(view)} WHERE ${col} IS NOT NULL GROUP BY ${col})`;
}

/**
 * What a drift metric of a version is, as the key of its stored value: the metric's version, the
 * format the file is read as (the same bytes read as CSV and as TSV are different tables), and the
 * SQL computing it (a distinct count's value does not depend on counting it by bitmap or GROUP BY).
 */
function metricDefinition(format: string, c: Extract<CheckSpec, { kind: 'drift' }>): string {
  return JSON.stringify([METRIC_VERSION, format, c.metric, driftExpr(c.metric, c.column) ?? distinctSql('t', c.column!)]);
}

type Drift = Extract<CheckSpec, { kind: 'drift' }>;

/** Integer columns among `columns` whose distinct values a bitmap can count, read in the scan as min/max/count. */
function bitmapColumns(names: Iterable<string>, types: Map<string, string>): string[] {
  return [...new Set(names)].filter((n) => isBitmapType(types.get(n) ?? ''));
}

/** min, max and non-null count of each bitmap column, as aggregates of a scan (aliases b{j}lo, b{j}hi, b{j}nn). */
function bitmapAggs(cols: string[]): string[] {
  return cols.flatMap((n, j) => [`min(${quoteIdent(n)}) AS "b${j}lo"`, `max(${quoteIdent(n)}) AS "b${j}hi"`, `count(${quoteIdent(n)}) AS "b${j}nn"`]);
}

/** The exact distinct non-null counts of the bitmap columns whose range allows, in one scan of `view`. */
async function bitmapCounts(engine: TableEngine, view: string, cols: string[], types: Map<string, string>, row: Record<string, unknown>): Promise<Map<string, { distinct: number; nonNull: number }>> {
  const out = new Map<string, { distinct: number; nonNull: number }>();
  const exprs: string[] = [];
  const asked: Array<[string, number, number]> = [];
  cols.forEach((n, j) => {
    const nonNull = num(row[`b${j}nn`]) ?? 0;
    if (nonNull === 0) return void out.set(n, { distinct: 0, nonNull });
    const e = bitmapDistinctExpr(n, types.get(n)!, row[`b${j}lo`], row[`b${j}hi`]);
    if (e !== null) {
      asked.push([n, exprs.length, nonNull]);
      exprs.push(`${e} AS "d${exprs.length}"`);
    }
  });
  if (exprs.length) {
    const [d] = await engine.query<Record<string, unknown>>(`SELECT ${exprs.join(', ')} FROM ${quoteIdent(view)}`);
    for (const [n, k, nonNull] of asked) out.set(n, { distinct: num(d![`d${k}`]) ?? 0, nonNull });
  }
  return out;
}

/**
 * The drift metrics of one version: stored ones first, then the aggregate metrics from `row` (a
 * scan's), distinct counts by bitmap or GROUP BY. Returns value by check index, and what was computed.
 */
async function driftValues(
  engine: TableEngine,
  view: string,
  drifts: Array<[number, Drift]>,
  stored: Map<string, number | null>,
  defs: Map<number, string>,
  row: Record<string, unknown>,
  prefix: string,
  bitmap: Map<string, { distinct: number }>,
): Promise<{ values: Map<number, number | null>; computed: Map<string, number | null> }> {
  const values = new Map<number, number | null>();
  const computed = new Map<string, number | null>();
  for (const [i, c] of drifts) {
    const def = defs.get(i)!;
    let v: number | null;
    if (stored.has(def)) v = stored.get(def)!;
    else if (computed.has(def)) v = computed.get(def)!;
    else if (driftExpr(c.metric, c.column) !== null) v = num(row[`${prefix}${i}`]);
    else if (bitmap.has(c.column!)) v = bitmap.get(c.column!)!.distinct;
    else v = num((await engine.query<Record<string, unknown>>(distinctSql(view, c.column!)))[0]!.n);
    if (!stored.has(def)) computed.set(def, v);
    values.set(i, v);
  }
  return { values, computed };
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

  // Drift: which metrics are stored already, for this version and the previous one.
  const drifts: Array<[number, Drift]> = runnable.filter((i) => checks[i]!.kind === 'drift').map((i) => [i, checks[i] as Drift]);
  const format = engine.formatOf(ctx.view) ?? 'table';
  const defs = new Map(drifts.map(([i, c]) => [i, metricDefinition(format, c)]));
  const allDefs = [...new Set(defs.values())];
  const storedNow = drifts.length && ctx.metrics ? ctx.metrics.get(base.object, allDefs) : new Map<string, number | null>();
  const prev = drifts.length ? ctx.previous : null;
  const storedPrev = prev && ctx.metrics ? ctx.metrics.get(prev.object, allDefs) : new Map<string, number | null>();
  const readPrev = prev !== null && allDefs.some((d) => !storedPrev.has(d));
  // The previous version is copied out while this one is scanned.
  if (readPrev) prev.prefetch();

  // Integer columns counted by bitmap: those of single-column unique checks and of distinct counts not stored.
  const distinctCols = (stored: Map<string, number | null>) => drifts.filter(([i, c]) => c.metric === 'distinct_count' && !stored.has(defs.get(i)!)).map(([, c]) => c.column!);
  const uniqueCols = runnable.map((i) => checks[i]!).flatMap((c) => (c.kind === 'unique' && c.columns.length === 1 ? c.columns : []));
  const bitmapNow = bitmapColumns([...uniqueCols, ...distinctCols(storedNow)], have);

  // One scan for every aggregate kind.
  const aggs: string[] = ['count(*) AS "n"', ...bitmapAggs(bitmapNow)];
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
  const bitmap = await bitmapCounts(engine, ctx.view, bitmapNow, have, agg!);
  const now = await driftValues(engine, ctx.view, drifts, storedNow, defs, agg!, 'f', bitmap);

  // The previous version's drift metrics not stored, in one scan of it (attached once).
  let before: Map<number, number | null> | null = null;
  let computedPrev = new Map<string, number | null>();
  if (prev !== null) {
    let row: Record<string, unknown> = {};
    let prevBitmap = new Map<string, { distinct: number }>();
    if (readPrev) {
      const prevCols = new Map((await prev.attach('prev')).map((c) => [c.name, c.type]));
      const cols = bitmapColumns(distinctCols(storedPrev), prevCols);
      const exprs = ['count(*) AS "n"', ...bitmapAggs(cols)];
      for (const [i, c] of drifts) {
        const e = driftExpr(c.metric, c.column);
        if (e !== null && !storedPrev.has(defs.get(i)!)) exprs.push(`${e} AS "p${i}"`);
      }
      [row] = (await engine.query<Record<string, unknown>>(`SELECT ${exprs.join(', ')} FROM "prev"`)) as [Record<string, unknown>];
      prevBitmap = await bitmapCounts(engine, 'prev', cols, prevCols, row);
    }
    const p = await driftValues(engine, 'prev', drifts, storedPrev, defs, row, 'p', prevBitmap);
    before = p.values;
    computedPrev = p.computed;
  }
  if (ctx.metrics) {
    if (now.computed.size) ctx.metrics.put(base.object, now.computed);
    if (prev !== null && computedPrev.size) ctx.metrics.put(prev.object, computedPrev);
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
        // One integer column counted by bitmap: no duplicate when its distinct values are its
        // non-null values and at most one value is null (NULLs group together: two are a duplicate).
        const counted = c.columns.length === 1 ? bitmap.get(c.columns[0]!) : undefined;
        if (counted && counted.distinct === counted.nonNull && rowCount - counted.nonNull <= 1) {
          verdict(r, 0);
          proven.push(c.columns);
          r.metrics = { rows: rowCount, duplicate_groups: 0 };
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
        const cur = now.values.get(i)!;
        if (before === null) {
          r.metrics = { current: cur, previous: null };
          r.message = 'no previous version to compare with';
          break;
        }
        const was = before.get(i)!;
        const changePct = was === null || cur === null ? null : was === 0 ? (cur === 0 ? 0 : Infinity) : (Math.abs(cur - was) / Math.abs(was)) * 100;
        r.metrics = { current: cur, previous: was, change_pct: changePct === null || !Number.isFinite(changePct) ? changePct === null ? null : 'inf' : Math.round(changePct * 100) / 100 };
        const bad = changePct !== null && changePct > c.maxChangePct;
        verdict(r, bad ? 1 : 0);
        if (bad) r.message = `${c.metric}${c.column ? ` of ${c.column}` : ''} changed ${Number.isFinite(changePct) ? changePct.toFixed(1) : '∞'}% (${was} → ${cur}), more than ${c.maxChangePct}%`;
        break;
      }
    }
  }
  return results;
}
