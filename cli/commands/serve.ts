import type { Command, Parsed } from '../command.js';
import type { Io } from '../output.js';
import { StrataError } from '../../core/errors/index.js';
import { Repository } from '../../core/repo/index.js';
import { fmtTime } from '../output.js';

const USAGE = `serve [--port 8080] [--host 127.0.0.1] [--data DIR] [--store s3://bucket/prefix] [--anonymous-read|--no-anonymous-read]
             [--headers-timeout S] [--request-timeout S] [--keep-alive-timeout S] [--idle-timeout S] [--max-connections N]
             [--s3-port N] [--s3-domain DOMAIN] [--s3-region REGION] [--no-access-log]
       strata serve token create --repo NAME|'*' [--read] [--write] [--label TEXT] [--data DIR]
       strata serve token list [--data DIR]
       strata serve token revoke ID [--data DIR]
       strata serve key create --repo NAME|'*' [--read] [--write] [--label TEXT] [--data DIR]
       strata serve key list [--data DIR]
       strata serve key revoke ID [--data DIR]
       strata serve repo create NAME [--data DIR] [--branch main] [--private]`;

const HELP = `Without --data, serves the repository of the current folder read-only (named after the folder).
With --data DIR, hosts bare repositories DIR/<name>/ that clients push to and clone from
(remote URL http://HOST:PORT/<name>). Binds to 127.0.0.1 unless --host says otherwise.

options:
  --port N                port (default 8080; 0 picks a free one)
  --host ADDR             address to bind (default 127.0.0.1)
  --data DIR              folder of hosted repositories (and of the token file, DIR/.strata-server/)
  --store s3://b/prefix   keep objects in this bucket (under prefix/<repo>/); metadata stays in DIR
  --anonymous-read        anyone may read repositories without a token (default)
  --no-anonymous-read     reads need a token too (a repository's server.anonymous-read config overrides)
  --max-pack-bytes N      largest pack upload (default 64 MiB)
  --max-object-bytes N    largest single object upload (default 16 GiB)
  --headers-timeout S     seconds a client has to send a request's headers (default 20)
  --request-timeout S     seconds a client has to send a whole request, body included (default 600)
  --keep-alive-timeout S  seconds an idle keep-alive connection is kept open (default 5)
  --idle-timeout S        close a socket silent in both directions this long (default 120; 0 = never)
  --max-connections N     most connections open at once; more are closed on arrival (default 512)
  --s3-port N             also serve the S3 gateway on this port (0 picks a free one): buckets are
                          repositories, keys <ref>/<path> (docs/s3-gateway.md)
  --s3-domain DOMAIN      virtual-host-style addressing: Host <bucket>.DOMAIN (path style always works)
  --s3-region REGION      region the gateway reports (default us-east-1; signatures of any region are accepted)
  --no-access-log         do not write the access log (one stderr line per request: time, method,
                          path with secret query values REDACTED, status, bytes, ms)

tokens (printed once; only a hash is stored, in the data folder):
  strata serve token create --repo fraud --write     push + read for repository fraud ('*' = all)
  strata serve token list | strata serve token revoke ID
Clients send them as STRATA_TOKEN or in ~/.config/strata/credentials (docs/server.md).

S3 access keys (for S3 clients: boto3, aws-cli, rclone, Spark, DuckDB; AWS Signature Version 4):
  strata serve key create --repo fraud --write       prints AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=...
  strata serve key list | strata serve key revoke ID
The secret is shown once; the server keeps it (signatures need it) in DIR/.strata-server/s3-keys.json (0600).

API: docs/api.md. Deployment: docs/server.md.`;

function num(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new StrataError('INVALID_ARGUMENT', `${name} must be a non-negative integer`);
  return n;
}

/** Seconds (fractions allowed) as whole milliseconds. */
function seconds(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 86_400 * 7) {
    throw new StrataError('INVALID_ARGUMENT', `${name} must be a number of seconds from 0 to 604800, not ${JSON.stringify(v)}`, { hint: `e.g. ${name} 30` });
  }
  return Math.round(n * 1000);
}

async function stateHost(a: { values: Record<string, unknown> }): Promise<import('../../server/repos.js').RepoHost> {
  const { RepoHost } = await import('../../server/repos.js');
  const data = a.values.data as string | undefined;
  if (data) return new RepoHost({ dataDir: data, anonymousRead: true });
  const root = await Repository.find(process.cwd());
  if (!root) throw new StrataError('NOT_A_REPOSITORY', 'not inside a strata project and no --data DIR given', { hint: 'strata serve --data DIR, or run it inside a project' });
  return new RepoHost({ project: root, anonymousRead: true });
}

/** strata serve key create|list|revoke: S3 access key pairs (server/s3/keys.ts). */
async function keyCommand(a: Parsed, io: Io, action: string | undefined, arg: string | undefined): Promise<number | void> {
  const host = await stateHost(a);
  const { AccessKeyStore } = await import('../../server/s3/keys.js');
  const keys = new AccessKeyStore(host.stateDir);
  if (action === 'create') {
    const repo = a.values.repo as string | undefined;
    if (!repo) throw new StrataError('INVALID_ARGUMENT', 'key create needs --repo NAME (or --repo "*" for every repository)', { hint: "strata serve key create --repo NAME [--write]" });
    if (repo !== '*') (await import('../../server/repos.js')).checkRepoName(repo);
    const { accessKeyId, secret, record } = keys.create(repo, a.values.write ? ['read', 'write'] : ['read'], a.values.label as string | undefined);
    if (io.json_) return io.json({ accessKeyId, secretAccessKey: secret, repo: record.repo, scopes: record.scopes, label: record.label ?? null });
    io.out(`AWS_ACCESS_KEY_ID=${accessKeyId}`);
    io.out(`AWS_SECRET_ACCESS_KEY=${secret}`);
    io.err(`S3 access key ${accessKeyId} for ${repo === '*' ? 'every repository' : repo} (${record.scopes.join(', ')}); the secret is shown only once — store it safely`);
    return 0;
  }
  if (action === 'list') {
    const l = keys.list();
    if (io.json_) return io.json(l);
    if (!l.length) io.out('no S3 access keys');
    for (const k of l) io.out(`${k.accessKeyId}  ${k.repo.padEnd(16)} ${k.scopes.join(',').padEnd(10)} ${fmtTime(k.created)}${k.revoked ? '  revoked ' + fmtTime(k.revoked) : ''}${k.label ? '  ' + k.label : ''}`);
    return 0;
  }
  if (action === 'revoke') {
    if (!arg) throw new StrataError('INVALID_ARGUMENT', 'key revoke needs the access key id (see strata serve key list)');
    const k = keys.revoke(arg);
    if (io.json_) return io.json({ accessKeyId: k.accessKeyId, revoked: k.revoked });
    io.out(`revoked S3 access key ${k.accessKeyId}`);
    return 0;
  }
  throw new StrataError('INVALID_ARGUMENT', `usage: strata ${USAGE}`);
}

const cmd: Command = {
  name: 'serve',
  subcommands: ['token', 'repo'],
  summary: 'HTTP server: web lineage browser, API, and push/clone remote (http://HOST:PORT/REPO).',
  usage: USAGE,
  help: HELP,
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    data: { type: 'string' },
    store: { type: 'string' },
    'anonymous-read': { type: 'boolean' },
    'no-anonymous-read': { type: 'boolean' },
    'no-access-log': { type: 'boolean' },
    'max-pack-bytes': { type: 'string' },
    'max-object-bytes': { type: 'string' },
    'max-json-bytes': { type: 'string' },
    'headers-timeout': { type: 'string' },
    'request-timeout': { type: 'string' },
    'keep-alive-timeout': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'max-connections': { type: 'string' },
    's3-port': { type: 'string' },
    's3-domain': { type: 'string' },
    's3-region': { type: 'string' },
    repo: { type: 'string' },
    read: { type: 'boolean' },
    write: { type: 'boolean' },
    label: { type: 'string' },
    branch: { type: 'string' },
    private: { type: 'boolean' },
  },
  async run(a, io) {
    const [sub, action, arg] = a.positionals;
    if (sub === 'token') {
      const host = await stateHost(a);
      const { TokenStore } = await import('../../server/auth.js');
      const tokens = new TokenStore(host.stateDir);
      if (action === 'create') {
        const repo = a.values.repo as string | undefined;
        if (!repo) throw new StrataError('INVALID_ARGUMENT', 'token create needs --repo NAME (or --repo "*" for every repository)');
        if (repo !== '*') (await import('../../server/repos.js')).checkRepoName(repo);
        const { token, record } = tokens.create(repo, a.values.write ? ['read', 'write'] : ['read'], a.values.label as string | undefined);
        if (io.json_) return io.json({ token, id: record.id, repo: record.repo, scopes: record.scopes });
        io.out(token);
        io.err(`token ${record.id} for ${repo === '*' ? 'every repository' : repo} (${record.scopes.join(', ')}); it is shown only once — store it safely`);
        return 0;
      }
      if (action === 'list') {
        const l = tokens.list();
        if (io.json_) return io.json(l);
        if (!l.length) io.out('no tokens');
        for (const t of l) io.out(`${t.id}  ${t.repo.padEnd(16)} ${t.scopes.join(',').padEnd(10)} ${fmtTime(t.created)}${t.revoked ? '  revoked ' + fmtTime(t.revoked) : ''}${t.label ? '  ' + t.label : ''}`);
        return 0;
      }
      if (action === 'revoke') {
        if (!arg) throw new StrataError('INVALID_ARGUMENT', 'token revoke needs the token id (see strata serve token list)');
        const t = tokens.revoke(arg);
        if (io.json_) return io.json({ id: t.id, revoked: t.revoked });
        io.out(`revoked token ${t.id}`);
        return 0;
      }
      throw new StrataError('INVALID_ARGUMENT', `usage: strata ${USAGE}`);
    }
    if (sub === 'key') return keyCommand(a, io, action, arg);
    if (sub === 'repo') {
      if (action !== 'create' || !arg) throw new StrataError('INVALID_ARGUMENT', 'usage: strata serve repo create NAME --data DIR');
      if (!a.values.data) throw new StrataError('INVALID_ARGUMENT', 'serve repo create needs --data DIR');
      const host = await stateHost(a);
      const repo = await host.create(arg, { branch: a.values.branch as string | undefined, anonymousRead: a.values.private ? false : undefined });
      void repo;
      await host.close();
      if (io.json_) return io.json({ name: arg, created: true });
      io.out(`created repository ${arg} in ${host.root}`);
      return 0;
    }
    if (sub !== undefined) throw new StrataError('INVALID_ARGUMENT', `unknown serve subcommand ${JSON.stringify(sub)}; usage: strata ${USAGE}`);

    const data = a.values.data as string | undefined;
    let project: string | undefined;
    if (!data) {
      const root = await Repository.find(process.cwd());
      if (!root) throw new StrataError('NOT_A_REPOSITORY', 'not inside a strata project and no --data DIR given', { hint: 'strata serve --data DIR hosts repositories; inside a project, strata serve browses it' });
      project = root;
    }
    const { startServer } = await import('../../server/app.js');
    const anonymousRead = a.values['no-anonymous-read'] ? false : true;
    const s = await startServer({
      dataDir: data,
      project,
      storeUrl: a.values.store as string | undefined,
      anonymousRead,
      port: num(a.values.port, '--port') ?? 8080,
      host: (a.values.host as string | undefined) ?? '127.0.0.1',
      maxPackBytes: num(a.values['max-pack-bytes'], '--max-pack-bytes'),
      maxObjectBytes: num(a.values['max-object-bytes'], '--max-object-bytes'),
      maxJsonBytes: num(a.values['max-json-bytes'], '--max-json-bytes'),
      headersTimeoutMs: seconds(a.values['headers-timeout'], '--headers-timeout'),
      requestTimeoutMs: seconds(a.values['request-timeout'], '--request-timeout'),
      keepAliveTimeoutMs: seconds(a.values['keep-alive-timeout'], '--keep-alive-timeout'),
      idleTimeoutMs: seconds(a.values['idle-timeout'], '--idle-timeout'),
      maxConnections: num(a.values['max-connections'], '--max-connections'),
      s3Port: num(a.values['s3-port'], '--s3-port'),
      s3Domain: a.values['s3-domain'] as string | undefined,
      s3Region: a.values['s3-region'] as string | undefined,
      log: (m) => io.err(m),
      accessLog: !a.values['no-access-log'],
    });
    // From here on, an error that escapes a handler is logged and the server keeps serving.
    const { installSafetyNet } = await import('../../server/app.js');
    installSafetyNet((m) => io.err(m));
    const what = project ? `project ${s.host.projectName} (read-only)` : `${s.host.names().length} repositories in ${s.host.root}`;
    if (io.json_) io.json({ url: s.url, port: s.port, mode: s.host.mode, ...(s.s3 ? { s3: s.s3 } : {}) });
    else {
      io.out(`strata serve: listening on ${s.url} — ${what}`);
      if (s.s3) io.out(`strata serve: S3 gateway on ${s.s3.url} (buckets = repositories, keys <ref>/<path>)`);
    }
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        io.err(`strata serve: ${sig}, finishing requests and shutting down`);
        void s.close().then(resolve);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    return 0;
  },
};
export default cmd;
