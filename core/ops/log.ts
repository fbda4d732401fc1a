import type { Commit, Id } from '../model/index.js';
import { StrataError } from '../errors/index.js';
import { resolveRev } from '../repo/refs.js';
import { entryAt } from '../repo/tree.js';
import type { Repository } from '../repo/index.js';

export interface LogEntry extends Commit {
  id: Id;
  /** Branches and tags pointing at this commit. */
  refs: string[];
}

export interface LogOptions {
  ref?: string;
  limit?: number;
  /** Only commits that changed something under these paths. */
  paths?: string[];
}

export async function log(repo: Repository, opts: LogOptions = {}): Promise<LogEntry[]> {
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 0)) {
    throw new StrataError('INVALID_ARGUMENT', `-n must be a whole number, not ${JSON.stringify(String(opts.limit))}`, { hint: 'e.g. strata log -n 10' });
  }
    const head = repo.head();
  if (!opts.ref && !head.commit) return [];
  const start = await resolveRev(repo, opts.ref ?? 'HEAD');
  const paths = opts.paths ?? [];
  return walkLog(repo, start, { limit: opts.limit, paths });
}

export function refsByCommit(repo: Repository): Map<Id, string[]> {
  const m = new Map<Id, string[]>();
  const push = (id: string, name: string) => {
    const l = m.get(id) ?? [];
    l.push(name);
    m.set(id, l);
  };
  for (const r of repo.db.listRefs('refs/heads/')) push(r.target, r.name.slice(11));
  for (const r of repo.db.listRefs('refs/tags/')) push(r.target, 'tag: ' + r.name.slice(10));
  for (const r of repo.db.listRefs('refs/remotes/')) push(r.target, r.name.slice(13));
  return m;
}

/** Commits reachable from `start`, newest first (by time, ties by id). */
export async function walkLog(repo: Repository, start: Id, opts: { limit?: number; paths?: string[] } = {}): Promise<LogEntry[]> {
  const refs = refsByCommit(repo);
  const out: LogEntry[] = [];
  const seen = new Set<Id>([start]);
  const queue: Array<{ id: Id; c: Commit }> = [{ id: start, c: await repo.readCommit(start) }];
  const limit = opts.limit ?? Infinity;
  while (queue.length && out.length < limit) {
    queue.sort((a, b) => b.c.time - a.c.time || (a.id < b.id ? -1 : 1));
    const { id, c } = queue.shift()!;
    let include = true;
    if (opts.paths && opts.paths.length) {
      include = false;
      const parents = await Promise.all(c.parents.map((p) => repo.readCommit(p)));
      for (const p of opts.paths) {
        const mine = await entryAt(repo, c.tree, p);
        if (parents.length === 0) {
          if (mine) include = true;
        } else {
          for (const pc of parents) {
            const theirs = await entryAt(repo, pc.tree, p);
            if ((mine?.id ?? null) !== (theirs?.id ?? null)) include = true;
          }
        }
        if (include) break;
      }
    }
    if (include) out.push({ id, ...c, refs: refs.get(id) ?? [] });
    for (const p of c.parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      queue.push({ id: p, c: await repo.readCommit(p) });
    }
  }
  return out;
}
