/**
 * The HTTP object and ref stores (core/store/http) pass the shared ObjectStore contract suite against a
 * real server on a loopback port, and its RefStore honours compare-and-swap.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initHash, hashBytes } from '../core/hash/index.js';
import { isStrataError } from '../core/errors/index.js';
import { startServer, type RunningServer } from '../server/app.js';
import { openHttpStores as openHttpRemote } from '../core/store/http/index.js';
import { commitId, treeId } from '../core/model/index.js';
import { runStoreContract } from './helpers/store-contract.js';
import { tempDir } from './helpers/cli.js';

await initHash();
let srv: RunningServer;
let token: string;
let cleanup: () => Promise<void>;
let n = 0;

before(async () => {
  const t = await tempDir('strata-srv-contract-');
  cleanup = t.cleanup;
  srv = await startServer({ dataDir: t.dir, port: 0, anonymousRead: false, log: () => {} });
  token = srv.tokens.create('*', ['read', 'write']).token;
});
after(async () => {
  await srv.close();
  await cleanup();
});

runStoreContract('http', async () => {
  const name = `c${++n}`;
  const created = await fetch(`${srv.url}/api/repos/${name}`, { method: 'PUT', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(created.status, 201);
  const h = await openHttpRemote(`${srv.url}/${name}`, { token });
  return { store: h.store, cleanup: async () => {} };
});

describe('HTTP RefStore', () => {
  it('create / get / list / update / delete with CAS conflicts', async () => {
    const h = await openHttpRemote(`${srv.url}/refs1`, { token });
    // Refs point at complete commits (the server refuses blobs and trees): two commits on an empty tree.
    const empty = treeId({ entries: [] });
    const a = commitId({ tree: empty.id, parents: [], author: { name: 'T', email: 't@x' }, time: 1, message: 'a', code: null });
    const b = commitId({ tree: empty.id, parents: [a.id], author: { name: 'T', email: 't@x' }, time: 2, message: 'b', code: null });
    for (const o of [empty, a, b]) await h.store.put(o.id, o.bytes);
    const ia = a.id;
    const ib = b.id;
    assert.equal(await h.refs.get('heads/x'), null);
    const v1 = await h.refs.create('heads/x', ia);
    await assert.rejects(h.refs.create('heads/x', ib), (e: unknown) => isStrataError(e, 'REF_CONFLICT'));
    assert.deepEqual(await h.refs.get('heads/x'), v1);
    const v2 = await h.refs.update('heads/x', ib, v1.etag);
    await assert.rejects(h.refs.update('heads/x', ia, v1.etag), (e: unknown) => isStrataError(e, 'REF_CONFLICT'));
    const l = await h.refs.list('heads/');
    assert.deepEqual(l, [{ name: 'heads/x', ...v2 }]);
    await assert.rejects(h.refs.delete('heads/x', v1.etag), (e: unknown) => isStrataError(e, 'REF_CONFLICT'));
    await h.refs.delete('heads/x', v2.etag);
    assert.equal(await h.refs.get('heads/x'), null);
  });

  it('a branch cannot point at a commit whose objects were not uploaded', async () => {
    const h = await openHttpRemote(`${srv.url}/refs2`, { token });
    await h.store.put(hashBytes('x'), Buffer.from('x'));
    await assert.rejects(h.refs.create('heads/main', 'a'.repeat(64)), (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT'));
  });
});
