/**
 * The stage graph of a pipeline: edges, cycle detection, a deterministic topological order,
 * up/downstream closures, a ready-set scheduler for `--jobs N`, and text/dot/mermaid rendering for
 * `strata dag`. Pure: no I/O.
 *
 * Stage B depends on stage A when a dep of B equals an output of A, lies inside it (a file in an
 * output directory) or contains it (a directory holding A's output).
 */
import { StrataError } from '../errors/index.js';
import type { PipelineSpec, StageSpec } from './spec.js';

export interface DagEdge {
  /** Upstream stage (producer). */
  from: string;
  /** Downstream stage (consumer). */
  to: string;
  /** The dep paths of `to` that connect it to outputs of `from`, sorted. */
  via: string[];
}

export class StageGraph {
  /** Stage names in file order. */
  readonly names: readonly string[];
  private readonly byName: Map<string, StageSpec>;
  private readonly index: Map<string, number>;
  private readonly up: Map<string, string[]>;
  private readonly down: Map<string, string[]>;
  private readonly edgeList: DagEdge[];
  private readonly topo: string[];

  constructor(readonly spec: PipelineSpec) {
    this.names = spec.stages.map((s) => s.name);
    this.byName = new Map(spec.stages.map((s) => [s.name, s]));
    this.index = new Map(this.names.map((n, i) => [n, i]));
    this.up = new Map(this.names.map((n) => [n, []]));
    this.down = new Map(this.names.map((n) => [n, []]));
    this.edgeList = [];

    // Outputs indexed by path for the common case (dep equals or lies inside an output): walk the
    // dep's ancestors. The rarer case (dep is a directory containing outputs) needs a prefix scan.
    const outOwner = new Map<string, string>();
    for (const s of spec.stages) for (const o of s.outs) outOwner.set(o.path, s.name);
    const allOuts = [...outOwner.keys()].sort();
    for (const b of spec.stages) {
      const via = new Map<string, Set<string>>();
      const add = (a: string, dep: string) => {
        if (a === b.name) return;
        let set = via.get(a);
        if (!set) via.set(a, (set = new Set()));
        set.add(dep);
      };
      for (const dep of b.deps) {
        const segs = dep.split('/');
        for (let i = segs.length; i >= 1; i--) {
          const owner = outOwner.get(segs.slice(0, i).join('/'));
          if (owner !== undefined) add(owner, dep);
        }
        const prefix = dep + '/';
        let lo = 0;
        let hi = allOuts.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (allOuts[mid]! < prefix) lo = mid + 1;
          else hi = mid;
        }
        for (let i = lo; i < allOuts.length && allOuts[i]!.startsWith(prefix); i++) add(outOwner.get(allOuts[i]!)!, dep);
      }
      for (const [a, deps] of [...via.entries()].sort((x, y) => this.index.get(x[0])! - this.index.get(y[0])!)) {
        this.up.get(b.name)!.push(a);
        this.down.get(a)!.push(b.name);
        this.edgeList.push({ from: a, to: b.name, via: [...deps].sort() });
      }
    }
    for (const list of this.down.values()) list.sort((x, y) => this.index.get(x)! - this.index.get(y)!);
    this.edgeList.sort((x, y) => this.index.get(x.from)! - this.index.get(y.from)! || this.index.get(x.to)! - this.index.get(y.to)!);

    this.checkAcyclic();
    this.topo = this.computeTopo(this.names);
  }

  stage(name: string): StageSpec {
    const s = this.byName.get(name);
    if (!s) throw unknownStage(name, this.names);
    return s;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  edges(): DagEdge[] {
    return this.edgeList.map((e) => ({ ...e, via: [...e.via] }));
  }

  /** Direct upstream stages of `name` (file order). */
  parents(name: string): string[] {
    this.stage(name);
    return [...this.up.get(name)!];
  }

  /** Direct downstream stages of `name` (file order). */
  children(name: string): string[] {
    this.stage(name);
    return [...this.down.get(name)!];
  }

  /**
   * Topological order of all stages, or of `targets` and everything upstream of them. Ties are
   * broken by file order, so the order is the same on every run and machine.
   */
  order(targets?: Iterable<string>): string[] {
    if (targets === undefined) return [...this.topo];
    const keep = this.upstreamOf(targets, { includeSelf: true });
    return this.topo.filter((n) => keep.has(n));
  }

  /** All stages that `stages` transitively depend on (excluding them unless includeSelf). */
  upstreamOf(stages: string | Iterable<string>, opts: { includeSelf?: boolean } = {}): Set<string> {
    return this.closure(typeof stages === 'string' ? [stages] : stages, this.up, opts.includeSelf ?? false);
  }

  /** All stages that transitively depend on `stage` (excluding it unless includeSelf). */
  downstreamOf(stage: string | Iterable<string>, opts: { includeSelf?: boolean } = {}): Set<string> {
    return this.closure(typeof stage === 'string' ? [stage] : stage, this.down, opts.includeSelf ?? false);
  }

  /**
   * Stages that may start now: in `selected` (default: all), not completed, running or failed, not
   * downstream of a failure, and whose upstream stages within `selected` are all completed
   * (upstream stages outside `selected` are taken as satisfied). Topological order.
   */
  ready(state: { completed: Iterable<string>; running?: Iterable<string>; failed?: Iterable<string>; selected?: Iterable<string> }): string[] {
    const completed = new Set(state.completed);
    const running = new Set(state.running ?? []);
    const failed = new Set(state.failed ?? []);
    const selected = state.selected === undefined ? new Set(this.names) : new Set(state.selected);
    const blocked = failed.size ? this.downstreamOf(failed) : new Set<string>();
    return this.topo.filter(
      (n) =>
        selected.has(n) &&
        !completed.has(n) &&
        !running.has(n) &&
        !failed.has(n) &&
        !blocked.has(n) &&
        this.up.get(n)!.every((p) => !selected.has(p) || completed.has(p)),
    );
  }

  private closure(start: Iterable<string>, adj: Map<string, string[]>, includeSelf: boolean): Set<string> {
    const seen = new Set<string>();
    const stack: string[] = [];
    const starts: string[] = [];
    for (const s of start) {
      this.stage(s);
      starts.push(s);
      stack.push(...adj.get(s)!);
    }
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...adj.get(n)!);
    }
    if (includeSelf) for (const s of starts) seen.add(s);
    return seen;
  }

  private checkAcyclic(): void {
    const WHITE = 0;
    const GREY = 1;
    const BLACK = 2;
    const color = new Map<string, number>(this.names.map((n) => [n, WHITE]));
    const path: string[] = [];
    const visit = (n: string): string[] | undefined => {
      color.set(n, GREY);
      path.push(n);
      for (const m of this.down.get(n)!) {
        const c = color.get(m)!;
        if (c === GREY) return [...path.slice(path.indexOf(m)), m];
        if (c === WHITE) {
          const cyc = visit(m);
          if (cyc) return cyc;
        }
      }
      path.pop();
      color.set(n, BLACK);
      return undefined;
    };
    for (const n of this.names) {
      if (color.get(n) !== WHITE) continue;
      const cycle = visit(n);
      if (cycle) {
        const links = cycle.slice(1).map((to, i) => {
          const from = cycle[i]!;
          const e = this.edgeList.find((x) => x.from === from && x.to === to)!;
          return `${to} reads ${e.via.join(', ')} written by ${from}`;
        });
        throw new StrataError('PIPELINE_CYCLE', `${this.spec.file}: the pipeline has a cycle: ${cycle.join(' -> ')}`, {
          hint: `break the cycle (${links.join('; ')}): a stage may not depend, directly or indirectly, on its own outputs`,
          details: { cycle },
        });
      }
    }
  }

  private computeTopo(names: readonly string[]): string[] {
    const indeg = new Map<string, number>(names.map((n) => [n, this.up.get(n)!.length]));
    // Ready set ordered by file position; pipelines are small, so a sorted array is fine.
    const ready = names.filter((n) => indeg.get(n) === 0);
    const out: string[] = [];
    while (ready.length) {
      const n = ready.shift()!;
      out.push(n);
      for (const m of this.down.get(n)!) {
        const d = indeg.get(m)! - 1;
        indeg.set(m, d);
        if (d === 0) {
          const at = this.index.get(m)!;
          let i = 0;
          while (i < ready.length && this.index.get(ready[i]!)! < at) i++;
          ready.splice(i, 0, m);
        }
      }
    }
    return out;
  }
}

function unknownStage(name: string, names: readonly string[]): StrataError {
  return new StrataError('INVALID_ARGUMENT', `no stage named "${name}" in the pipeline`, {
    hint: names.length ? `stages are: ${names.join(', ')}` : 'the pipeline has no stages; add some to strata.yaml',
  });
}

/** Build the stage graph; throws PIPELINE_CYCLE (`a -> b -> a`) when the stages form a cycle. */
export function buildDag(spec: PipelineSpec): StageGraph {
  return new StageGraph(spec);
}

/** The deterministic topological order of the pipeline's stages (or of targets + their upstream). */
export function topologicalOrder(spec: PipelineSpec, targets?: Iterable<string>): string[] {
  return buildDag(spec).order(targets);
}

/**
 * Runs a selection of stages with at most `jobs` at once: `take()` hands out stages that may start,
 * `finish(name, ok)` records a result. Stages downstream of a failure are never handed out and are
 * reported by `skipped()`.
 */
export class Scheduler {
  private readonly selected: Set<string>;
  private readonly completed = new Set<string>();
  private readonly running = new Set<string>();
  private readonly failed = new Set<string>();

  constructor(
    private readonly graph: StageGraph,
    selected: Iterable<string> = graph.names,
    private readonly jobs = 1,
  ) {
    this.selected = new Set(selected);
    for (const s of this.selected) graph.stage(s);
    if (!Number.isInteger(jobs) || jobs < 1) throw new StrataError('INVALID_ARGUMENT', `--jobs must be a positive integer, got ${jobs}`);
  }

  /** Stages to start now (marked running), up to the free job slots. */
  take(): string[] {
    const free = this.jobs - this.running.size;
    if (free <= 0) return [];
    const ready = this.graph
      .ready({ completed: this.completed, running: this.running, failed: this.failed, selected: this.selected })
      .slice(0, free);
    for (const r of ready) this.running.add(r);
    return ready;
  }

  finish(name: string, ok: boolean): void {
    if (!this.running.delete(name)) throw new StrataError('INTERNAL', `stage ${name} finished but was not running`);
    (ok ? this.completed : this.failed).add(name);
  }

  /** Selected stages that will not run because something upstream failed. */
  skipped(): string[] {
    if (this.failed.size === 0) return [];
    const blocked = this.graph.downstreamOf(this.failed);
    return this.graph.order().filter((n) => this.selected.has(n) && blocked.has(n) && !this.failed.has(n));
  }

  /** True when nothing is running and nothing more can start. */
  done(): boolean {
    return this.running.size === 0 && this.graph.ready({ completed: this.completed, failed: this.failed, selected: this.selected }).length === 0;
  }

  get failures(): string[] {
    return [...this.failed];
  }
}

// ---------------------------------------------------------------- rendering

export type DagFormat = 'text' | 'dot' | 'mermaid';

function dotId(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

function mermaidLabel(s: string): string {
  return '"' + s.replace(/"/g, '#quot;') + '"';
}

/**
 * Render the pipeline for `strata dag`. `files: true` draws data too (dep → stage → out), like
 * `dvc dag --outs`. Output is deterministic and ends with a newline.
 */
export function renderDag(spec: PipelineSpec, format: DagFormat = 'text', opts: { files?: boolean } = {}): string {
  const g = buildDag(spec);
  const order = g.order();
  const edges = g.edges();

  if (format === 'text') {
    if (order.length === 0) return '(no stages)\n';
    // Layer = longest path from a source, so every stage prints below everything it needs.
    const layer = new Map<string, number>();
    for (const n of order) layer.set(n, Math.max(0, ...g.parents(n).map((p) => layer.get(p)! + 1)));
    const left = new Map(order.map((n) => [n, '  '.repeat(layer.get(n)!) + n]));
    const width = Math.max(...[...left.values()].map((l) => l.length));
    const lines: string[] = [];
    for (const n of order) {
      const parents = g.parents(n);
      lines.push(parents.length ? `${left.get(n)!.padEnd(width)}  <- ${parents.join(', ')}` : left.get(n)!);
      if (opts.files) {
        const st = g.stage(n);
        const indent = '  '.repeat(layer.get(n)!);
        for (const d of st.deps) lines.push(`${indent}    in:  ${d}`);
        for (const o of st.outs) lines.push(`${indent}    out: ${o.path}${o.type !== 'dataset' ? ` (${o.type})` : ''}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  if (format === 'dot') {
    const lines = ['digraph strata {', '  rankdir=LR;', '  node [shape=box, style=rounded];'];
    for (const n of order) lines.push(`  ${dotId(n)};`);
    if (opts.files) {
      const files = new Set<string>();
      for (const n of order) for (const p of [...g.stage(n).deps, ...g.stage(n).outs.map((o) => o.path)]) files.add(p);
      for (const f of [...files].sort()) lines.push(`  ${dotId('file:' + f)} [label=${dotId(f)}, shape=note, style=solid];`);
      for (const n of order) {
        const st = g.stage(n);
        for (const d of st.deps) lines.push(`  ${dotId('file:' + d)} -> ${dotId(n)};`);
        for (const o of st.outs) lines.push(`  ${dotId(n)} -> ${dotId('file:' + o.path)};`);
      }
    } else {
      for (const e of edges) lines.push(`  ${dotId(e.from)} -> ${dotId(e.to)};`);
    }
    lines.push('}');
    return lines.join('\n') + '\n';
  }

  if (format === 'mermaid') {
    // Mermaid ids are generated (s0, s1, f0...) so stage names never collide with keywords.
    const ids = new Map(order.map((n, i) => [n, `s${i}`]));
    const lines = ['flowchart LR'];
    for (const n of order) lines.push(`  ${ids.get(n)}[${mermaidLabel(n)}]`);
    if (opts.files) {
      const files = new Set<string>();
      for (const n of order) for (const p of [...g.stage(n).deps, ...g.stage(n).outs.map((o) => o.path)]) files.add(p);
      const fids = new Map([...files].sort().map((f, i) => [f, `f${i}`]));
      for (const [f, id] of fids) lines.push(`  ${id}[(${mermaidLabel(f)})]`);
      for (const n of order) {
        const st = g.stage(n);
        for (const d of st.deps) lines.push(`  ${fids.get(d)} --> ${ids.get(n)}`);
        for (const o of st.outs) lines.push(`  ${ids.get(n)} --> ${fids.get(o.path)}`);
      }
    } else {
      for (const e of edges) lines.push(`  ${ids.get(e.from)} --> ${ids.get(e.to)}`);
    }
    return lines.join('\n') + '\n';
  }

  throw new StrataError('INVALID_ARGUMENT', `unknown dag format "${String(format)}"`, { hint: 'use one of: text, dot, mermaid' });
}
