import type { Command } from '../command.js';
import { fsck } from '../../core/ops/fsck.js';
import { fmtBytes, shortId } from '../output.js';

const cmd: Command = {
  name: 'fsck',
  summary: 'Check that every object reachable from every ref exists and hashes to its id.',
  usage: 'fsck [--quick]',
  help: 'options:\n  --quick   check presence only, do not re-hash contents\n\nexit status: 0 clean, 11 problems found',
  options: { quick: { type: 'boolean' } },
  async run(a, io) {
    const r = await fsck({ cwd: process.cwd() }, { quick: !!a.values.quick });
    if (io.json_) io.json(r);
    else {
      for (const p of r.problems) {
        io.err(`${p.problem} ${p.kind} ${shortId(p.id)}${p.path ? ` (${p.path}` + (p.commit ? ` in commit ${shortId(p.commit)})` : ')') : ''}${p.detail ? ': ' + p.detail : ''}`);
      }
      io.out(r.ok ? `ok: ${r.checked} objects verified (${fmtBytes(r.bytes)})` : `${r.problems.length} problem(s) found; ${r.checked} objects ok`);
    }
    return r.ok ? 0 : 11;
  },
};
export default cmd;
