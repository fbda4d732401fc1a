/**
 * The user-level config file: `$XDG_CONFIG_HOME/strata/config` (default
 * `~/.config/strata/config`), below each repository's config and below the environment
 * (core/config/registry.ts, "Levels").
 *
 * Format: one `key = value` per line (spaces around `=` optional and not part of the value), `#`
 * starts a comment line, blank lines are ignored. The value is the rest of the line, taken as it
 * is (no quoting, no escapes): `user.name = Ada Lovelace`. A key given twice: the last line wins.
 * Keys and values are validated by the registry when set (`strata config set --user`) and when
 * read. `strata config set --user` rewrites the file atomically (temp file + rename), keeping
 * comments and the order of the other lines.
 */
import * as fs from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { StrataError } from '../errors/index.js';

/** Where the user config file is for this environment. */
function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(dir, 'strata', 'config');
}

export interface UserConfigLine {
  key: string;
  value: string;
  /** 1-based line number. */
  line: number;
}

const LINE_RE = /^([A-Za-z][A-Za-z0-9._-]*)\s*=\s?(.*)$/;

function badLine(path: string, n: number, why: string): StrataError {
  return new StrataError('CONFIG_INVALID', `${path}:${n}: ${why}`, {
    hint: `lines of the user config file look like "user.name = Ada Lovelace" (# starts a comment); fix or remove line ${n}, or use strata config set --user KEY VALUE / unset --user KEY`,
  });
}

/** Parse the file's text: entries in file order (a later duplicate wins when read as a map). */
function parseUserConfig(text: string, path: string): UserConfigLine[] {
  const out: UserConfigLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const s = raw.trim();
    if (!s || s.startsWith('#')) continue;
    const m = LINE_RE.exec(s);
    if (!m) throw badLine(path, i + 1, `not a "key = value" line: ${JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s)}`);
    out.push({ key: m[1]!, value: m[2]!.trim(), line: i + 1 });
  }
  return out;
}

let cache: { path: string; mtimeMs: number; size: number; entries: Map<string, UserConfigLine> } | null = null;

/** The user config as key -> entry ({} when the file does not exist). Throws CONFIG_INVALID on a bad line. */
export function readUserConfig(env: NodeJS.ProcessEnv = process.env): { path: string; entries: Map<string, UserConfigLine> } {
  const path = userConfigPath(env);
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch {
    return { path, entries: new Map() };
  }
  if (cache && cache.path === path && cache.mtimeMs === st.mtimeMs && cache.size === st.size) return { path, entries: cache.entries };
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new StrataError('CONFIG_INVALID', `cannot read the user config file ${path}: ${(e as Error).message}`, { hint: 'check its permissions, or remove it' });
  }
  const entries = new Map<string, UserConfigLine>();
  for (const e of parseUserConfig(text, path)) entries.set(e.key, e);
  cache = { path, mtimeMs: st.mtimeMs, size: st.size, entries };
  return { path, entries };
}

/**
 * Set (`value` a string) or remove (`value` null) `key` in the user config file, atomically.
 * Other lines and comments stay as they are. Returns whether the key was there before.
 */
export function writeUserConfigValue(key: string, value: string | null, env: NodeJS.ProcessEnv = process.env): boolean {
  const path = userConfigPath(env);
  let text = '';
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StrataError('CONFIG_INVALID', `cannot read the user config file ${path}: ${(e as Error).message}`, { hint: 'check its permissions' });
    }
  }
  const entries = parseUserConfig(text, path); // refuses to rewrite a file it cannot read back
  const had = entries.some((e) => e.key === key);
  const drop = new Set(entries.filter((e) => e.key === key).map((e) => e.line));
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const kept = lines.filter((_, i) => !drop.has(i + 1));
  if (value !== null) {
    // Replace in place (at the first occurrence), else append.
    const first = entries.find((e) => e.key === key)?.line;
    const line = `${key} = ${value}`;
    if (first !== undefined) kept.splice(first - 1, 0, line);
    else kept.push(line);
  }
  fs.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, kept.length ? kept.join('\n') + '\n' : '', { mode: 0o600 });
    fs.renameSync(tmp, path);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new StrataError('IO_ERROR', `cannot write the user config file ${path}: ${(e as Error).message}`, { hint: 'check that its folder is writable' });
  }
  cache = null;
  return had;
}
