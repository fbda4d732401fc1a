/**
 * `strata show [REF | RUN_ID]`: one commit in full (default HEAD), or one pipeline run in full.
 * Run ids are UUIDv7s (`01a2…-…`); commit ids are 64 hex digits. A target with dashes is a run;
 * a bare hex prefix that matches both a commit and a run is AMBIGUOUS_REF.
 */
import { readCodeChanges, type CodeChanges } from '../code/snapshot.js';
import { StrataError } from '../errors/index.js';
import { findRun, type RunRecord } from '../meta/runs.js';
import { parseManifest, type Commit, type Id } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { resolveRev } from '../repo/refs.js';
import { diffTrees, type Change } from '../repo/tree.js';
import { refsByCommit } from './log.js';

export interface ShowResult extends Commit {
  id: Id;
  refs: string[];
  /** Changes against the first parent (or everything, for a root commit). */
  changes: Change[];
}

/** A run in full: the record plus what the store knows about its inputs and code changes. */
export interface RunShowResult {
  kind: 'run';
  run: RunRecord;
  /** ms */
  duration: number;
  /** Size of each dep (path -> bytes), null when its objects are not in the local store. */
  depSizes: Record<string, number | null>;
  /** The recorded uncommitted code changes (when the code was dirty and they were recorded). */
  codeChanges: CodeChanges | null;
}

export type ShowAnyResult = ({ kind: 'commit' } & ShowResult) | RunShowResult;

async function showCommit(repo: Repository, ref: string): Promise<ShowResult> {
  const id = await resolveRev(repo, ref);
  const c = await repo.readCommit(id);
  const parentTree = c.parents[0] ? (await repo.readCommit(c.parents[0])).tree : null;
  const changes = await diffTrees(repo, parentTree, c.tree);
  return { id, ...c, refs: refsByCommit(repo).get(id) ?? [], changes };
}

const UUID_LIKE = /^[0-9a-f]{4,}-[0-9a-f-]*$/i;
const HEX = /^[0-9a-f]{4,64}$/i;

/** A commit (REF) or a run (RUN_ID or unique prefix). */
export async function showAny(repo: Repository, opts: { target?: string } = {}): Promise<ShowAnyResult> {
    const t = (opts.target ?? 'HEAD').trim();
  if (UUID_LIKE.test(t)) {
    const run = findRun(repo.db, t);
    if (run) return showRun(repo, run);
    try {
      return { kind: 'commit' as const, ...(await showCommit(repo, t)) };
    } catch (e) {
      if (e instanceof StrataError && e.code === 'UNKNOWN_REF') {
        throw new StrataError('RUN_NOT_FOUND', `no run ${JSON.stringify(t)}`, { hint: 'list runs with strata runs (ids are UUIDs; a unique prefix is enough)' });
      }
      throw e;
    }
  }
  let commit: ShowResult | null = null;
  let refError: unknown = null;
  try {
    commit = await showCommit(repo, t);
  } catch (e) {
    refError = e;
  }
  const run = HEX.test(t) && t.length <= 32 ? findRun(repo.db, t) : null;
  if (commit && run && commit.id.startsWith(t.toLowerCase())) {
    throw new StrataError('AMBIGUOUS_REF', `${t} is both a commit (${commit.id.slice(0, 12)}) and a run (${run.id})`, {
      hint: `write the run id with its dashes (${run.id}) or more characters of the commit id`,
    });
  }
  if (commit) return { kind: 'commit' as const, ...commit };
  if (run) return showRun(repo, run);
  throw refError;
}

async function sizeOfDep(repo: Repository, d: RunRecord['deps'][number]): Promise<number | null> {
  try {
    if (d.kind === 'dir') {
      const t = await repo.readTree(d.id);
      return t.entries.reduce((a, e) => a + e.size, 0);
    }
    if (d.chunks) return parseManifest(await repo.store.getBytes(d.chunks), { id: d.chunks }).size;
    return (await repo.store.stat(d.id))?.size ?? null;
  } catch {
    return null;
  }
}

async function showRun(repo: Repository, run: RunRecord): Promise<RunShowResult> {
  const depSizes: Record<string, number | null> = {};
  for (const d of run.deps) depSizes[d.path] = await sizeOfDep(repo, d);
  let codeChanges: CodeChanges | null = null;
  if (run.code?.diff) codeChanges = await readCodeChanges(repo, run.code.diff).catch(() => null);
  return { kind: 'run', run, duration: run.ended - run.started, depSizes, codeChanges };
}
