/**
 * `strata lineage TARGET`: the lineage graph around a version (a path in the workspace or HEAD,
 * or REF:PATH), a run (id or unique prefix) or a commit (the versions it holds and the runs that
 * produced or used them).
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import { dirVersionPaths, hasVersion, lineageGraph, type LineageDirection, type LineageGraph, type LineageNodeType, type LineageStart } from '../lineage/graph.js';
import { versionChecks, type VersionChecks } from '../lineage/quality.js';
import { findRun } from '../meta/runs.js';
import type { Id } from '../model/index.js';
import { WorkspaceHasher } from '../pipeline/executor.js';
import type { Repository } from '../repo/index.js';
import { resolveRev } from '../repo/refs.js';
import { entryAt, flattenTree } from '../repo/tree.js';
import { toRepoPath } from '../workspace/paths.js';

export interface LineageOptions {
  /** Folder the user is in (absolute): a path target is relative to it; default the repository root. */
  cwd?: string;
  target: string;
  /** Default: both for versions and runs; both with depth 1 for a commit. */
  direction?: LineageDirection;
  /** In runs; default unlimited (1 for a commit). */
  depth?: number | null;
  nodeTypes?: LineageNodeType[];
}

export type LineageTarget =
  | { kind: 'version'; path: string; id: Id; obj: 'file' | 'dir'; from: 'workspace' | 'HEAD' | 'ref' | 'graph'; ref?: string }
  | { kind: 'run'; id: string; stage: string }
  | { kind: 'commit'; id: Id; ref: string; files: number; versions: Array<{ path: string; id: Id }> };

export interface LineageResult {
  /** A file version's target carries its newest data check results (also on its graph node). */
  target: LineageTarget & { checks?: VersionChecks };
  graph: LineageGraph;
}

const RUN_LIKE = /^[0-9a-f]{4,8}(-[0-9a-f]{0,4}){0,3}(-[0-9a-f]{0,12})?$|^[0-9a-f]{4,32}$/i;

/** Latest version of `path` known to the lineage graph. */
function latestKnownVersion(repo: Repository, path: string): { id: Id; obj: 'file' | 'dir' } | null {
  const r = repo.db.latestVersionNode(path);
  return r ? { id: r.ref, obj: (r.obj ?? 'file') as 'file' | 'dir' } : null;
}

export async function resolveTarget(repo: Repository, cwd: string, target: string): Promise<LineageTarget> {
  const t = target.trim();
  if (!t) throw new StrataError('INVALID_ARGUMENT', 'name what to show the lineage of', { hint: 'strata lineage models/model.json, strata lineage RUN_ID or strata lineage HEAD' });

  // A run id (or unique prefix).
  if (RUN_LIKE.test(t)) {
    const run = findRun(repo.db, t);
    if (run) return { kind: 'run', id: run.id, stage: run.stage };
  }

  // REF:PATH
  const colon = t.indexOf(':');
  if (colon > 0) {
    const ref = t.slice(0, colon);
    const path = toRepoPath(repo.root, repo.root, t.slice(colon + 1));
    const commit = await resolveRev(repo, ref);
    const e = path ? await entryAt(repo, (await repo.readCommit(commit)).tree, path) : null;
    if (!e) throw new StrataError('PATH_NOT_FOUND', `${path || '(root)'} is not in ${ref}`, { hint: `list the files with strata ls ${ref}` });
    return { kind: 'version', path, id: e.id, obj: e.type === 'dir' ? 'dir' : 'file', from: 'ref', ref };
  }

  // A path: the workspace version, else HEAD's, else the latest the graph knows.
  let path: string | null = null;
  try {
    path = toRepoPath(repo.root, cwd, t);
  } catch {
    path = null;
  }
  if (path) {
    const exists = await fsp.lstat(join(repo.root, path)).then(() => true, () => false);
    const head = repo.head().commit;
    const headEntry = head ? await entryAt(repo, (await repo.readCommit(head)).tree, path) : null;
    let ws: LineageTarget | null = null;
    if (exists) {
      const st = (await new WorkspaceHasher(repo).hash([path], { store: false })).get(path);
      if (st) ws = { kind: 'version', path, id: st.id, obj: st.kind, from: 'workspace' };
      if (ws && hasVersion(repo.db, path, ws.id)) return ws;
    }
    if (headEntry && hasVersion(repo.db, path, headEntry.id)) return { kind: 'version', path, id: headEntry.id, obj: headEntry.type === 'dir' ? 'dir' : 'file', from: 'HEAD' };
    if (ws) return ws;
    if (headEntry) return { kind: 'version', path, id: headEntry.id, obj: headEntry.type === 'dir' ? 'dir' : 'file', from: 'HEAD' };
    const known = latestKnownVersion(repo, path);
    if (known) return { kind: 'version', path, id: known.id, obj: known.obj, from: 'graph' };
  }

  // A commit.
  let commit: Id;
  try {
    commit = await resolveRev(repo, t);
  } catch (e) {
    if (e instanceof StrataError && e.code === 'UNKNOWN_REF') {
      throw new StrataError('PATH_NOT_FOUND', `nothing named ${JSON.stringify(t)}: not a path in the workspace or HEAD, a run id or a revision`, {
        hint: 'name a data path (models/model.json), REF:PATH, a run id from strata runs, or a commit from strata log',
      });
    }
    throw e;
  }
  const tree = (await repo.readCommit(commit)).tree;
  const flat = await flattenTree(repo, tree);
  const versions: Array<{ path: string; id: Id }> = [];
  for (const [p, r] of flat) if (hasVersion(repo.db, p, r.id)) versions.push({ path: p, id: r.id });
  for (const p of dirVersionPaths(repo.db)) {
    const e = await entryAt(repo, tree, p);
    if (e?.type === 'dir' && hasVersion(repo.db, p, e.id)) versions.push({ path: p, id: e.id });
  }
  versions.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { kind: 'commit', id: commit, ref: t, files: flat.size, versions };
}

export async function lineage(repo: Repository, opts: LineageOptions): Promise<LineageResult> {
  const target = await resolveTarget(repo, opts.cwd ?? repo.root, opts.target);
  let starts: LineageStart[];
  let direction = opts.direction ?? 'both';
  let depth = opts.depth ?? null;
  if (target.kind === 'run') starts = [{ run: target.id }];
  else if (target.kind === 'version') starts = [{ version: { path: target.path, id: target.id } }];
  else {
    starts = target.versions.map((v) => ({ version: v }));
    direction = opts.direction ?? 'both';
    depth = opts.depth === undefined || opts.depth === null ? 1 : opts.depth;
  }
  const graph = lineageGraph(repo.db, starts, { direction, depth, nodeTypes: opts.nodeTypes });
  const checks = target.kind === 'version' && target.obj === 'file' ? versionChecks(repo.db, target.path, target.id) : null;
  return { target: checks ? { ...target, checks } : target, graph };
}
