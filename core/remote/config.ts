/**
 * Remote configuration, kept in the repository DB's config table:
 *
 *   remote.<name>.url                s3://bucket/prefix | file:///path | /path | http(s)://host:port/REPO
 *   remote.<name>.endpoint           S3 endpoint (MinIO, Ceph, s3rver ...)
 *   remote.<name>.region             S3 region
 *   remote.<name>.profile            AWS shared-config profile
 *   remote.<name>.pathStyle          'true' | 'false' (unset: path-style with a custom endpoint)
 *   remote.<name>.conditionalWrites  cached probe answer: 'enforced' | 'not-enforced'
 *
 * Credentials are never stored: the standard AWS provider chain supplies them.
 */
import { StrataError } from '../errors/index.js';
import type { MetaDb } from '../meta/db.js';
import { parseStoreUrl, type StoreUrl } from '../store/url.js';

export interface RemoteConfig {
  name: string;
  url: string;
  endpoint?: string;
  region?: string;
  profile?: string;
  pathStyle?: boolean;
  conditionalWrites?: 'enforced' | 'not-enforced';
}

export type RemoteUrl = StoreUrl | { kind: 'http'; url: string };

export const REMOTE_KEYS = ['url', 'endpoint', 'region', 'profile', 'pathStyle', 'conditionalWrites'] as const;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function checkRemoteName(name: string): string {
  if (!NAME_RE.test(name) || name.endsWith('.lock') || name.includes('..')) {
    throw new StrataError('INVALID_ARGUMENT', `invalid remote name ${JSON.stringify(name)}`, {
      hint: 'use letters, digits, ".", "_" and "-" (e.g. origin, backup, minio-lab)',
    });
  }
  return name;
}

/** Parse a remote URL: everything parseStoreUrl accepts, plus http(s):// (a Strata server). */
export function parseRemoteUrl(url: string, cwd: string = process.cwd()): RemoteUrl {
  const m = /^(https?):\/\//i.exec(url.trim());
  if (m) {
    let u: URL;
    try {
      u = new URL(url.trim());
    } catch (e) {
      throw new StrataError('INVALID_ARGUMENT', `invalid server URL ${url}`, { hint: 'use http(s)://host:port/REPO', cause: e });
    }
    if (!u.hostname) throw new StrataError('INVALID_ARGUMENT', `invalid server URL ${url}: no host`, { hint: 'use http(s)://host:port/REPO' });
    return { kind: 'http', url: u.toString().replace(/\/+$/, '') };
  }
  try {
    return parseStoreUrl(url, cwd);
  } catch (e) {
    if (e instanceof StrataError && e.code === 'REMOTE_UNSUPPORTED') {
      throw new StrataError('REMOTE_UNSUPPORTED', e.message, { hint: 'supported: s3://bucket/prefix, file:///path, a directory path, or http(s)://host:port/REPO (a Strata server)' });
    }
    throw e;
  }
}

/** Canonical form stored in config: file URLs and relative paths become absolute paths. */
export function normalizeRemoteUrl(url: string, cwd: string = process.cwd()): string {
  const u = parseRemoteUrl(url, cwd);
  if (u.kind === 'local') return u.path;
  if (u.kind === 'http') return u.url;
  return `s3://${u.bucket}${u.prefix ? '/' + u.prefix : ''}`;
}

export function getRemote(db: MetaDb, name: string): RemoteConfig {
  const url = db.getConfig(`remote.${name}.url`);
  if (!url) {
    const known = listRemotes(db).map((r) => r.name);
    throw new StrataError('REMOTE_UNKNOWN', `no remote named ${JSON.stringify(name)}`, {
      hint: known.length ? `known remotes: ${known.join(', ')}` : 'add one: strata remote add origin s3://bucket/prefix',
    });
  }
  return readRemote(db, name, url);
}

function readRemote(db: MetaDb, name: string, url: string): RemoteConfig {
  const g = (k: string) => db.getConfig(`remote.${name}.${k}`) ?? undefined;
  const ps = g('pathStyle');
  const cw = g('conditionalWrites');
  return {
    name,
    url,
    endpoint: g('endpoint'),
    region: g('region'),
    profile: g('profile'),
    pathStyle: ps === undefined ? undefined : ps === 'true',
    conditionalWrites: cw === 'enforced' || cw === 'not-enforced' ? cw : undefined,
  };
}

export function listRemotes(db: MetaDb): RemoteConfig[] {
  const out: RemoteConfig[] = [];
  for (const { key, value } of db.listConfig()) {
    const m = /^remote\.(.+)\.url$/.exec(key);
    if (m) out.push(readRemote(db, m[1]!, value));
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Write a remote's settings (undefined leaves a key unset). Caller runs inside a transaction. */
export function writeRemote(db: MetaDb, r: RemoteConfig): void {
  db.setConfig(`remote.${r.name}.url`, r.url);
  db.setConfig(`remote.${r.name}.endpoint`, r.endpoint ?? null);
  db.setConfig(`remote.${r.name}.region`, r.region ?? null);
  db.setConfig(`remote.${r.name}.profile`, r.profile ?? null);
  db.setConfig(`remote.${r.name}.pathStyle`, r.pathStyle === undefined ? null : String(r.pathStyle));
  db.setConfig(`remote.${r.name}.conditionalWrites`, r.conditionalWrites ?? null);
}

export function deleteRemoteConfig(db: MetaDb, name: string): void {
  for (const k of REMOTE_KEYS) db.setConfig(`remote.${name}.${k}`, null);
}

/** The remote to use when none is named: config remote.default, else 'origin', else the only one. */
export function defaultRemote(db: MetaDb): string {
  const all = listRemotes(db);
  const chosen = db.getConfig('remote.default');
  if (chosen) {
    if (all.some((r) => r.name === chosen)) return chosen;
    throw new StrataError('REMOTE_UNKNOWN', `remote.default names ${JSON.stringify(chosen)}, which is not a configured remote`, {
      hint: `strata remote add ${chosen} URL, or strata config set remote.default ${all[0]?.name ?? 'NAME'}`,
    });
  }
  if (all.some((r) => r.name === 'origin')) return 'origin';
  if (all.length === 1) return all[0]!.name;
  throw new StrataError('REMOTE_UNKNOWN', all.length ? `several remotes (${all.map((r) => r.name).join(', ')}) and none is named origin` : 'no remote configured', {
    hint: all.length ? 'name the remote (strata push NAME), or set one: strata config set remote.default NAME' : 'add one: strata remote add origin s3://bucket/prefix',
  });
}
