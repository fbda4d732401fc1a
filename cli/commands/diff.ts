import type { Command } from '../command.js';
import { diff } from '../../core/ops/diff.js';
import { fmtBytes } from '../output.js';
import { repoPaths, withCliRepo } from '../repo.js';
import { diffRows, type DiffRowsResult } from '../../core/ops/diff-rows.js';
import type { Io } from '../output.js';
import { StrataError } from '../../core/errors/index.js';

function showRows(io: Io, r: DiffRowsResult): void {
  io.out(io.color('yellow', `table ${r.path}`) + `  ${r.from} -> ${r.to}` + (r.key ? `  key (${r.key.join(', ')})` : '  rows matched by content'));
  for (const c of r.schema.added) io.out(io.color('green', `+ column ${c.name} ${c.type}`));
  for (const c of r.schema.removed) io.out(io.color('red', `- column ${c.name} ${c.type}`));
  for (const c of r.schema.retyped) io.out(io.color('yellow', `~ column ${c.name} ${c.from} -> ${c.to}`));
  const c = r.counts;
  io.out(`${c.added} added, ${c.removed} removed${c.changed === null ? '' : `, ${c.changed} changed`}`);
  for (const row of r.sample.added) io.out(io.color('green', `+ ${JSON.stringify(row)}`));
  for (const row of r.sample.removed) io.out(io.color('red', `- ${JSON.stringify(row)}`));
  for (const ch of r.sample.changed) io.out(io.color('yellow', `~ ${JSON.stringify(ch.key)} `) + ch.cells.map((x) => `${x.column}: ${JSON.stringify(x.old)} -> ${JSON.stringify(x.new)}`).join(', '));
}


const cmd: Command = {
  name: 'diff',
  summary: 'Compare data: workspace vs HEAD (no args), workspace vs REF, or REF vs REF.',
  usage: 'diff [REF [REF]] [--cached] [--stat] [--name-only] [-- PATH...] | diff --rows [--key COLS] [--limit N] REF1 REF2 -- PATH',
  help: 'options:\n  --cached     compare the staging index (not the workspace) with REF (default HEAD)\n  --stat       summary only\n  --name-only  paths only\n  --rows       row-level diff of one table (CSV/TSV/Parquet/JSONL) between two revisions\n  --key COLS   match rows by these comma-separated columns (default: by content)\n  --limit N    rows per sample (default 10)',
  options: { cached: { type: 'boolean' }, staged: { type: 'boolean' }, stat: { type: 'boolean' }, 'name-only': { type: 'boolean' }, rows: { type: 'boolean' }, key: { type: 'string' }, limit: { type: 'string' } },
  async run(a, io) {
    if (a.values.rows) {
      const limit = a.values.limit === undefined ? 10 : Number(a.values.limit);
      if (!Number.isInteger(limit) || limit < 0) throw new StrataError('INVALID_ARGUMENT', `--limit must be a whole number, not ${String(a.values.limit)}`);
      if (a.rest.length !== 1) throw new StrataError('INVALID_ARGUMENT', 'diff --rows takes one table path after --', { hint: 'strata diff --rows REF1 REF2 -- PATH' });
      const key = typeof a.values.key === 'string' ? a.values.key.split(',').map((k) => k.trim()).filter(Boolean) : undefined;
      const r = await withCliRepo({}, (repo) => diffRows(repo, { refs: a.positionals, path: repoPaths(repo, a.rest)[0] ?? '', key, limit }));
      if (io.json_) return io.json(r);
      showRows(io, r);
      return;
    }
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
