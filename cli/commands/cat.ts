import { pipeline } from 'node:stream/promises';
import type { Command } from '../command.js';
import { cat } from '../../core/ops/cat.js';
import { StrataError } from '../../core/errors/index.js';

const cmd: Command = {
  name: 'cat',
  summary: 'Write the bytes of REF:PATH (default REF HEAD) to stdout, streamed and verified.',
  usage: 'cat REF:PATH',
  async run(a) {
    const spec = a.positionals[0];
    if (!spec) throw new StrataError('INVALID_ARGUMENT', 'cat needs REF:PATH', { hint: 'strata cat v1:data/train.csv' });
    const r = await cat({ cwd: process.cwd() }, spec);
    await pipeline(r.stream, process.stdout).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  },
};
export default cmd;
