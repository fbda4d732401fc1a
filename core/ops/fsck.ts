import { isStrataError } from '../errors/index.js';
import { reachable, type Reached } from '../repo/reach.js';
import '../pipeline/executor.js'; // registers the run root provider: run objects and logs are checked too
import { mapLimit } from '../store/local/index.js';
import { withRepo, type OpContext } from './context.js';

export interface FsckProblem {
  id: string;
  problem: 'missing' | 'corrupt' | 'dangling-ref';
  kind: Reached['kind'] | 'ref';
  path?: string;
  commit?: string;
  detail?: string;
}

export interface FsckResult {
  ok: boolean;
  checked: number;
  bytes: number;
  problems: FsckProblem[];
}

/** Every object reachable from every ref (and the index) exists and hashes to its id. */
export async function fsck(ctx: OpContext, opts: { quick?: boolean } = {}): Promise<FsckResult> {
  return withRepo(ctx, async (repo) => {
    const problems: FsckProblem[] = [];
    for (const r of repo.db.listRefs('refs/')) {
      if (!repo.db.hasCommit(r.target) && !(await repo.store.has(r.target))) {
        problems.push({ id: r.target, problem: 'dangling-ref', kind: 'ref', detail: `${r.name} points at a commit that does not exist` });
      }
    }
    const live = await reachable(repo, {
      onMissing: (id, info, cause) =>
        problems.push({
          id,
          problem: isStrataError(cause, 'OBJECT_CORRUPT') ? 'corrupt' : 'missing',
          kind: info.kind,
          path: info.path,
          commit: info.commit,
          ...(isStrataError(cause, 'OBJECT_CORRUPT') ? { detail: cause.message } : {}),
        }),
    });
    let bytes = 0;
    let checked = 0;
    const entries = [...live.entries()].filter(([id]) => !problems.some((p) => p.id === id));
    await mapLimit(entries, 8, async ([id, info]) => {
      try {
        if (opts.quick) {
          if (!(await repo.store.has(id))) throw Object.assign(new Error('missing'), { code: 'OBJECT_MISSING' });
        } else {
          const s = await repo.store.get(id, { verify: true });
          for await (const chunk of s) bytes += (chunk as Buffer).length;
        }
        checked++;
      } catch (e) {
        const missing = (isStrataError(e) && e.code === 'OBJECT_MISSING') || (e as { code?: string }).code === 'OBJECT_MISSING';
        problems.push({ id, problem: missing ? 'missing' : 'corrupt', kind: info.kind, path: info.path, commit: info.commit, detail: (e as Error).message });
      }
    });
    return { ok: problems.length === 0, checked, bytes, problems };
  });
}
