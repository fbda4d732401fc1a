/**
 * Finding, opening and creating repositories by folder, for hosts that hold many (the server's
 * server/repos.ts), as cli/repo.ts does for the CLI. Operations themselves take the open
 * Repository; these are the entry points that produce one.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Repository, initRepository, STRATA_DIR, DB_FILE } from '../repo/index.js';
import { validateRefName } from '../repo/refs.js';
import { parseStoreUrl, type StoreUrl } from '../store/url.js';
import type { ObjectStore } from '../store/types.js';

export type { StoreUrl };

/** Where objects live when not in `<root>/.strata/objects`: a bucket and key prefix (S3 layout of docs/remote-format.md). */
export interface S3Objects {
  bucket: string;
  prefix: string;
  /** Extra S3 client options (tests: endpoint, credentials). */
  options?: Record<string, unknown>;
}

/** Parse an object-store URL (s3://bucket/prefix, or a local path) as `--store` takes it. */
export function parseObjectStoreUrl(url: string): StoreUrl {
  return parseStoreUrl(url);
}

/** The repository's own folder inside `root` (`<root>/.strata`), where hosts may keep state. */
export function metadataDir(root: string): string {
  return join(root, STRATA_DIR);
}

/** True when `root` holds a repository (its metadata database exists). */
export function isRepository(root: string): boolean {
  try {
    return statSync(join(root, STRATA_DIR, DB_FILE)).isFile();
  } catch {
    return false;
  }
}

/** Open the repository at `root` (no search upward); with `s3`, its objects are in the bucket. */
export async function openRepository(root: string, opts: { s3?: S3Objects } = {}): Promise<Repository> {
  let objects: ObjectStore | undefined;
  if (opts.s3) {
    const { S3Store } = await import('../store/s3/index.js');
    objects = new S3Store({ bucket: opts.s3.bucket, prefix: opts.s3.prefix, ...(opts.s3.options ?? {}) });
  }
  return Repository.openAt(root, { objects });
}

/**
 * Create a bare repository in `root` (ALREADY_INITIALIZED if there is one) with HEAD on `branch`
 * and the given repository config entries, and close it.
 */
export async function createRepository(root: string, opts: { branch?: string; config?: Record<string, string> } = {}): Promise<void> {
  const repo = await initRepository(root, { branch: opts.branch });
  try {
    for (const [k, v] of Object.entries(opts.config ?? {})) repo.db.setConfig(k, v);
  } finally {
    await repo.close();
  }
}

/** The initial branch a new repository may be given: the one ref-name rule (INVALID_ARGUMENT). */
export function checkBranchName(name: string): void {
  validateRefName(name, 'branch');
}
