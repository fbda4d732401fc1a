/**
 * strata merge REF [--strategy ours|theirs] [--ff-only|--no-ff] [--dry-run] [-m MSG]
 * strata merge --abort | --continue
 *
 * Into the workspace (the CLI, `pull`): fast-forward when HEAD is an ancestor of REF, otherwise a
 * three-way merge from the merge base (core/merge/trees.ts). A clean merge commits at once (two
 * parents); conflicts leave a merge in progress (core/merge/state.ts) that `status` shows,
 * `resolve` / `add` settle path by path, `--continue` commits and `--abort` undoes.
 *
 * Crash safety: (1) the result's objects are written, (2) one transaction records the merge in
 * progress (phase `applying`, MERGE_HEAD, ORIG_HEAD), (3) the workspace is written through the safe
 * writer, (4) one transaction updates the index and either commits (clean) or records the
 * conflicts. Killed after (2), the merge is in progress: `--continue` redoes (3)-(4), `--abort`
 * puts the touched paths back.
 *
 * Without a workspace (the server's POST /merge): mergeRefs merges two refs' trees and moves the
 * target ref by compare-and-swap; on conflicts nothing moves and the outcome lists them. A target
 * that checks.protect names moves only to a commit whose checks pass (core/checks/gate.ts).
 *
 * Before the merge touches the workspace, every path it would write or remove must be as HEAD has
 * it (no staged changes at all; no unstaged change or untracked file on a path the merge writes),
 * so that `--abort` restores the pre-merge workspace and index exactly.
 */
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import { hashBytes, hashFile } from '../hash/index.js';
import type { IndexRow } from '../meta/interface.js';
import type { Commit, Id } from '../model/index.js';
import { mergeBase } from '../merge/base.js';
import { DRIVER_NAMES } from '../merge/drivers.js';
import { NO_RULES, parseRules, RULES_FILE, type MergeRules } from '../merge/rules.js';
import { assertNoMerge, getMergeState, setMergeState, type MergeState } from '../merge/state.js';
import { mergeTrees, type TreeMergeResult } from '../merge/trees.js';
import type { Repository } from '../repo/index.js';
import { moveWorkspace, applyPlan } from '../repo/move.js';
import { HEADS, resolveRev } from '../repo/refs.js';
import { computeTreeId, entryAt, flattenTree, storeIndexTree } from '../repo/tree.js';
import { isAncestor } from '../remote/transfer.js';
import { outermost } from '../workspace/paths.js';
import { cachedId } from '../workspace/scan.js';
import type { OpOptions } from './context.js';
import { newCommit } from './commit.js';
import type { MergeOutcome } from './types.js';
import { recordDataVersion } from '../project/lock.js';
import { gateBranchMove } from '../checks/gate.js';
import * as fsp from 'node:fs/promises';

export type Strategy = 'ours' | 'theirs';

export interface MergeOptions extends OpOptions {
  /** What to merge: a branch, tag, remote branch or commit. */
  rev: string;
  strategy?: Strategy;
  dryRun?: boolean;
  message?: string;
  /** Refuse unless it is a fast-forward. */
  ffOnly?: boolean;
  /** Make a merge commit even when a fast-forward is possible. */
  noFf?: boolean;
}

function checkStrategy(s: string | undefined): Strategy | undefined {
  if (s === undefined || s === 'ours' || s === 'theirs') return s;
  throw new StrataError('INVALID_ARGUMENT', `unknown merge strategy ${JSON.stringify(s)}`, { hint: '--strategy ours or --strategy theirs (per-path rules go in .strataattributes)' });
}

export async function merge(repo: Repository, opts: MergeOptions): Promise<MergeOutcome> {
  const strategy = checkStrategy(opts.strategy);
  if (opts.ffOnly && opts.noFf) throw new StrataError('INVALID_ARGUMENT', '--ff-only and --no-ff contradict each other', { hint: 'give one of them' });
  return repo.withWriteLock('merge', async () => {
    assertNoMerge(repo.db, 'start another merge');
    const theirs = await resolveRev(repo, opts.rev);
    const m = await mergeCommitInto(repo, theirs, opts.rev, { ...opts, strategy });
    if (!m.dryRun && m.commit) await recordDataVersion(repo);
    return m;
  });
}

/** The rules file: the workspace's when present (what the user edits), else the one in `tree`. */
async function loadRules(repo: Repository, tree: Id | null, workspace: boolean, strategy: Strategy | undefined): Promise<MergeRules> {
  if (strategy) return NO_RULES;
  if (workspace) {
    const text = await fsp.readFile(join(repo.root, RULES_FILE), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (text !== null) return parseRules(text, RULES_FILE, DRIVER_NAMES);
  }
  if (!tree) return NO_RULES;
  const e = await entryAt(repo, tree, RULES_FILE);
  if (!e || e.type !== 'file') return NO_RULES;
  const bytes = await repo.store.getBytes(e.id, { verify: true });
  return parseRules(bytes.toString('utf8'), `${RULES_FILE} (committed)`, DRIVER_NAMES);
}

function defaultMessage(from: string, into: string | null): string {
  return `Merge ${from} into ${into ?? 'HEAD'}`;
}

/**
 * Merge commit `theirs` (named `from` in messages) into the checked-out branch and the workspace.
 * The caller holds the write lock and has checked no merge is in progress.
 */
export async function mergeCommitInto(
  repo: Repository,
  theirs: Id,
  from: string,
  opts: Omit<MergeOptions, 'rev'> = {},
): Promise<MergeOutcome> {
  const head = repo.head();
  const ours = head.commit;
  const dryRun = !!opts.dryRun;
  const outcome = (o: Partial<MergeOutcome> & Pick<MergeOutcome, 'status'>): MergeOutcome => ({
    into: head.branch,
    from,
    ours,
    theirs,
    base: null,
    commit: null,
    changes: [],
    conflicts: [],
    dryRun,
    ...o,
  });
  const refName = head.branch ? HEADS + head.branch : 'HEAD';
  if (ours && (await isAncestor(repo, theirs, ours))) return outcome({ status: 'up-to-date', base: theirs });
  const oursTree = ours ? (await repo.readCommit(ours)).tree : null;
  const theirsTree = (await repo.readCommit(theirs)).tree;
  const ff = !ours || (await isAncestor(repo, ours, theirs));
  if (ff && !opts.noFf) {
    const r = await mergeTrees(repo, { base: oursTree, ours: oursTree, theirs: theirsTree, rules: NO_RULES, write: false });
    if (dryRun) return outcome({ status: 'fast-forward', base: ours, commit: theirs, changes: r.changes });
    await moveWorkspace(repo, theirs, { ref: { name: refName, old: ours }, progress: opts.progress, ...(head.branch ? {} : { head: theirs }) });
    return outcome({ status: 'fast-forward', base: ours, commit: theirs, changes: r.changes });
  }
  if (opts.ffOnly) {
    throw new StrataError('NON_FAST_FORWARD', `${head.branch ?? 'HEAD'} and ${from} have diverged (each has commits the other does not): not a fast-forward`, {
      hint: `merge them: strata merge ${from} (without --ff-only)`,
      details: { ours, theirs },
    });
  }
  const base = await mergeBase(repo, ours!, theirs);
  const baseTree = base ? (await repo.readCommit(base)).tree : null;
  const rules = await loadRules(repo, oursTree, true, opts.strategy);
  if (dryRun) {
    const r = await mergeTrees(repo, { base: baseTree, ours: oursTree, theirs: theirsTree, rules, strategy: opts.strategy, write: false });
    return outcome({ status: r.conflicts.length ? 'conflicts' : 'merged', base, changes: r.changes, conflicts: r.conflicts });
  }
  // The merge must be able to put everything back: nothing staged, nothing it touches changed.
  await assertIndexIsHead(repo, oursTree);
  const r = await mergeTrees(repo, { base: baseTree, ours: oursTree, theirs: theirsTree, rules, strategy: opts.strategy, write: true });
  await assertTouchedClean(repo, r.oursRows);
  const state: MergeState = {
    v: 1,
    phase: 'applying',
    from,
    into: head.branch,
    ours: ours!,
    theirs,
    base,
    tree: r.tree,
    message: opts.message?.trim() || defaultMessage(from, head.branch),
    conflicts: r.conflicts,
    touched: [...r.oursRows.keys()],
    ...(opts.strategy ? { strategy: opts.strategy } : {}),
  };
  repo.db.tx(() => setMergeState(repo.db, state));
  return applyMerge(repo, state, r, opts.progress);
}

/** Steps (3) and (4): write the workspace, then index + commit or conflicts, in one transaction. */
async function applyMerge(repo: Repository, state: MergeState, r: Pick<TreeMergeResult, 'set' | 'remove' | 'changes'>, progress: OpOptions['progress']): Promise<MergeOutcome> {
  const res = await applyPlan(repo, { remove: r.remove, write: r.set }, { progress });
  const oursCommit = await repo.readCommit(state.ours);
  const theirsCommit = await repo.readCommit(state.theirs);
  const roots = outermost([...rootsOf(oursCommit), ...rootsOf(theirsCommit)]);
  const outcomeBase = { into: state.into, from: state.from, ours: state.ours, theirs: state.theirs, base: state.base, changes: r.changes, dryRun: false };
  const updateIndex = () => {
    repo.db.deleteIndex(r.remove);
    repo.db.upsertIndex(r.set);
    repo.db.setIndexTree(state.tree);
    repo.db.deleteStat(r.remove);
    repo.db.upsertStat(res.statRows);
    repo.db.setTrackedRoots(roots);
  };
  if (state.conflicts.length) {
    repo.db.tx(() => {
      updateIndex();
      setMergeState(repo.db, { ...state, phase: 'conflicts' });
    });
    return { ...outcomeBase, status: 'conflicts', commit: null, conflicts: state.conflicts };
  }
  const { id } = await newCommit(repo, { tree: state.tree, parents: [state.ours, state.theirs], message: state.message, meta: { roots } });
  repo.db.tx(() => {
    updateIndex();
    moveHead(repo, state, id);
    setMergeState(repo.db, null);
  });
  return { ...outcomeBase, status: 'merged', commit: id, conflicts: [] };
}

function rootsOf(c: Commit): string[] {
  return Array.isArray(c.meta?.roots) ? (c.meta!.roots as string[]) : [];
}

function moveHead(repo: Repository, state: MergeState, id: Id): void {
  if (state.into) repo.db.casRef(HEADS + state.into, state.ours, id);
  else repo.db.casRef('HEAD', state.ours, id);
}

async function assertIndexIsHead(repo: Repository, headTree: Id | null): Promise<void> {
  const it = repo.db.indexTree();
  if (it !== null && it === headTree) return;
  const index = repo.db.loadIndex();
  const tree = index.size ? computeTreeId(index.values()) : null;
  if (tree === headTree || (headTree !== null && index.size === 0 && (await flattenTree(repo, headTree)).size === 0)) return;
  throw new StrataError('UNCOMMITTED_CHANGES', 'cannot merge with staged changes: commit them first (the merge could not put them back on --abort)', {
    hint: 'strata commit -m "..." (or strata restore --staged PATH to unstage)',
  });
}

/** Every path the merge writes or removes must be as HEAD has it in the workspace. */
async function assertTouchedClean(repo: Repository, oursRows: Map<string, IndexRow | null>): Promise<void> {
  const dirty: string[] = [];
  // The stat cache proves most files unchanged without reading them (looked up per path: the
  // cost follows the merge, not the repository); the others are hashed. Synchronous lstat: a few
  // microseconds each, where a thread-pool round trip per path costs far more.
  const stats = repo.db.getStats(oursRows.keys());
  for (const [p, r] of oursRows) {
    const abs = join(repo.root, p);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!r) {
      if (st) dirty.push(p);
      continue;
    }
    if (!st) {
      dirty.push(p);
      continue;
    }
    if (r.type === 'symlink') {
      if (!st.isSymbolicLink() || readlinkSync(abs) !== r.target) dirty.push(p);
      continue;
    }
    if (!st.isFile() || st.size !== r.size || ((st.mode & 0o111) !== 0) !== r.exec) {
      dirty.push(p);
      continue;
    }
    const wf = { path: p, type: 'file' as const, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs, ino: st.ino, exec: r.exec };
    const cached = cachedId(wf, stats.get(p));
    const id = cached ? cached.id : st.size <= 1 << 20 ? hashBytes(readFileSync(abs)) : await hashFile(abs);
    if (id !== r.id) dirty.push(p);
  }
  if (dirty.length) {
    dirty.sort();
    throw new StrataError('UNCOMMITTED_CHANGES', `the merge would overwrite local changes or untracked files: ${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ` and ${dirty.length - 5} more` : ''}; nothing was changed`, {
      hint: 'commit them (strata commit -a -m ...) or discard them (strata restore PATH), then merge again',
      details: { paths: dirty },
    });
  }
}

/** strata merge --continue (also `strata commit` once every conflict is resolved). */
export async function mergeContinue(repo: Repository, opts: { message?: string } & OpOptions = {}): Promise<MergeOutcome> {
  return repo.withWriteLock('merge', async () => {
    const state = getMergeState(repo.db);
    if (!state) throw new StrataError('INVALID_ARGUMENT', 'no merge in progress', { hint: 'strata status shows the state of the workspace' });
    const message = opts.message?.trim() || state.message;
    if (state.phase === 'applying') {
      // Interrupted while writing the workspace: redo the writes from the recorded result.
      const oursTree = (await repo.readCommit(state.ours)).tree;
      const d = await mergeTrees(repo, { base: oursTree, ours: oursTree, theirs: state.tree, rules: NO_RULES, write: false });
      const m = await applyMerge(repo, { ...state, message }, d, opts.progress);
      if (m.commit) await recordDataVersion(repo);
      return m;
    }
    if (state.conflicts.length) {
      throw new StrataError('MERGE_CONFLICT', `${state.conflicts.length} path(s) still in conflict: ${state.conflicts.slice(0, 5).map((c) => c.path).join(', ')}`, {
        hint: 'strata resolve PATH --ours|--theirs|--base, or edit the file and strata add PATH; strata status lists them',
        details: { conflicts: state.conflicts },
      });
    }
    const tree = await storeIndexTree(repo, repo.db.loadIndex());
    const roots = repo.db.trackedRoots();
    const { id } = await newCommit(repo, { tree, parents: [state.ours, state.theirs], message, meta: { roots } });
    repo.db.tx(() => {
      moveHead(repo, state, id);
      repo.db.setIndexTree(tree);
      setMergeState(repo.db, null);
    });
    await recordDataVersion(repo);
    return { status: 'merged', into: state.into, from: state.from, ours: state.ours, theirs: state.theirs, base: state.base, commit: id, changes: [], conflicts: [], dryRun: false };
  });
}

export interface AbortResult {
  from: string;
  head: Id;
  restored: number;
  removed: number;
}

/** strata merge --abort: the workspace and index as they were before the merge. */
export async function mergeAbort(repo: Repository, opts: OpOptions = {}): Promise<AbortResult> {
  return repo.withWriteLock('merge', async () => {
    const state = getMergeState(repo.db);
    if (!state) throw new StrataError('INVALID_ARGUMENT', 'no merge in progress', { hint: 'strata status shows the state of the workspace' });
    const oursTree = (await repo.readCommit(state.ours)).tree;
    // What the merge (and any resolving since) changed, back to ours: the recorded paths, plus
    // whatever the index now holds that differs from ours (resolutions staged with add).
    const index = repo.db.loadIndex();
    const ours = await flattenTree(repo, oursTree);
    const paths = new Set<string>(state.touched);
    for (const c of state.conflicts) paths.add(c.path);
    for (const [p, r] of index) {
      const o = ours.get(p);
      if (!o || o.id !== r.id || o.exec !== r.exec || o.type !== r.type || o.target !== r.target) paths.add(p);
    }
    for (const p of ours.keys()) if (!index.has(p)) paths.add(p);
    // Conflict paths may be folders (file/folder): everything under them too.
    const under = (p: string) => {
      for (let q = p; ; q = q.slice(0, q.lastIndexOf('/'))) {
        if (paths.has(q)) return true;
        if (!q.includes('/')) return false;
      }
    };
    const write: IndexRow[] = [];
    const remove: string[] = [];
    for (const [p, r] of ours) if (under(p)) write.push(r);
    for (const p of index.keys()) if (under(p) && !ours.has(p)) remove.push(p);
    // Paths only the merge wrote (absent from ours and the index): removed, and the folders made
    // for them pruned when empty (also after a merge killed before it wrote them all).
    const listed = new Set(remove);
    for (const p of paths) if (!ours.has(p) && !index.has(p) && !listed.has(p)) remove.push(p);
    const res = await applyPlan(repo, { remove, write }, { progress: opts.progress, target: ours.keys() });
    const oursCommit = await repo.readCommit(state.ours);
    repo.db.tx(() => {
      repo.db.replaceIndex(ours.values(), oursTree);
      repo.db.deleteStat(remove);
      repo.db.upsertStat(res.statRows);
      repo.db.setTrackedRoots(outermost(rootsOf(oursCommit)));
      setMergeState(repo.db, null);
      const cur = repo.head().commit;
      if (cur !== state.ours) moveHead(repo, { ...state, ours: cur ?? state.ours }, state.ours);
    });
    return { from: state.from, head: state.ours, restored: res.written, removed: res.removed };
  });
}

export interface MergeRefsOptions {
  /** The branch merged into (moved by compare-and-swap). */
  into: string;
  /** What is merged: a branch, tag or commit. */
  from: string;
  strategy?: string;
  dryRun?: boolean;
  message?: string;
  /** The commit `into` must still be at (what the client saw); default: as read now. */
  expect?: string;
  author?: Commit['author'];
}

/**
 * Merge without a workspace (the server): fast-forward or a clean three-way merge moves `into`;
 * conflicts move nothing and are listed (status 'conflicts'). Rules come from the committed
 * `.strataattributes` of `into`.
 */
/** A protected `into` (checks.protect) moves only to a commit whose checks pass: CHECK_FAILED otherwise, nothing moved. */
async function gateMerge(repo: Repository, opts: MergeRefsOptions, commit: Id, ours: Id): Promise<void> {
  await gateBranchMove(repo, {
    branch: opts.into,
    commit,
    previous: ours,
    what: `merge of ${opts.from} into ${opts.into}`,
    hint: `fix the data on ${opts.from} and merge again (strata check ${opts.from} --failures lists the failing rows); ${opts.into} was not moved`,
  });
}

export async function mergeRefs(repo: Repository, opts: MergeRefsOptions): Promise<MergeOutcome> {
  const strategy = checkStrategy(opts.strategy);
  // A dry run writes nothing: it does not wait for (or block) writers.
  const locked = <T>(fn: () => Promise<T>) => (opts.dryRun ? fn() : repo.withWriteLock('merge', fn));
  return locked(async () => {
    const ref = repo.db.getRef(HEADS + opts.into);
    if (!ref) throw new StrataError('UNKNOWN_REF', `no branch named ${opts.into}`, { hint: 'merge into an existing branch' });
    const ours = ref.target;
    if (opts.expect !== undefined && opts.expect !== ours) {
      throw new StrataError('REF_CONFLICT', `${opts.into} moved: it is at ${ours}, not ${opts.expect}`, { hint: 'reload and look at the comparison again', details: { current: ours, expected: opts.expect } });
    }
    const theirs = await resolveRev(repo, opts.from);
    const base0 = { into: opts.into, from: opts.from, ours, theirs, dryRun: !!opts.dryRun };
    if (await isAncestor(repo, theirs, ours)) return { ...base0, status: 'up-to-date', base: theirs, commit: null, changes: [], conflicts: [] };
    const oursTree = (await repo.readCommit(ours)).tree;
    const theirsTree = (await repo.readCommit(theirs)).tree;
    if (await isAncestor(repo, ours, theirs)) {
      const r = await mergeTrees(repo, { base: oursTree, ours: oursTree, theirs: theirsTree, rules: NO_RULES, write: false });
      if (!opts.dryRun) {
        await gateMerge(repo, opts, theirs, ours);
        repo.db.tx(() => repo.db.casRef(HEADS + opts.into, ours, theirs));
      }
      return { ...base0, status: 'fast-forward', base: ours, commit: theirs, changes: r.changes, conflicts: [] };
    }
    const base = await mergeBase(repo, ours, theirs);
    const baseTree = base ? (await repo.readCommit(base)).tree : null;
    const rules = await loadRules(repo, oursTree, false, strategy);
    const r = await mergeTrees(repo, { base: baseTree, ours: oursTree, theirs: theirsTree, rules, strategy, write: !opts.dryRun });
    if (r.conflicts.length || opts.dryRun) {
      return { ...base0, status: r.conflicts.length ? 'conflicts' : 'merged', base, commit: null, changes: r.changes, conflicts: r.conflicts };
    }
    const oc = await repo.readCommit(ours);
    const tc = await repo.readCommit(theirs);
    const roots = outermost([...rootsOf(oc), ...rootsOf(tc)]);
    const { id } = await newCommit(repo, { tree: r.tree, parents: [ours, theirs], message: opts.message?.trim() || defaultMessage(opts.from, opts.into), meta: { roots }, code: false, author: opts.author });
    await gateMerge(repo, opts, id, ours);
    repo.db.tx(() => repo.db.casRef(HEADS + opts.into, ours, id));
    return { ...base0, status: 'merged', base, commit: id, changes: r.changes, conflicts: [] };
  });
}
