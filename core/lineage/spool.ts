/**
 * The local spool of OpenLineage events an HTTP endpoint did not take: `.strata/lineage/spool/`,
 * one file per event, named by a UUIDv7 taken when it was spooled (so the names sort in the order
 * the events were made: a START before its COMPLETE), each written whole or not at all (a temp file
 * beside it, fsync'd, renamed). Events the server rejected (HTTP 400/422) go to
 * `.strata/lineage/dead/` instead, with the server's answer in `<name>.reason.txt` beside them.
 *
 * A file holds the event's JSON exactly as it is sent: no header, so never an API key (keys travel
 * in the Authorization header only). Flushing sends the oldest first and stops at the first event
 * the endpoint does not take (unreachable, or the key refused), so the order is kept; one flush at
 * a time (`.strata/lineage/flush.lock`, the writer lock's protocol).
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fromSystemError, isStrataError } from '../errors/index.js';
import { WriteLock } from '../repo/lock.js';
import { redactText } from '../config/redact.js';
import type { ProgressSink } from '../repo/worktree.js';
import { uuidv7 } from './openlineage.js';

/** What one delivery of one event came to, after its retries. */
export type SendOutcome =
  | { kind: 'sent' }
  /** HTTP 400/422: the server refused the event itself; sending it again cannot help. */
  | { kind: 'rejected'; status: number; reason: string }
  /** HTTP 401/403: the credentials; the event is fine and becomes sendable once they are. */
  | { kind: 'auth'; status: number; reason: string }
  /** Unreachable, timed out or kept failing (retries spent), or an answer that is not retried. */
  | { kind: 'failed'; reason: string };

export interface SpoolEntry {
  /** File name in the spool (or dead-letter) folder. */
  name: string;
  eventType: string | null;
  job: string | null;
  runId: string | null;
  eventTime: string | null;
  bytes: number;
  /** Dead letters: the server's answer. */
  reason?: string;
}

export interface FlushResult {
  sent: number;
  /** Events the server rejected during this flush, now in the dead-letter folder. */
  deadLettered: Array<{ name: string; reason: string }>;
  /** Events still spooled afterwards. */
  remaining: number;
  /** Why the flush stopped before the end, or null. */
  stopped: { kind: 'auth' | 'failed' | 'busy'; reason: string } | null;
}

const EVENT_FILE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;
/** A temp file this old is left over from a crash. */
const STALE_TEMP_MS = 3_600_000;
/** How much of a server's answer is kept beside a dead letter. */
const REASON_MAX = 4000;

export class Spool {
  readonly spoolDir: string;
  readonly deadDir: string;

  /** `dir`: the repository's `.strata/lineage`; `label`: how messages name it (`.strata/lineage`). */
  constructor(
    readonly dir: string,
    readonly label: string,
  ) {
    this.spoolDir = join(dir, 'spool');
    this.deadDir = join(dir, 'dead');
  }

  /** Write `body` as the file `name` of `folder`, whole or not at all. */
  private async writeAtomic(folder: string, name: string, body: string): Promise<void> {
    const final = join(folder, name);
    const tmp = join(folder, `.tmp-${randomBytes(6).toString('hex')}-${name}`);
    try {
      await fsp.mkdir(folder, { recursive: true });
      const fh = await fsp.open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(body, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, final);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw fromSystemError(e, final);
    }
  }

  /** Keep one event (its JSON as sent); the file name, which sorts after every earlier one. */
  async add(body: string): Promise<string> {
    const name = `${uuidv7()}.json`;
    await this.writeAtomic(this.spoolDir, name, body);
    return name;
  }

  /** Put an event the server rejected in the dead-letter folder, its reason beside it; the file name. */
  async deadLetter(body: string, reason: string, name: string = `${uuidv7()}.json`): Promise<string> {
    await this.writeAtomic(this.deadDir, reasonName(name), redactText(reason).slice(0, REASON_MAX) + '\n');
    await this.writeAtomic(this.deadDir, name, body);
    return name;
  }

  /** Temp files a process that died mid-write left (older than an hour: no writer is still at it). */
  private async removeStaleTemps(): Promise<void> {
    for (const folder of [this.spoolDir, this.deadDir]) {
      const names = await fsp.readdir(folder).catch(() => [] as string[]);
      for (const n of names.filter((x) => x.startsWith('.tmp-'))) {
        const st = await fsp.stat(join(folder, n)).catch(() => null);
        if (st && Date.now() - st.mtimeMs > STALE_TEMP_MS) await fsp.rm(join(folder, n), { force: true });
      }
    }
  }

  /** Names of the spooled (or dead-lettered) events, oldest first. */
  async names(which: 'spool' | 'dead' = 'spool'): Promise<string[]> {
    let all: string[];
    try {
      all = await fsp.readdir(which === 'spool' ? this.spoolDir : this.deadDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromSystemError(e, which === 'spool' ? this.spoolDir : this.deadDir);
    }
    return all.filter((n) => EVENT_FILE.test(n)).sort();
  }

  /** The spooled (or dead-lettered) events with what they are, oldest first. */
  async entries(which: 'spool' | 'dead'): Promise<SpoolEntry[]> {
    const folder = which === 'spool' ? this.spoolDir : this.deadDir;
    const out: SpoolEntry[] = [];
    for (const name of await this.names(which)) {
      let body: string;
      try {
        body = await fsp.readFile(join(folder, name), 'utf8');
      } catch {
        continue; // sent or moved meanwhile
      }
      const ev = parseEvent(body);
      const entry: SpoolEntry = {
        name,
        eventType: ev?.eventType ?? null,
        job: ev?.job ?? null,
        runId: ev?.runId ?? null,
        eventTime: ev?.eventTime ?? null,
        bytes: Buffer.byteLength(body),
      };
      if (which === 'dead') {
        const reason = await fsp.readFile(join(folder, reasonName(name)), 'utf8').catch(() => null);
        if (reason !== null) entry.reason = reason.trim();
      }
      out.push(entry);
    }
    return out;
  }

  /**
   * Send the spooled events, oldest first, through `send`. A sent event's file is removed; a
   * rejected one moves to the dead-letter folder; the first that cannot be sent now (unreachable,
   * key refused) stops the flush, keeping it and the later ones in order. `waitMs`: how long to
   * wait for another process's flush (then `stopped.kind` is `busy`).
   */
  async flush(send: (body: string) => Promise<SendOutcome>, opts: { progress?: ProgressSink; waitMs?: number } = {}): Promise<FlushResult> {
    const result: FlushResult = { sent: 0, deadLettered: [], remaining: 0, stopped: null };
    const names = await this.names('spool');
    if (names.length === 0) return result;
    let lock: WriteLock;
    try {
      await fsp.mkdir(this.dir, { recursive: true });
      lock = await WriteLock.acquire(join(this.dir, 'flush.lock'), 'lineage flush', opts.waitMs ?? 2000);
    } catch (e) {
      if (!isStrataError(e, 'REPO_BUSY')) throw e;
      result.remaining = names.length;
      result.stopped = { kind: 'busy', reason: `another strata process is sending the spooled events (${join(this.label, 'flush.lock')})` };
      return result;
    }
    try {
      await this.removeStaleTemps();
      let bytes = 0;
      for (const [i, name] of (await this.names('spool')).entries()) {
        const path = join(this.spoolDir, name);
        let body: string;
        try {
          body = await fsp.readFile(path, 'utf8');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw fromSystemError(e, path);
        }
        bytes += Buffer.byteLength(body);
        if (!parseEvent(body)) {
          await this.deadLetter(body, 'not an OpenLineage event: the spool file is not a JSON object (damaged?)', name);
          await fsp.rm(path, { force: true });
          result.deadLettered.push({ name, reason: 'not a JSON event' });
          continue;
        }
        const r = await send(body);
        if (r.kind === 'sent') {
          await fsp.rm(path, { force: true });
          result.sent++;
        } else if (r.kind === 'rejected') {
          await this.deadLetter(body, r.reason, name);
          await fsp.rm(path, { force: true });
          result.deadLettered.push({ name, reason: r.reason });
        } else {
          result.stopped = { kind: r.kind, reason: r.reason };
          break;
        }
        opts.progress?.({ phase: 'sending spooled OpenLineage events', done: i + 1, total: names.length, bytes });
      }
    } finally {
      await lock.release();
    }
    result.remaining = (await this.names('spool')).length;
    return result;
  }
}

function reasonName(name: string): string {
  return name.replace(/\.json$/, '.reason.txt');
}

function parseEvent(body: string): { eventType: string | null; job: string | null; runId: string | null; eventTime: string | null } | null {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const e = v as { eventType?: unknown; eventTime?: unknown; job?: { name?: unknown }; run?: { runId?: unknown } };
  const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
  return { eventType: str(e.eventType), job: str(e.job?.name), runId: str(e.run?.runId), eventTime: str(e.eventTime) };
}
