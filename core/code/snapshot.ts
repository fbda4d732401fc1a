/**
 * Code snapshots for reproducibility.
 *
 * 1. Recording: when the code repository is dirty, the uncommitted changes of TRACKED files are
 *    stored as a "code changes" object (canonical JSON) whose id goes into `code.diff` of a commit
 *    or run. Each changed file's full working-tree content is a blob in the object store (exact and
 *    binary-safe, so applying it needs no patching):
 *
 *      {"strata":"codechanges","v":1,"base":"<git commit>","prefix":"<strata root rel. to git root>",
 *       "files":[{"path":"train.mjs","status":"modified","mode":"100644","id":"<blake3>","size":123},
 *                {"path":"old.py","status":"deleted"}],
 *       "skipped":[{"path":"big.bin","status":"modified","size":99999999,"reason":"..."}]}
 *
 *    Paths are relative to the git work tree root. Strata-tracked data (gitignored anyway) and
 *    untracked files are not code changes. Files over CODE_CHANGE_FILE_MAX are listed in `skipped`.
 *
 * 2. Restoring: the code of a recorded git commit is written into a NEW folder, which becomes a
 *    shallow git repository holding just that commit (objects read from the source repository
 *    through a CodeRepo — the git program or isomorphic-git, core/code/repo.ts — and written and
 *    checked out there with isomorphic-git; the source repository's index and HEAD are never
 *    touched), and the recorded changes are re-applied on top as uncommitted changes. Or, in place,
 *    the commit's files are written over the work tree (index and HEAD untouched).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join, relative } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';
import { hashBytes } from '../hash/index.js';
import { canonicalJson, parseCommit, parseManifest, type Id } from '../model/index.js';
import { parseRun, type RunRecord } from '../meta/runs.js';
import { MAX_LISTED_PATHS } from '../model/limits.js';
import { arr, bad, fields, id, int, obj, oneOf, parseObject, relPath, str, type ObjectContext } from '../model/strict.js';
import type { Repository } from '../repo/index.js';
import type { ConfigSource } from '../config/registry.js';
import { openCodeRepo, type CodeRepo, type GitTreeEntry } from './repo.js';
import { isUnder } from '../workspace/paths.js';
import { checkOnDisk, checkRestoreRows, isReservedName, linkTargetProblem, pathProblem, safeRemove, safeWriteFile } from '../pipeline/safety.js';

type Git = typeof import('isomorphic-git');
let gitMod: Git | undefined;
async function git(): Promise<Git> {
  gitMod ??= (await import('isomorphic-git')).default as unknown as Git;
  return gitMod;
}

/** Changed files larger than this are not stored (listed in `skipped`, with a warning). */
const CODE_CHANGE_FILE_MAX = 16 * 1024 * 1024;
/** At most this many bytes of changed files per snapshot (later files are skipped). */
const CODE_CHANGE_TOTAL_MAX = 64 * 1024 * 1024;

export type CodeChangeStatus = 'modified' | 'deleted' | 'added';

export interface CodeChangeFile {
  /** Relative to the git work tree root. */
  path: string;
  status: CodeChangeStatus;
  /** git mode of the working copy: 100644, 100755 or 120000 (symlink: the blob is the target). */
  mode?: string;
  /** Blob id of the full working-tree content (absent for deleted files). */
  id?: Id;
  size?: number;
}

export interface CodeChanges {
  /** The git commit the changes are relative to. */
  base: string;
  /** The strata project root relative to the git work tree root ('' when the same). */
  prefix: string;
  files: CodeChangeFile[];
  skipped: Array<{ path: string; status: CodeChangeStatus; size: number; reason: string }>;
}

export function serializeCodeChanges(c: CodeChanges): Buffer {
  const files = [...c.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const skipped = [...c.skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return Buffer.from(canonicalJson({ strata: 'codechanges', v: 1, base: c.base, prefix: c.prefix, files, skipped }), 'utf8');
}

/** A code changes object, strictly: safe relative paths, known statuses and modes, valid ids, canonical bytes. */
export function parseCodeChanges(bytes: Uint8Array, ctx?: ObjectContext): CodeChanges {
  return parseObject('code changes', bytes, ctx, buildCodeChanges, (c) => serializeCodeChanges(c));
}

const CODE_STATUSES = ['modified', 'deleted', 'added'] as const;
const GIT_MODES = ['100644', '100755', '120000'] as const;

function buildCodeChanges(rawIn: unknown): CodeChanges {
  const raw = obj(rawIn, 'the object');
  if (raw.strata !== 'codechanges') bad('it is not a code changes object');
  fields(raw, 'the code changes object', ['strata', 'v', 'base', 'prefix', 'files', 'skipped']);
  if (raw.v !== 1) bad(`unknown code changes version ${JSON.stringify(raw.v)}`);
  const base = str(raw.base, 'its base commit');
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(base)) bad('its base commit is not a git commit id');
  const prefix = str(raw.prefix, 'its project prefix');
  if (prefix !== '') relPath(prefix, 'its project prefix');
  const files: CodeChangeFile[] = arr(raw.files, 'its changed files', MAX_LISTED_PATHS).map((x, i) => {
    const o = obj(x, `changed file ${i}`);
    const path = relPath(o.path, `the path of changed file ${i}`);
    const status = oneOf(o.status, `the status of ${path}`, CODE_STATUSES);
    if (status === 'deleted') {
      fields(o, `changed file ${path}`, ['path', 'status']);
      return { path, status };
    }
    fields(o, `changed file ${path}`, ['path', 'status', 'mode', 'id', 'size']);
    return { path, status, mode: oneOf(o.mode, `the mode of ${path}`, GIT_MODES), id: id(o.id, `the blob id of ${path}`), size: int(o.size, `the size of ${path}`) };
  });
  const skipped: CodeChanges['skipped'] = arr(raw.skipped, 'its skipped files', MAX_LISTED_PATHS).map((x, i) => {
    const o = obj(x, `skipped file ${i}`);
    fields(o, `skipped file ${i}`, ['path', 'status', 'size', 'reason']);
    const path = relPath(o.path, `the path of skipped file ${i}`);
    return { path, status: oneOf(o.status, `the status of ${path}`, CODE_STATUSES), size: int(o.size, `the size of ${path}`), reason: str(o.reason, `the reason for ${path}`) };
  });
  for (const list of [files, skipped]) {
    for (let i = 1; i < list.length; i++) if (!(list[i - 1]!.path < list[i]!.path)) bad(`paths are not sorted or listed twice (${JSON.stringify(list[i]!.path)})`);
  }
  return { base, prefix, files, skipped };
}

export async function readCodeChanges(repo: Repository, id: Id): Promise<CodeChanges> {
  return parseCodeChanges(await repo.store.getBytes(id, { verify: true }), { id });
}

export interface SnapshotResult {
  id: Id;
  changes: CodeChanges;
  warnings: string[];
}

/**
 * Store the uncommitted changes of tracked files in the git repository at `gitRoot` (relative to
 * commit `base`) and the changes object itself; returns its id. Null when nothing tracked changed.
 */
export async function snapshotCodeChanges(repo: Repository, gitRoot: string, base: string): Promise<SnapshotResult | null> {
  const code = await codeRepoAt(gitRoot, repo.db);
  const prefix = relative(gitRoot, repo.root).split('\\').join('/');
  const data = repo.db.trackedRoots().map((r) => (prefix ? `${prefix}/${r}` : r));
  const strataDir = prefix ? `${prefix}/.strata` : '.strata';
  const changed = await code.changedFiles();
  const files: CodeChangeFile[] = [];
  const skipped: CodeChanges['skipped'] = [];
  const warnings: string[] = [];
  let total = 0;
  for (const { path, status } of changed) {
    if (isUnder(path, strataDir) || data.some((d) => isUnder(path, d))) continue;
    if (status === 'deleted') {
      files.push({ path, status });
      continue;
    }
    const abs = join(gitRoot, path);
    const st = await fsp.lstat(abs).catch(() => null);
    if (!st) continue; // staged, then removed from the work tree: nothing to re-apply
    let bytes: Buffer;
    let mode: string;
    if (st.isSymbolicLink()) {
      bytes = Buffer.from(await fsp.readlink(abs), 'utf8');
      mode = '120000';
    } else if (st.isFile()) {
      if (st.size > CODE_CHANGE_FILE_MAX || total + st.size > CODE_CHANGE_TOTAL_MAX) {
        const reason = st.size > CODE_CHANGE_FILE_MAX ? `larger than ${CODE_CHANGE_FILE_MAX} bytes` : `over the ${CODE_CHANGE_TOTAL_MAX}-byte total for one snapshot`;
        skipped.push({ path, status, size: st.size, reason });
        warnings.push(`uncommitted change to ${path} (${st.size} bytes) is ${reason} and was not recorded: commit it with git so the run can be reproduced`);
        continue;
      }
      bytes = await fsp.readFile(abs);
      mode = st.mode & 0o111 ? '100755' : '100644';
    } else continue;
    total += bytes.length;
    const id = hashBytes(bytes);
    await repo.store.put(id, bytes);
    files.push({ path, status, mode, id, size: bytes.length });
  }
  if (files.length === 0 && skipped.length === 0) return null;
  const changes: CodeChanges = { base, prefix, files, skipped };
  const bytes = serializeCodeChanges(changes);
  const id = hashBytes(bytes);
  await repo.store.put(id, bytes);
  return { id, changes, warnings };
}

/** Object ids a code changes object needs (itself and its blobs). */
export function codeChangeObjects(id: Id, c: CodeChanges | null): Id[] {
  return [id, ...(c ? c.files.filter((f) => f.id).map((f) => f.id!) : [])];
}

// ---------------------------------------------------------------- restoring code

function refuse(message: string): StrataError {
  return new StrataError('PATH_OUTSIDE_WORKSPACE', message, {
    hint: 'the recorded code would write into .git, outside the folder or through a symbolic link; it came from a crafted or corrupt record, and nothing was written',
  });
}

/** Refuse a git tree entry name / path of recorded code that could escape or reach .git. */
function checkCodePath(p: string, what: string): void {
  const problem = pathProblem(p);
  if (problem) throw refuse(`${what}: ${problem}`);
}

async function writeFileMode(root: string, rel: string, bytes: Uint8Array, mode: string | undefined): Promise<void> {
  await safeWriteFile(root, rel, bytes, mode, `code file ${rel}`);
}
/** The code repository whose work tree root is `gitRoot` (read as `code.git` of `config` says). */
async function codeRepoAt(gitRoot: string, config: ConfigSource | null): Promise<CodeRepo> {
  const code = await openCodeRepo(gitRoot, { config });
  if (!code) throw new StrataError('PATH_NOT_FOUND', `${gitRoot} is not in a git repository`, { hint: 'run this inside a clone of the code repository' });
  return code;
}

/** True when `commit` can be read from the git repository at `gitRoot`. */
export async function hasGitCommit(gitRoot: string, commit: string, config: ConfigSource | null = null): Promise<boolean> {
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(commit)) return false;
  return (await codeRepoAt(gitRoot, config)).hasCommit(commit);
}

export interface RestoredCode {
  files: number;
  /** Submodules and other entries that could not be restored. */
  warnings: string[];
}

/**
 * The entries of `commit`, every name and link target checked before anything is written:
 * no entry may reach `.git`/`.strata` or leave the folder, and no link may point outside it.
 * Submodules are listed in `warnings` (not restored).
 */
async function checkedEntries(code: CodeRepo, commit: string, verb: string): Promise<{ entries: GitTreeEntry[]; warnings: string[] }> {
  const short = commit.slice(0, 12);
  const all = await code.listTree(commit);
  const entries: GitTreeEntry[] = [];
  const warnings: string[] = [];
  for (const e of all) {
    if (e.path.split('/').some((part) => part === '' || isReservedName(part))) throw refuse(`git commit ${short} has an entry ${JSON.stringify(e.path)}; refusing to ${verb} it`);
    checkCodePath(e.path, `git commit ${short}`);
    if (e.type === 'commit') warnings.push(`submodule ${e.path} (commit ${e.oid.slice(0, 10)}) is not restored: check it out by hand`);
    else entries.push(e);
  }
  const links = entries.filter((e) => e.type === 'blob' && e.mode === '120000');
  const byOid = new Map<string, GitTreeEntry[]>();
  for (const l of links) byOid.set(l.oid, [...(byOid.get(l.oid) ?? []), l]);
  await code.readObjects([...byOid.keys()], (oid, _type, bytes) => {
    for (const l of byOid.get(oid)!) {
      const problem = linkTargetProblem(l.path, Buffer.from(bytes).toString('utf8'));
      if (problem) throw refuse(`git commit ${short}: ${problem}`);
    }
  });
  return { entries, warnings };
}

/**
 * Make `dest` (a new, empty folder) a shallow git repository holding `commit` from the repository at
 * `srcRoot`, checked out on branch `branch`. Only the source's object database is read.
 */
export async function checkoutCommitInto(srcRoot: string, commit: string, dest: string, branch: string, config: ConfigSource | null = null): Promise<RestoredCode> {
  const src = await codeRepoAt(srcRoot, config);
  const g = await git();
  // Every entry is checked before anything is written.
  const info = await src.commitInfo(commit);
  const { entries, warnings } = await checkedEntries(src, commit, 'check out');
  await g.init({ fs, dir: dest, defaultBranch: branch });
  const oids = [...new Set([commit, info.tree, ...entries.map((e) => e.oid)])];
  await src.readObjects(oids, async (oid, type, bytes) => {
    const got = await g.writeObject({ fs, dir: dest, type: type as 'blob' | 'tree' | 'commit', object: bytes, format: 'content' });
    if (got !== oid) throw new StrataError('OBJECT_CORRUPT', `git object ${oid} of ${srcRoot} hashes to ${got}`, { hint: 'run git fsck in the code repository' });
  });
  // Parents are not copied: mark the commit as a shallow boundary so git does not look for them.
  if (info.parents.length) await fsp.writeFile(join(dest, '.git', 'shallow'), commit + '\n');
  await g.writeRef({ fs, dir: dest, ref: `refs/heads/${branch}`, value: commit, force: true });
  await g.writeRef({ fs, dir: dest, ref: 'HEAD', value: `refs/heads/${branch}`, symbolic: true, force: true });
  await g.checkout({ fs, dir: dest, ref: branch, force: true });
  return { files: entries.filter((e) => e.type === 'blob').length, warnings };
}

/**
 * Write the files of `commit` over the work tree at `gitRoot` (in place): tracked files of HEAD that
 * the commit lacks are removed. Neither the index nor HEAD moves, so git then shows the difference
 * as uncommitted changes.
 */
export async function writeCommitFiles(gitRoot: string, commit: string, config: ConfigSource | null = null): Promise<RestoredCode> {
  const code = await codeRepoAt(gitRoot, config);
  // First every entry is read and checked (names, link targets), then the files are written.
  const checked = await checkedEntries(code, commit, 'write');
  const blobs = checked.entries.filter((e) => e.type === 'blob');
  const warnings = checked.warnings.map((w) => w.replace(/ \(commit [0-9a-f]+\) is not restored: check it out by hand$/, ' is not restored'));
  for (const e of blobs) await checkOnDisk(gitRoot, e.path, `code file ${e.path}`, { allowFinalLink: true });
  const want = new Set(blobs.map((e) => e.path));
  const byOid = new Map<string, GitTreeEntry[]>();
  for (const e of blobs) byOid.set(e.oid, [...(byOid.get(e.oid) ?? []), e]);
  let files = 0;
  await code.readObjects([...byOid.keys()], async (oid, _type, blob) => {
    for (const e of byOid.get(oid)!) {
      const abs = join(gitRoot, e.path);
      const cur = await fsp.lstat(abs).catch(() => null);
      if (cur?.isFile() && e.mode !== '120000') {
        const now = await fsp.readFile(abs);
        if (Buffer.compare(now, Buffer.from(blob)) === 0 && !!(cur.mode & 0o111) === (e.mode === '100755')) continue;
      }
      await writeFileMode(gitRoot, e.path, blob, e.mode);
      files++;
    }
  });
  const head = await code.headCommit();
  const headFiles = head ? (await code.listTree(head)).filter((e) => e.type === 'blob').map((e) => e.path) : [];
  for (const p of headFiles) {
    if (want.has(p) || pathProblem(p)) continue;
    await safeRemove(gitRoot, p, `code file ${p}`);
  }
  return { files, warnings };
}

/**
 * Refuse recorded code changes that would write into `.git` (any case, at any depth), outside the
 * folder, or a symbolic link pointing outside it. `blob` reads a stored file (link targets).
 */
export async function checkCodeChanges(c: CodeChanges, blob: (id: Id) => Promise<Buffer>): Promise<void> {
  // No written path twice or below another written file or link (a link written first would
  // redirect the files below it).
  try {
    checkRestoreRows(
      c.files.filter((f) => f.status !== 'deleted').map((f) => ({ path: f.path, type: f.mode === '120000' ? ('symlink' as const) : ('file' as const), target: null })),
      'recorded code changes',
      { linksOutside: true },
    );
  } catch (e) {
    throw refuse((e as Error).message);
  }
  for (const f of c.files) {
    checkCodePath(f.path, 'recorded code change');
    if (f.status !== 'deleted' && f.mode === '120000') {
      const problem = linkTargetProblem(f.path, (await blob(f.id!)).toString('utf8'));
      if (problem) throw refuse(`recorded code change: ${problem}`);
    }
  }
}

/**
 * Re-apply recorded code changes in the work tree at `root` (the git work tree root). `blob` reads
 * a stored file. Staged-new files are also added to the git index when `stageAdded`.
 */
export async function applyCodeChanges(root: string, c: CodeChanges, blob: (id: Id) => Promise<Buffer>, opts: { stageAdded?: boolean } = {}): Promise<string[]> {
  // Everything is checked before the first write: paths, link targets, and the folders on the way.
  await checkCodeChanges(c, blob);
  for (const f of c.files) await checkOnDisk(root, f.path, `code file ${f.path}`, { allowFinalLink: true });
  const applied: string[] = [];
  for (const f of c.files) {
    const abs = join(root, f.path);
    try {
      if (f.status === 'deleted') await safeRemove(root, f.path, `code file ${f.path}`);
      else await writeFileMode(root, f.path, await blob(f.id!), f.mode);
    } catch (e) {
      throw fromSystemError(e, abs);
    }
    applied.push(f.path);
  }
  if (opts.stageAdded) {
    const g = await git();
    for (const f of c.files) if (f.status === 'added') await g.add({ fs, dir: root, filepath: f.path });
  }
  return applied;
}

// ---------------------------------------------------------------- gc roots

/**
 * Objects that keep commits and runs reproducible: code changes objects (and their blobs) of runs
 * and commits, and the input versions (deps) of runs that are in the store. Only objects present
 * locally are listed (what is absent cannot be kept, and fsck reports runs by their own objects).
 */
export async function reproducibilityRoots(repo: Repository): Promise<Id[]> {
  const out = new Set<Id>();
  const diffs = new Set<Id>();
  const trees = new Set<Id>();
  const manifests = new Set<Id>();
  let rows: Array<{ record: string }> = [];
  try {
    rows = repo.db.allRunRows();
  } catch {
    /* no runs table */
  }
  for (const row of rows) {
    let r: RunRecord;
    try {
      r = parseRun(row.record);
    } catch {
      continue; // a damaged record: fsck reports it; the other runs keep their roots
    }
    if (r.code?.diff) diffs.add(r.code.diff);
    for (const d of r.deps) {
      if (d.kind === 'dir') trees.add(d.id);
      else if (d.chunks) manifests.add(d.chunks);
      else out.add(d.id);
    }
  }
  for (const id of repo.db.allCommitIds()) {
    const raw = repo.db.getCommitRaw(id);
    if (!raw) continue;
    try {
      const c = parseCommit(raw, { id });
      if (c.code?.diff) diffs.add(c.code.diff);
    } catch {
      /* fsck reports it */
    }
  }
  for (const d of diffs) {
    try {
      for (const id of codeChangeObjects(d, await readCodeChanges(repo, d))) out.add(id);
    } catch {
      /* missing */
    }
  }
  const seenTrees = new Set<Id>();
  const walk = async (tid: Id): Promise<void> => {
    if (seenTrees.has(tid)) return;
    seenTrees.add(tid);
    let tree;
    try {
      tree = await repo.readTree(tid);
    } catch {
      return;
    }
    out.add(tid);
    for (const e of tree.entries) {
      if (e.type === 'dir') await walk(e.id);
      else if (e.type === 'file' && e.chunks) manifests.add(e.chunks);
      else out.add(e.id);
    }
  };
  for (const t of trees) await walk(t);
  for (const m of manifests) {
    try {
      const chunks = parseManifest(await repo.store.getBytes(m), { id: m }).chunks;
      out.add(m);
      for (const [cid] of chunks) out.add(cid);
    } catch {
      /* not local */
    }
  }
  const ids = [...out];
  const have = await repo.store.hasMany(ids);
  return ids.filter((id) => have.has(id));
}
