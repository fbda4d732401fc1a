import type { Command } from '../command.js';
import { push } from '../../core/ops/push.js';
import { fmtBytes, shortId } from '../output.js';
import { jobsOpt } from './fetch.js';
import { withCliRepo } from '../repo.js';

const GUARANTEE: Record<string, string> = {
  's3-conditional-writes': 'atomic compare-and-swap (server enforces conditional writes)',
  's3-read-check-write': 'read-check-write: this server ignores conditional writes, so concurrent pushes to one branch are NOT fully safe',
  'file-lock': 'atomic compare-and-swap (lock file + rename)',
  server: 'compare-and-swap on the server',
};

const cmd: Command = {
  name: 'push',
  summary: 'Upload commits and their data to a remote, then move its branch (fast-forward only unless --force).',
  usage: 'push [REMOTE] [BRANCH | --all] [--tags] [-f] [-j N] [-v]',
  help: [
    'options:',
    '  --all         push every local branch',
    '  --tags        also push tags',
    '  -f, --force   move the remote branch even if that drops commits it has (still refused if someone pushed meanwhile)',
    '  -j, --jobs N  parallel transfers (default 16)',
    '  -v, --verbose say which guarantee protected the ref update',
    '',
    'REMOTE defaults to origin; BRANCH to the checked-out branch.',
    'Exit 6 (NON_FAST_FORWARD / REF_CONFLICT): the remote has commits you do not have: strata pull, then push.',
  ].join('\n'),
  options: { all: { type: 'boolean' }, tags: { type: 'boolean' }, force: { type: 'boolean', short: 'f' }, jobs: { type: 'string', short: 'j' }, verbose: { type: 'boolean', short: 'v' } },
  async run(a, io) {
    const [remote, branch] = a.positionals;
    const r = await withCliRepo({}, (repo) => push(repo, {
      progress: io.progress(),
      remote,
      branch,
      all: !!a.values.all,
      tags: !!a.values.tags,
      force: !!a.values.force,
      jobs: jobsOpt(a.values.jobs),
    }));
    io.endProgress();
    if (io.json_) return io.json(r);
    for (const u of r.refs) {
      const name = u.ref.replace(/^heads\//, '').replace(/^tags\//, 'tag ');
      if (u.status === 'up-to-date') io.out(`${name}: up to date (${shortId(u.new)})`);
      else io.out(`${name}: ${u.old ? shortId(u.old) : '(new)'} -> ${shortId(u.new)}${u.status === 'forced' ? ' (forced)' : ''}`);
    }
    if (r.objects || r.refs.some((u) => u.status !== 'up-to-date')) {
      io.out(`${r.objects} object(s), ${fmtBytes(r.bytes)} sent${r.requests !== null ? ` in ${r.requests} request(s)` : ''}, ${r.seconds}s${r.skipped ? ` (${r.skipped} already on the remote)` : ''}`);
    }
    if (a.values.verbose && r.guarantee) io.out(`ref update: ${GUARANTEE[r.guarantee] ?? r.guarantee}`);
  },
};
export default cmd;
