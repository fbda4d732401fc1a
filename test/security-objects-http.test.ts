/**
 * Hostile objects served by a Strata server (a real `startServer` on loopback, the real CLI as the
 * client). The served repository is an ordinary folder under the server's data directory; after a
 * good commit, hand-built, correctly hashed objects are written into its store with the store
 * adapter and its heads/main is moved to them — what a compromised or buggy server would serve.
 * `strata clone` and `strata pull` must exit 11 naming the object and the server, with nothing
 * moved locally. And the server's own receive side: a pushed ref may not point at a malformed
 * tree or a tree bomb (422 OBJECT_CORRUPT, ref not created).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, readTreeBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { MetaDb } from '../core/meta/db.js';
import { serializeCommit, treeId, type Tree } from '../core/model/index.js';
import { LocalStore } from '../core/store/local/index.js';
import { startServer, type RunningServer } from '../server/app.js';
import { bearer, makePack, raw } from './helpers/server.js';

await initHash();

let tmp: { dir: string; cleanup(): Promise<void> };
let server: RunningServer;

before(async () => {
  tmp = await tempDir('strata-hostile-http-');
  server = await startServer({ dataDir: join(tmp.dir, 'srv'), port: 0, host: '127.0.0.1', webDir: null, log: () => undefined });
});
after(async () => {
  await server?.close();
  await tmp?.cleanup();
});

function refsOf(dir: string): Record<string, string | null> {
  const db = MetaDb.open(join(dir, '.strata', 'strata.db'), { readonly: true });
  try {
    return Object.fromEntries(['HEAD', 'refs/heads/main', 'refs/remotes/origin/main'].map((r) => [r, db.getRef(r)?.target ?? null]));
  } finally {
    db.close();
  }
}

const person = { name: 'Mallory', email: 'm@example.com' };
const X = hashBytes('x');

async function refusedOverHttp(name: string, build: (parent: string) => { objects: Buffer[]; commit: Buffer; names: string[] }): Promise<void> {
  const served = join(tmp.dir, 'srv', name);
  await fsp.mkdir(served, { recursive: true });
  await ok(served, ['init']);
  await writeFiles(served, { 'data/a.txt': 'alpha\n' });
  await ok(served, ['add', 'data']);
  await ok(served, ['commit', '-m', 'first']);
  const url = `${server.url}/${name}`;
  const b = join(tmp.dir, `${name}-b`);
  await ok(tmp.dir, ['clone', url, b]);

  const db = MetaDb.open(join(served, '.strata', 'strata.db'));
  const parent = db.getRef('refs/heads/main')!.target;
  const h = build(parent);
  const store = new LocalStore(join(served, '.strata', 'objects'), { fsync: false });
  for (const o of [...h.objects, h.commit]) await store.put(hashBytes(o), o);
  await store.close();
  db.tx(() => db.casRef('refs/heads/main', parent, hashBytes(h.commit)));
  db.close();

  const check = (r: { code: number; stdout: string; stderr: string }, what: string) => {
    const text = r.stdout + r.stderr;
    assert.equal(r.code, EXIT_CODES.OBJECT_CORRUPT, `${what}: exit ${r.code}\n${text}`);
    assert.ok(h.names.some((id) => text.includes(id)), `${what}: names the object\n${text}`);
    assert.ok(text.includes(url), `${what}: names the server\n${text}`);
    assert.doesNotMatch(text, /internal error|TypeError|\n\s+at .+:\d+:\d+/, text);
  };
  const dest = join(tmp.dir, `${name}-clone`);
  check(await strata(tmp.dir, ['clone', url, dest], { timeoutMs: 30_000 }), 'clone');
  assert.equal(await fsp.stat(dest).catch(() => null), null, 'a failed clone leaves no folder');
  const refsBefore = refsOf(b);
  const filesBefore = await readTreeBytes(b);
  check(await strata(b, ['pull'], { timeoutMs: 30_000 }), 'pull');
  assert.deepEqual(refsOf(b), refsBefore, 'no local ref moved');
  assert.deepEqual(await readTreeBytes(b), filesBefore, 'no file written');
}

describe('hostile Strata server', () => {
  it('a tree with a duplicate name and a commit with a null author: exit 11 naming the object and the server', async () => {
    await refusedOverHttp('dup', (parent) => {
      const t = Buffer.from(JSON.stringify({ e: [['a', 'f', 1, X], ['a', 'f', 1, X]], strata: 'tree', v: 1 }));
      const c = serializeCommit({ tree: hashBytes(t), parents: [parent], author: person, time: 1, message: 'evil', code: null, meta: { roots: ['data'] } });
      return { objects: [t, Buffer.from('x')], commit: c, names: [hashBytes(t)] };
    });
    await refusedOverHttp('nullauthor', (parent) => {
      const good = JSON.parse(serializeCommit({ tree: hashBytes(Buffer.from('{"e":[],"strata":"tree","v":1}')), parents: [parent], author: person, time: 1, message: 'evil', code: null }).toString());
      good.author = null;
      const c = Buffer.from(JSON.stringify(Object.fromEntries(Object.keys(good).sort().map((k) => [k, good[k]]))));
      return { objects: [Buffer.from('{"e":[],"strata":"tree","v":1}')], commit: c, names: [hashBytes(c)] };
    });
  });

  it('a tree bomb is refused fast', { timeout: 60_000 }, async () => {
    await refusedOverHttp('bomb', (parent) => bombOn(parent));
  });

  it('the receive side of a push: a ref cannot be moved to a malformed tree or a tree bomb (422, ref unchanged)', { timeout: 60_000 }, async () => {
    const token = server.tokens.create('recv', ['write']).token;
    const call = (method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) => raw(server.url, method, path, { headers: { ...bearer(token), ...headers }, body });
    assert.equal((await call('PUT', '/api/repos/recv')).status < 300, true);
    const putRef = (value: string) => call('PUT', '/api/repos/recv/refs/heads/main', JSON.stringify({ value }), { 'Content-Type': 'application/json', 'If-None-Match': '*' });
    const dup = Buffer.from(JSON.stringify({ e: [['a', 'f', 1, X], ['a', 'f', 1, X]], strata: 'tree', v: 1 }));
    const c1 = serializeCommit({ tree: hashBytes(dup), parents: [], author: person, time: 1, message: 'dup', code: null });
    await call('POST', '/api/repos/recv/objects/pack', makePack([Buffer.from('x'), dup, c1]).body);
    let r = await putRef(hashBytes(c1));
    assert.equal(r.status, 422, r.body.toString());
    assert.equal(r.json().error.code, 'OBJECT_CORRUPT');
    assert.match(r.json().error.message, new RegExp(hashBytes(dup)));
    const b = bombOn(null);
    await call('POST', '/api/repos/recv/objects/pack', makePack([...b.objects, b.commit]).body);
    const started = Date.now();
    r = await putRef(hashBytes(b.commit));
    assert.equal(r.status, 422, r.body.toString());
    assert.match(r.json().error.message, /expands to more than/);
    assert.ok(Date.now() - started < 30_000);
    assert.equal((await call('GET', '/api/repos/recv/refs/heads/main')).status, 404, 'the ref was not created');
  });
});

function bombOn(parent: string | null): { objects: Buffer[]; commit: Buffer; names: string[] } {
  const objects: Buffer[] = [Buffer.from('x')];
  const names: string[] = [];
  let t: Tree = { entries: [{ type: 'file', name: 'f', id: X, size: 1, exec: false }] };
  let cur = treeId(t);
  let count = 1;
  objects.push(cur.bytes);
  for (let i = 0; i < 30; i++) {
    t = { entries: [{ type: 'dir', name: 'a', id: cur.id, size: count, count }, { type: 'dir', name: 'b', id: cur.id, size: count, count }] };
    count *= 2;
    cur = treeId(t);
    objects.push(cur.bytes);
    names.push(cur.id);
  }
  const c = serializeCommit({ tree: cur.id, parents: parent ? [parent] : [], author: person, time: 1, message: 'bomb', code: null, meta: { roots: ['data'] } });
  return { objects, commit: c, names };
}
