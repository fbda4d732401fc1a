/** strata remote add | list | remove | set-url: remote settings in the repository config. */
import { StrataError } from '../errors/index.js';
import { hasUrlSecrets, redactUrl } from '../config/redact.js';
import { REMOTES } from '../repo/refs.js';
import { checkRemoteName, defaultRemote, deleteRemoteConfig, getRemote, listRemotes, normalizeRemoteUrl, parseRemoteUrl, writeRemote, type RemoteConfig } from '../remote/config.js';
import type { Repository } from '../repo/index.js';
import { syncProjectFile } from '../project/file.js';
import { readString, validateSet } from '../config/registry.js';


export interface RemoteSettings {
  endpoint?: string;
  region?: string;
  profile?: string;
  pathStyle?: boolean;
}

function checkSettings(url: string, s: RemoteSettings): void {
  const u = parseRemoteUrl(url);
  const s3Only = (['endpoint', 'region', 'profile', 'pathStyle'] as const).filter((k) => s[k] !== undefined);
  if (u.kind !== 's3' && s3Only.length) {
    throw new StrataError('INVALID_ARGUMENT', `--${s3Only[0] === 'pathStyle' ? 'path-style' : s3Only[0]} only applies to s3:// remotes`, { hint: 'drop the option, or use an s3://bucket/prefix URL' });
  }
  if (s.endpoint !== undefined) {
    let e: URL;
    try {
      e = new URL(s.endpoint);
    } catch {
      throw new StrataError('INVALID_ARGUMENT', `invalid --endpoint ${JSON.stringify(s.endpoint)}`, { hint: 'use a URL such as http://localhost:9000 or https://s3.example.com' });
    }
    if (e.protocol !== 'http:' && e.protocol !== 'https:') throw new StrataError('INVALID_ARGUMENT', `--endpoint must be http:// or https://, not ${e.protocol}`);
    if (hasUrlSecrets(s.endpoint) || /[\s\u0000-\u001f\u007f]/.test(s.endpoint) || s.endpoint.length > 2048) {
      throw new StrataError('INVALID_ARGUMENT', `invalid --endpoint ${JSON.stringify(redactUrl(s.endpoint))}: no credentials, spaces or control characters, at most 2048 characters`, {
        hint: 'S3 credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile), never from the URL',
      });
    }
  }
  if (s.region !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(s.region)) {
    throw new StrataError('INVALID_ARGUMENT', `invalid --region ${JSON.stringify(s.region.slice(0, 80))}`, { hint: 'e.g. --region us-east-1 (letters, digits, "-" and "_")' });
  }
  if (s.profile !== undefined && !/^[A-Za-z0-9_.@+-]{1,128}$/.test(s.profile)) {
    throw new StrataError('INVALID_ARGUMENT', `invalid --profile ${JSON.stringify(s.profile.slice(0, 80))}`, { hint: 'a profile name from ~/.aws/config (letters, digits, ".", "_", "-", "@", "+")' });
  }
}

/** `where.cwd`: the folder the user is in (absolute); a directory URL is relative to it (default the repository root). */
export async function addRemote(repo: Repository, name: string, url: string, s: RemoteSettings = {}, where: { cwd?: string } = {}): Promise<RemoteConfig> {
  checkRemoteName(name);
  return repo.withWriteLock('remote', async () => {
    const norm = normalizeRemoteUrl(url, where.cwd ?? repo.root);
    checkSettings(norm, s);
    if (repo.db.getConfig(`remote.${name}.url`)) {
      throw new StrataError('REMOTE_EXISTS', `remote ${name} already exists`, { hint: `change its URL with strata remote set-url ${name} URL, or remove it first` });
    }
    const cfg: RemoteConfig = { name, url: norm, ...s };
    repo.db.tx(() => writeRemote(repo.db, cfg));
    await syncProjectFile(repo);
    return cfg;
  });
}

export async function listRemotesOp(repo: Repository): Promise<RemoteConfig[]> {
  return listRemotes(repo.db);
}

export async function removeRemote(repo: Repository, name: string): Promise<{ name: string; trackingRefsRemoved: number }> {
  return repo.withWriteLock('remote', async () => {
    getRemote(repo.db, name);
    const tracking = repo.db.listRefs(`${REMOTES}${name}/`);
    repo.db.tx(() => {
      deleteRemoteConfig(repo.db, name);
      for (const r of tracking) repo.db.casRef(r.name, r.target, null);
    });
    await syncProjectFile(repo);
    return { name, trackingRefsRemoved: tracking.length };
  });
}

export async function setRemoteUrl(repo: Repository, name: string, url: string, s: RemoteSettings = {}, where: { cwd?: string } = {}): Promise<RemoteConfig> {
  return repo.withWriteLock('remote', async () => {
    const cur = getRemote(repo.db, name);
    const norm = normalizeRemoteUrl(url, where.cwd ?? repo.root);
    const merged: RemoteSettings = {
      endpoint: s.endpoint ?? cur.endpoint,
      region: s.region ?? cur.region,
      profile: s.profile ?? cur.profile,
      pathStyle: s.pathStyle ?? cur.pathStyle,
    };
    if (parseRemoteUrl(norm).kind !== 's3') Object.assign(merged, { endpoint: undefined, region: undefined, profile: undefined, pathStyle: undefined });
    checkSettings(norm, merged);
    // Whether conditional writes are enforced is a property of the server: keep the cached probe
    // when the URL moves within the same bucket on the same endpoint (or the same server), forget it otherwise.
    const sameServer = serverOf(cur.url, cur.endpoint, where.cwd ?? repo.root) === serverOf(norm, merged.endpoint, where.cwd ?? repo.root);
    const cfg: RemoteConfig = { name, url: norm, ...merged, conditionalWrites: sameServer ? cur.conditionalWrites : undefined };
    repo.db.tx(() => writeRemote(repo.db, cfg));
    await syncProjectFile(repo);
    return cfg;
  });
}

/**
 * `strata remote default [NAME]`: the remote push, fetch and pull use when none is named
 * (config remote.default, shared through strata.project). No name: which one that is now.
 */
export async function defaultRemoteOp(repo: Repository, name?: string): Promise<{ name: string | null; explicit: boolean }> {
  if (name === undefined) {
    const set = readString(repo.db, 'remote.default');
    if (set) return { name: set, explicit: true };
    try {
      return { name: defaultRemote(repo.db), explicit: false };
    } catch {
      return { name: null, explicit: false };
    }
  }
  return repo.withWriteLock('remote', async () => {
    getRemote(repo.db, name);
    const v = validateSet('remote.default', name);
    repo.db.tx(() => repo.db.setConfig('remote.default', v));
    await syncProjectFile(repo);
    return { name: v, explicit: true };
  });
}

/** What a conditional-write probe answer belongs to: the bucket on its endpoint, the server, or the filesystem. */
function serverOf(url: string, endpoint: string | undefined, cwd: string): string {
  const u = parseRemoteUrl(url, cwd);
  if (u.kind === 's3') return `s3|${endpoint ?? ''}|${u.bucket}`;
  if (u.kind === 'http') return `http|${new URL(u.url).origin}`;
  return 'local';
}
