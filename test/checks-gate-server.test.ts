/**
 * The server's check gate on protected branches (checks.protect), against a real `strata serve
 * --data DIR` in a child process, the real client CLI and tables written by DuckDB:
 * - a push of a commit made with --no-verify whose table fails an error-level not_null check to a
 *   protected branch (by name, and by a glob) is refused with CHECK_FAILED (exit 18) naming the
 *   check, the path, the failing row count and a sample; the remote ref is unchanged; the verdict is
 *   recorded in the server's check_results;
 * - the same commit pushed to an unprotected branch lands;
 * - POST /merge of that branch into the protected one is refused likewise (422, nothing moved);
 * - after fixing the data, the push lands (and the passing verdict is recorded);
 * - a warn-level failure does not refuse: the push lands and the warning is reported;
 * - the S3 gateway's staging commit onto the protected branch is refused (its writes are kept)
 *   and, once the data is fixed, accepted;
 * - checks.protect is a repository setting with validated patterns.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { bearer, postMerge, raw, spawnServe } from './helpers/server.js';
import { duckWrite } from './helpers/tables.js';
import { initHash } from '../core/hash/index.js';
import { Repository } from '../core/repo/index.js';
import { gatewayTempFile, stagePut } from '../core/gateway/staging.js';
import { GATE_RECORD } from '../core/checks/gate.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { matchBranch, parseBranchPatterns } from '../core/config/branch-patterns.js';

await initHash();

let tmp: { dir: string; cleanup(): Promise<void> };
let server: ChildProcess;
let url = '';
let data = '';
let proj = '';
let token = '';
const env = () => ({ env: { STRATA_TOKEN: token } });

const CHECKS = `tables:
  data/t.csv:
    - {kind: not_null, columns: [name]}
  data/w.csv:
    - {kind: unique, columns: [id], severity: warn}
`;

/** Rows of data/t.csv: `nulls` of them without a name. */
async function writeT(nulls: number): Promise<void> {
  await duckWrite(`SELECT i AS id, CASE WHEN i <= ${nulls} THEN NULL ELSE 'n' || i END AS name FROM range(1, 11) r(i)`, join(proj, 'data', 't.csv'), 'csv');
}

async function remoteRef(branch: string): Promise<string | null> {
  const r = await raw(url, 'GET', `/api/repos/proj/refs/heads/${branch}`);
  if (r.status === 404) return null;
  assert.equal(r.status, 200, r.body.toString());
  return r.json().value as string;
}

/** The client's HEAD commit. */
async function head(): Promise<string> {
  const repo = await Repository.openAt(proj);
  try {
    return repo.head().commit!;
  } finally {
    await repo.close();
  }
}

/** The gate's recorded verdict for `commit` on `branch`, read from the server's metadata. */
async function verdict(commit: string, branch: string): Promise<{ ok: boolean; warnings: string[]; results: Array<{ name: string; status: string; failing: number }> } | null> {
  const repo = await Repository.openAt(join(data, 'proj'));
  try {
    const rec = repo.db.getCheckResults(commit, GATE_RECORD, 'refs/heads/' + branch);
    return rec === null ? null : JSON.parse(rec);
  } finally {
    await repo.close();
  }
}

/** Stage a write on the served repository as the S3 gateway does (the server holds it open too). */
async function stage(branch: string, path: string, content: Buffer): Promise<void> {
  const repo = await Repository.openAt(join(data, 'proj'));
  try {
    const tmpFile = await gatewayTempFile(repo);
    await fsp.writeFile(tmpFile, content);
    await stagePut(repo, branch, path, tmpFile, { contentType: 'text/csv' });
  } finally {
    await repo.close();
  }
}

before(async () => {
  tmp = await tempDir('strata-checks-gate-');
  data = join(tmp.dir, 'srv');
  token = (await ok(tmp.dir, ['serve', 'token', 'create', '--repo', 'proj', '--write', '--data', data])).stdout.trim();
  ({ child: server, url } = await spawnServe(data));
  proj = join(tmp.dir, 'proj');
  await writeFiles(proj, { 'strata.checks.yaml': CHECKS, 'data/w.csv': 'id\n1\n2\n3\n' });
  await ok(proj, ['init']);
  await writeT(0);
  await ok(proj, ['add', 'data', 'strata.checks.yaml']);
  await ok(proj, ['commit', '-m', 'good data']);
  await ok(proj, ['remote', 'add', 'origin', `${url}/proj`]);
  await ok(proj, ['push', 'origin', 'main'], 0, env());
  // The operator protects main and the release branches on the server's repository.
  await ok(join(data, 'proj'), ['config', 'set', 'checks.protect', 'main, release/*']);
});

after(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await tmp?.cleanup();
});

describe('the push gate', () => {
  let bad = '';
  let good = '';

  it('refuses a push to a protected branch whose commit fails an error-level check, naming check, path, rows and a sample', async () => {
    good = (await remoteRef('main'))!;
    await writeT(2);
    const local = await strata(proj, ['commit', '-a', '-m', 'two names missing']);
    assert.equal(local.code, EXIT_CODES.CHECK_FAILED, 'the local commit refuses too');
    await ok(proj, ['commit', '-a', '--no-verify', '-m', 'two names missing']);
    bad = await head();
    const r = await strata(proj, ['push', 'origin', 'main'], env());
    assert.equal(r.code, EXIT_CODES.CHECK_FAILED, r.stdout + r.stderr);
    assert.match(r.stderr, /push to main refused: branch main is protected \(checks\.protect: main\)/);
    assert.match(r.stderr, /data\/t\.csv: not_null\(name\) failed on 2 row\(s\); e\.g\. \{"id":1,"name":null\}/);
    assert.equal(await remoteRef('main'), good, 'the remote ref did not move');
    const v = await verdict(bad, 'main');
    assert.equal(v?.ok, false);
    assert.deepEqual(v?.results.filter((x) => x.status === 'fail').map((x) => [x.name, x.failing]), [['not_null(name)', 2]]);
  });

  it('the JSON error of the ref update carries the code and the failing checks', async () => {
    const etag = (await raw(url, 'GET', '/api/repos/proj/refs/heads/main')).json().etag as string;
    const r = await raw(url, 'PUT', '/api/repos/proj/refs/heads/main', {
      headers: { ...bearer(token), 'Content-Type': 'application/json', 'If-Match': etag },
      body: JSON.stringify({ value: bad }),
    });
    assert.equal(r.status, 422, r.body.toString());
    const e = r.json().error;
    assert.equal(e.code, 'CHECK_FAILED');
    assert.deepEqual(e.details.failed.map((f: { path: string; check: string; failing: number }) => [f.path, f.check, f.failing]), [['data/t.csv', 'not_null(name)', 2]]);
    assert.equal(e.details.branch, 'main');
    assert.equal(await remoteRef('main'), good);
  });

  it('a glob protects too; the same commit pushed to an unprotected branch lands', async () => {
    const rel = await strata(proj, ['push', 'origin', 'main:release/1.0'], env());
    assert.equal(rel.code, EXIT_CODES.CHECK_FAILED, rel.stdout + rel.stderr);
    assert.match(rel.stderr, /checks\.protect: release\/\*/);
    assert.equal(await remoteRef('release/1.0'), null);
    await ok(proj, ['push', 'origin', 'main:feature'], 0, env());
    assert.equal(await remoteRef('feature'), bad);
  });

  it('POST /merge of the failing branch into the protected one is refused, nothing moved', async () => {
    const r = await postMerge(url, 'proj', token, { into: 'main', from: 'feature' });
    assert.equal(r.status, 422, r.body.toString());
    const e = r.json().error;
    assert.equal(e.code, 'CHECK_FAILED');
    assert.match(e.message, /merge of feature into main refused: .*\n {2}data\/t\.csv: not_null\(name\) failed on 2 row\(s\)/);
    assert.equal(await remoteRef('main'), good);
    // Into an unprotected branch the same merge goes through.
    await ok(proj, ['push', 'origin', `${good}:side`], 0, env());
    const side = await postMerge(url, 'proj', token, { into: 'side', from: 'feature' });
    assert.equal(side.status, 200, side.body.toString());
    assert.equal(await remoteRef('side'), bad);
  });

  it('POST /merge that makes a merge commit (not a fast-forward) is judged on that commit', async () => {
    // release/2: the good data plus a file of its own, so merging feature in is a three-way merge.
    await ok(proj, ['branch', 'rel', good]);
    await ok(proj, ['switch', 'rel']);
    await writeFiles(proj, { 'data/notes.txt': 'release notes\n' });
    await ok(proj, ['add', 'data/notes.txt']);
    await ok(proj, ['commit', '-m', 'release notes']);
    await ok(proj, ['push', 'origin', 'rel:release/2'], 0, env());
    await ok(proj, ['switch', 'main']);
    const rel = (await remoteRef('release/2'))!;
    const r = await postMerge(url, 'proj', token, { into: 'release/2', from: 'feature' });
    assert.equal(r.status, 422, r.body.toString());
    const e = r.json().error;
    assert.equal(e.code, 'CHECK_FAILED');
    assert.match(e.message, /checks\.protect: release\/\*/);
    assert.notEqual(e.details.commit, bad, 'the merge commit was judged, not feature');
    assert.equal(await remoteRef('release/2'), rel);
  });

  it('after fixing the data the push lands, and the pass is recorded', async () => {
    await writeT(0);
    await ok(proj, ['commit', '-a', '-m', 'names back']);
    const fixed = await head();
    await ok(proj, ['push', 'origin', 'main'], 0, env());
    assert.equal(await remoteRef('main'), fixed);
    const v = await verdict(fixed, 'main');
    assert.equal(v?.ok, true);
    assert.ok(v!.results.every((x) => x.status === 'pass'));
  });

  it('a warn-level failure does not refuse: the push lands and the warning is reported', async () => {
    await fsp.writeFile(join(proj, 'data', 'w.csv'), 'id\n1\n1\n3\n');
    await ok(proj, ['commit', '-a', '-m', 'duplicate id (warn only)']);
    const warned = await head();
    const r = await ok(proj, ['push', 'origin', 'main'], 0, env());
    assert.equal(await remoteRef('main'), warned);
    assert.match(r.stderr, /warning: .*data\/w\.csv: unique\(id\) warned on 2 row\(s\)/);
    const v = await verdict(warned, 'main');
    assert.equal(v?.ok, true);
    assert.equal(v?.warnings.length, 1);
  });
});

describe('the S3 gateway commit gate', () => {
  it('refuses a staging commit onto a protected branch whose table fails, keeps the writes, and accepts the fix', async () => {
    const before = (await remoteRef('main'))!;
    await stage('main', 'data/t.csv', Buffer.from('id,name\n1,\n2,b\n'));
    const r = await strata(proj, ['staging', 'commit', 'origin', 'main', '-m', 'gateway load'], env());
    assert.equal(r.code, EXIT_CODES.CHECK_FAILED, r.stdout + r.stderr);
    assert.match(r.stderr, /gateway commit to main refused: .*\n {2}data\/t\.csv: not_null\(name\) failed on 1 row\(s\)/);
    assert.equal(await remoteRef('main'), before);
    const api = await raw(url, 'POST', '/api/repos/proj/staging/commit', {
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ branch: 'main', message: 'gateway load' }),
    });
    assert.equal(api.status, 422, api.body.toString());
    assert.equal(api.json().error.code, 'CHECK_FAILED');
    const list = await raw(url, 'GET', '/api/repos/proj/staging?branch=main', { headers: bearer(token) });
    assert.deepEqual(list.json().changes.map((c: { path: string }) => c.path), ['data/t.csv'], 'the uncommitted write is kept');
    await stage('main', 'data/t.csv', Buffer.from('id,name\n1,a\n2,b\n'));
    const done = JSON.parse((await ok(proj, ['--json', 'staging', 'commit', 'origin', 'main', '-m', 'gateway load, fixed'], 0, env())).stdout) as { commit: string };
    assert.equal(await remoteRef('main'), done.commit);
    assert.equal((await verdict(done.commit, 'main'))?.ok, true);
  });
});

describe('checks.protect', () => {
  it('globs: * stays within one name component, ** crosses /, ? is one character, the rest is literal', () => {
    const r = parseBranchPatterns('main,  release/* ,hotfix/**  v?.x');
    assert.ok(r.ok);
    const p = r.patterns;
    assert.deepEqual(p, ['main', 'release/*', 'hotfix/**', 'v?.x']);
    assert.equal(matchBranch(p, 'main'), 'main');
    assert.equal(matchBranch(p, 'mainline'), null);
    assert.equal(matchBranch(p, 'release/1.0'), 'release/*');
    assert.equal(matchBranch(p, 'release/1.0/rc'), null);
    assert.equal(matchBranch(p, 'hotfix/a/b'), 'hotfix/**');
    assert.equal(matchBranch(p, 'v1.x'), 'v?.x');
    assert.equal(matchBranch(p, 'v1yx'), null, 'a dot is a dot');
    assert.equal(matchBranch(p, 'v12.x'), null);
    assert.equal(parseBranchPatterns(' , ').ok, false);
    assert.equal(parseBranchPatterns('release//x').ok, false);
  });

  it('is a repository setting with validated patterns', async () => {
    const r = await strata(proj, ['config', 'set', 'checks.protect', 'main, bad name!']);
    assert.equal(r.code, EXIT_CODES.CONFIG_INVALID, r.stdout + r.stderr);
    assert.match(r.stderr, /not a branch name or glob/);
    const user = await strata(proj, ['config', 'set', '--user', 'checks.protect', 'main'], { env: { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') } });
    assert.equal(user.code, EXIT_CODES.CONFIG_INVALID, user.stdout + user.stderr);
    assert.match(user.stderr, /setting of one repository/);
  });
});
