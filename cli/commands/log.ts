import type { Command } from '../command.js';
import { log } from '../../core/ops/log.js';
import { fmtTime, shortId } from '../output.js';
import { repoPaths, withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'log',
  summary: 'List commits reachable from REF (default HEAD), newest first.',
  usage: 'log [REF] [--oneline] [-n N] [-- PATH...]',
  help: 'options:\n  --oneline    one line per commit\n  -n N         at most N commits\n  -- PATH...   only commits that changed these paths',
  options: { oneline: { type: 'boolean' }, n: { type: 'string', short: 'n' }, 'max-count': { type: 'string' } },
  async run(a, io) {
    const n = (a.values.n ?? a.values['max-count']) as string | undefined;
    const entries = await withCliRepo({}, (repo) => log(repo, { ref: a.positionals[0], limit: n ? Number(n) : undefined, paths: repoPaths(repo, [...a.positionals.slice(1), ...a.rest]) }));
    if (io.json_) return io.json(entries);
    if (!entries.length) return void io.out('no commits yet');
    for (const e of entries) {
      const refs = e.refs.length ? ` (${e.refs.join(', ')})` : '';
      if (a.values.oneline) {
        io.out(`${io.color('yellow', shortId(e.id))}${refs} ${e.message.split('\n')[0]}`);
        continue;
      }
      io.out(io.color('yellow', `commit ${e.id}`) + refs);
      io.out(`Author: ${e.author.name} <${e.author.email}>`);
      io.out(`Date:   ${fmtTime(e.time)}`);
      if (e.code?.commit) io.out(`Code:   git ${e.code.commit}${e.code.dirty ? ' (dirty)' : ''}`);
      io.out('');
      for (const l of e.message.split('\n')) io.out(`    ${l}`);
      io.out('');
    }
  },
};
export default cmd;
