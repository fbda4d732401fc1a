import { reachable } from '../repo/reach.js';
import { collectRoots } from './roots.js';
import type { Repository } from '../repo/index.js';

export interface GcOptions {
  dryRun?: boolean;
}

export interface GcResult {
  dryRun: boolean;
  objects: number;
  bytes: number;
  kept: number;
  tmpRemoved: number;
}

/** Remove objects no ref, index entry or run needs. Holds the write lock throughout. */
export async function gc(repo: Repository, opts: GcOptions = {}): Promise<GcResult> {
  return repo.withWriteLock('gc', async () => {
    const live = await reachable(repo, await collectRoots(repo), { onMissing: () => undefined });
    const dead: string[] = [];
    let bytes = 0;
    let kept = 0;
    for await (const o of repo.store.list()) {
      if (live.has(o.id)) kept++;
      else {
        dead.push(o.id);
        bytes += o.size;
      }
    }
    let tmpRemoved = 0;
    if (!opts.dryRun) {
      await repo.store.deleteMany(dead);
      tmpRemoved = await repo.localStore().cleanTmp(0);
      // Forget commits (metadata rows) whose objects are gone.
      const deadSet = new Set(dead);
      repo.db.tx(() => {
        repo.db.deleteCommits(repo.db.allCommitIds().filter((id) => deadSet.has(id)));
      });
    }
    return { dryRun: !!opts.dryRun, objects: dead.length, bytes, kept, tmpRemoved };
  });
}
