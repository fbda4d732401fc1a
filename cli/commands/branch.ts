import type { Command } from '../command.js';
import { createBranch, deleteBranches, listBranches, renameBranch } from '../../core/ops/branch.js';
import { shortId } from '../output.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'branch',
  summary: 'List branches (-r remote-tracking, -a both); create NAME [START]; delete with -d (-D to force); rename with -m OLD NEW.',
  usage: 'branch [-r | -a] | branch NAME [START] [-f] | branch -d|-D NAME... | branch -m OLD NEW',
  help: [
    'options:',
    '  -r, --remotes  list the remote-tracking branches (origin/main, ...), which fetch and push update',
    '  -a, --all      list local and remote-tracking branches',
    '  -d, --delete   delete the named branches (refused, and nothing deleted, if one has commits on no other branch or tag)',
    '  -D             delete the named branches even so',
    '  -f, --force    with NAME START: move an existing branch NAME to START',
    '  -m, --move     rename OLD to NEW',
  ].join('\n'),
  options: { remotes: { type: 'boolean', short: 'r' }, all: { type: 'boolean', short: 'a' }, delete: { type: 'boolean', short: 'd' }, 'force-delete': { type: 'boolean', short: 'D' }, move: { type: 'boolean', short: 'm' }, force: { type: 'boolean', short: 'f' } },
  async run(a, io) {
    const [x, y] = a.positionals;
    if (a.values.delete || a.values['force-delete']) {
      if (!x) throw usageErr('branch -d NAME...');
      const r = await withCliRepo({}, (repo) => deleteBranches(repo, a.positionals, !!a.values['force-delete'] || !!a.values.force));
      if (io.json_) return io.json(r);
      for (const d of r) io.out(`Deleted branch ${d.name} (was ${shortId(d.commit)})`);
      return;
    }
    if (a.values.move) {
      if (!x || !y) throw usageErr('branch -m OLD NEW');
      const r = await withCliRepo({}, (repo) => renameBranch(repo, x, y));
      return io.json_ ? io.json(r) : io.out(`Renamed branch ${x} to ${y}`);
    }
    if (x) {
      const r = await withCliRepo({}, (repo) => createBranch(repo, x, y ?? 'HEAD', !!a.values.force));
      if (io.json_) return io.json(r);
      return io.out(r.previous ? `Reset branch ${r.name} to ${shortId(r.commit)} (was ${shortId(r.previous)})` : `Created branch ${r.name} at ${shortId(r.commit)}`);
    }
    const which = a.values.all ? 'all' : a.values.remotes ? 'remote' : 'local';
    const list = await withCliRepo({}, (repo) => listBranches(repo, { which }));
    if (io.json_) return io.json(list);
    for (const b of list) {
      // git's format: -r shows origin/main, -a shows remotes/origin/main after the local branches.
      const name = b.remote ? (which === 'all' ? `remotes/${b.name}` : b.name) : b.name;
      io.out(`${b.current ? '*' : ' '} ${b.current ? io.color('green', name) : b.remote ? io.color('red', name) : name}  ${io.color('dim', shortId(b.commit))}`);
    }
  },
};

function usageErr(u: string): Error {
  return Object.assign(new Error(`usage: strata ${u}`), { name: 'StrataError', code: 'INVALID_ARGUMENT', exitCode: 2 });
}
export default cmd;
