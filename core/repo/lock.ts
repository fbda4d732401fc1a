/**
 * The repository's writer lock: `.strata/lock`, created with O_EXCL and holding {pid, op, host,
 * time}. Readers never take it (SQLite WAL lets them read while a writer works). A second writer
 * waits up to `waitMs` and then fails with REPO_BUSY naming the holder. A lock whose process is
 * gone (same host, pid not alive) is stale and taken over.
 */
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { StrataError } from '../errors/index.js';

export interface LockInfo {
  pid: number;
  op: string;
  host: string;
  time: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockInfo | null> {
  try {
    return JSON.parse(await fsp.readFile(path, 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

export class WriteLock {
  private constructor(private readonly path: string, readonly info: LockInfo) {}

  static async acquire(path: string, op: string, waitMs = 2000): Promise<WriteLock> {
    const info: LockInfo = { pid: process.pid, op, host: hostname(), time: Date.now() };
    const deadline = Date.now() + waitMs;
    let delay = 20;
    for (;;) {
      try {
        const fh = await fsp.open(path, 'wx', 0o644);
        try {
          await fh.writeFile(JSON.stringify(info));
        } finally {
          await fh.close();
        }
        return new WriteLock(path, info);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = await readLock(path);
      if (holder && holder.host === info.host && !alive(holder.pid)) {
        // Stale: its process died (kill -9, crash). Take it over atomically.
        const stale = `${path}.stale-${process.pid}`;
        try {
          await fsp.rename(path, stale);
          await fsp.rm(stale, { force: true });
        } catch {
          /* someone else took it over first */
        }
        continue;
      }
      if (holder === null) {
        // Being written right now, or empty after a crash between create and write.
        const st = await fsp.stat(path).catch(() => null);
        if (st && Date.now() - st.mtimeMs > 10_000) {
          await fsp.rm(path, { force: true });
          continue;
        }
      }
      if (Date.now() >= deadline) {
        const who = holder ? `pid ${holder.pid}, operation ${holder.op}` : 'unknown process';
        throw new StrataError('REPO_BUSY', `repository is busy (${who})`, {
          hint: 'wait for the other strata command to finish, then retry',
          details: holder ? { ...holder } : undefined,
        });
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 200);
    }
  }

  async release(): Promise<void> {
    const cur = await readLock(this.path);
    if (cur && cur.pid === this.info.pid && cur.time === this.info.time) await fsp.rm(this.path, { force: true });
  }
}
