import type { Command } from '../command.js';
import { ls } from '../../core/ops/ls.js';
import { splitRefPath } from '../../core/repo/refs.js';
import { fmtBytes, shortId } from '../output.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'ls',
  summary: 'List the files of a commit: ls [REF] [PATH] (or REF:PATH).',
  usage: 'ls [REF] [PATH] [-r] [-l]',
  options: { recursive: { type: 'boolean', short: 'r' }, long: { type: 'boolean', short: 'l' } },
  async run(a, io) {
    let ref = a.positionals[0];
    let path = a.positionals[1];
    if (ref && ref.includes(':') && path === undefined) ({ ref, path } = splitRefPath(ref));
    const r = await withCliRepo({}, (repo) => ls(repo, { ref, path, recursive: !!a.values.recursive }));
    if (io.json_) return io.json(r);
    for (const e of r.entries) {
      const name = e.type === 'dir' ? `${e.path}/` : e.type === 'symlink' ? `${e.path} -> ${e.target}` : e.path;
      if (a.values.long) io.out(`${e.type.padEnd(7)} ${fmtBytes(e.size).padStart(10)}  ${shortId(e.id)}  ${name}`);
      else io.out(name);
    }
  },
};
export default cmd;
