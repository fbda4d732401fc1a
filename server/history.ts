/** GET /versions: parse the query, call the versions operation (core/ops/versions.ts). */
import type { Repository } from '../core/repo/index.js';
import { versions, type PathVersions } from '../core/ops/versions.js';
import { intParam } from './browse.js';
import { checkRepoPath } from './http.js';

export function versionsView(repo: Repository, q: URLSearchParams): Promise<PathVersions> {
  return versions(repo, { path: checkRepoPath(q.get('path')), ref: q.get('ref') || undefined, limit: intParam(q.get('limit'), 50, 1, 1000, 'limit') });
}
