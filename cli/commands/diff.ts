import type { Command } from '../command.js';
import { diff } from '../../core/ops/diff.js';
import { fmtBytes } from '../output.js';
import { repoPaths, withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'diff',
  summary: 'Compare data: workspace vs HEAD (no args), workspace vs REF, or REF vs REF.',
  usage: 'diff [REF [REF]] [--cached] [--stat] [--name-only] [-- PATH...]',
  help: 'options:\n  --cached     compare the staging index (not the workspace) with REF (default HEAD)\n  --stat       summary only\n  --name-only  paths only',
  options: { cached: { type: 'boolean' }, staged: { type: 'boolean' }, stat: { type: 'boolean' }, 'name-only': { type: 'boolean' } },
  async run(a, io) {
    const r = await withCliRepo({}, (repo) => diff(repo, { progress: io.progress(), refs: a.positionals, cached: !!(a.values.cached || a.values.staged), paths: repoPaths(repo, a.rest) }));
    io.endProgress();
    if (io.json_) return io.json(r);
    if (!a.values.stat) {
      for (const c of r.changes) {
        if (a.values['name-only']) {
          io.out(c.path);
          continue;
        }
        const sizes = c.kind === 'added' ? fmtBytes(c.newSize) : c.kind === 'deleted' ? fmtBytes(c.oldSize) : `${fmtBytes(c.oldSize)} -> ${fmtBytes(c.newSize)}`;
        const color = c.kind === 'added' ? 'green' : c.kind === 'deleted' ? 'red' : 'yellow';
        io.out(io.color(color, `${c.kind.padEnd(10)} ${c.path}`) + `  ${sizes}`);
      }
    }
    if (a.values['name-only']) return;
    const s = r.summary;
    io.out(`${r.changes.length} file(s) changed: ${s.added} added, ${s.modified} modified, ${s.deleted} deleted (+${fmtBytes(s.bytesAdded)} / -${fmtBytes(s.bytesRemoved)}) [${r.from} -> ${r.to}]`);
  },
};
export default cmd;
