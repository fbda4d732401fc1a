import type { Command } from '../command.js';
import type { Io } from '../output.js';
import { run } from '../../core/ops/run.js';
import type { RunnerHooks } from '../../core/pipeline/executor.js';
import type { RunRecord } from '../../core/meta/runs.js';
import { EXIT_CODES } from '../../core/errors/index.js';
import { withCliRepo } from '../repo.js';

/** Quote an argument for the shell when it needs it. */
function shellQuote(a: string): string {
  return /^[A-Za-z0-9_\-+=.,/:@%^]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * Hooks that stream a command's output to the terminal. With --json, the command's stdout goes to
 * stderr so stdout stays one JSON document. With several jobs, lines are prefixed with the stage.
 */
export function terminalHooks(io: Io, opts: { prefix: boolean }): RunnerHooks {
  const partial = new Map<string, string>();
  return {
    onOutput(stage, stream, chunk) {
      const target = io.json_ || stream === 'stderr' ? 'stderr' : 'stdout';
      if (!opts.prefix) {
        io.raw(target, chunk);
        return;
      }
      const key = `${stage}\0${stream}`;
      const text = (partial.get(key) ?? '') + chunk.toString('utf8');
      const lines = text.split('\n');
      partial.set(key, lines.pop()!);
      for (const l of lines) io.raw(target, `${stage} | ${l}\n`);
    },
    onStage(ev) {
      if (ev.phase !== 'end' || !opts.prefix) return;
      for (const stream of ['stdout', 'stderr'] as const) {
        const key = `${ev.stage}\0${stream}`;
        const rest = partial.get(key);
        if (rest) io.raw(io.json_ || stream === 'stderr' ? 'stderr' : 'stdout', `${ev.stage} | ${rest}\n`);
        partial.delete(key);
      }
    },
  };
}

/**
 * An AbortSignal aborted by the first SIGINT or SIGTERM (its reason is the signal's name), so the
 * running command is stopped and the run recorded and reported (OpenLineage ABORT) before strata
 * exits; a second signal has the default effect. `done()` removes the handlers.
 */
export function interruptSignal(): { signal: AbortSignal; done(): void } {
  const ac = new AbortController();
  const on = { SIGINT: () => ac.abort('SIGINT'), SIGTERM: () => ac.abort('SIGTERM') };
  process.once('SIGINT', on.SIGINT);
  process.once('SIGTERM', on.SIGTERM);
  return {
    signal: ac.signal,
    done() {
      process.removeListener('SIGINT', on.SIGINT);
      process.removeListener('SIGTERM', on.SIGTERM);
    },
  };
}

export function fmtMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function describeRun(r: RunRecord): string[] {
  const lines = [`run ${r.id}  stage ${r.stage}  ${r.status}${r.exitCode !== null ? ` (exit ${r.exitCode})` : ''}  ${fmtMs(r.ended - r.started)}`];
  if (r.code) lines.push(`  code   ${r.code.commit ? `git ${r.code.commit.slice(0, 12)}${r.code.dirty ? ' (dirty)' : ''}` : 'no git commit'}`);
  for (const [k, v] of Object.entries(r.params)) lines.push(`  param  ${k} = ${JSON.stringify(v)}`);
  for (const d of r.deps) lines.push(`  in     ${d.path}  ${d.id.slice(0, 12)}`);
  if (r.status !== 'failed') for (const o of r.outs) lines.push(`  out    ${o.path}  ${o.id.slice(0, 12)}${o.type !== 'dataset' ? `  (${o.type})` : ''}`);
  return lines;
}

const cmd: Command = {
  name: 'run',
  summary: 'Run a command and record it as a run: inputs, outputs, params, code commit, log.',
  usage: 'run -n NAME [-d DEP]... [-o OUT]... [--model OUT] [--metrics OUT] [-p [FILE:]KEY]... [--require-clean] -- CMD [ARGS...]',
  help: [
    'options:',
    '  -n, --name NAME       name recorded with the run (like a stage name)',
    '  -d, --deps PATH       a file or directory the command reads (repeatable)',
    '  -o, --outs PATH       a dataset the command writes (repeatable)',
    '  --model PATH          a model the command writes (repeatable)',
    '  --metrics PATH        a JSON metrics file the command writes (repeatable)',
    '  -p, --params [FILE:]KEY[,KEY]  parameters read from FILE (default params.yaml), e.g. -p train.lr',
    '  --require-clean       refuse to run when tracked code has uncommitted changes (exit 5)',
    '  --json                print the run record as JSON (command output goes to stderr)',
    '',
    'The command runs through the shell in the current directory. Its outputs are stored and',
    'staged (strata commit records them); if it fails (exit 14) the outputs are put back as they were.',
    '',
    'example:',
    '  strata run -n train -d data/features.csv -p train.lr --model models/model.json -- node train.mjs',
  ].join('\n'),
  options: {
    name: { type: 'string', short: 'n' },
    deps: { type: 'string', short: 'd', multiple: true },
    outs: { type: 'string', short: 'o', multiple: true },
    model: { type: 'string', multiple: true },
    metrics: { type: 'string', multiple: true },
    params: { type: 'string', short: 'p', multiple: true },
    'require-clean': { type: 'boolean' },
  },
  async run(a, io) {
    const words = [...a.positionals, ...a.rest];
    const command = words.length === 1 ? words[0]! : words.map(shellQuote).join(' ');
    const interrupt = interruptSignal();
    const r = await withCliRepo({}, (repo) => run(repo, {
      cwd: process.cwd(),
      name: (a.values.name as string | undefined) ?? '',
      cmd: command,
      deps: a.values.deps as string[] | undefined,
      outs: a.values.outs as string[] | undefined,
      models: a.values.model as string[] | undefined,
      metrics: a.values.metrics as string[] | undefined,
      params: a.values.params as string[] | undefined,
      requireClean: !!a.values['require-clean'],
      hooks: terminalHooks(io, { prefix: false }),
      signal: interrupt.signal,
    })).finally(() => interrupt.done());
    for (const w of r.warnings) io.err(`warning: ${w}`);
    if (io.json_) io.json(r);
    else for (const l of describeRun(r.run)) io.err(l);
    if (r.run.status === 'failed') {
      if (!io.json_) {
        io.err(`error: ${r.run.stage} failed: ${r.run.error}`);
        io.err(`hint: the run is recorded as failed and its outputs were put back as they were; see strata runs --status failed`);
      }
      return EXIT_CODES.STAGE_FAILED;
    }
  },
};
export default cmd;
