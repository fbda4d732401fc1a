import type { Readable } from 'node:stream';
import { StrataError } from '../errors/index.js';
import { resolveRev, splitRefPath } from '../repo/refs.js';
import { entryAt } from '../repo/tree.js';
import type { Repository } from '../repo/index.js';
import { verifiedFileStream } from '../repo/verified.js';

// The verified read lives in core/repo (core/tables needs it too); re-exported for its callers here.
export { verifiedFileStream };

/**
 * Stream the bytes of `REF:PATH` from the open repository (keep it open until the stream ends).
 * Content is verified against its id (see verifiedFileStream).
 */
export async function cat(repo: Repository, spec: string): Promise<{ size: number; id: string; stream: Readable }> {
  const { ref, path } = splitRefPath(spec);
  const commit = await resolveRev(repo, ref);
  const c = await repo.readCommit(commit);
  const clean = path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  const e = await entryAt(repo, c.tree, clean);
  if (!e) throw new StrataError('PATH_NOT_FOUND', `${clean} does not exist in ${ref}`, { hint: `see strata ls ${ref}` });
  if (e.type === 'dir') throw new StrataError('INVALID_ARGUMENT', `${clean} is a directory in ${ref}`, { hint: `list it: strata ls ${ref} ${clean}` });
  const stream = await verifiedFileStream(repo.store, clean, e);
  return { size: e.size, id: e.id, stream };
}
