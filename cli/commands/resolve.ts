import type { Command } from '../command.js';
import { resolve, type ResolveSide } from '../../core/ops/resolve.js';
import { repoPaths, withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'resolve',
  summary: 'Settle conflicted paths of the merge in progress by taking one version.',
  usage: 'resolve PATH... --ours|--theirs|--base',
  help: [
    'options:',
    '  --ours     keep the checked-out branch\'s version',
    '  --theirs   take the merged branch\'s version',
    '  --base     take the version of the merge base (the common ancestor)',
    '',
    'A side that has no version at PATH deletes it. A folder PATH resolves every conflict below it.',
    'Editing a conflicted file and `strata add PATH` resolves it too. Then: strata merge --continue.',
  ].join('\n'),
  options: { ours: { type: 'boolean' }, theirs: { type: 'boolean' }, base: { type: 'boolean' } },
  async run(a, io) {
    const sides = (['ours', 'theirs', 'base'] as const).filter((s) => a.values[s]);
    if (sides.length !== 1) throw Object.assign(new Error('say which version to take: exactly one of --ours, --theirs, --base'), { name: 'StrataError', code: 'INVALID_ARGUMENT', exitCode: 2, hint: 'strata resolve data/x.csv --theirs' });
    const side: ResolveSide = sides[0]!;
    const r = await withCliRepo({}, (repo) => resolve(repo, { paths: repoPaths(repo, [...a.positionals, ...a.rest]), side, progress: io.progress() }));
    io.endProgress();
    if (io.json_) return io.json(r);
    for (const x of r.resolved) io.out(`Resolved ${x.path} with ${x.side === 'base' ? 'the base' : x.side === 'ours' ? 'our' : 'their'} version${x.deleted ? ' (deleted: that side has none)' : ''}`);
    io.out(r.remaining.length ? `${r.remaining.length} conflict(s) left (strata status lists them)` : 'All conflicts resolved: strata merge --continue commits the merge');
  },
};
export default cmd;
