// Helpers shared by the fraud example's stages. Node built-ins only, no dependencies.
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A tiny reader for the subset of YAML used by params.yaml: nested `key: value` maps by indentation,
 * `#` comments, numbers, booleans, null and (optionally quoted) strings. Not a general YAML parser.
 */
export function parseSimpleYaml(text) {
  const root = {};
  const stack = [{ indent: -1, obj: root }];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    if (line.trim() === '') return;
    const indent = line.length - line.trimStart().length;
    const m = /^([^:]+):\s*(.*)$/.exec(line.trim());
    if (!m) throw new Error(`params.yaml:${i + 1}: expected "key: value"`);
    while (stack.length > 1 && indent <= stack[stack.length - 1].indent) stack.pop();
    const parent = stack[stack.length - 1].obj;
    const key = m[1].trim();
    if (m[2] === '') {
      const child = {};
      parent[key] = child;
      stack.push({ indent, obj: child });
    } else {
      parent[key] = scalar(m[2].trim());
    }
  });
  return root;
}

function scalar(s) {
  if (/^(['"]).*\1$/.test(s)) return s.slice(1, -1);
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (s === 'null' || s === '~') return null;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  return s;
}

/** `node x.mjs a b --seed 7 --params p.yaml` → { args: [a, b], opts: { seed: '7', params: 'p.yaml' } } */
export function parseArgs(argv = process.argv.slice(2)) {
  const args = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) opts[a.slice(2, eq)] = a.slice(eq + 1);
      else opts[a.slice(2)] = argv[++i];
    } else args.push(a);
  }
  return { args, opts };
}

/** The `section` of params.yaml (or --params FILE), with --key overrides from the command line. */
export function loadParams(section, opts, defaults) {
  const file = opts.params ?? 'params.yaml';
  let all = {};
  try {
    all = parseSimpleYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  const p = { ...defaults, ...(all[section] ?? {}) };
  for (const k of Object.keys(defaults)) if (opts[k] !== undefined) p[k] = scalar(String(opts[k]));
  return p;
}

export function readCsv(path) {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = lines.shift().split(',');
  return { header, rows: lines.map((l) => l.split(',')) };
}

export function readRecords(path) {
  const { header, rows } = readCsv(path);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** Write a file atomically (temp + rename), creating its directory. */
export function writeOutput(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Seeded PRNG (32-bit state, mulberry-style mixing): same seed, same sequence, on every machine. */
export function makeRng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = Math.max(next(), 1e-12);
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return { next, normal, int: (n) => Math.floor(next() * n) };
}

/** Model inputs derived from a features.csv record; train and evaluate must agree on these. */
export const MODEL_FEATURES = ['log_amount', 'log_spend_7d', 'txn_count_7d', 'log_amount_ratio', 'night'];

export function featureVector(r) {
  const amount = Number(r.amount);
  const hour = Number(r.hour);
  return [
    Math.log1p(amount),
    Math.log1p(Number(r.spend_7d)),
    Number(r.txn_count_7d),
    Math.log(Number(r.amount_ratio)),
    hour < 6 ? 1 : 0,
  ];
}

export const sigmoid = (z) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Round for stable, readable JSON (the value is deterministic either way). */
export const round = (x, digits = 6) => Number(x.toFixed(digits));
