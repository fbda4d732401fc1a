/**
 * Open a configured remote as { store: ObjectStore, refs: RefStore }.
 *
 *   s3://bucket/prefix   S3Store + S3RefStore sharing one connection (docs/remote-format.md)
 *   file:///path, /path  a directory laid out like a bucket: <path>/objects/ (a LocalStore: loose
 *                        objects ab/cdef…, pack/<p>.pack + .idx), <path>/refs/heads|tags/<name>
 *                        (a FileRefStore: O_EXCL lock + rename, an atomic CAS)
 *   http(s)://host/REPO  a Strata server, through core/remote/http.js (openHttpRemote)
 *
 * The AWS SDK is loaded only for s3 remotes (lazy imports keep `strata status` fast).
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import type { RefStore } from '../store/refs.js';
import type { ObjectStore } from '../store/types.js';
import { parseRemoteUrl, type RemoteConfig } from './config.js';

/** What protects a ref update against a concurrent writer on this remote. */
export type Guarantee =
  /** S3 server enforces If-Match / If-None-Match: atomic compare-and-swap. */
  | 's3-conditional-writes'
  /** S3 server ignores conditional headers: read, check, write, re-read (narrows the race, does not close it). */
  | 's3-read-check-write'
  /** file:// remote: O_EXCL lock file + rename: atomic compare-and-swap on a local filesystem. */
  | 'file-lock'
  /** Strata server: the server performs the compare-and-swap. */
  | 'server';

export interface TransferCounters {
  requests: number;
  bytesUp: number;
  bytesDown: number;
}

export interface RemoteHandle {
  kind: 's3' | 'local' | 'http';
  name: string;
  location: string;
  store: ObjectStore;
  refs: RefStore;
  /** Requests/bytes on the wire so far (null when the adapter does not count: local directories). */
  stats(): TransferCounters | null;
  /** Fail with REMOTE_NOT_FOUND when there is nothing to read at this location. */
  assertExists(): Promise<void>;
  /** Prepare for writing (create a directory remote; probe S3 conditional writes once). */
  prepareWrite(): Promise<Guarantee>;
  close(): Promise<void>;
}

export interface OpenRemoteOptions {
  jobs?: number;
  /** Called with the probed conditional-write mode, to cache it in the repository config. */
  onProbe?: (mode: 'enforced' | 'not-enforced') => void;
  env?: NodeJS.ProcessEnv;
}

export async function openRemote(cfg: RemoteConfig, opts: OpenRemoteOptions = {}): Promise<RemoteHandle> {
  const u = parseRemoteUrl(cfg.url);
  if (u.kind === 'http') return openHttp(cfg, u.url, opts);
  if (u.kind === 'local') return openLocal(cfg, u.path);
  const { S3Store } = await import('../store/s3/index.js');
  const { S3RefStore } = await import('../store/s3/refs.js');
  const store = new S3Store({
    bucket: u.bucket,
    prefix: u.prefix,
    endpoint: cfg.endpoint,
    region: cfg.region,
    profile: cfg.profile,
    forcePathStyle: cfg.pathStyle,
    jobs: opts.jobs,
    env: opts.env,
  });
  const refs = new S3RefStore(store, { conditionalWrites: cfg.conditionalWrites ?? 'auto' });
  let mode: 'enforced' | 'not-enforced' | undefined = cfg.conditionalWrites;
  return {
    kind: 's3',
    name: cfg.name,
    location: store.location,
    store,
    refs,
    stats: () => store.stats(),
    assertExists: () => store.conn.assertBucket(),
    async prepareWrite() {
      await store.conn.assertBucket();
      if (!mode) {
        mode = await refs.conditionalWrites();
        opts.onProbe?.(mode);
      }
      return mode === 'enforced' ? 's3-conditional-writes' : 's3-read-check-write';
    },
    close: () => store.close(),
  };
}

async function openLocal(cfg: RemoteConfig, path: string): Promise<RemoteHandle> {
  const { LocalStore } = await import('../store/local/index.js');
  const { FileRefStore } = await import('../store/refs.js');
  const store = new LocalStore(join(path, 'objects'), { fsync: true });
  const refs = new FileRefStore(path);
  return {
    kind: 'local',
    name: cfg.name,
    location: path,
    store,
    refs,
    stats: () => null,
    async assertExists() {
      const st = await fsp.stat(path).catch(() => null);
      if (!st || !st.isDirectory()) {
        throw new StrataError('REMOTE_NOT_FOUND', `remote directory ${path} does not exist`, {
          hint: `push to it first (strata push ${cfg.name}), or fix the URL: strata remote set-url ${cfg.name} PATH`,
        });
      }
    },
    async prepareWrite() {
      try {
        await fsp.mkdir(join(path, 'refs'), { recursive: true });
        await store.init();
      } catch (e) {
        const { fromSystemError } = await import('../errors/index.js');
        throw fromSystemError(e, path);
      }
      return 'file-lock';
    },
    close: () => store.close(),
  };
}

interface HttpRemoteModule {
  openHttpRemote(url: string, opts: { jobs?: number; name?: string }): Promise<{ store: ObjectStore; refs: RefStore; close(): Promise<void> | void; stats?(): TransferCounters }>;
}

async function openHttp(cfg: RemoteConfig, url: string, opts: OpenRemoteOptions): Promise<RemoteHandle> {
  let mod: HttpRemoteModule;
  try {
    const spec = './http.js';
    mod = (await import(spec)) as HttpRemoteModule;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new StrataError('REMOTE_UNSUPPORTED', `remote ${cfg.name} (${url}) is a Strata server, and this build of strata has no server client yet`, {
        hint: 'use an s3:// or file:// remote for now (strata remote set-url), or upgrade strata',
        cause: e,
      });
    }
    throw e;
  }
  if (typeof mod.openHttpRemote !== 'function') {
    throw new StrataError('REMOTE_UNSUPPORTED', `remote ${cfg.name} (${url}): the server client is not available in this build`, { hint: 'upgrade strata' });
  }
  const h = await mod.openHttpRemote(url, { jobs: opts.jobs, name: cfg.name });
  return {
    kind: 'http',
    name: cfg.name,
    location: url,
    store: h.store,
    refs: h.refs,
    stats: () => (h.stats ? h.stats() : null),
    async assertExists() {
      await h.refs.list('heads/');
    },
    async prepareWrite() {
      return 'server';
    },
    close: async () => {
      await h.close();
    },
  };
}
