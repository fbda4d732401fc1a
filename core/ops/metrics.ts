/**
 * `strata metrics show [REF...]` and `strata metrics diff [A [B]]`: the JSON outputs of type
 * `metrics` (from strata.yaml and from recorded runs), read from the workspace or from commits,
 * flattened to dotted keys.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import { compareNames, parseManifest, type Id } from '../model/index.js';
import { loadPipeline } from '../pipeline/spec.js';
import type { Repository } from '../repo/index.js';
import { resolveRev } from '../repo/refs.js';
import { entryAt, flattenTree } from '../repo/tree.js';

export type MetricValue = number | string | boolean | null;

export interface MetricsFile {
  path: string;
  /** Dotted key -> value (nested objects and arrays flattened: `a.b`, `list.0`). */
  values: Record<string, MetricValue>;
  /** Set when the file is absent from that version. */
  missing?: boolean;
  /** Set when the file is not valid JSON. */
  error?: string;
}

export interface MetricsSnapshot {
  /** What the user named: a revision, or `workspace`. */
  ref: string;
  /** The commit read, or null for the workspace. */
  commit: Id | null;
  files: MetricsFile[];
}

/** Flatten JSON to dotted keys. */
function flattenMetrics(v: unknown, prefix = '', out: Record<string, MetricValue> = {}): Record<string, MetricValue> {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') {
    out[prefix || '(value)'] = v;
    return out;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => flattenMetrics(x, prefix ? `${prefix}.${i}` : String(i), out));
    return out;
  }
  if (typeof v === 'object') {
    for (const k of Object.keys(v as object).sort(compareNames)) flattenMetrics((v as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

/** Metrics paths: type-metrics outputs of strata.yaml, then those known from runs. */
async function metricsPaths(repo: Repository): Promise<string[]> {
  const paths = new Set<string>();
  const spec = await loadPipeline(repo.root).catch(() => null);
  for (const s of spec?.stages ?? []) for (const o of s.outs) if (o.type === 'metrics') paths.add(o.path);
  for (const p of repo.db.versionPaths({ type: 'metrics' })) paths.add(p);
  return [...paths].sort(compareNames);
}

function parseFile(path: string, text: string): MetricsFile {
  try {
    return { path, values: flattenMetrics(JSON.parse(text)) };
  } catch (e) {
    return { path, values: {}, error: `not valid JSON: ${(e as Error).message}` };
  }
}

async function readBlob(repo: Repository, id: Id, chunks: Id | null | undefined): Promise<string> {
  if (!chunks) return (await repo.store.getBytes(id, { verify: true })).toString('utf8');
  const m = parseManifest(await repo.store.getBytes(chunks, { verify: true }), { id: chunks });
  const parts: Buffer[] = [];
  for (const [cid] of m.chunks) parts.push(await repo.store.getBytes(cid));
  return Buffer.concat(parts).toString('utf8');
}

async function snapshot(repo: Repository, ref: string | null, paths: string[]): Promise<MetricsSnapshot> {
  const files: MetricsFile[] = [];
  if (ref === null) {
    for (const p of paths) {
      const abs = join(repo.root, p);
      const st = await fsp.stat(abs).catch(() => null);
      if (!st) files.push({ path: p, values: {}, missing: true });
      else if (st.isDirectory()) {
        for (const f of await listJson(abs, p)) files.push(parseFile(f, await fsp.readFile(join(repo.root, f), 'utf8')));
      } else files.push(parseFile(p, await fsp.readFile(abs, 'utf8')));
    }
    return { ref: 'workspace', commit: null, files };
  }
  const commit = await resolveRev(repo, ref);
  const tree = (await repo.readCommit(commit)).tree;
  for (const p of paths) {
    const e = await entryAt(repo, tree, p);
    if (!e) files.push({ path: p, values: {}, missing: true });
    else if (e.type === 'dir') {
      for (const [fp, r] of await flattenTree(repo, tree, p)) if (fp.endsWith('.json')) files.push(parseFile(fp, await readBlob(repo, r.id, r.chunks)));
    } else if (e.type === 'file') files.push(parseFile(p, await readBlob(repo, e.id, e.chunks)));
  }
  return { ref, commit, files };
}

async function listJson(abs: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fsp.readdir(abs, { withFileTypes: true })) {
    if (d.isDirectory()) out.push(...(await listJson(join(abs, d.name), `${rel}/${d.name}`)));
    else if (d.isFile() && d.name.endsWith('.json')) out.push(`${rel}/${d.name}`);
  }
  return out.sort(compareNames);
}

/** Metrics of each ref (none given: the workspace). */
export async function metricsShow(repo: Repository, refs: string[] = []): Promise<MetricsSnapshot[]> {
    const paths = await metricsPaths(repo);
  if (paths.length === 0) {
    throw new StrataError('PATH_NOT_FOUND', 'no metrics files known', { hint: 'declare them under "metrics:" of a stage in strata.yaml, or record one with strata run --metrics FILE' });
  }
  const out: MetricsSnapshot[] = [];
  for (const r of refs.length ? refs : [null]) out.push(await snapshot(repo, r, paths));
  return out;
}

export interface MetricsDiffRow {
  path: string;
  key: string;
  old: MetricValue | undefined;
  new: MetricValue | undefined;
  /** new - old when both are numbers. */
  change: number | null;
  changed: boolean;
}

export interface MetricsDiffResult {
  a: { ref: string; commit: Id | null };
  b: { ref: string; commit: Id | null };
  rows: MetricsDiffRow[];
}

/** Compare metrics of A (default HEAD) and B (default the workspace). */
export async function metricsDiff(repo: Repository, a?: string, b?: string): Promise<MetricsDiffResult> {
    const paths = await metricsPaths(repo);
  if (paths.length === 0) {
    throw new StrataError('PATH_NOT_FOUND', 'no metrics files known', { hint: 'declare them under "metrics:" of a stage in strata.yaml' });
  }
  const sa = await snapshot(repo, a ?? 'HEAD', paths);
  const sb = await snapshot(repo, b ?? null, paths);
  const rows: MetricsDiffRow[] = [];
  const files = [...new Set([...sa.files, ...sb.files].map((f) => f.path))].sort(compareNames);
  for (const f of files) {
    const va = sa.files.find((x) => x.path === f)?.values ?? {};
    const vb = sb.files.find((x) => x.path === f)?.values ?? {};
    for (const key of [...new Set([...Object.keys(va), ...Object.keys(vb)])].sort(compareNames)) {
      const o = key in va ? va[key] : undefined;
      const n = key in vb ? vb[key] : undefined;
      const change = typeof o === 'number' && typeof n === 'number' ? Number((n - o).toPrecision(12)) : null;
      rows.push({ path: f, key, old: o, new: n, change, changed: o !== n });
    }
  }
  return { a: { ref: sa.ref, commit: sa.commit }, b: { ref: sb.ref, commit: sb.commit }, rows };
}
