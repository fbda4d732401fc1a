/**
 * strata clone URL [DIR] [--branch B] [--no-checkout] [-- PATH...]:
 * init DIR + remote origin + fetch + checkout (all files, only PATHs, or none).
 * A failed clone removes what it created (DIR, or DIR/.strata when DIR existed empty).
 *
 * A clone that is killed (kill -9, power loss) cannot clean up: it leaves DIR with a partial
 * .strata and maybe some files. So the first thing a clone writes is .strata/clone-in-progress,
 * holding the URL; the last thing it does is remove it. `strata clone URL DIR` on a folder with
 * that marker for the same URL resumes: it keeps the objects already downloaded, fetches what is
 * missing and checks out (overwriting the files the killed clone had written). For another URL it
 * says how to resume or clean up. A resumed clone that fails again keeps its state for the next try.
 */
import * as fsp from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StrataError, fromSystemError } from '../errors/index.js';
import { DB_FILE, initRepository, Repository, STRATA_DIR } from '../repo/index.js';
import { checkRemoteName, normalizeRemoteUrl, parseRemoteUrl, writeRemote, type RemoteConfig } from '../remote/config.js';
import { openRemote } from '../remote/open.js';
import { normalizeSparsePaths } from '../remote/sparse.js';
import type { OpContext } from './context.js';
import { checkJobs } from './push.js';
import { pullInto, type PullResult } from './pull.js';
import type { RemoteSettings } from './remote.js';
import { recordDataVersion } from '../project/lock.js';
import { syncProjectFile } from '../project/file.js';
import { refuseClashes } from '../project/restore.js';

export interface CloneOptions extends RemoteSettings {
  url: string;
  dir?: string;
  branch?: string;
  noCheckout?: boolean;
  paths?: string[];
  /** Remote name (default origin). */
  origin?: string;
  jobs?: number;
}

export interface CloneResult {
  dir: string;
  url: string;
  branch: string | null;
  commit: string | null;
  empty: boolean;
  pull: PullResult | null;
  objects: number;
  bytes: number;
  requests: number | null;
  seconds: number;
}

function defaultDir(url: string): string {
  const u = parseRemoteUrl(url);
  const name =
    u.kind === 's3' ? (u.prefix ? u.prefix.split('/').pop()! : u.bucket) : u.kind === 'local' ? basename(u.path) : basename(new URL(u.url).pathname) || new URL(u.url).hostname;
  return name.replace(/\.strata$/, '') || 'strata-clone';
}

export async function clone(ctx: OpContext, opts: CloneOptions): Promise<CloneResult> {
  const started = Date.now();
  const jobs = checkJobs(opts.jobs);
  const origin = checkRemoteName(opts.origin ?? 'origin');
  const url = normalizeRemoteUrl(opts.url, ctx.cwd);
  const s3 = parseRemoteUrl(url).kind === 's3';
  const cfg: RemoteConfig = { name: origin, url, ...(s3 ? { endpoint: opts.endpoint, region: opts.region, profile: opts.profile, pathStyle: opts.pathStyle } : {}) };
  const dir = resolve(ctx.cwd, opts.dir ?? defaultDir(url));
  const paths = opts.paths && opts.paths.length ? opts.paths : undefined;
  if (paths) normalizeSparsePaths(paths);

  const st = await fsp.stat(dir).catch(() => null);
  if (st && !st.isDirectory()) throw new StrataError('INVALID_ARGUMENT', `${dir} exists and is not a directory`, { hint: 'pick another destination: strata clone URL DIR' });
  let resume: CloneMarker | null = null;
  // A folder with files (e.g. a git clone of the project): allowed when nothing the clone writes
  // clashes with them (checked once the tree is known, before any file is written).
  let intoFiles = false;
  if (st && (await fsp.readdir(dir)).length > 0) {
    const r = await resumable(dir, url);
    if (r === 'files') intoFiles = true;
    else resume = r;
  }

  // Look at the remote before creating anything: a wrong URL or credentials leave no folder behind.
  const remote = await openRemote(cfg, { jobs });
  let repo: Repository | null = null;
  const createdDir = !st;
  try {
    await remote.assertExists();
    const heads = await remote.refs.list('heads/');
    let branch = opts.branch ?? null;
    if (branch && !heads.some((h) => h.name === `heads/${branch}`)) {
      throw new StrataError('UNKNOWN_REF', `remote has no branch ${branch}`, {
        hint: heads.length ? `its branches: ${heads.map((h) => h.name.slice(6)).join(', ')}` : 'the remote is empty',
      });
    }
    if (!branch && resume?.branch && heads.some((h) => h.name === `heads/${resume!.branch}`)) branch = resume.branch;
    branch ??= heads.find((h) => h.name === 'heads/main')?.name.slice(6) ?? heads.find((h) => h.name === 'heads/master')?.name.slice(6) ?? heads[0]?.name.slice(6) ?? null;

    await fsp.mkdir(join(dir, STRATA_DIR), { recursive: true });
    if (!(await readMarker(dir))) await writeMarker(dir, { url, branch });
    repo = await openForClone(dir, branch, resume !== null);
    const r = repo;
    r.db.tx(() => writeRemote(r.db, cfg));
    if (!branch) {
      await removeMarker(dir);
      return { dir, url, branch: null, commit: null, empty: true, pull: null, objects: 0, bytes: 0, requests: remote.stats()?.requests ?? null, seconds: (Date.now() - started) / 1000 };
    }
    const p = await r.withWriteLock('clone', async () => {
      if (resume) await cleanLeftovers(r);
      // The killed clone had not checked out yet (the branch ref and the index move together,
      // after the files): the files in the folder are its own, half-written ones.
      const notCheckedOut = r.db.getRef(`refs/heads/${branch}`) === null;
      const res = await pullInto(r, remote, {
        branch: branch!,
        remoteBranch: branch!,
        paths,
        noCheckout: opts.noCheckout,
        force: resume !== null && notCheckedOut,
        jobs,
        started,
        progress: ctx.progress,
        head: `ref: refs/heads/${branch}`,
        beforeMove: intoFiles && !paths && !opts.noCheckout ? (t) => refuseClashes(r, t) : undefined,
      });
      await syncProjectFile(r);
      await recordDataVersion(r);
      return res;
    });
    // The marker goes last, after the lock is released: a clone killed before this point is
    // resumed by the next strata clone, one killed after it left nothing behind (no lock file).
    await removeMarker(dir);
    return { dir, url, branch, commit: p.new, empty: false, pull: p, objects: p.objects, bytes: p.bytes, requests: p.requests, seconds: p.seconds };
  } catch (e) {
    if (repo) await repo.close().catch(() => undefined);
    repo = null;
    // A resumed clone keeps what it has (the marker stays): the next strata clone continues.
    if (resume) throw e;
    if (createdDir) await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    else await fsp.rm(join(dir, STRATA_DIR), { recursive: true, force: true }).catch(() => undefined);
    throw e;
  } finally {
    if (repo) await repo.close();
    await remote.close();
  }
}

// ---------------------------------------------------------------- resuming a killed clone

const CLONE_MARKER = 'clone-in-progress';

interface CloneMarker {
  url: string;
  branch: string | null;
}

async function readMarker(dir: string): Promise<CloneMarker | null> {
  try {
    const v = JSON.parse(await fsp.readFile(join(dir, STRATA_DIR, CLONE_MARKER), 'utf8')) as Partial<CloneMarker>;
    if (typeof v.url === 'string') return { url: v.url, branch: typeof v.branch === 'string' ? v.branch : null };
  } catch {
    /* absent or unreadable */
  }
  return null;
}

/** Written whole (temp + rename) before anything else of the clone. */
async function writeMarker(dir: string, m: CloneMarker): Promise<void> {
  const path = join(dir, STRATA_DIR, CLONE_MARKER);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.writeFile(tmp, JSON.stringify({ ...m, pid: process.pid, started: new Date().toISOString() }) + '\n');
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw fromSystemError(e, path);
  }
}

async function removeMarker(dir: string): Promise<void> {
  await fsp.rm(join(dir, STRATA_DIR, CLONE_MARKER), { force: true });
}

/**
 * DIR is not empty: resume a clone of the same URL that was killed, or say exactly what to do.
 * Returns the marker to resume from, or 'files' for a folder of other files (a git clone of the
 * project): the clone writes beside them when nothing clashes (core/project/restore.ts).
 */
async function resumable(dir: string, url: string): Promise<CloneMarker | 'files'> {
  const names = await fsp.readdir(dir);
  const marker = await readMarker(dir);
  if (marker) {
    if (marker.url === url) return marker;
    throw new StrataError('INVALID_ARGUMENT', `destination ${dir} holds an unfinished clone of ${marker.url}, not of ${url}`, {
      hint: `resume it with strata clone ${marker.url} ${dir}, or remove the folder (rm -rf ${dir}) and clone again`,
      details: { dir, url: marker.url },
    });
  }
  if (names.length === 1 && names[0] === STRATA_DIR) {
    const inside = await fsp.readdir(join(dir, STRATA_DIR)).catch(() => [] as string[]);
    // Killed between creating .strata and writing the marker: nothing in it is anyone's data.
    if (inside.every((n) => n.startsWith(`${CLONE_MARKER}.tmp-`))) {
      for (const n of inside) await fsp.rm(join(dir, STRATA_DIR, n), { force: true });
      return { url, branch: null };
    }
  }
  const isRepo = await fsp.stat(join(dir, STRATA_DIR, DB_FILE)).then(() => true, () => false);
  if (isRepo) {
    throw new StrataError('INVALID_ARGUMENT', `destination ${dir} already exists and is a strata repository`, {
      hint: `to finish an interrupted clone there: cd ${dir} && strata pull; or clone into a new or empty folder: strata clone URL DIR`,
      details: { dir },
    });
  }
  return 'files';
}

/** A new repository, or (resuming) the killed clone's one: its objects are kept. */
async function openForClone(dir: string, branch: string | null, resuming: boolean): Promise<Repository> {
  const dbFile = join(dir, STRATA_DIR, DB_FILE);
  if (resuming && (await fsp.stat(dbFile).then(() => true, () => false))) {
    try {
      const repo = await Repository.openAt(dir);
      await repo.localStore().init();
      if (!repo.db.getRef('HEAD')) repo.db.tx(() => repo.db.casRef('HEAD', null, `ref: refs/heads/${branch ?? 'main'}`));
      return repo;
    } catch (e) {
      if (!(e instanceof StrataError) || (e.code !== 'DB_CORRUPT' && e.code !== 'IO_ERROR')) throw e;
      // Killed while the database was being created: start it again (the objects stay).
      for (const s of ['', '-wal', '-shm', '-journal']) await fsp.rm(dbFile + s, { force: true });
    }
  }
  return initRepository(dir, { branch: branch ?? undefined });
}

/**
 * What a killed clone leaves besides objects: temp files of the object store and of the
 * workspace writer. The folder is the clone's own (its marker says so) and the writer lock is
 * held, so none of them belongs to a live process.
 */
async function cleanLeftovers(repo: Repository): Promise<void> {
  await repo.localStore().cleanTmp(0);
  const tmp = join(repo.dir, 'tmp');
  for (const n of await fsp.readdir(tmp).catch(() => [] as string[])) await fsp.rm(join(tmp, n), { recursive: true, force: true });
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.name === STRATA_DIR || e.name === '.git') continue;
      const abs = join(d, e.name);
      if (e.name.startsWith('.strata-tmp-') && !e.isDirectory()) await fsp.rm(abs, { force: true });
      else if (e.isDirectory() && !e.isSymbolicLink()) await walk(abs);
    }
  };
  await walk(repo.root);
}
