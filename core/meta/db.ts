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
import { MIGRATIONS } from './schema.js';

export type SqliteDb = BetterSqlite3.Database;

export const SCHEMA_VERSION = MIGRATIONS.length;

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

let DatabaseCtor: typeof BetterSqlite3 | undefined;
function loadSqlite(): typeof BetterSqlite3 {
  if (!DatabaseCtor) {
    const require = createRequire(import.meta.url);
    DatabaseCtor = require('better-sqlite3') as typeof BetterSqlite3;
  }
  return DatabaseCtor;
}

export class MetaDb {
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
export function freeBytes(path: string): number | null {
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
export function diskNearlyFull(path: string): boolean {
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
      const copy = (order: string): boolean => {
        try {
          fresh.db.transaction(() => {
            for (const row of old.prepare(`SELECT ${list} FROM ${q(name)} NOT INDEXED${order}`).iterate() as IterableIterator<Record<string, unknown>>) {
              if (!keep(row)) continue;
              rep.copied += ins.run(...cols.map((c) => row[c])).changes;
            }
          })();
          return true;
        } catch (e) {
          rep.complete = false;
          rep.error ??= (e as Error).message;
          return false;
        }
      };
      // transaction() rolls back on error: copy row by row outside one big transaction instead.
      const copyLoose = (order: string): boolean => {
        try {
          for (const row of old.prepare(`SELECT ${list} FROM ${q(name)} NOT INDEXED${order}`).iterate() as IterableIterator<Record<string, unknown>>) {
            if (!keep(row)) continue;
            rep.copied += ins.run(...cols.map((c) => row[c])).changes;
          }
          return true;
        } catch (e) {
          rep.complete = false;
          rep.error ??= (e as Error).message;
          return false;
        }
      };
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
