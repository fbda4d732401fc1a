/**
 * DVC stages -> strata.yaml: names made valid (`train@uk` -> `train-uk`), paths made
 * repository-relative, metrics outputs typed `metrics` when they are JSON, `cache: false` kept.
 * Pure; what cannot be said in strata.yaml is appended to `untranslated`.
 */
import { stringify as stringifyYaml } from 'yaml';
import { DEFAULT_PARAMS_FILE } from '../pipeline/spec.js';
import type { DvcProject, Untranslated } from './project.js';

/** A strata stage name for a DVC name: `train@uk` -> `train-uk` (letters, digits, _ and -). */
function stageName(dvc: string, taken: Set<string>): string {
  const base = dvc.replace(/@/g, '-').replace(/[^A-Za-z0-9_-]/g, '_') || 'stage';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

/**
 * strata.yaml text for the DVC stages (null when there are none), and each DVC stage name's
 * Strata name. `repoPath` maps a path of the DVC project to a repository path.
 */
export function toStrataYaml(proj: Pick<DvcProject, 'stages'>, repoPath: (p: string) => string = (p) => p, untranslated: Untranslated[] = []): { text: string | null; names: Map<string, string> } {
  const taken = new Set<string>();
  const names = new Map(proj.stages.map((s) => [s.name, stageName(s.name, taken)]));
  if (proj.stages.length === 0) return { text: null, names };
  const stages: Record<string, unknown> = {};
  for (const s of proj.stages) {
    const st: Record<string, unknown> = {};
    if (s.desc) st.desc = s.desc;
    st.cmd = s.cmd;
    if (s.wdir !== '.' || repoPath('.') !== '.') st.wdir = repoPath(s.wdir);
    if (s.deps.length) st.deps = s.deps.map(repoPath);
    if (s.params.length) st.params = s.params.map((p) => (repoPath(p.file) === DEFAULT_PARAMS_FILE ? p.key : `${repoPath(p.file)}:${p.key}`));
    const outs: unknown[] = [];
    for (const o of s.outs) {
      let type: 'dataset' | 'metrics' = 'dataset';
      if (o.kind === 'metrics') {
        if (/\.json$/i.test(o.path)) type = 'metrics';
        else untranslated.push({ where: `dvc.yaml: stages.${s.name}.metrics.${o.path}`, what: 'strata metrics reads JSON metrics files only: this one becomes an ordinary output' });
      }
      outs.push(type === 'dataset' && o.cache ? repoPath(o.path) : { path: repoPath(o.path), ...(type !== 'dataset' ? { type } : {}), ...(o.cache ? {} : { cache: false }) });
    }
    if (outs.length) st.outs = outs;
    stages[names.get(s.name)!] = st;
  }
  const renamed = proj.stages.filter((s) => names.get(s.name) !== s.name).map((s) => `${s.name} -> ${names.get(s.name)}`);
  const header = [`# Written by strata import dvc from ${repoPath('dvc.yaml')} and ${repoPath('dvc.lock')}.`, ...(renamed.length ? [`# DVC stage names: ${renamed.join(', ')}`] : [])];
  return { text: header.join('\n') + '\n' + stringifyYaml({ stages }, { lineWidth: 0 }), names };
}
