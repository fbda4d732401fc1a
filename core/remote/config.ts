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
 * Credentials are never stored: the standard AWS provider chain supplies them for S3, STRATA_TOKEN
 * or the user credentials file for Strata servers; `remote add` / `set-url` refuse URLs carrying
 * them (checkRemoteUrl).
 */
import { StrataError } from '../errors/index.js';
import type { MetaStore } from '../meta/interface.js';
import { parseStoreUrl, type StoreUrl } from '../store/url.js';
import { readString, REMOTE_NAME_RE } from '../config/registry.js';
import { isSecretParam, redactUrl } from '../config/redact.js';
import { editDistance } from '../util/text.js';

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

const REMOTE_KEYS = ['url', 'endpoint', 'region', 'profile', 'pathStyle', 'conditionalWrites'] as const;

const NAME_RE = REMOTE_NAME_RE;

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
      throw new StrataError('INVALID_ARGUMENT', `invalid server URL ${redactUrl(url)}`, { hint: 'use http(s)://host:port/REPO', cause: e });
    }
    if (!u.hostname) throw new StrataError('INVALID_ARGUMENT', `invalid server URL ${redactUrl(url)}: no host`, { hint: 'use http(s)://host:port/REPO' });
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

/** Longest remote URL accepted. */
const REMOTE_URL_MAX = 2048;
const SUPPORTED = ['s3', 'file', 'http', 'https'] as const;
const SUPPORTED_HINT = 'supported: s3://bucket/prefix, file:///absolute/path, a directory path, or http(s)://host[:port]/REPO (a Strata server)';
/** Schemes people type for one Strata supports. */
const ALIASES: Record<string, string> = { s3a: 's3', s3n: 's3', minio: 's3', aws: 's3', ftp: 'file', dir: 'file', strata: 'https', http2: 'https' };
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const HOST_LABEL_RE = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/;
const REPO_SEGMENT_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;

function bad(msg: string, hint: string): StrataError {
  return new StrataError('INVALID_ARGUMENT', msg, { hint });
}


/** The supported scheme `scheme` was probably meant to be, if any. */
function nearScheme(scheme: string): string | undefined {
  const s = scheme.toLowerCase();
  if (ALIASES[s]) return ALIASES[s];
  let best: { s: string; d: number } | undefined;
  for (const k of SUPPORTED) {
    const d = editDistance(s, k);
    if (d <= (k.length <= 2 ? 1 : 2) && (!best || d < best.d)) best = { s: k, d };
  }
  return best?.s;
}

const S3_CREDS = 'S3 credentials never go in the URL: Strata uses the standard AWS credential chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, AWS_PROFILE or --profile with ~/.aws/credentials, SSO, instance and container roles)';
const HTTP_CREDS =
  'a Strata server token never goes in the URL: set STRATA_TOKEN in the environment, or add the line "<server url> <token>" to the user credentials file $XDG_CONFIG_HOME/strata/credentials (default ~/.config/strata/credentials, chmod 600)';

/**
 * Validate a remote URL as typed by a user (`remote add`, `remote set-url`): a supported scheme
 * (with a "did you mean" for near misses), no control characters, no spaces in a URL, a bounded
 * length, S3 bucket naming rules, a Strata server URL that names a host and a repository, and no
 * credentials (user:password@, token/signature parameters) anywhere: those would be stored in the
 * repository config. Messages never repeat the credentials.
 */
function checkRemoteUrl(url: string): void {
  if (url === '') throw bad('empty remote URL', SUPPORTED_HINT);
  if (url.length > REMOTE_URL_MAX) throw bad(`remote URL is ${url.length} characters long (at most ${REMOTE_URL_MAX})`, SUPPORTED_HINT);
  const shown = JSON.stringify(redactUrl(url));
  if (CONTROL_RE.test(url)) throw bad(`remote URL ${shown} contains control characters (newline, tab, ...)`, 'type the URL again without them');
  if (url !== url.trim()) throw bad(`remote URL ${shown} starts or ends with spaces`, 'remove the spaces (quote the URL if it contains some)');
  const sm = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(url);
  // One letter and a colon is a Windows drive (C:\data), not a scheme.
  if (!sm || sm[1]!.length < 2) return;
  const scheme = sm[1]!.toLowerCase();
  const rest = sm[2]!;
  if (!rest.startsWith('//')) {
    const near = SUPPORTED.includes(scheme as (typeof SUPPORTED)[number]) ? scheme : nearScheme(scheme);
    const fixed = near ? `${near}://${rest.replace(/^\/+/, '')}` : undefined;
    throw bad(`remote URL ${shown} is neither a URL (scheme://...) nor a plain path`, fixed ? `did you mean ${redactUrl(near === 'file' ? `file:///${rest.replace(/^\/+/, '')}` : fixed)}? (a directory whose name has a colon: write ./${redactUrl(url)})` : `${SUPPORTED_HINT}; a directory whose name has a colon: write ./${redactUrl(url)}`);
  }
  if (!SUPPORTED.includes(scheme as (typeof SUPPORTED)[number])) {
    const near = nearScheme(scheme);
    throw new StrataError('REMOTE_UNSUPPORTED', `unsupported remote URL scheme ${scheme}:// in ${shown}`, {
      hint: near ? `did you mean ${near}://? ${SUPPORTED_HINT}` : SUPPORTED_HINT,
    });
  }
  if (/\s/.test(url)) throw bad(`remote URL ${shown} contains spaces`, 'percent-encode them (%20), or use a plain directory path');
  const after = rest.slice(2);
  const end = after.search(/[/?#]/);
  const authority = end < 0 ? after : after.slice(0, end);
  const tail = end < 0 ? '' : after.slice(end);
  const qAt = tail.search(/[?#]/);
  const params = qAt < 0 ? '' : tail.slice(qAt + 1);
  const secretParam = params.split(/[&#?]/).some((kv) => kv !== '' && isSecretParam(kv.split('=')[0]!));
  if (authority.includes('@') || secretParam) {
    const why = authority.includes('@') ? 'user info (user:password@)' : 'a secret parameter (token, signature, credential)';
    const instead = scheme === 's3' ? S3_CREDS : scheme === 'file' ? 'a directory remote takes no credentials' : HTTP_CREDS;
    throw bad(`remote URL ${shown} carries credentials (${why}); they would be stored in the repository config, so Strata refuses them`, `${instead}; then use the URL without them: ${redactUrl(url)}`);
  }
  switch (scheme) {
    case 's3':
      if (qAt >= 0) throw bad(`remote URL ${shown}: an s3:// URL takes no ?query or #fragment`, 'use s3://bucket/prefix; S3 options are --endpoint, --region, --profile, --path-style');
      if (tail.length > 1024) throw bad(`remote URL ${shown}: the S3 prefix is longer than 1024 characters`, 'use a shorter prefix');
      return; // bucket rules: parseStoreUrl
    case 'file':
      if (qAt >= 0) throw bad(`remote URL ${shown}: a file:// URL takes no ?query or #fragment`, 'use file:///absolute/path');
      if (authority !== '' && authority.toLowerCase() !== 'localhost') throw bad(`remote URL ${shown} names a host (${authority}); file:// URLs are local`, `use three slashes: file:///${authority}${tail}`);
      if (tail === '' || tail === '/') throw bad(`remote URL ${shown} names no directory`, 'use file:///absolute/path');
      if (/%(00|0a|0d)/i.test(tail)) throw bad(`remote URL ${shown} encodes control characters`, 'use file:///absolute/path');
      return;
    default: {
      // http(s): a Strata server
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        throw bad(`remote URL ${shown} is not a valid URL`, 'use http(s)://host[:port]/REPO');
      }
      const host = u.hostname;
      if (!host) throw bad(`remote URL ${shown} has no host`, 'use http(s)://host[:port]/REPO');
      const ipv6 = host.startsWith('[');
      if (!ipv6 && (host.length > 253 || !host.split('.').every((l) => HOST_LABEL_RE.test(l)))) throw bad(`remote URL ${shown}: ${JSON.stringify(host)} is not a valid host name`, 'use http(s)://host[:port]/REPO');
      if (u.port === '0' || /:0+(\/|$)/.test(authority + '/')) throw bad(`remote URL ${shown}: port 0 is not a port`, 'use a port between 1 and 65535');
      if (u.search || u.hash || qAt >= 0) throw bad(`remote URL ${shown}: a Strata server URL takes no ?query or #fragment`, 'use http(s)://host[:port]/REPO');
      const segs = u.pathname.split('/').filter(Boolean);
      const last = segs[segs.length - 1];
      let repo: string | undefined;
      try {
        repo = last === undefined ? undefined : decodeURIComponent(last);
      } catch {
        repo = undefined;
      }
      if (!repo) throw bad(`remote URL ${shown} names no repository`, `use http(s)://host[:port]/REPO, e.g. ${u.origin}/fraud`);
      if (!REPO_SEGMENT_RE.test(repo) || repo.endsWith('.lock')) throw bad(`remote URL ${shown}: ${JSON.stringify(repo)} is not a repository name`, "repository names are 1-100 letters, digits, '.', '_' and '-', not starting with '.' or '-'");
      return;
    }
  }
}

/** Canonical form stored in config: file URLs and relative paths become absolute paths. */
export function normalizeRemoteUrl(url: string, cwd: string = process.cwd()): string {
  checkRemoteUrl(url);
  const u = parseRemoteUrl(url, cwd);
  if (u.kind === 'local') return u.path;
  if (u.kind === 'http') return u.url;
  return `s3://${u.bucket}${u.prefix ? '/' + u.prefix : ''}`;
}

export function getRemote(db: MetaStore, name: string): RemoteConfig {
  const url = db.getConfig(`remote.${name}.url`);
  if (!url) {
    const known = listRemotes(db).map((r) => r.name);
    throw new StrataError('REMOTE_UNKNOWN', `no remote named ${JSON.stringify(name)}`, {
      hint: known.length ? `known remotes: ${known.join(', ')}` : 'add one: strata remote add origin s3://bucket/prefix',
    });
  }
  return readRemote(db, name, url);
}

function readRemote(db: MetaStore, name: string, url: string): RemoteConfig {
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

export function listRemotes(db: MetaStore): RemoteConfig[] {
  const out: RemoteConfig[] = [];
  for (const { key, value } of db.listConfig()) {
    const m = /^remote\.(.+)\.url$/.exec(key);
    if (m) out.push(readRemote(db, m[1]!, value));
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Write a remote's settings (undefined leaves a key unset). Caller runs inside a transaction. */
export function writeRemote(db: MetaStore, r: RemoteConfig): void {
  db.setConfig(`remote.${r.name}.url`, r.url);
  db.setConfig(`remote.${r.name}.endpoint`, r.endpoint ?? null);
  db.setConfig(`remote.${r.name}.region`, r.region ?? null);
  db.setConfig(`remote.${r.name}.profile`, r.profile ?? null);
  db.setConfig(`remote.${r.name}.pathStyle`, r.pathStyle === undefined ? null : String(r.pathStyle));
  db.setConfig(`remote.${r.name}.conditionalWrites`, r.conditionalWrites ?? null);
}

export function deleteRemoteConfig(db: MetaStore, name: string): void {
  for (const k of REMOTE_KEYS) db.setConfig(`remote.${name}.${k}`, null);
}

/** The remote to use when none is named: config remote.default, else 'origin', else the only one. */
export function defaultRemote(db: MetaStore): string {
  const all = listRemotes(db);
  const chosen = readString(db, 'remote.default');
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
