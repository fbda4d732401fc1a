/** GET /compare and POST /merge: parse the request, call the compare and merge operations. */
import { StrataError } from '../core/errors/index.js';
import type { Repository } from '../core/repo/index.js';
import { compareRefs } from '../core/ops/compare.js';
import type { CompareResult } from '../core/ops/types.js';
import { intParam } from './browse.js';

export function compareView(repo: Repository, q: URLSearchParams): Promise<CompareResult> {
  const head = q.get('head');
  if (!head) throw new StrataError('INVALID_ARGUMENT', 'the head parameter is required', { hint: 'e.g. /compare?base=main&head=feature' });
  return compareRefs(repo, { base: q.get('base') || 'HEAD', head, limit: intParam(q.get('limit'), 50, 1, 1000, 'limit') });
}
