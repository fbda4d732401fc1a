/**
 * The response types of the read operations the server serves as JSON (GET /log, /commits, /tree, /table/*,
 * /diff, /versions, /runs, /runs/{id}, /lineage, /lineage/search, /repos). The operations in
 * core/ops/ declare these as their return types, so the compiler checks that what the server sends
 * has these shapes; web/src/api.ts imports them with `import type` (no hand-copied shapes).
 *
 * This module is types only and imports nothing: web/ (a browser build without Node's types)
 * type-checks it as it is.
 */

export type Id = string;

export interface Head {
  branch: string | null;
  commit: Id | null;
}

/** A repository in the server's listing (GET /repos, GET /repos/{name}). */
export interface RepoSummary {
  name: string;
  anonymousRead: boolean;
  readOnly: boolean;
  head: Head;
  counts?: RepoCounts;
}

export interface BranchInfo {
  name: string;
  commit: Id;
  updatedAt: number;
}

export interface TagInfo {
  name: string;
  commit: Id;
  message: string | null;
  tagger: string | null;
  time: number | null;
}

/** GET /refs: branches, tags and the raw refs of the remote protocol. */
export interface Refs {
  head: Head;
  branches: BranchInfo[];
  tags: TagInfo[];
  refs: Array<{ name: string; value: string; etag: string }>;
}

export interface RepoCounts {
  branches: number;
  tags: number;
  commits: number;
}

export interface CodeVersionInfo {
  commit: string | null;
  branch?: string | null;
  remote?: string | null;
  dirty: boolean;
  diff?: Id | null;
}

/** A commit with its id and the branches and tags pointing at it (`strata log --json` entries). */
export interface CommitInfo {
  id: Id;
  tree: Id;
  parents: Id[];
  author: { name: string; email: string };
  /** ms since the epoch. */
  time: number;
  message: string;
  code: CodeVersionInfo | null;
  meta?: Record<string, unknown>;
  refs: string[];
}

export interface LogPage {
  ref: string;
  commit: Id | null;
  offset: number;
  limit: number;
  nextOffset: number | null;
  commits: CommitInfo[];
}

export type TreeListingEntry =
  | { name: string; path: string; type: 'dir'; size: number; id: Id; count: number }
  | { name: string; path: string; type: 'file'; size: number; id: Id; exec: boolean; chunked: boolean }
  | { name: string; path: string; type: 'symlink'; size: number; id: Id; target: string };

export type TreeListing =
  | { ref: string; commit: Id; path: string; type: 'dir'; entries: TreeListingEntry[] }
  | { ref: string; commit: Id; path: string; type: 'file' | 'symlink'; entry: TreeListingEntry };

export interface ChangeInfo {
  path: string;
  kind: 'added' | 'modified' | 'deleted' | 'typechange';
  oldSize?: number;
  newSize?: number;
  oldId?: Id;
  newId?: Id;
}

export interface ChangeSummaryInfo {
  added: number;
  modified: number;
  deleted: number;
  bytesAdded: number;
  bytesRemoved: number;
}

export interface CommitDiff {
  from: string;
  to: string;
  fromCommit: Id | null;
  toCommit: Id;
  changes: ChangeInfo[];
  summary: ChangeSummaryInfo;
}

export interface PathVersion {
  /** Blob id (file, symlink) or tree id (directory); null: the path was deleted by `commit`. */
  id: Id | null;
  kind: 'file' | 'dir' | 'symlink' | null;
  /** Bytes (a directory: the total of its files); null for a deletion. */
  size: number | null;
  /** Files under a directory version. */
  count?: number;
  /** The oldest commit of the run of consecutive first-parent commits holding this version. */
  commit: Id;
  time: number;
  message: string;
}

export interface PathVersions {
  path: string;
  ref: string;
  commit: Id | null;
  limit?: number;
  versions: PathVersion[];
  /** Where the next page starts (pass as `ref`), or null at the end of the history. */
  next: Id | null;
}

export type RunStatusName = 'ok' | 'failed' | 'cached';

export interface RunCodeInfo {
  commit: string | null;
  branch: string | null;
  remote: string | null;
  dirty: boolean;
  diff?: Id | null;
}

/** One row of a runs page (GET /runs). */
export interface RunSummary {
  id: string;
  stage: string;
  status: RunStatusName;
  cmd: string;
  startedAt: number;
  endedAt: number;
  exitCode: number | null;
  code: RunCodeInfo | null;
  origin: 'pipeline' | 'adhoc';
  cachedFrom: string | null;
  inputs: number;
  outputs: number;
}

export interface RunsPage {
  runs: RunSummary[];
  offset: number;
  limit: number;
  nextOffset: number | null;
}

export interface RunDepInfo {
  path: string;
  id: Id;
  kind: 'file' | 'dir';
  chunks?: Id;
}

export interface RunOutInfo {
  path: string;
  id: Id;
  type: 'dataset' | 'model' | 'metrics';
  kind: 'file' | 'dir';
  size: number;
  cache: boolean;
  exec?: boolean;
  chunks?: Id;
}

/** A run in full (GET /runs/{id}): the run record plus startedAt/endedAt. */
export interface RunDetail {
  id: string;
  stage: string;
  status: RunStatusName;
  cmd: string;
  wdir: string;
  env: Record<string, string>;
  params: Record<string, unknown>;
  paramRefs: Array<{ file: string; key: string }>;
  deps: RunDepInfo[];
  outs: RunOutInfo[];
  code: RunCodeInfo | null;
  environment: { node: string; platform: string; arch: string; hostname: string; strata: string };
  started: number;
  ended: number;
  startedAt: number;
  endedAt: number;
  exitCode: number | null;
  signal: string | null;
  log: Id | null;
  signature: string;
  cachedFrom: string | null;
  error: string | null;
  origin: 'pipeline' | 'adhoc';
}

/** One check's latest result on a version (as core/lineage/quality.ts VersionCheck). */
export interface LineageCheck {
  name: string;
  kind: string;
  columns: string[];
  severity: 'error' | 'warn';
  status: 'pass' | 'fail' | 'warn' | 'error';
  failing: number;
  message?: string;
  metrics: Record<string, number | string | null>;
}

/** The check results of a version: counts by status, then each check. */
export interface LineageChecks {
  time: number;
  passed: number;
  failed: number;
  warned: number;
  errored: number;
  results: LineageCheck[];
}

/** A lineage graph node as the web UI draws it (cytoscape `data`). */
export interface LineageNodeData {
  /** Node key: v:<id>:<path> or r:<run id>. */
  id: string;
  type: 'dataset' | 'model' | 'metrics' | 'run' | string;
  label: string;
  depth?: number;
  // versions
  path?: string;
  objectId?: string;
  obj?: 'file' | 'dir';
  size?: number | null;
  metrics?: unknown;
  metricsError?: string;
  /** The newest data check results recorded for a file version (core/lineage/quality.ts). */
  checks?: LineageChecks;
  // runs
  runId?: string;
  stage?: string;
  status?: string;
  cmd?: string;
  params?: Record<string, unknown>;
  code?: CodeVersionInfo | null;
  startedAt?: number;
  endedAt?: number;
  exitCode?: number | null;
  cachedFrom?: string | null;
  [k: string]: unknown;
}

export interface LineageEdgeData {
  id: string;
  source: string;
  target: string;
  kind: string;
}

export interface LineageView {
  root: string | null;
  roots?: string[];
  depth: number;
  direction: string;
  truncated: boolean;
  nodes: Array<{ data: LineageNodeData }>;
  edges: Array<{ data: LineageEdgeData }>;
}

export interface SearchHit {
  id: string;
  type: 'dataset' | 'model' | 'metrics' | 'run';
  label: string;
  /** Why it matched: `run` (run id prefix), `stage`, `path`. */
  match: 'run' | 'stage' | 'path';
  path?: string;
  objectId?: string;
  obj?: 'file' | 'dir';
  runId?: string;
  stage?: string;
  status?: string;
  startedAt?: number;
}

export interface LineageSearchResult {
  q: string;
  limit: number;
  truncated: boolean;
  nodes: SearchHit[];
}

// ---------------------------------------------------------------- merge (POST /merge, GET /compare)

/** What kind of conflict a path is in (both sides changed it incompatibly). */
export type ConflictKind = 'content' | 'modify/delete' | 'delete/modify' | 'add/add' | 'file/folder' | 'folder/file' | 'mode' | 'driver';

/** One side of a conflicted path: what that side holds there (null: nothing). */
export interface ConflictSide {
  type: 'file' | 'symlink' | 'dir';
  id: Id;
  size: number;
  exec?: boolean;
}

export interface MergeConflict {
  path: string;
  kind: ConflictKind;
  base: ConflictSide | null;
  ours: ConflictSide | null;
  theirs: ConflictSide | null;
  /** Why a merge driver could not merge it (kind 'driver'), else absent. */
  reason?: string;
}

/** A path the merge takes from one side or merges (what `--dry-run` lists). */
export interface MergeChange {
  path: string;
  /** theirs: their version replaces ours; merged: a driver merged both; ours: kept by a rule on a conflict. */
  action: 'theirs' | 'merged' | 'ours' | 'deleted';
  /** The rule or strategy that decided it, when one did. */
  rule?: string;
}

/** The result of merging one ref into another (CLI `strata merge`, POST /merge). */
export interface MergeOutcome {
  /** up-to-date: nothing to merge; fast-forward: moved to theirs; merged: a merge commit; conflicts: stopped. */
  status: 'up-to-date' | 'fast-forward' | 'merged' | 'conflicts';
  into: string | null;
  from: string;
  ours: Id | null;
  theirs: Id;
  base: Id | null;
  /** The new commit (fast-forward: theirs; merged: the merge commit), null when nothing moved. */
  commit: Id | null;
  changes: MergeChange[];
  conflicts: MergeConflict[];
  dryRun: boolean;
}

/** GET /compare: two refs side by side, what `head` would bring into `base` (core/ops/compare.ts). */
export interface CompareResult {
  base: string;
  head: string;
  baseCommit: Id;
  headCommit: Id;
  /** The newest common ancestor, null when the histories share nothing. */
  mergeBase: Id | null;
  /** Commits in head and not in base, and the first `limit` of them, newest first. */
  ahead: number;
  aheadCommits: CommitInfo[];
  /** Commits in base and not in head, and the first `limit` of them, newest first. */
  behind: number;
  behindCommits: CommitInfo[];
  limit: number;
  /** What changed from the merge base to head (what a merge brings into base). */
  diff: CommitDiff;
  /** A dry run of merging head into base (null when base is not a branch). */
  merge: MergeOutcome | null;
}

/** A column of a table file: its name and DuckDB type (BIGINT, DOUBLE, VARCHAR, DATE, ...). */
export interface TableColumnInfo {
  name: string;
  type: string;
}

/** The table formats Strata reads (by file extension). */
export type TableFormatName = 'csv' | 'tsv' | 'parquet' | 'jsonl';

/** GET /table/rows: one page of a table file's rows at a revision (core/ops/table-preview.ts). */
export interface TablePreview {
  ref: string;
  commit: Id;
  path: string;
  format: TableFormatName;
  /** The field delimiter the file was read with (sniffed for .csv; tab for .tsv); null for Parquet and JSON Lines. */
  delimiter: string | null;
  columns: TableColumnInfo[];
  /** The first row of the page (0-based) and the page size asked for (at most 500). */
  offset: number;
  limit: number;
  /** Rows in the whole table. */
  rows: number;
  /** The page: one array per row, values in the order of `columns`. */
  values: unknown[][];
}

/** Per-column statistics of a table (core/tables/stats.ts computes them). */
export interface TableColumnStatsInfo {
  name: string;
  type: string;
  nulls: number;
  distinct: number;
  /** Smallest and largest value (null when every value is null, or for nested types). */
  min: unknown;
  max: unknown;
}

/** GET /table/stats: a table file's schema and statistics (core/ops/table-show.ts, `strata show --stats`). */
export interface TableSchemaStats {
  ref: string;
  path: string;
  format: TableFormatName;
  columns: TableColumnInfo[];
  /** Always present in the server's answer (it asks for statistics). */
  stats?: {
    rows: number;
    /** true: distinct counts are HyperLogLog estimates (tables over 1,000,000 rows). */
    distinctApprox: boolean;
    columns: TableColumnStatsInfo[];
  };
}

/** GET /table/diff: a row-level diff of one table file between two revisions (core/ops/diff-rows.ts, `strata diff --rows`). */
export interface TableRowDiff {
  from: string;
  to: string;
  path: string;
  /** The key columns rows were matched by; null: matched by content. */
  key: string[] | null;
  schema: { added: TableColumnInfo[]; removed: TableColumnInfo[]; retyped: Array<{ name: string; from: string; to: string }> };
  /** `changed` is null without a key. */
  counts: { added: number; removed: number; changed: number | null };
  sample: {
    added: Array<Record<string, unknown>>;
    removed: Array<Record<string, unknown>>;
    changed: Array<{ key: Record<string, unknown>; cells: Array<{ column: string; old: unknown; new: unknown }> }>;
  };
}
