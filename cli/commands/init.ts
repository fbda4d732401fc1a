import type { Command } from '../command.js';
import { init } from '../../core/ops/init.js';

const cmd: Command = {
  name: 'init',
  summary: 'Create a strata repository (.strata/) in DIR (default: the current folder).',
  usage: 'init [DIR] [-b BRANCH]',
  help: 'options:\n  -b, --branch NAME   name of the first branch (default main)',
  options: { branch: { type: 'string', short: 'b' } },
  async run(a, io) {
    const r = await init({ dir: a.positionals[0] ?? process.cwd(), branch: a.values.branch as string | undefined });
    if (io.json_) io.json(r);
    else {
      io.out(`Initialized empty strata repository in ${r.root}/.strata (branch ${r.branch})`);
      if (r.gitRoot) io.out(`Git project detected at ${r.gitRoot}: data paths you add will be listed in its .gitignore`);
      if (r.projectFile) io.out(`Wrote ${r.projectFile} (commit it: teammates run strata pull after git clone); .strata/ is in .gitignore`);
    }
  },
};
export default cmd;
