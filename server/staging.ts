/**
 * The JSON API over a branch's uncommitted writes made through the S3 gateway (docs/api.md,
 * "Uncommitted writes"): parse the request strictly, call the staging operations
 * (core/ops/staging.ts), send their values. Branch names may hold '/', so they travel in the query
 * string or the body, never in a path segment.
 *
 *   GET  /api/repos/{repo}/staging?branch=B      (read)  -> {branch, head, changes}
 *   POST /api/repos/{repo}/staging/commit        (write) {branch, message, author?, meta?, run?} -> CommitStagedResult
 *   POST /api/repos/{repo}/staging/discard       (write) {branch, paths?} -> {branch, discarded}
 */
import { StrataError } from '../core/errors/index.js';
import { MAX_COMMIT_LABELS } from '../core/model/limits.js';
import type { CommitStagedOptions, CommitStagedResult } from '../core/gateway/types.js';
import type { Repository } from '../core/repo/index.js';
import { stagingCommit, stagingDiscard, stagingList, type StagingDiscardResult, type StagingList } from '../core/ops/staging.js';
import type { Principal } from './auth.js';

/** Longest author name, e-mail, meta key or value, run stage/command or input key accepted. */
const MAX_FIELD = 4096;
/** Most meta entries, run inputs or discard paths in one request. */
const MAX_ITEMS = 10_000;

function bad(message: string, hint: string): StrataError {
  return new StrataError('INVALID_ARGUMENT', message, { hint });
}

function object(v: unknown, what: string, example: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${what} must be a JSON object`, `e.g. ${example}`);
  return v as Record<string, unknown>;
}

function onlyFields(o: Record<string, unknown>, what: string, fields: string[]): void {
  const extra = Object.keys(o).filter((k) => !fields.includes(k));
  if (extra.length) throw bad(`unknown field${extra.length > 1 ? 's' : ''} in ${what}: ${extra.map((k) => JSON.stringify(k)).join(', ')}`, `the fields are ${fields.join(', ')}`);
}

function text(v: unknown, what: string, opts: { required?: boolean; max?: number } = {}): string | undefined {
  if (v === undefined && !opts.required) return undefined;
  if (typeof v !== 'string' || v === '') throw bad(`${what} must be a non-empty string`, 'see docs/api.md, "Uncommitted writes"');
  if (v.length > (opts.max ?? MAX_FIELD)) throw bad(`${what} is longer than ${opts.max ?? MAX_FIELD} characters`, 'send a shorter value');
  if (v.includes('\0')) throw bad(`${what} contains a NUL character`, 'remove it');
  return v;
}

function strings(v: unknown, what: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw bad(`${what} must be an array of strings`, 'e.g. ["data/in.csv"]');
  if (v.length > MAX_ITEMS) throw bad(`${what} lists more than ${MAX_ITEMS} items`, 'send fewer per request');
  return v.map((x, i) => text(x, `${what}[${i}]`, { required: true })!);
}

/** The branch of a request: a string naming an existing branch (the operations check it). */
function branchOf(v: unknown): string {
  return text(v, 'branch', { required: true, max: 255 })!;
}

/**
 * Who a commit is by when the request names no author: the token's label (else its id), with an
 * address under the reserved .invalid domain (RFC 2606) that says it came from this token.
 */
function tokenAuthor(p: Principal | null): { name: string; email: string } | undefined {
  if (!p) return undefined;
  return { name: p.label ?? `token ${p.tokenId}`, email: `token-${p.tokenId}@strata-server.invalid` };
}

export function stagingView(repo: Repository, q: URLSearchParams): StagingList {
  const branch = q.get('branch');
  if (branch === null) throw bad('the branch parameter is required', 'e.g. /staging?branch=main (URL-encode a "/" in the name as %2F)');
  return stagingList(repo, branchOf(branch));
}

const COMMIT_FIELDS = ['branch', 'message', 'author', 'meta', 'run'];
const COMMIT_EXAMPLE = '{"branch": "main", "message": "nightly load"}';

export function stagingCommitRequest(repo: Repository, body: unknown, principal: Principal | null): Promise<CommitStagedResult> {
  const b = object(body, 'the body', COMMIT_EXAMPLE);
  onlyFields(b, 'the body', COMMIT_FIELDS);
  const branch = branchOf(b.branch);
  const message = text(b.message, 'message', { required: true, max: 1 << 20 })!;
  const opts: CommitStagedOptions = { message };
  if (b.author !== undefined) {
    const a = object(b.author, 'author', '{"name": "Ada", "email": "ada@example.com"}');
    onlyFields(a, 'author', ['name', 'email']);
    opts.author = { name: text(a.name, 'author.name', { required: true })!, email: text(a.email, 'author.email', { required: true })! };
  } else opts.author = tokenAuthor(principal);
  if (b.meta !== undefined) {
    const m = object(b.meta, 'meta', '{"job": "nightly"}');
    const keys = Object.keys(m);
    if (keys.length > MAX_COMMIT_LABELS) throw bad(`meta has more than ${MAX_COMMIT_LABELS} entries`, 'send fewer');
    const meta: Record<string, string> = {};
    for (const k of keys) {
      if (Buffer.byteLength(k) > 255) throw bad(`a meta key is longer than 255 bytes`, 'use shorter keys');
      text(k, 'a meta key', { required: true });
      const v = m[k];
      if (typeof v !== 'string') throw bad(`meta.${k} must be a string`, 'e.g. {"job": "nightly"}');
      if (Buffer.byteLength(v) > 4096) throw bad(`meta.${k} is longer than 4096 bytes`, 'use a shorter value');
      meta[k] = v === '' ? v : text(v, `meta.${k}`)!;
    }
    opts.meta = meta;
  }
  if (b.run !== undefined) {
    const r = object(b.run, 'run', '{"stage": "load", "inputs": ["main/data/in.csv"]}');
    onlyFields(r, 'run', ['stage', 'cmd', 'inputs']);
    opts.run = { stage: text(r.stage, 'run.stage', { required: true, max: 255 })!, cmd: text(r.cmd, 'run.cmd'), inputs: strings(r.inputs, 'run.inputs') };
  }
  return stagingCommit(repo, branch, opts);
}

export function stagingDiscardRequest(repo: Repository, body: unknown): StagingDiscardResult {
  const b = object(body, 'the body', '{"branch": "main", "paths": ["data/tmp"]}');
  onlyFields(b, 'the body', ['branch', 'paths']);
  return stagingDiscard(repo, branchOf(b.branch), strings(b.paths, 'paths'));
}
