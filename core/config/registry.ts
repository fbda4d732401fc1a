/**
 * The configuration registry: every key Strata reads, with its type, default, validation, meaning
 * and who may set it. `strata config set` validates through it (unknown keys are refused with a
 * "did you mean"), and readers go through `readBool` / `readString` / `readList`, which turn a stored
 * value that is not valid (written by hand or by an older version) into a clear CONFIG_INVALID
 * naming the key and `strata config unset KEY` — never an internal error.
 *
 * Who sets a key:
 * - `user`: `strata config set`.
 * - `internal`: Strata itself (`strata remote`, partial clone); `config set` refuses and names the
 *   command that does it.
 * - `secret`: never kept in the repository config (it travels with copies and backups); `config
 *   set` refuses and names the environment variable / credentials file to use instead.
 *
 * Levels, as git has them: the user config file (core/config/user.ts,
 * `$XDG_CONFIG_HOME/strata/config`) < the repository config (the metadata store) < the
 * environment (`STRATA_CONFIG_<KEY>`: the key upper-cased, `.` and `-` as `_`, e.g.
 * STRATA_CONFIG_USER_EMAIL, STRATA_CONFIG_CORE_FSYNC). A key's `levels` say where it may be set:
 * keys users set may be set at every level unless the key is about one repository
 * (server.anonymous-read); keys Strata sets are repository-only; secrets are at no level (the
 * credentials file and their own environment variables only). A value set at a level the key does
 * not allow is ignored (`config list` warns). Older, specific variables keep their meaning:
 * STRATA_AUTHOR_NAME/EMAIL are read when no level sets user.name/email; OPENLINEAGE_URL and
 * OPENLINEAGE_NAMESPACE override every level.
 *
 * Booleans accept git's spellings, each meaning what it says: true/yes/on/1 and false/no/off/0
 * (any case); they are stored as `true` / `false`. An access-control key whose stored value is not
 * valid reads as `false`, so a bad value can never widen access (`invalidReadsAs`).
 */
import { StrataError } from '../errors/index.js';
import { hasUrlSecrets, redactUrl } from './redact.js';
import { readUserConfig } from './user.js';
import { editDistance } from '../util/text.js';
import { parseBranchPatterns } from './branch-patterns.js';

export type ConfigType = 'bool' | 'string' | 'email' | 'url' | 'path' | 'remote-name' | 'json-list' | 'enum' | 'branch-patterns' | 'secret' | 'count' | 'duration';

export interface KeyDef {
  /** The key, or a pattern with `<name>` standing for a remote name: `remote.<name>.url`. */
  key: string;
  type: ConfigType;
  /** What a reader gets when the key is unset (documented; `null`: no default / see description). */
  default: boolean | string | null;
  description: string;
  settable: 'user' | 'internal' | 'secret';
  /** For internal and secret keys: where the value comes from instead. */
  setInstead?: string;
  /** Allowed values (enum). */
  values?: readonly string[];
  /**
   * What a stored value that is not valid reads as, for keys where failing would lock the user out
   * (every command reads it) or where the safe side is obvious: false for access control, true
   * for durability. Unset: an invalid stored value is CONFIG_INVALID.
   */
  invalidReadsAs?: boolean;
  /** Where the key may be set (default: every level for `user` keys, the repository for `internal` ones, none for secrets). */
  levels?: readonly ConfigLevel[];
  /**
   * Shared with the team through the committed project file `strata.project` (core/project/):
   * where the data lives and how to reach it. Never secrets, caches, security switches or a
   * person's own settings (user.*, core.*, AWS profiles, server.anonymous-read).
   */
  shared?: boolean;
}

/** A configuration level, lowest first: user file < repository < environment. */
export type ConfigLevel = 'user' | 'repository' | 'env';
const CONFIG_LEVELS: readonly ConfigLevel[] = ['user', 'repository', 'env'];

/** The levels `def` may be set at. */
export function levelsOf(def: KeyDef): readonly ConfigLevel[] {
  if (def.levels) return def.levels;
  if (def.settable === 'user') return CONFIG_LEVELS;
  if (def.settable === 'internal') return ['repository'];
  return [];
}

/** The environment variable that sets `key` above every config file: STRATA_CONFIG_USER_NAME for user.name. */
export function envVarFor(key: string): string {
  return 'STRATA_CONFIG_' + key.replace(/[.-]/g, '_').toUpperCase();
}

/** A remote's name (also the `<name>` part of remote.<name>.* keys). */
export const REMOTE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const OL_KEY_INSTEAD =
  'set OPENLINEAGE_API_KEY in the environment, or add the line "<openlineage url> <api key>" to the user credentials file $XDG_CONFIG_HOME/strata/credentials (default ~/.config/strata/credentials, chmod 600)';
const REMOTE_INSTEAD = 'strata remote add NAME URL [--endpoint URL --region R --profile P --path-style|--virtual-host], or strata remote set-url NAME URL [...]';

export const CONFIG_KEYS: readonly KeyDef[] = [
  { key: 'user.name', type: 'string', default: null, settable: 'user', description: 'author name for commits and runs (unset: STRATA_AUTHOR_NAME, git user.name, the OS user)' },
  { key: 'user.email', type: 'email', default: null, settable: 'user', description: 'author email for commits and runs (unset: STRATA_AUTHOR_EMAIL, git user.email, USER@localhost)' },
  { key: 'core.fsync', type: 'bool', default: true, settable: 'user', invalidReadsAs: true, description: 'fsync objects before they are referenced' },
  { key: 'core.allowOutsideSymlinks', type: 'bool', default: false, settable: 'user', invalidReadsAs: false, description: 'let checkout/pull/clone create symbolic links whose target leaves the workspace (strata never writes through them)' },
  { key: 'core.sparse', type: 'json-list', default: null, settable: 'internal', setInstead: 'strata clone/pull URL -- PATH... sets it (a partial checkout)', description: 'paths of a partial checkout (JSON list)' },
  { key: 'remote.default', type: 'remote-name', default: null, shared: true, settable: 'user', description: 'remote used when none is named, by push, fetch, pull, checkout --for and reproduce (unset: origin, else the only remote)' },
  { key: 'remote.<name>.url', type: 'string', default: null, shared: true, settable: 'internal', setInstead: REMOTE_INSTEAD, description: "a remote's URL" },
  { key: 'remote.<name>.endpoint', type: 'string', default: null, shared: true, settable: 'internal', setInstead: REMOTE_INSTEAD, description: 'S3-compatible endpoint of an s3:// remote' },
  { key: 'remote.<name>.region', type: 'string', default: null, shared: true, settable: 'internal', setInstead: REMOTE_INSTEAD, description: 'region of an s3:// remote' },
  { key: 'remote.<name>.profile', type: 'string', default: null, settable: 'internal', setInstead: REMOTE_INSTEAD, description: 'AWS shared-config profile of an s3:// remote' },
  { key: 'remote.<name>.pathStyle', type: 'bool', default: null, shared: true, settable: 'internal', setInstead: REMOTE_INSTEAD, description: 'path-style addressing of an s3:// remote (unset: path-style with a custom endpoint)' },
  { key: 'remote.<name>.conditionalWrites', type: 'enum', values: ['enforced', 'not-enforced'], default: null, settable: 'internal', setInstead: 'strata push probes and caches it; strata remote set-url to another server forgets it', description: "cached probe: whether the remote enforces conditional writes" },
  { key: 'openlineage.url', type: 'url', default: null, settable: 'user', description: 'HTTP endpoint receiving OpenLineage run events, e.g. http://marquez:5000/api/v1/lineage (OPENLINEAGE_URL overrides)' },
  { key: 'openlineage.file', type: 'path', default: null, settable: 'user', description: 'JSON-lines file receiving OpenLineage run events (relative to the project root, or a file: URL)' },
  { key: 'openlineage.namespace', type: 'string', default: null, shared: true, settable: 'user', description: 'job namespace of OpenLineage events (datasets use OpenLineage naming) (default strata://<project folder>; OPENLINEAGE_NAMESPACE overrides)' },
  { key: 'openlineage.timeout', type: 'duration', default: '5s', settable: 'user', description: 'how long one OpenLineage HTTP request may take (250ms, 5s, 1m; a plain number is seconds); the transport timeout of openlineage.yml / OPENLINEAGE__TRANSPORT__TIMEOUT wins' },
  { key: 'openlineage.retries', type: 'count', default: '4', settable: 'user', description: 'retries of an OpenLineage event after a network error, a timeout or HTTP 408/429/500/502/503/504 (0: none); then it is spooled in .strata/lineage/spool' },
  { key: 'openlineage.retryBackoff', type: 'duration', default: '500ms', settable: 'user', description: 'base of the exponential backoff with full jitter between retries: retry n waits a random time up to base * 2^(n-1) (at most 30s), or what Retry-After says' },
  { key: 'openlineage.retryMaxTime', type: 'duration', default: '10s', settable: 'user', description: 'at most this long is spent retrying one event; a Retry-After beyond it spools the event at once' },
  { key: 'openlineage.apiKey', type: 'secret', default: null, settable: 'secret', setInstead: OL_KEY_INSTEAD, description: 'never in the repository config: OPENLINEAGE_API_KEY, or the credentials file' },
  { key: 'server.anonymous-read', type: 'bool', default: null, settable: 'user', invalidReadsAs: false, levels: ['repository'], description: "whether strata serve lets callers without a token read this repository (unset: the server's --anonymous-read default)" },
  { key: 'tables.memoryLimit', type: 'string', default: '1GB', settable: 'user', description: "memory limit of table work (checks, show --stats, diff --rows), e.g. 512MB, 2GB: DuckDB gets 70% of it and spills to .strata/tmp beyond" },
  {
    key: 'checks.protect',
    type: 'branch-patterns',
    default: null,
    settable: 'user',
    levels: ['repository'],
    description: 'branches (names or globs: main, release/*) that strata serve moves only to commits whose error-level checks pass: push, POST /merge and the S3 gateway commit (unset: none)',
  },
  { key: 'code.git', type: 'enum', values: ['auto', 'cli', 'builtin'], default: 'auto', settable: 'user', description: 'how the code repository is read: auto (the git program when git 2.31+ is on PATH, else isomorphic-git), cli (the git program, an error without it) or builtin (isomorphic-git)' },
  { key: 'core.pager', type: 'string', default: null, settable: 'user', levels: ['user', 'env'], description: 'the pager of log, diff and show on a terminal, run by the shell (unset: PAGER, else less with LESS=FRX; empty or cat: no pager); a personal setting, so the user file or STRATA_CONFIG_CORE_PAGER only' },
  { key: 'tables.threads', type: 'string', default: '2', settable: 'user', description: 'threads of the table engine (DuckDB), a positive integer' },
];

function patternMatch(pattern: string, key: string): boolean {
  if (!pattern.includes('<name>')) return pattern === key;
  const [pre, post] = pattern.split('<name>') as [string, string];
  if (!key.startsWith(pre) || !key.endsWith(post) || key.length <= pre.length + post.length) return false;
  return REMOTE_NAME_RE.test(key.slice(pre.length, key.length - post.length));
}

/** The registry entry for `key`, or undefined when Strata does not know it. */
export function findKey(key: string): KeyDef | undefined {
  return CONFIG_KEYS.find((d) => patternMatch(d.key, key));
}


/** Known keys close to `key` (best first), for "did you mean". */
function suggestKeys(key: string): string[] {
  const lower = key.toLowerCase();
  const candidates = CONFIG_KEYS.map((d) => {
    if (!d.key.includes('<name>')) return d.key;
    // Offer the pattern with the user's remote name when the key has one.
    const m = /^remote\.([^.]+)\./.exec(key);
    return m && REMOTE_NAME_RE.test(m[1]!) ? d.key.replace('<name>', m[1]!) : d.key;
  });
  const scored = candidates
    .map((c) => ({ c, d: editDistance(lower, c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(c.length / 4)) || c.toLowerCase() === lower);
  scored.sort((x, y) => x.d - y.d);
  if (scored.length) return scored.map((s) => s.c).slice(0, 3);
  // Same section, or the same name under another section (openlineage.nmespace, foo.fsync).
  const [section] = key.split('.');
  const name = key.slice(key.indexOf('.') + 1);
  return candidates.filter((c) => c.startsWith(section + '.') || c.endsWith('.' + name)).slice(0, 4);
}

export function unknownKeyError(key: string): StrataError {
  const near = suggestKeys(key);
  return new StrataError('CONFIG_INVALID', `unknown config key ${JSON.stringify(key)}${near.length ? `; did you mean ${near.join(', ')}?` : ''}`, {
    hint: 'strata config --help lists the keys (docs/cli.md, "strata config")',
  });
}

const BOOL_TRUE = ['true', 'yes', 'on', '1'];
const BOOL_FALSE = ['false', 'no', 'off', '0'];
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A value for messages: quoted, escaped and cut short. */
function show(v: string): string {
  return JSON.stringify(v.length > 80 ? v.slice(0, 80) + '…' : v);
}

/** The error text for an invalid value of `def`, or null when `raw` is valid. Returns the stored form. */
export function checkValue(def: KeyDef, raw: string): { ok: true; value: string } | { ok: false; why: string; example: string } {
  const nonEmptyText = (max: number): string | null => {
    if (raw.trim() === '') return 'it is empty';
    if (CONTROL_RE.test(raw)) return 'it contains control characters (newline, tab, ...)';
    if (raw !== raw.trim()) return 'it starts or ends with spaces';
    if (raw.length > max) return `it is longer than ${max} characters`;
    return null;
  };
  switch (def.type) {
    case 'bool': {
      const l = raw.trim().toLowerCase();
      if (BOOL_TRUE.includes(l)) return { ok: true, value: 'true' };
      if (BOOL_FALSE.includes(l)) return { ok: true, value: 'false' };
      return { ok: false, why: 'it must be true or false (also accepted: yes/no, on/off, 1/0)', example: 'true' };
    }
    case 'string': {
      const why = nonEmptyText(1024);
      if (why) return { ok: false, why, example: def.key === 'user.name' ? '"Ada Lovelace"' : 'fraud-team' };
      if (def.key === 'user.name' && /[<>]/.test(raw)) return { ok: false, why: 'a name cannot contain < or >', example: '"Ada Lovelace"' };
      if (hasUrlSecrets(raw)) return { ok: false, why: 'it contains credentials (user:password@ or a token parameter), which must not be stored', example: 'fraud-team' };
      return { ok: true, value: raw };
    }
    case 'email': {
      const why = nonEmptyText(254);
      if (why) return { ok: false, why, example: 'ada@example.com' };
      if (!/^[^\s<>@]+@[^\s<>@]+$/.test(raw)) return { ok: false, why: 'it is not an email address (name@domain)', example: 'ada@example.com' };
      return { ok: true, value: raw };
    }
    case 'url': {
      const why = nonEmptyText(2048);
      const example = 'http://localhost:5000/api/v1/lineage';
      if (why) return { ok: false, why, example };
      if (/\s/.test(raw)) return { ok: false, why: 'it contains spaces', example };
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        return { ok: false, why: 'it is not a URL', example };
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, why: `it must be an http(s) URL, not ${u.protocol}`, example };
      if (!u.hostname) return { ok: false, why: 'it has no host', example };
      if (hasUrlSecrets(raw)) return { ok: false, why: 'it contains credentials (user:password@ or a token parameter); ' + OL_KEY_INSTEAD, example };
      return { ok: true, value: raw };
    }
    case 'path': {
      const why = nonEmptyText(4096);
      if (why) return { ok: false, why, example: 'lineage-events.jsonl' };
      const p = raw.replace(/^file:\/\//i, '').replace(/\\/g, '/');
      if (p.split('/').some((s) => s === '.strata' || s === '.git')) return { ok: false, why: 'it points inside .strata or .git', example: 'lineage-events.jsonl' };
      if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw) && !/^file:\/\//i.test(raw)) return { ok: false, why: 'only a path or a file:// URL is allowed', example: 'lineage-events.jsonl' };
      return { ok: true, value: raw };
    }
    case 'remote-name':
      if (!REMOTE_NAME_RE.test(raw) || raw.endsWith('.lock') || raw.includes('..')) return { ok: false, why: 'it is not a remote name (letters, digits, ".", "_", "-")', example: 'origin' };
      return { ok: true, value: raw };
    case 'json-list': {
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        return { ok: false, why: 'it is not JSON', example: '["data/raw"]' };
      }
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return { ok: false, why: 'it is not a JSON list of strings', example: '["data/raw"]' };
      return { ok: true, value: raw };
    }
    case 'enum':
      if (!def.values!.includes(raw)) return { ok: false, why: `it must be one of ${def.values!.join(', ')}`, example: def.values![0]! };
      return { ok: true, value: raw };
    case 'branch-patterns': {
      const why = nonEmptyText(1024);
      if (why) return { ok: false, why, example: '"main, release/*"' };
      const r = parseBranchPatterns(raw);
      if (!r.ok) return { ok: false, why: r.why, example: '"main, release/*"' };
      return { ok: true, value: raw };
    }
    case 'secret':
      return { ok: true, value: raw };
    case 'count':
      if (!/^[0-9]{1,3}$/.test(raw)) return { ok: false, why: 'it must be a whole number from 0 to 999', example: '4' };
      return { ok: true, value: raw };
    case 'duration':
      if (parseDuration(raw) === null) return { ok: false, why: 'it must be a duration: a number with ms, s or m (a plain number is seconds), at most 1 hour', example: '500ms' };
      return { ok: true, value: raw };
  }
}

/** A duration in ms: `250ms`, `1.5s`, `2m`, or a plain number of seconds; null when not one (or above 1 hour). */
export function parseDuration(raw: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(raw);
  if (!m) return null;
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  return Number.isFinite(ms) && ms <= 3_600_000 ? Math.round(ms) : null;
}

/**
 * Validate `strata config set KEY VALUE`: returns the value to store (booleans normalised), or
 * throws CONFIG_INVALID (unknown key, a key users may not set, an invalid value).
 */
export function validateSet(key: string, value: string, level: 'user' | 'repository' = 'repository'): string {
  const def = findKey(key);
  if (!def) throw unknownKeyError(key);
  if (def.settable === 'secret') {
    const where = level === 'user' ? 'the user config file' : 'the repository config (it travels with copies and backups)';
    throw new StrataError('CONFIG_INVALID', `${key} is a secret and is not kept in ${where}`, { hint: def.setInstead });
  }
  if (def.settable === 'internal') {
    throw new StrataError('CONFIG_INVALID', `${key} is set by Strata itself, not by strata config set`, { hint: def.setInstead });
  }
  if (!levelsOf(def).includes(level)) {
    throw new StrataError('CONFIG_INVALID', `${key} is a setting of one repository and cannot be set in the ${level} config`, {
      hint: `set it in the repository: strata config set ${key} VALUE`,
    });
  }
  const r = checkValue(def, value);
  if (!r.ok) {
    throw new StrataError('CONFIG_INVALID', `invalid value ${def.type === 'url' ? show(redactUrl(value)) : show(value)} for ${key}: ${r.why}`, { hint: `e.g. strata config set ${key} ${r.example}` });
  }
  return r.value;
}

/** What readers need of a metadata store (the repository level). */
export interface ConfigSource {
  getConfig(key: string): string | null;
}

/** A value with the level it comes from and where exactly (a file path, the variable's name). */
export interface ConfigValue {
  value: string;
  origin: ConfigLevel;
  /** `.strata/strata.db` for the repository, the file path for the user level, the variable name for env. */
  where: string;
}

/**
 * The effective raw value of `key`: the environment, else the repository (`db`; null: outside a
 * repository), else the user file, each only where the key may be set. Null when no level sets it.
 */
export function effectiveValue(db: ConfigSource | null, key: string, env: NodeJS.ProcessEnv = process.env): ConfigValue | null {
  const def = findKey(key);
  const levels = def ? levelsOf(def) : (['repository'] as const);
  if (levels.includes('env')) {
    const name = envVarFor(key);
    const v = env[name];
    if (v !== undefined && v !== '') return { value: v, origin: 'env', where: name };
  }
  if (db && levels.includes('repository')) {
    const v = db.getConfig(key);
    if (v !== null) return { value: v, origin: 'repository', where: '.strata/strata.db' };
  }
  if (levels.includes('user')) {
    const { path, entries } = readUserConfig(env);
    const e = entries.get(key);
    if (e) return { value: e.value, origin: 'user', where: path };
  }
  return null;
}

function storedInvalid(key: string, got: ConfigValue, why: string): StrataError {
  const def = findKey(key);
  const shown = def?.type === 'secret' ? '' : ` ${show(redactUrl(got.value))}`;
  if (got.origin === 'env') {
    return new StrataError('CONFIG_INVALID', `the environment variable ${got.where} holds an invalid value${shown} for ${key}: ${why}`, {
      hint: `unset ${got.where}, or give it a valid value`,
    });
  }
  if (got.origin === 'user') {
    return new StrataError('CONFIG_INVALID', `the user config file ${got.where} holds an invalid value${shown} for ${key}: ${why}`, {
      hint: `remove it with strata config unset --user ${key}, or set a valid one with strata config set --user ${key} VALUE`,
    });
  }
  return new StrataError('CONFIG_INVALID', `the repository config holds an invalid value${shown} for ${key}: ${why}`, {
    hint: `remove it with strata config unset ${key}${def?.settable === 'user' ? `, or set a valid one with strata config set ${key} VALUE` : ''}`,
  });
}

function defOf(key: string): KeyDef {
  const def = findKey(key);
  if (!def) throw new StrataError('INTERNAL', `config key ${key} is not in the registry`);
  return def;
}

/** A boolean key: the effective value (levels), else the registry default (null when it has none). */
export function readBool(db: ConfigSource, key: string): boolean | null {
  const def = defOf(key);
  const got = effectiveValue(db, key);
  if (got === null) return typeof def.default === 'boolean' ? def.default : null;
  const r = checkValue(def, got.value);
  if (r.ok) return r.value === 'true';
  if (def.invalidReadsAs !== undefined) return def.invalidReadsAs;
  throw storedInvalid(key, got, r.why);
}

/** A text key (string, email, url, path, remote name, enum): the effective value, validated. */
export function readString(db: ConfigSource, key: string): string | null {
  const def = defOf(key);
  const got = effectiveValue(db, key);
  if (got === null) return typeof def.default === 'string' ? def.default : null;
  const r = checkValue(def, got.value);
  if (!r.ok) throw storedInvalid(key, got, r.why);
  return r.value;
}

/** A JSON-list key. */
export function readList(db: ConfigSource, key: string): string[] | null {
  const def = defOf(key);
  const got = effectiveValue(db, key);
  if (got === null) return null;
  const r = checkValue(def, got.value);
  if (!r.ok) throw storedInvalid(key, got, r.why);
  return JSON.parse(got.value) as string[];
}

/** Why a stored value of a known key is not valid (for `config list` warnings), or null. */
export function storedProblem(key: string, value: string): string | null {
  const def = findKey(key);
  if (!def || def.type === 'secret') return null;
  const r = checkValue(def, value);
  if (r.ok) return null;
  const reads = def.invalidReadsAs !== undefined ? ` (read as ${def.invalidReadsAs})` : '';
  return `${key} holds an invalid value ${show(redactUrl(value))}: ${r.why}${reads}; fix it with strata config unset ${key}`;
}

/** Mask a secret key's value for display. */
export function displayValue(key: string, value: string): string {
  return findKey(key)?.type === 'secret' ? '(hidden; ignored: not read from the repository config)' : value;
}
