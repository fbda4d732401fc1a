import { once } from 'node:events';
import type { Command } from '../command.js';
import { cat } from '../../core/ops/cat.js';
import { StrataError } from '../../core/errors/index.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'cat',
  summary: 'Write the bytes of REF:PATH (default REF HEAD) to stdout, streamed and verified.',
  usage: 'cat REF:PATH',
  async run(a) {
    const spec = a.positionals[0];
    if (!spec) throw new StrataError('INVALID_ARGUMENT', 'cat needs REF:PATH', { hint: 'strata cat v1:data/train.csv' });
    // The repository stays open until the last byte is written.
    await withCliRepo({}, async (repo) => {
      const r = await cat(repo, spec);
      // Not stream.pipeline: a verification failure must end the command with its error (exit 11 and
      // the message on stderr), not be forwarded into stdout as a stream error. Only verified bytes
      // reach this loop (see core/ops/cat.ts); a reader closing the pipe early is handled in output.ts.
      for await (const chunk of r.stream) {
        if (!process.stdout.write(chunk as Buffer)) await once(process.stdout, 'drain');
      }
    });
  },
};
export default cmd;
