/**
 * The metadata database (SQLite via better-sqlite3, WAL mode). The only module that imports
 * better-sqlite3. Holds refs (moved by compare-and-swap), commits, cached trees, the staging index,
 * the stat cache, tracked roots, config, and (from migration 2 on) runs and the lineage graph.
 */
import { createRequire } from 'node:module';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { StrataError } from '../errors/index.js';
import { hashBytes } from '../hash/index.js';
import type {
  CommitCacheRow,
  CommitRow,
  IndexRow,
  LineageEdgeRow,
  LineageNodeRow,
  MetaStore,
  PartRow,
  RefRow,
  RunInsert,
  RunNodeHit,
  RunRow,
  RunRowFilter,
  StagedRow,
  StatRow,
  TagRow,
  UploadRow,
} from './interface.js';
import { MIGRATIONS } from './schema.js';

export type SqliteDb = BetterSqlite3.Database;

const STAGED_COLS = 'branch, path, op, type, exec, size, id, chunks, target, content_type, time, seq';
interface StagedDbRow {
  branch: string;
  path: string;
  op: 'put' | 'delete';
  type: string | null;
  exec: number;
  size: number | null;
  id: string | null;
  chunks: string | null;
  target: string | null;
  content_type: string | null;
  time: number;
  seq: number;
}

export const SCHEMA_VERSION = MIGRATIONS.length;

export type { IndexRow, StatRow } from './interface.js';

const walkSql = (from: 'src' | 'dst', to: 'src' | 'dst'): string => `
    WITH RECURSIVE walk(node, d) AS (
      SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)
      UNION
      SELECT e.${from}, walk.d + 1 FROM lineage_edges e JOIN walk ON e.${to} = walk.node WHERE walk.d < ?
    )
    SELECT node, min(d) AS d FROM walk GROUP BY node`;
const WALK_UP = walkSql('src', 'dst');
const WALK_DOWN = walkSql('dst', 'src');

/** `text` for a LIKE pattern with ESCAPE '\\'. */
const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => '\\' + c);

let DatabaseCtor: typeof BetterSqlite3 | undefined;
function loadSqlite(): typeof BetterSqlite3 {
  if (!DatabaseCtor) {
    const require = createRequire(import.meta.url);
    DatabaseCtor = require('better-sqlite3') as typeof BetterSqlite3;
  }
  return DatabaseCtor;
}

export class MetaDb implements MetaStore {
  readonly db: SqliteDb;
  private stmts = new Map<string, BetterSqlite3.Statement>();

  private constructor(db: SqliteDb) {
    this.db = db;
  }

  static open(path: string, opts: { readonly?: boolean; create?: boolean } = {}): MetaDb {
    try {
      return MetaDb.openOnce(path, opts, false);
    } catch (e) {
      // A full disk: SQLite cannot size the shared-memory file (-shm) that WAL mode needs, so even
      // a reader fails. In EXCLUSIVE locking mode SQLite keeps that index in process memory, which
      // needs no disk space; a command that only reads works that way (it holds the database
      // to itself for its few milliseconds). Writers still get DISK_FULL.
      if (!opts.create && isSqliteIoError(e) && diskNearlyFull(path)) {
        try {
          return MetaDb.openOnce(path, opts, true);
        } catch (e2) {
          throw sqliteToStrata(e2, path);
        }
      }
      throw sqliteToStrata(e, path);
    }
  }

  private static openOnce(path: string, opts: { readonly?: boolean; create?: boolean }, exclusive: boolean): MetaDb {
    const Database = loadSqlite();
    let db: SqliteDb;
    try {
      // A read-only connection cannot open a WAL database without its -shm file; the exclusive
      // fallback opens read-write but writes nothing unless the command does.
      db = new Database(path, { readonly: exclusive ? false : (opts.readonly ?? false), fileMustExist: !opts.create });
    } catch (e) {
      const msg = (e as Error).message;
      if (/unable to open|does not exist/i.test(msg) && !diskNearlyFull(path)) {
        throw new StrataError('NOT_A_REPOSITORY', `cannot open metadata database ${path}: ${msg}`, { hint: 'run strata init', cause: e });
      }
      throw e;
    }
    try {
      if (exclusive) db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('busy_timeout = 5000');
      if (!opts.readonly && !exclusive) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      // Reads through a memory map: a merge or diff reads thousands of cached trees (several
      // pages each), about three times faster than through read() calls. Writes are unchanged.
      db.pragma('mmap_size = 268435456');
      const m = new MetaDb(db);
      m.path = path;
      if (!opts.readonly && !exclusive) m.migrate();
      else m.checkVersion();
      return m;
    } catch (e) {
      try {
        db.close();
      } catch {
        /* already failed */
      }
      throw e;
    }
  }

  /** File this database was opened from. */
  path = '';

  /**
   * SQLite's own consistency check (PRAGMA quick_check: every page, every record, every index
   * entry present; O(size), no fixing). Returns the problems it lists, [] when clean.
   */
  quickCheck(max = 20): string[] {
    try {
      const rows = this.db.pragma(`quick_check(${max})`) as Array<{ quick_check: string }>;
      const msgs = rows.map((r) => r.quick_check);
      return msgs.length === 1 && msgs[0] === 'ok' ? [] : msgs;
    } catch (e) {
      return [(e as Error).message];
    }
  }

  /** Every row of the tree cache (id, raw bytes), for fsck. */
  *iterTreeCache(): Generator<{ id: string; raw: Buffer }> {
    for (const r of this.db.prepare('SELECT id, raw FROM trees').iterate() as IterableIterator<{ id: string; raw: Buffer }>) yield r;
  }

  /** Every row of the commit cache with its columns, for fsck. */
  *iterCommitCache(): Generator<CommitCacheRow> {
    const sql = 'SELECT id, tree, parents, author_name AS authorName, author_email AS authorEmail, time, message, code_commit AS codeCommit, raw FROM commits';
    for (const r of this.db.prepare(sql).iterate() as IterableIterator<CommitCacheRow>) yield r;
  }

  deleteTree(id: string): void {
    this.stmt('DELETE FROM trees WHERE id = ?').run(id);
  }

  deleteCommit(id: string): void {
    this.stmt('DELETE FROM commits WHERE id = ?').run(id);
  }

  clearStatCache(): number {
    return this.stmt('DELETE FROM stat_cache').run().changes;
  }

  private checkVersion(): number {
    const has = this.db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").get();
    if (!has) return 0;
    const row = this.db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as { value: string } | undefined;
    const v = row ? Number(row.value) : 0;
    if (v > SCHEMA_VERSION) {
      throw new StrataError('SCHEMA_TOO_NEW', `this repository uses metadata schema ${v}, newer than this strata understands (${SCHEMA_VERSION})`, {
        hint: 'upgrade strata',
      });
    }
    return v;
  }

  /** Apply pending migrations, each in its own transaction. */
  migrate(): void {
    const current = this.checkVersion();
    for (let v = current; v < MIGRATIONS.length; v++) {
      const sql = MIGRATIONS[v]!;
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.prepare("INSERT INTO meta(key, value) VALUES('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value").run(String(v + 1));
        // A new database: no workspace written by versions that left temporaries beside files
        // (core/repo/worktree.ts sweeps for them only when this is not 'clean').
        if (v === 0) this.db.prepare("INSERT INTO meta(key, value) VALUES('workspace_temps', 'clean') ON CONFLICT(key) DO NOTHING").run();
      })();
    }
  }

  schemaVersion(): number {
    return this.checkVersion();
  }

  stmt(sql: string): BetterSqlite3.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.stmts.clear();
    if (this.db.open) this.db.close();
  }

  // ------------------------------------------------------------ refs

  getRef(name: string): RefRow | null {
    const r = this.stmt('SELECT name, target, updated_at AS updatedAt FROM refs WHERE name = ?').get(name) as RefRow | undefined;
    return r ?? null;
  }

  listRefs(prefix: string): RefRow[] {
    return this.stmt("SELECT name, target, updated_at AS updatedAt FROM refs WHERE name >= ? AND name < ? ORDER BY name").all(prefix, prefix + '\uffff') as RefRow[];
  }

  /**
   * Compare-and-swap a ref: succeeds only if its current target is `expected` (null = must not
   * exist). `next` null deletes it. Throws REF_CONFLICT otherwise: a concurrent writer moved it.
   */
  casRef(name: string, expected: string | null, next: string | null): void {
    const now = Date.now();
    let changes: number;
    if (expected === null) {
      if (next === null) return;
      changes = this.stmt('INSERT OR IGNORE INTO refs(name, target, updated_at) VALUES (?, ?, ?)').run(name, next, now).changes;
    } else if (next === null) {
      changes = this.stmt('DELETE FROM refs WHERE name = ? AND target = ?').run(name, expected).changes;
    } else {
      changes = this.stmt('UPDATE refs SET target = ?, updated_at = ? WHERE name = ? AND target = ?').run(next, now, name, expected).changes;
    }
    if (changes !== 1) {
      const cur = this.getRef(name);
      throw new StrataError('REF_CONFLICT', `${name} was changed by another process (expected ${expected ?? 'no ref'}, found ${cur?.target ?? 'no ref'})`, {
        hint: 'run the command again',
        details: { ref: name, expected, actual: cur?.target ?? null },
      });
    }
  }

  // ------------------------------------------------------------ commits

  putCommit(c: CommitRow, raw: Buffer): void {
    this.stmt(
      `INSERT OR IGNORE INTO commits(id, tree, parents, author_name, author_email, time, message, code_commit, code_dirty, raw)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(c.id, c.tree, JSON.stringify(c.parents), c.authorName, c.authorEmail, c.time, c.message, c.codeCommit, c.codeDirty ? 1 : 0, raw);
  }

  /** The cached bytes of commit `id`, or null (not cached, or a damaged row: see verified()). */
  getCommitRaw(id: string): Buffer | null {
    return this.verified('commit', id);
  }

  hasCommit(id: string): boolean {
    return this.stmt('SELECT 1 FROM commits WHERE id = ?').get(id) !== undefined;
  }

  commitIdsByPrefix(prefix: string, limit = 2): string[] {
    return (this.stmt('SELECT id FROM commits WHERE id >= ? AND id < ? ORDER BY id LIMIT ?').all(prefix, prefix + 'g', limit) as Array<{ id: string }>).map((r) => r.id);
  }

  allCommitIds(): string[] {
    return (this.stmt('SELECT id FROM commits').all() as Array<{ id: string }>).map((r) => r.id);
  }

  // ------------------------------------------------------------ trees (cache of tree objects)

  putTree(id: string, raw: Buffer): void {
    this.stmt('INSERT OR IGNORE INTO trees(id, raw) VALUES (?, ?)').run(id, raw);
  }

  /** The cached bytes of tree `id`, or null (not cached, or a damaged row: see verified()). */
  getTreeRaw(id: string): Buffer | null {
    return this.verified('tree', id);
  }

  /**
   * A cache row is trusted only if its bytes hash to its id (BLAKE3: microseconds for a tree or
   * commit). A row that does not is damaged: it is dropped when the database is writable, and
   * null tells the caller to read the object from the store. A damaged database page under the
   * row reads as "not cached" too (fsck reports the page; fsck --repair rebuilds).
   */
  private verified(kind: 'tree' | 'commit', id: string): Buffer | null {
    let raw: Buffer | undefined;
    try {
      const sql = kind === 'tree' ? 'SELECT raw FROM trees WHERE id = ?' : 'SELECT raw FROM commits WHERE id = ?';
      raw = (this.stmt(sql).get(id) as { raw: Buffer } | undefined)?.raw;
    } catch (e) {
      if (sqliteCode(e).startsWith('SQLITE_CORRUPT')) return null;
      throw e;
    }
    if (!raw) return null;
    if (Buffer.isBuffer(raw) && hashBytes(raw) === id) return raw;
    this.cacheMisses.push({ kind, id });
    if (!this.db.readonly && !this.db.inTransaction) {
      try {
        if (kind === 'tree') this.deleteTree(id);
        else this.deleteCommit(id);
      } catch {
        /* busy or full: the store's copy is used either way */
      }
    }
    return null;
  }

  /** Cache rows found damaged by reads in this process (fsck reports them). */
  readonly cacheMisses: Array<{ kind: 'tree' | 'commit'; id: string }> = [];

  // ------------------------------------------------------------ tags

  putTag(t: TagRow): void {
    this.stmt('INSERT OR REPLACE INTO tags(name, target, message, tagger, time, object) VALUES (?, ?, ?, ?, ?, ?)').run(
      t.name,
      t.target,
      t.message,
      t.tagger,
      t.time,
      t.object,
    );
  }

  getTag(name: string): TagRow | null {
    return (this.stmt('SELECT name, target, message, tagger, time, object FROM tags WHERE name = ?').get(name) as TagRow | undefined) ?? null;
  }

  deleteTag(name: string): void {
    this.stmt('DELETE FROM tags WHERE name = ?').run(name);
  }

  // ------------------------------------------------------------ S3 gateway: staged writes, uploads

  putStaged(rows: ReadonlyArray<Omit<StagedRow, 'seq'>>): number[] {
    const ins = this.stmt(
      'INSERT OR REPLACE INTO gateway_staged(branch, path, op, type, exec, size, id, chunks, target, content_type, time, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const bump = this.stmt(
      "INSERT INTO meta(key, value) VALUES('gateway_seq', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER) AS v",
    );
    return this.tx(() =>
      rows.map((r) => {
        const seq = (bump.get() as { v: number }).v;
        const e = r.op === 'put' ? r.entry : null;
        if (r.op === 'put' && !e) throw new StrataError('INVALID_ARGUMENT', `staged put of ${r.path} has no entry`);
        ins.run(r.branch, r.path, r.op, e?.type ?? null, e?.exec ? 1 : 0, e?.size ?? null, e?.id ?? null, e?.chunks ?? null, e?.target ?? null, r.contentType, r.time, seq);
        return seq;
      }),
    );
  }

  private stagedFrom(r: StagedDbRow): StagedRow {
    return {
      branch: r.branch,
      path: r.path,
      op: r.op,
      entry:
        r.op === 'put'
          ? { path: r.path, type: r.type as 'file' | 'symlink', exec: r.exec === 1, size: r.size ?? 0, id: r.id ?? '', chunks: r.chunks, target: r.target }
          : null,
      contentType: r.content_type,
      time: r.time,
      seq: r.seq,
    };
  }

  getStaged(branch: string, path: string): StagedRow | null {
    const r = this.stmt(`SELECT ${STAGED_COLS} FROM gateway_staged WHERE branch = ? AND path = ?`).get(branch, path) as StagedDbRow | undefined;
    return r ? this.stagedFrom(r) : null;
  }

  listStaged(branch: string, opts: { prefix?: string; after?: string; limit?: number } = {}): StagedRow[] {
    const prefix = opts.prefix ?? '';
    const after = opts.after ?? '';
    // Paths under `prefix` are the range [prefix, prefix + U+10FFFF): a range scan of the primary key.
    const rows = this.stmt(
      `SELECT ${STAGED_COLS} FROM gateway_staged WHERE branch = ? AND path >= ? AND path < ? AND path > ? ORDER BY path LIMIT ?`,
    ).all(branch, prefix, prefix + '\u{10FFFF}', after, opts.limit ?? -1) as StagedDbRow[];
    return rows.map((r) => this.stagedFrom(r));
  }

  stagedStamp(branch: string): string {
    const r = this.stmt('SELECT count(*) AS n, coalesce(max(seq), 0) AS m FROM gateway_staged WHERE branch = ?').get(branch) as { n: number; m: number };
    return `${r.n}:${r.m}`;
  }

  stagedBranches(): string[] {
    return (this.stmt('SELECT DISTINCT branch FROM gateway_staged ORDER BY branch').all() as Array<{ branch: string }>).map((r) => r.branch);
  }

  deleteStaged(branch: string, rows: ReadonlyArray<{ path: string; seq: number }> | 'all'): number {
    if (rows === 'all') return this.stmt('DELETE FROM gateway_staged WHERE branch = ?').run(branch).changes;
    const del = this.stmt('DELETE FROM gateway_staged WHERE branch = ? AND path = ? AND seq = ?');
    return this.tx(() => rows.reduce((n, r) => n + del.run(branch, r.path, r.seq).changes, 0));
  }

  createUpload(u: UploadRow): void {
    this.stmt('INSERT INTO gateway_uploads(id, branch, path, created, content_type) VALUES (?, ?, ?, ?, ?)').run(u.id, u.branch, u.path, u.created, u.contentType);
  }

  getUpload(id: string): UploadRow | null {
    const r = this.stmt('SELECT id, branch, path, created, content_type AS contentType FROM gateway_uploads WHERE id = ?').get(id) as UploadRow | undefined;
    return r ?? null;
  }

  listUploads(branch?: string): UploadRow[] {
    const cols = 'id, branch, path, created, content_type AS contentType';
    return (
      branch === undefined
        ? this.stmt(`SELECT ${cols} FROM gateway_uploads ORDER BY path, created, id`).all()
        : this.stmt(`SELECT ${cols} FROM gateway_uploads WHERE branch = ? ORDER BY path, created, id`).all(branch)
    ) as UploadRow[];
  }

  deleteUpload(id: string): void {
    this.tx(() => {
      this.stmt('DELETE FROM gateway_parts WHERE upload = ?').run(id);
      this.stmt('DELETE FROM gateway_uploads WHERE id = ?').run(id);
    });
  }

  putPart(p: PartRow): void {
    this.stmt('INSERT OR REPLACE INTO gateway_parts(upload, part, size, etag, time) VALUES (?, ?, ?, ?, ?)').run(p.upload, p.part, p.size, p.etag, p.time);
  }

  listParts(upload: string): PartRow[] {
    return this.stmt('SELECT upload, part, size, etag, time FROM gateway_parts WHERE upload = ? ORDER BY part').all(upload) as PartRow[];
  }

  // ------------------------------------------------------------ staging index

  loadIndex(): Map<string, IndexRow> {
    const rows = this.stmt('SELECT path, type, exec, size, id, chunks, target FROM idx').raw().all() as Array<
      [string, 'file' | 'symlink', number, number, string, string | null, string | null]
    >;
    const m = new Map<string, IndexRow>();
    for (const [path, type, exec, size, id, chunks, target] of rows) m.set(path, { path, type, exec: exec === 1, size, id, chunks, target });
    return m;
  }

  indexCount(): number {
    return (this.stmt('SELECT count(*) AS n FROM idx').get() as { n: number }).n;
  }

  /** Tree id the staging index is known to equal (set by commit/checkout), or null. */
  indexTree(): string | null {
    const r = this.stmt("SELECT value FROM meta WHERE key = 'index_tree'").get() as { value: string } | undefined;
    return r?.value || null;
  }

  setIndexTree(tree: string | null): void {
    this.stmt("INSERT INTO meta(key, value) VALUES('index_tree', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(tree ?? '');
  }

  upsertIndex(rows: Iterable<IndexRow>): void {
    const s = this.stmt('INSERT OR REPLACE INTO idx(path, type, exec, size, id, chunks, target) VALUES (?, ?, ?, ?, ?, ?, ?)');
    let n = 0;
    for (const r of rows) {
      s.run(r.path, r.type, r.exec ? 1 : 0, r.size, r.id, r.chunks, r.target);
      n++;
    }
    if (n) this.setIndexTree(null);
  }

  deleteIndex(paths: Iterable<string>): void {
    const s = this.stmt('DELETE FROM idx WHERE path = ?');
    let n = 0;
    for (const p of paths) n += s.run(p).changes;
    if (n) this.setIndexTree(null);
  }

  /** Replace the whole index; `tree` is the tree id it now equals, when known. */
  replaceIndex(rows: Iterable<IndexRow>, tree: string | null = null): void {
    this.stmt('DELETE FROM idx').run();
    this.upsertIndex(rows);
    this.setIndexTree(tree);
  }

  // ------------------------------------------------------------ stat cache

  loadStatCache(): Map<string, StatRow> {
    const rows = this.stmt('SELECT path, size, mtime, ctime, ino, id, chunks, recorded FROM stat_cache').raw().all() as Array<
      [string, number, number, number, number, string, string | null, number]
    >;
    const m = new Map<string, StatRow>();
    for (const [path, size, mtime, ctime, ino, id, chunks, recorded] of rows) m.set(path, { path, size, mtime, ctime, ino, id, chunks, recorded });
    return m;
  }

  getStats(paths: Iterable<string>): Map<string, StatRow> {
    const s = this.stmt('SELECT path, size, mtime, ctime, ino, id, chunks, recorded FROM stat_cache WHERE path = ?');
    const m = new Map<string, StatRow>();
    for (const p of paths) {
      const r = s.get(p) as StatRow | undefined;
      if (r) m.set(p, { path: r.path, size: r.size, mtime: r.mtime, ctime: r.ctime, ino: r.ino, id: r.id, chunks: r.chunks, recorded: r.recorded });
    }
    return m;
  }

  upsertStat(rows: Iterable<StatRow>): void {
    const s = this.stmt('INSERT OR REPLACE INTO stat_cache(path, size, mtime, ctime, ino, id, chunks, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const r of rows) s.run(r.path, r.size, r.mtime, r.ctime, r.ino, r.id, r.chunks, r.recorded);
  }

  deleteStat(paths: Iterable<string>): void {
    const s = this.stmt('DELETE FROM stat_cache WHERE path = ?');
    for (const p of paths) s.run(p);
  }

  // ------------------------------------------------------------ tracked roots

  trackedRoots(): string[] {
    return (this.stmt('SELECT path FROM tracked ORDER BY path').all() as Array<{ path: string }>).map((r) => r.path);
  }

  setTrackedRoots(paths: Iterable<string>): void {
    this.stmt('DELETE FROM tracked').run();
    const s = this.stmt('INSERT OR IGNORE INTO tracked(path) VALUES (?)');
    for (const p of paths) s.run(p);
  }

  // ------------------------------------------------------------ config

  getConfig(key: string): string | null {
    const r = this.stmt('SELECT value FROM config WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value ?? null;
  }

  setConfig(key: string, value: string | null): void {
    if (value === null) this.stmt('DELETE FROM config WHERE key = ?').run(key);
    else this.stmt('INSERT INTO config(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  listConfig(): Array<{ key: string; value: string }> {
    return this.stmt('SELECT key, value FROM config ORDER BY key').all() as Array<{ key: string; value: string }>;
  }

  // ------------------------------------------------------------ commits (counts, forgetting)

  commitCount(): number {
    return (this.stmt('SELECT count(*) AS n FROM commits').get() as { n: number }).n;
  }

  /** Forget these commit rows (gc, after their objects were deleted). Returns how many were removed. */
  deleteCommits(ids: Iterable<string>): number {
    const s = this.stmt('DELETE FROM commits WHERE id = ?');
    let n = 0;
    for (const id of ids) n += s.run(id).changes;
    return n;
  }

  // ------------------------------------------------------------ local meta (key/value, never pushed)

  getCheckResults(object: string, spec: string, path: string): string | null {
    const r = this.stmt('SELECT record FROM check_results WHERE object = ? AND spec = ? AND path = ?').get(object, spec, path) as { record: string } | undefined;
    return r ? r.record : null;
  }

  putCheckResults(object: string, spec: string, path: string, record: string): void {
    // Strictly after the version's newest row, so "the newest judgement" never depends on the clock's resolution.
    const newest = this.stmt('SELECT max(time) AS t FROM check_results WHERE object = ? AND path = ?').get(object, path) as { t: number | null };
    const time = Math.max(Date.now(), (newest.t ?? 0) + 1);
    this.stmt('INSERT OR REPLACE INTO check_results(object, spec, path, time, record) VALUES (?, ?, ?, ?, ?)').run(object, spec, path, time, record);
  }

  latestCheckResults(object: string, path: string): { spec: string; time: number; record: string } | null {
    const r = this.stmt('SELECT spec, time, record FROM check_results WHERE object = ? AND path = ? ORDER BY time DESC, spec LIMIT 1').get(object, path) as { spec: string; time: number; record: string } | undefined;
    return r ?? null;
  }

  getTableMetrics(object: string, defs: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    const get = this.stmt('SELECT value FROM table_metrics WHERE object = ? AND def = ?');
    for (const def of defs) {
      const r = get.get(object, def) as { value: string } | undefined;
      if (r) out.set(def, r.value);
    }
    return out;
  }

  putTableMetrics(object: string, values: ReadonlyMap<string, string>): void {
    const put = this.stmt('INSERT OR REPLACE INTO table_metrics(object, def, value) VALUES (?, ?, ?)');
    this.tx(() => {
      for (const [def, value] of values) put.run(object, def, value);
    });
  }

  getLocalMeta(key: string): string | null {
    const r = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r ? r.value : null;
  }

  setLocalMeta(key: string, value: string): void {
    this.stmt('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Set `key` only when it has no value yet (first writer wins). */
  addLocalMeta(key: string, value: string): void {
    this.stmt('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(key, value);
  }

  // ------------------------------------------------------------ runs

  /** Insert a run row with its lineage node and edges (see RunInsert). Call inside tx(). */
  insertRunRow(r: RunInsert): void {
    this.stmt(
      `INSERT INTO runs(id, stage, status, signature, cmd, started, ended, exit_code, code_commit, code_dirty, log, object, cached_from, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(r.id, r.stage, r.status, r.signature, r.cmd, r.started, r.ended, r.exitCode, r.codeCommit, r.codeDirty ? 1 : 0, r.log, r.object, r.cachedFrom, r.record);
    const runNode = (this.stmt(`INSERT INTO lineage_nodes(kind, ref, path, type, obj) VALUES ('run', ?, '', ?, ?) RETURNING id`).get(r.id, r.stage, r.status) as { id: number }).id;
    const edge = this.stmt('INSERT OR IGNORE INTO lineage_edges(src, dst, rel) VALUES (?, ?, ?)');
    for (const d of r.used) edge.run(this.upsertVersionNode(d.path, d.id, d.kind), runNode, 'used');
    for (const o of r.produced) edge.run(runNode, this.upsertVersionNode(o.path, o.id, o.kind, o.type), 'produced');
  }

  /** Id of the version node (path, id), created when missing. `type` overrides the stored type when given. */
  upsertVersionNode(path: string, id: string, kind: 'file' | 'dir', type?: string): number {
    const row = type
      ? (this.stmt(
          `INSERT INTO lineage_nodes(kind, ref, path, type, obj) VALUES ('version', ?, ?, ?, ?)
           ON CONFLICT(kind, ref, path) DO UPDATE SET type = excluded.type, obj = excluded.obj RETURNING id`,
        ).get(id, path, type, kind) as { id: number })
      : (this.stmt(
          `INSERT INTO lineage_nodes(kind, ref, path, type, obj) VALUES ('version', ?, ?, 'dataset', ?)
           ON CONFLICT(kind, ref, path) DO UPDATE SET obj = excluded.obj RETURNING id`,
        ).get(id, path, kind) as { id: number });
    return row.id;
  }

  hasRun(id: string): boolean {
    return this.stmt('SELECT 1 FROM runs WHERE id = ?').get(id) !== undefined;
  }

  /** The stored row of run `id` (exact id), or null. */
  getRunRow(id: string): RunRow | null {
    return (this.stmt('SELECT id, status, object, log, record FROM runs WHERE id = ?').get(id) as RunRow | undefined) ?? null;
  }

  /** Runs whose id starts with `prefix` (in id order, at most `limit`). */
  runRowsByIdPrefix(prefix: string, limit: number): RunRow[] {
    return this.stmt('SELECT id, status, object, log, record FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?').all(prefix, prefix + 'g', limit) as RunRow[];
  }

  /** Run records (text) matching `filter`, newest first. */
  listRunRecords(filter: RunRowFilter = {}): string[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.stage !== undefined) {
      where.push('stage = ?');
      args.push(filter.stage);
    }
    if (filter.statuses !== undefined) {
      where.push(`status IN (${filter.statuses.map(() => '?').join(', ')})`);
      args.push(...filter.statuses);
    }
    if (filter.since !== undefined) {
      where.push('started >= ?');
      args.push(filter.since);
    }
    if (filter.signature !== undefined) {
      where.push('signature = ?');
      args.push(filter.signature);
    }
    const sql = `SELECT record FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    return (this.stmt(sql).all(...args, filter.limit ?? -1) as Array<{ record: string }>).map((r) => r.record);
  }

  /** Every run row, in id order (gc roots, push, remote markers). */
  allRunRows(): RunRow[] {
    return this.stmt('SELECT id, status, object, log, record FROM runs ORDER BY id').all() as RunRow[];
  }

  runCount(): number {
    return (this.stmt('SELECT count(*) AS n FROM runs').get() as { n: number }).n;
  }

  /** Non-failed runs that produced version (path, id), newest first. */
  producersOfVersion(path: string, id: string): RunRow[] {
    return this.stmt(
      `SELECT r.id AS id, r.status AS status, r.object AS object, r.log AS log, r.record AS record FROM lineage_nodes v
       JOIN lineage_edges e ON e.dst = v.id AND e.rel = 'produced'
       JOIN lineage_nodes rn ON rn.id = e.src AND rn.kind = 'run'
       JOIN runs r ON r.id = rn.ref
       WHERE v.kind = 'version' AND v.ref = ? AND v.path = ? AND r.status != 'failed'
       ORDER BY r.id DESC`,
    ).all(id, path) as RunRow[];
  }

  // ------------------------------------------------------------ lineage graph

  /** Row ids of version nodes for a path (all versions in insertion order, or one content id). */
  versionNodeIds(path: string, id?: string): number[] {
    const rows = id
      ? (this.stmt("SELECT id FROM lineage_nodes WHERE kind = 'version' AND ref = ? AND path = ?").all(id, path) as Array<{ id: number }>)
      : (this.stmt("SELECT id FROM lineage_nodes WHERE kind = 'version' AND path = ? ORDER BY id").all(path) as Array<{ id: number }>);
    return rows.map((r) => r.id);
  }

  /** The newest version node of `path`, or null. */
  latestVersionNode(path: string): { ref: string; obj: string | null } | null {
    return (this.stmt("SELECT ref, obj FROM lineage_nodes WHERE kind = 'version' AND path = ? ORDER BY id DESC LIMIT 1").get(path) as { ref: string; obj: string | null } | undefined) ?? null;
  }

  /** Distinct paths of version nodes with this `obj` ('file' | 'dir') or `type` (dataset | model | metrics). */
  versionPaths(filter: { obj?: 'file' | 'dir'; type?: string }): string[] {
    const where = ["kind = 'version'"];
    const args: string[] = [];
    if (filter.obj !== undefined) {
      where.push('obj = ?');
      args.push(filter.obj);
    }
    if (filter.type !== undefined) {
      where.push('type = ?');
      args.push(filter.type);
    }
    return (this.stmt(`SELECT DISTINCT path FROM lineage_nodes WHERE ${where.join(' AND ')} ORDER BY path`).all(...args) as Array<{ path: string }>).map((r) => r.path);
  }

  /** Kind of node row `id`, or null when there is none. */
  lineageNodeKind(id: number): 'version' | 'run' | null {
    return ((this.stmt('SELECT kind FROM lineage_nodes WHERE id = ?').get(id) as { kind: 'version' | 'run' } | undefined)?.kind) ?? null;
  }

  /** Node row id of run `runId`, or null. */
  runNodeId(runId: string): number | null {
    return ((this.stmt("SELECT id FROM lineage_nodes WHERE kind = 'run' AND ref = ? AND path = ''").get(runId) as { id: number } | undefined)?.id) ?? null;
  }

  /**
   * Recursive walk from `seeds` along edges, upstream (dst -> src) or downstream (src -> dst),
   * at most `maxEdges` edges from a seed (a seed's `offset` counts as hops already made).
   * Returns node row id -> fewest hops.
   */
  lineageWalk(seeds: ReadonlyArray<{ id: number; offset: number }>, dir: 'up' | 'down', maxEdges: number): Map<number, number> {
    if (seeds.length === 0) return new Map();
    const sql = dir === 'up' ? WALK_UP : WALK_DOWN;
    const rows = this.stmt(sql).all(JSON.stringify(seeds.map((s) => [s.id, s.offset])), maxEdges) as Array<{ node: number; d: number }>;
    return new Map(rows.map((r) => [r.node, r.d]));
  }

  /** Node rows by id, with the run record for run nodes (null when the run row is absent). */
  lineageNodes(ids: readonly number[]): LineageNodeRow[] {
    return this.stmt(
      `SELECT n.id, n.kind, n.ref, n.path, n.type, n.obj, r.record FROM lineage_nodes n
       LEFT JOIN runs r ON n.kind = 'run' AND r.id = n.ref
       WHERE n.id IN (SELECT value FROM json_each(?))`,
    ).all(JSON.stringify(ids)) as LineageNodeRow[];
  }

  /** Edges whose two ends are both in `ids`. */
  lineageEdgesAmong(ids: readonly number[]): LineageEdgeRow[] {
    const set = JSON.stringify(ids);
    return this.stmt('SELECT src, dst, rel FROM lineage_edges WHERE src IN (SELECT value FROM json_each(?)) AND dst IN (SELECT value FROM json_each(?))').all(set, set) as LineageEdgeRow[];
  }

  /** True when some node of `ids` has a further edge upstream ('up': an edge into it) or downstream. */
  lineageHasMore(ids: readonly number[], dir: 'up' | 'down'): boolean {
    if (ids.length === 0) return false;
    const sql = dir === 'up' ? 'SELECT 1 FROM lineage_edges WHERE dst IN (SELECT value FROM json_each(?)) LIMIT 1' : 'SELECT 1 FROM lineage_edges WHERE src IN (SELECT value FROM json_each(?)) LIMIT 1';
    return this.stmt(sql).get(JSON.stringify(ids)) !== undefined;
  }

  /**
   * For each known version (id, path), the size its producing run recorded in its outputs (null
   * when no run produced it or the run did not record one).
   */
  producedSizes(versions: ReadonlyArray<{ id: string; path: string }>): Array<{ id: string; path: string; size: number | null }> {
    if (versions.length === 0) return [];
    return this.stmt(
      `SELECT v.ref AS id, v.path AS path, (
         SELECT json_extract(o.value, '$.size') FROM lineage_edges e
         JOIN lineage_nodes rn ON rn.id = e.src
         JOIN runs r ON r.id = rn.ref, json_each(r.record, '$.outs') o
         WHERE e.dst = v.id AND e.rel = 'produced'
           AND json_extract(o.value, '$.path') = v.path AND json_extract(o.value, '$.id') = v.ref
         LIMIT 1) AS size
       FROM json_each(?) p
       JOIN lineage_nodes v ON v.kind = 'version' AND v.ref = json_extract(p.value, '$[0]') AND v.path = json_extract(p.value, '$[1]')`,
    ).all(JSON.stringify(versions.map((v) => [v.id, v.path]))) as Array<{ id: string; path: string; size: number | null }>;
  }

  /** The chunk manifest id a run recorded for input (path, id) when it used it as chunks, or null. */
  usedChunkManifest(path: string, id: string): string | null {
    const row = this.stmt(
      `SELECT json_extract(d.value, '$.chunks') AS chunks FROM lineage_nodes v
       JOIN lineage_edges e ON e.src = v.id AND e.rel = 'used'
       JOIN lineage_nodes rn ON rn.id = e.dst
       JOIN runs r ON r.id = rn.ref, json_each(r.record, '$.deps') d
       WHERE v.kind = 'version' AND v.ref = ? AND v.path = ?
         AND json_extract(d.value, '$.path') = v.path AND json_extract(d.value, '$.id') = v.ref
         AND json_extract(d.value, '$.chunks') IS NOT NULL
       LIMIT 1`,
    ).get(id, path) as { chunks: string } | undefined;
    return row?.chunks ?? null;
  }

  /** Run nodes whose run id starts with `prefix`, newest first (at most `limit`). */
  searchRunNodesById(prefix: string, limit: number): RunNodeHit[] {
    return this.stmt(
      `SELECT n.ref, n.type, n.obj, r.started FROM lineage_nodes n LEFT JOIN runs r ON r.id = n.ref
       WHERE n.kind = 'run' AND n.ref >= ? AND n.ref < ? ORDER BY n.ref DESC LIMIT ?`,
    ).all(prefix, prefix + '\uffff', limit) as RunNodeHit[];
  }

  /**
   * Run nodes whose stage contains `text` (case-insensitive), ranked 1 exact, 2 prefix, 3
   * substring, then newest first (at most `limit`).
   */
  searchRunNodesByStage(text: string, limit: number): Array<RunNodeHit & { rank: number }> {
    const esc = escapeLike(text);
    return this.stmt(
      `SELECT n.ref, n.type, n.obj, r.started,
              CASE WHEN n.type = ? COLLATE NOCASE THEN 1 WHEN n.type LIKE ? ESCAPE '\\' THEN 2 ELSE 3 END AS rank
       FROM lineage_nodes n LEFT JOIN runs r ON r.id = n.ref
       WHERE n.kind = 'run' AND n.type LIKE ? ESCAPE '\\'
       ORDER BY rank, n.ref DESC LIMIT ?`,
    ).all(text, esc + '%', '%' + esc + '%', limit) as Array<RunNodeHit & { rank: number }>;
  }

  /**
   * Version nodes whose path contains `text` (case-insensitive), ranked 1 exact, 2 prefix of the
   * path or of its last segment, 3 substring; then by path, newest version first (at most `limit`).
   */
  searchVersionNodesByPath(text: string, limit: number): Array<{ id: number; ref: string; path: string; type: string | null; obj: string | null; rank: number }> {
    const esc = escapeLike(text);
    return this.stmt(
      `SELECT id, ref, path, type, obj,
              CASE WHEN path = ? COLLATE NOCASE THEN 1
                   WHEN path LIKE ? ESCAPE '\\' OR path LIKE ? ESCAPE '\\' THEN 2 ELSE 3 END AS rank
       FROM lineage_nodes
       WHERE kind = 'version' AND path LIKE ? ESCAPE '\\'
       ORDER BY rank, path, id DESC LIMIT ?`,
    ).all(text, esc + '%', '%/' + esc + '%', '%' + esc + '%', limit) as Array<{ id: number; ref: string; path: string; type: string | null; obj: string | null; rank: number }>;
  }
}

// ---------------------------------------------------------------- errors

function sqliteCode(e: unknown): string {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'string' ? c : '';
}

function isSqliteIoError(e: unknown): boolean {
  const c = sqliteCode(e);
  return c.startsWith('SQLITE_IOERR') || c.startsWith('SQLITE_CANTOPEN') || c.startsWith('SQLITE_FULL');
}

/** Free bytes on the filesystem holding `path` (its folder), or null when it cannot be asked. */
function freeBytes(path: string): number | null {
  for (const p of [path, dirname(path)]) {
    try {
      const st = statfsSync(p);
      return Number(st.bavail) * Number(st.bsize);
    } catch {
      /* try the folder */
    }
  }
  return null;
}

/**
 * Is the disk holding `path` (close to) full? SQLite reports a failed write on a full disk as
 * SQLITE_FULL only sometimes: growing the -shm or -wal file fails with SQLITE_IOERR_* instead.
 * Below 1 MiB free, an I/O error is taken to be the full disk.
 */
function diskNearlyFull(path: string): boolean {
  const free = freeBytes(path);
  return free !== null && free < 1 << 20;
}

const DB_REPAIR_HINT = 'run strata fsck to see what is damaged, then strata fsck --repair to rebuild the database from the objects (the damaged file is kept as strata.db.corrupt-<time>)';

/**
 * SQLite's error codes as typed errors: SQLITE_FULL (and I/O errors on a full disk) -> DISK_FULL,
 * SQLITE_CORRUPT / SQLITE_NOTADB -> DB_CORRUPT naming strata fsck --repair, SQLITE_READONLY ->
 * PERMISSION_DENIED, other I/O errors -> IO_ERROR. Other errors are returned unchanged.
 * A failed statement's transaction was rolled back by SQLite, so nothing was committed.
 */
export function sqliteToStrata(e: unknown, dbPath?: string): unknown {
  if (e instanceof StrataError) return e;
  const code = sqliteCode(e);
  if (!code.startsWith('SQLITE_')) return e;
  const msg = (e as Error).message;
  const where = dbPath ? ` (${dbPath})` : '';
  if (code.startsWith('SQLITE_FULL') || ((code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) && dbPath && diskNearlyFull(dbPath))) {
    return new StrataError('DISK_FULL', `no space left on device while using the metadata database${where}`, {
      hint: 'free some disk space (strata gc removes unreachable objects), then retry; nothing was committed',
      cause: e,
    });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) {
    return new StrataError('DB_CORRUPT', `the metadata database${where} is damaged: ${msg}`, { hint: DB_REPAIR_HINT, cause: e });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StrataError('REPO_BUSY', `the metadata database${where} is locked by another process`, {
      hint: 'wait for the other strata command to finish, then retry',
      cause: e,
    });
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH')) {
    return new StrataError('PERMISSION_DENIED', `cannot write the metadata database${where}: ${msg}`, {
      hint: 'check the permissions and ownership of .strata/ and strata.db',
      cause: e,
    });
  }
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) {
    return new StrataError('IO_ERROR', `disk I/O error on the metadata database${where}: ${msg}`, {
      hint: 'check that the disk is not full and the filesystem is healthy, then retry; nothing was committed',
      cause: e,
    });
  }
  return e;
}

// ---------------------------------------------------------------- salvage (strata fsck --repair)

export interface SalvageTable {
  table: string;
  copied: number;
  /** Rows that could not be read (a damaged page); the table's copy is then incomplete. */
  complete: boolean;
  error?: string;
}

/** Tables rebuilt from the objects instead of copied (caches), or not copied at all. */
const NOT_COPIED = new Set(['meta', 'stat_cache']);

/**
 * Copy every readable row of the damaged database at `damagedPath` into the new database `fresh`
 * (already created at the current schema). SQLite's own .recover is not available through
 * better-sqlite3, so each table is read with a full scan, and where the scan stops at a damaged
 * page, once more backwards by rowid to reach the rows after it. Cache rows (trees, commits) are
 * copied only when their bytes hash to their id. Returns what was copied per table, or null when
 * the damaged file cannot be opened as a database at all.
 */
export function salvageInto(damagedPath: string, fresh: MetaDb): SalvageTable[] | null {
  const Database = loadSqlite();
  let old: SqliteDb;
  try {
    old = new Database(damagedPath, { readonly: true, fileMustExist: true });
    old.prepare("SELECT count(*) FROM sqlite_master").get();
  } catch {
    return null;
  }
  const out: SalvageTable[] = [];
  try {
    const oldTables = new Set(
      (old.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name),
    );
    const tables = fresh.db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string; sql: string }>;
    for (const { name, sql } of tables) {
      if (NOT_COPIED.has(name) || !oldTables.has(name)) continue;
      const rep: SalvageTable = { table: name, copied: 0, complete: true };
      out.push(rep);
      const q = (n: string) => `"${n.replace(/"/g, '""')}"`;
      let cols: string[];
      try {
        const have = new Set((old.prepare(`PRAGMA table_info(${q(name)})`).all() as Array<{ name: string }>).map((c) => c.name));
        cols = (fresh.db.prepare(`PRAGMA table_info(${q(name)})`).all() as Array<{ name: string }>).map((c) => c.name).filter((c) => have.has(c));
      } catch (e) {
        rep.complete = false;
        rep.error = (e as Error).message;
        continue;
      }
      const list = cols.map(q).join(', ');
      const ins = fresh.db.prepare(`INSERT OR IGNORE INTO ${q(name)} (${list}) VALUES (${cols.map(() => '?').join(', ')})`);
      const keep = (row: Record<string, unknown>): boolean => {
        if (name !== 'trees' && name !== 'commits') return true;
        const raw = row.raw;
        return typeof row.id === 'string' && Buffer.isBuffer(raw) && hashBytes(raw) === row.id;
      };
      const copyRows = (order: string): void => {
        for (const row of old.prepare(`SELECT ${list} FROM ${q(name)} NOT INDEXED${order}`).iterate() as IterableIterator<Record<string, unknown>>) {
          if (!keep(row)) continue;
          rep.copied += ins.run(...cols.map((c) => row[c])).changes;
        }
      };
      const attempt = (fn: () => void): boolean => {
        try {
          fn();
          return true;
        } catch (e) {
          rep.complete = false;
          rep.error ??= (e as Error).message;
          return false;
        }
      };
      const copy = (order: string): boolean => attempt(() => fresh.db.transaction(() => copyRows(order))());
      // transaction() rolls back on error: copy row by row outside one big transaction instead.
      const copyLoose = (order: string): boolean => attempt(() => copyRows(order));
      if (copy('')) continue;
      rep.copied = 0;
      copyLoose('');
      if (!/WITHOUT ROWID/i.test(sql)) copyLoose(' ORDER BY rowid DESC');
    }
  } catch (e) {
    out.push({ table: 'sqlite_master', copied: 0, complete: false, error: (e as Error).message });
  } finally {
    try {
      old.close();
    } catch {
      /* damaged */
    }
  }
  return out;
}
