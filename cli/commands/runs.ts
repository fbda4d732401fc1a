import type { Command } from '../command.js';
import { runs } from '../../core/ops/runs.js';
import { StrataError } from '../../core/errors/index.js';
import { fmtTime } from '../output.js';
import { fmtMs } from './run.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'runs',
  summary: 'List recorded pipeline runs, newest first.',
  usage: 'runs [--stage S] [--status ok|failed|cached] [--since DATE|AGE] [-n N] [--json]',
  help: [
    'options:',
    '  --stage S      only runs of this stage',
    '  --status ST    ok, failed or cached (restored from the run cache)',
    '  --since WHEN   runs started since a date (2025-01-31, 2025-01-31T12:00) or an age (30m, 12h, 7d)',
    '  -n N           at most N runs',
    '  --json         full run records',
  ].join('\n'),
  options: { stage: { type: 'string' }, status: { type: 'string' }, since: { type: 'string' }, n: { type: 'string', short: 'n' } },
  async run(a, io) {
    let limit: number | undefined;
    if (a.values.n !== undefined) {
      if (!/^\d+$/.test(String(a.values.n))) throw new StrataError('INVALID_ARGUMENT', `-n must be a positive whole number, got ${JSON.stringify(a.values.n)}`);
      limit = Number(a.values.n);
    }
    const list = await withCliRepo({}, (repo) => runs(repo, { stage: a.values.stage as string | undefined, status: a.values.status as string | undefined, since: a.values.since as string | undefined, limit }));
    if (io.json_) return io.json(list);
    if (list.length === 0) return void io.out('no runs recorded');
    for (const r of list) {
      const status = r.status === 'ok' ? io.color('green', 'ok    ') : r.status === 'failed' ? io.color('red', 'failed') : io.color('cyan', 'cached');
      const code = r.code?.commit ? `git ${r.code.commit.slice(0, 10)}${r.code.dirty ? '*' : ' '}` : 'no git      ';
      const extra = r.status === 'failed' ? `  ${r.error ?? ''}` : r.status === 'cached' ? `  from ${r.cachedFrom}` : '';
      io.out(`${r.id}  ${status}  ${fmtTime(r.started)}  ${fmtMs(r.ended - r.started).padStart(8)}  ${code}  ${r.stage}${extra}`);
    }
  },
};
export default cmd;
