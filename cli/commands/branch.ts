import type { Command } from '../command.js';
import { createBranch, deleteBranch, listBranches, renameBranch } from '../../core/ops/branch.js';
import { shortId } from '../output.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'branch',
  summary: 'List branches; create NAME [START]; delete with -d (-D to force); rename with -m OLD NEW.',
  usage: 'branch [NAME [START]] [-d|-D NAME] [-m OLD NEW] [-f]',
  options: { delete: { type: 'boolean', short: 'd' }, 'force-delete': { type: 'boolean', short: 'D' }, move: { type: 'boolean', short: 'm' }, force: { type: 'boolean', short: 'f' } },
  async run(a, io) {
    const [x, y] = a.positionals;
    if (a.values.delete || a.values['force-delete']) {
      if (!x) throw usageErr('branch -d NAME');
      const r = await withCliRepo({}, (repo) => deleteBranch(repo, x, !!a.values['force-delete'] || !!a.values.force));
      return io.json_ ? io.json(r) : io.out(`Deleted branch ${r.name} (was ${shortId(r.commit)})`);
    }
    if (a.values.move) {
      if (!x || !y) throw usageErr('branch -m OLD NEW');
      const r = await withCliRepo({}, (repo) => renameBranch(repo, x, y));
      return io.json_ ? io.json(r) : io.out(`Renamed branch ${x} to ${y}`);
    }
    if (x) {
      const r = await withCliRepo({}, (repo) => createBranch(repo, x, y ?? 'HEAD', !!a.values.force));
      return io.json_ ? io.json(r) : io.out(`Created branch ${r.name} at ${shortId(r.commit)}`);
    }
    const list = await withCliRepo({}, (repo) => listBranches(repo));
    if (io.json_) return io.json(list);
    for (const b of list) io.out(`${b.current ? '*' : ' '} ${b.current ? io.color('green', b.name) : b.name}  ${io.color('dim', shortId(b.commit))}`);
  },
};

function usageErr(u: string): Error {
  return Object.assign(new Error(`usage: strata ${u}`), { name: 'StrataError', code: 'INVALID_ARGUMENT', exitCode: 2 });
}
export default cmd;
