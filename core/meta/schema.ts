/**
 * Schema migrations, in order. Migration N (0-based) takes the database from version N to N+1.
 * Never edit a released migration: append a new one.
 */
export const MIGRATIONS: string[] = [
  // 1: the repository engine
  `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE refs (
    name TEXT PRIMARY KEY,          -- HEAD, refs/heads/<branch>, refs/tags/<tag>, refs/remotes/<remote>/<branch>
    target TEXT NOT NULL,           -- a commit id, or 'ref: refs/heads/<branch>' for a symbolic HEAD
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE commits (
    id TEXT PRIMARY KEY,
    tree TEXT NOT NULL,
    parents TEXT NOT NULL,          -- JSON array of ids
    author_name TEXT NOT NULL,
    author_email TEXT NOT NULL,
    time INTEGER NOT NULL,          -- ms since epoch
    message TEXT NOT NULL,
    code_commit TEXT,               -- git commit of the code, when known
    code_dirty INTEGER NOT NULL DEFAULT 0,
    raw BLOB NOT NULL               -- canonical bytes (also stored as an object)
  );
  CREATE INDEX commits_time ON commits(time);
  CREATE INDEX commits_code ON commits(code_commit);
  CREATE TABLE trees (id TEXT PRIMARY KEY, raw BLOB NOT NULL);
  CREATE TABLE tags (
    name TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    message TEXT,
    tagger TEXT,
    time INTEGER,
    object TEXT                     -- id of the tag object, for annotated tags
  );
  CREATE TABLE idx (                -- the staging index: what the next commit will contain
    path TEXT PRIMARY KEY,
    type TEXT NOT NULL,             -- file | symlink
    exec INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    id TEXT NOT NULL,
    chunks TEXT,                    -- manifest id for chunked files
    target TEXT                     -- symlink target
  ) WITHOUT ROWID;
  CREATE TABLE stat_cache (         -- (path, stat) -> content id, so unchanged files are never re-read
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    ctime REAL NOT NULL,
    ino INTEGER NOT NULL,
    id TEXT NOT NULL,
    chunks TEXT,
    recorded REAL NOT NULL          -- when the stat was taken: entries whose mtime is too close are re-checked (racy-git)
  ) WITHOUT ROWID;
  CREATE TABLE tracked (path TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  // 2: pipeline runs and the lineage graph (core/meta/runs.ts, core/lineage/graph.ts)
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,            -- UUIDv7 (sorts by start time)
    stage TEXT NOT NULL,            -- stage name (strata.yaml) or the -n NAME of strata run
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'cached')),
    signature TEXT NOT NULL,        -- run-cache key (core/pipeline/signature.ts)
    cmd TEXT NOT NULL,
    started INTEGER NOT NULL,       -- ms since epoch
    ended INTEGER NOT NULL,
    exit_code INTEGER,              -- null when killed by a signal or not executed (cached)
    code_commit TEXT,               -- git commit of the code
    code_dirty INTEGER NOT NULL DEFAULT 0,
    log TEXT,                       -- object id of the captured stdout+stderr
    object TEXT NOT NULL,           -- object id of the run record (canonical JSON, also in the store)
    cached_from TEXT,               -- for status cached: the run whose outputs were restored
    record TEXT NOT NULL            -- the run record (same bytes as the object)
  );
  CREATE INDEX runs_stage ON runs(stage, id);
  CREATE INDEX runs_signature ON runs(signature, id);
  CREATE INDEX runs_status ON runs(status, id);
  CREATE INDEX runs_started ON runs(started);
  CREATE TABLE lineage_nodes (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('version', 'run')),
    ref TEXT NOT NULL,              -- version: content id (blob or tree id); run: the run id
    path TEXT NOT NULL DEFAULT '',  -- version: project path; run: ''
    type TEXT,                      -- version: dataset | model | metrics; run: the stage name
    obj TEXT,                       -- version: file | dir; run: status
    UNIQUE (kind, ref, path)
  );
  CREATE INDEX lineage_nodes_path ON lineage_nodes(path, kind);
  CREATE TABLE lineage_edges (
    src INTEGER NOT NULL,           -- version -> run (used), run -> version (produced)
    dst INTEGER NOT NULL,
    rel TEXT NOT NULL CHECK (rel IN ('used', 'produced')),
    PRIMARY KEY (src, dst)
  ) WITHOUT ROWID;
  CREATE INDEX lineage_edges_dst ON lineage_edges(dst, src);
  `,
  // 3: the S3 gateway's uncommitted writes per branch and its multipart uploads (core/gateway)
  `
  CREATE TABLE gateway_staged (     -- a branch's uncommitted changes written through the S3 gateway
    branch TEXT NOT NULL,
    path TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
    type TEXT,                      -- put: file | symlink
    exec INTEGER NOT NULL DEFAULT 0,
    size INTEGER,
    id TEXT,                        -- put: content id
    chunks TEXT,                    -- put: manifest id for chunked files
    target TEXT,                    -- put: symlink target
    content_type TEXT,              -- put: Content-Type the client sent
    time INTEGER NOT NULL,          -- ms since epoch of the write
    seq INTEGER NOT NULL,           -- increases with every write; a commit removes only the rows it read
    PRIMARY KEY (branch, path)
  ) WITHOUT ROWID;
  CREATE TABLE gateway_uploads (    -- multipart uploads in progress
    id TEXT PRIMARY KEY,
    branch TEXT NOT NULL,
    path TEXT NOT NULL,
    created INTEGER NOT NULL,
    content_type TEXT
  );
  CREATE INDEX gateway_uploads_key ON gateway_uploads(branch, path);
  CREATE TABLE gateway_parts (      -- parts received (their bytes are files under .strata/uploads/<id>/)
    upload TEXT NOT NULL,
    part INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,             -- MD5 hex of the part, as S3 reports it
    time INTEGER NOT NULL,
    PRIMARY KEY (upload, part)
  ) WITHOUT ROWID;
  `,
  // 4: data check results (core/checks), keyed by the file version judged and the checks' hash
  `
  CREATE TABLE check_results (
    object TEXT NOT NULL,           -- content id of the table file judged
    spec TEXT NOT NULL,             -- hash of the checks that applied to it (core/checks/spec.ts checksHash)
    path TEXT NOT NULL,
    time INTEGER NOT NULL,          -- ms since epoch of the run
    record TEXT NOT NULL,           -- canonical JSON: the check result records
    PRIMARY KEY (object, spec, path)
  ) WITHOUT ROWID;
  `,
  // 5: metrics of table versions (drift checks), by content id: a version's content never changes,
  // so a metric computed once is reused (the previous version of a path then need not be read)
  `
  CREATE TABLE table_metrics (
    object TEXT NOT NULL,           -- content id of the table file
    def TEXT NOT NULL,              -- the metric's definition: version, format, metric, SQL (core/tables/checks.ts)
    value TEXT NOT NULL,            -- JSON: a number or null
    PRIMARY KEY (object, def)
  ) WITHOUT ROWID;
  `,
];
