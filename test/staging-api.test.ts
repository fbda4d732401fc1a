/**
 * The JSON API and the CLI over a branch's uncommitted gateway writes, against a real
 * `strata serve --data DIR` in a child process. Writes are staged the way the S3 gateway stages
 * them (core/gateway/staging.ts stagePut/stageDelete on the served repository, in this process,
 * while the server runs); then:
 * - GET /staging lists them with the head they lie over (a branch name with '/' in the query);
 *   `strata staging list` by remote name and by URL prints the same (--json equal to the API);
 * - commit and discard need a write token for that repository (none, read-only, other repository:
 *   refused, nothing changes); bodies are checked strictly (unknown fields, wrong types, missing
 *   message or branch, meta that a commit cannot hold, unknown branch, wrong method);
 * - `strata staging commit` makes one commit: a pull and `strata cat` see the bytes, the author is
 *   the token's label (or --author), --meta lands in meta.labels, --run-stage/--input record a run whose
 *   input and output lineage links; a second commit has nothing to commit (exit 5);
 * - `strata staging discard` drops one path or all;
 * - a REMOTE that is not a server, an unknown remote name, and commit-only flags elsewhere are
 *   refused with clear messages.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { bearer, raw } from './helpers/server.js';
import { initHash } from '../core/hash/index.js';
import { Repository } from '../core/repo/index.js';
import { gatewayTempFile, stageDelete, stagePut } from '../core/gateway/staging.js';
import { EXIT_CODES } from '../core/errors/index.js';

await initHash();

let tmp: { dir: string; cleanup(): Promise<void> };
let server: ChildProcess;
let url = '';
let data = '';
let proj = '';
const tokens = { write: '', read: '', other: '', unlabelled: '' };

async function json(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<any> {
  return JSON.parse((await ok(cwd, ['--json', ...args], 0, { env })).stdout);
}

/** Stage writes on the served repository as the S3 gateway does (another process holds it open). */
async function stage(branch: string, puts: Record<string, string>, deletes: string[] = []): Promise<void> {
  const repo = await Repository.openAt(join(data, 'proj'));
  try {
    for (const [path, content] of Object.entries(puts)) {
      const tmpFile = await gatewayTempFile(repo);
      await fsp.writeFile(tmpFile, content);
      await stagePut(repo, branch, path, tmpFile, { contentType: 'text/csv' });
    }
    if (deletes.length) await stageDelete(repo, branch, deletes);
  } finally {
    await repo.close();
  }
}

function api(method: string, path: string, token: string | null, body?: unknown) {
  const headers: Record<string, string> = token ? bearer(token) : {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return raw(url, method, `/api/repos/proj/staging${path}`, { headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
}

before(async () => {
  tmp = await tempDir('strata-staging-api-');
  data = join(tmp.dir, 'srv');
  const create = async (args: string[]) => (await ok(tmp.dir, ['serve', 'token', 'create', ...args, '--data', data])).stdout.trim();
  tokens.write = await create(['--repo', 'proj', '--write', '--label', 'etl-bot']);
  tokens.unlabelled = await create(['--repo', 'proj', '--write']);
  tokens.read = await create(['--repo', 'proj']);
  tokens.other = await create(['--repo', 'other', '--write']);
  server = spawn(process.execPath, [BIN, 'serve', '--data', data, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.on('exit', (c) => reject(new Error(`server exited ${c}: ${stderr}`)));
  });
  proj = join(tmp.dir, 'proj');
  await writeFiles(proj, { 'data/a.csv': 'a\n1\n', 'data/b.csv': 'b\n2\n' });
  await ok(proj, ['init']);
  await ok(proj, ['add', 'data']);
  await ok(proj, ['commit', '-m', 'first']);
  await ok(proj, ['branch', 'team/feature']);
  await ok(proj, ['remote', 'add', 'origin', `${url}/proj`]);
  await ok(proj, ['remote', 'add', 'dir', join(tmp.dir, 'dir-remote')]);
  await ok(proj, ['push', 'origin', '--all'], 0, { env: { STRATA_TOKEN: tokens.write } });
});

after(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await tmp?.cleanup();
});

describe('listing uncommitted writes', () => {
  it('GET /staging lists puts and deletes over the head; the CLI prints the same by remote name and by URL', async () => {
    await stage('main', { 'data/new.csv': 'n\n1\n2\n', 'data/a.csv': 'a\n9\n' }, ['data/b.csv']);
    await stage('team/feature', { 'data/f.csv': 'f\n' });
    const head = (await json(proj, ['log']))[0].id;
    const r = await api('GET', '?branch=main', null);
    assert.equal(r.status, 200, r.body.toString());
    const v = r.json();
    assert.equal(v.branch, 'main');
    assert.equal(v.head, head);
    assert.deepEqual(
      v.changes.map((c: any) => [c.path, c.op, c.size, c.contentType]),
      [
        ['data/a.csv', 'put', 4, 'text/csv'],
        ['data/b.csv', 'delete', null, null],
        ['data/new.csv', 'put', 6, 'text/csv'],
      ],
    );
    assert.deepEqual(await json(proj, ['staging', 'list', 'origin', 'main']), v, 'CLI --json equals the API');
    const f = await api('GET', `?branch=${encodeURIComponent('team/feature')}`, tokens.read);
    assert.equal(f.status, 200);
    assert.deepEqual(f.json().changes.map((c: any) => c.path), ['data/f.csv']);
    const byUrl = await ok(tmp.dir, ['staging', 'list', `${url}/proj`, 'team/feature']);
    assert.match(byUrl.stdout, /^1 uncommitted write\(s\) on team\/feature \(over [0-9a-f]{12}\):\n  put +2 B  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  data\/f\.csv\n$/);
    const text = await ok(proj, ['staging', 'list', 'origin', 'main']);
    assert.match(text.stdout, /^3 uncommitted write\(s\) on main/);
    assert.match(text.stdout, /\n  delete +\S.*data\/b\.csv\n/);
  });

  it('refuses a missing branch parameter, an unknown branch and a wrong method', async () => {
    const none = await api('GET', '', null);
    assert.equal(none.status, 400);
    assert.match(none.json().error.message, /branch parameter is required/);
    const unknown = await api('GET', '?branch=nope', null);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().error.code, 'UNKNOWN_REF');
    const cli = await strata(proj, ['staging', 'list', 'origin', 'nope']);
    assert.equal(cli.code, EXIT_CODES.UNKNOWN_REF, cli.stderr);
    assert.match(cli.stderr, /no branch "nope"/);
    const post = await api('POST', '', tokens.write, { branch: 'main' });
    assert.equal(post.status, 405);
    const get = await api('GET', '/commit', tokens.write);
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
  });
});

describe('committing and discarding', () => {
  it('needs a write token for this repository: none, read-only and another repository are refused and nothing changes', async () => {
    const before = (await api('GET', '?branch=main', null)).json();
    for (const [token, status] of [
      [null, 401],
      [tokens.read, 403],
      [tokens.other, 403],
    ] as const) {
      const c = await api('POST', '/commit', token, { branch: 'main', message: 'x' });
      assert.equal(c.status, status, c.body.toString());
      const d = await api('POST', '/discard', token, { branch: 'main' });
      assert.equal(d.status, status);
    }
    const cli = await strata(proj, ['staging', 'commit', 'origin', 'main', '-m', 'x'], { env: { STRATA_TOKEN: tokens.read } });
    assert.equal(cli.code, EXIT_CODES.REMOTE_AUTH, cli.stderr);
    assert.match(cli.stderr, /cannot write/);
    assert.deepEqual((await api('GET', '?branch=main', null)).json(), before);
  });

  it('checks bodies strictly', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['not json', /JSON/i],
      [[1, 2], /JSON object/],
      [{ branch: 'main' }, /message must be a non-empty string/],
      [{ message: 'm' }, /branch must be a non-empty string/],
      [{ branch: 'main', message: 'm', force: true }, /unknown field in the body: "force"/],
      [{ branch: 'main', message: 'm', author: { name: 'A' } }, /author\.email/],
      [{ branch: 'main', message: 'm', author: { name: 'A', email: 'a@x', extra: 1 } }, /unknown field in author/],
      [{ branch: 'main', message: 'm', meta: { ['k'.repeat(256)]: 'x' } }, /longer than 255 bytes/],
      [{ branch: 'main', message: 'm', meta: { k: 'v'.repeat(4097) } }, /longer than 4096 bytes/],
      [{ branch: 'main', message: 'm', meta: { n: 1 } }, /meta\.n must be a string/],
      [{ branch: 'main', message: 'm', run: { inputs: [] } }, /run\.stage/],
      [{ branch: 'main', message: 'm', run: { stage: 'load', inputs: 'main/data/a.csv' } }, /run\.inputs must be an array/],
      [{ branch: 'main', message: 'm', run: { stage: 'bad stage' } }, /invalid run stage name/],
    ];
    for (const [body, re] of cases) {
      const r = await api('POST', '/commit', tokens.write, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body.toString()}`);
      assert.match(r.json().error.message, re, JSON.stringify(body));
    }
    const d = await api('POST', '/discard', tokens.write, { branch: 'main', paths: 'data' });
    assert.equal(d.status, 400);
    const unknown = await api('POST', '/commit', tokens.write, { branch: 'nope', message: 'm' });
    assert.equal(unknown.status, 404);
    assert.equal((await api('GET', '?branch=main', null)).json().changes.length, 3, 'nothing committed or dropped');
  });

  it('commit makes one commit by the token label, with meta and a run; pull and cat see the bytes; lineage links the input', async () => {
    const head = (await api('GET', '?branch=main', null)).json().head;
    const r = await json(proj, ['staging', 'commit', 'origin', 'main', '-m', 'nightly load', '--meta', 'job=nightly', '--meta', 'shard=3', '--run-stage', 'load', '--run-cmd', 'python load.py', '--input', 'main/data/a.csv'], { STRATA_TOKEN: tokens.write });
    assert.equal(r.branch, 'main');
    assert.equal(r.parent, head);
    assert.match(r.commit, /^[0-9a-f]{64}$/);
    assert.deepEqual(r.changes, [
      { path: 'data/a.csv', op: 'put' },
      { path: 'data/b.csv', op: 'delete' },
      { path: 'data/new.csv', op: 'put' },
    ]);
    assert.match(r.run, /^[0-9a-f-]{36}$/);
    assert.deepEqual((await api('GET', '?branch=main', null)).json().changes, [], 'the writes were committed');

    await ok(proj, ['pull', 'origin', 'main']);
    assert.equal((await ok(proj, ['cat', 'main:data/new.csv'])).stdout, 'n\n1\n2\n');
    assert.equal(await fsp.readFile(join(proj, 'data/a.csv'), 'utf8'), 'a\n9\n');
    await assert.rejects(fsp.stat(join(proj, 'data/b.csv')));
    const c = (await json(proj, ['log']))[0];
    assert.equal(c.id, r.commit);
    assert.equal(c.message, 'nightly load');
    assert.deepEqual(c.author, { name: 'etl-bot', email: `token-${tokens.write.slice(7, 19)}@strata-server.invalid` });
    assert.deepEqual(c.meta, { labels: { job: 'nightly', shard: '3' } });

    const run = (await (await fetch(`${url}/api/repos/proj/runs/${r.run}`)).json()) as any;
    assert.equal(run.stage, 'load');
    assert.equal(run.cmd, 'python load.py');
    assert.deepEqual(run.deps.map((d: any) => d.path), ['data/a.csv']);
    assert.deepEqual(run.outs.map((o: any) => o.path).sort(), ['data/a.csv', 'data/new.csv']);

    const again = await strata(proj, ['staging', 'commit', 'origin', 'main', '-m', 'again'], { env: { STRATA_TOKEN: tokens.write } });
    assert.equal(again.code, EXIT_CODES.NOTHING_TO_COMMIT, again.stderr);
    assert.match(again.stderr, /nothing to commit on main/);
  });

  it('--author names the author; a token without a label is named by its id; plain output', async () => {
    const out = await ok(tmp.dir, ['staging', 'commit', `${url}/proj`, 'team/feature', '-m', 'feature data', '--author', 'Ada Lovelace <ada@example.com>'], 0, { env: { STRATA_TOKEN: tokens.write } });
    assert.match(out.stdout, /^Committed 1 change\(s\) on team\/feature as [0-9a-f]{12} \(1 written, 0 deleted\)\n$/);
    const log = (await (await fetch(`${url}/api/repos/proj/log?ref=team/feature&limit=1`)).json()) as any;
    assert.deepEqual(log.commits[0].author, { name: 'Ada Lovelace', email: 'ada@example.com' });
    await stage('team/feature', { 'data/g.csv': 'g\n' });
    const r = await api('POST', '/commit', tokens.unlabelled, { branch: 'team/feature', message: 'by id' });
    assert.equal(r.status, 200, r.body.toString());
    const log2 = (await (await fetch(`${url}/api/repos/proj/log?ref=team/feature&limit=1`)).json()) as any;
    const id = tokens.unlabelled.slice(7, 19);
    assert.deepEqual(log2.commits[0].author, { name: `token ${id}`, email: `token-${id}@strata-server.invalid` });
    const bad = await strata(tmp.dir, ['staging', 'commit', `${url}/proj`, 'main', '-m', 'x', '--author', 'no email']);
    assert.equal(bad.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(bad.stderr, /Name <email>/);
  });

  it('discard drops one path, then all', async () => {
    await stage('main', { 'tmp/x.csv': 'x\n', 'tmp/y.csv': 'y\n', 'data/keep.csv': 'k\n' });
    const one = await ok(proj, ['staging', 'discard', 'origin', 'main', 'tmp/x.csv'], 0, { env: { STRATA_TOKEN: tokens.write } });
    assert.equal(one.stdout, 'Discarded 1 uncommitted write(s) on main at tmp/x.csv\n');
    assert.deepEqual((await json(proj, ['staging', 'list', 'origin', 'main'])).changes.map((c: any) => c.path), ['data/keep.csv', 'tmp/y.csv']);
    const folder = await json(proj, ['staging', 'discard', 'origin', 'main', 'tmp'], { STRATA_TOKEN: tokens.write });
    assert.deepEqual(folder, { branch: 'main', discarded: 1 });
    const all = await api('POST', '/discard', tokens.write, { branch: 'main' });
    assert.equal(all.status, 200);
    assert.deepEqual(all.json(), { branch: 'main', discarded: 1 });
    assert.equal((await ok(proj, ['staging', 'list', 'origin', 'main'])).stdout.split(' (')[0], 'No uncommitted writes on main');
  });
});

describe('strata staging: arguments', () => {
  it('refuses a remote that is not a server, an unknown name, commit flags elsewhere and a run without a stage', async () => {
    const dir = await strata(proj, ['staging', 'list', 'dir', 'main']);
    assert.equal(dir.code, EXIT_CODES.REMOTE_UNSUPPORTED, dir.stderr);
    assert.match(dir.stderr, /not a Strata server/);
    const unknown = await strata(proj, ['staging', 'list', 'nope', 'main']);
    assert.equal(unknown.code, EXIT_CODES.REMOTE_UNKNOWN);
    const outside = await strata(tmp.dir, ['staging', 'list', 'origin', 'main']);
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /not a strata repository|server URL/);
    const flag = await strata(proj, ['staging', 'list', 'origin', 'main', '-m', 'x']);
    assert.equal(flag.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(flag.stderr, /--message is an option of strata staging commit/);
    const run = await strata(proj, ['staging', 'commit', 'origin', 'main', '-m', 'x', '--input', 'main/data/a.csv']);
    assert.equal(run.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(run.stderr, /--run-stage/);
    const noMsg = await strata(proj, ['staging', 'commit', 'origin', 'main']);
    assert.equal(noMsg.code, EXIT_CODES.INVALID_ARGUMENT);
    const usage = await strata(proj, ['staging', 'push', 'origin', 'main']);
    assert.equal(usage.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(usage.stderr, /usage: strata staging list/);
  });
});
