/**
 * Bulk object downloads from a remote, every object hash-verified before it is handed on.
 *
 * On S3 a packed object could be read with one ranged GET each, but a clone of 100k small files
 * would then cost 100k requests. This reader loads the bucket's pack indexes itself (one LIST of
 * packs/ plus one GET per .idx), groups the wanted objects by pack, and reads runs of wanted
 * objects that lie next to each other in a pack with one ranged GET per run. `gap` is how many
 * unwanted bytes between two wanted objects may be read to join their runs: 0 for partial pulls
 * (no other file's bytes are downloaded), ~1 MiB for full fetches (fewer requests). Loose objects
 * are one GET each. Other stores (directories, servers) use getBytes per object.
 */
import { StrataError } from '../errors/index.js';
import { hashBytes } from '../hash/index.js';
import type { ObjectStore } from '../store/types.js';
import type { S3Store } from '../store/s3/index.js';

export interface FetchOptions {
  /** Unwanted bytes that may be read to join two runs of a pack (default 0). */
  gap?: number;
  jobs?: number;
  /** Called for each downloaded object (after verification). */
  onObject(id: string, bytes: Buffer): Promise<void> | void;
}

interface Loc {
  pack: string;
  offset: number;
  size: number;
}

const MAX_SPAN = 16 << 20;

export class RemoteReader {
  private catalog: Map<string, Loc> | null = null;

  constructor(
    private readonly store: ObjectStore,
    private readonly jobs = 16,
  ) {}

  private get s3(): S3Store | null {
    return this.store.kind === 's3' ? (this.store as S3Store) : null;
  }

  /** Pack indexes of an S3 remote: id -> location. Reloaded when `fresh` is asked. */
  private async packs(fresh = false): Promise<Map<string, Loc>> {
    const s3 = this.s3;
    if (!s3) return new Map();
    if (this.catalog && !fresh) return this.catalog;
    const { decodePackIndex } = await import('../format/pack-index.js');
    const { Limiter } = await import('../util/concurrency.js');
    const names: string[] = [];
    for await (const o of s3.conn.listKeys(s3.conn.key('packs/'))) {
      const m = /\/?([0-9a-f]{64})\.idx$/.exec(o.key);
      if (m) names.push(m[1]!);
    }
    const cat = new Map<string, Loc>();
    await new Limiter(this.jobs).map(names, async (p) => {
      const buf = await s3.conn.getBuffer(s3.packKey(p, 'idx'));
      if (!buf) return;
      for (const e of decodePackIndex(buf, { packId: p }).entries) if (!cat.has(e.id)) cat.set(e.id, { pack: p, offset: e.offset, size: e.size });
    });
    this.catalog = cat;
    return cat;
  }

  /** Download `ids` (each once), verify each against its id, hand each to onObject. */
  async fetch(idsIn: Iterable<string>, opts: FetchOptions): Promise<{ objects: number; bytes: number }> {
    const ids = [...new Set(idsIn)];
    let objects = 0;
    let bytes = 0;
    const deliver = async (id: string, buf: Buffer) => {
      const got = hashBytes(buf);
      if (got !== id) {
        throw new StrataError('OBJECT_CORRUPT', `object ${id} downloaded from ${this.store.location} is corrupt: its bytes hash to ${got}`, {
          hint: 'the remote copy is damaged; push it again from a repository that has a good copy (strata fsck checks yours)',
          details: { id, actual: got },
        });
      }
      objects++;
      bytes += buf.length;
      await opts.onObject(id, buf);
    };
    if (ids.length === 0) return { objects, bytes };
    const jobs = opts.jobs ?? this.jobs;
    const s3 = this.s3;
    let loose = ids;
    if (s3) {
      const cat = await this.packs();
      const byPack = new Map<string, Array<Loc & { id: string }>>();
      loose = [];
      for (const id of ids) {
        const l = cat.get(id);
        if (!l) {
          loose.push(id);
          continue;
        }
        const list = byPack.get(l.pack);
        if (list) list.push({ id, ...l });
        else byPack.set(l.pack, [{ id, ...l }]);
      }
      const gap = opts.gap ?? 0;
      const spans: Array<{ pack: string; start: number; end: number; items: Array<Loc & { id: string }> }> = [];
      for (const [pack, list] of byPack) {
        list.sort((a, b) => a.offset - b.offset);
        let cur: (typeof spans)[number] | null = null;
        for (const it of list) {
          if (cur && it.offset - cur.end <= gap && it.offset + it.size - cur.start <= MAX_SPAN && it.offset >= cur.end) {
            cur.end = it.offset + it.size;
            cur.items.push(it);
          } else {
            cur = { pack, start: it.offset, end: it.offset + it.size, items: [it] };
            spans.push(cur);
          }
        }
      }
      const { Limiter } = await import('../util/concurrency.js');
      await new Limiter(jobs).map(spans, async (sp) => {
        const buf = sp.end > sp.start ? await s3.conn.getBuffer(s3.packKey(sp.pack, 'pack'), { start: sp.start, end: sp.end }) : Buffer.alloc(0);
        if (!buf) {
          // The pack went away (rewritten elsewhere): fall back to the store's own lookup.
          for (const it of sp.items) await deliver(it.id, await this.store.getBytes(it.id));
          return;
        }
        for (const it of sp.items) await deliver(it.id, buf.subarray(it.offset - sp.start, it.offset - sp.start + it.size));
      });
    }
    // Stores that can stream many objects per request (Strata servers: HttpStore.getMany).
    const many = (this.store as { getMany?: (ids: string[], on: (id: string, b: Buffer) => Promise<void>) => Promise<void> }).getMany;
    if (typeof many === 'function' && loose.length > 1) {
      await many.call(this.store, loose, deliver);
      return { objects, bytes };
    }
    const { mapLimit } = await import('../util/concurrency.js');
    await mapLimit(loose, jobs, async (id) => {
      let buf: Buffer;
      try {
        buf = await this.store.getBytes(id);
      } catch (e) {
        if (e instanceof StrataError && e.code === 'OBJECT_MISSING') {
          throw new StrataError('OBJECT_MISSING', `remote ${this.store.location} is missing object ${id}`, {
            hint: 'the remote is incomplete (an interrupted push from elsewhere?); push again from a repository that has the data',
            details: { id },
            cause: e,
          });
        }
        throw e;
      }
      await deliver(id, buf);
    });
    return { objects, bytes };
  }
}
