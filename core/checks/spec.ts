/**
 * `strata.checks.yaml`: the declarative data checks kept in the repository, per path or glob.
 *
 * ```yaml
 * tables:
 *   data/transactions.csv:
 *     - kind: unique
 *       columns: [id]
 *     - kind: range
 *       column: amount
 *       min: 0
 *       severity: warn
 * ```
 *
 * Parsing is strict: an unknown key, a missing field or a value of the wrong kind is reported as
 * StrataError('CONFIG_INVALID') whose message starts with `strata.checks.yaml:line:col:` and says
 * what to write instead. Every problem found in one pass is reported (one per line).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Pair, YAMLMap } from 'yaml';
import { StrataError } from '../errors/index.js';
import { hashBytes } from '../hash/index.js';
import { canonicalJson } from '../model/index.js';
import { didYouMean } from '../util/text.js';
import { kindOf } from '../util/yaml-node.js';

export const CHECKS_FILE = 'strata.checks.yaml';

export type CheckKind =
  | 'columns'
  | 'not_null'
  | 'unique'
  | 'accepted_values'
  | 'range'
  | 'regex'
  | 'row_count'
  | 'freshness'
  | 'foreign_key'
  | 'sql'
  | 'drift';

const CHECK_KINDS: readonly CheckKind[] = [
  'columns', 'not_null', 'unique', 'accepted_values', 'range', 'regex', 'row_count', 'freshness', 'foreign_key', 'sql', 'drift',
];

export type Severity = 'error' | 'warn';
export type DriftMetric = 'row_count' | 'null_rate' | 'mean' | 'distinct_count';
const DRIFT_METRICS: readonly DriftMetric[] = ['row_count', 'null_rate', 'mean', 'distinct_count'];

export interface CheckBase {
  /** The name shown in results: the one written, else `kind(columns)`. Unique per path pattern. */
  name: string;
  severity: Severity;
  /** 1-based line of the check in the file (for messages). */
  line: number;
}

export type Bound = number | string;

export type CheckSpec = CheckBase &
  (
    | { kind: 'columns'; columns: Array<{ name: string; type: string | null }> }
    | { kind: 'not_null'; columns: string[] }
    | { kind: 'unique'; columns: string[] }
    | { kind: 'accepted_values'; column: string; values: Array<string | number | boolean> }
    | { kind: 'range'; column: string; min?: Bound; max?: Bound }
    | { kind: 'regex'; column: string; pattern: string }
    | { kind: 'row_count'; min?: number; max?: number; /** Row count equal to this other tracked table's. */ sameAs?: string }
    | { kind: 'freshness'; column: string; maxAgeMs: number; since: 'now' | 'commit' }
    | { kind: 'foreign_key'; column: string; toPath: string; toColumn: string }
    | { kind: 'sql'; query: string }
    | { kind: 'drift'; metric: DriftMetric; column?: string; maxChangePct: number }
  );

export interface TableChecks {
  /** The path or glob as written (`*` within a folder, `**` across folders, `?` one character). */
  pattern: string;
  checks: CheckSpec[];
  line: number;
}

export interface ChecksSpec {
  file: string;
  tables: TableChecks[];
}

interface Issue {
  line: number;
  col: number;
  message: string;
}

const COMMON_KEYS = ['kind', 'name', 'severity'];
const KIND_KEYS: Record<CheckKind, string[]> = {
  columns: ['columns'],
  not_null: ['column', 'columns'],
  unique: ['column', 'columns'],
  accepted_values: ['column', 'values'],
  range: ['column', 'min', 'max'],
  regex: ['column', 'pattern'],
  row_count: ['min', 'max', 'same_as'],
  freshness: ['column', 'max_age', 'since'],
  foreign_key: ['column', 'to'],
  sql: ['query'],
  drift: ['metric', 'column', 'max_change'],
};
const EXAMPLES: Record<CheckKind, string> = {
  columns: '{kind: columns, columns: {id: BIGINT, user: VARCHAR, note: any}}',
  not_null: '{kind: not_null, columns: [user]}',
  unique: '{kind: unique, columns: [id]}',
  accepted_values: '{kind: accepted_values, column: status, values: [ok, refunded]}',
  range: '{kind: range, column: amount, min: 0, max: 10000}',
  regex: "{kind: regex, column: email, pattern: '^[^@]+@[^@]+$'}",
  row_count: '{kind: row_count, min: 1, max: 1000000} or {kind: row_count, same_as: data/clean.csv}',
  freshness: '{kind: freshness, column: ts, max_age: 7d, since: commit}',
  foreign_key: '{kind: foreign_key, column: user, to: {path: data/users.csv, column: id}}',
  sql: "{kind: sql, query: 'select * from t where amount > balance'}",
  drift: '{kind: drift, metric: mean, column: amount, max_change: 10%}',
};

function suggest(word: string, options: readonly string[]): string {
  const best = didYouMean(word, options);
  return best !== undefined ? `; did you mean "${best}"?` : `; one of: ${options.join(', ')}`;
}

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `36h`, `7d`, `90m`, `30s`, `2w` → milliseconds; undefined when not a duration. */
export function parseDuration(s: string): number | undefined {
  const m = DURATION_RE.exec(s.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

class Ctx {
  readonly issues: Issue[] = [];
  constructor(private readonly lc: LineCounter) {}
  line(node: unknown): number {
    const r = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return r ? this.lc.linePos(r[0]).line : 1;
  }
  fail(node: unknown, message: string): void {
    const r = (node as { range?: [number, number, number] } | null | undefined)?.range;
    const { line, col } = r ? this.lc.linePos(r[0]) : { line: 1, col: 1 };
    this.issues.push({ line, col, message });
  }
}


function pairs(ctx: Ctx, map: YAMLMap, allowed: readonly string[], where: string): Map<string, Pair> {
  const out = new Map<string, Pair>();
  for (const p of map.items) {
    const k = isScalar(p.key) ? String(p.key.value) : undefined;
    if (k === undefined) {
      ctx.fail(p.key ?? p.value, `${where}keys must be plain names`);
      continue;
    }
    if (!allowed.includes(k)) {
      ctx.fail(p.key, `${where}unknown key "${k}"${suggest(k, allowed)}`);
      continue;
    }
    out.set(k, p);
  }
  return out;
}

function str(ctx: Ctx, p: Pair | undefined, where: string, key: string, required: boolean): string | undefined {
  if (!p) {
    if (required) return undefined;
    return undefined;
  }
  const v = p.value;
  if (isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number') && String(v.value).trim() !== '') return String(v.value);
  ctx.fail(p.value ?? p.key, `${where}"${key}" must be a non-empty string, found ${kindOf(v)}`);
  return undefined;
}

function strList(ctx: Ctx, p: Pair, where: string, key: string): string[] | undefined {
  const v = p.value;
  if (isScalar(v) && typeof v.value === 'string' && v.value.trim() !== '') return [v.value];
  if (!isSeq(v) || v.items.length === 0) {
    ctx.fail(p.value ?? p.key, `${where}"${key}" must be a list of column names like [id, user], found ${kindOf(v)}`);
    return undefined;
  }
  const out: string[] = [];
  for (const i of v.items) {
    if (isScalar(i) && (typeof i.value === 'string' || typeof i.value === 'number') && String(i.value) !== '') out.push(String(i.value));
    else ctx.fail(i, `${where}"${key}": each entry must be a column name, found ${kindOf(i)}`);
  }
  return out.length === v.items.length ? out : undefined;
}

function bound(ctx: Ctx, p: Pair | undefined, where: string, key: string, numeric: boolean): Bound | undefined | null {
  if (!p) return undefined;
  const v = p.value;
  if (isScalar(v) && typeof v.value === 'number' && Number.isFinite(v.value)) return v.value;
  if (!numeric && isScalar(v) && typeof v.value === 'string' && v.value !== '') return v.value;
  ctx.fail(p.value ?? p.key, `${where}"${key}" must be ${numeric ? 'a number' : 'a number, or a date/time string like "2024-01-01"'}, found ${kindOf(v)}`);
  return null;
}

/** A repository-relative path of another tracked table (foreign_key's `to.path`, row_count's `same_as`). */
function tablePath(ctx: Ctx, p: Pair, raw: string, where: string, key: string): string | undefined {
  const norm = raw.replace(/^\.\//, '');
  if (norm.startsWith('/') || norm.split('/').includes('..')) {
    ctx.fail(p.value ?? p.key, `${where}"${key}" must be a repository-relative path of a tracked table, found ${JSON.stringify(raw)}`);
    return undefined;
  }
  return norm;
}

function column(ctx: Ctx, m: Map<string, Pair>, node: unknown, where: string, kind: CheckKind): string | undefined {
  const p = m.get('column');
  if (!p) {
    ctx.fail(node, `${where}a ${kind} check needs "column", e.g. ${EXAMPLES[kind]}`);
    return undefined;
  }
  return str(ctx, p, where, 'column', true);
}

function parseCheck(ctx: Ctx, node: unknown, where: string): CheckSpec | undefined {
  if (!isMap(node)) {
    ctx.fail(node, `${where}each check must be a map with a "kind", e.g. ${EXAMPLES.not_null}, found ${kindOf(node)}`);
    return undefined;
  }
  const kindPair = node.items.find((p) => isScalar(p.key) && p.key.value === 'kind');
  const kindRaw = kindPair && isScalar(kindPair.value) ? String(kindPair.value.value) : undefined;
  if (kindRaw === undefined) {
    ctx.fail(node, `${where}a check needs "kind" (one of: ${CHECK_KINDS.join(', ')})`);
    return undefined;
  }
  if (!(CHECK_KINDS as readonly string[]).includes(kindRaw)) {
    ctx.fail(kindPair!.value, `${where}unknown check kind "${kindRaw}"${suggest(kindRaw, CHECK_KINDS)}`);
    return undefined;
  }
  const kind = kindRaw as CheckKind;
  const w = `${where}${kind}: `;
  const before = ctx.issues.length;
  const m = pairs(ctx, node, [...COMMON_KEYS, ...KIND_KEYS[kind]], w);
  const sevRaw = str(ctx, m.get('severity'), w, 'severity', false);
  let severity: Severity = 'error';
  if (sevRaw !== undefined) {
    if (sevRaw === 'error' || sevRaw === 'warn') severity = sevRaw;
    else ctx.fail(m.get('severity')!.value, `${w}severity must be "error" or "warn", found ${JSON.stringify(sevRaw)}`);
  }
  const name = str(ctx, m.get('name'), w, 'name', false);
  const base = { severity, line: ctx.line(node) };
  const need = (key: string): Pair | undefined => {
    const p = m.get(key);
    if (!p) ctx.fail(node, `${w}needs "${key}", e.g. ${EXAMPLES[kind]}`);
    return p;
  };
  let spec: CheckSpec | undefined;
  const dflt = (s: string) => name ?? s;
  switch (kind) {
    case 'columns': {
      const p = need('columns');
      if (!p) break;
      const v = p.value;
      const cols: Array<{ name: string; type: string | null }> = [];
      if (isMap(v) && v.items.length > 0) {
        for (const it of v.items) {
          const cname = isScalar(it.key) ? String(it.key.value) : '';
          const t = it.value;
          if (cname === '') ctx.fail(it.key, `${w}column names must be plain strings`);
          else if (t === null || (isScalar(t) && (t.value === null || t.value === 'any'))) cols.push({ name: cname, type: null });
          else if (isScalar(t) && typeof t.value === 'string') cols.push({ name: cname, type: t.value.toUpperCase() });
          else ctx.fail(t, `${w}the type of "${cname}" must be a DuckDB type name like BIGINT, VARCHAR, DOUBLE, TIMESTAMP (or "any"), found ${kindOf(t)}`);
        }
      } else if (isSeq(v) && v.items.length > 0) {
        for (const i of v.items) {
          if (isScalar(i) && typeof i.value === 'string') cols.push({ name: i.value, type: null });
          else ctx.fail(i, `${w}each column must be a name, found ${kindOf(i)}`);
        }
      } else {
        ctx.fail(p.value ?? p.key, `${w}"columns" must map each column to its type, e.g. ${EXAMPLES.columns}, found ${kindOf(v)}`);
        break;
      }
      spec = { ...base, kind, name: dflt(`columns(${cols.map((c) => c.name).join(',')})`), columns: cols };
      break;
    }
    case 'not_null':
    case 'unique': {
      if (m.has('column') && m.has('columns')) {
        ctx.fail(m.get('columns')!.key, `${w}write "column" or "columns", not both`);
        break;
      }
      const p = m.get('columns') ?? m.get('column');
      if (!p) {
        ctx.fail(node, `${w}needs "columns", e.g. ${EXAMPLES[kind]}`);
        break;
      }
      const cols = strList(ctx, p, w, String((p.key as { value: unknown }).value));
      if (cols) spec = { ...base, kind, name: dflt(`${kind}(${cols.join(',')})`), columns: cols };
      break;
    }
    case 'accepted_values': {
      const col = column(ctx, m, node, w, kind);
      const p = need('values');
      if (!p || col === undefined) break;
      const v = p.value;
      if (!isSeq(v) || v.items.length === 0) {
        ctx.fail(p.value ?? p.key, `${w}"values" must be a non-empty list, e.g. [ok, refunded], found ${kindOf(v)}`);
        break;
      }
      const values: Array<string | number | boolean> = [];
      for (const i of v.items) {
        if (isScalar(i) && (typeof i.value === 'string' || typeof i.value === 'number' || typeof i.value === 'boolean')) values.push(i.value);
        else ctx.fail(i, `${w}each value must be a string, number or boolean, found ${kindOf(i)}`);
      }
      if (values.length === v.items.length) spec = { ...base, kind, name: dflt(`accepted_values(${col})`), column: col, values };
      break;
    }
    case 'range': {
      const col = column(ctx, m, node, w, kind);
      const min = bound(ctx, m.get('min'), w, 'min', false);
      const max = bound(ctx, m.get('max'), w, 'max', false);
      if (min === undefined && max === undefined) ctx.fail(node, `${w}needs "min", "max" or both (inclusive), e.g. ${EXAMPLES.range}`);
      if (col === undefined || min === null || max === null || (min === undefined && max === undefined)) break;
      spec = { ...base, kind, name: dflt(`range(${col})`), column: col, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
      break;
    }
    case 'regex': {
      const col = column(ctx, m, node, w, kind);
      const p = need('pattern');
      const pattern = p ? str(ctx, p, w, 'pattern', true) : undefined;
      if (pattern !== undefined) {
        try {
          new RegExp(pattern);
        } catch (e) {
          ctx.fail(p!.value, `${w}"pattern" is not a valid regular expression: ${(e as Error).message}`);
          break;
        }
      }
      if (col !== undefined && pattern !== undefined) spec = { ...base, kind, name: dflt(`regex(${col})`), column: col, pattern };
      break;
    }
    case 'row_count': {
      const min = bound(ctx, m.get('min'), w, 'min', true);
      const max = bound(ctx, m.get('max'), w, 'max', true);
      const sp = m.get('same_as');
      const rawSame = sp ? str(ctx, sp, w, 'same_as', true) : undefined;
      const sameAs = rawSame !== undefined ? tablePath(ctx, sp!, rawSame, w, 'same_as') : undefined;
      if (min === undefined && max === undefined && !sp) ctx.fail(node, `${w}needs "min", "max", "same_as" or a combination, e.g. ${EXAMPLES.row_count}`);
      if (min === null || max === null || (min === undefined && max === undefined && sameAs === undefined)) break;
      spec = {
        ...base,
        kind,
        name: dflt(sameAs !== undefined ? `row_count(same_as ${sameAs})` : 'row_count'),
        ...(min !== undefined ? { min: min as number } : {}),
        ...(max !== undefined ? { max: max as number } : {}),
        ...(sameAs !== undefined ? { sameAs } : {}),
      };
      break;
    }
    case 'freshness': {
      const col = column(ctx, m, node, w, kind);
      const p = need('max_age');
      const raw = p ? str(ctx, p, w, 'max_age', true) : undefined;
      const maxAgeMs = raw !== undefined ? parseDuration(raw) : undefined;
      if (raw !== undefined && maxAgeMs === undefined) ctx.fail(p!.value, `${w}"max_age" must be a duration like 30m, 36h, 7d or 2w, found ${JSON.stringify(raw)}`);
      const sinceRaw = str(ctx, m.get('since'), w, 'since', false) ?? 'now';
      if (sinceRaw !== 'now' && sinceRaw !== 'commit') ctx.fail(m.get('since')!.value, `${w}"since" must be "now" or "commit" (the commit's time), found ${JSON.stringify(sinceRaw)}`);
      if (col !== undefined && maxAgeMs !== undefined && (sinceRaw === 'now' || sinceRaw === 'commit')) {
        spec = { ...base, kind, name: dflt(`freshness(${col})`), column: col, maxAgeMs, since: sinceRaw };
      }
      break;
    }
    case 'foreign_key': {
      const col = column(ctx, m, node, w, kind);
      const p = need('to');
      if (!p || col === undefined) break;
      if (!isMap(p.value)) {
        ctx.fail(p.value ?? p.key, `${w}"to" must be a map {path, column}, e.g. ${EXAMPLES.foreign_key}, found ${kindOf(p.value)}`);
        break;
      }
      const tm = pairs(ctx, p.value, ['path', 'column'], `${w}to: `);
      const toPath = tm.get('path') ? str(ctx, tm.get('path'), `${w}to: `, 'path', true) : undefined;
      const toColumn = tm.get('column') ? str(ctx, tm.get('column'), `${w}to: `, 'column', true) : undefined;
      if (!tm.get('path') || !tm.get('column')) ctx.fail(p.value, `${w}"to" needs both "path" and "column", e.g. ${EXAMPLES.foreign_key}`);
      if (toPath !== undefined && toColumn !== undefined) {
        const norm = tablePath(ctx, tm.get('path')!, toPath, `${w}to: `, 'path');
        if (norm !== undefined) spec = { ...base, kind, name: dflt(`foreign_key(${col})`), column: col, toPath: norm, toColumn };
      }
      break;
    }
    case 'sql': {
      const p = need('query');
      const query = p ? str(ctx, p, w, 'query', true) : undefined;
      if (query !== undefined) spec = { ...base, kind, name: dflt('sql'), query: query.trim().replace(/;\s*$/, '') };
      break;
    }
    case 'drift': {
      const p = need('metric');
      const metricRaw = p ? str(ctx, p, w, 'metric', true) : undefined;
      let metric: DriftMetric | undefined;
      if (metricRaw !== undefined) {
        if ((DRIFT_METRICS as readonly string[]).includes(metricRaw)) metric = metricRaw as DriftMetric;
        else ctx.fail(p!.value, `${w}unknown metric "${metricRaw}"${suggest(metricRaw, DRIFT_METRICS)}`);
      }
      const col = m.has('column') ? str(ctx, m.get('column'), w, 'column', true) : undefined;
      if (metric && metric !== 'row_count' && !m.has('column')) ctx.fail(node, `${w}metric ${metric} needs "column", e.g. ${EXAMPLES.drift}`);
      if (metric === 'row_count' && m.has('column')) ctx.fail(m.get('column')!.key, `${w}metric row_count takes no "column"`);
      const mc = need('max_change');
      let pct: number | undefined;
      if (mc) {
        const v = mc.value;
        const s = isScalar(v) ? String(v.value).trim() : '';
        const n = /^\d+(\.\d+)?%?$/.test(s) ? Number(s.replace('%', '')) : NaN;
        if (Number.isFinite(n)) pct = n;
        else ctx.fail(mc.value ?? mc.key, `${w}"max_change" must be a percentage like 10% (or the number 10), found ${kindOf(v)}`);
      }
      if (metric && pct !== undefined && (metric === 'row_count' || col !== undefined)) {
        spec = { ...base, kind, name: dflt(`drift(${metric}${col ? ',' + col : ''})`), metric, ...(col !== undefined ? { column: col } : {}), maxChangePct: pct };
      }
      break;
    }
  }
  return ctx.issues.length === before ? spec : undefined;
}

/** Parse the text of `strata.checks.yaml`; throws CONFIG_INVALID naming every problem. */
export function parseChecks(text: string, file: string = CHECKS_FILE): ChecksSpec {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const ctx = new Ctx(lc);
  for (const e of doc.errors) {
    const { line, col } = lc.linePos(e.pos[0]);
    ctx.issues.push({ line, col, message: `not valid YAML: ${e.message.split('\n')[0]}` });
  }
  const tables: TableChecks[] = [];
  if (doc.errors.length === 0) {
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) {
      // An empty file declares no checks.
    } else if (!isMap(root)) {
      ctx.fail(root, `the file must be a map with a "tables" key, e.g. tables: {data/t.csv: [${EXAMPLES.not_null}]}, found ${kindOf(root)}`);
    } else {
      const top = pairs(ctx, root, ['tables'], '');
      const t = top.get('tables');
      if (t && !isMap(t.value)) ctx.fail(t.value ?? t.key, `"tables" must map each path or glob to a list of checks, found ${kindOf(t.value)}`);
      else if (t && isMap(t.value)) {
        for (const p of t.value.items) {
          const pattern = isScalar(p.key) ? String(p.key.value) : '';
          if (pattern === '' || pattern.startsWith('/') || pattern.split('/').includes('..')) {
            ctx.fail(p.key, `table paths must be repository-relative paths or globs like data/*.csv, found ${kindOf(p.key)}`);
            continue;
          }
          const where = `${pattern}: `;
          if (!isSeq(p.value) || p.value.items.length === 0) {
            ctx.fail(p.value ?? p.key, `${where}must be a list of checks, e.g. "- ${EXAMPLES.not_null}", found ${kindOf(p.value)}`);
            continue;
          }
          const checks: CheckSpec[] = [];
          const names = new Set<string>();
          for (const item of p.value.items) {
            const c = parseCheck(ctx, item, where);
            if (!c) continue;
            if (names.has(c.name)) {
              ctx.fail(item, `${where}two checks are named "${c.name}"; give one a "name"`);
              continue;
            }
            names.add(c.name);
            checks.push(c);
          }
          tables.push({ pattern: pattern.replace(/^\.\//, ''), checks, line: ctx.line(p.key) });
        }
      }
    }
  }
  if (ctx.issues.length > 0) {
    const sorted = [...ctx.issues].sort((a, b) => a.line - b.line || a.col - b.col);
    throw new StrataError('CONFIG_INVALID', sorted.map((i) => `${file}:${i.line}:${i.col}: ${i.message}`).join('\n'), {
      hint: `fix ${file} (docs/checks.md lists every check kind and its keys)`,
      details: { file, line: sorted[0]!.line },
    });
  }
  return { file, tables };
}

function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The checks that apply to `path`: those of every pattern matching it, in file order. */
export function checksFor(spec: ChecksSpec, path: string): CheckSpec[] {
  const out: CheckSpec[] = [];
  for (const t of spec.tables) if (globRegex(t.pattern).test(path)) out.push(...t.checks);
  return out;
}

/** Hash of the checks applying to one path (the result cache key, with the file's object id). */
export function checksHash(checks: readonly CheckSpec[]): string {
  return hashBytes(canonicalJson(checks.map((c) => ({ ...c, line: 0 }))));
}
