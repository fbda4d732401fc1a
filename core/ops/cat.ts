import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { StrataError } from '../errors/index.js';
import { parseManifest } from '../model/index.js';
import { resolveRev, splitRefPath } from '../repo/refs.js';
import { entryAt } from '../repo/tree.js';
import { Repository } from '../repo/index.js';
import type { OpContext } from './context.js';

/**
 * Stream the bytes of `REF:PATH`. The repository stays open until the stream ends.
 * Content is verified against its id while streaming.
 */
export async function cat(ctx: OpContext, spec: string): Promise<{ size: number; id: string; stream: Readable }> {
  const { ref, path } = splitRefPath(spec);
  const repo = await Repository.open(ctx.cwd, { readonly: false });
  try {
    const commit = await resolveRev(repo, ref);
    const c = await repo.readCommit(commit);
    const clean = path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    const e = await entryAt(repo, c.tree, clean);
    if (!e) throw new StrataError('PATH_NOT_FOUND', `${clean} does not exist in ${ref}`, { hint: `see strata ls ${ref}` });
    if (e.type === 'dir') throw new StrataError('INVALID_ARGUMENT', `${clean} is a directory in ${ref}`, { hint: `list it: strata ls ${ref} ${clean}` });
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    const pump = async () => {
      try {
        if (e.type === 'file' && e.chunks) {
          const m = parseManifest(await repo.store.getBytes(e.chunks, { verify: true }), { id: e.chunks });
          for (const [cid] of m.chunks) {
            const b = await repo.store.getBytes(cid, { verify: true });
            if (!out.write(b)) await new Promise((r) => out.once('drain', r));
          }
          out.end();
        } else {
          const s = await repo.store.get(e.id, { verify: true });
          s.on('error', (err) => out.destroy(err));
          s.pipe(out);
          await new Promise((r, j) => {
            out.on('finish', r);
            out.on('error', j);
          });
        }
      } catch (err) {
        out.destroy(err as Error);
      } finally {
        await repo.close();
      }
    };
    void pump();
    return { size: e.size, id: e.id, stream: out };
  } catch (e) {
    await repo.close();
    throw e;
  }
}
