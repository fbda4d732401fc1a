import { StrataError } from '../errors/index.js';
import { isSharedKey, syncProjectFile } from '../project/file.js';
import { CONFIG_KEYS, displayValue, effectiveValue, envVarFor, findKey, levelsOf, storedProblem, unknownKeyError, validateSet, type ConfigLevel } from '../config/registry.js';
import { hasUrlSecrets, redactUrl } from '../config/redact.js';
import { readUserConfig, writeUserConfigValue } from '../config/user.js';
import type { Repository } from '../repo/index.js';

const KEY_RE = /^[a-z][a-z0-9-]*(\.[A-Za-z0-9_-]+)+$/;

function checkKey(key: string): void {
  if (!KEY_RE.test(key)) throw new StrataError('INVALID_ARGUMENT', `invalid config key ${JSON.stringify(key)}`, { hint: 'keys look like section.name, e.g. user.name' });
}

export interface ConfigEntry {
  key: string;
  value: string;
  known: boolean;
}

/** Warnings about stored values that are invalid, or that Strata ignores (a secret kept in the repository config). */
function storedWarnings(rows: Array<{ key: string; value: string }>): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const problem = storedProblem(r.key, r.value);
    if (problem) out.push(problem);
    const def = findKey(r.key);
    if (def?.settable === 'secret') out.push(`${r.key} in the repository config is ignored (secrets are not read from it); remove it with strata config unset ${r.key} and ${def.setInstead}`);
  }
  return out;
}

/**
 * The effective value of `key` (environment, else repository, else user config; a secret's is
 * masked), or null. An unknown key that is not stored is CONFIG_INVALID.
 */
export async function configGet(repo: Repository, key: string): Promise<string | null> {
  checkKey(key);
  const def = findKey(key);
  const v = def && def.settable !== 'secret' ? (effectiveValue(repo.db, key)?.value ?? null) : repo.db.getConfig(key);
  if (v === null && !findKey(key)) throw unknownKeyError(key);
  return v === null ? null : displayValue(key, v);
}

/** Set a key after validating it against the registry; returns the stored (normalised) value. */
export async function configSet(repo: Repository, key: string, value: string): Promise<string> {
  checkKey(key);
  const stored = validateSet(key, value);
  await repo.withWriteLock('config', async () => {
    repo.db.setConfig(key, stored);
    if (isSharedKey(key)) await syncProjectFile(repo);
  });
  return stored;
}

/** Remove a key (any stored key may be removed, so values left by older versions can be cleaned up). */
export async function configUnset(repo: Repository, key: string): Promise<boolean> {
  checkKey(key);
  return repo.withWriteLock('config', async () => {
    const had = repo.db.getConfig(key) !== null;
    if (!had && !findKey(key)) throw unknownKeyError(key);
    repo.db.setConfig(key, null);
    if (isSharedKey(key)) await syncProjectFile(repo);
    return had;
  });
}

// ---------------------------------------------------------------- levels (user config file, environment)

/** The value of `key` in the user config file, or null. Needs no repository. */
export function userConfigGet(key: string, env: NodeJS.ProcessEnv = process.env): string | null {
  checkKey(key);
  const e = readUserConfig(env).entries.get(key);
  if (!e && !findKey(key)) throw unknownKeyError(key);
  return e ? displayValue(key, e.value) : null;
}

/** Set a key in the user config file (validated like config set; repository-only keys and secrets refused). */
export function userConfigSet(key: string, value: string, env: NodeJS.ProcessEnv = process.env): string {
  checkKey(key);
  const stored = validateSet(key, value, 'user');
  writeUserConfigValue(key, stored, env);
  return stored;
}

/** Remove a key from the user config file; returns whether it was there. */
export function userConfigUnset(key: string, env: NodeJS.ProcessEnv = process.env): boolean {
  checkKey(key);
  const had = readUserConfig(env).entries.has(key);
  if (!had && !findKey(key)) throw unknownKeyError(key);
  if (had) writeUserConfigValue(key, null, env);
  return had;
}

export interface ConfigOriginEntry extends ConfigEntry {
  origin: ConfigLevel;
  /** The file (user level), `.strata/strata.db` (repository) or the variable (env). */
  where: string;
  /** False when a higher level sets the same key (this value is not the one in effect). */
  effective: boolean;
  /** Set here but not read from this level (the key may not be set at it). */
  ignored: boolean;
}

/**
 * Every value at every level, lowest level first (user file, repository, environment), like
 * `git config list --show-origin`; with warnings about values that are invalid or ignored. `repoDb`
 * null: outside a repository (user file and environment only).
 */
export function listWithOrigins(repoDb: { listConfig(): Array<{ key: string; value: string }> } | null, env: NodeJS.ProcessEnv = process.env): { entries: ConfigOriginEntry[]; warnings: string[] } {
  const rows: Array<Omit<ConfigOriginEntry, 'effective'> & { raw: string }> = [];
  // Values not validated on the way in (a hand-edited file, the environment) lose URL credentials for display.
  const shown = (key: string, v: string) => displayValue(key, hasUrlSecrets(v) ? redactUrl(v) : v);
  const warnings: string[] = [];
  const allowed = (key: string, level: ConfigLevel) => {
    const def = findKey(key);
    return def ? levelsOf(def).includes(level) : level === 'repository';
  };
  const { path, entries: user } = readUserConfig(env);
  for (const e of [...user.values()].sort((a, b) => a.line - b.line)) {
    const ignored = !allowed(e.key, 'user');
    rows.push({ key: e.key, value: shown(e.key, e.value), raw: e.value, known: !!findKey(e.key), origin: 'user', where: path, ignored });
    if (!findKey(e.key)) warnings.push(`${path}:${e.line}: unknown config key ${e.key} (ignored)`);
    else if (ignored) warnings.push(`${path}:${e.line}: ${e.key} cannot be set in the user config (ignored); ${findKey(e.key)!.setInstead ?? `set it in the repository: strata config set ${e.key} VALUE`}`);
    else {
      const p = storedProblem(e.key, e.value);
      if (p) warnings.push(`${path}:${e.line}: ${p.replace(`strata config unset ${e.key}`, `strata config unset --user ${e.key}`)}`);
    }
  }
  if (repoDb) {
    const repoRows = repoDb.listConfig();
    for (const r of repoRows) rows.push({ key: r.key, value: displayValue(r.key, r.value), raw: r.value, known: !!findKey(r.key), origin: 'repository', where: '.strata/strata.db', ignored: findKey(r.key)?.settable === 'secret' });
    warnings.push(...storedWarnings(repoRows));
  }
  for (const def of CONFIG_KEYS) {
    if (def.key.includes('<name>') || !levelsOf(def).includes('env')) continue;
    const name = envVarFor(def.key);
    const v = env[name];
    if (v === undefined || v === '') continue;
    rows.push({ key: def.key, value: shown(def.key, v), raw: v, known: true, origin: 'env', where: name, ignored: false });
    const p = storedProblem(def.key, v);
    if (p) warnings.push(`${name}: ${p.replace(/; fix it with strata config unset .*$/, `; unset ${name} or give it a valid value`)}`);
  }
  const lastLive = new Map<string, number>();
  rows.forEach((r, i) => {
    if (!r.ignored) lastLive.set(r.key, i);
  });
  return {
    entries: rows.map(({ raw: _raw, ...r }, i) => ({ ...r, effective: lastLive.get(r.key) === i })),
    warnings,
  };
}

/** listWithOrigins for the repository at ctx. */
export async function configListWithOrigins(repo: Repository): Promise<{ entries: ConfigOriginEntry[]; warnings: string[] }> {
  return listWithOrigins(repo.db);
}
