import type { Command } from '../command.js';
import { showAny, type RunShowResult } from '../../core/ops/show.js';
import type { Io } from '../output.js';
import { fmtBytes, fmtTime } from '../output.js';
import { fmtMs } from './run.js';
import { withCliRepo } from '../repo.js';
import { tableShow, type TableShowResult } from '../../core/ops/table-show.js';

function showRunText(io: Io, r: RunShowResult): void {
  const run = r.run;
  io.out(io.color('yellow', `run ${run.id}`) + `  (${run.origin === 'adhoc' ? 'strata run' : 'pipeline stage'})`);
  io.out(`Stage:    ${run.stage}`);
  io.out(`Status:   ${run.status}${run.status === 'cached' ? ` (outputs restored from run ${run.cachedFrom})` : ''}${run.error ? `: ${run.error}` : ''}`);
  io.out(`Command:  ${run.cmd}`);
  io.out(`Wdir:     ${run.wdir}`);
  io.out(`Started:  ${fmtTime(run.started)}`);
  io.out(`Ended:    ${fmtTime(run.ended)}  (${fmtMs(r.duration)})`);
  io.out(`Exit:     ${run.exitCode !== null ? run.exitCode : run.signal ? `signal ${run.signal}` : '-'}`);
  if (!run.code) io.out('Code:     no git repository (no code version recorded)');
  else if (!run.code.commit) io.out('Code:     git repository without commits (no code version recorded)');
  else {
    io.out(`Code:     git ${run.code.commit}${run.code.branch ? ` on ${run.code.branch}` : ''}${run.code.remote ? ` (${run.code.remote})` : ''}`);
    if (run.code.dirty) {
      io.out(`          dirty: uncommitted changes ${run.code.diff ? `recorded as ${run.code.diff}` : 'NOT recorded (older run)'}`);
      for (const f of r.codeChanges?.files ?? []) io.out(`            ${f.status.padEnd(9)} ${f.path}${f.size !== undefined ? `  ${fmtBytes(f.size)}` : ''}`);
      for (const f of r.codeChanges?.skipped ?? []) io.out(`            skipped   ${f.path}  ${fmtBytes(f.size)} (${f.reason})`);
    }
  }
  if (Object.keys(run.env).length) {
    io.out('Env:');
    for (const [k, v] of Object.entries(run.env)) io.out(`  ${k}=${v}`);
  }
  if (Object.keys(run.params).length) {
    io.out('Params:');
    for (const [k, v] of Object.entries(run.params)) io.out(`  ${k} = ${JSON.stringify(v)}`);
  }
  io.out('Inputs:');
  if (run.deps.length === 0) io.out('  (none)');
  for (const d of run.deps) {
    const size = r.depSizes[d.path];
    io.out(`  ${d.path}${d.kind === 'dir' ? '/' : ''}  ${d.id}  ${size === null || size === undefined ? '(not in the local store)' : fmtBytes(size)}`);
  }
  io.out('Outputs:');
  if (run.outs.length === 0) io.out('  (none)');
  for (const o of run.outs) {
    io.out(`  ${o.path}${o.kind === 'dir' ? '/' : ''}  ${o.id || '(none: the run failed)'}  ${o.id ? fmtBytes(o.size) : ''}  ${o.type}${o.cache ? '' : ', not cached'}`);
  }
  const e = run.environment;
  io.out(`Environment: node ${e.node}, ${e.platform}/${e.arch}, host ${e.hostname}, strata ${e.strata}`);
  io.out(`Log:      ${run.log ?? '(none)'}`);
  io.out(`Signature: ${run.signature}`);
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? s.slice(0, 39) + '…' : s;
}

function showTableText(io: Io, r: TableShowResult): void {
  io.out(io.color('yellow', `table ${r.ref}:${r.path}`) + `  (${r.format})`);
  const st = r.stats;
  if (st) io.out(`Rows:    ${st.rows}`);
  const head = st ? ['column', 'type', 'nulls', st.distinctApprox ? 'distinct~' : 'distinct', 'min', 'max'] : ['column', 'type'];
  const rows = r.columns.map((c, i) => {
    const s = st?.columns[i];
    return s ? [c.name, c.type, String(s.nulls), String(s.distinct), cell(s.min), cell(s.max)] : [c.name, c.type];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === cells.length - 1 ? x : x.padEnd(widths[i]!))).join('  ');
  io.out(line(head));
  for (const row of rows) io.out(line(row));
  if (st?.distinctApprox) io.out('distinct~: estimated (HyperLogLog, within about 10%) for tables over 1,000,000 rows');
}

const cmd: Command = {
  name: 'show',
  summary: 'Show a commit (author, time, message, code version, files changed) or a pipeline run in full.',
  usage: 'show [REF | RUN_ID] [--json] | show REF:PATH --schema|--stats [--json]',
  options: { schema: { type: 'boolean' }, stats: { type: 'boolean' } },
  help: [
    'REF is a branch, tag or commit (default HEAD); RUN_ID is a run id from strata runs (UUID; a unique',
    'prefix is enough). A run shows stage, status, command, wdir, params, inputs and outputs with ids and',
    'sizes, the code commit (branch, dirty, recorded code changes), environment, times, exit and log id.',
    'REF:PATH of a table (.csv .tsv .parquet .pq .jsonl .ndjson): --schema prints its columns and types;',
    '--stats adds the row count and per column nulls, distinct, min and max.',
  ].join('\n'),
  async run(a, io) {
    if (a.values.schema || a.values.stats) {
      const t = await withCliRepo({}, (repo) => tableShow(repo, { spec: a.positionals[0] ?? '', stats: !!a.values.stats }));
      if (io.json_) return io.json(t);
      showTableText(io, t);
      return;
    }
    const r = await withCliRepo({}, (repo) => showAny(repo, { target: a.positionals[0] }));
    if (r.kind === 'run') {
      if (io.json_) return io.json(r);
      showRunText(io, r);
      return;
    }
    if (io.json_) {
      const { kind: _k, ...commit } = r;
      return io.json(commit);
    }
    io.out(io.color('yellow', `commit ${r.id}`) + (r.refs.length ? ` (${r.refs.join(', ')})` : ''));
    if (r.parents.length) io.out(`Parents: ${r.parents.join(' ')}`);
    io.out(`Author:  ${r.author.name} <${r.author.email}>`);
    io.out(`Date:    ${fmtTime(r.time)}`);
    io.out(`Tree:    ${r.tree}`);
    if (r.code) io.out(`Code:    ${r.code.commit ? `git ${r.code.commit}${r.code.branch ? ` on ${r.code.branch}` : ''}${r.code.dirty ? ` (dirty${r.code.diff ? `, changes recorded as ${r.code.diff}` : ''})` : ''}` : 'no git commit'}`);
    io.out('');
    for (const l of r.message.split('\n')) io.out(`    ${l}`);
    io.out('');
    for (const c of r.changes) io.out(`  ${c.kind.padEnd(10)} ${c.path}  ${c.kind === 'deleted' ? fmtBytes(c.oldSize) : fmtBytes(c.newSize)}`);
  },
};
export default cmd;
