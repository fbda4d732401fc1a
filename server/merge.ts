/** GET /compare and POST /merge: parse the request, call the compare and merge operations. */
import { StrataError } from '../core/errors/index.js';
import type { Repository } from '../core/repo/index.js';
import { compareRefs } from '../core/ops/compare.js';
import { mergeRefs } from '../core/ops/merge.js';
import type { CompareResult, MergeOutcome } from '../core/ops/types.js';
import { intParam } from './browse.js';

export function compareView(repo: Repository, q: URLSearchParams): Promise<CompareResult> {
  const head = q.get('head');
  if (!head) throw new StrataError('INVALID_ARGUMENT', 'the head parameter is required', { hint: 'e.g. /compare?base=main&head=feature' });
  return compareRefs(repo, { base: q.get('base') || 'HEAD', head, limit: intParam(q.get('limit'), 50, 1, 1000, 'limit') });
}

const MERGE_FIELDS = ['into', 'from', 'strategy', 'message', 'expect', 'dryRun'];

/**
 * POST /merge: {into, from, strategy?, message?, expect?, dryRun?} → the merge outcome. A merge
 * stopped by conflicts moved nothing: 409 with the outcome (its conflicts) and the error fields.
 */
export async function mergeRequest(repo: Repository, body: unknown): Promise<{ status: number; body: MergeOutcome | (MergeOutcome & { error: object }) }> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new StrataError('INVALID_ARGUMENT', 'the body must be a JSON object', { hint: 'e.g. {"into": "main", "from": "feature"}' });
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).filter((k) => !MERGE_FIELDS.includes(k));
  if (extra.length) throw new StrataError('INVALID_ARGUMENT', `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')}`, { hint: `the fields are ${MERGE_FIELDS.join(', ')}` });
  const str = (k: string, required: boolean): string | undefined => {
    const v = b[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v === '') throw new StrataError('INVALID_ARGUMENT', `${k} must be a non-empty string`, { hint: 'e.g. {"into": "main", "from": "feature"}' });
    return v;
  };
  const into = str('into', true)!;
  const from = str('from', true)!;
  const strategy = str('strategy', false); // the merge operation checks the name
  const expect = str('expect', false);
  if (expect !== undefined && !/^[0-9a-f]{64}$/.test(expect)) throw new StrataError('INVALID_ARGUMENT', 'expect must be a full commit id (64 hex digits)', { hint: "send the commit of `into` you saw (GET /compare's baseCommit)" });
  if (b.dryRun !== undefined && typeof b.dryRun !== 'boolean') throw new StrataError('INVALID_ARGUMENT', 'dryRun must be true or false');
  const outcome = await mergeRefs(repo, { into, from, strategy, message: str('message', false), expect, dryRun: b.dryRun === true });
  if (outcome.status !== 'conflicts' || outcome.dryRun) return { status: 200, body: outcome };
  const n = outcome.conflicts.length;
  return {
    status: 409,
    body: {
      ...outcome,
      error: {
        code: 'MERGE_CONFLICT',
        message: `merging ${from} into ${into} conflicts in ${n} path${n === 1 ? '' : 's'}; nothing was changed`,
        hint: 'resolve them in a workspace with strata merge, or send a strategy ("ours" or "theirs")',
      },
    },
  };
}
