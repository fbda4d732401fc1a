/**
 * The client side of a Strata server's uncommitted gateway writes (docs/api.md, "Uncommitted
 * writes"): list, commit and discard a branch's writes made through the S3 gateway, over the JSON
 * API with the server client of core/store/http (token from STRATA_TOKEN or the credentials file,
 * retries, error mapping). `strata staging` (cli/commands/staging.ts) prints what these return.
 */
import { StrataError } from '../errors/index.js';
import type { CommitStagedOptions, CommitStagedResult } from '../gateway/types.js';
import type { StagingDiscardResult, StagingList } from '../ops/staging.js';
import type { Repository } from '../repo/index.js';
import { HttpClient, httpRemoteBase, resolveToken } from '../store/http/client.js';
import { getRemote, normalizeRemoteUrl, parseRemoteUrl } from './config.js';

/** Is `remote` a server URL (rather than the name of a configured remote)? */
export function isServerUrl(remote: string): boolean {
  return /^https?:\/\//i.test(remote.trim());
}

/** The server URL of `remote`: a URL as given (validated), or the URL of the configured remote of that name. */
export function stagingServerUrl(remote: string, repo: Repository | null): string {
  if (isServerUrl(remote)) return normalizeRemoteUrl(remote);
  if (!repo) {
    throw new StrataError('REMOTE_UNKNOWN', `${JSON.stringify(remote)} is not a server URL, and there is no project here to look it up as a remote name`, {
      hint: 'give the server URL (http(s)://host:port/REPO), or run the command inside the project',
    });
  }
  const cfg = getRemote(repo.db, remote);
  if (parseRemoteUrl(cfg.url).kind !== 'http') {
    throw new StrataError('REMOTE_UNSUPPORTED', `remote ${remote} (${cfg.url}) is not a Strata server: uncommitted gateway writes live on the server that took them`, {
      hint: 'name a remote whose URL is http(s)://host:port/REPO, or give that URL',
    });
  }
  return cfg.url;
}

export interface StagingClient {
  url: string;
  list(branch: string): Promise<StagingList>;
  commit(branch: string, opts: CommitStagedOptions): Promise<CommitStagedResult>;
  discard(branch: string, paths?: string[]): Promise<StagingDiscardResult>;
}

export function stagingClient(url: string, opts: { token?: string; env?: NodeJS.ProcessEnv } = {}): StagingClient {
  const { base } = httpRemoteBase(url);
  const client = new HttpClient(base, url.replace(/\/+$/, ''), resolveToken(url, opts));
  return {
    url,
    list: (branch) => client.json<StagingList>('GET', `/staging?branch=${encodeURIComponent(branch)}`),
    // Not retried by the client beyond what it does for any request with a body it holds whole: a
    // commit that reached the server and lost its answer fails the retry with NOTHING_TO_COMMIT.
    commit: (branch, o) => client.json<CommitStagedResult>('POST', '/staging/commit', { branch, ...o }),
    discard: (branch, paths) => client.json<StagingDiscardResult>('POST', '/staging/discard', paths === undefined ? { branch } : { branch, paths }),
  };
}

/** `Name <email>` as typed on the command line. */
export function parseAuthor(s: string): { name: string; email: string } {
  const m = /^\s*([^<>]*?)\s*<([^<>\s]+)>\s*$/.exec(s);
  if (!m || !m[1]) throw new StrataError('INVALID_ARGUMENT', `--author ${JSON.stringify(s)} is not "Name <email>"`, { hint: 'e.g. --author "Ada Lovelace <ada@example.com>"' });
  return { name: m[1], email: m[2]! };
}

/** `KEY=VALUE` items (repeatable --meta) as an object; a key twice is refused. */
export function parseMeta(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const it of items) {
    const i = it.indexOf('=');
    if (i <= 0) throw new StrataError('INVALID_ARGUMENT', `--meta ${JSON.stringify(it)} is not KEY=VALUE`, { hint: 'e.g. --meta job=nightly' });
    const k = it.slice(0, i);
    if (k in out) throw new StrataError('INVALID_ARGUMENT', `--meta ${k} is given twice`, { hint: 'give each key once' });
    out[k] = it.slice(i + 1);
  }
  return out;
}
