/**
 * The project file `strata.project`: what a team shares about its Strata data, committed to git
 * beside the code (DVC's `.dvc/config`). `.strata/` holds the database and the objects and stays
 * out of git; its repository config keeps everything local (the person's name, fsync, partial
 * checkouts, AWS profiles, cached probes); secrets live only in the environment and the
 * credentials file.
 *
 * Format: `key = value` lines with the registry's key names, as `strata config` and the user
 * config file use them; `#` starts a comment line. Only keys the registry marks `shared`
 * (core/config/registry.ts) are allowed: the remotes' URLs and S3 settings, remote.default,
 * openlineage.namespace. A URL carrying credentials is refused when read and never written.
 *
 * Strata rewrites the file from the repository config whenever a shared setting changes
 * (`strata remote add|remove|set-url|default`, `strata config set|unset` of a shared key), so the
 * file always says what the repository uses. A project is "shared through git" when the file
 * exists or the repository root is inside a git work tree.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StrataError, fromSystemError } from '../errors/index.js';
import { checkValue, findKey } from '../config/registry.js';
import { hasUrlSecrets, redactUrl } from '../config/redact.js';
import { normalizeRemoteUrl } from '../remote/config.js';
import { findGitRoot } from '../code/git.js';
import type { MetaStore } from '../meta/interface.js';
import { PROJECT_FILE } from '../workspace/ignore.js';


const HEADER = [
  '# strata.project: where this project\'s data lives. Commit it with the code.',
  '# Written by strata remote add/remove/set-url/default and strata config set of shared keys.',
  '# Local settings stay in .strata/ (not in git); credentials never go here (AWS chain, STRATA_TOKEN,',
  '# ~/.config/strata/credentials). After git clone: strata pull.',
];

const LINE_RE = /^([A-Za-z][A-Za-z0-9._-]*)\s*=\s?(.*)$/;

function bad(file: string, line: number, why: string): StrataError {
  return new StrataError('CONFIG_INVALID', `${file}:${line}: ${why}`, {
    hint: `fix or remove line ${line} (lines look like "remote.origin.url = s3://bucket/prefix"; strata remote add/set-url rewrites the file)`,
  });
}

/** Whether `key` may be kept in the project file. */
export function isSharedKey(key: string): boolean {
  return findKey(key)?.shared === true;
}

/**
 * The project file's settings, validated (shared keys only, valid values, no credentials), or
 * null when there is no project file at `root`.
 */
export async function readProjectFile(root: string): Promise<Map<string, string> | null> {
  const file = join(root, PROJECT_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fromSystemError(e, file);
  }
  const out = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.replace(/\r$/, '').trim();
    if (!s || s.startsWith('#')) continue;
    const m = LINE_RE.exec(s);
    if (!m) throw bad(PROJECT_FILE, i + 1, `not a "key = value" line`);
    const key = m[1]!;
    const value = m[2]!.trim();
    const def = findKey(key);
    if (!def) throw bad(PROJECT_FILE, i + 1, `unknown key ${JSON.stringify(key)}`);
    if (!def.shared) throw bad(PROJECT_FILE, i + 1, `${key} is not a shared setting (it stays in each person's .strata/ or credentials)`);
    if (hasUrlSecrets(value)) throw bad(PROJECT_FILE, i + 1, `${key} = ${redactUrl(value)} carries credentials, which never belong in a committed file`);
    const r = checkValue(def, value);
    if (!r.ok) throw bad(PROJECT_FILE, i + 1, `invalid value for ${key}: ${r.why}`);
    out.set(key, /^remote\.[^.]+\.url$/.test(key) ? normalizeRemoteUrl(value, root) : r.value);
  }
  return out;
}

/** Whether the repository at `root` is shared through git (project file present, or inside a git work tree). */
export async function isSharedProject(root: string): Promise<boolean> {
  if (await fsp.stat(join(root, PROJECT_FILE)).then((s) => s.isFile(), () => false)) return true;
  return (await findGitRoot(root)) !== null;
}

/** The project file's text for the repository config `db` (shared keys only; credentials stripped). */
function renderProject(db: MetaStore): { text: string; stripped: string[] } {
  const stripped: string[] = [];
  const rows = db
    .listConfig()
    .filter((r) => isSharedKey(r.key))
    .sort((a, b) => (a.key === 'remote.default' ? -1 : b.key === 'remote.default' ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const lines = rows.map((r) => {
    if (!hasUrlSecrets(r.value)) return `${r.key} = ${r.value}`;
    stripped.push(r.key);
    return `${r.key} = ${redactUrl(r.value)}`;
  });
  return { text: [...HEADER, '', ...lines].join('\n') + '\n', stripped };
}

export interface ProjectSync {
  path: string;
  changed: boolean;
  /** Keys whose value carried credentials: written without them. */
  stripped: string[];
}

/** Write `text` to `file` through a temp file and a rename, unless it already holds exactly that. */
export async function writeIfChanged(file: string, text: string): Promise<boolean> {
  const cur = await fsp.readFile(file, 'utf8').catch(() => null);
  if (cur === text) return false;
  const tmp = `${file}.strata-tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.writeFile(tmp, text);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw fromSystemError(e, file);
  }
  return true;
}

/**
 * Rewrite the project file from the repository config, when the project is shared through git.
 * Called after a shared setting changed (its transaction committed); null when not shared.
 */
export async function syncProjectFile(repo: { root: string; db: MetaStore }): Promise<ProjectSync | null> {
  if (!(await isSharedProject(repo.root))) return null;
  const { text, stripped } = renderProject(repo.db);
  const path = join(repo.root, PROJECT_FILE);
  return { path, changed: await writeIfChanged(path, text), stripped };
}
