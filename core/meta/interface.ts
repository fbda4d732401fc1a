/**
 * The metadata store interface: everything the rest of Strata asks of the metadata database.
 * core/meta/db.ts (MetaDb, SQLite through better-sqlite3) is the implementation today; a
 * PostgreSQL implementation (a later issue) implements the same interface and must pass the same
 * contract suite (test/helpers/meta-contract.ts). No SQL is written outside core/meta
 * (test/no-sql-outside-meta.test.ts fails if some is).
 *
 * Synchronous by decision. better-sqlite3 is synchronous and callers rely on it: tx(fn) runs `fn`
 * synchronously inside BEGIN IMMEDIATE ... COMMIT, so no other code of this process can interleave
 * with a transaction, and the crash-safety argument of every operation ("one metadata transaction
 * per operation, after the objects are written") depends on it. An asynchronous interface would
 * make every caller (ops, executor, fsck, the server) async at each metadata read for no gain on
 * SQLite. A PostgreSQL implementation will need either (a) a synchronous driver bridge (a worker
 * thread holding the pg connection, the caller blocking on Atomics.wait for each reply: the same
 * shape as better-sqlite3, slower per call but with no caller changes), or (b) this interface turned
 * into Promise-returning methods and the callers awaited, with tx(fn) taking an async fn. The
 * contract suite awaits every call, so it runs unchanged against either form.
 *
 * What an implementation must guarantee is stated per method below and checked by the suite:
 * refs move by compare-and-swap (REF_CONFLICT otherwise), cache rows are returned only when
 * their bytes hash to their id, tx() rolls back everything on throw, lineage walks are
 * depth-limited and count edges.
 */

export interface IndexRow {
  path: string;
  type: 'file' | 'symlink';
  exec: boolean;
  size: number;
  id: string;
  chunks: string | null;
  target: string | null;
}

export interface StatRow {
  path: string;
  size: number;
  mtime: number;
  ctime: number;
  ino: number;
  id: string;
  chunks: string | null;
  /** ms since epoch when the stat was taken. */
  recorded: number;
}

export interface CommitRow {
  id: string;
  tree: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  time: number;
  message: string;
  codeCommit: string | null;
  codeDirty: boolean;
}

export interface CommitCacheRow {
  id: string;
  tree: string;
  parents: string;
  authorName: string;
  authorEmail: string;
  time: number;
  message: string;
  codeCommit: string | null;
  raw: Buffer;
}

export interface RefRow {
  name: string;
  target: string;
  updatedAt: number;
}

export interface TagRow {
  name: string;
  target: string;
  message: string | null;
  tagger: string | null;
  time: number | null;
  object: string | null;
}

/** A run row as the runs table keeps it (the record is the run object's canonical text). */
export interface RunRow {
  id: string;
  status: 'ok' | 'failed' | 'cached';
  object: string;
  log: string | null;
  record: string;
}

/** What insertRunRow stores: the row's columns and the lineage edges of the run. */
export interface RunInsert {
  id: string;
  stage: string;
  status: 'ok' | 'failed' | 'cached';
  signature: string;
  cmd: string;
  started: number;
  ended: number;
  exitCode: number | null;
  codeCommit: string | null;
  codeDirty: boolean;
  log: string | null;
  object: string;
  cachedFrom: string | null;
  record: string;
  /** Versions the run read (edges version -> run). */
  used: ReadonlyArray<{ path: string; id: string; kind: 'file' | 'dir' }>;
  /** Versions the run produced (edges run -> version). */
  produced: ReadonlyArray<{ path: string; id: string; kind: 'file' | 'dir'; type: string }>;
}

export interface RunRowFilter {
  stage?: string;
  statuses?: ReadonlyArray<'ok' | 'failed' | 'cached'>;
  /** Started at or after (ms since epoch). */
  since?: number;
  signature?: string;
  /** At most this many (newest first); default all. */
  limit?: number;
}

export interface LineageNodeRow {
  id: number;
  kind: 'version' | 'run';
  ref: string;
  path: string;
  type: string | null;
  obj: string | null;
  /** The run record (run nodes whose run row exists), else null. */
  record: string | null;
}

export interface LineageEdgeRow {
  src: number;
  dst: number;
  rel: 'used' | 'produced';
}

export interface RunNodeHit {
  ref: string;
  type: string | null;
  obj: string | null;
  started: number | null;
}


/** One uncommitted change of a branch written through the S3 gateway (core/gateway). */
export interface StagedRow {
  branch: string;
  path: string;
  /** put: `entry` is the new content; delete: the path is removed by the next commit. */
  op: 'put' | 'delete';
  entry: IndexRow | null;
  contentType: string | null;
  /** ms since epoch. */
  time: number;
  /** Assigned by putStaged: increases with every write of this store. */
  seq: number;
}

/** A multipart upload in progress (core/gateway/multipart.ts). */
export interface UploadRow {
  id: string;
  branch: string;
  path: string;
  created: number;
  contentType: string | null;
}

export interface PartRow {
  upload: string;
  part: number;
  size: number;
  /** MD5 hex of the part's bytes. */
  etag: string;
  time: number;
}


/**
 * Every metadata operation callers use. Row shapes are plain data (no driver types), so an
 * implementation over another database only has to map them.
 */
export interface MetaStore {
  /** Where the store lives (a file path for SQLite; a connection name otherwise), for messages. */
  readonly path: string;

  // -------- lifecycle and integrity
  /** Run `fn` in one write transaction; everything it wrote is rolled back when it throws. */
  tx<T>(fn: () => T): T;
  close(): void;
  /** The schema version the store is at. */
  schemaVersion(): number;
  /** The store's own consistency check: problems found, [] when clean. */
  quickCheck(max?: number): string[];
  /** Cache rows found damaged by reads of this handle (fsck reports them). */
  readonly cacheMisses: Array<{ kind: 'tree' | 'commit'; id: string }>;

  // -------- refs (compare-and-swap)
  getRef(name: string): RefRow | null;
  /** Refs whose name starts with `prefix`, by name. */
  listRefs(prefix: string): RefRow[];
  /**
   * Move `name` from `expected` (null: must not exist) to `next` (null: delete). Throws
   * REF_CONFLICT when the current target is not `expected`.
   */
  casRef(name: string, expected: string | null, next: string | null): void;

  // -------- commits index (rows that cache commit objects)
  /** Insert a commit row (idempotent: a second put of the same id changes nothing). */
  putCommit(c: CommitRow, raw: Buffer): void;
  /** The cached bytes of commit `id`; null when absent or when the bytes do not hash to `id`. */
  getCommitRaw(id: string): Buffer | null;
  hasCommit(id: string): boolean;
  /** Ids starting with `prefix`, in id order, at most `limit`. */
  commitIdsByPrefix(prefix: string, limit?: number): string[];
  allCommitIds(): string[];
  commitCount(): number;
  deleteCommit(id: string): void;
  /** Forget these commit rows; returns how many existed. */
  deleteCommits(ids: Iterable<string>): number;
  iterCommitCache(): Iterable<CommitCacheRow>;

  // -------- tree cache
  putTree(id: string, raw: Buffer): void;
  /** The cached bytes of tree `id`; null when absent or when the bytes do not hash to `id`. */
  getTreeRaw(id: string): Buffer | null;
  deleteTree(id: string): void;
  iterTreeCache(): Iterable<{ id: string; raw: Buffer }>;

  // -------- tags
  putTag(t: TagRow): void;
  getTag(name: string): TagRow | null;
  deleteTag(name: string): void;

  // -------- staging index
  loadIndex(): Map<string, IndexRow>;
  indexCount(): number;
  /** The tree id the index is known to equal, or null (any change to the index clears it). */
  indexTree(): string | null;
  setIndexTree(tree: string | null): void;
  upsertIndex(rows: Iterable<IndexRow>): void;
  deleteIndex(paths: Iterable<string>): void;
  replaceIndex(rows: Iterable<IndexRow>, tree?: string | null): void;

  // -------- stat cache
  loadStatCache(): Map<string, StatRow>;
  /** The stat cache rows of these paths (absent paths are left out): cost grows with the list. */
  getStats(paths: Iterable<string>): Map<string, StatRow>;
  upsertStat(rows: Iterable<StatRow>): void;
  deleteStat(paths: Iterable<string>): void;
  clearStatCache(): number;

  // -------- tracked roots
  trackedRoots(): string[];
  setTrackedRoots(paths: Iterable<string>): void;

  // -------- repository config (the registry in core/config/registry.ts validates keys and values)
  getConfig(key: string): string | null;
  /** null deletes the key. */
  setConfig(key: string, value: string | null): void;
  listConfig(): Array<{ key: string; value: string }>;

  // -------- local meta (this repository's own key/value state: never pushed or cloned)
  getLocalMeta(key: string): string | null;
  setLocalMeta(key: string, value: string): void;
  /** Set only when absent (the first value stays). */
  addLocalMeta(key: string, value: string): void;

  // -------- data check results (core/checks): canonical JSON per file version and checks hash
  getCheckResults(object: string, spec: string, path: string): string | null;
  /** Records (or re-records: the time becomes now) the results of one file version under one checks hash. */
  putCheckResults(object: string, spec: string, path: string, record: string): void;
  /** The newest recorded results of one file version at `path`, whatever checks judged it; null when never judged. */
  latestCheckResults(object: string, path: string): { spec: string; time: number; record: string } | null;
  /** Stored metrics of a table version (content id) by definition (core/tables/checks.ts): the values as stored text. */
  getTableMetrics(object: string, defs: readonly string[]): Map<string, string>;
  /** Store metrics of one table version, all or none (replacing values stored under the same definitions). */
  putTableMetrics(object: string, values: ReadonlyMap<string, string>): void;

  // -------- runs
  /** Insert a run row, its lineage node, and its used/produced edges. Call inside tx(). */
  insertRunRow(r: RunInsert): void;
  hasRun(id: string): boolean;
  getRunRow(id: string): RunRow | null;
  /** Runs whose id starts with `prefix`, in id order, at most `limit`. */
  runRowsByIdPrefix(prefix: string, limit: number): RunRow[];
  /** Records (text) of the runs matching `filter`, newest (highest id) first. */
  listRunRecords(filter?: RunRowFilter): string[];
  /** Every run row, in id order. */
  allRunRows(): RunRow[];
  runCount(): number;
  /** Non-failed runs that produced version (path, id), newest first. */
  producersOfVersion(path: string, id: string): RunRow[];

  // -------- lineage graph (nodes: versions and runs; edges: used, produced)
  /** Version node (path, id), created when missing; `type` given overrides the stored type. */
  upsertVersionNode(path: string, id: string, kind: 'file' | 'dir', type?: string): number;
  /** Node ids of the versions of `path` (oldest first), or of one content id. */
  versionNodeIds(path: string, id?: string): number[];
  latestVersionNode(path: string): { ref: string; obj: string | null } | null;
  /** Distinct version paths with this obj and/or type, sorted. */
  versionPaths(filter: { obj?: 'file' | 'dir'; type?: string }): string[];
  lineageNodeKind(id: number): 'version' | 'run' | null;
  runNodeId(runId: string): number | null;
  /**
   * Nodes reached from `seeds` upstream ('up': against the edges) or downstream, each with its
   * fewest edges from a seed (seed offset included), stopping at `maxEdges`.
   */
  lineageWalk(seeds: ReadonlyArray<{ id: number; offset: number }>, dir: 'up' | 'down', maxEdges: number): Map<number, number>;
  lineageNodes(ids: readonly number[]): LineageNodeRow[];
  lineageEdgesAmong(ids: readonly number[]): LineageEdgeRow[];
  /** Does some node of `ids` have an edge further in direction `dir`? */
  lineageHasMore(ids: readonly number[], dir: 'up' | 'down'): boolean;
  /** Per known version, the size its producing run recorded (null when none did). */
  producedSizes(versions: ReadonlyArray<{ id: string; path: string }>): Array<{ id: string; path: string; size: number | null }>;
  /** The chunk manifest a run recorded for input (path, id), or null. */
  usedChunkManifest(path: string, id: string): string | null;
  /** Search (the web UI): run nodes by run-id prefix, newest first. */
  searchRunNodesById(prefix: string, limit: number): RunNodeHit[];
  /** Search: run nodes by stage substring; rank 1 exact, 2 prefix, 3 substring (case-insensitive). */
  searchRunNodesByStage(text: string, limit: number): Array<RunNodeHit & { rank: number }>;
  /** Search: version nodes by path substring; rank 1 exact, 2 prefix of path or file name, 3 substring. */
  searchVersionNodesByPath(text: string, limit: number): Array<{ id: number; ref: string; path: string; type: string | null; obj: string | null; rank: number }>;
  // -------- S3 gateway: uncommitted writes per branch, multipart uploads (core/gateway)
  /** Write (insert or replace by branch+path) staged changes; each row gets the next seq. Returns the seqs. */
  putStaged(rows: ReadonlyArray<Omit<StagedRow, 'seq'>>): number[];
  getStaged(branch: string, path: string): StagedRow | null;
  /** A branch's staged rows by path: those under `prefix`, after `after`, at most `limit`. */
  listStaged(branch: string, opts?: { prefix?: string; after?: string; limit?: number }): StagedRow[];
  /** How many rows are staged on `branch` and the highest seq among them ("0:0" when none): changes with every write. */
  stagedStamp(branch: string): string;
  /** Branches with staged rows, sorted. */
  stagedBranches(): string[];
  /** Delete staged rows of `branch`: each listed (path, seq) only if its seq still matches; 'all' deletes every row. Returns how many went. */
  deleteStaged(branch: string, rows: ReadonlyArray<{ path: string; seq: number }> | 'all'): number;
  createUpload(u: UploadRow): void;
  getUpload(id: string): UploadRow | null;
  /** Uploads in progress (of one branch when given), by path then creation time. */
  listUploads(branch?: string): UploadRow[];
  /** Forget an upload and its part rows. */
  deleteUpload(id: string): void;
  /** Insert or replace a part (a part uploaded again replaces the earlier one). */
  putPart(p: PartRow): void;
  listParts(upload: string): PartRow[];
}
