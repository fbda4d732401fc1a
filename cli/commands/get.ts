import type { Command } from '../command.js';
import { get } from '../../core/ops/get.js';
import { StrataError } from '../../core/errors/index.js';
import { fmtBytes, shortId } from '../output.js';
import { jobsOpt } from './fetch.js';
import { S3_OPTIONS, remoteSettings } from './remote.js';

const cmd: Command = {
  name: 'get',
  summary: 'Copy a file or folder at a version out of a remote repository, with no workspace or local repository.',
  usage: 'get URL PATH [--rev REF] [-o DEST] [--force] [S3 options] [-j N]',
  help: [
    'URL: a Strata server (http(s)://host/REPO), s3://bucket/prefix, a directory remote or a repository folder.',
    '',
    'options:',
    '  --rev REF         branch, tag or full commit id (default: main, else master, else the first branch)',
    '  -o, --out DEST    where to write (default: the last part of PATH, in the current folder)',
    '  -f, --force       replace DEST if it exists',
    '  -j, --jobs N      files copied at once (default 8)',
    '  --endpoint URL, --region R, --profile P, --path-style, --virtual-host   S3 settings, as for strata remote add',
    '',
    'examples:',
    '  strata get https://strata.example.com/fraud data/train.csv',
    '  strata get s3://my-bucket/datasets/fraud data/raw --rev v1 -o raw-v1 --endpoint http://localhost:9000',
  ].join('\n'),
  options: { ...S3_OPTIONS, rev: { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean', short: 'f' }, jobs: { type: 'string', short: 'j' } },
  async run(a, io) {
    const [url, path, extra] = a.positionals;
    if (!url || path === undefined || extra !== undefined) {
      throw new StrataError('INVALID_ARGUMENT', 'usage: strata get URL PATH [--rev REF] [-o DEST]', { hint: 'strata get https://host/repo data/train.csv -o train.csv' });
    }
    const r = await get({ cwd: process.cwd(), progress: io.progress() }, {
      url,
      path,
      rev: a.values.rev as string | undefined,
      dest: a.values.out as string | undefined,
      force: !!a.values.force,
      jobs: jobsOpt(a.values.jobs),
      ...remoteSettings(a),
    });
    io.endProgress();
    if (io.json_) return io.json(r);
    io.out(`Copied ${r.path || '/'} at ${r.rev}${r.rev.startsWith(r.commit) ? '' : ` (${shortId(r.commit)})`} to ${r.dest}: ${r.files} file(s), ${fmtBytes(r.bytes)}`);
  },
};
export default cmd;
