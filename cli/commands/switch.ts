import type { Command } from '../command.js';
import { checkout } from '../../core/ops/checkout.js';
import { fmtBytes, shortId } from '../output.js';
import { StrataError } from '../../core/errors/index.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'switch',
  summary: 'Switch to a branch; -c NEW creates it (at HEAD or START); --detach for tags and commits.',
  usage: 'switch BRANCH | switch -c NEW [START] | switch --detach REF  [-f]',
  options: { create: { type: 'string', short: 'c' }, detach: { type: 'boolean' }, force: { type: 'boolean', short: 'f' } },
  async run(a, io) {
    const create = a.values.create as string | undefined;
    const target = create ? (a.positionals[0] ?? 'HEAD') : a.positionals[0];
    if (!target) throw new StrataError('INVALID_ARGUMENT', 'switch needs a branch', { hint: 'strata switch main, or strata switch -c experiment' });
    const r = await withCliRepo({}, (repo) => checkout(repo, {
      progress: io.progress(),
      target,
      createBranch: create,
      requireBranch: !create && !a.values.detach,
      detach: !!a.values.detach,
      force: !!a.values.force,
    }));
    io.endProgress();
    if (io.json_) return io.json(r);
    io.out(r.branch ? `Switched to ${create ? 'a new ' : ''}branch ${r.branch} (${shortId(r.commit)})` : `HEAD is now at ${shortId(r.commit)} (detached)`);
    if (r.written || r.removed) io.out(`${r.written} file(s) written (${fmtBytes(r.bytes)}), ${r.removed} removed`);
  },
};
export default cmd;
