import { StrataError } from '../errors/index.js';
import type { TreeEntry } from '../model/index.js';
import { resolveRev } from '../repo/refs.js';
import { entryAt, verifyTree } from '../repo/tree.js';
import type { Repository } from '../repo/index.js';

export interface LsEntry {
  path: string;
  type: TreeEntry['type'];
  size: number;
  id: string;
  exec?: boolean;
  chunked?: boolean;
  target?: string;
  count?: number;
}

export interface LsOptions {
  ref?: string;
  path?: string;
  recursive?: boolean;
}

export async function ls(repo: Repository, opts: LsOptions = {}): Promise<{ commit: string; path: string; entries: LsEntry[] }> {
    const commit = await resolveRev(repo, opts.ref ?? 'HEAD');
  const c = await repo.readCommit(commit);
  const path = (opts.path ?? '').replace(/^\.?\/+/, '').replace(/\/+$/, '');
  const e = await entryAt(repo, c.tree, path);
  if (!e) throw new StrataError('PATH_NOT_FOUND', `${path} does not exist in ${opts.ref ?? 'HEAD'}`, { hint: `list the parent: strata ls ${opts.ref ?? 'HEAD'}` });
  const out: LsEntry[] = [];
  const toEntry = (p: string, x: TreeEntry): LsEntry => {
    switch (x.type) {
      case 'file':
        return { path: p, type: 'file', size: x.size, id: x.id, exec: x.exec, chunked: !!x.chunks };
      case 'symlink':
        return { path: p, type: 'symlink', size: x.size, id: x.id, target: x.target };
      case 'dir':
        return { path: p, type: 'dir', size: x.size, id: x.id, count: x.count };
    }
  };
  if (e.type !== 'dir') {
    out.push(toEntry(path, e));
    return { commit, path, entries: out };
  }
  const walk = async (id: string, base: string): Promise<void> => {
    const t = await repo.readTree(id);
    for (const x of t.entries) {
      const p = base ? `${base}/${x.name}` : x.name;
      if (x.type === 'dir' && opts.recursive) await walk(x.id, p);
      else out.push(toEntry(p, x));
    }
  };
  if (opts.recursive) await verifyTree(repo, e.id, path ? path.split('/').length : 0);
  await walk(e.id, path);
  return { commit, path, entries: out };
}
