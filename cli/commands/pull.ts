import type { Command } from '../command.js';
import { pull } from '../../core/ops/pull.js';
import { fmtBytes, shortId } from '../output.js';
import { jobsOpt } from './fetch.js';
import { withCliRepo } from '../repo.js';
import { printMerge } from './merge.js';

const cmd: Command = {
  name: 'pull',
  summary: 'Fetch from a remote and bring its branch into the checked-out one: fast-forward, or merge when both changed.',
  usage: 'pull [REMOTE] [BRANCH] [--ff-only] [--strategy ours|theirs] [-f] [-j N] [-- PATH...]',
  help: [
    'options:',
    '  -f, --force   discard uncommitted changes that would be overwritten',
    '  --ff-only     refuse (exit 6) instead of merging when the histories have diverged',
    '  --strategy S  ours|theirs: how a merge decides conflicting paths (see strata merge)',
    '  -j, --jobs N  parallel transfers (default 16)',
    '',
    'With -- PATH...: a partial checkout: only those paths are downloaded and written; files elsewhere',
    'that did not change stay, files elsewhere that changed upstream are removed, and status does not',
    'report absent files outside the paths. `strata pull -- .` checks out everything again.',
    'Histories that diverged are merged as strata merge does (exit 16 when conflicts stop it).',
    '',
    'In a git clone of a project (strata.project, no .strata/ yet) pull sets up the repository from',
    'strata.project and checks out the data version strata.lock names; files already there that differ',
    'from the data are refused, nothing written.'
  ].join('\n'),
  options: { force: { type: 'boolean', short: 'f' }, jobs: { type: 'string', short: 'j' }, 'ff-only': { type: 'boolean' }, strategy: { type: 'string', short: 's' } },
  async run(a, io) {
    const [remote, branch] = a.positionals;
    const r = await withCliRepo({ fromProject: true }, (repo) => pull(repo, {
      progress: io.progress(),
      remote,
      branch,
      paths: a.rest.length ? a.rest : undefined,
      force: !!a.values.force,
      jobs: jobsOpt(a.values.jobs),
      ffOnly: !!a.values['ff-only'],
      strategy: a.values.strategy as 'ours' | 'theirs' | undefined,
    }));
    io.endProgress();
    if (io.json_) {
      io.json(r);
      return r.status === 'conflicts' ? 16 : 0;
    }
    if (r.merge) {
      if (r.objects) io.out(`${r.objects} object(s), ${fmtBytes(r.bytes)} received${r.requests !== null ? ` in ${r.requests} request(s)` : ''}, ${r.seconds}s`);
      return printMerge(io, r.merge);
    }
    const msg = {
      'up-to-date': `${r.branch} is up to date with ${r.remote} (${shortId(r.new)})`,
      'fast-forward': `${r.branch}: ${r.old ? shortId(r.old) : '(new)'} -> ${shortId(r.new)} (fast-forward)`,
      ahead: `${r.branch} is ahead of ${r.remote}: nothing to pull (strata push sends your commits)`,
      'empty-remote': `${r.remote} has no branch to pull yet`,
    }[r.status as 'up-to-date' | 'fast-forward' | 'ahead' | 'empty-remote'];
    io.out(msg);
    if (r.objects) io.out(`${r.objects} object(s), ${fmtBytes(r.bytes)} received${r.requests !== null ? ` in ${r.requests} request(s)` : ''}, ${r.seconds}s`);
    if (r.written || r.removed) io.out(`${r.written} file(s) written, ${r.removed} removed`);
    if (r.sparse) io.out(`partial checkout: ${r.sparse.length ? r.sparse.join(', ') : '(nothing)'}`);
    if (r.locked) io.out(`strata.lock names ${shortId(r.locked.commit)}: checked out the data that goes with this code (${r.locked.branch ? `branch ${r.locked.branch}` : 'detached'})`);
  },
};
export default cmd;
