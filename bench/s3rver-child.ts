/**
 * s3rver (test/helpers/s3rver.ts) in a process of its own, for bench sections that compare a
 * server with it and must not let it share an event loop with the harness or the client:
 *
 *   node dist/bench/s3rver-child.js [--preload KEYS.tsv] BUCKET...
 *
 * prints {"endpoint": ..., "port": ..., "dir": ..., "preloaded": N, "preloadMs": ms} once listening.
 * `--preload` puts objects into the first bucket before that line, through s3rver's own file
 * store (the code its PutObject handler runs, without HTTP in front): lines `key<TAB>size<TAB>file`.
 * Loading 100,000 objects through HTTP takes many minutes, most of it s3rver's per-request cost.
 * Its storage folder is a temporary folder under $TMPDIR (the section points TMPDIR into its own
 * scratch folder). SIGTERM or SIGINT stops it and removes the folder.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startS3rver } from '../test/helpers/s3rver.js';

interface Store {
  putObject(o: unknown): Promise<{ size: number; md5: string }>;
}
type StoreCtor = new (dir: string) => Store;
type ObjectCtor = new (bucket: string, key: string, content: Buffer, headers: Record<string, string>) => unknown;

const args = process.argv.slice(2);
let preload: string | null = null;
const at = args.indexOf('--preload');
if (at >= 0) {
  preload = args[at + 1] ?? null;
  args.splice(at, 2);
}
const h = await startS3rver({ buckets: args });
let preloaded = 0;
let preloadMs = 0;
let preloadError: string | null = null;
if (preload && args[0]) {
  try {
    await preloadObjects(preload, args[0]);
  } catch (e) {
    // The caller falls back to PUTs over HTTP.
    preloadError = (e as Error).message;
  }
}

async function preloadObjects(file: string, bucket: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const FilesystemStore = require('s3rver/lib/stores/filesystem') as StoreCtor;
  const S3Object = require('s3rver/lib/models/object') as ObjectCtor;
  const store = new FilesystemStore(h.dir);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < lines.length) {
      const [key, , path] = lines[next++]!.split('\t');
      const body = readFileSync(path!);
      await store.putObject(new S3Object(bucket, key!, body, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }));
      preloaded++;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  preloadMs = performance.now() - t0;
}

process.stdout.write(JSON.stringify({ endpoint: h.endpoint, port: h.port, dir: h.dir, preloaded, preloadMs, preloadError }) + '\n');
const stop = (): void => {
  void h.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
