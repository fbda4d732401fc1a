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

describe('POST /merge', () => {
  it('fast-forwards a branch that is behind', async () => {
    const ff = await refCommit('ff');
    const before = await refCommit('ffbase');
    const r = await post({ into: 'ffbase', from: 'ff', expect: before });
    assert.equal(r.status, 200, r.body.toString());
    const o = r.json() as MergeOutcome;
    assert.equal(o.status, 'fast-forward');
    assert.equal(o.commit, ff);
    assert.equal(o.ours, before);
    assert.equal(await refCommit('ffbase'), ff);
    // Merging again: nothing to do.
    const again = (await post({ into: 'ffbase', from: 'ff' })).json() as MergeOutcome;
    assert.equal(again.status, 'up-to-date');
    assert.equal(again.commit, null);
  });

  it('a dry run of a clean merge says what would happen and moves nothing', async () => {
    const left = await refCommit('left');
    const r = await post({ into: 'left', from: 'right', dryRun: true });
    assert.equal(r.status, 200, r.body.toString());
    const o = r.json() as MergeOutcome;
    assert.equal(o.dryRun, true);
    assert.equal(o.status, 'merged');
    assert.deepEqual(o.conflicts, []);
    assert.equal(await refCommit('left'), left);
  });

  it('merges diverged branches into a merge commit whose tree is the expected one', async () => {
    const left = await refCommit('left');
    const right = await refCommit('right');
    const r = await post({ into: 'left', from: 'right', expect: left, message: 'merge right into left' });
    assert.equal(r.status, 200, r.body.toString());
    const o = r.json() as MergeOutcome;
    assert.equal(o.status, 'merged');
    assert.equal(o.base, await refCommit('main'));
    assert.ok(o.commit);
    assert.equal(await refCommit('left'), o.commit);
    const c = await get(`/commits/${o.commit}`);
    assert.deepEqual(c.parents, [left, right]);
    assert.equal(c.message, 'merge right into left');
    assert.equal(await treeOf(o.commit!), await treeOf(await refCommit('expected')));
    // The merged file's bytes are served.
    const f = await raw(srv.url, 'GET', api('/file?ref=left&path=c.txt'));
    assert.equal(f.body.toString(), 'see\n');
  });

  it('conflicts: 409 with the conflicted paths, and the ref does not move', async () => {
    const cl = await refCommit('cl');
    const r = await post({ into: 'cl', from: 'cr', expect: cl });
    assert.equal(r.status, 409, r.body.toString());
    const o = r.json() as MergeOutcome & { error: { code: string } };
    assert.equal(o.error.code, 'MERGE_CONFLICT');
    assert.equal(o.status, 'conflicts');
    assert.equal(o.commit, null);
    const byPath = Object.fromEntries(o.conflicts.map((c) => [c.path, c]));
    assert.deepEqual(Object.keys(byPath).sort(), ['a.txt', 'b.txt']);
    assert.equal(byPath['b.txt']!.kind, 'content');
    assert.equal(byPath['b.txt']!.ours!.size, 'bravo from the left\n'.length);
    assert.equal(byPath['b.txt']!.theirs!.size, 'bravo from the right side\n'.length);
    assert.equal(byPath['b.txt']!.base!.size, 'bravo\n'.length);
    assert.equal(byPath['a.txt']!.kind, 'modify/delete');
    assert.equal(byPath['a.txt']!.theirs, null);
    assert.equal(await refCommit('cl'), cl);
    // Compare says the same before anyone tries.
    const cmp = (await get('/compare?base=cl&head=cr')) as CompareResult;
    assert.equal(cmp.merge?.status, 'conflicts');
    assert.equal(cmp.merge?.conflicts.length, 2);
    // A strategy decides them: theirs takes cr's side.
    const t = await post({ into: 'cl', from: 'cr', strategy: 'theirs', expect: cl });
    assert.equal(t.status, 200, t.body.toString());
    assert.equal((t.json() as MergeOutcome).status, 'merged');
    assert.equal((await raw(srv.url, 'GET', api('/file?ref=cl&path=b.txt'))).body.toString(), 'bravo from the right side\n');
  });

  it('a stale expect is 412 REF_CONFLICT and moves nothing', async () => {
    const main = await refCommit('main');
    const r = await post({ into: 'expected', from: 'ff', expect: main });
    assert.equal(r.status, 412, r.body.toString());
    assert.equal(r.json().error.code, 'REF_CONFLICT');
    const right = await refCommit('right');
    const s = await post({ into: 'right', from: 'ff', expect: main });
    assert.equal(s.status, 412, s.body.toString());
    assert.equal(await refCommit('right'), right);
  });

  it('bad requests are 400', async () => {
    for (const body of [{}, { into: 'main' }, { into: 'main', from: 3 }, { into: 'main', from: 'ff', strategy: 'mine' }, { into: 'main', from: 'ff', dryRun: 'yes' }, { into: 'main', from: 'ff', color: 'red' }]) {
      const r = await post(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body.toString()}`);
      assert.equal(r.json().error.code, 'INVALID_ARGUMENT');
    }
    assert.equal((await post({ into: 'nope', from: 'ff' })).status, 404);
    assert.equal((await raw(srv.url, 'GET', api('/merge'))).status, 405);
  });

  it('needs a write token: anonymous 401, a read token 403; a read-only server refuses', async () => {
    const right = await refCommit('right');
    const anon = await post({ into: 'right', from: 'left' }, {});
    assert.equal(anon.status, 401);
    assert.equal(anon.json().error.code, 'UNAUTHORIZED');
    const ro = await post({ into: 'right', from: 'left' }, bearer(read));
    assert.equal(ro.status, 403);
    assert.equal(ro.json().error.code, 'FORBIDDEN');
    assert.equal(await refCommit('right'), right);
    // `strata serve` in a working project serves it read-only.
    const proj = await startServer({ project: join(tmp.dir, 'client'), port: 0, log: () => {}, webDir: null });
    try {
      const r = await post({ into: 'right', from: 'left' }, {}, proj, 'client');
      assert.equal(r.status, 403, r.body.toString());
      assert.match(r.json().error.message, /read-only/);
    } finally {
      await proj.close();
    }
  });
});
