import type { Command, Parsed } from '../command.js';
import { StrataError } from '../../core/errors/index.js';
import { redactUrl } from '../../core/config/redact.js';
import { addRemote, defaultRemoteOp, listRemotesOp, removeRemote, setRemoteUrl, type RemoteSettings } from '../../core/ops/remote.js';
import { withCliRepo } from '../repo.js';

export function remoteSettings(a: Parsed): RemoteSettings {
  const v = a.values;
  if (v['path-style'] && v['virtual-host']) throw new StrataError('INVALID_ARGUMENT', '--path-style and --virtual-host exclude each other', { hint: 'MinIO and most self-hosted servers need --path-style; AWS prefers --virtual-host' });
  const s: RemoteSettings = {};
  if (typeof v.endpoint === 'string') s.endpoint = v.endpoint;
  if (typeof v.region === 'string') s.region = v.region;
  if (typeof v.profile === 'string') s.profile = v.profile;
  if (v['path-style']) s.pathStyle = true;
  if (v['virtual-host']) s.pathStyle = false;
  return s;
}

export const S3_OPTIONS = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  'path-style': { type: 'boolean' },
  'virtual-host': { type: 'boolean' },
} as const;

const cmd: Command = {
  name: 'remote',
  summary: 'Manage remotes (S3/MinIO buckets, shared directories, Strata servers).',
  subcommands: ['list', 'add', 'remove', 'set-url', 'default'],
  usage: 'remote [list [-v]] | add NAME URL [S3 options] | remove NAME | set-url NAME URL [S3 options] | default [NAME]',
  help: [
    'URLs:',
    '  s3://bucket/prefix          an S3 or MinIO bucket (credentials: the standard AWS chain, never stored)',
    '  file:///path, /path, ./path a shared directory, laid out like a bucket',
    '  http(s)://host:port/REPO    a Strata server (token: STRATA_TOKEN, or ~/.config/strata/credentials)',
    'URLs carrying credentials (user:password@, ?token=, X-Amz-Signature=) are refused.',
    'In a git project the remotes and the default are also written to strata.project (committed).',
    '',
    'default NAME   the remote push, fetch and pull use when none is named (no NAME: show it)',
    '',
    'S3 options (add, set-url):',
    '  --endpoint URL       S3-compatible endpoint, e.g. http://localhost:9000 for MinIO',
    '  --region R           region (default: AWS_REGION, the profile\'s, else us-east-1)',
    '  --profile P          AWS shared-config profile',
    '  --path-style         bucket in the path (default with --endpoint; MinIO needs it)',
    '  --virtual-host       bucket in the host name (AWS default)',
    '',
    'examples:',
    '  strata remote add origin s3://my-bucket/datasets/fraud --endpoint http://localhost:9000',
    '  strata remote list -v',
  ].join('\n'),
  options: { ...S3_OPTIONS, verbose: { type: 'boolean', short: 'v' } },
  async run(a, io) {
    const [sub = 'list', ...args] = a.positionals;
    const need = (n: number, usage: string) => {
      if (args.length !== n) throw new StrataError('INVALID_ARGUMENT', `usage: strata remote ${usage}`, { hint: 'strata remote --help' });
    };
    switch (sub) {
      case 'list':
      case 'ls': {
        // A URL stored by an older version may carry credentials: never print them.
        const all = (await withCliRepo({ readonly: true }, (repo) => listRemotesOp(repo))).map((r) => ({ ...r, url: redactUrl(r.url), ...(r.endpoint ? { endpoint: redactUrl(r.endpoint) } : {}) }));
        if (io.json_) return io.json(all);
        for (const r of all) {
          if (!a.values.verbose) io.out(r.name);
          else {
            const extra = [r.endpoint && `endpoint=${r.endpoint}`, r.region && `region=${r.region}`, r.profile && `profile=${r.profile}`, r.pathStyle !== undefined && (r.pathStyle ? 'path-style' : 'virtual-host'), r.conditionalWrites && `conditional-writes=${r.conditionalWrites}`].filter(Boolean);
            io.out(`${r.name}\t${r.url}${extra.length ? '\t' + extra.join(' ') : ''}`);
          }
        }
        return;
      }
      case 'add': {
        need(2, 'add NAME URL');
        const r = await withCliRepo({}, (repo) => addRemote(repo, args[0]!, args[1]!, remoteSettings(a), { cwd: process.cwd() }));
        if (io.json_) return io.json(r);
        io.out(`Added remote ${r.name} -> ${r.url}`);
        return;
      }
      case 'remove':
      case 'rm': {
        need(1, 'remove NAME');
        const r = await withCliRepo({}, (repo) => removeRemote(repo, args[0]!));
        if (io.json_) return io.json(r);
        io.out(`Removed remote ${r.name}${r.trackingRefsRemoved ? ` (and ${r.trackingRefsRemoved} remote-tracking ref(s))` : ''}`);
        return;
      }
      case 'set-url': {
        need(2, 'set-url NAME URL');
        const r = await withCliRepo({}, (repo) => setRemoteUrl(repo, args[0]!, args[1]!, remoteSettings(a), { cwd: process.cwd() }));
        if (io.json_) return io.json(r);
        io.out(`Remote ${r.name} -> ${r.url}`);
        return;
      }
      case 'default': {
        if (args.length > 1) throw new StrataError('INVALID_ARGUMENT', 'usage: strata remote default [NAME]', { hint: 'strata remote --help' });
        const r = await withCliRepo(args[0] ? {} : { readonly: true }, (repo) => defaultRemoteOp(repo, args[0]));
        if (io.json_) return io.json(r);
        if (args[0]) io.out(`Default remote: ${r.name}`);
        else io.out(r.name ? `${r.name}${r.explicit ? '' : ' (no remote.default set: the only remote, or origin)'}` : 'no remote configured');
        return;
      }
      default:
        throw new StrataError('INVALID_ARGUMENT', `unknown remote subcommand ${JSON.stringify(sub)}`, { hint: 'use list, add, remove, set-url or default' });
    }
  },
};
export default cmd;
