/**
 * The one "move the workspace to a commit": checkout and switch (core/ops/checkout.ts), pull and
 * clone (core/ops/pull.ts pullInto) call moveWorkspace(); restore (core/ops/restore.ts) writes a
 * path-scoped plan of its own through applyPlan().
 *
 * Partial checkouts (`strata clone URL -- PATH`, `strata pull -- PATH`): the repository config key
 * `core.sparse` holds the checked-out paths (absent = everything). The staging index always mirrors
 * the whole commit, so a commit made in a partial checkout keeps the files it did not download as
 * they were. Moving honours the selection: only files under the sparse paths are written; outside
 * them, files that did not change stay as they are, and files whose content changed are removed
 * rather than left stale (their new bytes were not downloaded).
 *
 * Order (a failure at any step leaves the workspace and the repository as they were):
 * 1. plan: target tree, uncommitted changes at risk (UNCOMMITTED_CHANGES without force), removals
 *    and writes;
 * 2. objects: every blob, chunk list and chunk the writes need is present — missing ones are
 *    fetched through opts.fetchMissing when given (a partial clone fetching from its remote), else
 *    OBJECT_MISSING naming the path, before anything is touched;
 * 3. materialize() (core/repo/worktree.ts), the one safe writer, with all its checks;
 * 4. one transaction: index, stat cache, tracked roots, sparse paths, the ref and HEAD.
 */
import { StrataError } from '../errors/index.js';
import type { IndexRow, MetaStore } from '../meta/interface.js';
import { parseManifest, type Commit, type Id, type Manifest } from '../model/index.js';
import { readList } from '../config/registry.js';
import { isUnder, outermost } from '../workspace/paths.js';
import type { Repository } from './index.js';
import { flattenTree, sameEntry, type Flat } from './tree.js';
import { computeStatus, materialize, rootsOf, type LinkMode, type MaterializePlan, type MaterializeResult, type ProgressSink } from './worktree.js';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';

/** Repository config key: JSON array of the checked-out paths of a partial checkout. */
const SPARSE_KEY = 'core.sparse';

/** The checked-out paths of a partial checkout, or null when everything is checked out. */
export function getSparse(db: MetaStore): string[] | null {
  return readList(db, SPARSE_KEY);
}

/** Downloads the objects the files of `commit` under `paths` (null: all) need into the local store. */
export type FetchMissing = (commit: Id, paths: string[] | null) => Promise<void>;

export interface MoveOptions {
  /**
   * Checked-out paths after the move: undefined keeps the current selection, null checks out
   * everything (leaves partial mode), a list adds those paths to the current selection.
   */
  sparse?: string[] | null;
  /** Discard uncommitted changes that would be overwritten. */
  force?: boolean;
  link?: LinkMode;
  progress?: ProgressSink;
  /** Moved to `commit` in the final transaction (compare-and-swap from `old`). */
  ref?: { name: string; old: Id | null };
  /** HEAD to set in the same transaction (e.g. 'ref: refs/heads/main'). */
  head?: string;
  /** Called once when objects the writes need are not in the local store. */
  fetchMissing?: FetchMissing;
}

export interface MoveResult {
  written: number;
  removed: number;
  bytes: number;
  sparse: string[] | null;
}

export interface MovePlan extends MaterializePlan {
  commit: Id;
  c: Commit;
  target: Flat;
  sparse: string[] | null;
}

function atRisk(paths: string[]): StrataError {
  return new StrataError('UNCOMMITTED_CHANGES', `uncommitted changes would be overwritten: ${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ` and ${paths.length - 5} more` : ''}`, {
    hint: 'commit them (strata commit -a -m ...), or use --force to discard them',
    details: { paths },
  });
}

/** Step 1: what moving to `commit` removes and writes (nothing is changed). */
async function planMove(repo: Repository, commit: Id, opts: Pick<MoveOptions, 'sparse' | 'force' | 'progress'> = {}): Promise<MovePlan> {
  const oldSparse = getSparse(repo.db);
  const newSparse = opts.sparse === undefined ? oldSparse : opts.sparse === null ? null : outermost([...(oldSparse ?? []), ...opts.sparse]);
  const inNew = (p: string) => newSparse === null || newSparse.some((s) => isUnder(p, s));
  const inOld = (p: string) => oldSparse === null || oldSparse.some((s) => isUnder(p, s));

  const c = await repo.readCommit(commit);
  const target = await flattenTree(repo, c.tree);
  const index = repo.db.loadIndex();
  const st = await computeStatus(repo, { progress: opts.progress });
  const dirty = new Set<string>([...st.unstaged.map((x) => x.path), ...st.staged.map((x) => x.path)]);
  // Untracked files the target would overwrite are at risk too.
  const clobber = st.untracked.filter((p) => target.has(p) && inNew(p));
  const risky = [...new Set([...dirty, ...clobber])];
  if (risky.length && !opts.force) throw atRisk(risky);

  const unstaged = new Set(st.unstaged.map((u) => u.path));
  // Outside the old selection a file may or may not be there (not checked out): look.
  const present = async (p: string) => (await lstat(join(repo.root, p)).catch(() => null)) !== null;
  const remove: string[] = [];
  const write: IndexRow[] = [];
  for (const p of index.keys()) {
    if (target.has(p)) continue;
    if (inOld(p) || (await present(p))) remove.push(p);
  }
  for (const [p, t] of target) {
    const i = index.get(p);
    const same = i !== undefined && sameEntry(i, t) && !unstaged.has(p);
    if (inNew(p)) {
      if (same && (inOld(p) || (await present(p)))) continue;
      write.push(t);
    } else if (!same && i && (await present(p))) {
      // Changed, outside the checked-out paths: its new bytes are not downloaded.
      remove.push(p);
    }
  }
  return { commit, c, target, sparse: newSparse, remove, write };
}

/** Every object the file rows need that the local store lacks: blobs, chunk lists, chunks. */
async function missingObjects(repo: Repository, rows: IndexRow[]): Promise<Array<{ path: string; id: Id }>> {
  const need = new Map<Id, string>();
  for (const r of rows) if (r.type !== 'symlink') need.set(r.chunks ?? r.id, r.path);
  const have = await repo.store.hasMany(need.keys());
  const out: Array<{ path: string; id: Id }> = [];
  const chunks = new Map<Id, string>();
  for (const r of rows) {
    if (r.type === 'symlink') continue;
    const id = r.chunks ?? r.id;
    if (!have.has(id)) out.push({ path: r.path, id });
    else if (r.chunks) {
      let m: Manifest;
      try {
        m = parseManifest(await repo.store.getBytes(r.chunks, { verify: true }), { id: r.chunks });
      } catch (e) {
        // A damaged chunk list is reported by the writer, naming the path and keeping the old file.
        if (e instanceof StrataError) continue;
        throw e;
      }
      for (const [cid] of m.chunks) if (!chunks.has(cid)) chunks.set(cid, r.path);
    }
  }
  if (chunks.size) {
    const haveChunks = await repo.store.hasMany(chunks.keys());
    for (const [id, path] of chunks) if (!haveChunks.has(id)) out.push({ path, id });
  }
  return out;
}

function objectsMissing(missing: Array<{ path: string; id: Id }>, fetched: boolean): StrataError {
  const first = missing[0]!;
  return new StrataError('OBJECT_MISSING', `${first.path}: object ${first.id} is not in the object store${missing.length > 1 ? ` (and ${missing.length - 1} more object(s))` : ''}; nothing was changed`, {
    hint: fetched
      ? 'the remote does not have it either: strata fsck lists what is missing'
      : 'fetch it (strata pull, or strata fetch) from a remote that has it (strata fsck lists every missing object), then run the command again',
    details: { path: first.path, id: first.id, missing: missing.slice(0, 20) },
  });
}

/**
 * Steps 2 and 3 for any plan (restore writes path-scoped plans through it): objects present
 * (fetched when possible) before the safe writer runs.
 */
export async function applyPlan(
  repo: Repository,
  plan: MaterializePlan,
  opts: { link?: LinkMode; progress?: ProgressSink; target?: Iterable<string>; fetch?: () => Promise<void> } = {},
): Promise<MaterializeResult> {
  let missing = await missingObjects(repo, plan.write);
  if (missing.length && opts.fetch) {
    await opts.fetch();
    missing = await missingObjects(repo, plan.write);
    if (missing.length) throw objectsMissing(missing, true);
  } else if (missing.length) throw objectsMissing(missing, false);
  return materialize(repo, plan, { progress: opts.progress, link: opts.link, target: opts.target });
}

/** Make the workspace, index, stat cache, tracked roots, sparse paths (and ref, HEAD) match `commit`. */
export async function moveWorkspace(repo: Repository, commit: Id, opts: MoveOptions = {}): Promise<MoveResult> {
  const plan = await planMove(repo, commit, opts);
  const fetch = opts.fetchMissing;
  const res = await applyPlan(repo, plan, {
    link: opts.link,
    progress: opts.progress,
    target: plan.target.keys(),
    fetch: fetch ? () => fetch(commit, plan.sparse) : undefined,
  });
  const roots = Array.isArray(plan.c.meta?.roots) ? outermost(plan.c.meta!.roots as string[]) : rootsOf(plan.target);
  repo.db.tx(() => {
    repo.db.replaceIndex(plan.target.values(), plan.c.tree);
    repo.db.deleteStat(plan.remove);
    repo.db.upsertStat(res.statRows);
    repo.db.setTrackedRoots(outermost([...roots]));
    if (opts.sparse !== undefined) repo.db.setConfig(SPARSE_KEY, plan.sparse ? JSON.stringify(plan.sparse) : null);
    if (opts.ref) repo.db.casRef(opts.ref.name, opts.ref.old, commit);
    if (opts.head !== undefined) {
      const cur = repo.db.getRef('HEAD')?.target ?? null;
      if (cur !== opts.head) repo.db.casRef('HEAD', cur, opts.head);
    }
  });
  return { written: res.written, removed: res.removed, bytes: res.bytes, sparse: plan.sparse };
}
