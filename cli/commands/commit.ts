import type { Command } from '../command.js';
import { commit } from '../../core/ops/commit.js';
import { shortId } from '../output.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'commit',
  summary: 'Record the staged data as a new commit on the current branch.',
  usage: 'commit -m MESSAGE [-a] [--allow-empty] [--no-verify]',
  help: 'options:\n  -m, --message MSG   commit message (required)\n  -a, --all           stage changes under all tracked paths first\n  --allow-empty       commit even if nothing changed\n  --no-verify         skip the data checks of strata.checks.yaml',
  options: { message: { type: 'string', short: 'm' }, all: { type: 'boolean', short: 'a' }, 'allow-empty': { type: 'boolean' }, 'no-verify': { type: 'boolean' } },
  async run(a, io) {
    const r = await withCliRepo({}, (repo) => commit(repo, {
      progress: io.progress(),
      message: (a.values.message as string | undefined) ?? '',
      all: !!a.values.all,
      allowEmpty: !!a.values['allow-empty'],
      noVerify: !!a.values['no-verify'],
    }));
    for (const w of r.warnings ?? []) io.err(`warning: ${w}`);
    if (io.json_) return io.json(r);
    const counts = { added: 0, modified: 0, deleted: 0, typechange: 0 };
    for (const c of r.changes) counts[c.kind]++;
    io.out(`[${r.branch ?? 'detached HEAD'} ${shortId(r.id)}] ${(a.values.message as string).split('\n')[0]}`);
    io.out(` ${r.changes.length} file(s) changed: ${counts.added} added, ${counts.modified + counts.typechange} modified, ${counts.deleted} deleted`);
    if (r.code?.commit) io.out(` code: git ${shortId(r.code.commit)}${r.code.dirty ? ` (uncommitted code changes${r.code.diff ? ` recorded as ${shortId(r.code.diff)}` : ''})` : ''}`);
  },
};
export default cmd;
