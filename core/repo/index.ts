/**
 * An open repository: the project root, `.strata/` with its metadata DB and object store, and
 * helpers to read and write trees, commits and refs. Operations in core/ops/ build on this.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fsp from 'node:fs/promises';
import { join, resolve, dirname } from 'node:path';
import { userInfo } from 'node:os';
import { StrataError, fromSystemError } from '../errors/index.js';
import { hashBytes, initHash } from '../hash/index.js';
import { MetaDb } from '../meta/db.js';
import type { MetaStore } from '../meta/interface.js';
import { LocalStore, isLocalStore } from '../store/local/index.js';
import type { ObjectStore } from '../store/types.js';
import {
  commitId,
  parseCommit,
  parseTree,
  type Commit,
  type Id,
  type Person,
  type Tree,
} from '../model/index.js';
import { WriteLock } from './lock.js';
import { readBool, readString } from '../config/registry.js';

export const STRATA_DIR = '.strata';
export const DB_FILE = 'strata.db';
const DEFAULT_BRANCH = 'main';

export interface HeadState {
  /** Branch HEAD points at, or null when detached. */
  branch: string | null;
  /** Commit HEAD resolves to, or null on an unborn branch. */
  commit: Id | null;
}

export class Repository {
  readonly root: string;
  readonly dir: string;
  readonly db: MetaStore;
  /**
   * The one object store of this repository: `.strata/objects`, or the store the server was started
   * with (--store s3://...). Capabilities beyond ObjectStore (local paths, packs) are checked with
   * type guards: isLocalPathCapable (core/store/types.ts), isLocalStore (core/store/local/index.ts).
   */
  readonly store: ObjectStore;
  /** `.strata/objects`, opened always (closed with the repository). */
  private readonly local: LocalStore;
  private lock: WriteLock | null = null;
  /** The async context holding the lock (nested calls inside it re-enter; concurrent ones wait). */
  private readonly lockOwner = new AsyncLocalStorage<object>();
  private lockHolder: object | null = null;
  /** In-process waiters for the lock, in arrival order. */
  private lockQueue: Promise<void> = Promise.resolve();

  private constructor(root: string, db: MetaDb, local: LocalStore, injected: ObjectStore | null = null) {
    this.root = root;
    this.dir = join(root, STRATA_DIR);
    this.db = db;
    this.local = local;
    this.store = injected ?? local;
  }

  /** The repository root containing `cwd` (walking up), or null. */
  static async find(cwd: string): Promise<string | null> {
    let cur = resolve(cwd);
    for (;;) {
      try {
        const st = await fsp.stat(join(cur, STRATA_DIR, DB_FILE));
        if (st.isFile()) return cur;
      } catch {
        /* keep looking */
      }
      const up = dirname(cur);
      if (up === cur) return null;
      cur = up;
    }
  }

  static async open(cwd: string, opts: { readonly?: boolean } = {}): Promise<Repository> {
    const root = await Repository.find(cwd);
    if (!root) {
      throw new StrataError('NOT_A_REPOSITORY', `not a strata repository (or any parent up to /): ${resolve(cwd)}`, {
        hint: 'run strata init here, or cd into a strata project',
      });
    }
    return Repository.openAt(root, opts);
  }

  /**
   * `objects`: use this object store instead of `.strata/objects` as `repo.store` (the server keeps
   * objects in a bucket). Operations that need local paths check isLocalPathCapable / isLocalStore.
   */
  static async openAt(root: string, opts: { readonly?: boolean; create?: boolean; objects?: ObjectStore } = {}): Promise<Repository> {
    await initHash();
    const dir = join(root, STRATA_DIR);
    const db = MetaDb.open(join(dir, DB_FILE), { readonly: opts.readonly, create: opts.create });
    const store = new LocalStore(join(dir, 'objects'), { fsync: readBool(db, 'core.fsync') !== false });
    return new Repository(root, db, store, opts.objects ?? null);
  }

  /**
   * The store as `.strata/objects` with its local capabilities (packs, temp files, paths), for
   * operations on a workspace. A repository whose store is elsewhere (a server started with
   * --store s3://) has none: the operation is refused with a typed error.
   */
  localStore(what = 'this operation'): LocalStore {
    if (isLocalStore(this.store)) return this.store;
    throw new StrataError('INVALID_ARGUMENT', `${what} needs a local object store; this repository's objects are in ${this.store.location}`, {
      hint: 'run it in a repository that keeps its objects in .strata/objects',
    });
  }

  async close(): Promise<void> {
    if (this.store !== this.local) await this.store.close();
    await this.local.close();
    try {
      // Closing checkpoints the WAL: a write that can fail on a full disk without losing anything
      // (the WAL stays and is replayed by the next open).
      this.db.close();
    } catch {
      /* best effort: the data is safe in the WAL */
    }
    if (this.lock) await this.lock.release();
    this.lock = null;
  }

  /** Does the calling async context hold the writer lock (inside a withWriteLock callback)? */
  holdsWriteLock(): boolean {
    return this.lockHolder !== null && this.lockOwner.getStore() === this.lockHolder;
  }

  /**
   * Run `fn` holding the writer lock. Re-entrant for calls made inside `fn` (its async context);
   * concurrent callers on this Repository (a server's requests) wait their turn in this process,
   * then take the lock file like any other process.
   */
  async withWriteLock<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.holdsWriteLock()) return fn();
    let done!: () => void;
    const prev = this.lockQueue;
    this.lockQueue = new Promise<void>((r) => (done = r));
    try {
      await prev;
      const waitMs = Number(process.env.STRATA_LOCK_WAIT_MS ?? 2000);
      this.lock = await WriteLock.acquire(join(this.dir, 'lock'), op, waitMs);
      const me = {};
      this.lockHolder = me;
      try {
        return await this.lockOwner.run(me, fn);
      } finally {
        this.lockHolder = null;
        const l = this.lock;
        this.lock = null;
        await l.release();
      }
    } finally {
      done();
    }
  }

  // ------------------------------------------------------------ trees and commits

  async readTree(id: Id): Promise<Tree> {
    return parseTree(await this.treeBytes(id), { id });
  }

  /**
   * A tree's bytes, verified against its id. In a local store the pack is read first: one pread
   * per tree, where the database cache costs a B-tree walk and an overflow-page chain (a merge of
   * 100,000 files reads 3,000 trees: half of its tree reading, before the JIT warms up). A pack
   * entry that does not hash to its id is passed over for the cache's copy, else the store's
   * verified read reports the damage.
   */
  async treeBytes(id: Id): Promise<Buffer> {
    if (this.store === this.local) {
      await this.local.loadPacks();
      let b: Buffer | null = null;
      try {
        b = this.local.readPackedSync(id);
      } catch {
        /* a truncated pack: the cache or the store's read decides */
      }
      if (b && hashBytes(b) === id) return b;
    }
    return this.db.getTreeRaw(id) ?? (await this.store.getBytes(id, { verify: true }));
  }

  async readCommit(id: Id): Promise<Commit> {
    const raw = this.db.getCommitRaw(id);
    if (raw) return parseCommit(raw, { id });
    try {
      return parseCommit(await this.store.getBytes(id, { verify: true }), { id });
    } catch (e) {
      if (e instanceof StrataError && e.code === 'OBJECT_MISSING') {
        throw new StrataError('UNKNOWN_REF', `commit ${id} is not in this repository`, { hint: 'fetch it with strata pull' });
      }
      throw e;
    }
  }

  /** Store a commit object and index it in the DB (not moving any ref). */
  async writeCommit(c: Commit): Promise<Id> {
    const { id, bytes } = commitId(c);
    await this.store.put(id, bytes);
    this.indexCommit(id, c, bytes);
    return id;
  }

  indexCommit(id: Id, c: Commit, bytes: Buffer): void {
    this.db.putCommit(
      {
        id,
        tree: c.tree,
        parents: c.parents,
        authorName: c.author.name,
        authorEmail: c.author.email,
        time: c.time,
        message: c.message,
        codeCommit: c.code?.commit ?? null,
        codeDirty: c.code?.dirty ?? false,
      },
      bytes,
    );
  }

  // ------------------------------------------------------------ HEAD and refs

  head(): HeadState {
    const h = this.db.getRef('HEAD');
    if (!h) return { branch: DEFAULT_BRANCH, commit: null };
    if (h.target.startsWith('ref: ')) {
      const ref = h.target.slice(5);
      const branch = ref.replace(/^refs\/heads\//, '');
      return { branch, commit: this.db.getRef(ref)?.target ?? null };
    }
    return { branch: null, commit: h.target };
  }

  /** Who is committing: config user.name/user.email, else git's, else the OS user. */
  async author(): Promise<Person> {
    const name = readString(this.db, 'user.name') ?? process.env.STRATA_AUTHOR_NAME ?? (await gitUserConfig('name')) ?? userInfo().username;
    const email =
      readString(this.db, 'user.email') ?? process.env.STRATA_AUTHOR_EMAIL ?? (await gitUserConfig('email')) ?? `${userInfo().username}@localhost`;
    return { name, email };
  }
}

let gitUserCache: Record<string, string> | null | undefined;
async function gitUserConfig(key: 'name' | 'email'): Promise<string | null> {
  if (gitUserCache === undefined) {
    gitUserCache = null;
    const home = process.env.HOME;
    for (const p of [home && join(home, '.gitconfig'), home && join(home, '.config/git/config')]) {
      if (!p) continue;
      try {
        const text = await fsp.readFile(p, 'utf8');
        let section = '';
        const vals: Record<string, string> = {};
        for (const line of text.split('\n')) {
          const s = line.trim();
          const sec = /^\[([^\]]+)\]$/.exec(s);
          if (sec) section = sec[1]!.trim().toLowerCase();
          const kv = /^(\w+)\s*=\s*(.*)$/.exec(s);
          if (kv && section === 'user') vals[kv[1]!.toLowerCase()] = kv[2]!.replace(/^"(.*)"$/, '$1');
        }
        gitUserCache = vals;
        break;
      } catch {
        /* none */
      }
    }
  }
  return gitUserCache?.[key] ?? null;
}

/** Create `.strata/` in `root`. */
export async function initRepository(root: string, opts: { branch?: string } = {}): Promise<Repository> {
  const dir = join(root, STRATA_DIR);
  try {
    await fsp.stat(join(dir, DB_FILE));
    throw new StrataError('ALREADY_INITIALIZED', `${root} is already a strata repository`, { hint: 'nothing to do; use strata status' });
  } catch (e) {
    if (e instanceof StrataError) throw e;
  }
  try {
    await fsp.mkdir(join(dir, 'objects', 'pack'), { recursive: true });
    await fsp.mkdir(join(dir, 'objects', 'tmp'), { recursive: true });
  } catch (e) {
    throw fromSystemError(e, dir);
  }
  const repo = await Repository.openAt(root, { create: true });
  const branch = opts.branch ?? DEFAULT_BRANCH;
  repo.db.tx(() => {
    if (!repo.db.getRef('HEAD')) repo.db.casRef('HEAD', null, `ref: refs/heads/${branch}`);
  });
  return repo;
}
