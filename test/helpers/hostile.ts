/**
 * Hand-built hostile repositories for security tests: correctly hashed blobs, trees and commits
 * whose content is crafted (a name twice, `.git` entries, chunk lists of unrelated chunks, wrong
 * declared sizes), written straight into a remote's object store, with a ref moved to them.
 *
 * Trees are written as canonical JSON by hand (serializeTree refuses duplicate names by design).
 */
import { join } from 'node:path';
import { canonicalJson, commitId, serializeManifest } from '../../core/model/index.js';
import { hashBytes } from '../../core/hash/index.js';
import type { ObjectStore } from '../../core/store/types.js';
import type { RefStore } from '../../core/store/refs.js';

export interface Obj {
  id: string;
  bytes: Buffer;
}

/** Wire entries: [name, 'f'|'x', size, id(, chunks)] | [name, 'l', size, id, target] | [name, 'd', size, id, count]. */
export type WireEntry = unknown[];

export class Builder {
  readonly objects: Obj[] = [];

  blob(content: string | Buffer): Obj {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const o = { id: hashBytes(bytes), bytes };
    this.objects.push(o);
    return o;
  }

  file(name: string, content: string | Buffer): WireEntry {
    const b = this.blob(content);
    return [name, 'f', b.bytes.length, b.id];
  }

  link(name: string, target: string): WireEntry {
    const b = this.blob(target);
    return [name, 'l', b.bytes.length, b.id, target];
  }

  /** A tree object from entries as given (order and duplicates kept: sorted by name only when asked). */
  tree(entries: WireEntry[]): Obj {
    const bytes = Buffer.from(canonicalJson({ strata: 'tree', v: 1, e: entries }), 'utf8');
    const o = { id: hashBytes(bytes), bytes };
    this.objects.push(o);
    return o;
  }

  /**
   * A folder entry declaring the true totals of its entries (files and links counted, their sizes
   * summed), so that the crafted content, not a lie about totals, is what a reader meets.
   */
  dir(name: string, entries: WireEntry[]): WireEntry {
    const t = this.tree(entries);
    let size = 0;
    let count = 0;
    for (const e of entries) {
      if (e[1] === 'd') {
        size += Number(e[2]);
        count += Number(e[4]);
      } else {
        size += Number(e[2]);
        count += 1;
      }
    }
    return [name, 'd', size, t.id, count];
  }

  manifest(size: number, chunks: Array<[string, number]>): Obj {
    const bytes = serializeManifest({ size, chunks });
    const o = { id: hashBytes(bytes), bytes };
    this.objects.push(o);
    return o;
  }

  commit(rootEntries: WireEntry[], parents: string[], message: string): string {
    const root = this.tree(rootEntries);
    const { id, bytes } = commitId({
      tree: root.id,
      parents,
      author: { name: 'Mallory', email: 'mallory@example.com' },
      time: 1_700_000_000_000,
      message,
      code: null,
      meta: { roots: rootEntries.map((e) => String(e[0])).filter((n) => n === 'data') },
    });
    this.objects.push({ id, bytes });
    return id;
  }
}

/** Where hostile objects and refs are written. */
export interface HostileTarget {
  put(objects: Obj[]): Promise<void>;
  /** Point refs/heads/`branch` at `commit` (creating it if needed). */
  setBranch(branch: string, commit: string): Promise<void>;
  close(): Promise<void>;
}

export function storeTarget(store: ObjectStore, refs: RefStore): HostileTarget {
  return {
    async put(objects) {
      for (const o of objects) await store.put(o.id, o.bytes);
    },
    async setBranch(branch, commit) {
      const name = `heads/${branch}`;
      const cur = await refs.get(name);
      if (cur) await refs.update(name, commit, cur.etag);
      else await refs.create(name, commit);
    },
    close: () => store.close(),
  };
}

/** A file:// remote directory: <dir>/objects (a LocalStore) and <dir>/refs (a FileRefStore). */
export async function fileTarget(dir: string): Promise<HostileTarget> {
  const { LocalStore } = await import('../../core/store/local/index.js');
  const { FileRefStore } = await import('../../core/store/refs.js');
  return storeTarget(new LocalStore(join(dir, 'objects')), new FileRefStore(dir));
}

/** A repository served by `strata serve --data DATA`: written in place on disk. */
export async function serverRepoTarget(repoDir: string): Promise<HostileTarget> {
  const { Repository } = await import('../../core/repo/index.js');
  const repo = await Repository.openAt(repoDir);
  return {
    async put(objects) {
      for (const o of objects) await repo.store.put(o.id, o.bytes);
    },
    async setBranch(branch, commit) {
      const name = `refs/heads/${branch}`;
      repo.db.casRef(name, repo.db.getRef(name)?.target ?? null, commit);
    },
    close: () => repo.close(),
  };
}
