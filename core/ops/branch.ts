import { StrataError } from '../errors/index.js';
import { HEADS, resolveRev, validateRefName } from '../repo/refs.js';
import type { Repository } from '../repo/index.js';

export interface BranchInfo {
  name: string;
  commit: string;
  current: boolean;
}

export async function listBranches(repo: Repository): Promise<BranchInfo[]> {
    const head = repo.head();
  const out = repo.db.listRefs(HEADS).map((r) => ({ name: r.name.slice(HEADS.length), commit: r.target, current: r.name.slice(HEADS.length) === head.branch }));
  return out;
}

export async function createBranch(repo: Repository, name: string, startPoint = 'HEAD', force = false): Promise<BranchInfo> {
  return repo.withWriteLock('branch', async () => {
    validateRefName(name, 'branch');
    const commit = await resolveRev(repo, startPoint);
    const existing = repo.db.getRef(HEADS + name);
    if (existing && !force) throw new StrataError('REF_EXISTS', `branch ${name} already exists`, { hint: `pick another name, or use --force to move it` });
    repo.db.tx(() => repo.db.casRef(HEADS + name, existing?.target ?? null, commit));
    return { name, commit, current: repo.head().branch === name };
  });
}

export async function deleteBranch(repo: Repository, name: string, force = false): Promise<{ name: string; commit: string }> {
  return repo.withWriteLock('branch', async () => {
    const ref = repo.db.getRef(HEADS + name);
    if (!ref) throw new StrataError('UNKNOWN_REF', `no branch named ${name}`, { hint: 'list branches with strata branch' });
    const head = repo.head();
    if (head.branch === name) throw new StrataError('INVALID_ARGUMENT', `cannot delete the checked-out branch ${name}`, { hint: 'switch to another branch first' });
    if (!force) {
      // Refuse if its commits are not reachable from any other branch or tag.
      const others = [...repo.db.listRefs(HEADS), ...repo.db.listRefs('refs/tags/')].filter((r) => r.name !== HEADS + name).map((r) => r.target);
      if (head.commit) others.push(head.commit);
      const reachable = new Set<string>();
      const stack = [...others];
      while (stack.length) {
        const id = stack.pop()!;
        if (reachable.has(id)) continue;
        reachable.add(id);
        if (id === ref.target) break;
        stack.push(...(await repo.readCommit(id)).parents);
      }
      if (!reachable.has(ref.target)) {
        throw new StrataError('INVALID_ARGUMENT', `branch ${name} has commits not on any other branch or tag`, { hint: `merge or tag them, or use --force (-D) to delete anyway` });
      }
    }
    repo.db.tx(() => repo.db.casRef(HEADS + name, ref.target, null));
    return { name, commit: ref.target };
  });
}

export async function renameBranch(repo: Repository, from: string, to: string): Promise<BranchInfo> {
  return repo.withWriteLock('branch', async () => {
    validateRefName(to, 'branch');
    const ref = repo.db.getRef(HEADS + from);
    if (!ref) throw new StrataError('UNKNOWN_REF', `no branch named ${from}`, { hint: 'list branches with strata branch' });
    if (repo.db.getRef(HEADS + to)) throw new StrataError('REF_EXISTS', `branch ${to} already exists`, { hint: 'pick another name' });
    const head = repo.head();
    repo.db.tx(() => {
      repo.db.casRef(HEADS + to, null, ref.target);
      repo.db.casRef(HEADS + from, ref.target, null);
      if (head.branch === from) repo.db.casRef('HEAD', `ref: ${HEADS}${from}`, `ref: ${HEADS}${to}`);
    });
    return { name: to, commit: ref.target, current: head.branch === from };
  });
}
