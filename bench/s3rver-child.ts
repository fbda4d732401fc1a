/**
 * s3rver (test/helpers/s3rver.ts) in a process of its own, for bench sections that compare a
 * server with it and must not let it share an event loop with the harness or the client:
 *
 *   node dist/bench/s3rver-child.js BUCKET...    prints {"endpoint": ..., "port": ...} once listening
 *
 * Its storage folder is a temporary folder under $TMPDIR (the section points TMPDIR into its own
 * scratch folder). SIGTERM or SIGINT stops it and removes the folder.
 */
import { startS3rver } from '../test/helpers/s3rver.js';

const h = await startS3rver({ buckets: process.argv.slice(2) });
process.stdout.write(JSON.stringify({ endpoint: h.endpoint, port: h.port, dir: h.dir }) + '\n');
const stop = (): void => {
  void h.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
