/**
 * Limits on objects that come from outside (a remote, a bucket, a damaged store). Every one is
 * checked while an object is parsed or a tree graph is walked, BEFORE any work proportional to the
 * expanded size starts, so that a small hostile object graph cannot make Strata hang or run out of
 * memory. Documented in docs/security.md ("Objects from outside").
 */

/** Deepest nesting of directories in a tree (the root is depth 0). */
export const MAX_TREE_DEPTH = 256;

/** Entries in one tree object. */
export const MAX_TREE_ENTRIES = 1_000_000;

/** Bytes (UTF-8) of one path component, as most filesystems allow. */
export const MAX_NAME_BYTES = 255;

/** Bytes (UTF-8) of a symbolic link's target (PATH_MAX on Linux). */
export const MAX_SYMLINK_TARGET_BYTES = 4096;

/**
 * Paths (files, links and directories) a flattened tree may expand to. A tree whose entry counts
 * say more is refused before it is expanded. Override with STRATA_MAX_TREE_PATHS (a positive
 * integer) for repositories that really are bigger.
 */
export const DEFAULT_MAX_TREE_PATHS = 20_000_000;

/** Parents of one commit. */
export const MAX_COMMIT_PARENTS = 64;

/** Chunks listed by one chunk manifest (at 16 KiB minimum per chunk: ~150 GiB). */
export const MAX_MANIFEST_CHUNKS = 10_000_000;

/** Largest single chunk a manifest may declare. Strata's chunker cuts at 256 KiB by default. */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

/** Bytes of a commit message, tag message, person name or e-mail, run command or similar text field. */
export const MAX_TEXT_BYTES = 1 << 20;

/** Entries of a commit's `meta.labels` (key/value strings set by whoever commits, e.g. through the S3 gateway). */
export const MAX_COMMIT_LABELS = 1000;

/** Nesting depth of free-form JSON values (commit meta, run parameters). */
export const MAX_JSON_DEPTH = 64;

/** Paths listed in a commit's tracked roots or a run's dependencies / outputs. */
export const MAX_LISTED_PATHS = 1_000_000;

/** The limit on flattened paths in effect (STRATA_MAX_TREE_PATHS, else the default). */
export function maxTreePaths(): number {
  const env = process.env.STRATA_MAX_TREE_PATHS;
  if (env && /^[1-9][0-9]{0,15}$/.test(env)) {
    const n = Number(env);
    if (Number.isSafeInteger(n)) return n;
  }
  return DEFAULT_MAX_TREE_PATHS;
}
