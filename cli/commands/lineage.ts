import type { Command } from '../command.js';
import { lineage } from '../../core/ops/lineage.js';
import { lineageFlush, type LineageFlushResult } from '../../core/ops/lineage-flush.js';
import type { Io } from '../output.js';
import { checksLine } from '../../core/lineage/quality.js';
import { renderLineageDot, renderLineageMermaid, renderLineageText, type LineageNodeType } from '../../core/lineage/graph.js';
import { StrataError } from '../../core/errors/index.js';
import { withCliRepo } from '../repo.js';

const TYPES: LineageNodeType[] = ['dataset', 'model', 'metrics', 'run'];

const cmd: Command = {
  name: 'lineage',
  summary: 'Show what produced a version (upstream) and what was built from it (downstream).',
  subcommands: ['flush'],
  usage: 'lineage TARGET [--upstream|--downstream] [--depth N] [--type T,...] [--json|--dot|--mermaid] | lineage flush [--list] [--json]',
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
    'strata lineage flush [--list]',
    '  send the OpenLineage events an HTTP endpoint did not take (spooled in .strata/lineage/spool),',
    '  oldest first; events the server rejected (HTTP 400/422) stay in .strata/lineage/dead',
    '  --list        show the spooled events and the dead letters; send nothing',
    '  exit 0: nothing left; 12: events spooled but no endpoint; 13: endpoint unreachable or key refused',
    '  (the events are kept); 7: another flush is running. A data path named flush: strata lineage ./flush',
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
    list: { type: 'boolean' },
  },
  async run(a, io) {
    if (a.positionals[0] === 'flush') return flush(a.positionals.slice(1), !!a.values.list, io);
    if (a.values.list) throw new StrataError('INVALID_ARGUMENT', '--list goes with strata lineage flush', { hint: 'strata lineage flush --list' });
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
/** `strata lineage flush [--list]`: the exit code. */
async function flush(extra: string[], list: boolean, io: Io): Promise<number> {
  if (extra.length) throw new StrataError('INVALID_ARGUMENT', `strata lineage flush takes no arguments, got ${JSON.stringify(extra[0])}`, { hint: 'strata lineage flush [--list]; for the lineage of a path named flush: strata lineage ./flush' });
  const progress = io.progress();
  let r: LineageFlushResult;
  try {
    r = await withCliRepo({}, (repo) => lineageFlush(repo, { list, ...(progress ? { progress } : {}) }));
  } finally {
    io.endProgress();
  }
  const code = !r.flush?.stopped ? 0 : r.flush.stopped.kind === 'busy' ? 7 : 13;
  if (io.json_) {
    io.json(r);
    return code;
  }
  for (const w of r.warnings) io.err(`warning: ${w}`);
  if (list) {
    const row = (e: { name: string; eventType: string | null; job: string | null; eventTime: string | null }) => `  ${e.name}  ${(e.eventType ?? '?').padEnd(8)}  ${e.eventTime ?? '?'}  ${e.job ?? '?'}`;
    io.out(`endpoint: ${r.endpoint ?? '(none configured)'}${r.source ? ` (from ${r.source})` : ''}`);
    io.out(`${r.spool}: ${r.spooled!.length} event(s) waiting${r.spooled!.length ? ', oldest first:' : ''}`);
    for (const e of r.spooled!) io.out(row(e));
    io.out(`${r.dead}: ${r.deadLetters!.length} event(s) the server rejected${r.deadLetters!.length ? ' (never sent again):' : ''}`);
    for (const e of r.deadLetters!) io.out(`${row(e)}\n      ${e.reason ?? '(no reason recorded)'}`);
    return 0;
  }
  const f = r.flush!;
  const total = f.sent + f.deadLettered.length + f.remaining;
  if (total === 0) {
    io.out(`nothing to send: ${r.spool} is empty`);
    return 0;
  }
  for (const d of f.deadLettered) io.err(`warning: rejected by the server (${d.reason}): ${r.dead}/${d.name}, the reason in ${r.dead}/${d.name.replace(/\.json$/, '.reason.txt')}`);
  io.out(`sent ${f.sent} of ${total} spooled event(s) to ${r.endpoint}${f.deadLettered.length ? `; ${f.deadLettered.length} rejected (in ${r.dead})` : ''}; ${f.remaining ? `${f.remaining} still in ${r.spool}` : `nothing left in ${r.spool}`}`);
  if (f.stopped) {
    io.err(`error: stopped: ${f.stopped.reason}`);
    if (r.hint) io.err(`hint: ${r.hint}`);
    return code;
  }
  return 0;
}

export default cmd;
