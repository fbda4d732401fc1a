/**
 * No secret in a permanent record. A git project whose `origin` is
 * `https://alice:s3cr3tTOKEN@example.invalid/repo.git` (later a URL with X-Amz-Signature /
 * X-Amz-Credential parameters) goes through add, commit, run (ok and failing), repro and push to a
 * file:// remote, with OpenLineage events sent to a file and to a loopback HTTP receiver using an
 * API key from OPENLINEAGE_API_KEY. Then every record is searched for every secret: each file under
 * .strata (SQLite database and WAL bytes included, compressed objects inflated), every file of the
 * remote, the OpenLineage file and HTTP bodies, `log --json`, `runs --json`, `show --json`, and the
 * stdout/stderr of every command. None may contain one. The records do carry the remote without
 * its credentials, and the API key reaches the receiver as a Bearer header (only there).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { strata, tempDir, writeFiles, type RunResult } from './helpers/cli.js';
import { git, gitProject } from './helpers/fraud.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { redactText, redactUrl } from '../core/config/redact.js';

const TOKEN = 's3cr3tTOKEN';
const SIG = 'SIGs3cr3t9f8e7d';
const CRED = 'AKIAs3cr3tCRED';
const OL_KEY = 'olKEYs3cr3t4242';
const REMOTE_SECRET = 'rem0teS3CRET';
const SECRETS = [TOKEN, SIG, CRED, OL_KEY, REMOTE_SECRET];

/** Every file under `dir` (path -> bytes), .git excluded (it is the user's, not a Strata record). */
async function allFiles(dir: string, skipGit = true): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string, base: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      if (skipGit && e.name === '.git' && base === '') continue;
      const p = base ? `${base}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(d, e.name), p);
      else if (e.isFile()) out.set(p, await fsp.readFile(join(d, e.name)));
    }
  };
  await walk(dir, '');
  return out;
}

/** The bytes, and their inflated forms when they are compressed (zlib, gzip, raw deflate, brotli, zstd when available). */
function decodings(b: Buffer): Buffer[] {
  const out = [b];
  const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync;
  for (const f of [zlib.inflateSync, zlib.gunzipSync, zlib.inflateRawSync, zlib.brotliDecompressSync, ...(zstd ? [zstd] : [])]) {
    try {
      out.push(f(b));
    } catch {
      /* not this format */
    }
  }
  return out;
}

function findSecrets(where: string, data: Buffer | string): string[] {
  const hits: string[] = [];
  const forms = typeof data === 'string' ? [Buffer.from(data)] : decodings(data);
  for (const f of forms) {
    for (const s of SECRETS) {
      if (f.includes(s) || f.includes(Buffer.from(s, 'utf16le'))) hits.push(`${where}: ${s}`);
    }
  }
  return [...new Set(hits)];
}

describe('no secret in a permanent record', () => {
  let p: Awaited<ReturnType<typeof gitProject>>;
  let dir: string;
  let remoteT: Awaited<ReturnType<typeof tempDir>>;
  let remoteDir: string;
  let server: Server;
  let olUrl: string;
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const outputs: Array<{ args: string[]; r: RunResult }> = [];
  const env = { OPENLINEAGE_API_KEY: OL_KEY };

  const cli = async (args: string[], expect: number | null = 0): Promise<RunResult> => {
    const r = await strata(dir, args, { env });
    outputs.push({ args, r });
    if (expect !== null) assert.equal(r.code, expect, `strata ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    olUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/lineage`;
    p = await gitProject({ example: false, files: { 'train.sh': 'cat data/raw.csv > model.bin\n' } });
    dir = p.dir;
    remoteT = await tempDir('strata-secret-remote-');
    remoteDir = join(remoteT.dir, 'remote');
    git(dir, 'remote', 'add', 'origin', `https://alice:${TOKEN}@example.invalid/repo.git`);
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await p.cleanup();
    await remoteT.cleanup();
  });

  it('add, commit, run, repro, push: no record holds a secret', async () => {
    await cli(['config', 'set', 'openlineage.url', olUrl]);
    await cli(['config', 'set', 'openlineage.file', 'lineage-events.jsonl']);
    await writeFiles(dir, { 'data/raw.csv': 'a,b\n1,2\n' });
    await cli(['add', 'data']);
    await cli(['commit', '-m', 'raw data']);
    await cli(['run', '-n', 'train', '-d', 'data/raw.csv', '-d', 'train.sh', '--model', 'model.bin', '--', 'sh train.sh']);
    await cli(['run', '-n', 'broken', '-o', 'x.txt', '--', 'exit 3'], EXIT_CODES.STAGE_FAILED);

    // A remote carrying signature parameters, then a pipeline.
    git(dir, 'remote', 'set-url', 'origin', `https://example.invalid/repo.git?X-Amz-Signature=${SIG}&X-Amz-Credential=${CRED}&X-Amz-Date=20260101T000000Z`);
    await writeFiles(dir, { 'strata.yaml': 'stages:\n  copy:\n    cmd: cp data/raw.csv copy.csv\n    deps: [data/raw.csv]\n    outs: [copy.csv]\n' });
    git(dir, 'add', 'strata.yaml');
    git(dir, 'commit', '-q', '-m', 'pipeline');
    await cli(['repro']);
    await cli(['add', 'copy.csv', 'model.bin']);
    await cli(['commit', '-m', 'outputs']);

    // A remote with credentials is refused; a file:// one takes the push.
    await cli(['remote', 'add', 'leaky', `https://bob:${REMOTE_SECRET}@strata.example.invalid/fraud`], EXIT_CODES.INVALID_ARGUMENT);
    await cli(['remote', 'add', 'backup', `file://${remoteDir}`]);
    await cli(['push', 'backup']);

    const log = await cli(['log', '--json']);
    const runs = await cli(['runs', '--json']);
    const show = await cli(['show', '--json']);
    const runId = (JSON.parse(runs.stdout) as Array<{ id: string }>)[0]!.id;
    await cli(['show', runId, '--json']);
    await cli(['lineage', 'model.bin', '--json'], null);
    await cli(['config', 'list']);
    await cli(['remote', 'list', '-v']);
    await cli(['status']);

    const hits: string[] = [];
    for (const [path, bytes] of await allFiles(join(dir, '.strata'), false)) hits.push(...findSecrets(`.strata/${path}`, bytes));
    for (const [path, bytes] of await allFiles(remoteDir, false)) hits.push(...findSecrets(`remote/${path}`, bytes));
    for (const [path, bytes] of await allFiles(dir)) if (!path.startsWith('.strata/')) hits.push(...findSecrets(`workspace/${path}`, bytes));
    for (const [i, x] of received.entries()) hits.push(...findSecrets(`OpenLineage HTTP body #${i}`, x.body));
    for (const { args, r } of outputs) hits.push(...findSecrets(`strata ${args.join(' ')} (stdout+stderr)`, r.stdout + r.stderr));
    assert.deepEqual(hits, [], 'secrets found in records');

    // The records carry the remote, without its credentials or signature.
    const runList = JSON.parse(runs.stdout) as Array<{ stage: string; code?: { remote?: string | null } }>;
    const remotes = new Set(runList.map((r) => r.code?.remote));
    assert.ok(remotes.has('https://example.invalid/repo.git'), `run records: ${[...remotes].join(', ')}`);
    assert.ok(remotes.has('https://example.invalid/repo.git?X-Amz-Date=20260101T000000Z'), `run records: ${[...remotes].join(', ')}`);
    assert.match(log.stdout, /example\.invalid\/repo\.git/);
    assert.match(show.stdout, /example\.invalid\/repo\.git/);

    // There was something to search: objects were written and pushed; events were sent and filed.
    const remoteFiles = await allFiles(remoteDir, false);
    assert.ok(remoteFiles.size > 5, `remote has ${remoteFiles.size} files`);
    const events = (await fsp.readFile(join(dir, 'lineage-events.jsonl'), 'utf8')).trim().split('\n');
    assert.ok(events.length >= 6, `${events.length} events in the file`);
    const codeUrls = new Set(events.map((l) => (JSON.parse(l) as { job: { facets: { sourceCodeLocation?: { url: string } } } }).job.facets.sourceCodeLocation?.url));
    assert.ok(codeUrls.has('https://example.invalid/repo.git'), [...codeUrls].join(', '));
  });

  it('OPENLINEAGE_API_KEY reaches the HTTP transport as a Bearer header', async () => {
    assert.ok(received.length >= 6, `${received.length} events received`);
    for (const x of received) assert.equal(x.headers.authorization, `Bearer ${OL_KEY}`);
    // Without the variable, a credentials-file line for the endpoint supplies it.
    const cfgT = await tempDir('strata-secret-xdg-');
    try {
      await fsp.mkdir(join(cfgT.dir, 'strata'));
      await fsp.writeFile(join(cfgT.dir, 'strata', 'credentials'), `# OpenLineage\n${olUrl.replace(/\/api\/v1\/lineage$/, '')} fileKEY0001\n`, { mode: 0o600 });
      received.length = 0;
      const r = await strata(dir, ['run', '-n', 'again', '-o', 'y.txt', '--', 'echo y > y.txt'], { env: { XDG_CONFIG_HOME: cfgT.dir, OPENLINEAGE_API_KEY: undefined } });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(received.map((x) => x.headers.authorization), ['Bearer fileKEY0001', 'Bearer fileKEY0001']);
      assert.doesNotMatch(r.stderr, /warning/);
      // A credentials file others can read still works, with a warning naming chmod 600.
      await fsp.chmod(join(cfgT.dir, 'strata', 'credentials'), 0o644);
      const w = await strata(dir, ['run', '-n', 'again', '-o', 'y.txt', '--', 'echo y > y.txt'], { env: { XDG_CONFIG_HOME: cfgT.dir, OPENLINEAGE_API_KEY: undefined } });
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stderr, /warning: .*credentials can be read by other users.*chmod 600/);
      assert.doesNotMatch(w.stderr + w.stdout, /fileKEY0001/);
    } finally {
      await cfgT.cleanup();
    }
    const db = await fsp.readFile(join(dir, '.strata', 'strata.db'));
    assert.ok(!db.includes('fileKEY0001'));
  });

  it('OPENLINEAGE_URL and OPENLINEAGE_NAMESPACE from the environment override the config', async () => {
    await cli(['config', 'unset', 'openlineage.url']);
    received.length = 0;
    const r = await strata(dir, ['run', '-n', 'envrun', '-o', 'z.txt', '--', 'echo z > z.txt'], {
      env: { OPENLINEAGE_URL: olUrl.replace(/\/api\/v1\/lineage$/, ''), OPENLINEAGE_NAMESPACE: 'team-env', OPENLINEAGE_API_KEY: OL_KEY },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(received.length, 2);
    for (const x of received) {
      const e = JSON.parse(x.body) as { job: { namespace: string } };
      assert.equal(e.job.namespace, 'team-env');
      assert.equal(x.headers.authorization, `Bearer ${OL_KEY}`);
    }
    // User info in OPENLINEAGE_URL becomes Basic auth (fetch refuses such URLs) and is printed nowhere.
    received.length = 0;
    const base = olUrl.replace(/\/api\/v1\/lineage$/, '').replace('http://', 'http://olu:olpw55x@');
    const b = await strata(dir, ['run', '--json', '-n', 'basic', '-o', 'w.txt', '--', 'echo w > w.txt'], { env: { OPENLINEAGE_URL: base, OPENLINEAGE_API_KEY: undefined } });
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(received.map((x) => x.headers.authorization), [`Basic ${Buffer.from('olu:olpw55x').toString('base64')}`, `Basic ${Buffer.from('olu:olpw55x').toString('base64')}`]);
    assert.doesNotMatch(b.stdout + b.stderr + received.map((x) => x.body).join(''), /olpw55x/);
    // An unreachable one warns without the password.
    const down = await strata(dir, ['run', '-n', 'basic', '-o', 'w.txt', '--', 'echo w > w.txt'], { env: { OPENLINEAGE_URL: 'http://olu:olpw55x@127.0.0.1:1/x', OPENLINEAGE_API_KEY: undefined } });
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stderr, /warning: OpenLineage http:\/\/127\.0\.0\.1:1\/x/);
    assert.doesNotMatch(down.stderr + down.stdout, /olpw55x/);
  });

  it('the redaction rule, case by case', () => {
    const cases: Array<[string, string]> = [
      ['https://alice:s3cr3tTOKEN@example.invalid/repo.git', 'https://example.invalid/repo.git'],
      ['https://ghp_TOKEN@github.com/o/r.git', 'https://github.com/o/r.git'],
      ['https://x-access-token:TOKEN@github.com/o/r', 'https://github.com/o/r'],
      ['HTTP://u:p@Host:8080/x', 'HTTP://Host:8080/x'],
      ['ssh://git:pw@host.example/o/r.git', 'ssh://git@host.example/o/r.git'],
      ['ssh://git@host.example/o/r.git', 'ssh://git@host.example/o/r.git'],
      ['git@github.com:o/r.git', 'git@github.com:o/r.git'],
      ['alice:pw@host.example:o/r.git', 'alice@host.example:o/r.git'],
      ['https://h/r?X-Amz-Signature=abc&X-Amz-Credential=AKIA%2F1&X-Amz-Date=1', 'https://h/r?X-Amz-Date=1'],
      ['https://h/r?x-amz-security-token=abc', 'https://h/r'],
      ['https://h/r?token=1&page=2', 'https://h/r?page=2'],
      ['https://h/r?sig=1&sv=2020', 'https://h/r?sv=2020'],
      ['https://h/r#access_token=abc&state=1', 'https://h/r#state=1'],
      ['https://h/r?private_token=1', 'https://h/r'],
      ['https://h/r?my_api_key=1', 'https://h/r'],
      ['https://h/r#readme', 'https://h/r#readme'],
      ['https://h/r?q=1', 'https://h/r?q=1'],
      ['/plain/path', '/plain/path'],
      ['file:///tmp/x', 'file:///tmp/x'],
    ];
    for (const [input, want] of cases) assert.equal(redactUrl(input), want, input);
    assert.equal(
      redactText('cannot reach https://bob:pw@h/x (https://h/y?token=t), see s3://b/k?X-Amz-Signature=s.'),
      'cannot reach https://h/x (https://h/y), see s3://b/k.',
    );
  });
});
