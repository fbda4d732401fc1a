import { StrataError } from '../errors/index.js';
import { CONFIG_KEYS, displayValue, findKey, storedProblem, unknownKeyError, validateSet } from '../config/registry.js';
import type { Repository } from '../repo/index.js';

/** Key → description, from the registry (for help texts). */
export const KNOWN_KEYS: Record<string, string> = Object.fromEntries(CONFIG_KEYS.map((d) => [d.key, d.description]));

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

/** The stored value of `key` (a secret's is masked), or null. An unknown key that is not stored is CONFIG_INVALID. */
export async function configGet(repo: Repository, key: string): Promise<string | null> {
  checkKey(key);
    const v = repo.db.getConfig(key);
  if (v === null && !findKey(key)) throw unknownKeyError(key);
  return v === null ? null : displayValue(key, v);
}

/** Set a key after validating it against the registry; returns the stored (normalised) value. */
export async function configSet(repo: Repository, key: string, value: string): Promise<string> {
  checkKey(key);
  const stored = validateSet(key, value);
  await repo.withWriteLock('config', async () => repo.db.setConfig(key, stored));
  return stored;
}

/** Remove a key (any stored key may be removed, so values left by older versions can be cleaned up). */
export async function configUnset(repo: Repository, key: string): Promise<boolean> {
  checkKey(key);
  return repo.withWriteLock('config', async () => {
    const had = repo.db.getConfig(key) !== null;
    if (!had && !findKey(key)) throw unknownKeyError(key);
    repo.db.setConfig(key, null);
    return had;
  });
}

export async function configList(repo: Repository): Promise<ConfigEntry[]> {
  return repo.db.listConfig().map((r) => ({ key: r.key, value: displayValue(r.key, r.value), known: findKey(r.key) !== undefined }));
}

/** configList plus warnings about stored values that are ignored. */
export async function configListWithWarnings(repo: Repository): Promise<{ entries: ConfigEntry[]; warnings: string[] }> {
    const rows = repo.db.listConfig();
  return {
    entries: rows.map((r) => ({ key: r.key, value: displayValue(r.key, r.value), known: findKey(r.key) !== undefined })),
    warnings: storedWarnings(rows),
  };
}
