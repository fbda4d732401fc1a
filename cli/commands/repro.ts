import type { Command } from '../command.js';
import { repro, type StageOutcome } from '../../core/ops/repro.js';
import { EXIT_CODES } from '../../core/errors/index.js';
import { interruptSignal, terminalHooks } from './run.js';
import type { Io } from '../output.js';
import type { PipelineChanges, StageChange } from '../../core/pipeline/trust.js';
import { withCliRepo } from '../repo.js';

/** Print how strata.yaml changed since the last repro here (stderr, so --json stays clean). */
function printPipelineChanges(io: Io, c: PipelineChanges): void {
  if (!c.recorded || (!c.fileChanged && c.changes.length === 0)) return;
  if (c.changes.length === 0) {
    io.err('notice: strata.yaml changed since the last repro here (no stage command changed)');
    return;
  }
  const incoming = c.changes.some((x) => x.incoming);
  io.err(`notice: strata.yaml changed since the last repro here${incoming ? ' (some of it came from someone else, with a pull)' : ''}; stage commands that changed:`);
  for (const x of c.changes) {
    const env = Object.entries(x.env).map(([k, v]) => `${k}=${JSON.stringify(v)} `).join('');
    io.err(`  ${x.stage} (${x.kind === 'new' ? 'new stage' : 'changed'}${x.incoming ? `, from ${x.source ?? 'a pull'}` : ', written here'}):`);
    io.err(`      run:  ${x.wdir !== '.' ? `(in ${x.wdir}) ` : ''}${env}${x.cmd}`);
    if (x.before !== undefined && x.before !== x.cmd) io.err(`      was:  ${x.before}`);
  }
}

/** Ask on the terminal whether to run changed commands from someone else (never in CI / without a TTY). */
export async function confirmOnTty(question: string): Promise<boolean> {
  const ci = /^(1|true|yes)$/i.test(process.env.CI ?? '');
  if (ci || !process.stdin.isTTY || !process.stderr.isTTY) return false;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(a.trim());
  } finally {
    rl.close();
  }
}

const confirmStages = () => (needs: StageChange[]) =>
  confirmOnTty(`Run the command${needs.length > 1 ? 's' : ''} of ${needs.map((n) => n.stage).join(', ')} shown above, which came from someone else?`);

function line(o: StageOutcome): string {
  const why = o.reasons.length ? `: ${o.reasons.join('; ')}` : '';
  const run = o.runId ? `  [run ${o.runId}]` : '';
  switch (o.action) {
    case 'up-to-date':
      return `${o.stage}: up to date`;
    case 'would-run':
      return `${o.stage}: would run${why}`;
    case 'would-restore':
      return `${o.stage}: would restore from the run cache (outputs of run ${o.cachedFrom})${why}`;
    case 'ran':
      return `${o.stage}: ran${why}${run}`;
    case 'restored':
      return `${o.stage}: restored from the run cache (outputs of run ${o.cachedFrom})${why}${run}`;
    case 'failed':
      return `${o.stage}: FAILED${o.error ? `: ${o.error}` : ''}${run}`;
    case 'skipped':
      return `${o.stage}: skipped${why}`;
  }
}

const cmd: Command = {
  name: 'repro',
  summary: 'Bring pipeline outputs up to date: run stale stages, restore cached ones, skip the rest.',
  usage: 'repro [STAGE...] [--force] [--dry-run] [--jobs N] [--keep-going] [--require-clean] [--json]',
  help: [
    'options:',
    '  STAGE...          only these stages (and what they depend on)',
    '  -f, --force       run the selected stages even when up to date (no run cache)',
    '  -n, --dry-run     say what would run and why, change nothing',
    '  -j, --jobs N      run up to N independent stages at once',
    '  -k, --keep-going  after a failure, still run stages that do not depend on it',
    '  --require-clean   refuse to run when tracked code has uncommitted changes (exit 5)',
    '  -y, --yes         run changed stage commands that came from someone else (a pull) without asking',
    '',
    'When strata.yaml changed since the last repro here, repro says so and lists the changed commands.',
    'Changed commands that came with someone else\'s commit are run only after a yes on the terminal',
    'or with --yes; without a terminal (CI=true, scripts) repro refuses them (exit 9) and runs nothing.',
    '',
    'A stage is up to date when its last successful run had the same command, dep contents, params',
    'and outputs, and the outputs are still in place. When another earlier run matches (run cache),',
    'its outputs are restored from the store instead of running the command. Exit 14 when a stage fails.',
  ].join('\n'),
  options: {
    force: { type: 'boolean', short: 'f' },
    'dry-run': { type: 'boolean', short: 'n' },
    jobs: { type: 'string', short: 'j' },
    'keep-going': { type: 'boolean', short: 'k' },
    'require-clean': { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
  },
  async run(a, io) {
    const jobs = a.values.jobs === undefined ? 1 : Number(a.values.jobs);
    const dryRun = !!a.values['dry-run'];
    const interrupt = interruptSignal();
    const r = await withCliRepo({}, (repo) => repro(repo, {
      stages: [...a.positionals, ...a.rest],
      force: !!a.values.force,
      dryRun,
      jobs,
      keepGoing: !!a.values['keep-going'],
      requireClean: !!a.values['require-clean'],
      hooks: terminalHooks(io, { prefix: jobs > 1 }),
      onOutcome: io.json_ || dryRun ? undefined : (o) => io.out(line(o)),
      yes: !!a.values.yes,
      onPipelineChanges: (c) => printPipelineChanges(io, c),
      confirm: confirmStages(),
      signal: interrupt.signal,
    })).finally(() => interrupt.done());
    for (const w of r.warnings) io.err(`warning: ${w}`);
    if (io.json_) io.json(r);
    else if (dryRun) {
      for (const o of r.stages) io.out(line(o));
      if (r.stages.every((o) => o.action === 'up-to-date')) io.out('everything is up to date');
    } else if (r.stages.every((o) => o.action === 'up-to-date')) io.out('everything is up to date');
    if (r.failed.length) {
      if (!io.json_) {
        io.err(`error: stage${r.failed.length > 1 ? 's' : ''} ${r.failed.join(', ')} failed`);
        io.err('hint: earlier outputs were kept; see the log with strata runs --status failed, fix the stage and run strata repro again');
      }
      return EXIT_CODES.STAGE_FAILED;
    }
  },
};
export default cmd;
