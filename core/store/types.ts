/**
 * The object store: content-addressed bytes. Keys are object ids (64 lowercase hex, BLAKE3-256).
 * Adapters: local/ (a folder), memory/ (tests, server caches), s3/ (S3 and MinIO).
 * Every adapter passes the same contract suite (test/store-contract.ts).
 *
 * Semantics every adapter guarantees:
 * - put is idempotent and atomic: a reader sees either no object or the whole object, never a prefix.
 * - put of an id that already exists succeeds without changing it.
 * - get of a missing id throws StrataError OBJECT_MISSING.
 * - Adapters do NOT hash on put (callers hash while producing the bytes); `verify` options on
 *   reads check the bytes against the id and throw OBJECT_CORRUPT on mismatch.
 */
import type { Readable } from 'node:stream';

export type ObjectData = Buffer | Uint8Array | Readable | AsyncIterable<Uint8Array>;

export interface ObjectInfo {
  id: string;
  size: number;
}

export interface GetOptions {
  /** Hash the bytes while reading and fail with OBJECT_CORRUPT if they do not match the id. */
  verify?: boolean;
  /** Byte range [start, end) to read. Verification is not possible on a range. */
  range?: { start: number; end: number };
}

export interface PutOptions {
  /** Size in bytes when known up front (lets S3 choose single PUT vs multipart). */
  size?: number;
}

export interface ObjectStore {
  /** 'local' | 'memory' | 's3' | ... */
  readonly kind: string;
  /** Human-readable location, e.g. a path or s3://bucket/prefix. */
  readonly location: string;

  has(id: string): Promise<boolean>;
  /** Which of `ids` exist. Adapters may batch (S3 lists by prefix). */
  hasMany(ids: Iterable<string>): Promise<Set<string>>;
  stat(id: string): Promise<ObjectInfo | null>;

  /** Stream an object's bytes. */
  get(id: string, opts?: GetOptions): Promise<Readable>;
  /** Read a whole object into memory: only for small objects (trees, commits, manifests). */
  getBytes(id: string, opts?: GetOptions): Promise<Buffer>;

  put(id: string, data: ObjectData, opts?: PutOptions): Promise<void>;

  /** Every object id (optionally only those starting with `prefix`), in no particular order. */
  list(prefix?: string): AsyncIterable<ObjectInfo>;
  /** Remove an object; removing a missing object is not an error. */
  delete(id: string): Promise<void>;
  /** Remove many objects (packed objects are removed by rewriting their packs). */
  deleteMany(ids: Iterable<string>): Promise<void>;

  /**
   * Write many (mostly small) objects efficiently: adapters pack small objects together
   * (one file / one request per pack, not per object). Nothing added is guaranteed visible
   * until finish() resolves; after a crash, a batch leaves either whole objects or nothing.
   */
  batch(): BatchWriter;

  /** Release connections / handles. */
  close(): Promise<void>;
}

export interface BatchWriter {
  /** Queue one object. Await it: it applies backpressure. Adding an id twice is harmless. */
  add(id: string, data: Buffer): Promise<void>;
  /** Make every added object durable and visible. */
  finish(): Promise<{ objects: number; bytes: number }>;
  /** Drop whatever has not been made visible yet. */
  abort(): Promise<void>;
}

/** Objects smaller than this are packed by batch writers; larger ones are stored on their own. */
export const PACK_OBJECT_MAX = 1 << 20;
/** A pack is closed and a new one started past this size. */
export const PACK_TARGET_SIZE = 256 << 20;

/** Optional capability of stores on the local filesystem: a path to the object's bytes. */
export interface LocalPathCapable {
  objectPath(id: string): string;
  /** Store a file from disk under `id` by copy-on-write clone when possible, else by copy. */
  putFile(id: string, srcPath: string): Promise<void>;
}

export function isLocalPathCapable(s: ObjectStore): s is ObjectStore & LocalPathCapable {
  return typeof (s as Partial<LocalPathCapable>).objectPath === 'function';
}
