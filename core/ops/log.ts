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
  /** Start from every branch, tag and remote-tracking ref (and HEAD), not just REF (log --all). */
  all?: boolean;
  /** Never show a commit before one of its children (log --graph needs this; clock skew can break time order). */
  topo?: boolean;
}

export async function log(repo: Repository, opts: LogOptions = {}): Promise<LogEntry[]> {
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 0)) {
    throw new StrataError('INVALID_ARGUMENT', `-n must be a whole number, not ${JSON.stringify(String(opts.limit))}`, { hint: 'e.g. strata log -n 10' });
  }
  const head = repo.head();
  const paths = opts.paths ?? [];
  if (opts.all) {
    if (opts.ref) throw new StrataError('INVALID_ARGUMENT', 'give REF or --all, not both', { hint: 'strata log --all' });
    const starts = new Set<Id>();
    if (head.commit) starts.add(head.commit);
    for (const prefix of ['refs/heads/', 'refs/tags/', 'refs/remotes/']) for (const r of repo.db.listRefs(prefix)) starts.add(r.target);
    if (starts.size === 0) return [];
    return walkLog(repo, [...starts], { limit: opts.limit, paths, topo: opts.topo });
  }
  if (!opts.ref && !head.commit) return [];
  const start = await resolveRev(repo, opts.ref ?? 'HEAD');
  return walkLog(repo, start, { limit: opts.limit, paths, topo: opts.topo });
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

/**
 * Commits reachable from `start` (one id or several), newest first (by time, ties by id). With
 * `topo`, a commit waits until every child of it that is reachable has been listed.
 */
export async function walkLog(repo: Repository, start: Id | Id[], opts: { limit?: number; paths?: string[]; topo?: boolean } = {}): Promise<LogEntry[]> {
  const refs = refsByCommit(repo);
  const out: LogEntry[] = [];
  const starts = [...new Set(Array.isArray(start) ? start : [start])];
  const seen = new Set<Id>(starts);
  const queue: Array<{ id: Id; c: Commit }> = await Promise.all(starts.map(async (id) => ({ id, c: await repo.readCommit(id) })));
  const waiting = opts.topo ? await childCounts(repo, starts) : null;
  const limit = opts.limit ?? Infinity;
  while (queue.length && out.length < limit) {
    queue.sort((a, b) => b.c.time - a.c.time || (a.id < b.id ? -1 : 1));
    const at = waiting ? queue.findIndex((q) => !waiting.get(q.id)) : 0;
    const { id, c } = queue.splice(at, 1)[0]!;
    if (waiting) for (const p of c.parents) waiting.set(p, (waiting.get(p) ?? 1) - 1);
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

/** For every commit reachable from `starts`: how many reachable commits name it as a parent. */
async function childCounts(repo: Repository, starts: Id[]): Promise<Map<Id, number>> {
  const n = new Map<Id, number>();
  const seen = new Set<Id>();
  const stack = [...starts];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const p of (await repo.readCommit(id)).parents) {
      n.set(p, (n.get(p) ?? 0) + 1);
      stack.push(p);
    }
  }
  return n;
}
