/**
 * Merge drivers: what decides a path both sides changed. A rule in `.strataattributes` names one
 * (`merge=theirs`), `--strategy` names one for the whole merge, and `binary` is the default.
 *
 * - `ours` / `theirs`: take that side's version (also when the other side deleted it, or put a
 *   folder where this side has a file);
 * - `binary`: never merge contents: the path is a conflict to resolve by hand;
 * - content drivers (`rows`: tables merged row by row by a key, core/tables/rowmerge.ts) get the three versions' bytes
 *   and return merged bytes or a reason they cannot. They are called only when both sides hold a
 *   file; a delete or a file/folder clash on such a path is a conflict.
 *
 * A content driver is added by listing it in DRIVERS below; nothing else changes.
 */
import type { IndexRow } from '../meta/interface.js';
import type { Repository } from '../repo/index.js';

export interface DriverInput {
  repo: Repository;
  path: string;
  base: IndexRow | null;
  ours: IndexRow;
  theirs: IndexRow;
  /** The rule's `key=value` parameters (e.g. `key=txn_id`). */
  params: Record<string, string>;
  /** The verified bytes of a version. */
  read(row: IndexRow): Promise<Buffer>;
  /** Store merged bytes (a dry run only hashes them) and return their row. */
  store(bytes: Buffer, like: IndexRow): Promise<IndexRow>;
}

export type DriverResult = { row: IndexRow } | { conflict: string };

export interface MergeDriver {
  /** Side drivers decide any conflict at the path (deletes and file/folder clashes too). */
  side?: 'ours' | 'theirs';
  /** Content drivers merge two changed files; absent on `binary` and the side drivers. */
  merge?(input: DriverInput): Promise<DriverResult>;
}

const DRIVERS: Record<string, MergeDriver> = {
  ours: { side: 'ours' },
  theirs: { side: 'theirs' },
  binary: {},
  rows: {
    // Loaded on first use: DuckDB is imported only by a merge that needs it.
    async merge(input) {
      const { mergeRows } = await import('../tables/rowmerge.js');
      const [base, ours, theirs] = await Promise.all([input.base ? input.read(input.base) : null, input.read(input.ours), input.read(input.theirs)]);
      const res = await mergeRows(input.repo, { path: input.path, key: input.params.key, base, ours, theirs });
      if ('conflict' in res) return res;
      return { row: await input.store(res.bytes, input.ours) };
    },
  },
};

export const DRIVER_NAMES: readonly string[] = Object.keys(DRIVERS);

export function driver(name: string): MergeDriver {
  const d = DRIVERS[name];
  if (!d) throw new TypeError(`unknown merge driver ${name}`);
  return d;
}
