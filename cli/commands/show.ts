import type { Command } from '../command.js';
import { show } from '../../core/ops/show.js';
import { fmtBytes, fmtTime } from '../output.js';

const cmd: Command = {
  name: 'show',
  summary: 'Show a commit: author, time, message, code version and the files it changed.',
  usage: 'show [REF]',
  async run(a, io) {
    const r = await show({ cwd: process.cwd() }, { ref: a.positionals[0] });
    if (io.json_) return io.json(r);
    io.out(io.color('yellow', `commit ${r.id}`) + (r.refs.length ? ` (${r.refs.join(', ')})` : ''));
    if (r.parents.length) io.out(`Parents: ${r.parents.join(' ')}`);
    io.out(`Author:  ${r.author.name} <${r.author.email}>`);
    io.out(`Date:    ${fmtTime(r.time)}`);
    io.out(`Tree:    ${r.tree}`);
    if (r.code) io.out(`Code:    ${r.code.commit ? `git ${r.code.commit}${r.code.branch ? ` on ${r.code.branch}` : ''}${r.code.dirty ? ' (dirty)' : ''}` : 'no git commit'}`);
    io.out('');
    for (const l of r.message.split('\n')) io.out(`    ${l}`);
    io.out('');
    for (const c of r.changes) io.out(`  ${c.kind.padEnd(10)} ${c.path}  ${c.kind === 'deleted' ? fmtBytes(c.oldSize) : fmtBytes(c.newSize)}`);
  },
};
export default cmd;
