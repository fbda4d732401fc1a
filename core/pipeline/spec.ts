/**
 * `strata.yaml`: parsing and validation of the pipeline definition, and reading of the parameter
 * files its stages name. Pure apart from `loadPipeline` / `readParams`, which read files.
 *
 * Every problem is reported as StrataError('PIPELINE_INVALID') whose message starts with
 * `file:line:col:` and says what to change. All problems found in one pass are reported together
 * (one per line), the first being the one nearest the top of the file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Pair, YAMLMap } from 'yaml';
import { StrataError } from '../errors/index.js';
import { diskProblem, isReservedName } from './safety.js';
import { didYouMean } from '../util/text.js';
import { kindOf } from '../util/yaml-node.js';

export type OutType = 'dataset' | 'model' | 'metrics';

export interface OutSpec {
  /** Project-relative, normalized POSIX path (no `./`, no trailing `/`). */
  path: string;
  type: OutType;
  /** Store the output in the object store (default true). */
  cache: boolean;
}

export interface ParamRef {
  /** Project-relative params file; `params.yaml` when the stage did not name one. */
  file: string;
  /** Dotted key path inside that file, e.g. `train.lr`. */
  key: string;
}

export interface StageSpec {
  name: string;
  /** Shell command, run with cwd = project root joined with `wdir`. A list in YAML is joined with ` && `. */
  cmd: string;
  /** Files or directories read by the stage: project-relative, normalized, sorted, unique. */
  deps: string[];
  params: ParamRef[];
  /** Everything the stage writes, `outs` then `metrics`, in file order. */
  outs: OutSpec[];
  /** Working directory for `cmd`, project-relative (`.` = the project root). Paths above are NOT relative to it. */
  wdir: string;
  env: Record<string, string>;
  desc?: string;
  /** 1-based line of the stage's name in the file (for messages). */
  line: number;
}

export interface PipelineSpec {
  /** The file name used in messages (`strata.yaml`). */
  file: string;
  /** Stages in file order. */
  stages: StageSpec[];
}

export const PIPELINE_FILE = 'strata.yaml';
export const DEFAULT_PARAMS_FILE = 'params.yaml';

const TOP_KEYS = ['stages'] as const;
const STAGE_KEYS = ['cmd', 'deps', 'params', 'outs', 'metrics', 'wdir', 'env', 'desc'] as const;
const OUT_KEYS = ['path', 'type', 'cache'] as const;
const PARAM_FILE_KEYS = ['file', 'keys'] as const;
const OUT_TYPES: readonly OutType[] = ['dataset', 'model', 'metrics'];
const STAGE_NAME_RE = /^[A-Za-z0-9_-]+$/;
const PARAM_KEY_RE = /^[^.\s:][^\s:]*$/;

interface Issue {
  line: number;
  col: number;
  message: string;
}

// ---------------------------------------------------------------- helpers (exported for reuse)


/**
 * Normalize a user-written project-relative path: `\` → `/`, drop `.` segments and trailing `/`,
 * resolve `..` lexically. Returns an error string instead when the path is absolute or escapes the
 * project. `.` (the project root itself) is returned as `.`.
 */
export function normalizeProjectPath(raw: string): { path: string } | { error: string } {
  if (raw.length === 0) return { error: 'path is empty' };
  if (raw.includes('\0')) return { error: 'path contains a NUL byte' };
  const p = raw.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.startsWith('~')) {
    return { error: `path ${JSON.stringify(raw)} is absolute; write it relative to the project root` };
  }
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return { error: `path ${JSON.stringify(raw)} escapes the project (..); keep every path inside the project` };
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return { path: out.length ? out.join('/') : '.' };
}

/** True when `a` and `b` are the same path or one lies inside the other (normalized paths). */
export function pathsOverlap(a: string, b: string): boolean {
  if (a === '.' || b === '.') return true;
  return a === b || b.startsWith(a + '/') || a.startsWith(b + '/');
}

/** The key under which `readParams` returns a ref's value: `key` for params.yaml, else `file:key`. */
export function paramName(ref: ParamRef): string {
  return ref.file === DEFAULT_PARAMS_FILE ? ref.key : `${ref.file}:${ref.key}`;
}

// ---------------------------------------------------------------- parsing

class Ctx {
  readonly issues: Issue[] = [];
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    readonly lc: LineCounter,
  ) {}

  pos(node: unknown): { line: number; col: number } {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (!range) return { line: 1, col: 1 };
    return this.lc.linePos(range[0]);
  }

  fail(node: unknown, message: string): void {
    const { line, col } = this.pos(node);
    this.issues.push({ line, col, message });
  }

  /** Resolve aliases (`*anchor`) to the node they point at. */
  deref(node: unknown): unknown {
    let n = node;
    for (let i = 0; i < 16 && isAlias(n); i++) n = n.resolve(this.doc);
    return n;
  }
}


function keyName(ctx: Ctx, pair: Pair): string | undefined {
  const k = ctx.deref(pair.key);
  if (isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number')) return String(k.value);
  ctx.fail(pair.key ?? pair.value, `keys must be plain names, found ${kindOf(k)}`);
  return undefined;
}

/** Iterate a map's pairs, rejecting keys not in `allowed` (with a suggestion). */
function mapEntries(ctx: Ctx, map: YAMLMap, allowed: readonly string[], where: string): Array<{ key: string; pair: Pair; value: unknown }> {
  const out: Array<{ key: string; pair: Pair; value: unknown }> = [];
  for (const pair of map.items) {
    if (!isPair(pair)) continue;
    const key = keyName(ctx, pair);
    if (key === undefined) continue;
    if (key === '<<') {
      ctx.fail(pair.key, `${where}merge keys (<<) are not supported; write the keys out`);
      continue;
    }
    if (!allowed.includes(key)) {
      const guess = didYouMean(key, allowed);
      ctx.fail(
        pair.key,
        `${where}unknown key "${key}"` + (guess ? `; did you mean "${guess}"?` : `; allowed keys: ${allowed.join(', ')}`),
      );
      continue;
    }
    out.push({ key, pair, value: ctx.deref(pair.value) });
  }
  return out;
}

function scalarString(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const v = node.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Where each path of a parsed pipeline was written (for the on-disk checks of loadPipeline). */
interface PathLocation {
  where: string;
  what: string;
  path: string;
  line: number;
  col: number;
}
const LOCATIONS = new WeakMap<PipelineSpec, PathLocation[]>();
let currentLocations: PathLocation[] | null = null;

function checkPath(ctx: Ctx, raw: string, posNode: unknown, where: string, what: string): string | undefined {
  const n = normalizeProjectPath(raw.trim());
  if ('error' in n) {
    ctx.fail(posNode, `${where}${what}: ${n.error}`);
    return undefined;
  }
  const reserved = n.path.split('/').find(isReservedName);
  if (reserved !== undefined) {
    const which = reserved.toLowerCase().startsWith('.s') ? '.strata' : '.git';
    ctx.fail(posNode, `${where}${what}: path ${JSON.stringify(raw.trim())} is inside ${which}, which strata never writes, deletes or reads; name a path of your project`);
    return undefined;
  }
  currentLocations?.push({ where, what, path: n.path, ...ctx.pos(posNode) });
  return n.path;
}

function pathValue(ctx: Ctx, node: unknown, where: string, what: string): string | undefined {
  if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
    ctx.fail(node, `${where}each ${what} must be a path string, found ${kindOf(node)}`);
    return undefined;
  }
  return checkPath(ctx, String(node.value), node, where, what);
}

/** A list value; `keyNode` (the key) is where structural problems are reported. Null/absent = []. */
function listItems(ctx: Ctx, node: unknown, keyNode: unknown, where: string, key: string, what: string): unknown[] | undefined {
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return [];
  if (isSeq(node)) return node.items.map((i) => ctx.deref(i));
  const example = isScalar(node) ? ` (write [${scalarString(node) ?? ''}] or one "- item" per line)` : '';
  ctx.fail(keyNode, `${where}"${key}" must be a list of ${what}, found ${kindOf(node)}${example}`);
  return undefined;
}

function parseParams(ctx: Ctx, node: unknown, keyNode: unknown, where: string): ParamRef[] {
  const items = listItems(ctx, node, keyNode, where, 'params', 'keys of params.yaml (or {file, keys} maps)');
  if (!items) return [];
  const refs: ParamRef[] = [];
  const addKey = (file: string, rawKey: string | undefined, posNode: unknown) => {
    const key = rawKey?.trim();
    if (key === undefined || key === '' || !PARAM_KEY_RE.test(key) || key.endsWith('.') || key.includes('..')) {
      const shown = rawKey === undefined ? kindOf(posNode) : JSON.stringify(rawKey);
      ctx.fail(posNode, `${where}params: ${shown} is not a dotted key like "train.lr"`);
      return;
    }
    refs.push({ file, key });
  };
  const paramFile = (raw: string, posNode: unknown): string | undefined => {
    const f = checkPath(ctx, raw, posNode, where, 'params file');
    if (f === undefined) return undefined;
    if (f === '.') {
      ctx.fail(posNode, `${where}params file must name a file`);
      return undefined;
    }
    return f;
  };
  for (const item of items) {
    if (isMap(item)) {
      const entries = mapEntries(ctx, item, PARAM_FILE_KEYS, where + 'params: ');
      const fileE = entries.find((e) => e.key === 'file');
      const keysE = entries.find((e) => e.key === 'keys');
      if (!fileE || !keysE) {
        ctx.fail(item, `${where}params: a map entry needs both "file" and "keys", e.g. {file: train.yaml, keys: [lr]}`);
        continue;
      }
      const fileStr = isScalar(fileE.value) && typeof fileE.value.value === 'string' ? fileE.value.value : undefined;
      if (fileStr === undefined) {
        ctx.fail(fileE.pair.key, `${where}params: "file" must be a path string, found ${kindOf(fileE.value)}`);
        continue;
      }
      const file = paramFile(fileStr, fileE.value);
      const keys = listItems(ctx, keysE.value, keysE.pair.key, where + 'params: ', 'keys', 'dotted keys');
      if (file === undefined || !keys) continue;
      if (keys.length === 0) ctx.fail(keysE.pair.key, `${where}params: "keys" is empty; list the keys the stage reads`);
      for (const k of keys) addKey(file, isScalar(k) && typeof k.value === 'string' ? k.value : undefined, k);
      continue;
    }
    const s = isScalar(item) && typeof item.value === 'string' ? item.value.trim() : undefined;
    if (s === undefined) {
      ctx.fail(item, `${where}params: each entry must be a key like "train.lr", "file.yaml:key" or {file, keys}, found ${kindOf(item)}`);
      continue;
    }
    const colon = s.indexOf(':');
    if (colon >= 0) {
      const file = paramFile(s.slice(0, colon), item);
      if (file === undefined) continue;
      addKey(file, s.slice(colon + 1), item);
    } else {
      addKey(DEFAULT_PARAMS_FILE, s, item);
    }
  }
  // Unique, in order of first mention.
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = r.file + '\0' + r.key;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

interface OutWithNode extends OutSpec {
  node: unknown;
}

function parseOuts(ctx: Ctx, node: unknown, keyNode: unknown, where: string, key: 'outs' | 'metrics'): OutWithNode[] {
  const items = listItems(ctx, node, keyNode, where, key, 'paths');
  if (!items) return [];
  const outs: OutWithNode[] = [];
  for (const item of items) {
    if (isMap(item)) {
      const entries = mapEntries(ctx, item, OUT_KEYS, `${where}${key}: `);
      const pathE = entries.find((e) => e.key === 'path');
      if (!pathE) {
        ctx.fail(item, `${where}${key}: each map entry needs a "path"`);
        continue;
      }
      const path = pathValue(ctx, pathE.value, where, 'output');
      let type: OutType = key === 'metrics' ? 'metrics' : 'dataset';
      let cache = true;
      const typeE = entries.find((e) => e.key === 'type');
      if (typeE) {
        const t = scalarString(typeE.value);
        if (t === undefined || !OUT_TYPES.includes(t as OutType)) {
          const guess = t ? didYouMean(t, OUT_TYPES) : undefined;
          ctx.fail(typeE.value, `${where}output type must be one of ${OUT_TYPES.join(', ')}, found ${kindOf(typeE.value)}` + (guess ? `; did you mean "${guess}"?` : ''));
        } else if (key === 'metrics' && t !== 'metrics') {
          ctx.fail(typeE.value, `${where}entries under "metrics" are of type metrics; move ${path ?? 'it'} to "outs" to give it type ${t}`);
        } else type = t as OutType;
      }
      const cacheE = entries.find((e) => e.key === 'cache');
      if (cacheE) {
        if (!isScalar(cacheE.value) || typeof cacheE.value.value !== 'boolean') {
          ctx.fail(cacheE.value, `${where}"cache" must be true or false, found ${kindOf(cacheE.value)}`);
        } else cache = cacheE.value.value;
      }
      if (path !== undefined) outs.push({ path, type, cache, node: pathE.value });
      continue;
    }
    if (!isScalar(item) || (typeof item.value !== 'string' && typeof item.value !== 'number')) {
      ctx.fail(item, `${where}"${key}" must be a list of paths (or {path, type, cache} maps), found ${kindOf(item)} in it`);
      continue;
    }
    const path = pathValue(ctx, item, where, 'output');
    if (path !== undefined) outs.push({ path, type: key === 'metrics' ? 'metrics' : 'dataset', cache: true, node: item });
  }
  for (const o of outs) {
    if (o.path === '.') ctx.fail(o.node, `${where}an output cannot be the project root; name a file or directory`);
  }
  return outs.filter((o) => o.path !== '.');
}

interface ParsedStage {
  spec: StageSpec;
  outs: OutWithNode[];
  deps: Array<{ path: string; node: unknown }>;
}

function parseStage(ctx: Ctx, name: string, nameNode: unknown, node: unknown): ParsedStage | undefined {
  const where = `stage "${name}": `;
  if (!isMap(node)) {
    const hint = isScalar(node) && typeof node.value === 'string' ? ` (write "cmd: ${node.value}" on an indented line below "${name}:")` : '';
    ctx.fail(nameNode, `${where}must be a map with at least "cmd", found ${kindOf(node)}${hint}`);
    return undefined;
  }
  const entries = mapEntries(ctx, node, STAGE_KEYS, where);
  const get = (k: string) => entries.find((e) => e.key === k);

  let cmd = '';
  const cmdE = get('cmd');
  if (!cmdE) ctx.fail(nameNode, `${where}"cmd" is missing; add the command that runs the stage`);
  else if (isSeq(cmdE.value)) {
    const parts: string[] = [];
    for (const raw of cmdE.value.items) {
      const it = ctx.deref(raw);
      const s = scalarString(it)?.trim();
      if (!s) ctx.fail(it, `${where}each "cmd" entry must be a non-empty command string, found ${kindOf(it)}`);
      else parts.push(s);
    }
    if (cmdE.value.items.length === 0) ctx.fail(cmdE.pair.key, `${where}"cmd" is empty; give the command that runs the stage`);
    cmd = parts.join(' && ');
  } else {
    const s = isScalar(cmdE.value) && typeof cmdE.value.value === 'string' ? cmdE.value.value.trim() : undefined;
    if (s === undefined) ctx.fail(cmdE.pair.key, `${where}"cmd" must be a command string, found ${kindOf(cmdE.value)}`);
    else if (s === '') ctx.fail(cmdE.pair.key, `${where}"cmd" is empty; give the command that runs the stage`);
    else cmd = s;
  }

  const deps: Array<{ path: string; node: unknown }> = [];
  const depsE = get('deps');
  if (depsE) {
    for (const it of listItems(ctx, depsE.value, depsE.pair.key, where, 'deps', 'paths') ?? []) {
      const p = pathValue(ctx, it, where, 'dep');
      if (p === undefined) continue;
      if (p === '.') {
        ctx.fail(it, `${where}a dep cannot be the whole project; name the files or directories the stage reads`);
        continue;
      }
      deps.push({ path: p, node: it });
    }
  }

  const paramsE = get('params');
  const params = paramsE ? parseParams(ctx, paramsE.value, paramsE.pair.key, where) : [];
  const outsE = get('outs');
  const metricsE = get('metrics');
  const outs = [...(outsE ? parseOuts(ctx, outsE.value, outsE.pair.key, where, 'outs') : []), ...(metricsE ? parseOuts(ctx, metricsE.value, metricsE.pair.key, where, 'metrics') : [])];

  let wdir = '.';
  const wdirE = get('wdir');
  if (wdirE) {
    const w = pathValue(ctx, wdirE.value, where, 'wdir');
    if (w !== undefined) wdir = w;
  }

  const env: Record<string, string> = {};
  const envE = get('env');
  if (envE && !(isScalar(envE.value) && envE.value.value === null)) {
    if (!isMap(envE.value)) ctx.fail(envE.pair.key, `${where}"env" must be a map of NAME: value, found ${kindOf(envE.value)}`);
    else {
      for (const pair of envE.value.items) {
        const k = keyName(ctx, pair);
        if (k === undefined) continue;
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
          ctx.fail(pair.key, `${where}env: "${k}" is not a valid environment variable name`);
          continue;
        }
        const v = ctx.deref(pair.value);
        const s = v === null || v === undefined ? '' : scalarString(v);
        if (s === undefined) ctx.fail(v, `${where}env: ${k} must be a string, number or boolean, found ${kindOf(v)}`);
        else env[k] = s;
      }
    }
  }

  let desc: string | undefined;
  const descE = get('desc');
  if (descE) {
    desc = scalarString(descE.value);
    if (desc === undefined) ctx.fail(descE.pair.key, `${where}"desc" must be a string`);
  }

  // Within the stage: no duplicate outputs, no output inside another, no dep overlapping an output.
  for (let i = 0; i < outs.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = outs[j]!;
      const b = outs[i]!;
      if (a.path === b.path) ctx.fail(b.node, `${where}output ${b.path} is listed twice`);
      else if (pathsOverlap(a.path, b.path)) {
        const [inner, outer] = a.path.length > b.path.length ? [a, b] : [b, a];
        ctx.fail(b.node, `${where}output ${inner.path} lies inside its output ${outer.path}; list only one of them`);
      }
    }
    for (const d of deps) {
      if (pathsOverlap(d.path, outs[i]!.path)) {
        ctx.fail(d.node, `${where}dep ${d.path} overlaps its own output ${outs[i]!.path}; a stage cannot read what it writes`);
      }
    }
  }

  const { line } = ctx.pos(nameNode);
  const spec: StageSpec = {
    name,
    cmd,
    deps: [...new Set(deps.map((d) => d.path))].sort(),
    params,
    outs: outs.map(({ path, type, cache }) => ({ path, type, cache })),
    wdir,
    env,
    line,
  };
  if (desc !== undefined) spec.desc = desc;
  return { spec, outs, deps };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function throwIssues(file: string, issues: Issue[]): never {
  const sorted = [...issues].sort((a, b) => a.line - b.line || a.col - b.col);
  const lines = sorted.map((i) => `${file}:${i.line}:${i.col}: ${i.message}`);
  throw new StrataError('PIPELINE_INVALID', lines.join('\n'), {
    hint: `fix ${file} as described${lines.length > 1 ? ` (${lines.length} problems)` : ''}, then retry`,
    details: { file, problems: sorted.map((i) => ({ ...i })) },
  });
}

/** Parse and validate the text of a `strata.yaml`. Throws StrataError('PIPELINE_INVALID'). */
export function parsePipeline(text: string, file: string = PIPELINE_FILE): PipelineSpec {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throwIssues(
      file,
      doc.errors.map((e) => {
        const lp = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
        return { line: lp.line, col: lp.col, message: `invalid YAML: ${firstLine(e.message)}` };
      }),
    );
  }
  const ctx = new Ctx(file, doc, lc);
  const locations: PathLocation[] = [];
  currentLocations = locations;
  try {
    const spec = parseRoot(ctx, file, doc);
    LOCATIONS.set(spec, locations);
    return spec;
  } finally {
    currentLocations = null;
  }
}

function parseRoot(ctx: Ctx, file: string, doc: Document.Parsed): PipelineSpec {
  const root = ctx.deref(doc.contents);
  if (root === null || root === undefined || (isScalar(root) && root.value === null)) {
    throwIssues(file, [{ line: 1, col: 1, message: 'the file is empty; define a top-level "stages:" map' }]);
  }
  if (!isMap(root)) {
    throwIssues(file, [{ ...ctx.pos(root), message: `the top level must be a map with "stages:", found ${kindOf(root)}` }]);
  }
  const top = mapEntries(ctx, root, TOP_KEYS, '');
  const stagesE = top.find((e) => e.key === 'stages');
  const parsed: ParsedStage[] = [];
  if (!stagesE) {
    if (ctx.issues.length === 0) ctx.fail(root, 'missing top-level "stages:" map');
  } else if (!isMap(stagesE.value)) {
    ctx.fail(stagesE.pair.key, `"stages" must be a map of stage name to stage, found ${kindOf(stagesE.value)}`);
  } else {
    for (const pair of stagesE.value.items) {
      const name = keyName(ctx, pair);
      if (name === undefined) continue;
      if (!STAGE_NAME_RE.test(name)) {
        ctx.fail(pair.key, `stage name "${name}" may only contain letters, digits, "_" and "-"`);
        continue;
      }
      const st = parseStage(ctx, name, pair.key, ctx.deref(pair.value));
      if (st) parsed.push(st);
    }
  }

  // Across stages: each output has exactly one producer, and no output lies inside another's.
  const byPath = new Map<string, { stage: string; out: OutWithNode }>();
  for (const p of parsed) {
    for (const out of p.outs) {
      const prev = byPath.get(out.path);
      if (!prev) byPath.set(out.path, { stage: p.spec.name, out });
      else if (prev.stage !== p.spec.name) {
        ctx.fail(out.node, `output ${out.path} claimed by stages ${prev.stage} and ${p.spec.name}; each output must have exactly one producing stage`);
      }
    }
  }
  for (const p of parsed) {
    for (const out of p.outs) {
      const segs = out.path.split('/');
      for (let i = segs.length - 1; i >= 1; i--) {
        const outer = byPath.get(segs.slice(0, i).join('/'));
        if (outer && outer.stage !== p.spec.name) {
          ctx.fail(
            out.node,
            `output ${out.path} of stage ${p.spec.name} lies inside output ${outer.out.path} of stage ${outer.stage}; outputs of different stages must not nest`,
          );
          break;
        }
      }
    }
  }

  if (ctx.issues.length > 0) throwIssues(file, ctx.issues);
  return { file, stages: parsed.map((p) => p.spec) };
}

/** Read `strata.yaml` from the project root; null when the project has no pipeline file. */
export async function loadPipeline(projectRoot: string): Promise<PipelineSpec | null> {
  let text: string;
  try {
    text = await readFile(join(projectRoot, PIPELINE_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StrataError('IO_ERROR', `cannot read ${PIPELINE_FILE}: ${(e as Error).message}`, { cause: e });
  }
  const spec = parsePipeline(text, PIPELINE_FILE);
  await checkPipelinePaths(projectRoot, spec);
  return spec;
}

/**
 * The on-disk half of path validation: no dep, output, wdir or params file of `spec` may pass
 * through a symbolic link or resolve outside the project. Problems are reported as
 * PIPELINE_INVALID with the file:line:col of the path in strata.yaml. (Run again by the executor
 * right before anything is deleted or restored.)
 */
async function checkPipelinePaths(projectRoot: string, spec: PipelineSpec): Promise<void> {
  const locs = LOCATIONS.get(spec);
  if (!locs) return;
  const issues: Issue[] = [];
  for (const l of locs) {
    // An output or dep may itself be a symbolic link (recorded as a link); no folder on its way may be.
    const problem = await diskProblem(projectRoot, l.path, { allowFinalLink: l.what === 'output' || l.what === 'dep' });
    if (problem) issues.push({ line: l.line, col: l.col, message: `${l.where}${l.what} ${l.path}: ${problem}; keep it inside the project, not behind a symbolic link` });
  }
  if (issues.length) throwIssues(spec.file, issues);
}

// ---------------------------------------------------------------- params

function lookup(root: unknown, key: string): { found: true; value: unknown } | { found: false; at: string } {
  let cur: unknown = root;
  const segs = key.split('.');
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.prototype.hasOwnProperty.call(cur, seg)) {
      cur = (cur as Record<string, unknown>)[seg];
    } else return { found: false, at: segs.slice(0, i).join('.') };
  }
  return { found: true, value: cur };
}

function keysAt(root: unknown, prefix: string): string[] {
  const r = prefix === '' ? { found: true as const, value: root } : lookup(root, prefix);
  if (!r.found) return [];
  const obj = r.value;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return [];
  return Object.keys(obj).map((k) => (prefix ? `${prefix}.${k}` : k));
}

/** Parse a params file's text (YAML, or JSON for `.json`) into plain data. Errors name file:line:col. */
function parseParamsText(text: string, file: string): unknown {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new StrataError('PIPELINE_INVALID', `${file}: invalid JSON: ${(e as Error).message}`, { hint: `fix ${file}, then retry` });
    }
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const lp = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    throw new StrataError('PIPELINE_INVALID', `${file}:${lp.line}:${lp.col}: invalid YAML: ${firstLine(e.message)}`, { hint: `fix ${file}, then retry` });
  }
  return doc.toJS({ maxAliasCount: 1000 }) ?? {};
}

/**
 * Read the values of `refs` from their params files (each file read once). Keys of the result are
 * `paramName(ref)`: the dotted key for params.yaml, `file:key` for other files. Throws
 * PIPELINE_INVALID naming the file and the missing key (with a suggestion for near misses).
 */
export async function readParams(projectRoot: string, refs: ParamRef[]): Promise<Record<string, unknown>> {
  const files = new Map<string, unknown>();
  for (const ref of refs) {
    if (files.has(ref.file)) continue;
    const n = normalizeProjectPath(ref.file);
    if ('error' in n || n.path === '.') {
      throw new StrataError('PATH_OUTSIDE_WORKSPACE', `params file ${ref.file}: ${'error' in n ? n.error : 'not a file'}`);
    }
    let text: string;
    try {
      text = await readFile(join(projectRoot, n.path), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        const needs = refs.filter((r) => r.file === ref.file).map((r) => r.key);
        throw new StrataError('PIPELINE_INVALID', `params file ${ref.file} not found (needed for ${needs.join(', ')})`, {
          hint: `create ${ref.file} with those keys, or fix the "params" of the stage in ${PIPELINE_FILE}`,
        });
      }
      throw new StrataError('IO_ERROR', `cannot read params file ${ref.file}: ${(e as Error).message}`, { cause: e });
    }
    files.set(ref.file, parseParamsText(text, ref.file));
  }
  const out: Record<string, unknown> = {};
  for (const ref of refs) {
    const data = files.get(ref.file);
    const r = lookup(data, ref.key);
    if (!r.found) {
      const guess = didYouMean(ref.key, [...keysAt(data, r.at), ...keysAt(data, '')]);
      throw new StrataError('PIPELINE_INVALID', `params file ${ref.file} has no key "${ref.key}"` + (guess ? `; did you mean "${guess}"?` : ''), {
        hint: `add ${ref.key} to ${ref.file}, or fix the "params" of the stage in ${PIPELINE_FILE}`,
        details: { file: ref.file, key: ref.key },
      });
    }
    out[paramName(ref)] = r.value === undefined ? null : structuredClone(r.value);
  }
  return out;
}
