import type { Command } from '../command.js';
import { StrataError } from '../../core/errors/index.js';
import { isServerUrl, parseAuthor, parseMeta, stagingClient, stagingServerUrl } from '../../core/remote/staging.js';
import { fmtBytes, fmtTime, shortId } from '../output.js';
import { withCliRepo } from '../repo.js';

const USAGE = 'staging list REMOTE BRANCH | commit REMOTE BRANCH -m MSG [--author "Name <email>"] [--meta K=V]... [--run-stage S [--run-cmd CMD] [--input KEY]...] | discard REMOTE BRANCH [PATH...]';

const cmd: Command = {
  name: 'staging',
  summary: "List, commit or discard a branch's uncommitted writes made through a server's S3 gateway.",
  subcommands: ['list', 'commit', 'discard'],
  usage: USAGE,
  help: [
    'REMOTE: a remote name of this project, or a server URL http(s)://host:port/REPO (token: STRATA_TOKEN).',
    '',
    'options (commit):',
    '  -m, --message MSG     commit message (required)',
    '  --author "N <e>"      author (default: the token\'s label)',
    '  --meta K=V            commit metadata (repeatable)',
    '  --run-stage S         record the writes as the outputs of a run of stage S',
    '  --run-cmd CMD         the command of that run (shown by strata runs)',
    '  --input KEY           a run input, <ref>/<path> on the server (repeatable)',
    '',
    'examples:',
    '  strata staging list origin main',
    '  strata staging commit origin main -m "nightly load" --run-stage load --input main/raw/events.csv',
    '  strata staging discard https://strata.example.com/fraud main data/tmp',
  ].join('\n'),
  options: {
    message: { type: 'string', short: 'm' },
    author: { type: 'string' },
    meta: { type: 'string', multiple: true },
    'run-stage': { type: 'string' },
    'run-cmd': { type: 'string' },
    input: { type: 'string', multiple: true },
  },
  async run(a, io) {
    const [sub, remote, branch, ...paths] = a.positionals;
    const usage = () => new StrataError('INVALID_ARGUMENT', `usage: strata ${USAGE}`, { hint: 'strata staging --help' });
    if (!sub || !remote || !branch || !['list', 'ls', 'commit', 'discard'].includes(sub)) throw usage();
    const v = a.values;
    const commitOnly = (['message', 'author', 'meta', 'run-stage', 'run-cmd', 'input'] as const).find((k) => v[k] !== undefined);
    if (sub !== 'commit' && commitOnly) throw new StrataError('INVALID_ARGUMENT', `--${commitOnly} is an option of strata staging commit`, { hint: 'strata staging --help' });
    if (sub !== 'discard' && paths.length) throw usage();
    const url = isServerUrl(remote) ? stagingServerUrl(remote, null) : await withCliRepo({ readonly: true }, async (repo) => stagingServerUrl(remote, repo));
    const client = stagingClient(url);

    if (sub === 'list' || sub === 'ls') {
      const r = await client.list(branch);
      if (io.json_) return io.json(r);
      if (r.changes.length === 0) return io.out(`No uncommitted writes on ${r.branch} (at ${shortId(r.head)})`);
      io.out(`${r.changes.length} uncommitted write(s) on ${r.branch} (over ${shortId(r.head)}):`);
      for (const c of r.changes) {
        io.out(`  ${c.op === 'put' ? 'put   ' : 'delete'} ${c.op === 'put' ? fmtBytes(c.size ?? 0).padStart(9) : ''.padStart(9)}  ${fmtTime(c.time)}  ${c.path}`);
      }
      return;
    }
    if (sub === 'discard') {
      const r = await client.discard(branch, paths.length ? paths : undefined);
      if (io.json_) return io.json(r);
      return io.out(`Discarded ${r.discarded} uncommitted write(s) on ${r.branch}${paths.length ? ` at ${paths.join(', ')}` : ''}`);
    }
    const message = v.message as string | undefined;
    if (!message) throw new StrataError('INVALID_ARGUMENT', 'staging commit needs a message', { hint: 'strata staging commit REMOTE BRANCH -m "what was written"' });
    const stage = v['run-stage'] as string | undefined;
    const inputs = v.input as string[] | undefined;
    if (!stage && (inputs || v['run-cmd'] !== undefined)) throw new StrataError('INVALID_ARGUMENT', '--input and --run-cmd describe a run: give --run-stage too', { hint: 'e.g. --run-stage load --input main/raw/events.csv' });
    const r = await client.commit(branch, {
      message,
      ...(v.author !== undefined ? { author: parseAuthor(v.author as string) } : {}),
      ...(v.meta !== undefined ? { meta: parseMeta(v.meta as string[]) } : {}),
      ...(stage ? { run: { stage, ...(v['run-cmd'] !== undefined ? { cmd: v['run-cmd'] as string } : {}), ...(inputs ? { inputs } : {}) } } : {}),
    });
    if (io.json_) return io.json(r);
    const puts = r.changes.filter((c) => c.op === 'put').length;
    io.out(`Committed ${r.changes.length} change(s) on ${r.branch} as ${shortId(r.commit)} (${puts} written, ${r.changes.length - puts} deleted)${r.run ? `; run ${r.run}` : ''}`);
  },
};
export default cmd;
