import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { importDvc } from '../../core/ops/import-dvc.js';
import { StrataError } from '../../core/errors/index.js';
import { fmtBytes, shortId } from '../output.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'import',
  summary: 'Bring a project over from another tool (DVC): pipeline, data and up-to-date stages.',
  usage: 'import dvc [PATH] [--remote NAME] [--dry-run] [--force] [-m MSG]',
  subcommands: ['dvc'],
  help: [
    'Reads dvc.yaml, dvc.lock and the .dvc files of the DVC project at PATH (default: the repository',
    'root), checks every file against its DVC md5, writes strata.yaml, imports the data from the DVC',
    'cache (or a local-folder or S3 DVC remote) as one commit, and records a run for each stage dvc.lock',
    'shows up to date, so strata repro finds nothing to do. What has no equivalent is listed.',
    '',
    'options:',
    '  --remote NAME   DVC remote (from .dvc/config) to read what the DVC cache lacks (default: its core.remote)',
    '  --dry-run       check everything and report; write nothing',
    '  --force         replace an existing strata.yaml',
    '  -m, --message   message of the import commit',
    '',
    'examples:',
    '  strata import dvc',
    '  strata import dvc ../old-project --remote storage --dry-run',
  ].join('\n'),
  options: { remote: { type: 'string' }, 'dry-run': { type: 'boolean' }, force: { type: 'boolean' }, message: { type: 'string', short: 'm' } },
  async run(a, io) {
    const [what, path, ...extra] = a.positionals;
    if (what !== 'dvc' || extra.length) {
      throw new StrataError('INVALID_ARGUMENT', what === undefined ? 'name what to import from: strata import dvc [PATH]' : what !== 'dvc' ? `cannot import from ${JSON.stringify(what)}: only dvc is supported` : `too many arguments: ${extra.join(' ')}`, {
        hint: 'usage: strata import dvc [PATH] [--remote NAME] [--dry-run] [--force] [-m MSG]',
      });
    }
    const r = await withCliRepo({}, (repo) =>
      importDvc(repo, {
        path: resolve(process.cwd(), path ?? repo.root),
        remote: a.values.remote as string | undefined,
        dryRun: a.values['dry-run'] === true,
        force: a.values.force === true,
        message: a.values.message as string | undefined,
        progress: io.progress(),
      }),
    );
    io.endProgress();
    if (io.json_) {
      io.json(r);
      return;
    }
    io.out(`${r.dryRun ? 'would import' : 'imported'} the DVC project ${r.source} (read ${r.read.join(', ')})`);
    const from = Object.entries(r.data.from).map(([k, n]) => `${n} from ${k}`).join(', ');
    io.out(`data: ${r.data.files} files, ${fmtBytes(r.data.bytes)}${from ? ` (${from})` : ''}${r.data.paths.length ? `: ${r.data.paths.join(', ')}` : ''}`);
    if (r.pipelineWritten) io.out('wrote strata.yaml');
    for (const s of r.stages) {
      const name = s.dvc === s.stage ? s.stage : `${s.stage} (DVC ${s.dvc})`;
      if (s.state === 'up-to-date') io.out(`${name}: up to date${s.runId ? ` [run ${s.runId}]` : ''}`);
      else io.out(`${name}: ${r.dryRun ? 'would be' : 'is'} stale, strata repro will run it: ${s.reasons.join('; ')}`);
    }
    if (r.commit) io.out(`commit ${shortId(r.commit)}`);
    if (r.untranslated.length) {
      io.out(`not translated (${r.untranslated.length}):`);
      for (const u of r.untranslated) io.out(`  ${u.where}: ${u.what}`);
    }
  },
};
export default cmd;
