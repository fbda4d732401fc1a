/** What a repository holds, in numbers (the server's repository listing). */
import type { Repository } from '../repo/index.js';
import type { RepoCounts } from './types.js';

export function repoCounts(repo: Repository): RepoCounts {
  return {
    branches: repo.db.listRefs('refs/heads/').length,
    tags: repo.db.listRefs('refs/tags/').length,
    commits: repo.db.commitCount(),
  };
}
