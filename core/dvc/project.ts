/**
 * Reading a DVC project as DVC writes it (no DVC needed): dvc.yaml (vars, foreach/do, templating,
 * map-form outs, params, metrics, plots), dvc.lock, `.dvc` files and `.dvc/config`. The result is
 * DVC's pipeline resolved to plain stages, with paths relative to the DVC project root, plus every
 * part that has no Strata equivalent (`untranslated`), so the import can list it.
 *
 * Problems that stop the import (invalid YAML, a `${name}` with no value, a lock entry without a
 * hash) are StrataError('PIPELINE_INVALID') naming the file and what to fix.
 */
import * as fsp from 'node:fs/promises';
import { join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { StrataError } from '../errors/index.js';
import { normalizeProjectPath } from '../pipeline/spec.js';
import { interpolate, interpolateString, TemplateError } from './template.js';

export interface DvcOut {
  /** Relative to the DVC project root (wdir applied). */
  path: string;
  /** `cache: false` in dvc.yaml: the bytes are not in DVC's cache (usually committed to git). */
  cache: boolean;
  /** Which list of the stage named it. */
  kind: 'outs' | 'metrics' | 'plots';
}

export interface DvcParam {
  /** Relative to the DVC project root. */
  file: string;
  key: string;
}

export interface DvcStage {
  /** DVC's name: `train`, or `train@uk` for a foreach/matrix instance. */
  name: string;
  cmd: string | string[];
  /** Relative to the DVC project root ('.' = the root). */
  wdir: string;
  deps: string[];
  params: DvcParam[];
  outs: DvcOut[];
  desc?: string;
}

/** One thing of the DVC project that has no exact Strata equivalent, and what became of it. */
export interface Untranslated {
  /** Where it is: `dvc.yaml: stages.train.frozen`, `data.dvc: deps`. */
  where: string;
  what: string;
}

/** A hashed path of dvc.lock or of a `.dvc` file. */
export interface DvcHashed {
  /** Relative to the DVC project root. */
  path: string;
  /** md5 hex; directories end in `.dir`. */
  md5: string;
  size?: number;
  /**
   * True for DVC 2 entries (no `hash: md5` field): their md5 of a text file was computed after
   * turning CRLF into LF. DVC 3 (`hash: md5`) hashes the raw bytes.
   */
  legacy: boolean;
}

export interface DvcLockStage {
  cmd: string | string[];
  deps: DvcHashed[];
  /** params file (relative to the DVC root) -> key -> value, as dvc.lock recorded them. */
  params: Record<string, Record<string, unknown>>;
  outs: DvcHashed[];
}

export interface DvcTracked extends DvcHashed {
  /** The `.dvc` file, relative to the DVC project root. */
  file: string;
}

export interface DvcRemote {
  name: string;
  url: string;
  endpointUrl?: string;
}

export interface DvcProject {
  root: string;
  stages: DvcStage[];
  /** dvc.lock by stage name (empty when there is no dvc.lock). */
  lock: Map<string, DvcLockStage>;
  tracked: DvcTracked[];
  untranslated: Untranslated[];
  remotes: DvcRemote[];
  defaultRemote: string | null;
  /** The cache folder (absolute): `.dvc/cache` unless `[cache] dir` says otherwise. */
  cacheDir: string;
  /** Files read, for the report. */
  files: string[];
}

const STAGE_KEYS = new Set(['cmd', 'wdir', 'deps', 'params', 'outs', 'metrics', 'plots', 'frozen', 'always_changed', 'desc', 'meta', 'vars', 'foreach', 'do', 'matrix']);
const TOP_KEYS = new Set(['stages', 'vars', 'params', 'metrics', 'plots', 'artifacts', 'datasets']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function invalid(file: string, msg: string, hint?: string): StrataError {
  return new StrataError('PIPELINE_INVALID', `${file}: ${msg}`, { hint: hint ?? `fix ${file} (it must be valid for DVC too), then run strata import dvc again` });
}

async function readText(path: string): Promise<string | null> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StrataError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

function yamlOf(text: string, file: string): unknown {
  try {
    return parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    throw invalid(file, `invalid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Join a wdir and a path written in dvc.yaml into a path relative to the DVC root. */
function under(file: string, wdir: string, p: unknown, what: string): string {
  if (typeof p !== 'string' && typeof p !== 'number') throw invalid(file, `${what}: expected a path, found ${JSON.stringify(p)}`);
  const n = normalizeProjectPath(wdir === '.' ? String(p) : posix.join(wdir, String(p).replace(/\\/g, '/')));
  if ('error' in n) throw invalid(file, `${what}: ${n.error}`);
  return n.path;
}

// ---------------------------------------------------------------- vars and params files

/** Parse a params file (YAML or JSON); TOML and Python are not read. */
async function readVarsFile(root: string, rel: string, file: string): Promise<Obj> {
  const text = await readText(join(root, rel));
  if (text === null) throw invalid(file, `vars: ${rel} does not exist`, `create ${rel} or remove it from "vars"`);
  if (!/\.(ya?ml|json)$/i.test(rel)) throw invalid(file, `vars: ${rel}: only YAML and JSON files are read`, 'convert it to params.yaml, or write the values under "vars" inline');
  const v = yamlOf(text, rel);
  if (!isObj(v)) throw invalid(rel, 'expected a dictionary of values at the top');
  return v;
}

async function loadVars(root: string, wdir: string, items: unknown, ctx: Obj, file: string, where: string): Promise<void> {
  if (items === undefined || items === null) return;
  if (!Array.isArray(items)) throw invalid(file, `${where}vars must be a list (of files or dictionaries)`);
  for (const it of items) {
    if (isObj(it)) Object.assign(ctx, it);
    else if (typeof it === 'string') {
      const [f, keys] = it.includes(':') ? [it.slice(0, it.indexOf(':')), it.slice(it.indexOf(':') + 1)] : [it, ''];
      const rel = under(file, wdir, f, `${where}vars`);
      const vals = await readVarsFile(root, rel, file);
      if (keys.trim()) for (const k of keys.split(',').map((x) => x.trim()).filter(Boolean)) ctx[k] = vals[k];
      else Object.assign(ctx, vals);
    } else throw invalid(file, `${where}vars: expected a file name or a dictionary, found ${JSON.stringify(it)}`);
  }
}

// ---------------------------------------------------------------- stages

function outList(file: string, st: Obj, key: 'outs' | 'metrics' | 'plots', wdir: string, name: string, untranslated: Untranslated[]): DvcOut[] {
  const v = st[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(file, `stage ${name}: "${key}" must be a list`);
  const out: DvcOut[] = [];
  for (const item of v) {
    if (typeof item === 'string') {
      out.push({ path: under(file, wdir, item, `stage ${name} ${key}`), cache: true, kind: key });
      continue;
    }
    if (!isObj(item) || Object.keys(item).length !== 1) throw invalid(file, `stage ${name}: each of "${key}" must be a path or {path: {options}}`);
    const [p, optsRaw] = Object.entries(item)[0]!;
    const opts = isObj(optsRaw) ? optsRaw : {};
    const path = under(file, wdir, p, `stage ${name} ${key}`);
    let cache = true;
    for (const [k, val] of Object.entries(opts)) {
      if (k === 'cache') cache = val !== false;
      else if (k === 'persist' && val === true) untranslated.push({ where: `dvc.yaml: stages.${name}.${key}.${p}.persist`, what: 'persist: true has no equivalent: strata repro removes an output before running its command; the output is imported, and a rerun starts it afresh' });
      else if (k === 'desc') untranslated.push({ where: `dvc.yaml: stages.${name}.${key}.${p}.desc`, what: 'output descriptions are not kept (strata.yaml has a description per stage only)' });
      else untranslated.push({ where: `dvc.yaml: stages.${name}.${key}.${p}.${k}`, what: key === 'plots' ? `plot option ${k} is not translated: the file becomes an output; Strata draws no plots` : `output option ${k} is not translated` });
    }
    out.push({ path, cache, kind: key });
  }
  return out;
}

function paramList(file: string, st: Obj, wdir: string, name: string, lock: DvcLockStage | undefined, untranslated: Untranslated[], topKeysOf: (rel: string) => string[]): DvcParam[] {
  const v = st.params;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(file, `stage ${name}: "params" must be a list`);
  const out: DvcParam[] = [];
  const dflt = under(file, wdir, 'params.yaml', `stage ${name} params`);
  for (const item of v) {
    if (typeof item === 'string') out.push({ file: dflt, key: item });
    else if (isObj(item)) {
      for (const [f, keys] of Object.entries(item)) {
        const rel = under(file, wdir, f, `stage ${name} params`);
        if (Array.isArray(keys) && keys.length) for (const k of keys) out.push({ file: rel, key: String(k) });
        else {
          // "all of the file": the keys dvc.lock recorded, else the file's top-level keys now.
          const recorded = lock?.params[rel];
          const all = recorded ? Object.keys(recorded) : topKeysOf(rel);
          for (const k of all) out.push({ file: rel, key: k });
          untranslated.push({ where: `dvc.yaml: stages.${name}.params.${f}`, what: `"every parameter of ${f}" becomes the keys ${all.join(', ') || '(none)'}; keys added to ${f} later are not tracked until added to strata.yaml` });
        }
      }
    } else throw invalid(file, `stage ${name}: each of "params" must be a key or {file: [keys]}`);
  }
  return out;
}

/** One instance of a stage (after foreach/matrix and templating). */
function buildStage(file: string, name: string, raw: Obj, lockOf: (n: string) => DvcLockStage | undefined, untranslated: Untranslated[], topKeysOf: (rel: string) => string[]): DvcStage {
  for (const k of Object.keys(raw)) {
    if (!STAGE_KEYS.has(k)) untranslated.push({ where: `dvc.yaml: stages.${name}.${k}`, what: `unknown stage key ${k} (ignored)` });
  }
  if (raw.frozen === true) untranslated.push({ where: `dvc.yaml: stages.${name}.frozen`, what: 'frozen: true has no equivalent: the stage is imported as an ordinary stage; to keep it from running, name the other stages to strata repro' });
  if (raw.always_changed === true) untranslated.push({ where: `dvc.yaml: stages.${name}.always_changed`, what: 'always_changed: true has no equivalent: use strata repro --force STAGE to run it anyway' });
  if (raw.meta !== undefined) untranslated.push({ where: `dvc.yaml: stages.${name}.meta`, what: 'stage meta is not kept' });
  const cmd = raw.cmd;
  if (typeof cmd !== 'string' && !(Array.isArray(cmd) && cmd.length && cmd.every((c) => typeof c === 'string'))) {
    throw invalid(file, `stage ${name}: "cmd" must be a command or a list of commands`);
  }
  const wdir = raw.wdir === undefined ? '.' : under(file, '.', raw.wdir, `stage ${name} wdir`);
  const depsRaw = raw.deps ?? [];
  if (!Array.isArray(depsRaw)) throw invalid(file, `stage ${name}: "deps" must be a list`);
  const deps = depsRaw.map((d) => under(file, wdir, d, `stage ${name} deps`));
  const outs = [...outList(file, raw, 'outs', wdir, name, untranslated), ...outList(file, raw, 'metrics', wdir, name, untranslated), ...outList(file, raw, 'plots', wdir, name, untranslated)];
  const params = paramList(file, raw, wdir, name, lockOf(name), untranslated, topKeysOf);
  return { name, cmd: cmd as string | string[], wdir, deps, params, outs, ...(typeof raw.desc === 'string' ? { desc: raw.desc } : {}) };
}

const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** foreach/do and matrix: the instances (name suffix, context additions). */
function instances(file: string, name: string, raw: Obj, ctx: Obj): Array<{ suffix: string; vars: Obj }> {
  if (raw.foreach !== undefined) {
    let it: unknown = raw.foreach;
    if (typeof it === 'string') it = interpolateString(it, ctx);
    if (Array.isArray(it)) return it.map((item, i) => ({ suffix: scalar(item) ? String(item) : String(i), vars: { item, key: i } }));
    if (isObj(it)) return Object.entries(it).map(([key, item]) => ({ suffix: key, vars: { item, key } }));
    throw invalid(file, `stage ${name}: "foreach" must be a list, a dictionary or \${name} of one`);
  }
  const m = raw.matrix;
  if (!isObj(m)) throw invalid(file, `stage ${name}: "matrix" must be a dictionary of lists`);
  let combos: Array<{ parts: string[]; item: Obj }> = [{ parts: [], item: {} }];
  for (const [k, valsRaw] of Object.entries(m)) {
    const vals = typeof valsRaw === 'string' ? interpolateString(valsRaw, ctx) : valsRaw;
    if (!Array.isArray(vals)) throw invalid(file, `stage ${name}: matrix.${k} must be a list`);
    combos = combos.flatMap((c) => vals.map((v, i) => ({ parts: [...c.parts, scalar(v) ? String(v) : `${k}${i}`], item: { ...c.item, [k]: v } })));
  }
  return combos.map((c) => ({ suffix: c.parts.join('-'), vars: { item: c.item } }));
}

// ---------------------------------------------------------------- dvc.lock and .dvc files

function hashed(file: string, base: string, e: unknown, what: string): DvcHashed {
  if (!isObj(e) || typeof e.path !== 'string') throw invalid(file, `${what}: each entry needs a path`);
  const md5 = typeof e.md5 === 'string' ? e.md5 : null;
  if (!md5 || !/^[0-9a-f]{32}(\.dir)?$/.test(md5)) {
    throw invalid(file, `${what} ${e.path}: no md5 (only md5-hashed entries can be verified)`, 'run dvc commit (or dvc repro) in the DVC project so every entry has its md5, then import again');
  }
  return {
    path: under(file, base, e.path, what),
    md5,
    ...(typeof e.size === 'number' ? { size: e.size } : {}),
    legacy: e.hash !== 'md5',
  };
}

function parseLock(text: string, lockWdirOf: (stage: string) => string): Map<string, DvcLockStage> {
  const file = 'dvc.lock';
  const doc = yamlOf(text, file);
  const out = new Map<string, DvcLockStage>();
  if (!isObj(doc)) return out;
  const stages = doc.schema === undefined && !('stages' in doc) ? doc : doc.stages;
  if (!isObj(stages)) return out;
  for (const [name, raw] of Object.entries(stages)) {
    if (!isObj(raw)) continue;
    const wdir = lockWdirOf(name);
    const list = (k: 'deps' | 'outs') => (Array.isArray(raw[k]) ? (raw[k] as unknown[]).map((e) => hashed(file, wdir, e, `stage ${name} ${k}`)) : []);
    const params: Record<string, Record<string, unknown>> = {};
    if (isObj(raw.params)) for (const [f, kv] of Object.entries(raw.params)) if (isObj(kv)) params[under(file, wdir, f, `stage ${name} params`)] = kv;
    out.set(name, { cmd: (raw.cmd ?? '') as string | string[], deps: list('deps'), params, outs: list('outs') });
  }
  return out;
}

const SKIP_DIRS = new Set(['.git', '.dvc', '.strata', 'node_modules']);

async function findDvcFiles(root: string, rel = '', found: string[] = []): Promise<string[]> {
  const entries = await fsp.readdir(join(root, rel), { withFileTypes: true }).catch(() => []);
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory() && !SKIP_DIRS.has(e.name)) await findDvcFiles(root, p, found);
    else if (e.isFile() && e.name.endsWith('.dvc')) found.push(p);
  }
  return found;
}

// ---------------------------------------------------------------- .dvc/config

/** DVC's config (INI, configobj style): `[core] remote = x`, `['remote "x"'] url = ...`. */
function parseConfig(text: string, into: Map<string, Map<string, string>>): void {
  let section = '';
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[\s*'?(.*?)'?\s*\]$/.exec(line);
    if (sec) {
      section = sec[1]!.replace(/\s+/g, ' ').replace(/"/g, '').trim();
      if (!into.has(section)) into.set(section, new Map());
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && section) into.get(section)!.set(kv[1]!.trim(), kv[2]!.trim().replace(/^(['"])(.*)\1$/, '$2'));
  }
}

// ---------------------------------------------------------------- the whole project

export async function readDvcProject(root: string): Promise<DvcProject> {
  const untranslated: Untranslated[] = [];
  const files: string[] = [];
  const isDvc = await fsp.stat(join(root, '.dvc')).then((s) => s.isDirectory(), () => false);
  const yamlText = await readText(join(root, 'dvc.yaml'));
  if (!isDvc && yamlText === null) {
    throw new StrataError('PATH_NOT_FOUND', `${root} is not a DVC project: no .dvc folder and no dvc.yaml`, { hint: 'name the folder that holds .dvc/ and dvc.yaml: strata import dvc PATH' });
  }

  // Config first: remotes and the cache folder.
  const cfg = new Map<string, Map<string, string>>();
  for (const f of ['config', 'config.local']) {
    const t = await readText(join(root, '.dvc', f));
    if (t !== null) {
      parseConfig(t, cfg);
      files.push(`.dvc/${f}`);
    }
  }
  const remotes: DvcRemote[] = [];
  for (const [sec, kv] of cfg) {
    const m = /^remote (.+)$/.exec(sec);
    if (m && kv.get('url')) remotes.push({ name: m[1]!.trim(), url: kv.get('url')!, ...(kv.get('endpointurl') ? { endpointUrl: kv.get('endpointurl') } : {}) });
  }
  const cacheDirCfg = cfg.get('cache')?.get('dir');
  const cacheDir = cacheDirCfg ? (cacheDirCfg.startsWith('/') ? cacheDirCfg : join(root, '.dvc', cacheDirCfg)) : join(root, '.dvc', 'cache');

  // dvc.yaml: the raw stages (wdir per stage name, for reading the lock).
  const stages: DvcStage[] = [];
  let lock = new Map<string, DvcLockStage>();
  if (yamlText !== null) {
    files.push('dvc.yaml');
    const doc = yamlOf(yamlText, 'dvc.yaml');
    if (!isObj(doc)) throw invalid('dvc.yaml', 'expected a dictionary with "stages"');
    for (const k of Object.keys(doc)) {
      if (!TOP_KEYS.has(k)) untranslated.push({ where: `dvc.yaml: ${k}`, what: `unknown top-level key ${k} (ignored)` });
    }
    if (doc.metrics !== undefined) untranslated.push({ where: 'dvc.yaml: metrics', what: 'the top-level metrics list is not kept: strata metrics reads the outputs of type metrics (each stage\'s metrics are translated)' });
    if (doc.plots !== undefined) untranslated.push({ where: 'dvc.yaml: plots', what: 'plot definitions (templates, x/y, titles) are not translated: Strata draws no plots; the plotted files stay outputs of their stages' });
    if (doc.params !== undefined) untranslated.push({ where: 'dvc.yaml: params', what: 'the top-level params list (files shown by dvc params diff) is not kept; stage params are translated' });
    if (doc.artifacts !== undefined) untranslated.push({ where: 'dvc.yaml: artifacts', what: 'artifacts (model registry entries) are not translated; the files themselves are imported as outputs' });
    if (doc.datasets !== undefined) untranslated.push({ where: 'dvc.yaml: datasets', what: 'datasets are not translated' });

    const ctx: Obj = {};
    if ((await readText(join(root, 'params.yaml'))) !== null) Object.assign(ctx, await readVarsFile(root, 'params.yaml', 'dvc.yaml'));
    await loadVars(root, '.', doc.vars, ctx, 'dvc.yaml', '');

    const stagesRaw = doc.stages ?? {};
    if (!isObj(stagesRaw)) throw invalid('dvc.yaml', '"stages" must be a dictionary of stages');
    const resolved: Array<{ name: string; raw: Obj }> = [];
    for (const [name, rawIn] of Object.entries(stagesRaw)) {
      if (!isObj(rawIn)) throw invalid('dvc.yaml', `stage ${name} must be a dictionary`);
      const local: Obj = { ...ctx };
      try {
        if (rawIn.foreach !== undefined || rawIn.matrix !== undefined) {
          const body = rawIn.foreach !== undefined ? rawIn.do : { ...rawIn, matrix: undefined };
          if (!isObj(body)) throw invalid('dvc.yaml', `stage ${name}: foreach needs a "do" dictionary`);
          for (const inst of instances('dvc.yaml', name, rawIn, local)) {
            const c: Obj = { ...local, ...inst.vars };
            await loadVars(root, '.', body.vars, c, 'dvc.yaml', `stage ${name}: `);
            const raw = interpolate(Object.fromEntries(Object.entries(body).filter(([k, v]) => k !== 'vars' && v !== undefined)), c) as Obj;
            resolved.push({ name: `${name}@${inst.suffix}`, raw });
          }
        } else {
          await loadVars(root, '.', rawIn.vars, local, 'dvc.yaml', `stage ${name}: `);
          const raw = interpolate(Object.fromEntries(Object.entries(rawIn).filter(([k]) => k !== 'vars')), local) as Obj;
          resolved.push({ name, raw });
        }
      } catch (e) {
        if (e instanceof TemplateError) throw invalid('dvc.yaml', `stage ${name}: ${e.message}`);
        throw e;
      }
    }
    const wdirOf = new Map(resolved.map((r) => [r.name, typeof r.raw.wdir === 'string' ? r.raw.wdir : '.']));
    const lockText = await readText(join(root, 'dvc.lock'));
    if (lockText !== null) {
      files.push('dvc.lock');
      lock = parseLock(lockText, (n) => {
        const w = wdirOf.get(n) ?? '.';
        const nn = normalizeProjectPath(w);
        return 'error' in nn ? '.' : nn.path;
      });
    }
    const topCache = new Map<string, string[]>();
    const topKeysOf = (rel: string) => topCache.get(rel) ?? [];
    for (const r of resolved) {
      const pv = r.raw.params;
      if (Array.isArray(pv)) {
        for (const item of pv) {
          if (!isObj(item)) continue;
          for (const [f, keys] of Object.entries(item)) {
            if (Array.isArray(keys) && keys.length) continue;
            const rel = under('dvc.yaml', typeof r.raw.wdir === 'string' ? r.raw.wdir : '.', f, `stage ${r.name} params`);
            if (!topCache.has(rel)) topCache.set(rel, Object.keys(await readVarsFile(root, rel, 'dvc.yaml').catch(() => ({}))));
          }
        }
      }
      stages.push(buildStage('dvc.yaml', r.name, r.raw, (n) => lock.get(n), untranslated, topKeysOf));
    }
    for (const name of lock.keys()) {
      if (!stages.some((s) => s.name === name)) untranslated.push({ where: `dvc.lock: ${name}`, what: 'a locked stage that dvc.yaml no longer defines; ignored' });
    }
  }

  // .dvc files: data tracked with dvc add (or imported with dvc import: listed).
  const tracked: DvcTracked[] = [];
  for (const f of await findDvcFiles(root)) {
    const text = (await readText(join(root, f)))!;
    files.push(f);
    const doc = yamlOf(text, f);
    if (!isObj(doc)) throw invalid(f, 'expected a dictionary with "outs"');
    const base = posix.dirname(f);
    const wdir = typeof doc.wdir === 'string' ? under(f, base, doc.wdir, 'wdir') : base;
    if (doc.deps !== undefined) untranslated.push({ where: `${f}: deps`, what: 'the source of dvc import / import-url is not kept: the data is imported as it is now, with no link to where it came from' });
    if (doc.frozen === true) untranslated.push({ where: `${f}: frozen`, what: 'frozen is not kept' });
    const outs = doc.outs;
    if (!Array.isArray(outs) || outs.length === 0) throw invalid(f, 'no "outs" list');
    for (const o of outs) {
      const h = hashed(f, wdir, o, 'outs');
      if (isObj(o) && o.cache === false) {
        untranslated.push({ where: `${f}: ${h.path}`, what: 'cache: false: the file is not in the DVC cache; it is imported from the workspace if present' });
      }
      tracked.push({ ...h, file: f });
    }
  }
  return { root, stages, lock, tracked, untranslated, remotes, defaultRemote: cfg.get('core')?.get('remote') ?? null, cacheDir, files };
}
