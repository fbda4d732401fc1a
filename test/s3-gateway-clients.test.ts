/**
 * The S3 gateway with the real S3 clients Debian ships, against a real `strata serve --s3-port 0`
 * child process holding a repository pushed by the real CLI:
 *
 * - aws-cli (`/usr/bin/aws`, package awscli): `s3 ls` (service, refs, recursive), `s3 cp` down and
 *   up (ranged parallel download, multipart upload), `s3 sync` of a folder up to a branch and down
 *   from a tag, then `strata staging commit` and `strata pull` see the bytes;
 * - rclone (package rclone): `lsf`, `copy` up (a multipart file too) and down, `check --download`;
 * - boto3 and pandas under `/usr/bin/python3` (python3-boto3, python3-pandas): the examples of
 *   docs/s3-gateway.md#clients run as they stand (`pd.read_csv` of a version, the list_objects_v2
 *   paginator, `upload_file` multipart, a presigned URL fetched with urllib, a commit through the
 *   HTTP API), and the pipeline step of the docs: read `main/raw.csv`, write to a branch, commit as a
 *   run; `strata pull`, `strata cat` and `strata lineage` see raw.csv -> run -> output;
 * - a server killed with SIGKILL in the middle of an upload part: after a restart on the same data
 *   folder every acknowledged write and completed upload is there (read, listed, committed), the
 *   interrupted upload is listed and can be continued or aborted, nothing half-written appears;
 * - refusals through boto3: a wrong secret, a read-only key writing, a key of one repository on
 *   another, an expired presigned URL — each refused with its S3 code, nothing written.
 *
 * A missing client fails its test with the Debian package to install (.ci/run installs them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ROOT, ok, readTreeBytes, seededBytes, strata, tempDir, writeFiles, type RunResult } from './helpers/cli.js';
import { hashBytes, initHash } from '../core/hash/index.js';

await initHash();

const AWS = '/usr/bin/aws';
const RCLONE = '/usr/bin/rclone';
const PYTHON = '/usr/bin/python3';
const REPO = 'sales';
const RAW_V1 = 'region,amount\neu,10\nus,20\neu,5\n';
const RAW_MAIN = 'region,amount\neu,10\nus,20\neu,5\nasia,7\n';
const BIG = seededBytes(12 * 1024 * 1024 + 12345, 41);
const DOCS = await readFile(join(ROOT, 'docs', 's3-gateway.md'), 'utf8');

interface Key {
  id: string;
  secret: string;
}

interface Served {
  proc: ChildProcess;
  url: string;
  s3: string;
  stderr(): string;
  exited: Promise<number | null>;
}

let tmp: { dir: string; cleanup(): Promise<void> };
let data: string;
let project: string;
let home: string;
let srv: Served;
let token: string;
let rw: Key;
let ro: Key;
let otherKey: Key;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Run a program; never throws on a non-zero exit. `env` values that are undefined are removed. */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((res, rej) => {
    const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const p = spawn(cmd, args, { cwd: opts.cwd ?? tmp.dir, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    p.stdin.end(opts.input ?? '');
  });
}

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** The client must be installed; otherwise the test fails naming the Debian package. */
function needProgram(path: string, pkg: string): void {
  if (!existsSync(path)) throw new Error(`${path} is not installed: install the Debian package ${pkg} (apt-get install ${pkg}; .ci/run does)`);
}

async function needPython(): Promise<void> {
  needProgram(PYTHON, 'python3');
  for (const [mod, pkg] of [['boto3', 'python3-boto3'], ['pandas', 'python3-pandas']] as const) {
    const r = await run(PYTHON, ['-c', `import ${mod}`], { env: pyEnv(rw) });
    if (r.code !== 0) throw new Error(`${PYTHON} cannot import ${mod}: install the Debian package ${pkg} (apt-get install ${pkg}; .ci/run does)\n${r.stderr}`);
  }
}

/** Environment of every client: no credentials, config or CA bundle of this machine leak in. */
function clientEnv(k: Key, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    HOME: home,
    AWS_ACCESS_KEY_ID: k.id,
    AWS_SECRET_ACCESS_KEY: k.secret,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_DEFAULT_PROFILE: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_REGION: undefined,
    AWS_CONFIG_FILE: join(home, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    // The http endpoint needs no CA bundle; rclone refuses to start with one set (see the docs).
    AWS_CA_BUNDLE: undefined,
    ...extra,
  };
}

function pyEnv(k: Key, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return clientEnv(k, { PYTHONPATH: undefined, PYTHONHOME: undefined, VIRTUAL_ENV: undefined, PYTHONDONTWRITEBYTECODE: '1', STRATA_TOKEN: token, ...extra });
}

/**
 * A code block of docs/s3-gateway.md, the one after `<!-- clients-test: NAME -->`, with the
 * documented endpoints replaced by the running server's.
 */
function docBlock(name: string, s: Served = srv): string {
  const marker = `<!-- clients-test: ${name} -->`;
  const at = DOCS.indexOf(marker);
  assert.ok(at >= 0, `docs/s3-gateway.md has no block marked ${marker}`);
  const m = /^```[a-z]*\n([\s\S]*?)^```$/m.exec(DOCS.slice(at + marker.length));
  assert.ok(m, `no code block after ${marker}`);
  return m[1]!.replaceAll('http://127.0.0.1:9000', s.s3).replaceAll('http://127.0.0.1:8080', s.url);
}

/** Run Python code with Debian's interpreter and packages. */
async function py(code: string, k: Key = rw, opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<RunResult> {
  return run(PYTHON, ['-c', code], { env: pyEnv(k, opts.env), cwd: opts.cwd });
}

/** Python code printing one JSON document: parse it. */
async function pyJson<T>(code: string, k: Key = rw, opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<T> {
  const r = must(await py(code, k, opts), 'python3');
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}

/** The boto3 client of the docs, then `body`. */
function withClient(body: string, s: Served = srv): string {
  return `${docBlock('boto3-client', s)}\n${body}`;
}

/** Start `strata serve --data DIR --port 0 --s3-port 0 --no-anonymous-read --json` and read its URLs. */
async function serve(dir: string): Promise<Served> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--data', dir, '--port', '0', '--s3-port', '0', '--no-anonymous-read', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  // --json prints one JSON document (pretty-printed) once both ports listen.
  const info = await new Promise<{ url: string; s3: { url: string } }>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        resolve(JSON.parse(out) as { url: string; s3: { url: string } });
      } catch {
        // not complete yet
      }
    });
    void exited.then((c) => reject(new Error(`strata serve exited ${c}: ${out}\n${err}`)));
  }).catch((e: unknown) => {
    proc.kill('SIGKILL');
    throw e;
  });
  assert.ok(info.s3?.url, `strata serve --json gave no s3.url: ${JSON.stringify(info)}`);
  return { proc, url: info.url, s3: info.s3.url, stderr: () => err, exited };
}

async function stop(s: Served, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill(signal);
  await s.exited;
}

/** `strata serve key create --repo NAME [--write] --data DIR --json`. */
async function keyFor(dir: string, repo: string, write: boolean): Promise<Key> {
  const r = await ok(tmp.dir, ['serve', 'key', 'create', '--repo', repo, ...(write ? ['--write'] : []), '--data', dir, '--json']);
  const k = JSON.parse(r.stdout) as { accessKeyId: string; secretAccessKey: string };
  assert.match(k.accessKeyId, /^SK[A-Z0-9]{18}$/);
  return { id: k.accessKeyId, secret: k.secretAccessKey };
}

async function tokenFor(dir: string, repo: string): Promise<string> {
  return (await ok(tmp.dir, ['serve', 'token', 'create', '--repo', repo, '--write', '--data', dir])).stdout.trim();
}

/** Commit a branch's uncommitted gateway writes through the HTTP API. */
async function commitStaged(s: Served, tok: string, branch: string, message: string, run?: { stage: string; cmd?: string; inputs?: string[] }): Promise<{ commit: string; run: string | null; changes: Array<{ path: string; op: string }> }> {
  const r = await fetch(`${s.url}/api/repos/${REPO}/staging/commit`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ branch, message, author: { name: 'Client Test', email: 'clients@example.com' }, ...(run ? { run } : {}) }),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text) as { commit: string; run: string | null; changes: Array<{ path: string; op: string }> };
}

/** A project with two versions of raw.csv (tag v1, then main), a chunked file, odd names, branches incoming and results, pushed. */
async function pushProject(dir: string, url: string, tok: string): Promise<void> {
  await writeFiles(dir, {
    'raw.csv': RAW_V1,
    'data/regions/eu.csv': 'day,amount\n1,10\n2,5\n',
    'data/regions/us.csv': 'day,amount\n1,20\n',
    'data/notes/read me.txt': 'a name with a space\n',
    'data/notes/a+b=c.txt': 'a name with plus and equals\n',
    'data/big.bin': BIG,
  });
  await ok(dir, ['init']);
  await ok(dir, ['add', 'raw.csv', 'data']);
  await ok(dir, ['commit', '-m', 'first sales data']);
  await ok(dir, ['tag', 'v1']);
  await writeFile(join(dir, 'raw.csv'), RAW_MAIN);
  await ok(dir, ['add', 'raw.csv']);
  await ok(dir, ['commit', '-m', 'asia joins']);
  await ok(dir, ['branch', 'incoming']);
  await ok(dir, ['branch', 'results']);
  await ok(dir, ['remote', 'add', 'origin', `${url}/${REPO}`]);
  await ok(dir, ['push', 'origin', '--all', '--tags'], 0, { env: { STRATA_TOKEN: tok } });
}

before(async () => {
  tmp = await tempDir('strata-s3clients-');
  data = join(tmp.dir, 'srv');
  project = join(tmp.dir, 'project');
  home = join(tmp.dir, 'home');
  await mkdir(home, { recursive: true });
  await ok(tmp.dir, ['serve', 'repo', 'create', 'other', '--private', '--data', data]);
  token = await tokenFor(data, REPO);
  rw = await keyFor(data, REPO, true);
  ro = await keyFor(data, REPO, false);
  otherKey = await keyFor(data, 'other', true);
  srv = await serve(data);
  await pushProject(project, srv.url, token);
  // aws-cli: the documented profile, with the key in the credentials file.
  await writeFile(join(home, 'aws-config'), docBlock('aws-config'));
  await writeFile(join(home, 'aws-credentials'), `[strata]\naws_access_key_id = ${rw.id}\naws_secret_access_key = ${rw.secret}\n`);
});

after(async () => {
  if (srv) await stop(srv);
  await tmp.cleanup();
});

function aws(args: string[], k: Key = rw): Promise<RunResult> {
  needProgram(AWS, 'awscli');
  const quiet = args[1] === 'cp' || args[1] === 'sync' ? ['--no-progress'] : [];
  return run(AWS, ['--profile', 'strata', '--endpoint-url', srv.s3, ...args, ...quiet], { env: clientEnv(k) });
}

/** `aws s3 ls` lines: [size, key] for objects, ['PRE', prefix] for prefixes. */
function lsLines(out: string): Array<[string, string]> {
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const pre = /^\s+PRE (.+)$/.exec(l);
      if (pre) return ['PRE', pre[1]!] as [string, string];
      const obj = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(\d+) (.+)$/.exec(l);
      assert.ok(obj, `unexpected aws s3 ls line ${JSON.stringify(l)}`);
      return [obj[1]!, obj[2]!] as [string, string];
    });
}

describe('aws-cli (awscli 2.9)', () => {
  it('aws s3 ls: the repositories, the refs of one, a folder, and everything under a tag', async () => {
    const buckets = must(await aws(['s3', 'ls']), 'aws s3 ls');
    assert.match(buckets.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d sales$/m);
    assert.doesNotMatch(buckets.stdout, /other/, 'a key of sales does not list other repositories');
    const refs = must(await aws(['s3', 'ls', `s3://${REPO}/`]), 'aws s3 ls s3://sales/');
    assert.deepEqual(lsLines(refs.stdout), [['PRE', 'incoming/'], ['PRE', 'main/'], ['PRE', 'results/'], ['PRE', 'v1/']]);
    const notes = must(await aws(['s3', 'ls', `s3://${REPO}/v1/data/notes/`]), 'aws s3 ls notes');
    assert.deepEqual(lsLines(notes.stdout).map(([, k]) => k), ['a+b=c.txt', 'read me.txt']);
    const all = must(await aws(['s3', 'ls', '--recursive', `s3://${REPO}/v1/`]), 'aws s3 ls --recursive');
    assert.deepEqual(lsLines(all.stdout), [
      [String(BIG.length), 'v1/data/big.bin'],
      ['28', 'v1/data/notes/a+b=c.txt'],
      ['20', 'v1/data/notes/read me.txt'],
      ['20', 'v1/data/regions/eu.csv'],
      ['16', 'v1/data/regions/us.csv'],
      [String(RAW_V1.length), 'v1/raw.csv'],
    ]);
    const whole = must(await aws(['s3', 'ls', '--recursive', `s3://${REPO}`]), 'aws s3 ls --recursive bucket');
    const keys = lsLines(whole.stdout).map(([, k]) => k);
    for (const ref of ['incoming', 'main', 'results', 'v1']) assert.ok(keys.includes(`${ref}/raw.csv`), `${ref}/raw.csv listed`);
    assert.equal(keys.length, 4 * 6);
  });

  it('aws s3 cp down: a chunked file over the multipart threshold (ranged parallel GETs) and a file with odd characters', async () => {
    const dest = join(tmp.dir, 'aws-down');
    must(await aws(['s3', 'cp', `s3://${REPO}/v1/data/big.bin`, join(dest, 'big.bin')]), 'aws s3 cp big down');
    assert.ok((await readFile(join(dest, 'big.bin'))).equals(BIG));
    must(await aws(['s3', 'cp', `s3://${REPO}/main/data/notes/a+b=c.txt`, join(dest, 'plus.txt')]), 'aws s3 cp plus down');
    assert.equal(await readFile(join(dest, 'plus.txt'), 'utf8'), 'a name with plus and equals\n');
    const missing = await aws(['s3', 'cp', `s3://${REPO}/v1/data/nope.csv`, join(dest, 'nope.csv')]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /404|Not Found|NoSuchKey/);
  });

  it('aws s3 cp up (a small file and a multipart one), between refs (CopyObject, UploadPartCopy), aws s3 sync up to a branch and down from a tag; strata staging commit makes them one commit', async () => {
    const up = join(tmp.dir, 'aws-up');
    const big = seededBytes(11 * 1024 * 1024, 42);
    await writeFiles(up, { 'model.bin': big, 'report.txt': 'uploaded by aws s3 cp\n', 'folder/a.csv': 'x\n1\n', 'folder/sub/b.csv': 'y\n2\n' });
    must(await aws(['s3', 'cp', join(up, 'report.txt'), `s3://${REPO}/incoming/aws/report.txt`]), 'aws s3 cp up');
    must(await aws(['s3', 'cp', join(up, 'model.bin'), `s3://${REPO}/incoming/aws/model.bin`]), 'aws s3 cp multipart up');
    // Copies between refs on the server: CopyObject for a small file; above the multipart threshold
    // aws-cli reads the source's tags (GetObjectTagging) and copies by ranges (UploadPartCopy).
    must(await aws(['s3', 'cp', `s3://${REPO}/v1/raw.csv`, `s3://${REPO}/incoming/aws/raw-v1.csv`]), 'aws s3 cp ref to ref');
    must(await aws(['s3', 'cp', `s3://${REPO}/v1/data/big.bin`, `s3://${REPO}/incoming/aws/big-v1.bin`]), 'aws s3 cp ref to ref, multipart');
    const synced = must(await aws(['s3', 'sync', join(up, 'folder'), `s3://${REPO}/incoming/aws/folder`]), 'aws s3 sync up');
    assert.equal((synced.stdout.match(/^upload: /gm) ?? []).length, 2, synced.stdout);
    const again = must(await aws(['s3', 'sync', join(up, 'folder'), `s3://${REPO}/incoming/aws/folder`]), 'aws s3 sync up again');
    assert.equal(again.stdout.trim(), '', 'a second sync finds nothing to upload');
    const listed = lsLines(must(await aws(['s3', 'ls', '--recursive', `s3://${REPO}/incoming/aws/`]), 'ls').stdout);
    assert.deepEqual(listed, [
      [String(BIG.length), 'incoming/aws/big-v1.bin'],
      ['4', 'incoming/aws/folder/a.csv'],
      ['4', 'incoming/aws/folder/sub/b.csv'],
      [String(big.length), 'incoming/aws/model.bin'],
      [String(RAW_V1.length), 'incoming/aws/raw-v1.csv'],
      ['22', 'incoming/aws/report.txt'],
    ]);
    const back = join(tmp.dir, 'aws-back');
    must(await aws(['s3', 'cp', `s3://${REPO}/incoming/aws/model.bin`, join(back, 'model.bin')]), 'aws s3 cp uncommitted down');
    assert.ok((await readFile(join(back, 'model.bin'))).equals(big));
    must(await aws(['s3', 'cp', `s3://${REPO}/incoming/aws/big-v1.bin`, join(back, 'big-v1.bin')]), 'aws s3 cp copied down');
    assert.ok((await readFile(join(back, 'big-v1.bin'))).equals(BIG));

    const down = join(tmp.dir, 'aws-sync-down');
    must(await aws(['s3', 'sync', `s3://${REPO}/v1/data`, down]), 'aws s3 sync down');
    const got = await readTreeBytes(down);
    const want = await readTreeBytes(join(project, 'data'));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [p, b] of want) assert.ok(got.get(p)!.equals(b), p);

    const staged = must(await strata(project, ['staging', 'list', 'origin', 'incoming'], { env: { STRATA_TOKEN: token } }), 'strata staging list');
    for (const p of ['aws/big-v1.bin', 'aws/folder/a.csv', 'aws/folder/sub/b.csv', 'aws/model.bin', 'aws/raw-v1.csv', 'aws/report.txt']) assert.match(staged.stdout, new RegExp(`^\\s+put .* ${p.replace(/[./]/g, '\\$&')}$`, 'm'));
    const c = must(await strata(project, ['staging', 'commit', 'origin', 'incoming', '-m', 'uploads from aws-cli'], { env: { STRATA_TOKEN: token } }), 'strata staging commit');
    assert.match(c.stdout, /^Committed 6 change\(s\) on incoming as [0-9a-f]{12} \(6 written, 0 deleted\)/);
    await ok(project, ['switch', 'incoming']);
    await ok(project, ['pull', 'origin', 'incoming'], 0, { env: { STRATA_TOKEN: token } });
    assert.ok((await readFile(join(project, 'aws', 'model.bin'))).equals(big));
    assert.equal((await ok(project, ['cat', 'incoming:aws/folder/sub/b.csv'])).stdout, 'y\n2\n');
    await ok(project, ['switch', 'main']);
  });
});

/** rclone's remote "strata", configured through the environment as the docs show. */
function rclone(args: string[], k: Key = rw, extra: Record<string, string | undefined> = {}): Promise<RunResult> {
  needProgram(RCLONE, 'rclone');
  const env: Record<string, string | undefined> = clientEnv(k, { RCLONE_CONFIG: join(home, 'rclone-empty.conf'), ...extra });
  for (const m of docBlock('rclone-env').matchAll(/(RCLONE_CONFIG_[A-Z_]+)=(\S+)/g)) {
    env[m[1]!] = m[2]!.replace('$AWS_ACCESS_KEY_ID', k.id).replace('$AWS_SECRET_ACCESS_KEY', k.secret);
  }
  return run(RCLONE, [...args], { env });
}

describe('rclone (1.60)', () => {
  it('rclone lsf lists refs, folders and files', async () => {
    await writeFile(join(home, 'rclone-empty.conf'), '');
    const refs = must(await rclone(['lsf', `strata:${REPO}`]), 'rclone lsf');
    assert.deepEqual(refs.stdout.trim().split('\n'), ['incoming/', 'main/', 'results/', 'v1/']);
    const data = must(await rclone(['lsf', `strata:${REPO}/v1/data`]), 'rclone lsf data');
    assert.deepEqual(data.stdout.trim().split('\n'), ['big.bin', 'notes/', 'regions/']);
    const deep = must(await rclone(['lsf', '-R', '--files-only', `strata:${REPO}/v1/data/notes`]), 'rclone lsf -R');
    assert.deepEqual(deep.stdout.trim().split('\n'), ['a+b=c.txt', 'read me.txt']);
  });

  it('rclone copy down from a tag and rclone check --download against the project', async () => {
    const down = join(tmp.dir, 'rclone-down');
    must(await rclone(['copy', `strata:${REPO}/v1/data`, down]), 'rclone copy down');
    const got = await readTreeBytes(down);
    const want = await readTreeBytes(join(project, 'data'));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [p, b] of want) assert.ok(got.get(p)!.equals(b), p);
    const check = must(await rclone(['check', '--download', join(project, 'data'), `strata:${REPO}/v1/data`]), 'rclone check --download');
    assert.match(check.stderr, /0 differences found/);
    assert.match(check.stderr, /5 matching files/);
  });

  it('rclone copy up to a branch (a multipart file too) reads back and commits', async () => {
    const up = join(tmp.dir, 'rclone-up');
    const big = seededBytes(7 * 1024 * 1024, 43);
    await writeFiles(up, { 'part.bin': big, 'x/y.txt': 'from rclone\n' });
    must(await rclone(['copy', up, `strata:${REPO}/incoming/rclone`, '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M']), 'rclone copy up');
    const ls = must(await rclone(['lsf', '-R', '--files-only', `strata:${REPO}/incoming/rclone`]), 'rclone lsf');
    assert.deepEqual(ls.stdout.trim().split('\n'), ['part.bin', 'x/y.txt']);
    const check = must(await rclone(['check', '--download', up, `strata:${REPO}/incoming/rclone`]), 'rclone check --download');
    assert.match(check.stderr, /2 matching files/);
    // x-amz-meta-mtime is not kept and the ETag is no MD5, so a plain second copy uploads again;
    // --update (skip what is newer on the gateway) makes a repeated copy a no-op, as the docs say.
    const again = must(await rclone(['copy', '--update', '-v', up, `strata:${REPO}/incoming/rclone`]), 'rclone copy --update');
    assert.match(again.stderr, /There was nothing to transfer/);
    const c = await commitStaged(srv, token, 'incoming', 'uploads from rclone');
    assert.deepEqual(c.changes.map((x) => x.path).sort(), ['rclone/part.bin', 'rclone/x/y.txt']);
    const byCommit = join(tmp.dir, 'rclone-by-commit.bin');
    must(await rclone(['copyto', `strata:${REPO}/${c.commit}/rclone/part.bin`, byCommit]), 'rclone copyto from a commit id');
    assert.ok((await readFile(byCommit)).equals(big));
    await ok(project, ['fetch', 'origin'], 0, { env: { STRATA_TOKEN: token } });
    assert.equal((await ok(project, ['cat', 'origin/incoming:rclone/x/y.txt'])).stdout, 'from rclone\n');
  });

  it('the documented rclone.conf works as well', async () => {
    needProgram(RCLONE, 'rclone');
    const conf = docBlock('rclone-conf').replace(/^access_key_id = .*$/m, `access_key_id = ${rw.id}`).replace(/^secret_access_key = .*$/m, `secret_access_key = ${rw.secret}`);
    await writeFile(join(home, 'rclone.conf'), conf);
    const r = must(await run(RCLONE, ['--config', join(home, 'rclone.conf'), 'lsf', `strata:${REPO}/v1/data/regions`], { env: clientEnv(rw) }), 'rclone --config lsf');
    assert.deepEqual(r.stdout.trim().split('\n'), ['eu.csv', 'us.csv']);
  });
});

describe('boto3 and pandas (Debian python3-boto3 1.26, python3-pandas 1.5): the documented examples', () => {
  it('reads a version by tag, branch and commit id; heads and ranges a chunked file', async () => {
    await needPython();
    const r = must(await py(withClient(docBlock('boto3-read'))), 'boto3-read');
    assert.ok(r.stdout.startsWith(RAW_V1), r.stdout);
    assert.match(r.stdout, /^"[0-9a-f]{64}" [0-9a-f]{12}$/m);
    assert.match(r.stdout, new RegExp(`^${BIG.length} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\+00:00$`, 'm'));
    const got = await pyJson<{ v1: string; byCommit: string; range: string }>(
      withClient(`
import json
c = s3.head_object(Bucket="sales", Key="v1/raw.csv")["Metadata"]["strata-commit"]
print(json.dumps({
  "v1": s3.get_object(Bucket="sales", Key="v1/raw.csv")["Body"].read().decode(),
  "byCommit": s3.get_object(Bucket="sales", Key=c[:12] + "/raw.csv")["Body"].read().decode(),
  "range": s3.get_object(Bucket="sales", Key="main/data/big.bin", Range="bytes=9000000-9000015")["Body"].read().hex(),
}))`),
    );
    assert.equal(got.v1, RAW_V1);
    assert.equal(got.byCommit, RAW_V1);
    assert.equal(got.range, BIG.subarray(9_000_000, 9_000_016).toString('hex'));
  });

  it('pd.read_csv of two versions through boto3', async () => {
    await needPython();
    const r = must(await py(withClient(docBlock('pandas-read'))), 'pandas-read');
    assert.match(r.stdout, /^eu\s+15$/m);
    assert.match(r.stdout, /^us\s+20$/m);
    assert.match(r.stdout, /^rows at v1: 3, at main: 4$/m);
  });

  it('lists refs and pages through a folder with the list_objects_v2 paginator', async () => {
    await needPython();
    const r = must(await py(withClient(docBlock('boto3-list'))), 'boto3-list');
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], "['incoming/', 'main/', 'results/', 'v1/']");
    assert.deepEqual(lines.slice(1), [
      `[('v1/data/big.bin', ${BIG.length}), ('v1/data/notes/a+b=c.txt', 28)]`,
      "[('v1/data/notes/read me.txt', 20), ('v1/data/regions/eu.csv', 20)]",
      "[('v1/data/regions/us.csv', 16)]",
    ]);
  });

  it('upload_file goes multipart under a small threshold, put and delete land in the branch, a presigned URL reads with urllib, one API call commits', async () => {
    await needPython();
    const cwd = join(tmp.dir, 'py-upload');
    const model = seededBytes(13 * 1024 * 1024, 44);
    await writeFiles(cwd, { 'model.bin': model });
    const up = must(await py(withClient(docBlock('boto3-upload')), rw, { cwd }), 'boto3-upload');
    assert.equal(up.stdout.trim(), String(model.length));
    const seen = await pyJson<{ model: string; hello: string; us: string; tagUs: string; uploads: number }>(
      withClient(`
import hashlib, json
def code(f):
    try:
        f(); return "found"
    except s3.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
print(json.dumps({
  "model": hashlib.sha256(s3.get_object(Bucket="sales", Key="incoming/models/model.bin")["Body"].read()).hexdigest(),
  "hello": s3.get_object(Bucket="sales", Key="incoming/notes/hello.txt")["Body"].read().decode(),
  "us": code(lambda: s3.head_object(Bucket="sales", Key="incoming/data/regions/us.csv")),
  "tagUs": code(lambda: s3.head_object(Bucket="sales", Key="v1/data/regions/us.csv")),
  "uploads": len(s3.list_multipart_uploads(Bucket="sales").get("Uploads", [])),
}))`),
    );
    assert.deepEqual(seen, { model: sha256(model), hello: 'hello\n', us: '404', tagUs: 'found', uploads: 0 });
    const pre = must(await py(withClient(docBlock('boto3-presign'))), 'boto3-presign');
    assert.equal(pre.stdout, RAW_V1);
    const c = must(await py(docBlock('boto3-commit')), 'boto3-commit');
    const m = /^([0-9a-f]{12}) (.+)$/m.exec(c.stdout);
    assert.ok(m, c.stdout);
    const changes = m[2]!;
    for (const p of ["'models/model.bin'", "'notes/hello.txt'", "'data/regions/us.csv'", "'clean/raw.csv'"]) assert.ok(changes.includes(p), `${p} in ${changes}`);
    await ok(project, ['fetch', 'origin'], 0, { env: { STRATA_TOKEN: token } });
    assert.equal((await ok(project, ['cat', 'origin/incoming:notes/hello.txt'])).stdout, 'hello\n');
    assert.equal((await ok(project, ['cat', 'origin/incoming:clean/raw.csv'])).stdout, RAW_V1);
    const ls = (await ok(project, ['ls', '-r', 'origin/incoming', 'data/regions'])).stdout;
    assert.doesNotMatch(ls, /us\.csv/);
    const log = JSON.parse((await ok(project, ['log', '--json', '-n', '1', 'origin/incoming'])).stdout) as Array<{ message: string; author: { name: string } }>;
    assert.equal(log[0]!.message, 'model and notes from boto3');
    assert.equal(log[0]!.author.name, 'Ada');
  });
});

describe('the pipeline step of the docs: read main/raw.csv, write to a branch, commit as a run', () => {
  it('summarize.py runs under /usr/bin/python3; strata pull, cat and lineage see raw.csv -> run -> output', async () => {
    await needPython();
    const cwd = join(tmp.dir, 'pipeline');
    await writeFiles(cwd, { 'summarize.py': docBlock('pipeline-step') });
    const r = must(await run(PYTHON, ['summarize.py'], { cwd, env: pyEnv(rw) }), 'python3 summarize.py');
    const m = /^committed ([0-9a-f]{12}) run (\S+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    const runId = m[2]!;
    const expected = 'region,amount\nasia,7\neu,15\nus,20\n';

    await ok(project, ['switch', 'results']);
    await ok(project, ['pull', 'origin', 'results'], 0, { env: { STRATA_TOKEN: token } });
    assert.equal((await ok(project, ['cat', 'results:summary/by_region.csv'])).stdout, expected);
    assert.equal(await readFile(join(project, 'summary', 'by_region.csv'), 'utf8'), expected);

    type LNode = { key: string; kind: 'version' | 'run'; id: string; path?: string; stage?: string; status?: string; cmd?: string };
    const lin = JSON.parse((await ok(project, ['lineage', 'summary/by_region.csv', '--upstream', '--json'])).stdout) as { graph: { nodes: LNode[]; edges: Array<{ from: string; to: string; rel: string }> } };
    const { nodes, edges } = lin.graph;
    const out = nodes.find((n) => n.kind === 'version' && n.path === 'summary/by_region.csv');
    const runNode = nodes.find((n) => n.kind === 'run');
    const raw = nodes.find((n) => n.kind === 'version' && n.path === 'raw.csv');
    assert.ok(out && runNode && raw, `output, run and raw.csv in the lineage: ${JSON.stringify(lin)}`);
    assert.equal(out.id, hashBytes(expected));
    assert.equal(raw.id, hashBytes(RAW_MAIN), 'the input is raw.csv as main held it');
    assert.deepEqual([runNode.id, runNode.stage, runNode.status, runNode.cmd], [runId, 'summarize', 'ok', 'python3 summarize.py']);
    assert.ok(edges.some((e) => e.from === raw.key && e.to === runNode.key && e.rel === 'used'), JSON.stringify(edges));
    assert.ok(edges.some((e) => e.from === runNode.key && e.to === out.key && e.rel === 'produced'), JSON.stringify(edges));
    const rawMainId = hashBytes(RAW_MAIN);
    const text = (await ok(project, ['lineage', 'summary/by_region.csv', '--upstream'])).stdout;
    assert.match(text, /summary\/by_region\.csv@[0-9a-f]{12}/);
    assert.match(text, /produced by run \S+\s+summarize\s+ok/);
    assert.match(text, new RegExp(`raw\\.csv@${rawMainId.slice(0, 12)}`));
    const down = (await ok(project, ['lineage', `main:raw.csv`, '--downstream'])).stdout;
    assert.match(down, /summary\/by_region\.csv@/);
    await ok(project, ['switch', 'main']);
  });
});

/** Python helpers for the crash and refusal scripts: deterministic bytes, hashes, S3 error codes. */
const PY_HELPERS = `
import hashlib, json, os, random, re, sys
MiB = 2 ** 20
def blob(n, seed):
    return random.Random(seed).randbytes(n)
def sha(b):
    return hashlib.sha256(b).hexdigest()
def code(f):
    try:
        f()
        return "ok"
    except Exception as e:
        r = getattr(e, "response", None)
        if r:
            return r["Error"]["Code"]
        m = re.search(r"\\((\\w+)\\)", str(e))
        return m.group(1) if m else type(e).__name__
`;

describe('a server killed with SIGKILL in the middle of an upload part', () => {
  it('keeps every acknowledged write and completed upload; the interrupted upload is listed, continues or aborts; nothing half-written appears', async () => {
    await needPython();
    const dir = join(tmp.dir, 'crash-srv');
    const tok = await tokenFor(dir, REPO);
    const key = await keyFor(dir, REPO, true);
    let s = await serve(dir);
    const proj = join(tmp.dir, 'crash-project');
    const cwd = join(tmp.dir, 'crash-client');
    await mkdir(cwd, { recursive: true });
    try {
      await pushProject(proj, s.url, tok);
      const phase1 = withClient(
        `${PY_HELPERS}
import http.client, urllib.parse
from boto3.s3.transfer import TransferConfig
for i in range(3):
    s3.put_object(Bucket="sales", Key=f"main/acked/{i}.txt", Body=f"acknowledged {i}\\n".encode())
with open("done.bin", "wb") as f:
    f.write(blob(11 * MiB, 1))
s3.upload_file("done.bin", "sales", "main/done/done.bin", Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
up = s3.create_multipart_upload(Bucket="sales", Key="main/crash/big.bin")["UploadId"]
etags = [s3.upload_part(Bucket="sales", Key="main/crash/big.bin", UploadId=up, PartNumber=n, Body=blob(5 * MiB, 10 + n))["ETag"] for n in (1, 2)]
gone = s3.create_multipart_upload(Bucket="sales", Key="main/crash/gone.bin")["UploadId"]
s3.upload_part(Bucket="sales", Key="main/crash/gone.bin", UploadId=gone, PartNumber=1, Body=blob(5 * MiB, 20))
def half(url, body):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.putrequest("PUT", u.path + "?" + u.query, skip_accept_encoding=True)
    c.putheader("Content-Length", str(len(body)))
    c.endheaders()
    c.send(body[: len(body) // 2])
    return c
p3 = half(s3.generate_presigned_url("upload_part", Params={"Bucket": "sales", "Key": "main/crash/big.bin", "UploadId": up, "PartNumber": 3}, ExpiresIn=600), blob(5 * MiB, 13))
p4 = half(s3.generate_presigned_url("put_object", Params={"Bucket": "sales", "Key": "main/crash/inflight.bin"}, ExpiresIn=600), blob(4 * MiB, 30))
print("READY " + json.dumps({"upload": up, "gone": gone, "etags": etags}), flush=True)
sys.stdin.read()
`,
        s,
      );
      const child = spawn(PYTHON, ['-c', phase1], { cwd, env: Object.fromEntries(Object.entries({ ...process.env, ...pyEnv(key) }).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
      let childErr = '';
      child.stderr.on('data', (d: Buffer) => (childErr += d.toString()));
      const childExit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      const ready = await new Promise<{ upload: string; gone: string; etags: string[] }>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /^READY (.+)$/m.exec(out);
          if (m) resolve(JSON.parse(m[1]!) as { upload: string; gone: string; etags: string[] });
        });
        void childExit.then((c) => reject(new Error(`the upload client exited ${c} before it was ready:\n${out}\n${childErr}`)));
      });
      // Half of part 3 and half of a PutObject body are on the wire; give the server time to take them in, then kill it.
      await new Promise((r) => setTimeout(r, 500));
      s.proc.kill('SIGKILL');
      assert.equal(await s.exited, null);
      assert.equal(s.proc.signalCode, 'SIGKILL');
      child.stdin.end();
      await childExit;

      s = await serve(dir);
      const seen = await pyJson<Record<string, unknown>>(
        withClient(
          `${PY_HELPERS}
st = json.loads(os.environ["CRASH_STATE"])
up, gone, etags = st["upload"], st["gone"], st["etags"]
o = {}
o["listed"] = sorted([o2["Key"], o2["Size"]] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="sales", Prefix="main/") for o2 in p.get("Contents", []) if not o2["Key"].startswith("main/data/"))
o["acked"] = [s3.get_object(Bucket="sales", Key=f"main/acked/{i}.txt")["Body"].read().decode() for i in range(3)]
o["done"] = sha(s3.get_object(Bucket="sales", Key="main/done/done.bin")["Body"].read()) == sha(blob(11 * MiB, 1))
o["inflight"] = code(lambda: s3.head_object(Bucket="sales", Key="main/crash/inflight.bin"))
o["uploads"] = sorted([u["Key"], u["UploadId"]] for u in s3.list_multipart_uploads(Bucket="sales").get("Uploads", []))
o["parts"] = [[p["PartNumber"], p["Size"], p["ETag"]] for p in s3.list_parts(Bucket="sales", Key="main/crash/big.bin", UploadId=up).get("Parts", [])]
e3 = s3.upload_part(Bucket="sales", Key="main/crash/big.bin", UploadId=up, PartNumber=3, Body=blob(5 * MiB, 13))["ETag"]
s3.complete_multipart_upload(Bucket="sales", Key="main/crash/big.bin", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2, 3), etags + [e3])]})
whole = blob(5 * MiB, 11) + blob(5 * MiB, 12) + blob(5 * MiB, 13)
o["big"] = sha(s3.get_object(Bucket="sales", Key="main/crash/big.bin")["Body"].read()) == sha(whole)
s3.abort_multipart_upload(Bucket="sales", Key="main/crash/gone.bin", UploadId=gone)
o["goneParts"] = code(lambda: s3.list_parts(Bucket="sales", Key="main/crash/gone.bin", UploadId=gone))
o["goneKey"] = code(lambda: s3.head_object(Bucket="sales", Key="main/crash/gone.bin"))
o["uploadsAfter"] = len(s3.list_multipart_uploads(Bucket="sales").get("Uploads", []))
o["sha"] = {"done": sha(blob(11 * MiB, 1)), "big": sha(whole)}
print(json.dumps(o))
`,
          s,
        ),
        key,
        { env: { CRASH_STATE: JSON.stringify(ready) } },
      );
      const sums = seen.sha as { done: string; big: string };
      delete seen.sha;
      assert.deepEqual(seen, {
        listed: [['main/acked/0.txt', 15], ['main/acked/1.txt', 15], ['main/acked/2.txt', 15], ['main/done/done.bin', 11 * 1024 * 1024], ['main/raw.csv', RAW_MAIN.length]],
        acked: ['acknowledged 0\n', 'acknowledged 1\n', 'acknowledged 2\n'],
        done: true,
        inflight: '404',
        uploads: [['main/crash/big.bin', ready.upload], ['main/crash/gone.bin', ready.gone]].sort(),
        parts: [[1, 5 * 1024 * 1024, ready.etags[0]], [2, 5 * 1024 * 1024, ready.etags[1]]],
        big: true,
        goneParts: 'NoSuchUpload',
        goneKey: '404',
        uploadsAfter: 0,
      });

      // The CLI lists what survived, against the restarted server.
      await ok(proj, ['remote', 'set-url', 'origin', `${s.url}/${REPO}`]);
      const listed = JSON.parse((await ok(proj, ['--json', 'staging', 'list', 'origin', 'main'], 0, { env: { STRATA_TOKEN: tok } })).stdout) as { changes: Array<{ path: string; op: string; size: number }> };
      assert.deepEqual(
        listed.changes.map((x) => [x.path, x.op, x.size]),
        [['acked/0.txt', 'put', 15], ['acked/1.txt', 'put', 15], ['acked/2.txt', 'put', 15], ['crash/big.bin', 'put', 15 * 1024 * 1024], ['done/done.bin', 'put', 11 * 1024 * 1024]],
      );
      const c = await commitStaged(s, tok, 'main', 'written before and after a crash');
      assert.deepEqual(c.changes.map((x) => x.path).sort(), ['acked/0.txt', 'acked/1.txt', 'acked/2.txt', 'crash/big.bin', 'done/done.bin']);
      await ok(proj, ['pull', 'origin', 'main'], 0, { env: { STRATA_TOKEN: tok } });
      assert.equal(await readFile(join(proj, 'acked', '2.txt'), 'utf8'), 'acknowledged 2\n');
      assert.equal(sha256(await readFile(join(proj, 'done', 'done.bin'))), sums.done);
      assert.equal(sha256(await readFile(join(proj, 'crash', 'big.bin'))), sums.big);
      assert.equal(existsSync(join(proj, 'crash', 'inflight.bin')), false);
      assert.equal(existsSync(join(proj, 'crash', 'gone.bin')), false);
      await ok(proj, ['fsck']);
    } finally {
      await stop(s);
    }
  });
});

describe('refusals through boto3 write nothing', () => {
  it('a wrong secret, a read-only key writing, a key of another repository, an expired or wrongly signed presigned URL', async () => {
    await needPython();
    const snapshot = `${PY_HELPERS}
import boto3
from botocore.config import Config
def cli(k, s):
    return boto3.client("s3", endpoint_url="${srv.s3}", region_name="us-east-1", aws_access_key_id=k, aws_secret_access_key=s,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
rw = cli("${rw.id}", "${rw.secret}")
other = cli("${otherKey.id}", "${otherKey.secret}")
def keys(c, bucket, prefix):
    return sorted(o["Key"] for p in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix) for o in p.get("Contents", []))
state = {"incoming": keys(rw, "sales", "incoming/"), "other": keys(other, "other", ""), "uploads": len(rw.list_multipart_uploads(Bucket="sales").get("Uploads", []))}
`;
    const before = await pyJson<unknown>(`${snapshot}\nprint(json.dumps(state))`);
    const cwd = join(tmp.dir, 'py-refusals');
    await writeFiles(cwd, { 'six.bin': seededBytes(6 * 1024 * 1024, 45) });
    const got = await pyJson<Record<string, string>>(
      `${snapshot}
import time, urllib.request, urllib.error
from boto3.s3.transfer import TransferConfig
wrong = cli("${rw.id}", "x" * 40)
ro = cli("${ro.id}", "${ro.secret}")
small = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
def fetch(url):
    try:
        urllib.request.urlopen(url).read()
        return "ok"
    except urllib.error.HTTPError as e:
        m = re.search(r"<Code>(\\w+)</Code>", e.read().decode())
        return f"{e.code} {m.group(1) if m else '?'}"
r = {}
r["wrong secret put"] = code(lambda: wrong.put_object(Bucket="sales", Key="incoming/evil.txt", Body=b"x"))
r["wrong secret get"] = code(lambda: wrong.get_object(Bucket="sales", Key="main/raw.csv"))
r["read-only get"] = code(lambda: ro.get_object(Bucket="sales", Key="main/raw.csv"))
r["read-only put"] = code(lambda: ro.put_object(Bucket="sales", Key="incoming/evil.txt", Body=b"x"))
r["read-only upload_file"] = code(lambda: ro.upload_file("six.bin", "sales", "incoming/evil.bin", Config=small))
r["read-only copy"] = code(lambda: ro.copy_object(Bucket="sales", Key="incoming/evil.csv", CopySource="sales/main/raw.csv"))
r["read-only delete"] = code(lambda: ro.delete_object(Bucket="sales", Key="incoming/raw.csv"))
r["other key get"] = code(lambda: other.get_object(Bucket="sales", Key="main/raw.csv"))
r["other key put"] = code(lambda: other.put_object(Bucket="sales", Key="incoming/evil.txt", Body=b"x"))
r["other key list"] = code(lambda: other.list_objects_v2(Bucket="sales"))
r["sales key put on other"] = code(lambda: rw.put_object(Bucket="other", Key="main/evil.txt", Body=b"x"))
r["presigned, wrong secret"] = fetch(wrong.generate_presigned_url("get_object", Params={"Bucket": "sales", "Key": "main/raw.csv"}, ExpiresIn=60))
expiring = rw.generate_presigned_url("get_object", Params={"Bucket": "sales", "Key": "main/raw.csv"}, ExpiresIn=1)
time.sleep(2.1)
r["presigned, expired"] = fetch(expiring)
r["presigned put, read-only key"] = fetch(urllib.request.Request(ro.generate_presigned_url("put_object", Params={"Bucket": "sales", "Key": "incoming/evil.txt"}, ExpiresIn=60), data=b"x", method="PUT"))
print(json.dumps(r))
`,
      rw,
      { cwd },
    );
    assert.deepEqual(got, {
      'wrong secret put': 'SignatureDoesNotMatch',
      'wrong secret get': 'SignatureDoesNotMatch',
      'read-only get': 'ok',
      'read-only put': 'AccessDenied',
      'read-only upload_file': 'AccessDenied',
      'read-only copy': 'AccessDenied',
      'read-only delete': 'AccessDenied',
      'other key get': 'AccessDenied',
      'other key put': 'AccessDenied',
      'other key list': 'AccessDenied',
      'sales key put on other': 'AccessDenied',
      'presigned, wrong secret': '403 SignatureDoesNotMatch',
      'presigned, expired': '403 AccessDenied',
      'presigned put, read-only key': '403 AccessDenied',
    });
    assert.deepEqual(await pyJson<unknown>(`${snapshot}\nprint(json.dumps(state))`), before);
  });
});
