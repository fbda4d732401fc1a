/** strata push [REMOTE] [BRANCH | SRC:DST | --all] [--tags] [--force] [-j N]; push [REMOTE] --delete BRANCH... (or :BRANCH) */
import { StrataError } from '../errors/index.js';
import { defaultRemote, getRemote, type RemoteConfig } from '../remote/config.js';
import { openRemote } from '../remote/open.js';
import { pushRuns } from '../remote/runs.js';
import { deleteRemoteBranches, pushRefs, type PushResult } from '../remote/transfer.js';
import { HEADS, TAGS, resolveRev, validateRefName } from '../repo/refs.js';
import type { OpOptions } from './context.js';
import type { Repository } from '../repo/index.js';


export interface PushOptions extends OpOptions {
  remote?: string;
  /** Local branch (or, with `to`, any revision) to push. */
  branch?: string;
  /** Remote branch to move (default: the same name as `branch`): push SRC:DST. */
  to?: string;
  /** Remote branches to delete (push --delete B..., push REMOTE :B); nothing else is pushed. */
  delete?: string[];
  all?: boolean;
  tags?: boolean;
  force?: boolean;
  jobs?: number;
}

export function checkJobs(jobs: number | undefined): number {
  const j = jobs ?? 16;
  if (!Number.isInteger(j) || j < 1 || j > 256) throw new StrataError('INVALID_ARGUMENT', `--jobs must be an integer from 1 to 256, not ${jobs}`, { hint: 'the default is 16' });
  return j;
}

export async function push(repo: Repository, opts: PushOptions = {}): Promise<PushResult> {
  const jobs = checkJobs(opts.jobs);
  if (opts.all && opts.branch) throw new StrataError('INVALID_ARGUMENT', 'give a branch or --all, not both', { hint: 'strata push origin --all' });
  const name = opts.remote ?? defaultRemote(repo.db);
  const cfg = getRemote(repo.db, name);
  if (opts.delete) return pushDelete(repo, name, cfg, opts.delete, jobs, opts);
  if (opts.to !== undefined) {
    if (opts.all) throw new StrataError('INVALID_ARGUMENT', 'give SRC:DST or --all, not both', { hint: `strata push ${name} SRC:DST` });
    validateRefName(opts.to, 'branch');
  }
  const refs: Array<{ ref: string; commit: string }> = [];
  if (opts.all) {
    for (const r of repo.db.listRefs(HEADS)) refs.push({ ref: 'heads/' + r.name.slice(HEADS.length), commit: r.target });
  } else {
    const head = repo.head();
    const branch = opts.branch ?? head.branch;
    if (!branch) throw new StrataError('INVALID_ARGUMENT', 'HEAD is detached: name the branch to push', { hint: `strata push ${name} BRANCH` });
    const local = repo.db.getRef(HEADS + branch);
    // push SRC:DST takes any revision as SRC (a commit id, a tag, HEAD~1), as git does.
    const r = local ?? (opts.to !== undefined ? { target: await resolveRev(repo, branch) } : null);
    if (!r) {
      throw new StrataError('UNKNOWN_REF', opts.branch ? `no local branch named ${branch}` : `branch ${branch} has no commits yet: nothing to push`, {
        hint: opts.branch ? 'list branches with strata branch' : 'commit first: strata add PATH && strata commit -m "..."',
      });
    }
    refs.push({ ref: 'heads/' + (opts.to ?? branch), commit: r.target });
  }
  if (opts.tags) for (const t of repo.db.listRefs(TAGS)) refs.push({ ref: 'tags/' + t.name.slice(TAGS.length), commit: t.target });
  if (refs.length === 0) throw new StrataError('INVALID_ARGUMENT', 'nothing to push: no branches', { hint: 'commit first' });
  const remote = await openRemote(cfg, {
    jobs,
    onProbe: (mode) => repo.db.tx(() => repo.db.setConfig(`remote.${name}.conditionalWrites`, mode)),
  });
  try {
    const r = await pushRefs(repo, remote, { refs, force: opts.force, jobs, progress: opts.progress });
    // Pipeline runs (objects, then runs/<id> markers), so a clone can rebuild the run table.
    const runs = await pushRuns(repo, remote);
    if (runs.runs === 0) return { ...r, runs: 0 };
    const s = remote.stats();
    return {
      ...r,
      runs: runs.runs,
      objects: r.objects + runs.objects,
      bytes: r.bytes + runs.bytes,
      requests: s ? s.requests : r.requests,
      wireBytesUp: s ? s.bytesUp : r.wireBytesUp,
      wireBytesDown: s ? s.bytesDown : r.wireBytesDown,
    };
  } finally {
    await remote.close();
  }
}

async function pushDelete(repo: Repository, name: string, cfg: RemoteConfig, branches: string[], jobs: number, opts: PushOptions): Promise<PushResult> {
  if (branches.length === 0) throw new StrataError('INVALID_ARGUMENT', 'name the remote branch to delete', { hint: `strata push ${name} --delete BRANCH` });
  if (opts.all || opts.tags || opts.branch !== undefined || opts.to !== undefined) {
    throw new StrataError('INVALID_ARGUMENT', '--delete deletes the named remote branches and pushes nothing else', { hint: `strata push ${name} --delete BRANCH, then push what you meant separately` });
  }
  for (const b of branches) validateRefName(b, 'branch');
  const remote = await openRemote(cfg, {
    jobs,
    onProbe: (mode) => repo.db.tx(() => repo.db.setConfig(`remote.${name}.conditionalWrites`, mode)),
  });
  try {
    return await deleteRemoteBranches(repo, remote, branches);
  } finally {
    await remote.close();
  }
}
