import type { Command } from '../command.js';
import { gc } from '../../core/ops/gc.js';
import { fmtBytes } from '../output.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'gc',
  summary: 'Delete objects that no branch, tag, index entry or run refers to.',
  usage: 'gc [--dry-run]',
  options: { 'dry-run': { type: 'boolean', short: 'n' } },
  async run(a, io) {
    const r = await withCliRepo({}, (repo) => gc(repo, { dryRun: !!a.values['dry-run'] }));
    if (io.json_) return io.json(r);
    io.out(`${r.dryRun ? 'would remove' : 'removed'} ${r.objects} unreachable object(s), ${fmtBytes(r.bytes)}; ${r.kept} kept`);
  },
};
export default cmd;
