/**
 * GET /compare and POST /merge on a real server (data-dir mode, token auth): the histories are built
 * with the real CLI and pushed (test/helpers/merge-fixture.ts). Compare lists the merge base,
 * ahead/behind and the changes; merge fast-forwards, merges cleanly (the tree equals the one built
 * by hand), answers 409 with the conflict list and moves nothing, 412 on a stale `expect`, and is
 * refused without a token, with a read token and on a read-only (project) server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { bearer, raw, type RawResponse } from './helpers/server.js';
import { mergeFixture } from './helpers/merge-fixture.js';
import { startServer, type RunningServer } from '../server/app.js';
import type { CompareResult, MergeOutcome } from '../core/ops/types.js';

let srv: RunningServer;
let tmp: { dir: string; cleanup(): Promise<void> };
let write: string;
let read: string;
const api = (p: string) => `/api/repos/proj${p}`;

const get = async (p: string, status = 200): Promise<any> => {
  const r = await raw(srv.url, 'GET', api(p));
  assert.equal(r.status, status, `${p}: ${r.body.toString('utf8')}`);
  return r.json();
};
const post = (body: unknown, headers: Record<string, string> = bearer(write), server = srv, repo = 'proj'): Promise<RawResponse> =>
  raw(server.url, 'POST', `/api/repos/${repo}/merge`, { headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
const refCommit = async (b: string): Promise<string> => (await get(`/refs/heads/${b}`)).value as string;
const treeOf = async (commit: string): Promise<string> => (await get(`/commits/${commit}`)).tree as string;

before(async () => {
  tmp = await tempDir('strata-srv-merge-');
  srv = await startServer({ dataDir: join(tmp.dir, 'srv'), port: 0, log: () => {}, webDir: null });
  write = srv.tokens.create('proj', ['write']).token;
  read = srv.tokens.create('proj', ['read']).token;
  await mergeFixture(join(tmp.dir, 'client'), `${srv.url}/proj`, write);
});

after(async () => {
  await srv?.close();
  await tmp?.cleanup();
});

describe('GET /compare', () => {
  it('lists the merge base, the commits on each side and the changes head brings in', async () => {
    const c = (await get('/compare?base=left&head=right')) as CompareResult;
    const main = await refCommit('main');
    assert.equal(c.base, 'left');
    assert.equal(c.head, 'right');
    assert.equal(c.baseCommit, await refCommit('left'));
    assert.equal(c.headCommit, await refCommit('right'));
    assert.equal(c.mergeBase, main);
    assert.equal(c.ahead, 1);
    assert.equal(c.behind, 1);
    assert.deepEqual(c.aheadCommits.map((x) => x.message), ['right: add c.txt and more data']);
    assert.deepEqual(c.behindCommits.map((x) => x.message), ['left: edit a.txt']);
    // The diff runs from the merge base: left's edit of a.txt is not part of it.
    assert.deepEqual(c.diff.changes.map((x) => [x.path, x.kind, x.newSize]), [['c.txt', 'added', 4], ['data/more.bin', 'added', 50_000]]);
    assert.equal(c.diff.fromCommit, main);
    assert.equal(c.diff.summary.added, 2);
  });

  it('an ancestor is 0 behind; unknown refs and a missing head are clear errors', async () => {
    const c = (await get('/compare?base=ffbase&head=ff')) as CompareResult;
    assert.equal(c.ahead, 1);
    assert.equal(c.behind, 0);
    assert.equal(c.mergeBase, c.baseCommit);
    const limited = (await get('/compare?base=ff&head=ffbase&limit=1')) as CompareResult;
    assert.equal(limited.ahead, 0);
    assert.equal(limited.behind, 1);
    assert.equal((await get('/compare?base=main&head=nope', 404)).error.code, 'UNKNOWN_REF');
    assert.equal((await get('/compare?base=main', 400)).error.code, 'INVALID_ARGUMENT');
  });
});
