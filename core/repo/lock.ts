/**
 * The repository's writer lock: `.strata/lock`, holding {pid, op, host, time}. Readers never take
 * it (SQLite WAL lets them read while a writer works). A second writer waits up to `waitMs` and
 * then fails with REPO_BUSY naming the holder. A lock whose process is gone (same host, pid not
 * alive) is stale and taken over.
 *
 * The lock file appears whole or not at all: its content is written to a temp file beside it,
 * fsync'd, and then hard-linked to the lock name. link() is atomic and fails with EEXIST when the
 * name exists, so it is the O_EXCL test and the publication in one step; a crash or a full disk
 * can leave only a temp file (removed) and never an empty lock. An empty or unparsable lock (left
 * by an older strata that wrote in place) older than UNPARSABLE_STALE_MS is stale.
 */
import * as fsp from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { StrataError, fromSystemError } from '../errors/index.js';

export interface LockInfo {
  pid: number;
  op: string;
  host: string;
  time: number;
}

/** An empty/unparsable lock this old is garbage: a whole lock is linked in one step, never written in place. */
const UNPARSABLE_STALE_MS = 2000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (v && typeof v === 'object' && Number.isInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string') {
      return { pid: v.pid as number, op: String(v.op ?? '?'), host: v.host, time: Number(v.time ?? 0) };
    }
  } catch {
    /* unparsable */
  }
  return null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return '';
  }
}

/** The lock's holder; null when it is gone; 'garbage' when present but unparsable. */
async function readLock(path: string): Promise<LockInfo | 'garbage' | null> {
  const text = await readText(path);
  if (text === null) return null;
  return parseLock(text) ?? 'garbage';
}

function diskFull(path: string, e: unknown): StrataError {
  return new StrataError('DISK_FULL', `no space left on device: cannot take the repository lock ${path}`, {
    hint: 'free some disk space (strata gc removes unreachable objects), then retry; nothing was changed',
    cause: e,
  });
}

/** Write the complete lock content to a temp file and fsync it; returns its path. */
async function writeTemp(path: string, info: LockInfo): Promise<string> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fh = await fsp.open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(JSON.stringify(info));
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw diskFull(path, e);
    throw fromSystemError(e, path);
  }
}

/**
 * link(tmp, path): atomic, fails with EEXIST. On a filesystem without hard links (some network
 * and FAT-like ones) the lock is created in place with O_EXCL instead, as before.
 */
async function publish(tmp: string, path: string, info: LockInfo): Promise<void> {
  try {
    await fsp.link(tmp, path);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV') throw e;
  }
  const fh = await fsp.open(path, 'wx', 0o644);
  try {
    await fh.writeFile(JSON.stringify(info));
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(path, { force: true }).catch(() => undefined);
    throw e;
  }
  await fh.close();
}

export class WriteLock {
  private constructor(private readonly path: string, readonly info: LockInfo) {}

  static async acquire(path: string, op: string, waitMs = 2000): Promise<WriteLock> {
    const info: LockInfo = { pid: process.pid, op, host: hostname(), time: Date.now() };
    const deadline = Date.now() + waitMs;
    let delay = 20;
    const tmp = await writeTemp(path, info);
    try {
      for (;;) {
        try {
          await publish(tmp, path, info);
          await removeDeadTemps(path);
          return new WriteLock(path, info);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOSPC' || code === 'EDQUOT') throw diskFull(path, e);
          if (code !== 'EEXIST') throw fromSystemError(e, path);
        }
        const text = await readText(path);
        const holder = text === null ? null : (parseLock(text) ?? 'garbage');
        if (holder === null) continue; // released between link() and read: try again at once
        if (holder === 'garbage') {
          // Whole locks are linked in one step, so an empty or unparsable one is not being written:
          // it was left by an older strata (written in place, then killed) or damaged. Give a
          // writer of that older kind a moment, then take it over.
          const st = await fsp.stat(path).catch(() => null);
          if (!st || Date.now() - st.mtimeMs > UNPARSABLE_STALE_MS) {
            await takeOver(path, text!);
            continue;
          }
        } else if (holder.host === info.host && !alive(holder.pid)) {
          await takeOver(path, text!); // its process died (kill -9, crash)
          continue;
        }
        if (Date.now() >= deadline) {
          const who = holder !== 'garbage' ? `pid ${holder.pid}, operation ${holder.op}${holder.host !== info.host ? ` on ${holder.host}` : ''}` : 'a lock file being written';
          throw new StrataError('REPO_BUSY', `repository is busy (${who})`, {
            hint:
              holder !== 'garbage' && holder.host !== info.host
                ? `wait for the other strata command to finish; if no strata runs on ${holder.host}, remove ${path}`
                : 'wait for the other strata command to finish, then retry',
            details: holder !== 'garbage' ? { ...holder } : undefined,
          });
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 200);
      }
    } finally {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    const cur = await readLock(this.path);
    if (cur && cur !== 'garbage' && cur.pid === this.info.pid && cur.time === this.info.time) await fsp.rm(this.path, { force: true });
  }
}

/**
 * Remove a stale lock whose content was `seen`. It is renamed away first and checked: if another
 * process took the stale lock over and linked its own in between, that live lock is put back.
 */
async function takeOver(path: string, seen: string): Promise<void> {
  const stale = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.rename(path, stale);
  } catch {
    return; // someone else took it over first
  }
  const moved = await readText(stale);
  if (moved !== null && moved !== seen) await fsp.link(stale, path).catch(() => undefined);
  await fsp.rm(stale, { force: true }).catch(() => undefined);
}

/** Temp files of lock attempts by processes that died (kill -9 between write and link). */
async function removeDeadTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) await fsp.rm(join(dir, n), { force: true }).catch(() => undefined);
  }
}
