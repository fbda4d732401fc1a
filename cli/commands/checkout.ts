import type { Command } from '../command.js';
import { checkout } from '../../core/ops/checkout.js';
import { fmtBytes, shortId } from '../output.js';
import type { LinkMode } from '../../core/repo/worktree.js';
import { StrataError } from '../../core/errors/index.js';

export function linkMode(v: unknown): LinkMode | undefined {
  if (v === undefined) return undefined;
  if (v === 'copy' || v === 'reflink' || v === 'hardlink') return v;
  throw new StrataError('INVALID_ARGUMENT', `--link must be copy, reflink or hardlink, not ${JSON.stringify(v)}`, { hint: 'the default (copy) clones copy-on-write where the filesystem supports it' });
}

const cmd: Command = {
  name: 'checkout',
  summary: 'Make the workspace exactly match a branch, tag or commit (HEAD moves there).',
  usage: 'checkout [-f] [-b NEW] REF [--link copy|reflink|hardlink]',
  help:
    'options:\n  -f, --force   discard uncommitted changes that would be overwritten\n  -b NAME       create branch NAME at REF and switch to it\n  --detach      detach HEAD even if REF is a branch\n  --link MODE   copy (default; copy-on-write clone where supported), reflink (require CoW), hardlink (read-only files sharing the store\'s bytes)',
  options: { force: { type: 'boolean', short: 'f' }, b: { type: 'string', short: 'b' }, detach: { type: 'boolean' }, link: { type: 'string' } },
  async run(a, io) {
    const target = a.positionals[0] ?? (a.values.b ? 'HEAD' : undefined);
    if (!target) throw new StrataError('INVALID_ARGUMENT', 'checkout needs a branch, tag or commit', { hint: 'strata checkout main' });
    const r = await checkout({ cwd: process.cwd(), progress: io.progress() }, {
      target,
      force: !!a.values.force,
      createBranch: a.values.b as string | undefined,
      detach: !!a.values.detach,
      link: linkMode(a.values.link),
    });
    io.endProgress();
    if (io.json_) return io.json(r);
    io.out(r.branch ? `Switched to branch ${r.branch} (${shortId(r.commit)})` : `HEAD is now at ${shortId(r.commit)} (detached)`);
    if (r.written || r.removed) io.out(`${r.written} file(s) written (${fmtBytes(r.bytes)}), ${r.removed} removed`);
  },
};
export default cmd;
