/**
 * Run-cache keys and staleness reasons for pipeline stages. Pure: the engine supplies the content
 * ids of deps and outs (BLAKE3 blob/tree ids) and the resolved parameter values.
 *
 * Hashing uses the shared BLAKE3 backend: call `await initHash()` once at startup (needed only when
 * the native backend is unavailable and the WASM fallback is in use).
 */
import { StrataError } from '../errors/index.js';
import { hashBytes } from '../hash/index.js';
import { canonicalJson, compareNames } from '../model/index.js';
import type { OutSpec, StageSpec } from './spec.js';

export interface DepVersion {
  path: string;
  /** Content id of the file (blob id) or directory (tree id). */
  id: string;
}

export interface SignatureInput {
  cmd: string;
  deps: DepVersion[];
  /** Resolved parameter values keyed by `paramName(ref)`. */
  params: Record<string, unknown>;
  /** Output paths (OutSpec accepted for convenience; only the path counts). */
  outs: Array<string | OutSpec>;
  wdir?: string;
  env?: Record<string, string>;
}

/** Bump when the signature's composition changes, so old run-cache entries stop matching. */
const SIGNATURE_VERSION = 1;

/**
 * The stage's run-cache key: BLAKE3-256 (hex) over the canonical JSON of everything that determines
 * its outputs. Order of deps/outs/params/env does not matter; any change of content does.
 */
export function stageSignature(input: SignatureInput): string {
  const deps = [...input.deps].sort((a, b) => compareNames(a.path, b.path));
  for (let i = 1; i < deps.length; i++) {
    if (deps[i]!.path === deps[i - 1]!.path && deps[i]!.id !== deps[i - 1]!.id) {
      throw new StrataError('INTERNAL', `stageSignature: dep ${deps[i]!.path} given twice with different ids`);
    }
  }
  const uniqueDeps = deps.filter((d, i) => i === 0 || d.path !== deps[i - 1]!.path);
  const outs = [...new Set(input.outs.map((o) => (typeof o === 'string' ? o : o.path)))].sort(compareNames);
  let body: string;
  try {
    body = canonicalJson({
      strata: 'stage-signature',
      v: SIGNATURE_VERSION,
      cmd: input.cmd,
      deps: uniqueDeps.map((d) => [d.path, d.id]),
      params: input.params,
      outs,
      wdir: input.wdir ?? '.',
      env: input.env ?? {},
    });
  } catch (e) {
    throw new StrataError('PIPELINE_INVALID', `cannot compute the stage signature: parameter values must be plain JSON (${(e as Error).message})`, { cause: e });
  }
  return hashBytes(body);
}

/** Convenience: the signature of a parsed stage, given its dep ids (path → id) and params. */
export function signatureOfStage(stage: StageSpec, depIds: Record<string, string> | Map<string, string>, params: Record<string, unknown>): string {
  const get = (p: string) => (depIds instanceof Map ? depIds.get(p) : depIds[p]);
  const deps = stage.deps.map((path) => {
    const id = get(path);
    if (id === undefined) throw new StrataError('INTERNAL', `signatureOfStage: no id given for dep ${path} of stage ${stage.name}`);
    return { path, id };
  });
  return stageSignature({ cmd: stage.cmd, deps, params, outs: stage.outs, wdir: stage.wdir, env: stage.env });
}

/** What a stage looked like when it last ran (from the run record), or looks like now. */
export interface StageState {
  cmd: string;
  /** dep path → content id; null when the dep does not exist (current state only). */
  deps: Record<string, string | null>;
  params: Record<string, unknown>;
  /** out path → content id; null when the output is missing from the workspace (current state). */
  outs: Record<string, string | null>;
  wdir?: string;
  env?: Record<string, string>;
}

function fmtValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  let s: string;
  try {
    s = canonicalJson(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

const sortedKeys = (...objs: Array<Record<string, unknown>>) => [...new Set(objs.flatMap((o) => Object.keys(o)))].sort(compareNames);

/**
 * Why a stage must run again, as short human sentences (empty = up to date). `previous` is the last
 * successful run's record, or null/undefined when the stage never ran. Order: cmd, wdir, env,
 * deps, params, outs; paths and keys sorted within each group.
 */
export function staleReasons(previous: StageState | null | undefined, current: StageState): string[] {
  if (!previous) return ['never run'];
  const reasons: string[] = [];
  if (previous.cmd !== current.cmd) reasons.push('cmd changed');
  if ((previous.wdir ?? '.') !== (current.wdir ?? '.')) reasons.push(`wdir changed ${previous.wdir ?? '.'} -> ${current.wdir ?? '.'}`);
  const pe = previous.env ?? {};
  const ce = current.env ?? {};
  for (const k of sortedKeys(pe, ce)) {
    if (!(k in pe)) reasons.push(`env ${k} added`);
    else if (!(k in ce)) reasons.push(`env ${k} removed`);
    else if (pe[k] !== ce[k]) reasons.push(`env ${k} changed`);
  }
  for (const p of sortedKeys(previous.deps, current.deps)) {
    const was = previous.deps[p];
    const now = current.deps[p];
    if (!(p in current.deps)) reasons.push(`dep ${p} removed`);
    else if (now === null || now === undefined) reasons.push(`dep ${p} missing`);
    else if (!(p in previous.deps)) reasons.push(`dep ${p} added`);
    else if (was !== now) reasons.push(`dep ${p} changed`);
  }
  for (const k of sortedKeys(previous.params, current.params)) {
    if (!(k in current.params)) reasons.push(`param ${k} removed`);
    else if (!(k in previous.params)) reasons.push(`param ${k} added (${fmtValue(current.params[k])})`);
    else if (!sameValue(previous.params[k], current.params[k])) {
      reasons.push(`param ${k} changed ${fmtValue(previous.params[k])} -> ${fmtValue(current.params[k])}`);
    }
  }
  for (const p of sortedKeys(previous.outs, current.outs)) {
    const was = previous.outs[p];
    const now = current.outs[p];
    if (!(p in current.outs)) reasons.push(`out ${p} removed`);
    else if (!(p in previous.outs)) reasons.push(`out ${p} added`);
    else if (now === null || now === undefined) reasons.push(`out ${p} missing`);
    else if (was !== now) reasons.push(`out ${p} modified`);
  }
  return reasons;
}
