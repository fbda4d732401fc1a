import type { Command } from '../command.js';
import { StrataError } from '../../core/errors/index.js';
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

/** Positionals -> what to push: [REMOTE] [BRANCH | SRC:DST | :DST], or with --delete [REMOTE] BRANCH... */
function pushSpec(pos: string[], del: boolean): { remote?: string; branch?: string; to?: string; delete?: string[] } {
  if (del) return pos.length <= 1 ? { delete: pos } : { remote: pos[0], delete: pos.slice(1) };
  const [remote, spec, ...extra] = pos;
  if (extra.length) throw new StrataError('INVALID_ARGUMENT', `push takes one BRANCH or SRC:DST, not ${pos.length - 1}`, { hint: 'push several branches with --all, or one at a time' });
  if (spec === undefined || !spec.includes(':')) return { remote, branch: spec };
  const [src, dst] = [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)];
  if (!dst) throw new StrataError('INVALID_ARGUMENT', `${JSON.stringify(spec)} names no remote branch after ':'`, { hint: `strata push ${remote} SRC:DST (or :DST to delete DST)` });
  if (!src) return { remote, delete: [dst] };
  return { remote, branch: src, to: dst };
}

const cmd: Command = {
  name: 'push',
  summary: 'Upload commits and their data to a remote, then move its branch (fast-forward only unless --force).',
  usage: 'push [REMOTE] [BRANCH | SRC:DST | --all] [--tags] [-f] [-j N] [-v]  |  push [REMOTE] --delete BRANCH...  |  push REMOTE :BRANCH',
  help: [
    'options:',
    '  --all         push every local branch',
    '  --tags        also push tags',
    '  -d, --delete  delete the named branches on the remote (compare-and-swap: a branch someone moved meanwhile is kept)',
    '  -f, --force   move the remote branch even if that drops commits it has (still refused if someone pushed meanwhile)',
    '  -j, --jobs N  parallel transfers (default 16)',
    '  -v, --verbose say which guarantee protected the ref update',
    '',
    'REMOTE defaults to origin; BRANCH to the checked-out branch. SRC:DST pushes local SRC (a branch or any',
    'revision) to remote branch DST; :BRANCH deletes it. With --delete and one name, the name is the branch.',
    'Exit 6 (NON_FAST_FORWARD / REF_CONFLICT): the remote has commits you do not have: strata pull, then push.',
    'Exit 18 (CHECK_FAILED): the server protects the branch (checks.protect) and the commit fails its data checks.',
  ].join('\n'),
  options: { delete: { type: 'boolean', short: 'd' }, all: { type: 'boolean' }, tags: { type: 'boolean' }, force: { type: 'boolean', short: 'f' }, jobs: { type: 'string', short: 'j' }, verbose: { type: 'boolean', short: 'v' } },
  async run(a, io) {
    const spec = pushSpec(a.positionals, !!a.values.delete);
    const r = await withCliRepo({}, (repo) => push(repo, {
      progress: io.progress(),
      ...spec,
      all: !!a.values.all,
      tags: !!a.values.tags,
      force: !!a.values.force,
      jobs: jobsOpt(a.values.jobs),
    }));
    io.endProgress();
    if (io.json_) return io.json(r);
    for (const u of r.refs) {
      const name = u.ref.replace(/^heads\//, '').replace(/^tags\//, 'tag ');
      if (u.status === 'deleted') io.out(`${name}: deleted on ${r.remote} (was ${shortId(u.old!)})`);
      else if (u.status === 'up-to-date') io.out(`${name}: up to date (${shortId(u.new)})`);
      else io.out(`${name}: ${u.old ? shortId(u.old) : '(new)'} -> ${shortId(u.new)}${u.status === 'forced' ? ' (forced)' : ''}`);
    }
    if (r.objects || r.refs.some((u) => u.status !== 'up-to-date' && u.status !== 'deleted')) {
      io.out(`${r.objects} object(s), ${fmtBytes(r.bytes)} sent${r.requests !== null ? ` in ${r.requests} request(s)` : ''}, ${r.seconds}s${r.skipped ? ` (${r.skipped} already on the remote)` : ''}`);
    }
    if (a.values.verbose && r.guarantee) io.out(`ref update: ${GUARANTEE[r.guarantee] ?? r.guarantee}`);
    for (const w of r.warnings ?? []) io.err(`warning: ${w}`);
  },
};
export default cmd;
