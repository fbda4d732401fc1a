import type { Command } from '../command.js';
import { log } from '../../core/ops/log.js';
import { StrataError } from '../../core/errors/index.js';
import { graphRows } from '../graph.js';
import { fmtTime, shortId } from '../output.js';
import { repoPaths, withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'log',
  summary: 'List commits reachable from REF (default HEAD), newest first.',
  usage: 'log [REF | --all] [--graph] [--oneline] [-n N] [-- PATH...]',
  help: [
    'options:',
    '  --all        commits of every branch, tag and remote-tracking branch (and HEAD)',
    '  --graph      draw the history as lanes (* commit, | line, \\ a merge, / lines joining), children before parents',
    '  --oneline    one line per commit',
    '  -n N         at most N commits',
    '  -- PATH...   only commits that changed these paths (not with --graph)',
  ].join('\n'),
  options: { all: { type: 'boolean' }, graph: { type: 'boolean' }, oneline: { type: 'boolean' }, n: { type: 'string', short: 'n' }, 'max-count': { type: 'string' } },
  async run(a, io) {
    const n = (a.values.n ?? a.values['max-count']) as string | undefined;
    // --json lists the same commits in the same order with or without --graph.
    const graph = !!a.values.graph && !io.json_;
    const all = !!a.values.all;
    const entries = await withCliRepo({}, (repo) => {
      const paths = repoPaths(repo, [...a.positionals.slice(1), ...a.rest]);
      if (graph && paths.length) throw new StrataError('INVALID_ARGUMENT', '--graph draws whole history: it does not take -- PATH', { hint: 'strata log --graph, or strata log -- PATH without --graph' });
      return log(repo, { ref: a.positionals[0], all, topo: graph, limit: n ? Number(n) : undefined, paths });
    });
    if (io.json_) return io.json(entries);
    if (!entries.length) return void io.out('no commits yet');
    const rows = graph ? graphRows(entries) : null;
    entries.forEach((e, i) => {
      const row = rows?.[i];
      const first = (s: string) => io.out((row ? io.color('dim', row.node) : '') + s);
      const line = (s: string) => io.out(((row?.body ?? '') + s).trimEnd());
      const refs = e.refs.length ? ` (${e.refs.join(', ')})` : '';
      if (a.values.oneline) first(`${io.color('yellow', shortId(e.id))}${refs} ${e.message.split('\n')[0]}`);
      else {
        first(io.color('yellow', `commit ${e.id}`) + refs);
        if (e.parents.length > 1) line(`Merge:  ${e.parents.map(shortId).join(' ')}`);
        line(`Author: ${e.author.name} <${e.author.email}>`);
        line(`Date:   ${fmtTime(e.time)}`);
        if (e.code?.commit) line(`Code:   git ${e.code.commit}${e.code.dirty ? ' (dirty)' : ''}`);
        line('');
        for (const l of e.message.split('\n')) line(`    ${l}`);
        line('');
      }
      for (const l of row?.after ?? []) io.out(io.color('dim', l));
    });
  },
};
export default cmd;
