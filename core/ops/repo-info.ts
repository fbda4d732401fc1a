/** What a repository holds, in numbers (the server's repository listing). */
import type { Repository } from '../repo/index.js';

export interface RepoCounts {
  branches: number;
  tags: number;
  commits: number;
}

export function repoCounts(repo: Repository): RepoCounts {
  return {
    branches: repo.db.listRefs('refs/heads/').length,
    tags: repo.db.listRefs('refs/tags/').length,
    commits: (repo.db.stmt('SELECT count(*) AS n FROM commits').get() as { n: number }).n,
  };
}
