/**
 * Lineage graph queries over the metadata store: which runs produced a version and from what
 * (upstream), which runs and versions were built from it (downstream). Traversals are
 * MetaStore.lineageWalk (a recursive CTE over `lineage_edges` on SQLite) with a depth limit, so
 * their cost grows with the answer, not with the number of runs.
 *
 * Used by `strata lineage` (core/ops/lineage.ts) and by the server's HTTP lineage API. Also holds
 * the pure renderers (text tree, Graphviz dot, Mermaid).
 *
 * Depth counts runs: upstream depth 1 of a version is the run(s) that produced it plus their
 * inputs; depth 2 adds the runs that produced those inputs and their inputs, and so on.
 */
import { StrataError } from '../errors/index.js';
import type { MetaStore } from '../meta/interface.js';
import { parseRun, type OutKind, type RunStatus } from '../meta/runs.js';
import type { Id } from '../model/index.js';
import { checksLine, versionChecks, type VersionChecks } from './quality.js';

export type LineageDirection = 'upstream' | 'downstream' | 'both';
export type LineageNodeType = OutKind | 'run';

export interface VersionNode {
  /** Stable key: `v:<content id>:<path>`. */
  key: string;
  kind: 'version';
  path: string;
  /** Content id (blob id of a file, tree id of a directory). */
  id: Id;
  type: OutKind;
  obj: 'file' | 'dir';
  /** Hops (in runs) from the nearest start node; 0 for start nodes. */
  depth: number;
  /** The newest data check results recorded for this version (files only); absent when none judged it. */
  checks?: VersionChecks;
}

export interface RunNode {
  /** Stable key: `r:<run id>`. */
  key: string;
  kind: 'run';
  id: string;
  stage: string;
  status: RunStatus;
  cmd: string;
  params: Record<string, unknown>;
  code: { commit: string | null; branch: string | null; dirty: boolean } | null;
  started: number;
  ended: number;
  exitCode: number | null;
  cachedFrom: string | null;
  depth: number;
}

export type LineageNode = VersionNode | RunNode;

export interface LineageEdge {
  /**
   * Node keys. `used`: version -> run; `produced`: run -> version; `derived`: a path through nodes
   * hidden by a `nodeTypes` filter.
   */
  from: string;
  to: string;
  rel: 'used' | 'produced' | 'derived';
}

export interface LineageGraph {
  /** Keys of the start nodes. */
  roots: string[];
  direction: LineageDirection;
  /** The depth limit applied (in runs); null = unlimited. */
  depth: number | null;
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** True when the depth limit cut the graph (more lineage exists beyond it). */
  truncated: boolean;
}

export interface LineageQuery {
  direction?: LineageDirection;
  /** Maximum depth in runs (default unlimited). 0 returns the start nodes only. */
  depth?: number | null;
  /**
   * Keep only these node types in the answer (display filter applied after the traversal; edges
   * touching removed nodes are dropped). Default: all.
   */
  nodeTypes?: readonly LineageNodeType[];
}

/** Where a traversal starts: a version (path + content id), a run id, or a raw node row id. */
export type LineageStart = { version: { path: string; id: Id } } | { run: string } | { nodeId: number };

export const versionKey = (path: string, id: Id): string => `v:${id}:${path}`;
export const runKey = (runId: string): string => `r:${runId}`;

/** Parse a node key back into what it names. */
export function parseNodeKey(key: string): { kind: 'version'; id: Id; path: string } | { kind: 'run'; id: string } {
  if (key.startsWith('r:')) return { kind: 'run', id: key.slice(2) };
  const m = /^v:([0-9a-f]{64}):(.+)$/.exec(key);
  if (!m) throw new StrataError('INVALID_ARGUMENT', `not a lineage node key: ${JSON.stringify(key)}`, { hint: 'keys look like v:<id>:<path> or r:<run id>' });
  return { kind: 'version', id: m[1]!, path: m[2]! };
}

const UNLIMITED_EDGES = 100_000;

/** Row ids of version nodes for a path (all versions, or one content id). */
function versionNodeIds(db: MetaStore, path: string, id?: Id): number[] {
  return db.versionNodeIds(path, id);
}

/** True when the graph knows this version (some run used or produced it). */
export function hasVersion(db: MetaStore, path: string, id: Id): boolean {
  return db.versionNodeIds(path, id).length > 0;
}

/** Paths of directory versions known to the graph (for matching commits, whose dirs are trees). */
export function dirVersionPaths(db: MetaStore): string[] {
  return db.versionPaths({ obj: 'dir' });
}

function startIds(db: MetaStore, starts: readonly LineageStart[]): Array<{ id: number; isRun: boolean }> {
  const out: Array<{ id: number; isRun: boolean }> = [];
  for (const s of starts) {
    if ('nodeId' in s) {
      const kind = db.lineageNodeKind(s.nodeId);
      if (kind) out.push({ id: s.nodeId, isRun: kind === 'run' });
    } else if ('run' in s) {
      const id = db.runNodeId(s.run);
      if (id !== null) out.push({ id, isRun: true });
    } else {
      for (const id of versionNodeIds(db, s.version.path, s.version.id)) out.push({ id, isRun: false });
    }
  }
  return out;
}

/**
 * The lineage around `starts`. Unknown starts are ignored (the graph is then empty). Throws
 * INVALID_ARGUMENT on a bad depth or direction.
 */
export function lineageGraph(db: MetaStore, starts: readonly LineageStart[], query: LineageQuery = {}): LineageGraph {
  const direction = query.direction ?? 'upstream';
  if (!['upstream', 'downstream', 'both'].includes(direction)) {
    throw new StrataError('INVALID_ARGUMENT', `unknown lineage direction ${JSON.stringify(direction)}`, { hint: 'use upstream, downstream or both' });
  }
  const depth = query.depth ?? null;
  if (depth !== null && (!Number.isInteger(depth) || depth < 0)) {
    throw new StrataError('INVALID_ARGUMENT', `lineage depth must be a whole number >= 0, got ${depth}`, { hint: 'e.g. --depth 3' });
  }
  const seeds = startIds(db, starts);
  // Edge budget: a version start needs 2 edges per run level; a run start is already one level in.
  const maxEdges = depth === null ? UNLIMITED_EDGES : 2 * depth;
  const seedRows = seeds.map((s) => ({ id: s.id, offset: s.isRun && depth !== null && depth > 0 ? 1 : 0 }));
  const hops = new Map<number, number>();
  const dirs: Array<'up' | 'down'> = direction === 'both' ? ['up', 'down'] : [direction === 'upstream' ? 'up' : 'down'];
  const reached: Record<'up' | 'down', Map<number, number>> = { up: new Map(), down: new Map() };
  for (const d of dirs) {
    reached[d] = seeds.length ? db.lineageWalk(seedRows, d, maxEdges) : new Map();
    for (const [n, h] of reached[d]) hops.set(n, Math.min(hops.get(n) ?? Infinity, h));
  }
  for (const s of seeds) hops.set(s.id, 0);

  // Node details.
  const ids = [...hops.keys()];
  const nodeRows = db.lineageNodes(ids);
  const keyOf = new Map<number, string>();
  const nodes: LineageNode[] = [];
  for (const r of nodeRows) {
    const h = hops.get(r.id) ?? 0;
    if (r.kind === 'version') {
      const key = versionKey(r.path, r.ref);
      keyOf.set(r.id, key);
      const obj = (r.obj ?? 'file') as 'file' | 'dir';
      const checks = obj === 'file' ? versionChecks(db, r.path, r.ref) : null;
      nodes.push({ key, kind: 'version', path: r.path, id: r.ref, type: (r.type ?? 'dataset') as OutKind, obj, depth: Math.ceil(h / 2), ...(checks ? { checks } : {}) });
    } else {
      const key = runKey(r.ref);
      keyOf.set(r.id, key);
      const rec = r.record ? parseRun(r.record) : null;
      nodes.push({
        key,
        kind: 'run',
        id: r.ref,
        stage: rec?.stage ?? r.type ?? '?',
        status: rec?.status ?? ((r.obj ?? 'ok') as RunStatus),
        cmd: rec?.cmd ?? '',
        params: rec?.params ?? {},
        code: rec?.code ? { commit: rec.code.commit, branch: rec.code.branch, dirty: rec.code.dirty } : null,
        started: rec?.started ?? 0,
        ended: rec?.ended ?? 0,
        exitCode: rec?.exitCode ?? null,
        cachedFrom: rec?.cachedFrom ?? null,
        depth: Math.ceil(h / 2),
      });
    }
  }

  // Edges along the traversed directions, between reached nodes.
  const edgeRows: Array<{ src: number; dst: number; rel: 'used' | 'produced' }> = [];
  const seenEdge = new Set<string>();
  for (const d of dirs) {
    const set = reached[d];
    if (set.size === 0) continue;
    const rows = db.lineageEdgesAmong([...set.keys()]);
    for (const e of rows) {
      // An edge belongs to the walk when its far end is one hop further than its near end allows.
      const near = d === 'up' ? e.dst : e.src;
      if ((set.get(near) ?? Infinity) >= maxEdges) continue;
      const k = `${e.src}>${e.dst}`;
      if (seenEdge.has(k)) continue;
      seenEdge.add(k);
      edgeRows.push(e);
    }
  }

  // Did the limit cut anything? Nodes at the frontier with further edges in the walk direction.
  let truncated = false;
  if (depth !== null) {
    for (const d of dirs) {
      const frontier = [...reached[d]].filter(([, h]) => h >= maxEdges).map(([n]) => n);
      if (frontier.length === 0) continue;
      if (db.lineageHasMore(frontier, d)) truncated = true;
    }
  }

  let edges: LineageEdge[] = edgeRows.map((e) => ({ from: keyOf.get(e.src)!, to: keyOf.get(e.dst)!, rel: e.rel }));
  let outNodes = nodes;
  const roots = [...new Set(seeds.map((s) => keyOf.get(s.id)!).filter(Boolean))];
  if (query.nodeTypes && query.nodeTypes.length) {
    // Hide the other types, keeping the roots, and join what stays through hidden nodes with
    // `derived` edges (model <- dataset <- run <- dataset stays model <- ... <- dataset).
    const want = new Set(query.nodeTypes);
    const rootSet = new Set(roots);
    outNodes = nodes.filter((n) => rootSet.has(n.key) || want.has(n.kind === 'run' ? 'run' : n.type));
    const keys = new Set(outNodes.map((n) => n.key));
    const succ = new Map<string, string[]>();
    for (const e of edges) {
      if (!succ.has(e.from)) succ.set(e.from, []);
      succ.get(e.from)!.push(e.to);
    }
    const kept = edges.filter((e) => keys.has(e.from) && keys.has(e.to));
    const have = new Set(kept.map((e) => `${e.from}>${e.to}`));
    for (const u of keys) {
      const stack = (succ.get(u) ?? []).filter((v) => !keys.has(v));
      const seen = new Set<string>(stack);
      while (stack.length) {
        const v = stack.pop()!;
        for (const w of succ.get(v) ?? []) {
          if (keys.has(w)) {
            if (!have.has(`${u}>${w}`)) {
              have.add(`${u}>${w}`);
              kept.push({ from: u, to: w, rel: 'derived' });
            }
          } else if (!seen.has(w)) {
            seen.add(w);
            stack.push(w);
          }
        }
      }
    }
    edges = kept;
  }
  outNodes.sort((a, b) => a.depth - b.depth || (a.kind === b.kind ? (a.key < b.key ? -1 : 1) : a.kind === 'version' ? -1 : 1));
  edges.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
  return { roots, direction, depth, nodes: outNodes, edges, truncated };
}

/** Upstream lineage of one version: the runs, inputs, code commits and params that produced it. */
export function upstreamOf(db: MetaStore, path: string, id: Id, opts: Omit<LineageQuery, 'direction'> = {}): LineageGraph {
  return lineageGraph(db, [{ version: { path, id } }], { ...opts, direction: 'upstream' });
}

/** Downstream lineage of one version: the runs that used it and everything they produced, recursively. */
export function downstreamOf(db: MetaStore, path: string, id: Id, opts: Omit<LineageQuery, 'direction'> = {}): LineageGraph {
  return lineageGraph(db, [{ version: { path, id } }], { ...opts, direction: 'downstream' });
}

// ---------------------------------------------------------------- rendering (pure)

const short = (id: string, n = 12) => id.slice(0, n);

function runLabel(n: RunNode): string {
  const bits = [`run ${n.id}`, n.stage, n.status === 'cached' ? `cached from ${n.cachedFrom ?? '?'}` : n.status];
  if (n.code) bits.push(n.code.commit ? `code ${short(n.code.commit, 10)}${n.code.dirty ? ' (dirty)' : ''}` : 'code: no git commit');
  const params = Object.entries(n.params);
  if (params.length) bits.push('params ' + params.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' '));
  return bits.join('  ');
}

function versionLabel(n: VersionNode): string {
  return `${n.path}@${short(n.id)}${n.obj === 'dir' ? '/' : ''}${n.type !== 'dataset' ? `  (${n.type})` : ''}${n.checks ? `  ${checksLine(n.checks)}` : ''}`;
}

/** Readable tree: from each root, the runs and versions reached, indented with box-drawing lines. */
export function renderLineageText(g: LineageGraph): string {
  if (g.nodes.length === 0) return '(no lineage recorded)\n';
  const byKey = new Map(g.nodes.map((n) => [n.key, n]));
  const lines: string[] = [];
  const dirs: Array<'upstream' | 'downstream'> = g.direction === 'both' ? ['upstream', 'downstream'] : [g.direction];
  for (const dir of dirs) {
    const next = new Map<string, string[]>();
    for (const e of g.edges) {
      const [a, b] = dir === 'upstream' ? [e.to, e.from] : [e.from, e.to];
      if (!next.has(a)) next.set(a, []);
      next.get(a)!.push(b);
    }
    const order = (k: string) => {
      const n = byKey.get(k);
      return n ? (n.kind === 'version' ? `0${n.path}\0${n.id}` : `1${n.id}`) : `2${k}`;
    };
    for (const l of next.values()) l.sort((x, y) => (order(x) < order(y) ? -1 : order(x) > order(y) ? 1 : 0));
    const expanded = new Set<string>();
    const label = (n: LineageNode, isRoot: boolean) => {
      if (n.kind === 'version') return versionLabel(n);
      return (isRoot ? '' : dir === 'upstream' ? 'produced by ' : 'used by ') + runLabel(n);
    };
    const walk = (key: string, prefix: string, last: boolean, isRoot: boolean, seen: Set<string>) => {
      const n = byKey.get(key);
      if (!n) return;
      const kids = (next.get(key) ?? []).filter((k) => byKey.has(k) && !seen.has(k));
      const again = n.kind === 'run' && expanded.has(key) && kids.length > 0;
      const text = label(n, isRoot) + (again ? '  (see above)' : '');
      if (isRoot) lines.push(text);
      else lines.push(prefix + (last ? '└─ ' : '├─ ') + text);
      if (again) return;
      if (n.kind === 'run') expanded.add(key);
      const childPrefix = isRoot ? '' : prefix + (last ? '   ' : '│  ');
      const s2 = new Set(seen).add(key);
      kids.forEach((k, i) => walk(k, childPrefix, i === kids.length - 1, false, s2));
    };
    if (g.direction === 'both') lines.push(`${dir}:`);
    for (const r of g.roots) {
      walk(r, '', true, true, new Set());
    }
  }
  if (g.truncated) lines.push(`… (depth limit ${g.depth} reached; use --depth to see more)`);
  return lines.join('\n') + '\n';
}

function dotId(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/** Graphviz dot: versions as notes (models as 3D boxes), runs as rounded boxes. */
export function renderLineageDot(g: LineageGraph): string {
  const lines = ['digraph lineage {', '  rankdir=LR;'];
  for (const n of g.nodes) {
    if (n.kind === 'version') {
      const shape = n.type === 'model' ? 'box3d' : n.type === 'metrics' ? 'tab' : 'note';
      lines.push(`  ${dotId(n.key)} [label=${dotId(`${n.path}\n${short(n.id)}`)}, shape=${shape}];`);
    } else {
      const code = n.code?.commit ? `\ncode ${short(n.code.commit, 10)}${n.code.dirty ? '*' : ''}` : '';
      lines.push(`  ${dotId(n.key)} [label=${dotId(`${n.stage} (${n.status})\n${n.id}${code}`)}, shape=box, style=rounded];`);
    }
  }
  for (const e of g.edges) lines.push(`  ${dotId(e.from)} -> ${dotId(e.to)} [label=${dotId(e.rel)}];`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Mermaid flowchart; node ids are generated (n0, n1, ...) so keys never clash with keywords. */
export function renderLineageMermaid(g: LineageGraph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.key, `n${i}`]));
  const q = (s: string) => '"' + s.replace(/"/g, '#quot;') + '"';
  const lines = ['flowchart LR'];
  for (const n of g.nodes) {
    const id = ids.get(n.key)!;
    if (n.kind === 'version') lines.push(`  ${id}[(${q(`${n.path}<br/>${short(n.id)}`)})]`);
    else lines.push(`  ${id}(${q(`${n.stage} ${n.status}<br/>${n.id}`)})`);
  }
  for (const e of g.edges) lines.push(`  ${ids.get(e.from)} -->|${e.rel}| ${ids.get(e.to)}`);
  return lines.join('\n') + '\n';
}
