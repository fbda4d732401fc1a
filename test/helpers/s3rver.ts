/**
 * A throwaway S3 server for tests: s3rver on 127.0.0.1 (an OS-chosen port) over a temp directory.
 *
 *   const s3 = await startS3rver({ buckets: ['strata'] });
 *   const store = new S3Store(s3.storeOptions('strata', 'some/prefix'));
 *   ...
 *   await s3.stop();
 *
 * s3rver's only known access key is S3RVER / S3RVER; it rejects unknown access key ids
 * (InvalidAccessKeyId, 403) but does not check SigV4 signatures, so a wrong secret is accepted.
 */
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3StoreOptions } from '../../core/store/s3/conn.js';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
  store: { putBucket(name: string): Promise<unknown> };
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3rverHandle {
  endpoint: string;
  port: number;
  dir: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  createBucket(name: string): Promise<void>;
  /** S3Store options for a bucket/prefix on this server (explicit endpoint and fake credentials). */
  storeOptions(bucket: string, prefix?: string): S3StoreOptions;
  stop(): Promise<void>;
}

export async function startS3rver(opts: { buckets?: string[] } = {}): Promise<S3rverHandle> {
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as S3rverCtor;
  const dir = await mkdtemp(join(tmpdir(), 'strata-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    // Path-style only: 127.0.0.1 is never a virtual-host bucket name anyway.
    vhostBuckets: false,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name })),
  });
  const addr = await server.run();
  const port = addr.port;
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped = false;
  return {
    endpoint,
    port,
    dir,
    credentials: { ...S3RVER_CREDENTIALS },
    async createBucket(name) {
      await server.store.putBucket(name);
    },
    storeOptions(bucket, prefix = '') {
      return { bucket, prefix, endpoint, region: 'us-east-1', credentials: { ...S3RVER_CREDENTIALS }, maxAttempts: 3 };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.httpServer?.closeAllConnections?.();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
