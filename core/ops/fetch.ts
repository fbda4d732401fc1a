/** strata fetch [REMOTE] [BRANCH...]: download new history, update refs/remotes/<remote>/<branch>. */
import { defaultRemote, getRemote } from '../remote/config.js';
import { openRemote } from '../remote/open.js';
import { getSparse } from '../remote/sparse.js';
import { fetchRefs, type FetchResult } from '../remote/transfer.js';
import type { OpOptions } from './context.js';
import type { Repository } from '../repo/index.js';
import { checkJobs } from './push.js';


export interface FetchOptions extends OpOptions {
  remote?: string;
  branches?: string[];
  /** Drop refs/remotes/<remote>/<b> for branches the remote no longer has (fetch --prune). */
  prune?: boolean;
  jobs?: number;
}

export async function fetch(repo: Repository, opts: FetchOptions = {}): Promise<FetchResult> {
  const jobs = checkJobs(opts.jobs);
  return repo.withWriteLock('fetch', async () => {
    const cfg = getRemote(repo.db, opts.remote ?? defaultRemote(repo.db));
    const remote = await openRemote(cfg, { jobs });
    try {
      // A partial checkout fetches history without file data (pull -- PATH downloads what it needs).
      const data = getSparse(repo.db) ? 'none' : 'history';
      return await fetchRefs(repo, remote, { branches: opts.branches, prune: opts.prune, data, jobs, progress: opts.progress });
    } finally {
      await remote.close();
    }
  });
}
