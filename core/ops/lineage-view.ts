/**
 * The lineage graph as the web UI draws it (cytoscape elements with version sizes and small
 * metrics attached), and the search over lineage nodes: the operations behind GET /lineage and
 * GET /lineage/search.
 */
import { StrataError } from '../errors/index.js';
import { getRun, findRun } from '../meta/runs.js';
import { lineageGraph, parseNodeKey, runKey, versionKey, type LineageDirection, type LineageNode, type LineageNodeType, type LineageStart } from '../lineage/graph.js';
import { versionChecks } from '../lineage/quality.js';
import { parseManifest, type Id } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { resolveRev } from '../repo/refs.js';
import { entryAt, verifyTree } from '../repo/tree.js';
import { checkRequestPath } from '../workspace/paths.js';
import type { LineageNodeData, LineageSearchResult, LineageView, SearchHit } from './types.js';

export type { LineageSearchResult, LineageView };

export interface LineageViewOptions {
  /** v:<id>:<path>, r:<run id>, a run id (prefix), or REF:PATH. */
  node: string;
  /** 1..20 (default 3). */
  depth?: number;
  /** up, down or both (default both). */
  direction?: string;
  /** Comma-separated node types to keep (dataset, model, metrics, run). */
  types?: string;
}

const DIRS: Record<string, LineageDirection> = { up: 'upstream', down: 'downstream', both: 'both', upstream: 'upstream', downstream: 'downstream' };
const TYPES: LineageNodeType[] = ['dataset', 'model', 'metrics', 'run'];

function cyNode(n: LineageNode): { data: LineageNodeData } {
  if (n.kind === 'run') {
    return {
      data: {
        id: n.key,
        type: 'run',
        label: n.stage,
        runId: n.id,
        stage: n.stage,
        status: n.status,
        cmd: n.cmd,
        params: n.params,
        code: n.code,
        startedAt: n.started,
        endedAt: n.ended,
        exitCode: n.exitCode,
        cachedFrom: n.cachedFrom,
        depth: n.depth,
      },
    };
  }
  const base = n.path.slice(n.path.lastIndexOf('/') + 1);
  return { data: { id: n.key, type: n.type, label: `${base}@${n.id.slice(0, 8)}`, path: n.path, objectId: n.id, obj: n.obj, depth: n.depth, ...(n.checks ? { checks: n.checks } : {}) } };
}

/** Parse the `node` parameter into a traversal start. */
async function startOf(repo: Repository, node: string): Promise<LineageStart & { obj?: 'file' | 'dir' }> {
  if (node.startsWith('v:') || node.startsWith('r:')) {
    const k = parseNodeKey(node);
    if (k.kind === 'run') return { run: getRun(repo, k.id).id };
    return { version: { path: checkRequestPath(k.path), id: k.id } };
  }
  const colon = node.indexOf(':');
  if (colon < 0) {
    const r = findRun(repo, node);
    if (r) return { run: r.id };
    throw new StrataError('RUN_NOT_FOUND', `no run or lineage node ${JSON.stringify(node)}`, { hint: 'use a node id from a graph (v:<id>:<path>, r:<run id>), a run id, or REF:PATH' });
  }
  const ref = node.slice(0, colon) || 'HEAD';
  const path = checkRequestPath(node.slice(colon + 1));
  if (!path) throw new StrataError('INVALID_ARGUMENT', 'REF:PATH needs a path');
  const commit = await repo.readCommit(await resolveRev(repo, ref));
  const e = await entryAt(repo, commit.tree, path);
  if (!e) throw new StrataError('PATH_NOT_FOUND', `${path} does not exist in ${ref}`);
  return { version: { path, id: e.id }, obj: e.type === 'dir' ? 'dir' : 'file' };
}

export async function lineageView(repo: Repository, opts: LineageViewOptions): Promise<LineageView> {
  const node = opts.node;
  if (!node) throw new StrataError('INVALID_ARGUMENT', 'the node parameter is required', { hint: 'e.g. node=main:models/model.bin or node=r:<run id>' });
  const depth = opts.depth ?? 3;
  if (depth > 20 || depth < 1) throw new StrataError('INVALID_ARGUMENT', `depth must be between 1 and 20, got ${depth}`);
  const dirRaw = opts.direction || 'both';
  const direction = DIRS[dirRaw];
  if (!direction) throw new StrataError('INVALID_ARGUMENT', `direction must be up, down or both, not ${JSON.stringify(dirRaw)}`);
  let nodeTypes: LineageNodeType[] | undefined;
  const typesRaw = opts.types;
  if (typesRaw) {
    nodeTypes = typesRaw.split(',').map((s) => s.trim()).filter(Boolean) as LineageNodeType[];
    for (const t of nodeTypes) if (!TYPES.includes(t)) throw new StrataError('INVALID_ARGUMENT', `unknown node type ${JSON.stringify(t)}`, { hint: `use ${TYPES.join(', ')}` });
  }
  const start = await startOf(repo, node);
  const g = lineageGraph(repo.db, [start], { direction, depth, nodeTypes });
  if (g.roots.length === 0 && 'version' in start) {
    // A version no run used or produced: a graph of just that node.
    const v = start.version;
    const base = v.path.slice(v.path.lastIndexOf('/') + 1);
    const key = `v:${v.id}:${v.path}`;
    const checks = start.obj !== 'dir' ? versionChecks(repo.db, v.path, v.id) : null;
    const nodes = [{ data: { id: key, type: 'dataset', label: `${base}@${v.id.slice(0, 8)}`, path: v.path, objectId: v.id, obj: start.obj, depth: 0, ...(checks ? { checks } : {}) } as LineageNodeData }];
    await annotateVersions(repo, nodes);
    return { root: key, depth, direction: dirRaw, truncated: false, nodes, edges: [] };
  }
  const nodes = g.nodes.map(cyNode);
  await annotateVersions(repo, nodes);
  return {
    root: g.roots[0] ?? null,
    roots: g.roots,
    depth,
    direction: dirRaw,
    truncated: g.truncated,
    nodes,
    edges: g.edges.map((e) => ({ data: { id: `${e.from}->${e.to}`, source: e.from, target: e.to, kind: e.rel } })),
  };
}

// ---------------------------------------------------------------- version sizes and metrics (GET /lineage)

/** Largest metrics output (bytes, a directory's files together) parsed into the `metrics` field. */
const METRICS_MAX_BYTES = 64 * 1024;

type CyData = { data: LineageNodeData };

/**
 * Add `size` to every version node (bytes; a directory's total; null when unknown) and, for
 * metrics nodes of at most 64 KiB, `metrics` (the parsed JSON/YAML; a directory gives an object
 * keyed by file path inside it) or `metricsError` (why not).
 *
 * Sizes of outputs come from the producing run's `outs` (one SQL query for the whole graph);
 * inputs no run produced are sized from the store: a directory's tree (the sum of its entries), a
 * file's object, or its chunk manifest as recorded by a run that used it.
 */
async function annotateVersions(repo: Repository, nodes: CyData[]): Promise<void> {
  const versions = nodes.filter((n) => n.data.type !== 'run' && typeof n.data.objectId === 'string' && typeof n.data.path === 'string');
  if (versions.length === 0) return;
  const pairs = versions.map((n) => [n.data.objectId as string, n.data.path as string]);
  const rows = repo.db.producedSizes(pairs.map(([id, path]) => ({ id: id!, path: path! })));
  const sizes = new Map(rows.map((r) => [versionKey(r.path, r.id), r.size]));
  for (const n of versions) {
    const d = n.data;
    const id = d.objectId as Id;
    const path = d.path as string;
    let size = sizes.get(versionKey(path, id)) ?? null;
    if (typeof size !== 'number') size = await storedSize(repo, path, id, d.obj as string | undefined);
    d.size = size;
    if (d.type === 'metrics') await attachMetrics(repo, d, id, size);
  }
}

async function storedSize(repo: Repository, path: string, id: Id, obj: string | undefined): Promise<number | null> {
  try {
    if (obj !== 'file') {
      const tree = await repo.readTree(id).catch(() => null);
      if (tree) return tree.entries.reduce((n, e) => n + e.size, 0);
      if (obj === 'dir') return null;
    }
    const st = await repo.store.stat(id);
    if (st) return st.size;
    // A chunked file is stored as chunks + manifest: a run that used it recorded the manifest id.
    const chunks = repo.db.usedChunkManifest(path, id);
    if (chunks) return parseManifest(await repo.store.getBytes(chunks, { verify: true })).size;
  } catch {
    // unreadable: unknown size
  }
  return null;
}

function parseMetrics(bytes: Buffer, name: string, yaml: typeof import('yaml') | null): unknown {
  const text = bytes.toString('utf8');
  if (yaml && /\.ya?ml$/i.test(name)) return yaml.parse(text);
  return JSON.parse(text);
}

async function attachMetrics(repo: Repository, d: Record<string, unknown>, id: Id, size: number | null): Promise<void> {
  if (size !== null && size > METRICS_MAX_BYTES) {
    d.metricsError = `larger than ${METRICS_MAX_BYTES} bytes`;
    return;
  }
  const path = d.path as string;
  try {
    const needYaml = async (names: string[]) => (names.some((n) => /\.ya?ml$/i.test(n)) ? await import('yaml') : null);
    if (d.obj === 'dir') {
      const files: Array<{ rel: string; id: Id; size: number }> = [];
      const walk = async (tid: Id, base: string): Promise<void> => {
        for (const e of (await repo.readTree(tid)).entries) {
          const rel = base ? `${base}/${e.name}` : e.name;
          if (e.type === 'dir') await walk(e.id, rel);
          else if (e.type === 'file') files.push({ rel, id: e.id, size: e.size });
        }
      };
      await verifyTree(repo, id);
      await walk(id, '');
      if (files.reduce((n, f) => n + f.size, 0) > METRICS_MAX_BYTES) {
        d.metricsError = `larger than ${METRICS_MAX_BYTES} bytes`;
        return;
      }
      const yaml = await needYaml(files.map((f) => f.rel));
      const out: Record<string, unknown> = {};
      for (const f of files) {
        try {
          out[f.rel] = parseMetrics(await repo.store.getBytes(f.id, { verify: true }), f.rel, yaml);
        } catch {
          // a file in a metrics folder that is not JSON/YAML (a plot, a CSV): left out
        }
      }
      d.metrics = out;
      return;
    }
    const bytes = await repo.store.getBytes(id, { verify: true });
    if (bytes.length > METRICS_MAX_BYTES) {
      d.metricsError = `larger than ${METRICS_MAX_BYTES} bytes`;
      return;
    }
    d.metrics = parseMetrics(bytes, path, await needYaml([path]));
  } catch (e) {
    d.metricsError = e instanceof SyntaxError || (e as Error)?.name === 'YAMLParseError' ? 'not valid JSON' : e instanceof StrataError ? e.message : 'unreadable';
  }
}

// ---------------------------------------------------------------- search (GET /lineage/search)

/** The stored form of a run id prefix (≥ 4 hex digits; dashes where a UUID has them), or null if `q` cannot be one. */
function runIdPrefix(q: string): string | null {
  const s = q.trim().toLowerCase();
  if (!/^[0-9a-f-]{1,36}$/.test(s)) return null;
  const hex = s.replace(/-/g, '');
  if (hex.length < 4 || hex.length > 32) return null;
  let p = '';
  for (let i = 0; i < hex.length; i++) {
    if (i === 8 || i === 12 || i === 16 || i === 20) p += '-';
    p += hex[i];
  }
  return p;
}

/**
 * Search lineage nodes: run id prefix, stage name and version path substrings (case-insensitive
 * for ASCII, LIKE wildcards in `q` taken literally). Ranked: run id prefix, exact stage/path,
 * prefix (of the path or its file name), substring; versions of one path newest first.
 */
export function lineageSearch(repo: Repository, opts: { q: string; limit?: number }): LineageSearchResult {
  const text = (opts.q ?? '').trim();
  if (!text) throw new StrataError('INVALID_ARGUMENT', 'the q parameter is required', { hint: 'e.g. /lineage/search?q=raw.csv' });
  if (text.length > 200) throw new StrataError('INVALID_ARGUMENT', 'q is longer than 200 characters');
  const limit = opts.limit ?? 20;
  const db = repo.db;
  const hits: Array<SearchHit & { rank: number; order: number }> = [];
  const seen = new Set<string>();
  const add = (h: SearchHit, rank: number, order: number) => {
    if (seen.has(h.id)) return;
    seen.add(h.id);
    hits.push({ ...h, rank, order });
  };
  type RunRow = { ref: string; type: string | null; obj: string | null; started: number | null };
  const runHit = (r: RunRow, match: 'run' | 'stage'): SearchHit => ({
    id: runKey(r.ref),
    type: 'run',
    label: r.type ?? '?',
    match,
    runId: r.ref,
    stage: r.type ?? '?',
    status: r.obj ?? undefined,
    startedAt: r.started ?? undefined,
  });

  // Run id prefix: a range over the (kind, ref, path) unique index.
  const prefix = runIdPrefix(text);
  if (prefix) {
    const rows = db.searchRunNodesById(prefix, limit + 1);
    rows.forEach((r, i) => add(runHit(r, 'run'), 0, i));
  }

  // Stage names (run nodes carry the stage in `type`).
  const stages = db.searchRunNodesByStage(text, limit + 1);
  stages.forEach((r, i) => add(runHit(r, 'stage'), r.rank, i));

  // Version paths: exact, prefix of the path or of its last segment, substring; newest version first.
  const paths = db.searchVersionNodesByPath(text, limit + 1);
  paths.forEach((r, i) => {
    const base = r.path.slice(r.path.lastIndexOf('/') + 1);
    add(
      {
        id: versionKey(r.path, r.ref),
        type: (r.type ?? 'dataset') as LineageNodeType,
        label: `${base}@${r.ref.slice(0, 8)}`,
        match: 'path',
        path: r.path,
        objectId: r.ref,
        obj: (r.obj ?? 'file') as 'file' | 'dir',
      },
      r.rank,
      i,
    );
  });

  hits.sort((a, b) => a.rank - b.rank || (a.match === b.match ? a.order - b.order : a.match === 'run' ? -1 : b.match === 'run' ? 1 : a.match === 'stage' ? -1 : 1));
  const truncated = hits.length > limit;
  return { q: text, limit, truncated, nodes: hits.slice(0, limit).map(({ rank: _r, order: _o, ...h }) => h) };
}
