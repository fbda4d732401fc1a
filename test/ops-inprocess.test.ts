/**
 * Operations called in-process on an open Repository (the signature the CLI and the server share):
 * a real repository in a temp folder with a real SQLite file, no CLI in between. Each operation's
 * returned value is asserted, and the results are cross-checked against the CLI's `--json` for
 * the same repository (the CLI is a thin shell over the same operations).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, tempDir, writeFiles } from './helpers/cli.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { Repository } from '../core/repo/index.js';
import { init } from '../core/ops/init.js';
import { add } from '../core/ops/add.js';
import { commit } from '../core/ops/commit.js';
import { status } from '../core/ops/status.js';
import { log } from '../core/ops/log.js';
import { diff } from '../core/ops/diff.js';
import { createBranch, listBranches } from '../core/ops/branch.js';
import { checkout } from '../core/ops/checkout.js';
import { createTag, listTags } from '../core/ops/tag.js';
import { ls } from '../core/ops/ls.js';
import { cat } from '../core/ops/cat.js';
import { run } from '../core/ops/run.js';
import { runs } from '../core/ops/runs.js';
import { lineage } from '../core/ops/lineage.js';
import { treeListing } from '../core/ops/browse.js';
import { MemoryStore } from '../core/store/memory/index.js';

await initHash();

let root = '';
let cleanup: () => Promise<void> = async () => {};
let repo: Repository;

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

async function cliJson<T>(args: string[]): Promise<T> {
  return JSON.parse((await ok(root, ['--json', ...args])).stdout) as T;
}

describe('operations on an open repository (in-process)', () => {
  before(async () => {
    ({ dir: root, cleanup } = await tempDir('strata-ops-'));
    const r = await init({ dir: root });
    assert.equal(r.root, root);
    assert.equal(r.branch, 'main');
    await writeFiles(root, { 'data/a.csv': 'x,y\n1,2\n', 'data/b.csv': 'b\n' });
    repo = await Repository.openAt(root);
  });
  after(async () => {
    await repo?.close();
    await cleanup();
  });

  it('add, status and commit return what they did', async () => {
    const st0 = await status(repo);
    assert.equal(st0.commit, null);
    const a = await add(repo, { paths: ['data'] });
    assert.deepEqual([a.added, a.modified, a.deleted, a.files], [2, 0, 0, 2]);
    assert.deepEqual(a.trackedRoots, ['data']);
    const st = await status(repo);
    assert.deepEqual(st.staged.map((c) => [c.path, c.kind]), [['data/a.csv', 'added'], ['data/b.csv', 'added']]);
    const c = await commit(repo, { message: 'first' });
    assert.match(c.id, /^[0-9a-f]{64}$/);
    assert.equal(c.branch, 'main');
    assert.equal((await status(repo)).clean, true);
    // Repository-relative paths: the op does not depend on the process's folder.
    assert.notEqual(process.cwd(), root);
  });

  it('log, tag, branch, ls and cat read back the commit', async () => {
    const [e] = await log(repo);
    assert.equal(e!.message, 'first');
    assert.deepEqual(e!.refs.sort(), ['main']);
    const t = await createTag(repo, { name: 'v1', message: 'one' });
    assert.equal(t.commit, e!.id);
    assert.deepEqual((await listTags(repo)).map((x) => [x.name, x.commit, x.message]), [['v1', e!.id, 'one']]);
    const b = await createBranch(repo, 'exp');
    assert.equal(b.commit, e!.id);
    assert.deepEqual((await listBranches(repo)).map((x) => [x.name, x.current]), [['exp', false], ['main', true]]);
    const l = await ls(repo, { ref: 'v1', path: 'data' });
    assert.equal(l.commit, e!.id);
    assert.deepEqual(l.entries.map((x) => [x.path, x.size]), [['data/a.csv', 8], ['data/b.csv', 2]]);
    const body = await cat(repo, 'v1:data/a.csv');
    assert.equal(body.id, hashBytes(Buffer.from('x,y\n1,2\n')));
    assert.equal((await readAll(body.stream)).toString(), 'x,y\n1,2\n');
  });

  it('a second commit: diff between commits, log by path, checkout back', async () => {
    await writeFiles(root, { 'data/a.csv': 'x,y\n1,2\n3,4\n' });
    const d0 = await diff(repo);
    assert.deepEqual(d0.changes.map((c) => [c.path, c.kind]), [['data/a.csv', 'modified']]);
    await add(repo, { paths: ['data/a.csv'] });
    const c2 = await commit(repo, { message: 'second' });
    const d = await diff(repo, { refs: ['v1', 'HEAD'] });
    assert.deepEqual(d.changes.map((c) => [c.path, c.kind]), [['data/a.csv', 'modified']]);
    assert.equal(d.summary.modified, 1);
    assert.deepEqual((await log(repo, { paths: ['data/b.csv'] })).map((x) => x.message), ['first']);
    assert.deepEqual((await log(repo, { limit: 1 })).map((x) => x.id), [c2.id]);
    const co = await checkout(repo, { target: 'exp' });
    assert.equal(co.branch, 'exp');
    assert.equal(co.written, 1);
    assert.equal(await fsp.readFile(join(root, 'data/a.csv'), 'utf8'), 'x,y\n1,2\n');
    await checkout(repo, { target: 'main' });
    assert.equal(await fsp.readFile(join(root, 'data/a.csv'), 'utf8'), 'x,y\n1,2\n3,4\n');
  });

  it('run records a run that runs and lineage return', async () => {
    const r = await run(repo, {
      name: 'count',
      cmd: `node -e "require('fs').writeFileSync('out.txt', String(require('fs').readFileSync('data/a.csv','utf8').split('\\n').length))"`,
      deps: ['data/a.csv'],
      outs: ['out.txt'],
      hooks: { onOutput: () => undefined },
    });
    assert.equal(r.run.status, 'ok');
    const list = await runs(repo, { stage: 'count' });
    assert.deepEqual(list.map((x) => x.id), [r.run.id]);
    assert.deepEqual(list[0]!.outs.map((o) => o.path), ['out.txt']);
    const g = await lineage(repo, { target: 'out.txt' });
    assert.equal(g.target.kind, 'version');
    const runNodes = g.graph.nodes.filter((n) => n.kind === 'run');
    assert.equal(runNodes.length, 1);
  });

  it('the CLI --json gives the same log, diff, ls and runs for the same repository', async () => {
    // The CLI is another process reading the same SQLite file while this one has it open.
    const cliLog = await cliJson<unknown[]>(['log']);
    const cliDiff = await cliJson<unknown>(['diff', 'v1', 'HEAD']);
    const cliLs = await cliJson<unknown>(['ls', '-r', 'HEAD']);
    const cliRuns = await cliJson<Array<{ id: string }>>(['runs']);
    assert.equal(cliLog.length, 2);
    assert.deepEqual(cliLog, JSON.parse(JSON.stringify(await log(repo))));
    assert.deepEqual(cliDiff, JSON.parse(JSON.stringify(await diff(repo, { refs: ['v1', 'HEAD'] }))));
    assert.deepEqual(cliLs, JSON.parse(JSON.stringify(await ls(repo, { ref: 'HEAD', recursive: true }))));
    assert.deepEqual(cliRuns.map((x) => x.id), (await runs(repo)).map((x) => x.id));
  });

  it('one store handle: with an injected store (a server with --store), ops read that store and no other', async () => {
    // A copy of the repository's metadata with an empty .strata/objects, and every object in a
    // memory store: whatever reads bytes must read them from the injected store.
    const { dir: other, cleanup: rmOther } = await tempDir('strata-ops-store-');
    try {
      const mem = new MemoryStore();
      for await (const o of repo.store.list()) await mem.put(o.id, await repo.store.getBytes(o.id));
      await fsp.mkdir(join(other, '.strata', 'objects', 'pack'), { recursive: true });
      await fsp.mkdir(join(other, '.strata', 'objects', 'tmp'), { recursive: true });
      await repo.close();
      await fsp.copyFile(join(root, '.strata', 'strata.db'), join(other, '.strata', 'strata.db'));
      repo = await Repository.openAt(root);
      const bare = await Repository.openAt(other, { objects: mem });
      try {
        assert.equal(bare.store, mem);
        const body = await cat(bare, 'v1:data/a.csv');
        assert.equal((await readAll(body.stream)).toString(), 'x,y\n1,2\n');
        const t = await treeListing(bare, { ref: 'v1', path: 'data' });
        assert.equal(t.type, 'dir');
        assert.deepEqual((await log(bare)).map((e) => e.message), ['second', 'first']);
        // Local-only capabilities are refused with a typed error, not used on the wrong store.
        assert.throws(() => bare.localStore('gc'), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /gc needs a local object store/.test(e.message));
      } finally {
        await bare.close();
      }
    } finally {
      await rmOther();
    }
  });
});
