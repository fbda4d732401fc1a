/**
 * Merge drivers: what decides a path both sides changed. A rule in `.strataattributes` names one
 * (`merge=theirs`), `--strategy` names one for the whole merge, and `binary` is the default.
 *
 * - `ours` / `theirs`: take that side's version (also when the other side deleted it, or put a
 *   folder where this side has a file);
 * - `binary`: never merge contents: the path is a conflict to resolve by hand;
 * - content drivers (`rows`, for tables, comes with the tables work) get the three versions' bytes
 *   and return merged bytes or a reason they cannot. They are called only when both sides hold a
 *   file; a delete or a file/folder clash on such a path is a conflict.
 *
 * A content driver is added by listing it in DRIVERS below; nothing else changes.
 */
import type { IndexRow } from '../meta/interface.js';

export interface DriverInput {
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
};

export const DRIVER_NAMES: readonly string[] = Object.keys(DRIVERS);

export function driver(name: string): MergeDriver {
  const d = DRIVERS[name];
  if (!d) throw new TypeError(`unknown merge driver ${name}`);
  return d;
}
