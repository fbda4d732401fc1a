/**
 * Where each packed object of a local store is: the pack indexes loaded so far.
 *
 * Large sorted indexes stay as the bytes on disk (PackIndexView: validated at load, searched in
 * place), so opening a store of 100,000 packed objects costs a read and one pass over the index,
 * not 100,000 map entries and strings. Small indexes, unsorted (legacy) ones and packs this process
 * just wrote go into one map, looked at first: a pack written now wins over an older copy.
 */
import type { PackIndexView } from '../../format/pack-index.js';

export interface PackLoc {
  pack: string;
  offset: number;
  size: number;
}

/** Below this many entries an index is cheaper as map entries than as one more binary search. */
const VIEW_MIN_ENTRIES = 4096;

export class PackTable {
  private readonly map = new Map<string, PackLoc>();
  private readonly views = new Map<string, PackIndexView>();

  /** Add a pack read from disk (objects already known keep their location). */
  addIndex(pack: string, view: PackIndexView): void {
    if (view.sorted && view.count >= VIEW_MIN_ENTRIES) {
      this.views.set(pack, view);
      return;
    }
    for (let i = 0; i < view.count; i++) {
      const id = view.idAt(i);
      if (!this.map.has(id)) this.map.set(id, { pack, offset: view.offsetAt(i), size: view.sizeAt(i) });
    }
  }

  /** Add a pack this process wrote: its locations win. */
  addWritten(pack: string, entries: Iterable<{ id: string; offset: number; size: number }>): void {
    for (const e of entries) this.map.set(e.id, { pack, offset: e.offset, size: e.size });
  }

  get(id: string): PackLoc | undefined {
    const m = this.map.get(id);
    if (m) return m;
    for (const [pack, v] of this.views) {
      const i = v.find(id);
      if (i >= 0) return { pack, offset: v.offsetAt(i), size: v.sizeAt(i) };
    }
    return undefined;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Forget every location in `pack` (removed, repacked or quarantined). */
  dropPack(pack: string): void {
    this.views.delete(pack);
    for (const [id, loc] of this.map) if (loc.pack === pack) this.map.delete(id);
  }

  /** Every packed object once, with its location. */
  *entries(): IterableIterator<[string, PackLoc]> {
    const seen = new Set<string>();
    for (const e of this.map) {
      seen.add(e[0]);
      yield e;
    }
    for (const [pack, v] of this.views) {
      for (let i = 0; i < v.count; i++) {
        const id = v.idAt(i);
        if (seen.has(id)) continue;
        seen.add(id);
        yield [id, { pack, offset: v.offsetAt(i), size: v.sizeAt(i) }];
      }
    }
  }
}
