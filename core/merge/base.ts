/**
 * The merge base of two commits: their best common ancestor — a commit reachable from both that is
 * not an ancestor of another such commit. When history has several (criss-cross merges), the
 * newest is used (git's "recursive" strategy would merge them into a virtual base first; here the
 * paths where the bases differ surface as conflicts instead, never as a silent wrong result).
 */
import type { Id } from '../model/index.js';
import type { Repository } from '../repo/index.js';

async function ancestors(repo: Repository, start: Id): Promise<Set<Id>> {
  const seen = new Set<Id>();
  const stack = [start];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const p of (await repo.readCommit(id)).parents) if (!seen.has(p)) stack.push(p);
  }
  return seen;
}

export async function mergeBase(repo: Repository, a: Id, b: Id): Promise<Id | null> {
  if (a === b) return a;
  const ofA = await ancestors(repo, a);
  if (ofA.has(b)) return b;
  // Walk from b; stop at the first commits that are ancestors of a (the candidates).
  const candidates: Id[] = [];
  const seen = new Set<Id>();
  const stack = [b];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    if (ofA.has(id)) {
      candidates.push(id);
      continue;
    }
    for (const p of (await repo.readCommit(id)).parents) if (!seen.has(p)) stack.push(p);
  }
  if (candidates.length <= 1) return candidates[0] ?? null;
  // Drop candidates that are ancestors of other candidates.
  const best: Id[] = [];
  for (const c of candidates) {
    let below = false;
    for (const d of candidates) {
      if (d !== c && (await ancestors(repo, d)).has(c)) {
        below = true;
        break;
      }
    }
    if (!below) best.push(c);
  }
  const timed = await Promise.all(best.map(async (id) => ({ id, time: (await repo.readCommit(id)).time })));
  timed.sort((x, y) => y.time - x.time || (x.id < y.id ? -1 : 1));
  return timed[0]!.id;
}
