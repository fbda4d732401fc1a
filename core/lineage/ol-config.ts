/**
 * The transport configuration of the OpenLineage clients, read as the official Python client reads
 * it (openlineage.io/docs/client/python/configuration):
 *
 * 1. an `openlineage.yml` file: the path in OPENLINEAGE_CONFIG, else `openlineage.yml` in the
 *    current directory, else `~/.openlineage/openlineage.yml`;
 * 2. else the dynamic environment variables `OPENLINEAGE__<SECTION>__<KEY>` (nested keys separated
 *    by `__`, snake_case names read as camelCase: OPENLINEAGE__TRANSPORT__AUTH__API_KEY is
 *    transport.auth.apiKey; a value that is a JSON object is taken as that object).
 *
 * Transports understood: `http` (url, endpoint, timeout in seconds or timeoutInMillis, auth of type
 * api_key with apiKey / api_key), `file` (log_file_path) and `console` (Strata never prints events:
 * a warning says so). Never throws: a file that cannot be read or parsed, or a transport that is
 * not usable, becomes one warning naming the file (or the variables) and is skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { redactText, redactUrl } from '../config/redact.js';

export interface TransportConfig {
  /** Where it came from, for messages: the file path or `OPENLINEAGE__TRANSPORT__*`. */
  source: string;
  type: 'http' | 'file' | 'console';
  url?: string;
  endpoint?: string;
  timeoutMs?: number;
  apiKey?: string;
  /** type file: absolute path of the JSON-lines file. */
  file?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The transport section of a parsed configuration, checked; null (with a warning) when unusable. */
function readTransport(root: unknown, source: string, baseDir: string, warnings: string[]): TransportConfig | null {
  if (!isObj(root) || root.transport === undefined) return null;
  const t = root.transport;
  const bad = (why: string): null => {
    warnings.push(`OpenLineage: ${source}: ${why}; its transport is ignored`);
    return null;
  };
  if (!isObj(t)) return bad('transport must be a map with a type (http, file or console)');
  const type = typeof t.type === 'string' ? t.type.toLowerCase() : '';
  if (type === 'console') {
    warnings.push(`OpenLineage: ${source}: transport type console is not supported by strata (it never prints events); no events are sent. Use type http, or type file with log_file_path`);
    return { source, type: 'console' };
  }
  if (type === 'file') {
    const p = t.log_file_path ?? t.logFilePath;
    if (typeof p !== 'string' || p.trim() === '') return bad('a file transport needs log_file_path');
    return { source, type: 'file', file: isAbsolute(p) ? p : resolve(baseDir, p) };
  }
  if (type !== 'http') return bad(`transport type ${JSON.stringify(redactText(String(t.type ?? '')))} is not one strata sends to (http, file, console)`);
  if (typeof t.url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(t.url.trim())) return bad(`an http transport needs an http(s) url, got ${JSON.stringify(redactUrl(String(t.url ?? '')))}`);
  const out: TransportConfig = { source, type: 'http', url: t.url.trim() };
  if (t.endpoint !== undefined) {
    if (typeof t.endpoint !== 'string') return bad('endpoint must be a string such as api/v1/lineage');
    out.endpoint = t.endpoint.trim();
  }
  const seconds = t.timeout !== undefined ? Number(t.timeout) : null;
  const millis = t.timeoutInMillis !== undefined ? Number(t.timeoutInMillis) : t.timeout_in_millis !== undefined ? Number(t.timeout_in_millis) : null;
  if (seconds !== null || millis !== null) {
    const ms = millis !== null ? millis : seconds! * 1000;
    if (!Number.isFinite(ms) || ms <= 0 || ms > 3_600_000) return bad('timeout must be a positive number of seconds (timeoutInMillis: of milliseconds)');
    out.timeoutMs = Math.round(ms);
  }
  if (t.auth !== undefined && t.auth !== null) {
    const a = t.auth;
    if (!isObj(a)) return bad('auth must be a map with type api_key and apiKey');
    const atype = typeof a.type === 'string' ? a.type.replace(/_/g, '').toLowerCase() : '';
    if (atype !== 'apikey') return bad(`auth type ${JSON.stringify(redactText(String(a.type ?? '')))} is not supported (use type api_key with apiKey)`);
    const key = a.apiKey ?? a.api_key ?? a.apikey;
    if (typeof key !== 'string' || key.trim() === '') return bad('auth of type api_key needs apiKey');
    out.apiKey = key.trim();
  }
  return out;
}

/** The `openlineage.yml` the clients would read, or null: OPENLINEAGE_CONFIG, ./openlineage.yml, ~/.openlineage/openlineage.yml. */
function configFile(env: NodeJS.ProcessEnv, cwd: string): { path: string; explicit: boolean } | null {
  const named = env.OPENLINEAGE_CONFIG?.trim();
  if (named) return { path: resolve(cwd, named), explicit: true };
  const home = env.HOME || homedir();
  for (const p of [join(cwd, 'openlineage.yml'), join(home, '.openlineage', 'openlineage.yml')]) if (existsSync(p)) return { path: p, explicit: false };
  return null;
}

function fromFile(env: NodeJS.ProcessEnv, cwd: string, warnings: string[]): TransportConfig | null {
  const f = configFile(env, cwd);
  if (!f) return null;
  let text: string;
  try {
    text = readFileSync(f.path, 'utf8');
  } catch (e) {
    warnings.push(`OpenLineage: cannot read ${f.path}${f.explicit ? ' (OPENLINEAGE_CONFIG)' : ''}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; it is ignored`);
    return null;
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    const first = redactText((e as Error).message.split('\n')[0] ?? '');
    warnings.push(`OpenLineage: ${f.path} is not valid YAML (${first}); it is ignored: fix it, or point OPENLINEAGE_CONFIG elsewhere`);
    return null;
  }
  if (doc !== null && doc !== undefined && !isObj(doc)) {
    warnings.push(`OpenLineage: ${f.path} must be a YAML map with a transport section; it is ignored`);
    return null;
  }
  return readTransport(doc, f.path, cwd, warnings);
}

/** snake_case → camelCase, as the clients read the dynamic variables' key names. */
function camel(s: string): string {
  return s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function fromDynamicEnv(env: NodeJS.ProcessEnv, cwd: string, warnings: string[]): TransportConfig | null {
  const root: Obj = {};
  const names = Object.keys(env).filter((k) => k.startsWith('OPENLINEAGE__') && env[k] !== undefined && env[k] !== '').sort();
  for (const name of names) {
    const parts = name.slice('OPENLINEAGE__'.length).split('__').filter(Boolean).map(camel);
    if (parts[0] !== 'transport') continue;
    let value: unknown = env[name]!;
    const raw = String(value).trim();
    if (raw.startsWith('{')) {
      try {
        value = JSON.parse(raw) as unknown;
      } catch {
        warnings.push(`OpenLineage: ${name} starts with { but is not JSON; it is read as text`);
      }
    }
    let node = root;
    for (const p of parts.slice(0, -1)) {
      if (!isObj(node[p])) node[p] = {};
      node = node[p] as Obj;
    }
    const last = parts[parts.length - 1]!;
    node[last] = isObj(value) && isObj(node[last]) ? { ...(node[last] as Obj), ...value } : value;
  }
  if (root.transport === undefined) return null;
  return readTransport(root, 'OPENLINEAGE__TRANSPORT__* variables', cwd, warnings);
}

/**
 * The transport the OpenLineage client configuration names: the openlineage.yml file, else the
 * OPENLINEAGE__TRANSPORT__* variables; null when neither gives one.
 */
export function clientTransport(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): { transport: TransportConfig | null; warnings: string[] } {
  const warnings: string[] = [];
  const transport = fromFile(env, cwd, warnings) ?? fromDynamicEnv(env, cwd, warnings);
  return { transport, warnings };
}
