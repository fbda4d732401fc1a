/**
 * `strata lineage flush`: send the OpenLineage events spooled in `.strata/lineage/spool` (the ones
 * an HTTP endpoint did not take during a run) to the configured endpoint, oldest first, with the
 * usual retries; `--list` shows the spool and the dead letters (events the server rejected)
 * without sending anything.
 */
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import { httpEmitterFor, openLineageSettings, repoSpool } from '../lineage/openlineage.js';
import type { FlushResult, SpoolEntry } from '../lineage/spool.js';
import type { Repository } from '../repo/index.js';
import type { ProgressSink } from '../repo/worktree.js';

export interface LineageFlushOptions {
  /** Only list what is spooled and dead-lettered; send nothing. */
  list?: boolean;
  progress?: ProgressSink;
}

export interface LineageFlushResult {
  /** The endpoint (credentials removed), or null when none is configured. */
  endpoint: string | null;
  /** Where the endpoint setting came from (openlineage.yml path, OPENLINEAGE_URL, openlineage.url, ...). */
  source: string | null;
  /** The spool folder, relative to the project root. */
  spool: string;
  /** The dead-letter folder, relative to the project root. */
  dead: string;
  /** With `list`: the spooled events, oldest first. */
  spooled?: SpoolEntry[];
  /** With `list`: the dead letters, oldest first, with the server's reason. */
  deadLetters?: SpoolEntry[];
  /** Without `list`: what the flush did. */
  flush?: FlushResult;
  /** When the flush stopped: what to do about it. */
  hint?: string;
  /** Settings problems (a malformed openlineage.yml, ...). */
  warnings: string[];
}

export async function lineageFlush(repo: Repository, opts: LineageFlushOptions = {}): Promise<LineageFlushResult> {
  const settings = openLineageSettings(repo.db);
  const spool = repoSpool(repo.dir);
  const base = {
    endpoint: null as string | null,
    source: settings.source,
    spool: join(spool.label, 'spool'),
    dead: join(spool.label, 'dead'),
    warnings: [...settings.warnings],
  };
  const notices: string[] = [];
  let emitter;
  try {
    emitter = httpEmitterFor(settings, repo.dir, (m) => notices.push(m));
  } catch (e) {
    if (!opts.list) throw e;
    base.warnings.push(`OpenLineage: ${(e as Error).message}`);
    emitter = null;
  }
  base.endpoint = emitter?.target ?? null;
  if (opts.list) return { ...base, spooled: await spool.entries('spool'), deadLetters: await spool.entries('dead') };
  const waiting = (await spool.names('spool')).length;
  if (!emitter) {
    if (waiting === 0) return { ...base, flush: { sent: 0, deadLettered: [], remaining: 0, stopped: null } };
    throw new StrataError('CONFIG_INVALID', `${waiting} OpenLineage event(s) are spooled in ${base.spool} but no OpenLineage HTTP endpoint is configured`, {
      hint: 'set OPENLINEAGE_URL, an http transport in openlineage.yml (OPENLINEAGE_CONFIG), or strata config set openlineage.url URL; strata lineage flush --list shows the events',
    });
  }
  const flush = await spool.flush((body) => emitter.deliver(body), { ...(opts.progress ? { progress: opts.progress } : {}), waitMs: 0 });
  const hint = !flush.stopped
    ? undefined
    : flush.stopped.kind === 'auth'
      ? settings.keyFix
      : flush.stopped.kind === 'busy'
        ? 'wait for the other strata process to finish, then run strata lineage flush again'
        : `check that ${emitter.target} is up and reachable (it was set by ${settings.source ?? 'the configuration'}), then run strata lineage flush again; the next run or repro also tries`;
  return { ...base, flush, ...(hint ? { hint } : {}), warnings: [...base.warnings, ...notices] };
}
