/**
 * strata clone URL [DIR] [--branch B] [--no-checkout] [-- PATH...]:
 * init DIR + remote origin + fetch + checkout (all files, only PATHs, or none).
 * A failed clone removes what it created (DIR, or DIR/.strata when DIR existed empty).
 */
import * as fsp from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { StrataError } from '../errors/index.js';
import { initRepository, STRATA_DIR, type Repository } from '../repo/index.js';
import { checkRemoteName, normalizeRemoteUrl, parseRemoteUrl, writeRemote, type RemoteConfig } from '../remote/config.js';
import { openRemote } from '../remote/open.js';
import { normalizeSparsePaths } from '../remote/sparse.js';
import type { OpContext } from './context.js';
import { checkJobs } from './push.js';
import { pullInto, type PullResult } from './pull.js';
import type { RemoteSettings } from './remote.js';

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
  if (st && (await fsp.readdir(dir)).length > 0) {
    throw new StrataError('INVALID_ARGUMENT', `destination ${dir} already exists and is not empty`, { hint: 'clone into a new or empty folder: strata clone URL DIR' });
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
    branch ??= heads.find((h) => h.name === 'heads/main')?.name.slice(6) ?? heads.find((h) => h.name === 'heads/master')?.name.slice(6) ?? heads[0]?.name.slice(6) ?? null;

    await fsp.mkdir(dir, { recursive: true });
    repo = await initRepository(dir, { branch: branch ?? undefined });
    const r = repo;
    r.db.tx(() => writeRemote(r.db, cfg));
    if (!branch) {
      return { dir, url, branch: null, commit: null, empty: true, pull: null, objects: 0, bytes: 0, requests: remote.stats()?.requests ?? null, seconds: (Date.now() - started) / 1000 };
    }
    const p = await r.withWriteLock('clone', () =>
      pullInto(r, remote, {
        branch: branch!,
        remoteBranch: branch!,
        paths,
        noCheckout: opts.noCheckout,
        jobs,
        started,
        progress: ctx.progress,
        head: `ref: refs/heads/${branch}`,
      }),
    );
    return { dir, url, branch, commit: p.new, empty: false, pull: p, objects: p.objects, bytes: p.bytes, requests: p.requests, seconds: p.seconds };
  } catch (e) {
    if (repo) await repo.close().catch(() => undefined);
    repo = null;
    if (createdDir) await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    else await fsp.rm(join(dir, STRATA_DIR), { recursive: true, force: true }).catch(() => undefined);
    throw e;
  } finally {
    if (repo) await repo.close();
    await remote.close();
  }
}
