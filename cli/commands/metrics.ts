import type { Command } from '../command.js';
import { metricsDiff, metricsShow, type MetricValue } from '../../core/ops/metrics.js';
import { StrataError } from '../../core/errors/index.js';
import { withCliRepo } from '../repo.js';

const fmt = (v: MetricValue | undefined) => (v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v));

function table(rows: string[][]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd());
}

const cmd: Command = {
  name: 'metrics',
  summary: 'Show or compare metrics (the JSON outputs of type metrics).',
  subcommands: ['show', 'diff'],
  usage: 'metrics show [REF...] [--json] | metrics diff [A [B]] [--all] [--json]',
  help: [
    'subcommands:',
    '  show [REF...]   metrics in the workspace, or in each REF (commit, branch, tag)',
    '  diff [A [B]]    compare A (default HEAD) with B (default the workspace); --all shows unchanged keys too',
  ].join('\n'),
  options: { all: { type: 'boolean' } },
  async run(a, io) {
    const [sub, ...args] = [...a.positionals, ...a.rest];
    if (sub === 'show') {
      const snaps = await withCliRepo({}, (repo) => metricsShow(repo, args));
      if (io.json_) return io.json(snaps);
      for (const s of snaps) {
        if (snaps.length > 1 || s.commit) io.out(`${s.ref}${s.commit ? ` (${s.commit.slice(0, 12)})` : ''}:`);
        const rows: string[][] = [['path', 'key', 'value']];
        for (const f of s.files) {
          if (f.missing) rows.push([f.path, '-', '(missing)']);
          else if (f.error) rows.push([f.path, '-', `(${f.error})`]);
          else for (const [k, v] of Object.entries(f.values)) rows.push([f.path, k, fmt(v)]);
        }
        for (const l of table(rows)) io.out(l);
      }
      return;
    }
    if (sub === 'diff') {
      if (args.length > 2) throw new StrataError('INVALID_ARGUMENT', 'metrics diff takes at most two revisions', { hint: 'strata metrics diff HEAD~1 HEAD' });
      const d = await withCliRepo({}, (repo) => metricsDiff(repo, args[0], args[1]));
      if (io.json_) return io.json(d);
      const shown = a.values.all ? d.rows : d.rows.filter((r) => r.changed);
      if (shown.length === 0) return void io.out(`no metric changed between ${d.a.ref} and ${d.b.ref}`);
      const rows: string[][] = [['path', 'key', d.a.ref, d.b.ref, 'change']];
      for (const r of shown) rows.push([r.path, r.key, fmt(r.old), fmt(r.new), r.change === null ? '-' : (r.change > 0 ? '+' : '') + String(r.change)]);
      for (const l of table(rows)) io.out(l);
      return;
    }
    throw new StrataError('INVALID_ARGUMENT', sub ? `unknown metrics subcommand ${JSON.stringify(sub)}` : 'metrics needs a subcommand', { hint: 'strata metrics show, or strata metrics diff [A [B]]' });
  },
};
export default cmd;
