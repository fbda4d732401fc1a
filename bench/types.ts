/**
 * Types shared by the benchmark harness and its sections.
 * See the comment at the top of bench/bench.ts for how to add a section.
 */

/** Units a row's figures are expressed in. Values are always plain numbers in that unit. */
export type Unit = 'ms' | 'MiB' | 'MB' | 'MB/s' | 'req/s';

/** One measured figure (strata's or a peer's). */
export type Figure =
  | { kind: 'value'; value: number; samples: number[]; note?: string }
  | { kind: 'error'; message: string }
  | { kind: 'skipped'; reason: string };

/**
 * A row's target.
 *  - ratio: strata ≤ max × (figure of the peer named `reference`)   (lower is better)
 *  - ratio-min: strata ≥ min × (figure of the peer named `reference`) (higher is better: MB/s, req/s)
 *  - max:   strata ≤ value                                           (lower is better)
 *  - min:   strata ≥ value                                           (higher is better)
 */
export type Target =
  | { kind: 'ratio'; reference: string; max: number }
  | { kind: 'ratio-min'; reference: string; min: number }
  | { kind: 'max'; value: number }
  | { kind: 'min'; value: number };

export interface PeerFigure {
  name: string;
  figure: Figure;
}

export interface RowResult {
  strata: Figure;
  peers: PeerFigure[];
  /** Free-form remarks shown under the table in docs/benchmarks.md. */
  notes?: string[];
}

export type DatasetName = 'small' | 'large' | 'mixed';

export interface ScaleSpec {
  name: 'tiny' | 'quick' | 'full';
  small: { files: number; folders: number; minBytes: number; maxBytes: number };
  large: { bytes: number; editRegions: number; editFraction: number; appendBytes: number };
  mixed: { files: number; minBytes: number; maxBytes: number };
}

export interface DatasetPaths {
  /** Folder holding the `small` dataset (sub-folders d000.., files f00000.bin..). */
  small: string;
  /** The three large files. */
  large: { base: string; edit: string; append: string };
  /** Folder holding the `mixed` dataset. */
  mixed: string;
}

export interface ToolInfo {
  available: boolean;
  version?: string;
  path?: string;
}

/** Options of one run of the harness (parsed command line). */
export interface BenchOptions {
  root: string;
  dir: string;
  scale: ScaleSpec;
  runs: number;
  only: string[] | null;
  write: boolean;
  keep: boolean;
  seed: number;
  installPeers: boolean;
  /** Run `sync` before every timed run (default true; --no-sync turns it off). */
  sync: boolean;
  docPath: string;
  /** Keep the previous results of the sections not run this time (--merge). */
  merge: boolean;
}

export interface BenchContext {
  opts: BenchOptions;
  /** Project root (where package.json, bin/strata.js live). */
  root: string;
  scale: ScaleSpec;
  /** Repetitions per timed figure (medians are reported). */
  runs: number;
  /** Paths of the generated datasets (only those needed by the selected sections exist). */
  data: DatasetPaths;
  /** Fresh, empty scratch folder for the section (removed afterwards unless --keep). */
  work: string;
  /** Availability of external tools (git, git-lfs, restic, b3sum, cp, rclone, time, ...). */
  tools: Record<string, ToolInfo>;
  /** Progress line on stderr. */
  log(msg: string): void;
}

export interface Row {
  /** Stable identifier, e.g. `small.add-commit`. */
  id: string;
  /** Human-readable name, shown in the table (tests match on it). */
  title: string;
  unit: Unit;
  /** Target, or a function of the scale (e.g. size thresholds that shrink with --quick). */
  target?: Target | ((scale: ScaleSpec) => Target);
  /** Runs the measurement. Throwing is allowed: the row is then reported as an error for strata. */
  run(ctx: BenchContext): Promise<RowResult>;
}

export interface Section {
  /** Identifier used by `--only`. */
  id: string;
  /** Other `--only` names that select this section (e.g. throughput is also selected by `large`). */
  aliases?: string[];
  title: string;
  /** Sorting key; built-in sections use 10..50, later sections should use ≥ 100. */
  order?: number;
  /** Datasets the section needs; they are generated (or reused) before it runs. */
  datasets: DatasetName[];
  /** Methodology notes copied into docs/benchmarks.md. */
  description?: string;
  /** Called once before the rows, with ctx.work empty. */
  setup?(ctx: BenchContext): Promise<void>;
  /** Called once after the rows (also after failures). */
  teardown?(ctx: BenchContext): Promise<void>;
  /** Rows run in order and may share state through the section's closure. */
  rows: Row[];
}

export interface RowReport {
  section: string;
  /** What a report needs of its row (a row carried over from an earlier run has no `run`). */
  row: Pick<Row, 'id' | 'title' | 'unit'>;
  target?: Target;
  result: RowResult;
  /** ISO time of the run that measured it, when carried over from an earlier run (--merge). */
  measured?: string;
}
