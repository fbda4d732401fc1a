/**
 * A server state file (tokens.json, s3-keys.json): a JSON document `{version: 1, <field>: [...]}`
 * in the server's state folder, mode 0600, replaced atomically, and re-read when it changes on disk
 * (by mtime, size and inode), so `strata serve token|key ...` take effect on a running server.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StrataError } from '../core/errors/index.js';

export class StateFile<T> {
  readonly file: string;
  private cache: { key: string; items: T[] } | null = null;

  constructor(
    readonly stateDir: string,
    name: string,
    private readonly field: string,
    /** What the file holds, for messages ("token file"), and how to start over. */
    private readonly what: { label: string; hint: string },
  ) {
    this.file = join(stateDir, name);
  }

  load(): T[] {
    let key: string;
    try {
      const st = statSync(this.file);
      key = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return [];
    }
    if (this.cache?.key === key) return this.cache.items;
    let items: T[];
    try {
      const raw = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, unknown>;
      const v = raw[this.field];
      items = Array.isArray(v) ? (v as T[]) : [];
    } catch (e) {
      throw new StrataError('CONFIG_INVALID', `cannot read the ${this.what.label} ${this.file}: ${(e as Error).message}`, { hint: this.what.hint });
    }
    this.cache = { key, items };
    return items;
  }

  save(items: T[]): void {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, [this.field]: items }, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
    this.cache = null;
  }
}
