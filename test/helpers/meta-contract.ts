/**
 * The MetaStore contract (core/meta/interface.ts): one suite that every metadata store
 * implementation must pass (SQLite today: test/meta-sqlite.test.ts; PostgreSQL later).
 *
 *   runMetaContract('sqlite', async () => { ...; return { store, reopen, second, cleanup }; });
 *
 * Each test gets a fresh, empty store from `make`. `reopen` closes the store and opens the same
 * data again (durability: what a committed transaction wrote is there, what a rolled-back one wrote
 * is not); `second` opens another handle on the same data while the first stays open (a second
 * process: compare-and-swap between them). Every call is awaited, so an implementation whose
 * methods return promises runs the same suite unchanged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../../core/errors/index.js';
import { hashBytes } from '../../core/hash/index.js';
import type { IndexRow, MetaStore, StatRow } from '../../core/meta/interface.js';
import { findRun, getRun, insertRun, lastSuccessfulRun, listRuns, markRunsFetched, runFetchedFrom, serializeRun, successfulRunsBySignature, type RunRecord } from '../../core/meta/runs.js';
import { downstreamOf, lineageGraph, upstreamOf } from '../../core/lineage/graph.js';

export interface MetaFixture {
  store: MetaStore;
  /** Close `store` and open the same data again. */
  reopen(): Promise<MetaStore>;
  /** Another handle on the same data, `store` staying open. */
  second(): Promise<MetaStore>;
  cleanup(): Promise<void>;
}

const id = (s: string): string => hashBytes(Buffer.from(s));

/** `fn` fails (throws, or returns a rejected promise) with REF_CONFLICT naming these values. */
async function refConflict(fn: () => unknown, expected: string | null, actual: string | null): Promise<void> {
  await assert.rejects(async () => {
    await fn();
  }, (e: unknown) => {
    assert.ok(isStrataError(e, 'REF_CONFLICT'), `expected REF_CONFLICT, got ${String(e)}`);
    const d = (e as { details?: { expected: unknown; actual: unknown } }).details;
    assert.equal(d?.expected, expected);
    assert.equal(d?.actual, actual);
    return true;
  });
}

let runSeq = 0;
/** A valid run record (parseRun accepts it), `status` ok unless given. */
export function makeRun(over: Partial<RunRecord> & { stage: string }): RunRecord {
  runSeq++;
  const n = String(runSeq).padStart(12, '0');
  return {
    id: `0190aaaa-bbbb-7ccc-8ddd-${n}`,
    status: 'ok',
    cmd: `echo ${over.stage}`,
    wdir: '.',
    env: {},
    params: {},
    paramRefs: [],
    deps: [],
    outs: [],
    code: null,
    environment: { node: 'v20', platform: 'linux', arch: 'x64', hostname: 'h', strata: '0.1.0' },
    started: 1_700_000_000_000 + runSeq * 1000,
    ended: 1_700_000_000_500 + runSeq * 1000,
    exitCode: 0,
    signal: null,
    log: null,
    signature: `sig-${over.stage}`,
    cachedFrom: null,
    error: null,
    origin: 'pipeline',
    ...over,
  };
}

/** Insert `r` (its object id is the hash of its canonical bytes) in one transaction; returns the object id. */
async function addRun(db: MetaStore, r: RunRecord): Promise<string> {
  const bytes = serializeRun(r);
  const oid = hashBytes(bytes);
  await db.tx(() => insertRun(db, r, oid, bytes.toString('utf8')));
  return oid;
}

export function runMetaContract(name: string, make: () => Promise<MetaFixture>): void {
  describe(`MetaStore contract: ${name}`, () => {
    const withStore = (title: string, fn: (f: MetaFixture) => Promise<void>) =>
      it(title, async () => {
        const f = await make();
        try {
          await fn(f);
        } finally {
          await f.cleanup();
        }
      });

    withStore('refs move by compare-and-swap: create, update from the old value, conflict, delete', async ({ store: db }) => {
      const r = 'refs/heads/main';
      const [c1, c2, c3] = [id('c1'), id('c2'), id('c3')];
      await db.tx(() => db.casRef(r, null, c1));
      assert.equal((await db.getRef(r))?.target, c1);
      assert.equal(typeof (await db.getRef(r))?.updatedAt, 'number');
      await refConflict(() => db.tx(() => db.casRef(r, null, c2)), null, c1); // must not exist, but does
      await refConflict(() => db.tx(() => db.casRef(r, c3, c2)), c3, c1); // stale old value
      await db.tx(() => db.casRef(r, c1, c2));
      assert.equal((await db.getRef(r))?.target, c2);
      await refConflict(() => db.tx(() => db.casRef(r, c1, null)), c1, c2); // delete from a stale value
      await db.tx(() => db.casRef(r, c2, null));
      assert.equal(await db.getRef(r), null);
      await refConflict(() => db.tx(() => db.casRef(r, c2, c3)), c2, null); // move a ref that is gone
      await db.tx(() => db.casRef(r, null, null)); // nothing to nothing
      assert.equal(await db.getRef(r), null);
      // A symbolic HEAD is a ref like any other.
      await db.tx(() => db.casRef('HEAD', null, 'ref: refs/heads/main'));
      assert.equal((await db.getRef('HEAD'))?.target, 'ref: refs/heads/main');
    });

    withStore('listRefs returns exactly the refs under a prefix, by name', async ({ store: db }) => {
      const names = ['refs/heads/b', 'refs/heads/a', 'refs/heads/a/x', 'refs/headsX', 'refs/tags/v1', 'refs/remotes/origin/main', 'HEAD'];
      await db.tx(() => {
        for (const n of names) db.casRef(n, null, id(n));
      });
      assert.deepEqual((await db.listRefs('refs/heads/')).map((r) => r.name), ['refs/heads/a', 'refs/heads/a/x', 'refs/heads/b']);
      assert.deepEqual((await db.listRefs('refs/remotes/origin/')).map((r) => [r.name, r.target]), [['refs/remotes/origin/main', id('refs/remotes/origin/main')]]);
      assert.deepEqual((await db.listRefs('refs/')).length, 6);
      assert.deepEqual(await db.listRefs('refs/nothing/'), []);
    });

    withStore('a second handle loses the compare-and-swap from the same starting point', async (f) => {
      const a = f.store;
      const b = await f.second();
      try {
        await a.tx(() => a.casRef('refs/heads/main', null, id('1')));
        const seen = (await b.getRef('refs/heads/main'))!.target;
        await a.tx(() => a.casRef('refs/heads/main', seen, id('2')));
        await refConflict(() => b.tx(() => b.casRef('refs/heads/main', seen, id('3'))), id('1'), id('2'));
        assert.equal((await b.getRef('refs/heads/main'))?.target, id('2'));
      } finally {
        await b.close();
      }
    });

    withStore('commits: insert, get (bytes checked against the id), has, prefixes, count, delete', async ({ store: db }) => {
      const raws = ['one', 'two', 'three'].map((s) => Buffer.from(`commit ${s}`));
      const ids = raws.map((b) => hashBytes(b));
      await db.tx(() => {
        raws.forEach((raw, i) =>
          db.putCommit({ id: ids[i]!, tree: id('t'), parents: i ? [ids[i - 1]!] : [], authorName: 'Ada', authorEmail: 'ada@example.org', time: 1000 + i, message: `m${i}`, codeCommit: null, codeDirty: false }, raw),
        );
      });
      for (let i = 0; i < 3; i++) {
        assert.ok(await db.hasCommit(ids[i]!));
        assert.deepEqual(Buffer.from((await db.getCommitRaw(ids[i]!))!), raws[i]);
      }
      assert.equal(await db.hasCommit(id('absent')), false);
      assert.equal(await db.getCommitRaw(id('absent')), null);
      assert.equal(await db.commitCount(), 3);
      assert.deepEqual([...(await db.allCommitIds())].sort(), [...ids].sort());
      assert.deepEqual(await db.commitIdsByPrefix(ids[0]!.slice(0, 10)), [ids[0]]);
      assert.equal((await db.commitIdsByPrefix('', 2)).length, 2);
      // A second put of the same id changes nothing.
      await db.tx(() => db.putCommit({ id: ids[0]!, tree: id('other'), parents: [], authorName: 'X', authorEmail: 'x@x', time: 0, message: 'x', codeCommit: null, codeDirty: false }, raws[0]!));
      assert.equal(await db.commitCount(), 3);
      const rows = [...(await db.iterCommitCache())];
      assert.equal(rows.find((r) => r.id === ids[0])?.tree, id('t'));
      // A row whose bytes do not hash to its id is never returned as the commit.
      const fake = id('fake commit');
      await db.tx(() => db.putCommit({ id: fake, tree: id('t'), parents: [], authorName: 'A', authorEmail: 'a@a', time: 1, message: 'm', codeCommit: null, codeDirty: false }, Buffer.from('not those bytes')));
      assert.equal(await db.getCommitRaw(fake), null);
      assert.ok(db.cacheMisses.some((m) => m.kind === 'commit' && m.id === fake));
      await db.tx(() => db.deleteCommits([ids[1]!, id('never there')]));
      assert.equal(await db.hasCommit(ids[1]!), false);
      assert.ok(await db.hasCommit(ids[2]!));
    });

    withStore('tree cache: put and get with the hash check, iterate, delete', async ({ store: db }) => {
      const raw = Buffer.from('tree bytes');
      const tid = hashBytes(raw);
      await db.tx(() => db.putTree(tid, raw));
      assert.deepEqual(Buffer.from((await db.getTreeRaw(tid))!), raw);
      assert.equal(await db.getTreeRaw(id('no tree')), null);
      const bad = id('claimed tree');
      await db.tx(() => db.putTree(bad, Buffer.from('other bytes')));
      assert.equal(await db.getTreeRaw(bad), null, 'a tree row whose bytes do not hash to its id is a miss');
      assert.ok(db.cacheMisses.some((m) => m.kind === 'tree' && m.id === bad));
      const all = [...(await db.iterTreeCache())].map((r) => r.id);
      assert.ok(all.includes(tid));
      await db.tx(() => db.deleteTree(tid));
      assert.equal(await db.getTreeRaw(tid), null);
    });

    withStore('staging index: exact round trip; the known tree is cleared by any change', async (f) => {
      let db = f.store;
      const rows: IndexRow[] = [
        { path: 'data/a.csv', type: 'file', exec: false, size: 10, id: id('a'), chunks: null, target: null },
        { path: 'data/big.bin', type: 'file', exec: true, size: 1 << 30, id: id('big'), chunks: id('manifest'), target: null },
        { path: 'link', type: 'symlink', exec: false, size: 6, id: id('lnk'), chunks: null, target: 'data/a.csv' },
      ];
      await db.tx(() => db.replaceIndex(rows, id('tree')));
      assert.equal(await db.indexTree(), id('tree'));
      db = await f.reopen();
      const back = await db.loadIndex();
      assert.deepEqual([...back.keys()].sort(), rows.map((r) => r.path).sort());
      for (const r of rows) assert.deepEqual(back.get(r.path), r);
      assert.equal(await db.indexCount(), 3);
      await db.tx(() => db.upsertIndex([{ ...rows[0]!, size: 11, id: id('a2') }]));
      assert.equal((await db.loadIndex()).get('data/a.csv')?.id, id('a2'));
      assert.equal(await db.indexTree(), null, 'a change clears the known tree');
      await db.tx(() => db.setIndexTree(id('t2')));
      await db.tx(() => db.deleteIndex(['link', 'not/there']));
      assert.equal(await db.indexTree(), null);
      assert.deepEqual([...(await db.loadIndex()).keys()].sort(), ['data/a.csv', 'data/big.bin']);
      await db.tx(() => db.setIndexTree(id('t3')));
      await db.tx(() => db.deleteIndex(['not/there']));
      assert.equal(await db.indexTree(), id('t3'), 'deleting nothing keeps the known tree');
    });

    withStore('stat cache: round trip with fractional times; delete; clear', async (f) => {
      let db = f.store;
      const rows: StatRow[] = [
        { path: 'a', size: 1, mtime: 1700000000123.456, ctime: 1700000000124.5, ino: 42, id: id('a'), chunks: null, recorded: 1700000001000.25 },
        { path: 'b/c', size: 2, mtime: 1, ctime: 2, ino: 2 ** 40, id: id('c'), chunks: id('m'), recorded: 3 },
      ];
      await db.tx(() => db.upsertStat(rows));
      db = await f.reopen();
      const back = await db.loadStatCache();
      for (const r of rows) assert.deepEqual(back.get(r.path), r);
      // Point lookups give the same rows, and leave out paths without one.
      const some = await db.getStats(['b/c', 'absent', 'a']);
      assert.deepEqual([...some.keys()].sort(), ['a', 'b/c']);
      for (const r of rows) assert.deepEqual(some.get(r.path), r);
      await db.tx(() => db.upsertStat([{ ...rows[0]!, size: 5 }]));
      assert.equal((await db.loadStatCache()).get('a')?.size, 5);
      await db.tx(() => db.deleteStat(['a']));
      assert.deepEqual([...(await db.loadStatCache()).keys()], ['b/c']);
      assert.equal(await db.tx(() => db.clearStatCache()), 1);
      assert.equal((await db.loadStatCache()).size, 0);
    });

    withStore('tracked roots: replaced as a set, listed sorted', async ({ store: db }) => {
      await db.tx(() => db.setTrackedRoots(['models', 'data', 'data']));
      assert.deepEqual(await db.trackedRoots(), ['data', 'models']);
      await db.tx(() => db.setTrackedRoots(['x']));
      assert.deepEqual(await db.trackedRoots(), ['x']);
      await db.tx(() => db.setTrackedRoots([]));
      assert.deepEqual(await db.trackedRoots(), []);
    });

    withStore('config: get, set, overwrite, unset, list sorted; local meta: set, add-if-absent', async (f) => {
      let db = f.store;
      assert.equal(await db.getConfig('user.name'), null);
      await db.tx(() => {
        db.setConfig('user.name', 'Ada');
        db.setConfig('core.sparse', '["data"]');
        db.setConfig('remote.origin.url', 's3://b/p');
      });
      await db.tx(() => db.setConfig('user.name', 'Grace'));
      db = await f.reopen();
      assert.equal(await db.getConfig('user.name'), 'Grace');
      assert.deepEqual(await db.listConfig(), [
        { key: 'core.sparse', value: '["data"]' },
        { key: 'remote.origin.url', value: 's3://b/p' },
        { key: 'user.name', value: 'Grace' },
      ]);
      await db.tx(() => db.setConfig('core.sparse', null));
      assert.equal(await db.getConfig('core.sparse'), null);
      assert.equal((await db.listConfig()).length, 2);

      assert.equal(await db.getLocalMeta('k'), null);
      await db.tx(() => db.setLocalMeta('k', 'v1'));
      await db.tx(() => db.setLocalMeta('k', 'v2'));
      assert.equal(await db.getLocalMeta('k'), 'v2');
      await db.tx(() => db.addLocalMeta('first', 'a'));
      await db.tx(() => db.addLocalMeta('first', 'b'));
      assert.equal(await db.getLocalMeta('first'), 'a', 'add keeps the first value');
      assert.equal(await db.getConfig('k'), null, 'local meta is not config');
    });

    withStore('runs: insert, find by id and prefix, list by stage / status / signature / since, newest first', async ({ store: db }) => {
      const a1 = makeRun({ stage: 'prepare' });
      const b1 = makeRun({ stage: 'train', signature: 'S' });
      const a2 = makeRun({ stage: 'prepare', status: 'failed', exitCode: 1 });
      const b2 = makeRun({ stage: 'train', signature: 'S', status: 'cached', exitCode: null, cachedFrom: b1.id });
      const oids: string[] = [];
      for (const r of [a1, b1, a2, b2]) oids.push(await addRun(db, r));
      assert.equal(await db.runCount(), 4);
      assert.ok(await db.hasRun(a1.id));
      assert.equal(await db.hasRun('0190aaaa-0000-7000-8000-000000000000'), false);
      const row = (await db.getRunRow(b1.id))!;
      assert.equal(row.object, oids[1]);
      assert.equal(row.status, 'ok');
      assert.equal(row.record, serializeRun(b1).toString('utf8'));
      assert.deepEqual(findRun(db, a2.id), a2);
      assert.deepEqual(getRun(db, b2.id.slice(0, 8) + b2.id.slice(9).replace(/-/g, '')), b2, 'a unique prefix, dashes optional');
      assert.throws(() => getRun(db, '0190aaaa'), (e: unknown) => isStrataError(e, 'AMBIGUOUS_REF'));
      assert.throws(() => getRun(db, 'ffff0000'), (e: unknown) => isStrataError(e, 'RUN_NOT_FOUND'));
      assert.deepEqual((await db.runRowsByIdPrefix('0190aaaa', 10)).map((r) => r.id), [a1.id, b1.id, a2.id, b2.id]);
      assert.deepEqual((await db.allRunRows()).map((r) => r.id), [a1.id, b1.id, a2.id, b2.id]);
      assert.deepEqual(listRuns(db).map((r) => r.id), [b2.id, a2.id, b1.id, a1.id]);
      assert.deepEqual(listRuns(db, { stage: 'prepare' }).map((r) => r.id), [a2.id, a1.id]);
      assert.deepEqual(listRuns(db, { status: 'failed' }).map((r) => r.id), [a2.id]);
      assert.deepEqual(listRuns(db, { signature: 'S' }).map((r) => r.id), [b2.id, b1.id]);
      assert.deepEqual(listRuns(db, { since: b1.started }).map((r) => r.id), [b2.id, a2.id, b1.id]);
      assert.deepEqual(listRuns(db, { limit: 1 }).map((r) => r.id), [b2.id]);
      assert.equal(lastSuccessfulRun(db, 'prepare')?.id, a1.id, 'a failed run is not a success');
      assert.deepEqual(successfulRunsBySignature(db, 'S').map((r) => r.id), [b2.id, b1.id]);
      assert.deepEqual(await db.listRunRecords({ statuses: ['ok', 'cached'], stage: 'train', limit: 5 }), [serializeRun(b2).toString('utf8'), serializeRun(b1).toString('utf8')]);
      // Where a run came from (local meta).
      await db.tx(() => markRunsFetched(db, [a1.id], 'origin'));
      await db.tx(() => markRunsFetched(db, [a1.id], 'other'));
      assert.equal(runFetchedFrom(db, a1.id), 'origin');
      assert.equal(runFetchedFrom(db, b1.id), null);
    });

    withStore('lineage: nodes and edges of inserted runs; recursive upstream and downstream walks with a depth limit', async ({ store: db }) => {
      // raw --prepare--> clean --train--> model ; failed run used clean, produced nothing
      const raw = { path: 'data/raw.csv', id: id('raw') };
      const clean = { path: 'data/clean', id: id('clean') };
      const model = { path: 'models/m.bin', id: id('model') };
      const prep = makeRun({ stage: 'prepare', deps: [{ ...raw, kind: 'file', chunks: id('raw-manifest') }], outs: [{ ...clean, type: 'dataset', kind: 'dir', size: 300, cache: true }] });
      const train = makeRun({ stage: 'train', deps: [{ ...clean, kind: 'dir' }], outs: [{ ...model, type: 'model', kind: 'file', size: 77, cache: true }, { path: 'metrics.json', id: id('metrics'), type: 'metrics', kind: 'file', size: 5, cache: true }] });
      const broken = makeRun({ stage: 'evaluate', status: 'failed', exitCode: 2, deps: [{ ...model, kind: 'file' }], outs: [{ path: 'eval.json', id: '', type: 'metrics', kind: 'file', size: 0, cache: true }] });
      for (const r of [prep, train, broken]) await addRun(db, r);

      const [rawNode] = await db.versionNodeIds(raw.path, raw.id);
      const [modelNode] = await db.versionNodeIds(model.path);
      assert.ok(rawNode !== undefined && modelNode !== undefined);
      assert.equal(await db.lineageNodeKind(rawNode), 'version');
      const trainNode = (await db.runNodeId(train.id))!;
      assert.equal(await db.lineageNodeKind(trainNode), 'run');
      assert.equal(await db.runNodeId('0190aaaa-0000-7000-8000-000000000000'), null);
      assert.equal(await db.lineageNodeKind(987654), null);
      assert.deepEqual(await db.latestVersionNode(clean.path), { ref: clean.id, obj: 'dir' });
      assert.equal(await db.latestVersionNode('nope'), null);
      assert.deepEqual(await db.versionPaths({ obj: 'dir' }), ['data/clean']);
      assert.deepEqual(await db.versionPaths({ type: 'metrics' }), ['metrics.json'], 'the failed run produced no version');
      assert.deepEqual(await db.versionPaths({ type: 'model' }), ['models/m.bin']);
      assert.deepEqual((await db.producersOfVersion(model.path, model.id)).map((r) => r.id), [train.id]);
      assert.deepEqual(await db.producersOfVersion(raw.path, raw.id), []);

      // Upstream from the model: model <- train (1 edge) <- clean (2) <- prepare (3) <- raw (4).
      const up = await db.lineageWalk([{ id: modelNode, offset: 0 }], 'up', 100);
      const prepNode = (await db.runNodeId(prep.id))!;
      const [cleanNode] = await db.versionNodeIds(clean.path, clean.id);
      assert.deepEqual(new Map([...up].sort((a, b) => a[1] - b[1])), new Map([[modelNode, 0], [trainNode, 1], [cleanNode!, 2], [prepNode, 3], [rawNode, 4]]));
      const up2 = await db.lineageWalk([{ id: modelNode, offset: 0 }], 'up', 2);
      assert.deepEqual([...up2.keys()].sort(), [modelNode, trainNode, cleanNode!].sort(), 'the walk stops at the edge limit');
      assert.ok(await db.lineageHasMore([cleanNode!], 'up'));
      assert.equal(await db.lineageHasMore([rawNode], 'up'), false);
      // Downstream from raw reaches the failed run (it used the model) but no output of it.
      const down = await db.lineageWalk([{ id: rawNode, offset: 0 }], 'down', 100);
      const brokenNode = (await db.runNodeId(broken.id))!;
      assert.equal(down.get(brokenNode), 5);
      assert.equal(down.size, 7, 'raw, prepare, clean, train, model, metrics, evaluate');
      const edges = await db.lineageEdgesAmong([...up.keys()]);
      assert.deepEqual(
        edges.map((e) => `${e.src}>${e.dst}:${e.rel}`).sort(),
        [`${rawNode}>${prepNode}:used`, `${prepNode}>${cleanNode}:produced`, `${cleanNode}>${trainNode}:used`, `${trainNode}>${modelNode}:produced`].sort(),
      );
      const nodes = await db.lineageNodes([trainNode, modelNode]);
      const tn = nodes.find((n) => n.id === trainNode)!;
      assert.equal(tn.kind, 'run');
      assert.equal(tn.ref, train.id);
      assert.equal(tn.record, serializeRun(train).toString('utf8'));
      assert.deepEqual(
        nodes.find((n) => n.id === modelNode),
        { id: modelNode, kind: 'version', ref: model.id, path: model.path, type: 'model', obj: 'file', record: null },
      );

      // Sizes recorded by producers, and the chunk manifest recorded by a user.
      assert.deepEqual((await db.producedSizes([model, raw, { path: 'x', id: id('x') }])).sort((a, b) => (a.path < b.path ? -1 : 1)), [
        { id: raw.id, path: raw.path, size: null },
        { id: model.id, path: model.path, size: 77 },
      ]);
      assert.equal(await db.usedChunkManifest(raw.path, raw.id), id('raw-manifest'));
      assert.equal(await db.usedChunkManifest(model.path, model.id), null);

      // Search.
      assert.deepEqual((await db.searchRunNodesById('0190aaaa-bbbb', 10)).map((r) => r.ref), [broken.id, train.id, prep.id], 'newest first');
      assert.deepEqual((await db.searchRunNodesById(train.id, 10)).map((r) => r.ref), [train.id]);
      assert.deepEqual(await db.searchRunNodesById('ffff', 10), []);
      const st = await db.searchRunNodesByStage('TRAIN', 10);
      assert.deepEqual(st.map((r) => [r.ref, r.rank, r.started]), [[train.id, 1, train.started]]);
      assert.deepEqual((await db.searchRunNodesByStage('a', 10)).map((r) => r.type).sort(), ['prepare', 'train', 'evaluate'].sort());
      assert.deepEqual((await db.searchRunNodesByStage('%', 10)), [], 'LIKE wildcards are literal');
      const ps = await db.searchVersionNodesByPath('m.bin', 10);
      assert.deepEqual(ps.map((r) => [r.path, r.rank]), [['models/m.bin', 2]]);
      assert.deepEqual((await db.searchVersionNodesByPath('data/clean', 10)).map((r) => [r.path, r.rank]), [['data/clean', 1]]);

      // The graph queries over the interface.
      const g = upstreamOf(db, model.path, model.id);
      assert.deepEqual(g.nodes.map((n) => n.key).length, 5);
      assert.equal(g.truncated, false);
      const g1 = upstreamOf(db, model.path, model.id, { depth: 1 });
      assert.deepEqual(g1.nodes.map((n) => (n.kind === 'run' ? n.stage : n.path)).sort(), ['data/clean', 'models/m.bin', 'train']);
      assert.equal(g1.truncated, true);
      const d = downstreamOf(db, raw.path, raw.id);
      assert.ok(d.nodes.some((n) => n.kind === 'run' && n.stage === 'evaluate' && n.status === 'failed'));
      assert.deepEqual(lineageGraph(db, [{ run: '0190aaaa-0000-7000-8000-000000000000' }]).nodes, []);

      // upsertVersionNode: same (path, id) is one node; a given type overrides.
      const again = await db.tx(() => db.upsertVersionNode(model.path, model.id, 'file'));
      assert.equal(again, modelNode);
      assert.equal((await db.lineageNodes([modelNode]))[0]?.type, 'model', 'no type given keeps the stored one');
      await db.tx(() => db.upsertVersionNode(model.path, model.id, 'file', 'dataset'));
      assert.equal((await db.lineageNodes([modelNode]))[0]?.type, 'dataset');
    });

    withStore('a transaction that throws leaves nothing behind; one that returns commits and returns its value', async (f) => {
      let db = f.store;
      await db.tx(() => db.casRef('refs/heads/main', null, id('c1')));
      const r = makeRun({ stage: 's' });
      const bytes = serializeRun(r);
      await assert.rejects(
        async () =>
          db.tx(() => {
            db.casRef('refs/heads/main', id('c1'), id('c2'));
            db.setConfig('user.name', 'Ada');
            db.upsertIndex([{ path: 'a', type: 'file', exec: false, size: 1, id: id('a'), chunks: null, target: null }]);
            db.setTrackedRoots(['a']);
            insertRun(db, r, hashBytes(bytes), bytes.toString('utf8'));
            throw new Error('boom');
          }),
        /boom/,
      );
      // A conflict in the middle of a transaction undoes what came before it.
      await refConflict(
        () =>
          db.tx(() => {
            db.setConfig('user.email', 'a@b');
            db.casRef('refs/heads/other', id('x'), id('y'));
          }),
        id('x'),
        null,
      );
      db = await f.reopen();
      assert.equal((await db.getRef('refs/heads/main'))?.target, id('c1'));
      assert.equal(await db.getConfig('user.name'), null);
      assert.equal(await db.getConfig('user.email'), null);
      assert.equal(await db.indexCount(), 0);
      assert.deepEqual(await db.trackedRoots(), []);
      assert.equal(await db.runCount(), 0);
      assert.equal(await db.runNodeId(r.id), null);
      assert.deepEqual(await db.versionPaths({}), []);
      assert.equal(await db.tx(() => 42), 42);
      const n = await db.tx(() => {
        db.casRef('refs/heads/main', id('c1'), id('c2'));
        return 'moved';
      });
      assert.equal(n, 'moved');
      db = await f.reopen();
      assert.equal((await db.getRef('refs/heads/main'))?.target, id('c2'));
    });

    withStore('S3 gateway staged rows: put/replace by branch+path with increasing seqs, listing by prefix and page, stamps, branches', async (f) => {
      let db = f.store;
      const entry = (p: string, over: Partial<IndexRow> = {}): IndexRow => ({ path: p, type: 'file', exec: false, size: 3, id: id(p), chunks: null, target: null, ...over });
      const seqs = await db.putStaged([
        { branch: 'main', path: 'b/x.csv', op: 'put', entry: entry('b/x.csv'), contentType: 'text/csv', time: 1 },
        { branch: 'main', path: 'a.txt', op: 'delete', entry: null, contentType: null, time: 2 },
        { branch: 'dev', path: 'big.bin', op: 'put', entry: entry('big.bin', { size: 1 << 30, chunks: id('manifest'), exec: true }), contentType: null, time: 3 },
      ]);
      assert.equal(seqs.length, 3);
      assert.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!, `seqs increase: ${seqs}`);
      assert.equal(await db.stagedStamp('main'), `2:${seqs[1]}`);
      assert.equal(await db.stagedStamp('none'), '0:0');
      assert.deepEqual(await db.stagedBranches(), ['dev', 'main']);
      const big = await db.getStaged('dev', 'big.bin');
      assert.deepEqual(big, { branch: 'dev', path: 'big.bin', op: 'put', entry: entry('big.bin', { size: 1 << 30, chunks: id('manifest'), exec: true }), contentType: null, time: 3, seq: seqs[2] });
      assert.deepEqual(await db.getStaged('main', 'a.txt'), { branch: 'main', path: 'a.txt', op: 'delete', entry: null, contentType: null, time: 2, seq: seqs[1] });
      assert.equal(await db.getStaged('main', 'nope'), null);
      // Replacing a path gives it a new seq; the old seq no longer deletes it.
      const [again] = await db.putStaged([{ branch: 'main', path: 'b/x.csv', op: 'put', entry: entry('b/x.csv', { id: id('v2') }), contentType: 'text/csv', time: 4 }]);
      assert.ok(again! > seqs[2]!);
      assert.equal(await db.deleteStaged('main', [{ path: 'b/x.csv', seq: seqs[0]! }]), 0, 'a stale seq deletes nothing');
      assert.equal((await db.getStaged('main', 'b/x.csv'))?.entry?.id, id('v2'));
      await db.putStaged(['b/y', 'b/z', 'c', 'b0'].map((p) => ({ branch: 'main', path: p, op: 'put' as const, entry: entry(p), contentType: null, time: 5 })));
      assert.deepEqual((await db.listStaged('main')).map((r) => r.path), ['a.txt', 'b/x.csv', 'b/y', 'b/z', 'b0', 'c']);
      assert.deepEqual((await db.listStaged('main', { prefix: 'b/' })).map((r) => r.path), ['b/x.csv', 'b/y', 'b/z']);
      assert.deepEqual((await db.listStaged('main', { prefix: 'b/', after: 'b/x.csv', limit: 1 })).map((r) => r.path), ['b/y']);
      assert.deepEqual((await db.listStaged('main', { after: 'b/z' })).map((r) => r.path), ['b0', 'c']);
      await assert.rejects(async () => db.putStaged([{ branch: 'main', path: 'q', op: 'put', entry: null, contentType: null, time: 1 }]), (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT'));
      // Durable, and deletes by (path, seq) or all of a branch.
      db = await f.reopen();
      const rows = await db.listStaged('main');
      assert.equal(rows.length, 6);
      assert.equal(await db.deleteStaged('main', rows.slice(0, 2).map((r) => ({ path: r.path, seq: r.seq }))), 2);
      assert.deepEqual((await db.listStaged('main')).map((r) => r.path), ['b/y', 'b/z', 'b0', 'c']);
      assert.equal(await db.deleteStaged('main', 'all'), 4);
      assert.deepEqual(await db.stagedBranches(), ['dev']);
      assert.equal((await db.listStaged('dev')).length, 1, 'other branches are untouched');
      // Seqs keep increasing across deletes and reopening (a commit removes only what it read).
      const [later] = await db.putStaged([{ branch: 'main', path: 'n', op: 'delete', entry: null, contentType: null, time: 6 }]);
      assert.ok(later! > again!);
    });

    withStore('S3 gateway uploads and parts: create, get, list by branch, parts replaced by number, delete forgets parts', async (f) => {
      let db = f.store;
      const u1 = { id: 'a'.repeat(32), branch: 'main', path: 'z/obj.bin', created: 10, contentType: 'application/x-thing' };
      const u2 = { id: 'b'.repeat(32), branch: 'main', path: 'a/obj.bin', created: 20, contentType: null };
      const u3 = { id: 'c'.repeat(32), branch: 'dev', path: 'a/obj.bin', created: 5, contentType: null };
      await db.tx(() => {
        db.createUpload(u1);
        db.createUpload(u2);
        db.createUpload(u3);
      });
      assert.deepEqual(await db.getUpload(u1.id), u1);
      assert.equal(await db.getUpload('d'.repeat(32)), null);
      assert.deepEqual((await db.listUploads()).map((u) => u.id), [u3.id, u2.id, u1.id], 'by path, then creation time');
      assert.deepEqual((await db.listUploads('main')).map((u) => u.id), [u2.id, u1.id]);
      await db.putPart({ upload: u1.id, part: 2, size: 5, etag: '2'.repeat(32), time: 1 });
      await db.putPart({ upload: u1.id, part: 1, size: 7, etag: '1'.repeat(32), time: 2 });
      await db.putPart({ upload: u1.id, part: 2, size: 9, etag: 'f'.repeat(32), time: 3 });
      await db.putPart({ upload: u2.id, part: 1, size: 1, etag: 'e'.repeat(32), time: 4 });
      db = await f.reopen();
      assert.deepEqual(await db.listParts(u1.id), [
        { upload: u1.id, part: 1, size: 7, etag: '1'.repeat(32), time: 2 },
        { upload: u1.id, part: 2, size: 9, etag: 'f'.repeat(32), time: 3 },
      ]);
      await db.deleteUpload(u1.id);
      assert.equal(await db.getUpload(u1.id), null);
      assert.deepEqual(await db.listParts(u1.id), []);
      assert.equal((await db.listParts(u2.id)).length, 1, 'other uploads keep their parts');
      // Rolled back with the transaction that wrote them.
      await assert.rejects(async () =>
        db.tx(() => {
          db.deleteUpload(u2.id);
          db.putStaged([{ branch: 'main', path: 'p', op: 'delete', entry: null, contentType: null, time: 1 }]);
          throw new Error('boom');
        }),
      /boom/);
      db = await f.reopen();
      assert.ok(await db.getUpload(u2.id));
      assert.equal(await db.getStaged('main', 'p'), null);
    });

    withStore('check results: exact lookup by version and checks hash; the newest judgement of a version wins', async (f) => {
      let db = f.store;
      const obj = id('table v1');
      assert.equal(await db.getCheckResults(obj, 's1', 'data/t.csv'), null);
      assert.equal(await db.latestCheckResults(obj, 'data/t.csv'), null);
      await db.putCheckResults(obj, 's1', 'data/t.csv', '[1]');
      await db.putCheckResults(obj, 's2', 'data/t.csv', '[2]');
      await db.putCheckResults(obj, 's1', 'data/other.csv', '[3]');
      assert.equal(await db.getCheckResults(obj, 's1', 'data/t.csv'), '[1]');
      assert.equal((await db.latestCheckResults(obj, 'data/t.csv'))?.record, '[2]', 'the later put is the newest');
      // Judging again under the first checks (a cache hit re-recorded) makes it the newest again.
      await db.putCheckResults(obj, 's1', 'data/t.csv', '[1]');
      db = await f.reopen();
      const latest = await db.latestCheckResults(obj, 'data/t.csv');
      assert.equal(latest?.spec, 's1');
      assert.equal(latest?.record, '[1]');
      assert.equal((await db.latestCheckResults(obj, 'data/other.csv'))?.record, '[3]', 'keyed by path too');
      assert.equal(await db.latestCheckResults(id('table v2'), 'data/t.csv'), null, 'keyed by version');
    });

    withStore('integrity: a fresh store checks clean and knows its schema version', async ({ store: db }) => {
      assert.deepEqual(await db.quickCheck(), []);
      assert.ok((await db.schemaVersion()) >= 1);
    });
  });
}
