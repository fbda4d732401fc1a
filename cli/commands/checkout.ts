import type { Command } from '../command.js';
import { checkout } from '../../core/ops/checkout.js';
import { fmtBytes, shortId } from '../output.js';
import type { LinkMode } from '../../core/repo/worktree.js';
import { StrataError } from '../../core/errors/index.js';
import { checkoutFor, type CheckoutForResult } from '../../core/ops/checkout-for.js';
import type { Io } from '../output.js';
import { withCliRepo } from '../repo.js';
import { checkoutDataVersion } from '../../core/project/restore.js';

const short = (id: string | null | undefined, n = 12) => (id ? id.slice(0, n) : '-');

/** What `checkout --for` (and `reproduce`) restored, for people. */
export function printCheckoutFor(io: Io, r: CheckoutForResult, opts: { rerunHint?: boolean } = {}): void {
  const where = r.inPlace ? 'this workspace' : r.dir;
  io.out(`Restoring the inputs of run ${r.run.id} (${r.run.stage}${r.chain.length > 1 ? `, with ${r.chain.length - 1} upstream run${r.chain.length > 2 ? 's' : ''}` : ''}) into ${where}`);
  if (r.target.kind === 'version') io.out(`  target: ${r.target.path}@${short(r.target.id)} (${r.target.from === 'workspace' ? 'workspace version' : r.target.from === 'HEAD' ? 'version at HEAD' : r.target.from === 'ref' ? 'version in the given ref' : 'latest known version'})`);
  for (const c of r.chain) io.out(`  run ${c.id}  ${c.stage.padEnd(12)} ${c.cmd}`);
  if (r.code.restored === 'none') {
    io.out('code:   no code version was recorded (the project was not in a git repository with a commit);');
    io.out('        code files that were inputs of the runs are restored from their recorded versions below');
  } else {
    io.out(`code:   git ${r.code.commit}${r.code.branch ? ` (${r.code.branch})` : ''}, ${r.code.files} file(s) ${r.code.restored === 'git' ? 'checked out (a shallow git repository)' : 'written over the work tree (git index and HEAD unchanged)'}`);
    if (r.code.dirty) {
      if (r.code.diff) io.out(`        uncommitted changes re-applied (${short(r.code.diff)}): ${r.code.applied.length ? r.code.applied.join(', ') : '(none)'}`);
      else io.out('        the run had uncommitted changes that were not recorded: NOT re-applied');
      for (const sk of r.code.skipped) io.out(`        NOT re-applied (too large to record): ${sk.path}`);
    }
  }
  io.out('inputs:');
  for (const d of r.data) io.out(`  ${d.path}${d.kind === 'dir' ? '/' : ''}  ${short(d.id)}  ${fmtBytes(d.size)}${d.kind === 'dir' ? ` (${d.files} files)` : ''}  ${d.from === 'store' ? 'restored from the store' : 'matches the restored code'}`);
  if (r.fetched) io.out(`fetched ${r.fetched.objects} object(s) (${fmtBytes(r.fetched.bytes)}) from remote ${r.fetched.remote}`);
  if (r.params.checked) {
    io.out(`params: ${r.params.checked} checked${r.params.written.length ? `, ${r.params.written.join(', ')} written from the recorded values` : ''}${r.params.mismatches.length ? '' : ', all match the recorded values'}`);
    for (const m of r.params.mismatches) io.out(`  MISMATCH ${m.stage}: ${m.name} recorded ${JSON.stringify(m.recorded)}, found ${m.found === undefined ? '(missing)' : JSON.stringify(m.found)}`);
  }
  for (const m of r.inputMismatches) io.out(`  INPUT DIFFERS ${m.stage}: ${m.path} recorded ${short(m.recorded)}, restored ${short(m.found)}`);
  if (r.inputMismatches.length === 0) io.out(`inputs: all ${r.chain.reduce((a, c) => a + c.deps.length, 0)} recorded input versions verified`);
  for (const w of r.warnings) io.err(`warning: ${w}`);
  if (opts.rerunHint !== false) {
    io.out('re-run with:');
    for (const c of r.commands) io.out(`  ${c}`);
    if (!r.inPlace) io.out(`or re-run and compare with the recorded outputs: strata reproduce ${r.run.id} --verify`);
  }
}

function linkMode(v: unknown): LinkMode | undefined {
  if (v === undefined) return undefined;
  if (v === 'copy' || v === 'reflink' || v === 'hardlink') return v;
  throw new StrataError('INVALID_ARGUMENT', `--link must be copy, reflink or hardlink, not ${JSON.stringify(v)}`, { hint: 'the default (copy) clones copy-on-write where the filesystem supports it' });
}

const cmd: Command = {
  name: 'checkout',
  summary: 'Make the workspace exactly match a branch, tag or commit (HEAD moves there).',
  usage: 'checkout [-f] [-b NEW] REF [--link copy|reflink|hardlink] | checkout [-f] (the data commit strata.lock names) | checkout --for MODEL_PATH|REF:PATH|RUN_ID [--into DIR] [-f]',
  help:
    'With no REF: check out the data commit strata.lock names (the version that goes with the code,\n  e.g. after git checkout), fetching it from the remote when needed.\n\noptions:\n  -f, --force   discard uncommitted changes that would be overwritten\n  -b NAME       create branch NAME at REF and switch to it\n  --detach      detach HEAD even if REF is a branch\n  --link MODE   copy (default; copy-on-write clone where supported), reflink (require CoW), hardlink (read-only files sharing the store\'s bytes)\n\n  --for TARGET  restore what the run that produced TARGET (a model/data path, REF:PATH or a run id) read:\n                input data versions, params, code at the recorded git commit with recorded uncommitted\n                changes re-applied, and the inputs of the runs upstream of it\n  --into DIR    where (default ./repro-<run id>: a new folder, a shallow git repo + strata project);\n                --into . restores into this workspace (-f overwrites uncommitted changes)\n  --no-upstream only the run\'s own inputs',
  options: {
    force: { type: 'boolean', short: 'f' },
    b: { type: 'string', short: 'b' },
    detach: { type: 'boolean' },
    link: { type: 'string' },
    for: { type: 'string' },
    into: { type: 'string' },
    'no-upstream': { type: 'boolean' },
    remote: { type: 'string' },
  },
  async run(a, io) {
    if (a.values.for !== undefined) {
      if (a.positionals.length || a.values.b || a.values.detach) throw new StrataError('INVALID_ARGUMENT', 'checkout --for takes no REF, -b or --detach', { hint: 'strata checkout --for models/model.json [--into DIR]' });
      const r = await withCliRepo({}, (repo) => checkoutFor(repo, {
        cwd: process.cwd(),
        progress: io.progress(),
        target: a.values.for as string,
        into: a.values.into as string | undefined,
        force: !!a.values.force,
        upstream: !a.values['no-upstream'],
        remote: a.values.remote as string | undefined,
      }));
      io.endProgress();
      if (io.json_) return io.json(r);
      printCheckoutFor(io, r);
      return;
    }
    if (a.values.into !== undefined || a.values['no-upstream'] || a.values.remote !== undefined) throw new StrataError('INVALID_ARGUMENT', '--into, --no-upstream and --remote go with --for', { hint: 'strata checkout --for MODEL_PATH --into DIR' });
    const target = a.positionals[0] ?? (a.values.b ? 'HEAD' : undefined);
    if (!target) {
      // No revision: the data version the code's strata.lock names (after git checkout).
      const r = await withCliRepo({ fromProject: true }, (repo) => checkoutDataVersion(repo, { progress: io.progress(), force: !!a.values.force, link: linkMode(a.values.link) }));
      io.endProgress();
      if (io.json_) return io.json(r);
      if (r.fetched) io.out(`Fetched ${r.fetched.objects} object(s) (${fmtBytes(r.fetched.bytes)}) from ${r.fetched.remote}`);
      io.out(`Data at ${shortId(r.commit)}, the version strata.lock names (${r.branch ? `branch ${r.branch}` : 'detached'})`);
      if (r.written || r.removed) io.out(`${r.written} file(s) written (${fmtBytes(r.bytes)}), ${r.removed} removed`);
      return;
    }
    const r = await withCliRepo({}, (repo) => checkout(repo, {
      progress: io.progress(),
      target,
      force: !!a.values.force,
      createBranch: a.values.b as string | undefined,
      detach: !!a.values.detach,
      link: linkMode(a.values.link),
    }));
    io.endProgress();
    if (io.json_) return io.json(r);
    io.out(r.branch ? `Switched to branch ${r.branch} (${shortId(r.commit)})` : `HEAD is now at ${shortId(r.commit)} (detached)`);
    if (r.written || r.removed) io.out(`${r.written} file(s) written (${fmtBytes(r.bytes)}), ${r.removed} removed`);
  },
};
export default cmd;
