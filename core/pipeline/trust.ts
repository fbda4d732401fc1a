/**
 * Which commands of strata.yaml the user has already run here, and which changed commands came
 * from someone else (a pull), so `strata repro` never runs pulled commands without being asked.
 *
 * The record: after every `strata repro` that gets past this check, the local metadata (table
 * `meta`, key `pipeline.approved`; never pushed) keeps each stage's command fingerprint — cmd,
 * wdir and env, what decides what runs — and a hash of the strata.yaml text.
 *
 * A stage is "changed" when the record exists and its fingerprint differs from the recorded one
 * (or the stage is new). A changed stage is "incoming" (not written locally) when its current
 * definition is carried by a git commit made since the last repro by an author other than the
 * local git user (`user.email`) — merged branches included, so a local merge commit does not
 * launder it — or is the one in the strata HEAD commit's tree made by another author than this
 * repository's. A change the user wrote (uncommitted, or committed as themselves) is their own. With no record yet (the first repro in this repository), nothing is
 * "changed": the user is running a pipeline they chose to check out.
 */
import * as fs from 'node:fs';
import { join, relative } from 'node:path';
import { findGitRoot } from '../code/git.js';
import { isoGitLocation } from '../code/git-builtin.js';
import { openCodeRepo } from '../code/repo.js';
import type { ConfigSource } from '../config/registry.js';
import { hashBytes } from '../hash/index.js';
import { getLocalMeta, setLocalMeta } from '../meta/runs.js';
import { canonicalJson } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { parsePipeline, PIPELINE_FILE, type PipelineSpec, type StageSpec } from './spec.js';

const KEY = 'pipeline.approved';

interface Approved {
  v: 1;
  hash: string;
  stages: Record<string, string>;
  /** git HEAD when the record was made: commits reachable from it were there at the last repro. */
  git?: string | null;
}

export interface StageChange {
  stage: string;
  /** new: no such stage when last run here; changed: its cmd, wdir or env differ. */
  kind: 'new' | 'changed';
  cmd: string;
  wdir: string;
  env: Record<string, string>;
  /** The command last run here (changed stages). */
  before?: string;
  /** Not written locally: it arrived with a commit by someone else. */
  incoming: boolean;
  /** Where the incoming definition came from (e.g. "git commit 1a2b3c4d5e6f by Eve <eve@x>"). */
  source?: string;
}

export interface PipelineChanges {
  /** False on the first repro in this repository (nothing to compare with). */
  recorded: boolean;
  /** strata.yaml differs from the text last run here. */
  fileChanged: boolean;
  changes: StageChange[];
}

function fingerprint(st: Pick<StageSpec, 'cmd' | 'wdir' | 'env'>): string {
  return canonicalJson({ cmd: st.cmd, wdir: st.wdir, env: st.env });
}

function readApproved(repo: Repository): Approved | null {
  const raw = getLocalMeta(repo.db, KEY);
  if (!raw) return null;
  try {
    const a = JSON.parse(raw) as Approved;
    return a && a.v === 1 && typeof a.stages === 'object' ? a : null;
  } catch {
    return null;
  }
}

/** Record the current definitions of `stages` (the rest keep their record) as run by the user. */
export async function recordApproved(repo: Repository, spec: PipelineSpec, text: string, stages: string[]): Promise<void> {
  const prev = readApproved(repo);
  const rec: Approved = { v: 1, hash: hashBytes(text), stages: { ...(prev?.stages ?? {}) }, git: await gitHead(repo.root, repo.db) };
  for (const name of stages) {
    const st = spec.stages.find((s) => s.name === name);
    if (st) rec.stages[name] = fingerprint(st);
  }
  if (!prev) for (const st of spec.stages) rec.stages[st.name] ??= fingerprint(st);
  repo.db.tx(() => setLocalMeta(repo.db, KEY, JSON.stringify(rec)));
}

function parseQuiet(text: string): PipelineSpec | null {
  try {
    return parsePipeline(text);
  } catch {
    return null;
  }
}

type Git = typeof import('isomorphic-git');

async function gitHead(projectRoot: string, config: ConfigSource | null): Promise<string | null> {
  try {
    const code = await openCodeRepo(projectRoot, { config });
    return code ? await code.headCommit() : null;
  } catch {
    return null;
  }
}

/** How many git commits back `pipelineChanges` looks for someone else's strata.yaml. */
const GIT_LOOKBACK = 200;

/**
 * The versions of strata.yaml carried by git commits made by someone else (author email other
 * than the repository's user.email) that were not there at the last repro here (not reachable from
 * `base`, git HEAD then), newest first, at most GIT_LOOKBACK commits back, merged branches included.
 */
async function gitForeignVersions(projectRoot: string, base: string | null, config: ConfigSource | null): Promise<Array<{ spec: PipelineSpec; source: string; local: boolean }>> {
  const root = await findGitRoot(projectRoot);
  if (!root) return [];
  const g = (await import('isomorphic-git')).default as unknown as Git;
  const filepath = [relative(root, projectRoot).split('\\').join('/'), PIPELINE_FILE].filter(Boolean).join('/');
  const out: Array<{ spec: PipelineSpec; source: string; local: boolean }> = [];
  try {
    // A linked worktree or submodule keeps its objects elsewhere; HEAD is resolved per work tree.
    const { gitdir } = await isoGitLocation(root);
    const head = await gitHead(projectRoot, config);
    if (!head) return [];
    const me = (((await g.getConfig({ fs, dir: root, gitdir, path: 'user.email' })) as string | undefined) ?? '').toLowerCase();
    const log = await g.log({ fs, dir: root, gitdir, ref: head, depth: GIT_LOOKBACK });
    // Commits already there at the last repro were judged then.
    const seen = new Set<string>();
    if (base) {
      try {
        for (const e of await g.log({ fs, dir: root, gitdir, ref: base, depth: GIT_LOOKBACK * 2 })) seen.add(e.oid);
      } catch {
        /* the old HEAD is gone (history rewritten): judge every commit */
      }
    }
    const parsed = new Map<string, PipelineSpec | null>();
    for (const e of log) {
      const a = e.commit.author;
      if (seen.has(e.oid)) continue;
      if (me && a.email.toLowerCase() === me) continue;
      let blob;
      try {
        blob = await g.readBlob({ fs, dir: root, gitdir, oid: e.oid, filepath });
      } catch {
        continue; // no strata.yaml in that commit
      }
      if (!parsed.has(blob.oid)) parsed.set(blob.oid, parseQuiet(Buffer.from(blob.blob).toString('utf8')));
      const spec = parsed.get(blob.oid);
      if (spec) out.push({ spec, local: false, source: `git commit ${e.oid.slice(0, 12)} by ${a.name} <${a.email}>` });
    }
  } catch {
    /* no commits, unreadable repository: nothing came from git */
  }
  return out;
}

/** The definition of strata.yaml in the strata HEAD commit's tree and who made that commit, or null. */
async function strataVersion(repo: Repository): Promise<{ spec: PipelineSpec; source: string; local: boolean } | null> {
  try {
    const head = repo.head().commit;
    if (!head) return null;
    const c = await repo.readCommit(head);
    const row = (await repo.readTree(c.tree)).entries.find((e) => e.name === PIPELINE_FILE);
    if (!row || row.type !== 'file' || row.chunks) return null;
    const spec = parseQuiet((await repo.store.getBytes(row.id, { verify: true })).toString('utf8'));
    if (!spec) return null;
    const me = await repo.author();
    const local = (c.author?.email ?? '').toLowerCase() === me.email.toLowerCase();
    return { spec, local, source: `strata commit ${head.slice(0, 12)} by ${c.author?.name ?? '?'} <${c.author?.email ?? ''}>` };
  } catch {
    return null;
  }
}

/** Compare the pipeline about to run with what was last run here. */
export async function pipelineChanges(repo: Repository, spec: PipelineSpec): Promise<PipelineChanges> {
  const text = await fs.promises.readFile(join(repo.root, PIPELINE_FILE), 'utf8').catch(() => '');
  const approved = readApproved(repo);
  if (!approved) return { recorded: false, fileChanged: false, changes: [] };
  const changes: StageChange[] = [];
  let versions: Array<{ spec: PipelineSpec; source: string; local: boolean }> | null = null;
  for (const st of spec.stages) {
    const before = approved.stages[st.name];
    const fp = fingerprint(st);
    if (before === fp) continue;
    versions ??= [...(await gitForeignVersions(repo.root, approved.git ?? null, repo.db)), ...[await strataVersion(repo)].filter((v): v is NonNullable<typeof v> => v !== null)];
    let incoming = false;
    let source: string | undefined;
    for (const v of versions) {
      const there = v.spec.stages.find((s) => s.name === st.name);
      if (there && fingerprint(there) === fp && !v.local) {
        incoming = true;
        source = v.source;
        break;
      }
    }
    let beforeCmd: string | undefined;
    if (before) {
      try {
        beforeCmd = (JSON.parse(before) as { cmd: string }).cmd;
      } catch {
        beforeCmd = undefined;
      }
    }
    changes.push({ stage: st.name, kind: before ? 'changed' : 'new', cmd: st.cmd, wdir: st.wdir, env: st.env, ...(beforeCmd !== undefined ? { before: beforeCmd } : {}), incoming, ...(source ? { source } : {}) });
  }
  return { recorded: true, fileChanged: hashBytes(text) !== approved.hash, changes };
}

/** The text of strata.yaml (for recordApproved). */
export async function pipelineText(repo: Repository): Promise<string> {
  return fs.promises.readFile(join(repo.root, PIPELINE_FILE), 'utf8').catch(() => '');
}
