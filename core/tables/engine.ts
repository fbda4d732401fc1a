/**
 * The table engine: DuckDB (@duckdb/node-api, loaded lazily so commands that never touch a table
 * never load it) over verified copies of tracked files.
 *
 * Containment: one in-memory DuckDB per engine, its temp files and the copies of the tables in
 * `.strata/tmp/tables-<pid>-<rand>/` (removed on close). Before any SQL runs, file access is
 * limited to that folder (`allowed_directories` + `enable_external_access=false`), extension
 * autoloading is off, and the configuration is locked: SQL over a table cannot read, write or
 * attach any other file, nor raise its own memory limit. `query` runs one read-only statement.
 *
 * Errors: a file DuckDB cannot parse (malformed CSV, truncated Parquet, bad JSON) is
 * TABLE_UNREADABLE naming the tracked file (`REF:PATH`), never the temporary copy; any other
 * failing SQL is TABLE_QUERY_FAILED.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { StrataError, isStrataError } from '../errors/index.js';
import { readString } from '../config/registry.js';
import { resolveRev } from '../repo/refs.js';
import { entryAt } from '../repo/tree.js';
import type { FileEntry } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { verifiedFileStream } from '../repo/verified.js';

export type TableFormat = 'csv' | 'tsv' | 'parquet' | 'jsonl';

const EXT_FORMAT: Record<string, TableFormat> = {
  csv: 'csv',
  tsv: 'tsv',
  parquet: 'parquet',
  pq: 'parquet',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
};

/** The table format of a path, by its extension (case-insensitive), or null. */
export function tableFormatOf(path: string): TableFormat | null {
  const m = /\.([A-Za-z0-9]+)$/.exec(path);
  return m ? (EXT_FORMAT[m[1]!.toLowerCase()] ?? null) : null;
}

export interface TableColumn {
  name: string;
  /** DuckDB type name: BIGINT, DOUBLE, VARCHAR, TIMESTAMP, ... */
  type: string;
}

export interface TableEngine {
  /** Make a verified copy of a tracked file available as view `name` (format sniffed; CSV delimiter sniffed). */
  attachFile(name: string, repo: Repository, ref: string, path: string): Promise<TableColumn[]>;
  /** Same for raw bytes already verified by the caller (merge drivers get Buffers). */
  /** `shown` names the bytes in messages (default: the view name). */
  attachBytes(name: string, bytes: Buffer, format: TableFormat, shown?: string): Promise<TableColumn[]>;
  /** Same for a file entry (a staged row, a tree entry): streamed to disk verified, never held whole in memory. */
  attachEntry(name: string, repo: Repository, path: string, entry: FileEntry, shown?: string): Promise<TableColumn[]>;
  /**
   * Start the verified copy of a file entry the caller will attach later, and return at once: the
   * copy runs while other work goes on (a later attach of the entry waits for it). Errors surface
   * at that attach. Not a table path: nothing.
   */
  prefetchEntry(repo: Repository, path: string, entry: FileEntry): void;
  /** Read-only SQL over attached views; rows as plain JS objects (BigInt -> number when safe, else string). Statements run one at a time, in call order. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Keep the result of one read-only SELECT as temporary table `name` (for results read several times). */
  materialize(name: string, sql: string): Promise<void>;
  /** The field delimiter sniffed for attached view `name` (CSV/TSV), or null (Parquet, JSON Lines, not attached). */
  delimiterOf(name: string): string | null;
  /** The format attached view `name` is read in, or null (not attached, or bytes of no format). */
  formatOf(name: string): TableFormat | null;
  /** Write a table result to a file in a format (used by the row merge driver to produce merged bytes). */
  exportTo(sql: string, format: TableFormat, opts?: { delimiter?: string }): Promise<Buffer>;
  close(): Promise<void>;
}

/** A DuckDB identifier, double-quoted (embedded quotes doubled). */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

function quoteString(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

type DuckApi = typeof import('@duckdb/node-api');
type DuckConn = import('@duckdb/node-api').DuckDBConnection;
type DuckInstance = import('@duckdb/node-api').DuckDBInstance;

let duckApi: Promise<DuckApi> | null = null;
function loadDuck(): Promise<DuckApi> {
  duckApi ??= import('@duckdb/node-api');
  return duckApi;
}

/** A plain JS value: BigInt to number when safe (else its decimal string), dates as ISO strings. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
}

/** The field delimiter of a CSV, from its first line: the most frequent of , ; \t | outside quotes. */
function sniffDelimiter(head: string): string {
  const nl = head.search(/\r?\n/);
  const line = nl < 0 ? head : head.slice(0, nl);
  const counts = new Map<string, number>([[',', 0], [';', 0], ['\t', 0], ['|', 0]]);
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && counts.has(c)) counts.set(c, counts.get(c)! + 1);
  }
  let best = ',';
  for (const [d, n] of counts) if (n > counts.get(best)!) best = d;
  return best;
}

async function readHead(file: string, n: number): Promise<string> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

const EXT_OF: Record<TableFormat, string> = { csv: 'csv', tsv: 'tsv', parquet: 'parquet', jsonl: 'jsonl' };

function configInvalid(key: string, value: string, why: string): StrataError {
  return new StrataError('CONFIG_INVALID', `invalid value "${value}" for ${key}: ${why}`, {
    hint: `strata config set ${key} VALUE (or strata config unset ${key})`,
    details: { key, value },
  });
}

const UNIT_BYTES: Record<string, number> = { '': 1, b: 1, bytes: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/**
 * DuckDB's own limit for a `tables.memoryLimit` of the whole process: DuckDB's memory_limit bounds
 * its buffer pool, not every allocation it makes, and the process also holds Node and the CLI.
 * DuckDB gets 70% (at least 32 MB), so that the peak RSS of the process stays under the configured
 * size (a by-content diff of two 10M-row versions peaked 10% above a limit given to DuckDB whole).
 */
function duckMemoryLimit(configured: string): string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B|bytes)?\s*$/i.exec(configured)!;
  const bytes = Number(m[1]) * UNIT_BYTES[(m[2] ?? '').toLowerCase()]!;
  return `${Math.max(32, Math.floor((bytes * 0.7) / 1e6))}MB`;
}

class DuckTableEngine implements TableEngine {
  private seq = 0;
  /**
   * Verified copies made or being made in this session, by content id and format: a version read
   * twice is copied once, and a copy started early (a version the caller will need next) runs
   * while other work goes on.
   */
  private readonly copies = new Map<string, Promise<string>>();
  /** The tail of the statements run so far: DuckDB work runs one statement at a time, in order. */
  private tail: Promise<unknown> = Promise.resolve();
  /** temporary copy -> the name shown to the user (REF:PATH) */
  private readonly names = new Map<string, string>();
  /** view name -> the CSV/TSV delimiter it was read with */
  private readonly delimiters = new Map<string, string>();
  /** view name -> the format it is read in */
  private readonly formats = new Map<string, TableFormat>();
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly instance: DuckInstance,
    private readonly conn: DuckConn,
    /** `tables.memoryLimit` as configured (messages name it). */
    private readonly memoryLimit: string,
  ) {}

  static async open(repo: Repository): Promise<DuckTableEngine> {
    const memoryLimit = readString(repo.db, 'tables.memoryLimit') ?? '1GB';
    const threadsRaw = readString(repo.db, 'tables.threads') ?? '2';
    if (!/^[1-9][0-9]{0,3}$/.test(threadsRaw.trim())) throw configInvalid('tables.threads', threadsRaw, 'it must be a positive integer');
    if (!/^\s*\d+(?:\.\d+)?\s*(?:[KMGT]i?B|B|bytes)?\s*$/i.test(memoryLimit)) throw configInvalid('tables.memoryLimit', memoryLimit, 'it must be a size such as 512MB or 2GB');
    const duckLimit = duckMemoryLimit(memoryLimit);
    const dir = join(repo.dir, 'tmp', `tables-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fsp.mkdir(join(dir, 'spill'), { recursive: true });
    const duck = await loadDuck();
    let instance: DuckInstance | null = null;
    try {
      instance = await duck.DuckDBInstance.create(':memory:', {
        memory_limit: duckLimit,
        threads: threadsRaw.trim(),
        temp_directory: join(dir, 'spill'),
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
      });
      const conn = await instance.connect();
      await conn.run(`SET allowed_directories = [${quoteString(dir + '/')}]`);
      await conn.run('SET enable_external_access = false');
      await conn.run('SET lock_configuration = true');
      return new DuckTableEngine(dir, instance, conn, memoryLimit.trim());
    } catch (e) {
      instance?.closeSync();
      await fsp.rm(dir, { recursive: true, force: true });
      if (isStrataError(e)) throw e;
      const msg = (e as Error).message ?? String(e);
      if (/memory/i.test(msg) || /config/i.test(msg)) throw configInvalid('tables.memoryLimit', memoryLimit, msg);
      throw new StrataError('TABLE_QUERY_FAILED', `the table engine could not start: ${msg}`, { cause: e });
    }
  }

  /** A DuckDB error as a StrataError: about a table file -> TABLE_UNREADABLE naming it. */
  private mapError(e: unknown, sql?: string): StrataError {
    if (isStrataError(e)) return e;
    let msg = (e as Error)?.message ?? String(e);
    for (const [tmp, name] of this.names) {
      if (msg.includes(tmp)) {
        msg = msg.split(tmp).join(name);
        return new StrataError('TABLE_UNREADABLE', `${name}: cannot read the table: ${firstLines(msg)}`, {
          hint: 'check the file is a well-formed CSV/TSV (one header, the same number of fields on every line), Parquet or JSON Lines file',
          details: { path: name },
          cause: e,
        });
      }
    }
    if (/Out of Memory Error/i.test(msg)) {
      return new StrataError('TABLE_QUERY_FAILED', `the table work needs more memory than tables.memoryLimit (${this.memoryLimit}) allows: ${firstLines(msg)}`, {
        hint: 'raise the limit, e.g. strata config set tables.memoryLimit 2GB (DuckDB spills to disk beyond 70% of it; reading CSV with 2 threads needs about 300MB)',
        details: { key: 'tables.memoryLimit', value: this.memoryLimit },
        cause: e,
      });
    }
    return new StrataError('TABLE_QUERY_FAILED', `table query failed: ${firstLines(msg)}`, {
      ...(sql ? { details: { sql } } : {}),
      cause: e,
    });
  }

  private reader(format: TableFormat, file: string, delimiter: string): string {
    const f = quoteString(file);
    switch (format) {
      case 'parquet':
        return `read_parquet(${f})`;
      case 'jsonl':
        return `read_json(${f}, format = 'newline_delimited')`;
      case 'csv':
      case 'tsv':
        // skip = 0: the sniffer must not drop leading lines as a preamble (it read `a,b\n1,2\n1,2,3` as 0 rows)
        return `read_csv(${f}, delim = ${quoteString(delimiter)}, header = true, skip = 0, strict_mode = true, null_padding = false, ignore_errors = false)`;
    }
  }

  /** Run `fn` after every statement started before it (callers may overlap copies with queries). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private attachPath(name: string, file: string, format: TableFormat, shown: string): Promise<TableColumn[]> {
    return this.serial(() => this.attachPathNow(name, file, format, shown));
  }

  private async attachPathNow(name: string, file: string, format: TableFormat, shown: string): Promise<TableColumn[]> {
    if (this.closed) throw new StrataError('INTERNAL', 'the table engine is closed');
    this.names.set(file, shown);
    let delimiter = '\t';
    if (format === 'csv') delimiter = sniffDelimiter(await readHead(file, 64 << 10));
    if (format === 'csv' || format === 'tsv') this.delimiters.set(name, delimiter);
    else this.delimiters.delete(name);
    this.formats.set(name, format);
    const view = quoteIdent(name);
    try {
      await this.conn.run(`CREATE OR REPLACE VIEW ${view} AS SELECT * FROM ${this.reader(format, file, delimiter)}`);
      const r = await this.conn.runAndReadAll(`DESCRIBE ${view}`);
      return r.getRowObjectsJS().map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
    } catch (e) {
      const err = this.mapError(e);
      if (err.code === 'TABLE_QUERY_FAILED') {
        throw new StrataError('TABLE_UNREADABLE', `${shown}: cannot read the table: ${err.message.replace(/^table query failed: /, '')}`, {
          hint: 'check the file is a well-formed CSV/TSV, Parquet or JSON Lines file',
          details: { path: shown },
          cause: e,
        });
      }
      throw err;
    }
  }

  async attachFile(name: string, repo: Repository, ref: string, path: string): Promise<TableColumn[]> {
    const { entry, shown } = await this.fileAt(repo, ref, path);
    return this.attachEntry(name, repo, path, entry, shown);
  }

  /** The file entry of `path` in `ref` (a table, or NOT_A_TABLE / PATH_NOT_FOUND naming it). */
  private async fileAt(repo: Repository, ref: string, path: string): Promise<{ entry: FileEntry; shown: string }> {
    const shown = `${ref}:${path}`;
    const format = tableFormatOf(path);
    if (!format) {
      throw new StrataError('NOT_A_TABLE', `${shown} is not a table (tables are .csv, .tsv, .parquet/.pq and .jsonl/.ndjson files)`, {
        details: { path },
      });
    }
    const commit = await resolveRev(repo, ref);
    const c = await repo.readCommit(commit);
    const e = await entryAt(repo, c.tree, path);
    if (!e) throw new StrataError('PATH_NOT_FOUND', `${path} does not exist in ${ref}`, { hint: `see strata ls ${ref}`, details: { path } });
    if (e.type !== 'file') throw new StrataError('NOT_A_TABLE', `${shown} is a ${e.type === 'dir' ? 'directory' : 'symbolic link'}, not a table`, { details: { path } });
    return { entry: e, shown };
  }

  async attachEntry(name: string, repo: Repository, path: string, entry: FileEntry, shown = path): Promise<TableColumn[]> {
    const format = tableFormatOf(path);
    if (!format) {
      throw new StrataError('NOT_A_TABLE', `${shown} is not a table (tables are .csv, .tsv, .parquet/.pq and .jsonl/.ndjson files)`, {
        details: { path },
      });
    }
    return this.attachPath(name, await this.copyOf(repo, path, entry, format), format, shown);
  }

  prefetchEntry(repo: Repository, path: string, entry: FileEntry): void {
    const format = tableFormatOf(path);
    // Its failure is the attach's to report (it awaits the same copy); none is unhandled meanwhile.
    if (format && !this.closed) this.copyOf(repo, path, entry, format).catch(() => undefined);
  }

  /** The verified copy of `entry` in this session's folder: made once, every byte checked (core/repo/verified.ts). */
  private copyOf(repo: Repository, path: string, entry: FileEntry, format: TableFormat): Promise<string> {
    const key = `${entry.id}.${EXT_OF[format]}`;
    let copy = this.copies.get(key);
    if (copy === undefined) {
      const file = join(this.dir, `t${++this.seq}.${EXT_OF[format]}`);
      copy = (async () => {
        const src = await verifiedFileStream(repo.store, path, entry);
        await pipeline(src, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
        return file;
      })();
      this.copies.set(key, copy);
      // A failed copy is not kept: a later attach tries again (and reports its own error).
      copy.catch(() => {
        if (this.copies.get(key) === copy) this.copies.delete(key);
      });
    }
    return copy;
  }

  async attachBytes(name: string, bytes: Buffer, format: TableFormat, shown = name): Promise<TableColumn[]> {
    const file = join(this.dir, `t${++this.seq}.${EXT_OF[format]}`);
    await fsp.writeFile(file, bytes, { flag: 'wx', mode: 0o600 });
    return this.attachPath(name, file, format, shown);
  }

  /** `sql` prepared, refused unless it is one SELECT (the caller destroys the statement). */
  private async prepareSelect(sql: string): Promise<Awaited<ReturnType<DuckConn['prepare']>>> {
    if (this.closed) throw new StrataError('INTERNAL', 'the table engine is closed');
    const duck = await loadDuck();
    let stmt;
    try {
      stmt = await this.conn.prepare(sql);
    } catch (e) {
      throw this.mapError(e, sql);
    }
    if (stmt.statementType !== duck.StatementType.SELECT) {
      stmt.destroySync();
      throw new StrataError('TABLE_QUERY_FAILED', 'table queries are read-only: one SELECT statement', { details: { sql } });
    }
    return stmt;
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.serial(() => this.queryNow<T>(sql, params));
  }

  private async queryNow<T>(sql: string, params: unknown[]): Promise<T[]> {
    const stmt = await this.prepareSelect(sql);
    try {
      if (params.length) stmt.bind(params as never);
      const r = await stmt.runAndReadAll();
      // Dates and times as DuckDB prints them (2024-01-31, not a JS Date at midnight UTC).
      const js = r.getRowObjectsJS();
      const hasDate = js.some((row) => Object.values(row).some((v) => v instanceof Date));
      const json = hasDate ? r.getRowObjectsJson() : null;
      return js.map((row, i) => {
        const o = plain(row) as Record<string, unknown>;
        if (json) for (const [k, v] of Object.entries(row)) if (v instanceof Date) o[k] = json[i]![k];
        return o as T;
      });
    } catch (e) {
      throw this.mapError(e, sql);
    } finally {
      stmt.destroySync();
    }
  }

  materialize(name: string, sql: string): Promise<void> {
    return this.serial(() => this.materializeNow(name, sql));
  }

  private async materializeNow(name: string, sql: string): Promise<void> {
    (await this.prepareSelect(sql)).destroySync();
    try {
      await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(name)} AS ${sql}`);
    } catch (e) {
      throw this.mapError(e, sql);
    }
  }

  delimiterOf(name: string): string | null {
    return this.delimiters.get(name) ?? null;
  }

  formatOf(name: string): TableFormat | null {
    return this.formats.get(name) ?? null;
  }

  exportTo(sql: string, format: TableFormat, opts: { delimiter?: string } = {}): Promise<Buffer> {
    return this.serial(() => this.exportNow(sql, format, opts));
  }

  private async exportNow(sql: string, format: TableFormat, opts: { delimiter?: string }): Promise<Buffer> {
    if (this.closed) throw new StrataError('INTERNAL', 'the table engine is closed');
    const file = join(this.dir, `export${++this.seq}.${EXT_OF[format]}`);
    const to = quoteString(file);
    const options =
      format === 'parquet'
        ? '(FORMAT parquet)'
        : format === 'jsonl'
          ? '(FORMAT json)'
          : `(FORMAT csv, HEADER true, DELIMITER ${quoteString(opts.delimiter ?? (format === 'tsv' ? '\t' : ','))})`;
    try {
      await this.conn.run(`COPY (${sql}) TO ${to} ${options}`);
    } catch (e) {
      throw this.mapError(e, sql);
    }
    try {
      const chunks: Buffer[] = [];
      for await (const c of createReadStream(file)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    } finally {
      await fsp.rm(file, { force: true });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Copies still being written (started early, never attached) finish before their folder goes.
    await Promise.allSettled([...this.copies.values(), this.tail]);
    try {
      this.conn.closeSync();
      this.instance.closeSync();
    } finally {
      await fsp.rm(this.dir, { recursive: true, force: true });
    }
  }
}

function firstLines(msg: string): string {
  return msg.split('\n').filter((l) => l.trim() && !/^\s*\*|Possible fixes|^LINE \d+:|^\s*\^/.test(l)).slice(0, 4).join('; ');
}

/** Open a table engine for `repo`, run `fn`, and close it (temp files removed) whatever happens. */
export async function withTableEngine<T>(repo: Repository, fn: (e: TableEngine) => Promise<T>): Promise<T> {
  const engine = await DuckTableEngine.open(repo);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}
