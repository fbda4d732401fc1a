import type { Command } from '../command.js';
import { clone } from '../../core/ops/clone.js';
import { fmtBytes, shortId } from '../output.js';
import { jobsOpt } from './fetch.js';
import { S3_OPTIONS, remoteSettings } from './remote.js';

const cmd: Command = {
  name: 'clone',
  summary: 'Copy a repository from a remote into a new folder and check out a branch (or only some paths).',
  usage: 'clone URL [DIR] [-b BRANCH] [--no-checkout] [S3 options] [-j N] [-- PATH...]',
  help: [
    'options:',
    '  -b, --branch B    branch to check out (default: main, else master, else the first)',
    '  --no-checkout     fetch history but write no files',
    '  -j, --jobs N      parallel transfers (default 16)',
    '  --endpoint URL, --region R, --profile P, --path-style, --virtual-host   as for strata remote add',
    '  -- PATH...        partial clone: download and write only these paths',
    '',
    'examples:',
    '  strata clone s3://my-bucket/datasets/fraud --endpoint http://localhost:9000',
    '  strata clone s3://my-bucket/datasets/fraud fraud -- data/raw',
  ].join('\n'),
  options: { ...S3_OPTIONS, branch: { type: 'string', short: 'b' }, 'no-checkout': { type: 'boolean' }, jobs: { type: 'string', short: 'j' } },
  async run(a, io) {
    const [url, dir] = a.positionals;
    if (!url) {
      const { StrataError } = await import('../../core/errors/index.js');
      throw new StrataError('INVALID_ARGUMENT', 'clone needs a URL', { hint: 'strata clone s3://bucket/prefix [DIR]' });
    }
    const r = await clone({ cwd: process.cwd(), progress: io.progress() }, {
      url,
      dir,
      branch: a.values.branch as string | undefined,
      noCheckout: !!a.values['no-checkout'],
      paths: a.rest.length ? a.rest : undefined,
      jobs: jobsOpt(a.values.jobs),
      ...remoteSettings(a),
    });
    io.endProgress();
    if (io.json_) return io.json(r);
    if (r.empty) return io.out(`Cloned an empty repository into ${r.dir}`);
    io.out(`Cloned ${r.url} into ${r.dir} (branch ${r.branch} at ${shortId(r.commit)})`);
    io.out(`${r.objects} object(s), ${fmtBytes(r.bytes)} received${r.requests !== null ? ` in ${r.requests} request(s)` : ''}, ${r.seconds}s`);
    if (r.pull?.sparse) io.out(`partial checkout: ${r.pull.sparse.length ? r.pull.sparse.join(', ') : '(nothing)'}`);
  },
};
export default cmd;
