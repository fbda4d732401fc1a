import type { Command } from '../command.js';
import { reproduce, type OutputComparison, type ReproducePlan, type ReproduceResult } from '../../core/ops/reproduce.js';
import { confirmOnTty } from './repro.js';
import { EXIT_CODES } from '../../core/errors/index.js';
import type { Io } from '../output.js';
import { fmtBytes } from '../output.js';
import { printCheckoutFor } from './checkout.js';
import { fmtMs, terminalHooks } from './run.js';
import { withCliRepo } from '../repo.js';

const short = (id: string | null | undefined) => (id ? id.slice(0, 12) : '-');
const ver = (v: { id: string; size: number } | null) => (v ? `${fmtBytes(v.size)} ${short(v.id)}` : '(none)');

function outputLine(io: Io, o: OutputComparison): void {
  if (o.identical) {
    io.out(`    identical  ${o.path}${o.kind === 'dir' ? '/' : ''}  ${ver(o.recorded)}`);
    return;
  }
  io.out(`    DIFFERS    ${o.path}${o.kind === 'dir' ? '/' : ''}  recorded ${ver(o.recorded)}  reproduced ${ver(o.reproduced)}`);
  if (o.kind === 'dir') for (const f of o.files) io.out(`               ${f.path}  recorded ${ver(f.recorded)}  reproduced ${ver(f.reproduced)}`);
}

function summary(io: Io, r: ReproduceResult, verify: boolean): void {
  io.out('');
  io.out('reproduction:');
  for (const s of r.stages) {
    io.out(`  ${s.stage}: ${s.status === 'ok' ? 'ran' : `FAILED (${s.error ?? 'failed'})`} in ${fmtMs(s.duration)}${s.run ? `  [run ${s.run}, recorded ${s.recordedRun}]` : ''}`);
    if (!s.code.sameAsRecorded) io.out(`    code differs from the recorded run: git ${short(s.code.commit)}${s.code.dirty ? ' (dirty)' : ''}`);
    for (const p of s.params.differ) io.out(`    param ${p.name}: recorded ${JSON.stringify(p.recorded)}, reproduced with ${JSON.stringify(p.reproduced)}`);
    for (const d of s.inputsDiffer) io.out(`    input ${d.path}: recorded ${short(d.recorded)}, reproduced run read ${short(d.reproduced)}`);
    for (const o of s.outputs) outputLine(io, o);
  }
  if (r.failed) io.err(`error: stage ${r.failed} failed in the reproduction`);
  else if (r.identical) io.out(`result: all ${r.stages.reduce((a, s) => a + s.outputs.length, 0)} output(s) identical to the recorded versions`);
  else {
    io.out(`result: ${r.differing.length} output(s) differ from the recorded versions: ${r.differing.map((d) => d.path).join(', ')}`);
    io.out('        (the stage is not deterministic, or depends on something not recorded: time, randomness without a seed, the machine, the network)');
  }
  if (!verify && !r.failed && !r.identical) io.out('        (not an error without --verify)');
  for (const w of r.warnings) if (!r.checkout.warnings.includes(w)) io.err(`warning: ${w}`);
  io.out(r.kept ? `kept in ${r.dir}` : 'the reproduction folder was removed (use --keep or --into DIR to keep it)');
}

/** Show the commands a reproduction of runs from elsewhere would run (stderr), then ask on a terminal. */
function confirmPlan(io: Io) {
  return async (plan: ReproducePlan): Promise<boolean> => {
    io.err(`notice: ${plan.foreign.length === 1 ? 'a run' : `${plan.foreign.length} runs`} of this reproduction came from ${plan.foreign[0]!.from} and ${plan.foreign.length === 1 ? 'was' : 'were'} not recorded here; it would run:`);
    for (const s of plan.stages) {
      const env = Object.entries(s.env).map(([k, v]) => `${k}=${JSON.stringify(v)} `).join('');
      io.err(`  ${s.stage} (run ${s.run}${s.foreign ? ', from elsewhere' : ''}): ${s.wdir !== '.' ? `(in ${s.wdir}) ` : ''}${env}${s.cmd}`);
      if (s.dropped.length) io.err(`      recorded environment not applied: ${s.dropped.join(', ')} (--allow-env NAME to apply)`);
    }
    return confirmOnTty('Run these commands?');
  };
}

const cmd: Command = {
  name: 'reproduce',
  summary: 'Re-run the run that produced a model (and the runs upstream of it) from the recorded data, params and code; --verify compares outputs.',
  usage: 'reproduce MODEL_PATH|REF:PATH|RUN_ID [--verify] [--into DIR] [--keep] [--no-upstream] [--remote NAME] [--json]',
  help: [
    'Restores what the run read (like strata checkout --for) into a new folder, re-runs the recorded',
    'stages there in order (recorded cmd, wdir, env), then compares every output with the recorded version.',
    '',
    'options:',
    '  --verify       exit 15 (VERIFY_MISMATCH) when an output differs from the recorded version',
    '  --into DIR     reproduce in DIR (kept); default a temporary folder, removed afterwards',
    '  --keep         keep the temporary folder',
    '  --no-upstream  re-run only the target run, on its recorded inputs (default: the upstream runs too)',
    '  --remote NAME  fetch missing objects from this remote (default: origin / the only remote)',
    '  -y, --yes      run the commands of runs that came from elsewhere (fetch/pull/clone) without asking',
    '  --allow-env NAMES  apply these recorded environment variables of such runs too (comma-separated)',
    '',
    'Runs that came from a remote are shown and run only after a yes on the terminal or with --yes',
    '(exit 9 otherwise); their recorded environment is applied only for an allowlist (TZ, LANG, LC_*,',
    'seeds, thread counts, CUDA_VISIBLE_DEVICES; see docs/reproducibility.md).',
    '',
    'exit: 0 identical (or not verified), 14 a stage failed (STAGE_FAILED), 15 outputs differ with --verify',
  ].join('\n'),
  options: {
    verify: { type: 'boolean' },
    into: { type: 'string' },
    keep: { type: 'boolean' },
    'no-upstream': { type: 'boolean' },
    remote: { type: 'string' },
    yes: { type: 'boolean', short: 'y' },
    'allow-env': { type: 'string', multiple: true },
  },
  async run(a, io) {
    const target = a.positionals[0];
    if (!target || a.positionals.length > 1) {
      const { StrataError } = await import('../../core/errors/index.js');
      throw new StrataError('INVALID_ARGUMENT', target ? 'reproduce takes one target' : 'name the model, dataset or run to reproduce', { hint: 'strata reproduce models/model.json --verify' });
    }
    const verify = !!a.values.verify;
    const hooks = terminalHooks(io, { prefix: true });
    const r = await withCliRepo({}, (repo) => reproduce(repo, {
      cwd: process.cwd(),
      target,
      into: a.values.into as string | undefined,
      keep: !!a.values.keep,
      upstream: !a.values['no-upstream'],
      remote: a.values.remote as string | undefined,
      yes: !!a.values.yes,
      confirm: confirmPlan(io),
      allowEnv: ((a.values['allow-env'] as string[] | undefined) ?? []).flatMap((v) => v.split(',').map((x) => x.trim()).filter(Boolean)),
      hooks: io.json_ ? { ...hooks, onOutput: (stage, _s, c) => io.raw('stderr', `${stage} | ${c.toString('utf8')}`) } : hooks,
      onCheckout: io.json_ ? undefined : (co) => printCheckoutFor(io, co, { rerunHint: false }),
      onStage: io.json_ ? undefined : (ev) => (ev.phase === 'start' ? io.out(`== ${ev.stage} (recorded run ${ev.recordedRun})`) : undefined),
    }));
    if (io.json_) io.json({ ...r, verified: verify });
    else summary(io, r, verify);
    if (r.failed) return EXIT_CODES.STAGE_FAILED;
    if (verify && !r.identical) return EXIT_CODES.VERIFY_MISMATCH;
  },
};
export default cmd;
