import { StrataError } from '../errors/index.js';
import { resolveRev } from '../repo/refs.js';
import { diffFlat, diffTrees, flattenTree, summarizeChanges, type Change, type Flat } from '../repo/tree.js';
import { identToRow, saveStatUpdates, viewWorkspace } from '../repo/worktree.js';
import { isUnder, outermost } from '../workspace/paths.js';
import type { OpOptions } from './context.js';
import type { Repository } from '../repo/index.js';

export interface DiffOptions extends OpOptions {
  /** No refs: workspace vs HEAD. One ref: workspace vs that ref. Two: ref vs ref. */
  refs?: string[];
  /** Compare the staging index (instead of the workspace) with the ref (default HEAD). */
  cached?: boolean;
  paths?: string[];
}

export interface DiffResult {
  from: string;
  to: string;
  changes: Change[];
  summary: { added: number; modified: number; deleted: number; bytesAdded: number; bytesRemoved: number };
}

export async function diff(repo: Repository, opts: DiffOptions = {}): Promise<DiffResult> {
  const refs = opts.refs ?? [];
  if (refs.length > 2) throw new StrataError('INVALID_ARGUMENT', 'diff takes at most two revisions', { hint: 'strata diff [A [B]] [-- paths]' });
    const paths = outermost(opts.paths ?? []);
  const under = paths.length ? (p: string) => paths.some((r) => isUnder(p, r)) : undefined;
  let changes: Change[];
  let from: string;
  let to: string;
  if (refs.length === 2) {
    const a = await repo.readCommit(await resolveRev(repo, refs[0]!));
    const b = await repo.readCommit(await resolveRev(repo, refs[1]!));
    from = refs[0]!;
    to = refs[1]!;
    if (paths.length) {
      changes = [];
      for (const p of paths) changes.push(...(await diffTrees(repo, a.tree, b.tree, p)));
    } else changes = await diffTrees(repo, a.tree, b.tree);
  } else {
    from = refs[0] ?? 'HEAD';
    const head = repo.head();
    const baseTree = refs.length === 0 && !head.commit ? null : (await repo.readCommit(await resolveRev(repo, from))).tree;
    const base = await flattenTree(repo, baseTree);
    let target: Flat;
    if (opts.cached) {
      to = 'index';
      target = repo.db.loadIndex();
    } else {
      to = 'workspace';
      const roots = paths.length ? paths : outermost([...repo.db.trackedRoots()]);
      const view = await viewWorkspace(repo, roots, { store: false, progress: opts.progress });
      saveStatUpdates(repo, view.statUpdates);
      target = new Map();
      const index = repo.db.loadIndex();
      for (const [p, { wf, ident }] of view.files) if (index.has(p) || base.has(p)) target.set(p, identToRow(p, wf, ident));
    }
    changes = diffFlat(base, target, under);
  }
  if (under) changes = changes.filter((c) => under(c.path));
  const summary = summarizeChanges(changes);
  return { from, to, changes, summary };
}
