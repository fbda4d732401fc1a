import type { Command } from '../command.js';
import { StrataError } from '../../core/errors/index.js';
import { fetch } from '../../core/ops/fetch.js';
import { fmtBytes, shortId } from '../output.js';
import { withCliRepo } from '../repo.js';

export function jobsOpt(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new StrataError('INVALID_ARGUMENT', `--jobs must be a positive integer, not ${JSON.stringify(v)}`, { hint: 'e.g. -j 16 (the default)' });
  return n;
}

const cmd: Command = {
  name: 'fetch',
  summary: 'Download new commits (and their data) from a remote; update REMOTE/BRANCH refs. The workspace is not touched.',
  usage: 'fetch [REMOTE] [BRANCH...] [-p] [-j N]',
  help: 'options:\n  -p, --prune   remove REMOTE/BRANCH refs whose branch the remote no longer has\n  -j, --jobs N  parallel transfers (default 16)\n\nIn a partial checkout (pull/clone -- PATH) only commits and trees are fetched.',
  options: { prune: { type: 'boolean', short: 'p' }, jobs: { type: 'string', short: 'j' } },
  async run(a, io) {
    const [remote, ...branches] = a.positionals;
    const r = await withCliRepo({}, (repo) => fetch(repo, { progress: io.progress(), remote, branches, prune: !!a.values.prune, jobs: jobsOpt(a.values.jobs) }));
    io.endProgress();
    if (io.json_) return io.json(r);
    for (const u of r.refs) {
      if (u.status === 'up-to-date') continue;
      if (u.status === 'pruned') {
        io.out(`${r.remote}/${u.ref.slice(6)}: pruned (was ${shortId(u.old!)}; gone on ${r.remote})`);
        continue;
      }
      const name = u.ref.startsWith('heads/') ? `${r.remote}/${u.ref.slice(6)}` : `tag ${u.ref.slice(5)}`;
      io.out(`${name}: ${u.old ? shortId(u.old) : '(new)'} -> ${shortId(u.new)}`);
    }
    if (!r.objects && r.refs.some((u) => u.status === 'pruned')) return;
    io.out(r.objects ? `${r.commits} commit(s), ${r.objects} object(s), ${fmtBytes(r.bytes)} received${r.requests !== null ? ` in ${r.requests} request(s)` : ''}, ${r.seconds}s` : 'Already up to date.');
  },
};
export default cmd;
