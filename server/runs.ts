/**
 * Runs and lineage endpoints over core/meta/runs.ts and core/lineage/graph.ts. (Pushed runs arrive
 * as run markers runs/<run id> -> run object id: server/protocol.ts putRunMarker.)
 */
import { StrataError } from '../core/errors/index.js';
import { getRun, listRuns, findRun, type RunRecord } from '../core/meta/runs.js';
import { lineageGraph, parseNodeKey, type LineageDirection, type LineageNode, type LineageNodeType, type LineageStart } from '../core/lineage/graph.js';
import type { Repository } from '../core/repo/index.js';
import { resolveRev } from '../core/repo/refs.js';
import { entryAt } from '../core/repo/tree.js';
import { checkRepoPath } from './http.js';
import { intParam } from './browse.js';

function summary(r: RunRecord): Record<string, unknown> {
  return {
    id: r.id,
    stage: r.stage,
    status: r.status,
    cmd: r.cmd,
    startedAt: r.started,
    endedAt: r.ended,
    exitCode: r.exitCode,
    code: r.code,
    origin: r.origin,
    cachedFrom: r.cachedFrom,
    inputs: r.deps.length,
    outputs: r.outs.length,
  };
}

export function runsView(repo: Repository, q: URLSearchParams): unknown {
  const limit = intParam(q.get('limit'), 50, 1, 1000, 'limit');
  const offset = intParam(q.get('offset'), 0, 0, 1_000_000, 'offset');
  const stage = q.get('stage') || undefined;
  const status = (q.get('status') || undefined) as RunRecord['status'] | undefined;
  const all = listRuns(repo, { stage, status, limit: offset + limit + 1 });
  return { runs: all.slice(offset, offset + limit).map(summary), offset, limit, nextOffset: all.length > offset + limit ? offset + limit : null };
}

export function runView(repo: Repository, id: string): unknown {
  const r = getRun(repo, id);
  return { ...r, startedAt: r.started, endedAt: r.ended };
}

const DIRS: Record<string, LineageDirection> = { up: 'upstream', down: 'downstream', both: 'both', upstream: 'upstream', downstream: 'downstream' };
const TYPES: LineageNodeType[] = ['dataset', 'model', 'metrics', 'run'];

function cyNode(n: LineageNode): { data: Record<string, unknown> } {
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
  return { data: { id: n.key, type: n.type, label: `${base}@${n.id.slice(0, 8)}`, path: n.path, objectId: n.id, obj: n.obj, depth: n.depth } };
}

/** Parse the `node` parameter into a traversal start. */
async function startOf(repo: Repository, node: string): Promise<LineageStart> {
  if (node.startsWith('v:') || node.startsWith('r:')) {
    const k = parseNodeKey(node);
    if (k.kind === 'run') return { run: getRun(repo, k.id).id };
    return { version: { path: checkRepoPath(k.path), id: k.id } };
  }
  const colon = node.indexOf(':');
  if (colon < 0) {
    const r = findRun(repo, node);
    if (r) return { run: r.id };
    throw new StrataError('RUN_NOT_FOUND', `no run or lineage node ${JSON.stringify(node)}`, { hint: 'use a node id from a graph (v:<id>:<path>, r:<run id>), a run id, or REF:PATH' });
  }
  const ref = node.slice(0, colon) || 'HEAD';
  const path = checkRepoPath(node.slice(colon + 1));
  if (!path) throw new StrataError('INVALID_ARGUMENT', 'REF:PATH needs a path');
  const commit = await repo.readCommit(await resolveRev(repo, ref));
  const e = await entryAt(repo, commit.tree, path);
  if (!e) throw new StrataError('PATH_NOT_FOUND', `${path} does not exist in ${ref}`);
  return { version: { path, id: e.id } };
}

export async function lineageView(repo: Repository, q: URLSearchParams): Promise<unknown> {
  const node = q.get('node');
  if (!node) throw new StrataError('INVALID_ARGUMENT', 'the node parameter is required', { hint: 'e.g. node=main:models/model.bin or node=r:<run id>' });
  const depth = intParam(q.get('depth'), 3, 0, 1000, 'depth');
  if (depth > 20 || depth < 1) throw new StrataError('INVALID_ARGUMENT', `depth must be between 1 and 20, got ${depth}`);
  const dirRaw = q.get('direction') || 'both';
  const direction = DIRS[dirRaw];
  if (!direction) throw new StrataError('INVALID_ARGUMENT', `direction must be up, down or both, not ${JSON.stringify(dirRaw)}`);
  let nodeTypes: LineageNodeType[] | undefined;
  const typesRaw = q.get('types');
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
    return { root: key, depth, direction: dirRaw, truncated: false, nodes: [{ data: { id: key, type: 'dataset', label: `${base}@${v.id.slice(0, 8)}`, path: v.path, objectId: v.id, depth: 0 } }], edges: [] };
  }
  return {
    root: g.roots[0] ?? null,
    roots: g.roots,
    depth,
    direction: dirRaw,
    truncated: g.truncated,
    nodes: g.nodes.map(cyNode),
    edges: g.edges.map((e) => ({ data: { id: `${e.from}->${e.to}`, source: e.from, target: e.to, kind: e.rel } })),
  };
}
