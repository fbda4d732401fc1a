/** `strata dag`: the pipeline's stage graph, as text, Graphviz dot, Mermaid or JSON. */
import { renderDag, type DagEdge, type DagFormat } from '../pipeline/dag.js';
import type { StageSpec } from '../pipeline/spec.js';
import type { Repository } from '../repo/index.js';
import { graphOf, requirePipeline } from './repro.js';

export interface DagOptions {
  format?: DagFormat;
  /** Draw files too (dep -> stage -> out). */
  outs?: boolean;
}

export interface DagResult {
  /** Stages in run order. */
  order: string[];
  stages: StageSpec[];
  edges: DagEdge[];
  /** The rendering in the requested format. */
  rendered: string;
}

export async function dag(repo: Repository, opts: DagOptions = {}): Promise<DagResult> {
    const spec = await requirePipeline(repo);
  const g = graphOf(spec);
  return { order: g.order(), stages: spec.stages, edges: g.edges(), rendered: renderDag(spec, opts.format ?? 'text', { files: !!opts.outs }) };
}
