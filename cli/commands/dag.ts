import type { Command } from '../command.js';
import { dag } from '../../core/ops/dag.js';
import { StrataError } from '../../core/errors/index.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'dag',
  summary: 'Show the pipeline stages of strata.yaml and how they depend on each other.',
  usage: 'dag [--dot|--mermaid] [--outs] [--json]',
  help: [
    'options:',
    '  --outs      draw files too: dep -> stage -> output',
    '  --dot       Graphviz (strata dag --dot | dot -Tsvg > dag.svg)',
    '  --mermaid   a Mermaid flowchart',
    '  --json      {order, stages, edges}',
  ].join('\n'),
  options: { dot: { type: 'boolean' }, mermaid: { type: 'boolean' }, outs: { type: 'boolean' } },
  async run(a, io) {
    if (a.values.dot && a.values.mermaid) throw new StrataError('INVALID_ARGUMENT', 'choose one of --dot and --mermaid');
    const r = await withCliRepo({}, (repo) => dag(repo, { format: a.values.dot ? 'dot' : a.values.mermaid ? 'mermaid' : 'text', outs: !!a.values.outs }));
    if (io.json_) return io.json({ order: r.order, stages: r.stages, edges: r.edges });
    if (a.values.dot || a.values.mermaid) process.stdout.write(r.rendered);
    else io.raw('stdout', r.rendered);
  },
};
export default cmd;
