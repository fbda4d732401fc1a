/**
 * The S3 gateway's writes at core level (core/gateway/staging.ts, multipart.ts) on real
 * repositories made by the real CLI: put/list/overlay/commit/discard, delete and copy semantics,
 * folder markers, the file/folder rule, puts racing a commit, gc keeping staged objects (gc through
 * the CLI in another process, and in process between a put's upload and its row), large chunked
 * puts giving `strata add`'s ids, runs recorded for lineage, multipart rules and assembly, and a
 * process SIGKILLed in the middle of uploads losing nothing it acknowledged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, ROOT, seededBytes, tempDir, writeFiles } from './helpers/cli.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { isStrataError } from '../core/errors/index.js';
import { Repository } from '../core/repo/index.js';
import { flattenTree } from '../core/repo/tree.js';
import { HEADS } from '../core/repo/refs.js';
import { gc } from '../core/ops/gc.js';
import { collectRoots } from '../core/ops/roots.js';
import { reachable } from '../core/repo/reach.js';
import { lineage } from '../core/ops/lineage.js';
import { listRuns } from '../core/meta/runs.js';
import {
  commitStaged,
  critical,
  discardStaged,
  ensureIngested,
  gatewayTempFile,
  ingestFiles,
  listStagedChanges,
  stageCopy,
  stageDelete,
  stagePut,
  writePutRow,
} from '../core/gateway/staging.js';
import type { GatewayObject } from '../core/gateway/types.js';

await initHash();

/** A repository made with the CLI: data/a.csv, data/b.csv, data/sub/c.txt committed on main. */
async function fixture(): Promise<{ dir: string; repo: Repository; cleanup(): Promise<void> }> {
  const t = await tempDir('strata-gw-');
  await ok(t.dir, ['init']);
  await writeFiles(t.dir, { 'data/a.csv': 'a,b\n1,2\n', 'data/b.csv': 'b\n', 'data/sub/c.txt': 'c\n' });
  await ok(t.dir, ['add', 'data']);
  await ok(t.dir, ['commit', '-m', 'first']);
  const repo = await Repository.open(t.dir);
  return {
    dir: t.dir,
    repo,
    async cleanup() {
      await repo.close();
      await t.cleanup();
    },
  };
}

async function body(repo: Repository, bytes: Buffer | string): Promise<string> {
  const p = await gatewayTempFile(repo);
  await fsp.writeFile(p, bytes);
  return p;
}

async function put(repo: Repository, path: string, bytes: Buffer | string, branch = 'main'): Promise<GatewayObject> {
  return stagePut(repo, branch, path, await body(repo, bytes), { contentType: 'text/plain' });
}

async function headFlat(repo: Repository, branch = 'main') {
  const c = repo.db.getRef(HEADS + branch)!.target;
  return flattenTree(repo, (await repo.readCommit(c)).tree);
}

function s3Code(code: string) {
  return (e: unknown) => {
    assert.ok(isStrataError(e), String(e));
    assert.equal((e as { details?: { s3?: string } }).details?.s3, code, String(e));
    return true;
  };
}

describe('S3 gateway writes: staging and commits', () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  before(async () => {
    f = await fixture();
  });
  after(async () => f.cleanup());

  it('put, list, commit: the commit holds the writes, the rows are gone, the temp file is consumed', async () => {
    const { repo, dir } = f;
    const tmp = await body(repo, 'new file\n');
    const o = await stagePut(repo, 'main', 'x/new.txt', tmp, { contentType: 'text/plain' });
    assert.equal(o.staged, true);
    assert.equal(o.entry.id, hashBytes('new file\n'));
    assert.equal(o.contentType, 'text/plain');
    await assert.rejects(fsp.stat(tmp), /ENOENT/);
    await put(repo, 'data/a.csv', 'a,b\n3,4\n');
    const list = listStagedChanges(repo, 'main');
    assert.deepEqual(list.map((c) => [c.path, c.op, c.size]), [['data/a.csv', 'put', 8], ['x/new.txt', 'put', 9]]);
    const before = repo.db.getRef(HEADS + 'main')!.target;
    const r = await commitStaged(repo, 'main', { message: 'through the gateway', author: { name: 'Gate Way', email: 'gw@example.com' } });
    assert.equal(r.parent, before);
    assert.deepEqual(r.changes, [{ path: 'data/a.csv', op: 'put' }, { path: 'x/new.txt', op: 'put' }]);
    assert.equal(r.run, null);
    assert.equal(repo.db.getRef(HEADS + 'main')!.target, r.commit);
    assert.deepEqual(listStagedChanges(repo, 'main'), []);
    const c = await repo.readCommit(r.commit);
    assert.equal(c.author.name, 'Gate Way');
    assert.equal(c.message, 'through the gateway');
    assert.equal(c.code, null);
    assert.equal((await ok(dir, ['cat', 'main:x/new.txt'])).stdout, 'new file\n');
    assert.equal((await ok(dir, ['cat', 'main:data/a.csv'])).stdout, 'a,b\n3,4\n');
    assert.equal((await ok(dir, ['cat', 'main:data/b.csv'])).stdout, 'b\n');
    await assert.rejects(commitStaged(repo, 'main', { message: 'again' }), (e: unknown) => isStrataError(e, 'NOTHING_TO_COMMIT'));
  });

  it('discard drops all, or the rows at and below given paths', async () => {
    const { repo } = f;
    await put(repo, 'd/one.txt', '1');
    await put(repo, 'd/deep/two.txt', '2');
    await put(repo, 'keep.txt', 'k');
    assert.deepEqual(discardStaged(repo, 'main', ['d/']), { discarded: 2 });
    assert.deepEqual(listStagedChanges(repo, 'main').map((c) => c.path), ['keep.txt']);
    assert.deepEqual(discardStaged(repo, 'main'), { discarded: 1 });
    assert.deepEqual(listStagedChanges(repo, 'main'), []);
  });

  it('delete: a head file gets a tombstone, a staged-only put is dropped, a missing key succeeds unlisted', async () => {
    const { repo } = f;
    await put(repo, 'only-staged.txt', 's');
    const r = await stageDelete(repo, 'main', ['data/b.csv', 'only-staged.txt', 'no/such/key', 'data/sub', 'folder/']);
    assert.deepEqual(r.deleted.sort(), ['data/b.csv', 'only-staged.txt']);
    assert.deepEqual(listStagedChanges(repo, 'main').map((c) => [c.path, c.op]), [['data/b.csv', 'delete']]);
    assert.deepEqual((await stageDelete(repo, 'main', ['data/b.csv'])).deleted, [], 'deleting it again: already gone');
    const c = await commitStaged(repo, 'main', { message: 'delete b' });
    assert.deepEqual(c.changes, [{ path: 'data/b.csv', op: 'delete' }]);
    assert.equal((await headFlat(repo)).has('data/b.csv'), false);
  });

  it('copy stages the same entry without copying; a source whose objects are not here is refused', async () => {
    const { repo } = f;
    const head = await headFlat(repo);
    const a = head.get('data/a.csv')!;
    const src: GatewayObject = { path: 'data/a.csv', entry: a, mtime: 0, contentType: null, staged: false };
    const o = await stageCopy(repo, 'main', 'copies/a.csv', src, { contentType: 'text/csv' });
    assert.equal(o.entry.id, a.id);
    assert.equal(o.contentType, 'text/csv');
    const staged = await put(repo, 's.txt', 'staged source');
    const o2 = await stageCopy(repo, 'main', 'copies/s.txt', staged);
    assert.equal(o2.entry.id, staged.entry.id);
    assert.equal(o2.contentType, 'text/plain', 'the source content type is kept');
    const foreign: GatewayObject = { ...src, entry: { ...a, id: hashBytes('never stored here') } };
    await assert.rejects(stageCopy(repo, 'main', 'copies/x', foreign), s3Code('InvalidRequest'));
    const c = await commitStaged(repo, 'main', { message: 'copies' });
    assert.deepEqual(c.changes.map((x) => x.path), ['copies/a.csv', 'copies/s.txt', 's.txt']);
  });

  it('folder markers are not stored; hostile keys and unknown branches are refused', async () => {
    const { repo } = f;
    const tmp = await body(repo, '');
    const o = await stagePut(repo, 'main', 'empty/folder/', tmp, {});
    assert.equal(o.staged, false);
    await assert.rejects(fsp.stat(tmp), /ENOENT/);
    assert.deepEqual(listStagedChanges(repo, 'main'), []);
    for (const bad of ['../x', 'a//b', '.git/config', 'x/.strata/db', 'a/./b', '/abs', 'nul\0byte']) {
      await assert.rejects(put(repo, bad, 'x'), (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT'), bad);
    }
    await assert.rejects(put(repo, 'x.txt', 'x', 'no-such-branch'), (e: unknown) => isStrataError(e, 'UNKNOWN_REF'));
    assert.deepEqual(listStagedChanges(repo, 'main'), []);
    const left = await fsp.readdir(join(repo.root, '.strata', 'uploads', 'tmp'));
    assert.deepEqual(left, [], 'every temp body was consumed, refused or not');
  });

  it('a file and a folder of one name are refused, in the head and among staged writes', async () => {
    const { repo } = f;
    await assert.rejects(put(repo, 'data/a.csv/inner', 'x'), s3Code('InvalidRequest'));
    await assert.rejects(put(repo, 'data', 'x'), s3Code('InvalidRequest'));
    await assert.rejects(put(repo, 'data/sub', 'x'), s3Code('InvalidRequest'));
    await put(repo, 'n/f.txt', 'f');
    await assert.rejects(put(repo, 'n', 'x'), s3Code('InvalidRequest'));
    await put(repo, 'm', 'm');
    await assert.rejects(put(repo, 'm/x', 'x'), s3Code('InvalidRequest'));
    // Once everything under data/sub is deleted, data/sub may become a file.
    await stageDelete(repo, 'main', ['data/sub/c.txt']);
    await put(repo, 'data/sub', 'now a file');
    // And a head file deleted may become a folder.
    await stageDelete(repo, 'main', ['data/a.csv']);
    await put(repo, 'data/a.csv/inner', 'now a folder');
    const c = await commitStaged(repo, 'main', { message: 'swap' });
    const flat = await headFlat(repo);
    assert.ok(flat.has('data/sub') && flat.has('data/a.csv/inner') && !flat.has('data/a.csv') && !flat.has('data/sub/c.txt'), JSON.stringify(c.changes));
  });

  it('writes that land while a commit runs stay staged for the next commit', async () => {
    const { repo } = f;
    await put(repo, 'race/first.txt', 'v1');
    const commit = commitStaged(repo, 'main', { message: 'racing' });
    const writes = Array.from({ length: 16 }, (_, i) => put(repo, i === 0 ? 'race/first.txt' : `race/w${i}.txt`, `w${i}`));
    const [c] = await Promise.all([commit, ...writes]);
    const flat = await headFlat(repo);
    const staged = new Map(listStagedChanges(repo, 'main').map((s) => [s.path, s]));
    for (let i = 0; i < 16; i++) {
      const p = i === 0 ? 'race/first.txt' : `race/w${i}.txt`;
      const want = hashBytes(`w${i}`);
      assert.ok(staged.get(p)?.id === want || flat.get(p)?.id === want, `${p} is committed or still staged`);
    }
    assert.equal(staged.get('race/first.txt')?.id, hashBytes('w0'), 'the rewrite of a committed path is staged');
    assert.ok(c.changes.some((x) => x.path === 'race/first.txt'));
    const c2 = await commitStaged(repo, 'main', { message: 'the rest' });
    assert.ok(c2.changes.some((x) => x.path === 'race/first.txt'));
    assert.deepEqual(listStagedChanges(repo, 'main'), []);
  });
});
