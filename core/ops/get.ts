/**
 * strata get URL PATH [--rev REF] [-o DEST] [--force]: copy a file or folder of a version out of a
 * repository somewhere else, with no workspace and no local repository (what `dvc get` gives).
 *
 * URL is what `strata clone` accepts: a Strata server (http(s)://host/REPO), an s3:// remote, a
 * directory remote; or the folder of a Strata repository (one holding .strata/), read in place.
 * Only the trees on the way to PATH and the objects below it are read; nothing is stored locally.
 * REF is a branch, a tag or a full commit id (default: the remote's main, else master, else its
 * first branch; HEAD for a repository folder, where any revision strata log accepts works).
 * The copy itself (checks, verification, stage folder, rename): core/ops/copy-out.ts.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, isStrataError } from '../errors/index.js';
import { parseCommit, parseTree, type Id } from '../model/index.js';
import { DB_FILE, Repository, STRATA_DIR } from '../repo/index.js';
import { resolveRev } from '../repo/refs.js';
import { normalizeRemoteUrl, parseRemoteUrl, type RemoteConfig } from '../remote/config.js';
import { openRemote, type RemoteHandle } from '../remote/open.js';
import type { OpContext } from './context.js';
import { copyOut, destFor, normalizeCopyPath, type CopyOutResult } from './copy-out.js';
import type { RemoteSettings } from './remote.js';

export interface GetOptions extends RemoteSettings {
  url: string;
  path: string;
  /** Branch, tag or commit id (default: the remote's default branch). */
  rev?: string;
  /** Destination (default: the last component of PATH, in ctx.cwd). */
  dest?: string;
  force?: boolean;
  jobs?: number;
}

export interface GetResult extends CopyOutResult {
  url: string;
  /** The revision as resolved: the branch or tag name, or the commit id. */
  rev: string;
}

export async function get(ctx: OpContext, opts: GetOptions): Promise<GetResult> {
  const path = normalizeCopyPath(opts.path);
  const dest = destFor(ctx.cwd, path, opts.dest);
  const url = normalizeRemoteUrl(opts.url, ctx.cwd);
  const u = parseRemoteUrl(url);
  if (u.kind !== 's3') {
    const s3Only = (['endpoint', 'region', 'profile', 'pathStyle'] as const).find((k) => opts[k] !== undefined);
    if (s3Only) throw new StrataError('INVALID_ARGUMENT', `--${s3Only === 'pathStyle' ? 'path-style' : s3Only} only applies to s3:// URLs`, { hint: 'drop the option, or use an s3://bucket/prefix URL' });
  }
  const copyOpts = { force: opts.force, jobs: opts.jobs, progress: ctx.progress };

  // The folder of a repository: read it in place (read-only), any revision syntax.
  if (u.kind === 'local' && (await fsp.stat(join(u.path, STRATA_DIR, DB_FILE)).then((s) => s.isFile(), () => false))) {
    const repo = await Repository.openAt(u.path, { readonly: true });
    try {
      const rev = opts.rev ?? 'HEAD';
      const commit = await resolveRev(repo, rev);
      const c = await repo.readCommit(commit);
      const r = await copyOut({ store: repo.store, readTree: (id) => repo.readTree(id) }, commit, c.tree, path, dest, { ...copyOpts, forbidden: [repo.dir] });
      return { ...r, url, rev };
    } finally {
      await repo.close();
    }
  }

  const cfg: RemoteConfig = { name: 'source', url, ...(u.kind === 's3' ? { endpoint: opts.endpoint, region: opts.region, profile: opts.profile, pathStyle: opts.pathStyle } : {}) };
  const remote = await openRemote(cfg, { jobs: opts.jobs });
  try {
    await remote.assertExists();
    const source = url;
    const { rev, commit } = await resolveRemoteRev(remote, opts.rev);
    let tree: Id;
    try {
      tree = parseCommit(await remote.store.getBytes(commit, { verify: true }), { id: commit, source }).tree;
    } catch (e) {
      if (isStrataError(e, 'OBJECT_MISSING')) {
        throw new StrataError('UNKNOWN_REF', `${url} has no commit ${commit}`, { hint: 'use a branch, a tag or a full commit id the remote has (strata log in a clone of it)', details: { commit } });
      }
      throw e;
    }
    const r = await copyOut(
      { store: remote.store, source, readTree: async (id) => parseTree(await remote.store.getBytes(id, { verify: true }), { id, source }) },
      commit,
      tree,
      path,
      dest,
      copyOpts,
    );
    return { ...r, url, rev };
  } finally {
    await remote.close();
  }
}

/** A branch, a tag or a full commit id on a remote; none: main, else master, else the first branch. */
async function resolveRemoteRev(remote: RemoteHandle, rev: string | undefined): Promise<{ rev: string; commit: Id }> {
  if (rev === undefined) {
    const heads = await remote.refs.list('heads/');
    const h = heads.find((x) => x.name === 'heads/main') ?? heads.find((x) => x.name === 'heads/master') ?? heads[0];
    if (!h) throw new StrataError('UNKNOWN_REF', `${remote.location} has no branches yet`, { hint: 'push one to it first (strata push)' });
    return { rev: h.name.slice('heads/'.length), commit: h.value };
  }
  if (/^[0-9a-f]{64}$/.test(rev)) return { rev, commit: rev };
  const name = rev.replace(/^refs\//, '');
  if (name.startsWith('heads/') || name.startsWith('tags/')) {
    const v = await remote.refs.get(name);
    if (v) return { rev, commit: v.value };
  } else {
    const [b, t] = await Promise.all([remote.refs.get(`heads/${name}`), remote.refs.get(`tags/${name}`)]);
    if (b && t && b.value !== t.value) {
      throw new StrataError('AMBIGUOUS_REF', `${JSON.stringify(name)} is both a branch and a tag of ${remote.location}, at different commits`, { hint: `say heads/${name} or tags/${name}` });
    }
    const v = b ?? t;
    if (v) return { rev, commit: v.value };
  }
  const heads = (await remote.refs.list('heads/')).map((h) => h.name.slice(6));
  throw new StrataError('UNKNOWN_REF', `${remote.location} has no branch or tag ${JSON.stringify(rev)}`, {
    hint: `${/^[0-9a-f]{4,63}$/.test(rev) ? 'a commit id on a remote must be given in full (64 hex digits); ' : ''}${heads.length ? `its branches: ${heads.slice(0, 10).join(', ')}${heads.length > 10 ? ', ...' : ''}` : 'it has no branches'}`,
  });
}
