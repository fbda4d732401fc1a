/**
 * The `rows` merge driver: a three-way merge of a table by a declared key
 * (`data/*.csv merge=rows key=txn_id`, several columns as `key=a,b`), in DuckDB SQL over the three
 * versions attached from their verified bytes.
 *
 * Per key (B, O, T: the row in base, ours, theirs):
 * - in O and T: merged cell by cell — a cell only one side changed takes that side's value, the
 *   same change on both sides is kept, different changes are a conflict (named by key and column);
 *   a key both sides added is kept when the rows agree, else each differing cell is a conflict;
 * - in one side only, not in B: an added row, kept;
 * - in B and one side only: deleted by the other side; deleted when the remaining side left it
 *   unchanged, else a delete/modify conflict;
 * - in B only: deleted on both sides.
 *
 * Schema (column names, and types for Parquet, whose types are declared; CSV and JSON Lines types
 * are only DuckDB's inference from the values): the same on both sides, or changed on one side
 * only, which then applies — a column added on one side is null in the rows the other side added;
 * changed on both sides differently is a conflict. A missing key column, duplicate keys or a file
 * DuckDB cannot read is a conflict with its reason, never a crash.
 *
 * The result keeps ours' format (CSV/TSV delimiter and header row, Parquet, JSON Lines) and a
 * deterministic order: ours' rows in ours' order, then the rows only theirs added, sorted by key.
 */
import { StrataError } from '../errors/index.js';
import type { Repository } from '../repo/index.js';
import { quoteIdent, tableFormatOf, withTableEngine, type TableColumn, type TableEngine, type TableFormat } from './engine.js';

export interface RowMergeInput {
  path: string;
  /** Raw `key=` parameter of the rule (comma-separated columns). */
  key: string | undefined;
  base: Buffer | null;
  ours: Buffer;
  theirs: Buffer;
}

export type RowMergeResult = { bytes: Buffer } | { conflict: string };

/** Conflicting cells and rows listed in a reason, at most. */
const MAX_LISTED = 5;

type Side = 'base' | 'ours' | 'theirs';
const VIEW: Record<Side, string> = { base: 'strata_rm_base', ours: 'strata_rm_ours', theirs: 'strata_rm_theirs' };
const PREFIX: Record<Side, string> = { base: 'b', ours: 'o', theirs: 't' };

/** The delimiter of a CSV's first line (the most frequent of , ; tab | outside quotes). */
function sniffDelimiter(bytes: Buffer, format: TableFormat): string {
  if (format === 'tsv') return '\t';
  const head = bytes.subarray(0, 64 * 1024).toString('utf8');
  const counts = new Map<string, number>([[',', 0], [';', 0], ['\t', 0], ['|', 0]]);
  let quoted = false;
  for (const ch of head) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best = ',';
  for (const [d, c] of counts) if (c > counts.get(best)!) best = d;
  return best;
}

function sameSchema(a: TableColumn[], b: TableColumn[], typed: boolean): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]!.name && (!typed || c.type === b[i]!.type));
}

function describeSchema(cols: TableColumn[], typed: boolean): string {
  return cols.map((c) => (typed ? `${c.name} ${c.type}` : c.name)).join(', ');
}

/** SQL string literal. */
function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export async function mergeRows(repo: Repository, input: RowMergeInput): Promise<RowMergeResult> {
  const format = tableFormatOf(input.path);
  if (!format) return { conflict: `rows: ${input.path} is not a table (csv, tsv, parquet, pq, jsonl or ndjson)` };
  const keys = (input.key ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (keys.length === 0) return { conflict: 'rows: the rule names no key (write e.g. merge=rows key=txn_id)' };
  try {
    return await withTableEngine(repo, (e) => run(e, format, keys, input));
  } catch (err) {
    if (err instanceof StrataError && (err.code === 'TABLE_UNREADABLE' || err.code === 'TABLE_QUERY_FAILED' || err.code === 'NOT_A_TABLE')) {
      return { conflict: `rows: ${err.message}` };
    }
    throw err;
  }
}

async function run(e: TableEngine, format: TableFormat, keys: string[], input: RowMergeInput): Promise<RowMergeResult> {
  const typed = format === 'parquet';
  const cols: Record<Side, TableColumn[] | null> = { base: null, ours: [], theirs: [] };
  const sides: Side[] = input.base ? ['base', 'ours', 'theirs'] : ['ours', 'theirs'];
  for (const s of sides) cols[s] = await e.attachBytes(VIEW[s], s === 'base' ? input.base! : input[s], format, `${s}'s ${input.path}`);

  // The key: present in every version, unique in every version.
  for (const s of sides) {
    const missing = keys.filter((k) => !cols[s]!.some((c) => c.name === k));
    if (missing.length) return { conflict: `rows: key column ${missing.join(', ')} missing in ${s} (its columns as read: ${describeSchema(cols[s]!, false)})` };
  }
  const keyList = keys.map(quoteIdent).join(', ');
  for (const s of sides) {
    const dup = await e.query<{ k: string; n: number }>(
      `SELECT concat_ws(', ', ${keys.map((k) => `${lit(k + '=')} || coalesce(CAST(${quoteIdent(k)} AS VARCHAR), 'null')`).join(', ')}) AS k, count(*) AS n ` +
        `FROM ${quoteIdent(VIEW[s])} GROUP BY ${keyList} HAVING count(*) > 1 ORDER BY 1 LIMIT ${MAX_LISTED}`,
    );
    if (dup.length) return { conflict: `rows: duplicate key in ${s}: ${dup.map((d) => `${d.k} (${d.n} rows)`).join('; ')}` };
  }

  // The schema of the result.
  const o = cols.ours!;
  const t = cols.theirs!;
  const b = cols.base ?? (sameSchema(o, t, typed) ? o : null);
  if (!b) return { conflict: `rows: added on both sides with different columns (ours: ${describeSchema(o, typed)}; theirs: ${describeSchema(t, typed)})` };
  let result: TableColumn[];
  if (sameSchema(o, t, typed)) result = o;
  else if (sameSchema(b, o, typed)) result = t;
  else if (sameSchema(b, t, typed)) result = o;
  else return { conflict: `rows: columns changed on both sides (base: ${describeSchema(b, typed)}; ours: ${describeSchema(o, typed)}; theirs: ${describeSchema(t, typed)})` };

  const colIndex = (s: Side, name: string): number => (cols[s] ?? b).findIndex((c) => c.name === name);
  const has = (s: Side, name: string): boolean => (s === 'base' && !input.base ? false : colIndex(s, name) >= 0);
  const ref = (s: Side, name: string): string => `${PREFIX[s]}_${colIndex(s, name)}`;
  /** A cell as text for comparisons (NULL when the version has no such column). */
  const text = (s: Side, name: string): string => (has(s, name) ? `CAST(${ref(s, name)} AS VARCHAR)` : 'NULL');
  /** The type a result column is written as: its own, or text when CSV/JSON inference differs. */
  const outType = (c: TableColumn): string => {
    if (typed) return c.type;
    const uniform = (['ours', 'theirs'] as Side[]).every((x) => !has(x, c.name) || cols[x]![colIndex(x, c.name)]!.type === c.type);
    return uniform ? c.type : 'VARCHAR';
  };
  /** A cell typed as the result column (cast only when the versions' types differ). */
  const value = (s: Side, c: TableColumn): string => {
    const type = outType(c);
    if (!has(s, c.name)) return `CAST(NULL AS ${type})`;
    return cols[s]![colIndex(s, c.name)]!.type === type ? ref(s, c.name) : `CAST(${ref(s, c.name)} AS ${type})`;
  };

  // One row per key over the three versions (keys joined as text: inferred types may differ).
  const kk = keys.map((_, i) => `k${i}`);
  const sideCte = (s: Side): string => {
    const proj = cols[s]!.map((c, i) => `${quoteIdent(c.name)} AS ${PREFIX[s]}_${i}`);
    const kproj = keys.map((k, i) => `CAST(${quoteIdent(k)} AS VARCHAR) AS ${PREFIX[s]}_k${i}`);
    return `${PREFIX[s]} AS (SELECT ${[...proj, ...kproj, `row_number() OVER () AS ${PREFIX[s]}_rn`, `true AS ${PREFIX[s]}_p`].join(', ')} FROM ${quoteIdent(VIEW[s])})`;
  };
  const ctes = sides.map(sideCte);
  const keyUnion = sides.map((s) => `SELECT ${kk.map((k) => `${PREFIX[s]}_${k} AS ${k}`).join(', ')} FROM ${PREFIX[s]}`).join(' UNION ');
  const on = (p: string) => kk.map((k) => `${p}.${p}_${k} IS NOT DISTINCT FROM u.${k}`).join(' AND ');
  const joins = sides.map((s) => `LEFT JOIN ${PREFIX[s]} ON ${on(PREFIX[s])}`).join(' ');
  const pb = input.base ? 'b_p' : 'CAST(NULL AS BOOLEAN)';
  const j = `WITH ${ctes.join(', ')}, u AS (${keyUnion}), j AS (SELECT *, ${pb} AS pb FROM u ${joins})`;
  const keyText = `concat_ws(', ', ${keys.map((k, i) => `${lit(k + '=')} || coalesce(k${i}, 'null')`).join(', ')})`;

  // Conflicts: cells changed differently, rows deleted on one side and changed on the other.
  const parts: string[] = [];
  for (const c of result) {
    if (keys.includes(c.name)) continue;
    const vo = text('ours', c.name);
    const vt = text('theirs', c.name);
    const vb = text('base', c.name);
    parts.push(
      `SELECT ${keyText} AS k, ${lit(c.name)} AS col, 'cell' AS kind, ${vo} AS ov, ${vt} AS tv FROM j ` +
        `WHERE o_p AND t_p AND (${vo}) IS DISTINCT FROM (${vt}) AND (pb IS NULL OR ((${vo}) IS DISTINCT FROM (${vb}) AND (${vt}) IS DISTINCT FROM (${vb})))`,
    );
  }
  if (input.base) {
    const changed = (s: Side): string => {
      const common = b.filter((c) => !keys.includes(c.name) && has(s, c.name));
      return common.length ? common.map((c) => `(${text(s, c.name)}) IS DISTINCT FROM (${text('base', c.name)})`).join(' OR ') : 'false';
    };
    parts.push(`SELECT ${keyText} AS k, NULL AS col, 'deleted by theirs, changed by ours' AS kind, NULL AS ov, NULL AS tv FROM j WHERE pb AND o_p AND t_p IS NULL AND (${changed('ours')})`);
    parts.push(`SELECT ${keyText} AS k, NULL AS col, 'deleted by ours, changed by theirs' AS kind, NULL AS ov, NULL AS tv FROM j WHERE pb AND t_p AND o_p IS NULL AND (${changed('theirs')})`);
  }
  const conflictSql = `${j}, c AS (${parts.join(' UNION ALL ')}) SELECT k, col, kind, ov, tv, count(*) OVER () AS total FROM c ORDER BY k, col NULLS FIRST LIMIT ${MAX_LISTED}`;
  const found = await e.query<{ k: string; col: string | null; kind: string; ov: string | null; tv: string | null; total: number }>(conflictSql);
  if (found.length) {
    const shown = (v: string | null) => (v === null ? 'null' : JSON.stringify(v));
    const items = found.map((f) => (f.kind === 'cell' ? `${f.k} column ${f.col} (ours ${shown(f.ov)}, theirs ${shown(f.tv)})` : `${f.k} ${f.kind}`));
    const total = Number(found[0]!.total);
    return { conflict: `rows: ${total} conflict(s) by key ${keys.join(',')}: ${items.join('; ')}${total > found.length ? `; and ${total - found.length} more` : ''}` };
  }

  // The merged rows: ours' order, then theirs' new rows by key.
  const select = result.map((c) => {
    const oc = value('ours', c);
    const tc = value('theirs', c);
    const keep = `pb AND (${text('ours', c.name)}) IS NOT DISTINCT FROM (${text('base', c.name)})`;
    return `CASE WHEN o_p AND t_p AND ${input.base ? keep : 'false'} THEN ${tc} WHEN o_p THEN ${oc} ELSE ${tc} END AS ${quoteIdent(c.name)}`;
  });
  const keepRow = `(o_p AND t_p) OR (o_p AND pb IS NULL) OR (t_p AND pb IS NULL)`;
  const theirsKeys = keys.map((k) => `t_${colIndex('theirs', k)}`).join(', ');
  const outSql = `${j} SELECT ${select.join(', ')} FROM j WHERE ${keepRow} ORDER BY o_rn NULLS LAST, ${theirsKeys}`;
  const opts = format === 'csv' || format === 'tsv' ? { delimiter: sniffDelimiter(input.ours, format) } : undefined;
  return { bytes: await e.exportTo(outSql, format, opts) };
}
