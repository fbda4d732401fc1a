import type { Command } from '../command.js';
import { lineage } from '../../core/ops/lineage.js';
import { checksLine } from '../../core/lineage/quality.js';
import { renderLineageDot, renderLineageMermaid, renderLineageText, type LineageNodeType } from '../../core/lineage/graph.js';
import { StrataError } from '../../core/errors/index.js';
import { withCliRepo } from '../repo.js';

const TYPES: LineageNodeType[] = ['dataset', 'model', 'metrics', 'run'];

const cmd: Command = {
  name: 'lineage',
  summary: 'Show what produced a version (upstream) and what was built from it (downstream).',
  usage: 'lineage TARGET [--upstream|--downstream] [--depth N] [--type T,...] [--json|--dot|--mermaid]',
  help: [
    'TARGET is one of:',
    '  PATH          a data path: its version in the workspace (or at HEAD)',
    '  REF:PATH      the version of PATH in a commit, branch or tag',
    '  RUN_ID        a run (full id or unique prefix, see strata runs)',
    '  REF           a commit: the versions it holds and the runs that produced or used them',
    '',
    'options:',
    '  --upstream    only what produced TARGET: runs, their inputs, code commits and params, recursively',
    '  --downstream  only what was built from TARGET: the runs that used it and their outputs, recursively',
    '  --depth N     at most N runs away (default unlimited; 1 for a commit)',
    '  --type T,...  keep only these node types: dataset, model, metrics, run',
    '  --json        the graph as {target, graph: {nodes, edges}}',
    '  --dot         Graphviz (strata lineage m.json --dot | dot -Tsvg > lineage.svg)',
    '  --mermaid     a Mermaid flowchart (paste into Markdown)',
    '',
    'examples:',
    '  strata lineage models/model.json --upstream      which data, code and params produced this model?',
    '  strata lineage data/raw.csv --downstream --type model   which models were trained on it?',
  ].join('\n'),
  options: {
    upstream: { type: 'boolean' },
    downstream: { type: 'boolean' },
    depth: { type: 'string' },
    type: { type: 'string' },
    dot: { type: 'boolean' },
    mermaid: { type: 'boolean' },
  },
  async run(a, io) {
    const target = a.positionals[0] ?? a.rest[0];
    if (!target || a.positionals.length + a.rest.length > 1) {
      throw new StrataError('INVALID_ARGUMENT', target ? 'name one target' : 'name what to show the lineage of', { hint: 'strata lineage models/model.json (see strata lineage --help)' });
    }
    if (a.values.upstream && a.values.downstream) throw new StrataError('INVALID_ARGUMENT', '--upstream and --downstream exclude each other', { hint: 'omit both to see both directions' });
    if ([a.values.dot, a.values.mermaid, io.json_].filter(Boolean).length > 1) throw new StrataError('INVALID_ARGUMENT', 'choose one of --json, --dot, --mermaid');
    let depth: number | undefined;
    if (a.values.depth !== undefined) {
      depth = Number(a.values.depth);
      if (!/^\d+$/.test(String(a.values.depth))) throw new StrataError('INVALID_ARGUMENT', `--depth must be a whole number, got ${JSON.stringify(a.values.depth)}`, { hint: 'e.g. --depth 2' });
    }
    let nodeTypes: LineageNodeType[] | undefined;
    if (a.values.type !== undefined) {
      nodeTypes = String(a.values.type).split(',').map((t) => t.trim()) as LineageNodeType[];
      const bad = nodeTypes.filter((t) => !TYPES.includes(t));
      if (bad.length) throw new StrataError('INVALID_ARGUMENT', `unknown node type ${bad.join(', ')}`, { hint: `use ${TYPES.join(', ')}` });
    }
    const direction = a.values.upstream ? 'upstream' : a.values.downstream ? 'downstream' : undefined;
    const r = await withCliRepo({}, (repo) => lineage(repo, { cwd: process.cwd(), target, direction, depth, nodeTypes }));
    if (io.json_) return io.json(r);
    if (a.values.dot) return void process.stdout.write(renderLineageDot(r.graph));
    if (a.values.mermaid) return void process.stdout.write(renderLineageMermaid(r.graph));
    const t = r.target;
    if (t.kind === 'commit') {
      io.out(`commit ${t.id}: ${t.versions.length} of ${t.files} file(s) have lineage`);
      if (t.versions.length === 0) return;
      io.out('');
    } else if (t.kind === 'version' && r.graph.nodes.length === 0) {
      io.out(`${t.path}@${t.id.slice(0, 12)} (${t.from === 'workspace' ? 'workspace' : t.from === 'HEAD' ? 'HEAD' : t.ref ?? 'last known'}): no lineage recorded`);
      if (t.checks) io.out(checksLine(t.checks));
      io.out('hint: versions get lineage when strata run or strata repro reads or writes them');
      return;
    }
    io.raw('stdout', renderLineageText(r.graph));
  },
};
export default cmd;
