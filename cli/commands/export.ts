import type { Command } from '../command.js';
import { exportPath } from '../../core/ops/export.js';
import { StrataError } from '../../core/errors/index.js';
import { fmtBytes, shortId } from '../output.js';
import { withCliRepo } from '../repo.js';
import { jobsOpt } from './fetch.js';

const cmd: Command = {
  name: 'export',
  summary: 'Copy a file or folder of a commit to DEST, leaving the workspace and the index as they are.',
  usage: 'export REF PATH DEST [--force] [-j N]',
  help: [
    'PATH is a path in the commit (from the repository root); "." copies the whole tree.',
    '',
    'options:',
    '  -f, --force       replace DEST if it exists',
    '  -j, --jobs N      files copied at once (default 8)',
    '',
    'examples:',
    '  strata export v1 data/train.csv /tmp/train-v1.csv',
    '  strata export main~2 data/raw ../raw-old',
  ].join('\n'),
  options: { force: { type: 'boolean', short: 'f' }, jobs: { type: 'string', short: 'j' } },
  async run(a, io) {
    const [rev, path, dest, extra] = a.positionals;
    if (!rev || path === undefined || !dest || extra !== undefined) {
      throw new StrataError('INVALID_ARGUMENT', 'usage: strata export REF PATH DEST', { hint: 'strata export v1 data/train.csv /tmp/train-v1.csv' });
    }
    const jobs = jobsOpt(a.values.jobs);
    const r = await withCliRepo({ readonly: true }, (repo) => exportPath(repo, { rev, path, dest, cwd: process.cwd(), force: !!a.values.force, jobs, progress: io.progress() }));
    io.endProgress();
    if (io.json_) return io.json(r);
    io.out(`Exported ${r.path || '/'} at ${r.rev} (${shortId(r.commit)}) to ${r.dest}: ${r.files} file(s), ${fmtBytes(r.bytes)}`);
  },
};
export default cmd;
