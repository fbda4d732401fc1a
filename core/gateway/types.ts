/**
 * The S3 gateway's core: what `s3://<repo>/<ref>/<path>` means for a repository, independent of
 * HTTP. server/s3/ speaks the S3 REST API over these operations; the JSON API and the CLI
 * (`strata staging`) use the same ones for listing, committing and discarding uncommitted writes.
 *
 * - view.ts: reads. A key `<ref>/<path>` resolves to a branch, a tag or a commit (resolveKey); a
 *   RefView lists and looks up the objects of that version. A branch's view is its head commit's
 *   tree with the branch's uncommitted writes laid over it.
 * - staging.ts: writes to branches. A put/copy/delete lands in the branch's uncommitted changes
 *   (MetaStore gateway_staged rows; the bytes are objects of the store, written and synced before
 *   the row), durable across restarts; commitStaged turns them into one commit.
 * - multipart.ts: multipart uploads; parts are files under `.strata/uploads/<id>/` until Complete.
 */
import type { Id } from '../model/index.js';
import type { IndexRow } from '../meta/interface.js';

/** One object as an S3 client sees it. */
export interface GatewayObject {
  /** Path in the repository tree (the key without `<ref>/`). */
  path: string;
  /** The entry: content id, size, chunk manifest. */
  entry: IndexRow;
  /** ms since epoch: the commit's time, or when the uncommitted write happened. */
  mtime: number;
  /** What the client sent with an uncommitted write; null for committed content (derive from the name). */
  contentType: string | null;
  /** Written through the gateway and not yet committed. */
  staged: boolean;
}

export type RefKind = 'branch' | 'tag' | 'commit';

/** The version a key's first segments name. */
export interface ResolvedRef {
  kind: RefKind;
  /** The branch or tag name, or the full commit id. */
  name: string;
  /** The commit (null: a branch with no commit yet). */
  commit: Id | null;
  /** The rest of the key after `<ref>/` ('' when the key is the ref alone). */
  path: string;
}

/** What a branch's uncommitted changes are, for listing (API, CLI). */
export interface StagedChange {
  path: string;
  op: 'put' | 'delete';
  size: number | null;
  id: Id | null;
  contentType: string | null;
  time: number;
}

export interface CommitStagedOptions {
  message: string;
  author?: { name: string; email: string };
  /** Extra metadata recorded in the commit (string values; S3 clients' x-amz-meta-* are not kept). */
  meta?: Record<string, string>;
  /**
   * Record the writes as the outputs of a run: the keys (`<ref>/<path>`) the writer read become
   * the run's inputs, the committed files its outputs, so lineage links them.
   */
  run?: { stage: string; cmd?: string; inputs?: string[] };
}

export interface CommitStagedResult {
  commit: Id;
  branch: string;
  parent: Id | null;
  /** Paths written and deleted by the commit. */
  changes: Array<{ path: string; op: 'put' | 'delete' }>;
  /** The run recorded (when `run` was given). */
  run: string | null;
}

