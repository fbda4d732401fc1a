import type { Command } from '../command.js';
import { fsck, type FsckProblem } from '../../core/ops/fsck.js';
import { fmtBytes, shortId } from '../output.js';

function describe(p: FsckProblem): string {
  const what = p.id ? `${p.kind} ${shortId(p.id)}` : p.kind;
  const where = p.path ? ` (${p.path}` + (p.commit ? ` in commit ${shortId(p.commit)})` : ')') : '';
  const file = p.file && !(p.detail ?? '').includes(p.file) ? ` [${p.file}]` : '';
  return `${p.problem} ${what}${where}${file}${p.detail ? ': ' + p.detail : ''}`;
}

const cmd: Command = {
  name: 'fsck',
  summary: 'Check the metadata database, the packs and every object reachable from every ref; --repair rebuilds what can be rebuilt.',
  usage: 'fsck [--quick] [--repair]',
  help: [
    'options:',
    '  --quick    check presence only, do not re-hash contents',
    '  --repair   rebuild what can be rebuilt: a damaged database (from the readable rows and the',
    '             objects; the damaged file is kept as strata.db.corrupt-<time>), damaged cache rows,',
    '             the stat cache, a damaged index (from HEAD), damaged packs (intact objects kept);',
    '             objects still missing are fetched from the configured remotes that have them',
    '',
    'exit status: 0 clean (after --repair: everything repaired), 11 problems found (or left)',
  ].join('\n'),
  options: { quick: { type: 'boolean' }, repair: { type: 'boolean' } },
  async run(a, io) {
    const r = await fsck({ cwd: process.cwd() }, { quick: !!a.values.quick, repair: !!a.values.repair });
    if (io.json_) io.json(r);
    else {
      for (const x of r.repaired ?? []) io.out(`repaired ${x.what}: ${x.detail}`);
      for (const p of r.problems) io.err(describe(p));
      if (r.ok) io.out(`ok: ${r.checked} objects verified (${fmtBytes(r.bytes)})`);
      else {
        io.out(`${r.problems.length} problem(s) found; ${r.checked} objects ok`);
        const fixable = r.problems.filter((p) => p.repairable);
        const lost = r.problems.some((p) => p.problem === 'missing' && !p.repairable);
        if (r.repaired === undefined && fixable.length) {
          io.err(`hint: run ${r.repair} to repair ${fixable.length === r.problems.length ? 'them' : `${fixable.length} of them`}${lost ? '; for the missing objects, first add a remote that has them (strata remote add NAME URL)' : ''}`);
        } else if (r.repaired === undefined && lost) {
          io.err('hint: the missing objects are on no configured remote: add a remote that has them (strata remote add NAME URL), then run strata fsck --repair');
        } else if (r.repaired !== undefined) {
          io.err(
            r.problems.some((p) => p.problem === 'missing')
              ? 'hint: the missing objects are on no configured remote: add a remote that has them (strata remote add NAME URL) and run strata fsck --repair again'
              : 'hint: what is left cannot be rebuilt from this repository: restore it from a remote or a backup',
          );
        }
      }
    }
    return r.ok ? 0 : 11;
  },
};
export default cmd;
