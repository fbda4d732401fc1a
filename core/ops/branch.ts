import { StrataError } from '../errors/index.js';
import { HEADS, REMOTES, TAGS, resolveRev, validateRefName } from '../repo/refs.js';
import type { Repository } from '../repo/index.js';

export interface BranchInfo {
  name: string;
  commit: string;
  current: boolean;
  /** Set on remote-tracking branches (refs/remotes/<remote>/<branch>, named <remote>/<branch>). */
  remote?: string;
  /** The commit the branch pointed at before branch -f moved it. */
  previous?: string;
}

/** Local branches (default), remote-tracking ones (`remotes`: branch -r) or both (`all`: branch -a). */
export async function listBranches(repo: Repository, opts: { which?: 'local' | 'remote' | 'all' } = {}): Promise<BranchInfo[]> {
  const which = opts.which ?? 'local';
  const head = repo.head();
  const out: BranchInfo[] = [];
  if (which !== 'remote') out.push(...repo.db.listRefs(HEADS).map((r) => ({ name: r.name.slice(HEADS.length), commit: r.target, current: r.name.slice(HEADS.length) === head.branch })));
  if (which !== 'local') {
    for (const r of repo.db.listRefs(REMOTES)) {
      const name = r.name.slice(REMOTES.length);
      out.push({ name, commit: r.target, current: false, remote: name.slice(0, name.indexOf('/')) });
    }
  }
  return out;
}

export async function createBranch(repo: Repository, name: string, startPoint = 'HEAD', force = false): Promise<BranchInfo> {
  return repo.withWriteLock('branch', async () => {
    validateRefName(name, 'branch');
    const commit = await resolveRev(repo, startPoint);
    const existing = repo.db.getRef(HEADS + name);
    if (existing && !force) throw new StrataError('REF_EXISTS', `branch ${name} already exists`, { hint: `pick another name, or use --force to move it` });
    repo.db.tx(() => repo.db.casRef(HEADS + name, existing?.target ?? null, commit));
    return { name, commit, current: repo.head().branch === name, ...(existing ? { previous: existing.target } : {}) };
  });
}

/**
 * Delete every named branch (branch -d a b). All are checked first — each exists, none is checked
 * out, and without `force` each one's commits are on another branch or tag (or HEAD) — and the first
 * that fails is named in the error with nothing deleted; then all go in one transaction.
 */
export async function deleteBranches(repo: Repository, names: string[], force = false): Promise<Array<{ name: string; commit: string }>> {
  return repo.withWriteLock('branch', async () => {
    const head = repo.head();
    const doomed = [...new Set(names)];
    const targets = new Map<string, string>();
    for (const name of doomed) {
      const ref = repo.db.getRef(HEADS + name);
      if (!ref) throw new StrataError('UNKNOWN_REF', `no branch named ${name}${doomed.length > 1 ? ': nothing was deleted' : ''}`, { hint: 'list branches with strata branch' });
      if (head.branch === name) throw new StrataError('INVALID_ARGUMENT', `cannot delete the checked-out branch ${name}${doomed.length > 1 ? ': nothing was deleted' : ''}`, { hint: 'switch to another branch first' });
      targets.set(name, ref.target);
    }
    if (!force) {
      // What stays after the deletion: every other branch, every tag, HEAD.
      const keep = [...repo.db.listRefs(HEADS), ...repo.db.listRefs(TAGS)].filter((r) => !(r.name.startsWith(HEADS) && targets.has(r.name.slice(HEADS.length)))).map((r) => r.target);
      if (head.commit) keep.push(head.commit);
      const reachable = new Set<string>();
      const stack = [...keep];
      while (stack.length) {
        const id = stack.pop()!;
        if (reachable.has(id)) continue;
        reachable.add(id);
        stack.push(...(await repo.readCommit(id)).parents);
      }
      for (const [name, target] of targets) {
        if (!reachable.has(target)) {
          throw new StrataError('INVALID_ARGUMENT', `branch ${name} has commits not on any other branch or tag${doomed.length > 1 ? ': nothing was deleted' : ''}`, {
            hint: `merge it first (strata merge ${name}) or tag it, or use -D to delete anyway`,
            details: { branch: name },
          });
        }
      }
    }
    repo.db.tx(() => {
      for (const [name, target] of targets) repo.db.casRef(HEADS + name, target, null);
    });
    return [...targets].map(([name, commit]) => ({ name, commit }));
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
