/**
 * Hostile remotes, through the real CLI. A normal repository is pushed to a file:// remote; then
 * each case copies that remote, writes hand-built, correctly hashed objects into it with the store
 * adapter and points heads/main at them. `strata clone` and `strata pull` must exit 11
 * (OBJECT_CORRUPT) with one message naming the object and the remote, no stack trace, no file
 * written and no local ref moved. A tree bomb that is already local makes checkout and restore
 * fail fast the same way. The tree-bomb runs are bounded by a timeout (a hang fails the test).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, readTreeBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { MetaDb } from '../core/meta/db.js';
import { serializeCommit, serializeManifest, serializeTree, treeId, type Commit, type Tree } from '../core/model/index.js';
import { LocalStore } from '../core/store/local/index.js';
import { FileRefStore } from '../core/store/refs.js';

await initHash();

let tmp: { dir: string; cleanup(): Promise<void> };
let base: string; // the pushed remote
let parent: string; // its main commit
let parentTree: string;
let pulled: string; // a clone that pulls from each hostile remote
let n = 0;

function refsOf(repoDir: string): Record<string, string | null> {
  const db = MetaDb.open(join(repoDir, '.strata', 'strata.db'), { readonly: true });
  try {
    const out: Record<string, string | null> = {};
    for (const r of ['HEAD', 'refs/heads/main', 'refs/remotes/origin/main']) out[r] = db.getRef(r)?.target ?? null;
    return out;
  } finally {
    db.close();
  }
}

before(async () => {
  tmp = await tempDir('strata-hostile-');
  const a = join(tmp.dir, 'a');
  await fsp.mkdir(a);
  await ok(a, ['init']);
  await writeFiles(a, { 'data/a.txt': 'alpha\n', 'data/b.txt': 'beta\n' });
  await ok(a, ['add', 'data']);
  await ok(a, ['commit', '-m', 'first']);
  base = join(tmp.dir, 'remote');
  await ok(a, ['remote', 'add', 'origin', base]);
  await ok(a, ['push']);
  const db = MetaDb.open(join(a, '.strata', 'strata.db'), { readonly: true });
  parent = db.getRef('refs/heads/main')!.target;
  parentTree = (JSON.parse(Buffer.from(db.getCommitRaw(parent)!).toString()) as { tree: string }).tree;
  db.close();
  pulled = join(tmp.dir, 'pulled');
  await ok(tmp.dir, ['clone', base, pulled]);
});
after(async () => {
  await tmp?.cleanup();
});

interface Hostile {
  /** Objects to write into the remote (their ids are their hashes). */
  objects: Buffer[];
  /** The commit heads/main will point at. */
  commit: Buffer;
  /** The error must name one of these objects. */
  names: string[];
}

const person = { name: 'Mallory', email: 'm@example.com' };
const commitOn = (tree: string, meta: Commit['meta'] = { roots: ['data'] }): Buffer =>
  serializeCommit({ tree, parents: [parent], author: person, time: 1_700_000_000_000, message: 'evil', code: null, meta });
const rawTree = (e: unknown[]) => Buffer.from(JSON.stringify({ e, strata: 'tree', v: 1 }));
const blob = Buffer.from('x');
const X = hashBytes(blob);

/** A root tree holding hostile `data` entries. */
function treeCase(entries: unknown[]): Hostile {
  const t = rawTree(entries);
  return { objects: [t, blob], commit: commitOn(hashBytes(t)), names: [hashBytes(t)] };
}

/** Copy the good remote, add the objects, move heads/main; returns the remote's path. */
async function hostileRemote(h: Hostile): Promise<string> {
  const dir = join(tmp.dir, `evil-${++n}`);
  await fsp.cp(base, dir, { recursive: true });
  const store = new LocalStore(join(dir, 'objects'), { fsync: false });
  for (const b of [...h.objects, h.commit]) await store.put(hashBytes(b), b);
  await store.close();
  const refs = new FileRefStore(dir);
  const cur = await refs.get('heads/main');
  await refs.update('heads/main', hashBytes(h.commit), cur!.etag);
  return dir;
}

function assertRefused(r: { code: number; stdout: string; stderr: string }, h: Hostile, remoteDir: string, what: string): void {
  const text = r.stdout + r.stderr;
  assert.equal(r.code, EXIT_CODES.OBJECT_CORRUPT, `${what}: exit ${r.code}\n${text}`);
  assert.ok(h.names.some((id) => text.includes(id)), `${what}: the message names the object\n${text}`);
  assert.ok(text.includes(remoteDir), `${what}: the message names the remote\n${text}`);
  assert.doesNotMatch(text, /internal error|TypeError|\n\s+at .+:\d+:\d+/, `${what}: no internal error or stack trace\n${text}`);
  assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1, `${what}: one error\n${text}`);
}

async function cloneAndPullRefused(h: Hostile, what: string, timeoutMs = 60_000): Promise<void> {
  const remote = await hostileRemote(h);
  const dest = join(tmp.dir, `clone-${n}`);
  const c = await strata(tmp.dir, ['clone', remote, dest], { timeoutMs });
  assertRefused(c, h, remote, `clone (${what})`);
  assert.equal(await fsp.stat(dest).catch(() => null), null, `clone (${what}): nothing is left behind`);

  const refsBefore = refsOf(pulled);
  const filesBefore = await readTreeBytes(pulled);
  await ok(pulled, ['remote', 'set-url', 'origin', remote]);
  const p = await strata(pulled, ['pull'], { timeoutMs });
  assertRefused(p, h, remote, `pull (${what})`);
  assert.deepEqual(refsOf(pulled), refsBefore, `pull (${what}): no local ref moved`);
  assert.deepEqual(await readTreeBytes(pulled), filesBefore, `pull (${what}): no file written`);
  const st = await ok(pulled, ['--json', 'status']);
  assert.ok(st.stdout.length > 0);
}

/** heads/main -> a tree bomb: 30 levels of two names for one subtree (2^30 paths, 40 objects). */
function bomb(levels: number, leafFiles: boolean): Hostile {
  const objects: Buffer[] = [blob];
  const names: string[] = [];
  let t: Tree = { entries: leafFiles ? [{ type: 'file', name: 'f', id: X, size: 1, exec: false }] : [] };
  let count = leafFiles ? 1 : 0;
  let cur = treeId(t);
  objects.push(cur.bytes);
  names.push(cur.id);
  for (let i = 0; i < levels; i++) {
    t = { entries: [{ type: 'dir', name: 'a', id: cur.id, size: count, count }, { type: 'dir', name: 'b', id: cur.id, size: count, count }] };
    count *= 2;
    cur = treeId(t);
    objects.push(cur.bytes);
    names.push(cur.id);
  }
  const root = treeId({ entries: [{ type: 'dir', name: 'data', id: cur.id, size: count, count }] });
  objects.push(root.bytes);
  names.push(root.id);
  return { objects, commit: commitOn(root.id), names };
}

describe('hostile file:// remotes: clone and pull refuse bad objects', () => {
  it('duplicate names (a symlink and a directory both called link)', async () => {
    const sub = treeId({ entries: [{ type: 'file', name: 'f', id: X, size: 1, exec: false }] });
    const h = treeCase([['link', 'd', 1, sub.id, 1], ['link', 'l', 1, X, 'x']]);
    h.objects.push(sub.bytes);
    await cloneAndPullRefused(h, 'duplicate');
  });

  it('unsorted names', async () => {
    await cloneAndPullRefused(treeCase([['b', 'f', 1, X], ['a', 'f', 1, X]]), 'unsorted');
  });

  it('a directory named .GIT', async () => {
    const hooks = treeId({ entries: [{ type: 'file', name: 'post-checkout', id: X, size: 1, exec: true }] });
    const h = treeCase([['.GIT', 'd', 1, hooks.id, 1]]);
    h.objects.push(hooks.bytes);
    await cloneAndPullRefused(h, '.GIT');
  });

  it('a name that is a number', async () => {
    await cloneAndPullRefused(treeCase([[5, 'f', 1, X]]), 'numeric name');
  });

  it('symlink targets with a NUL byte or 5000 bytes long', async () => {
    await cloneAndPullRefused(treeCase([['l', 'l', 3, X, 'a\0b']]), 'NUL target');
    await cloneAndPullRefused(treeCase([['l', 'l', 5000, X, 'y'.repeat(5000)]]), '5000-byte target');
  });

  it('a commit with a null author', async () => {
    const good = JSON.parse(commitOn(parentTree).toString()) as Record<string, unknown>;
    good.author = null;
    const bytes = Buffer.from(JSON.stringify(Object.fromEntries(Object.keys(good).sort().map((k) => [k, good[k]]))));
    await cloneAndPullRefused({ objects: [], commit: bytes, names: [hashBytes(bytes)] }, 'null author');
  });

  it('tracked roots with ..', async () => {
    const c = commitOn(parentTree, { roots: ['../outside'] });
    await cloneAndPullRefused({ objects: [], commit: c, names: [hashBytes(c)] }, '.. roots');
  });

  it('a tree in non-canonical form (right hash, extra whitespace)', async () => {
    const t = Buffer.from(serializeTree({ entries: [{ type: 'file', name: 'x.txt', id: X, size: 1, exec: false }] }).toString().replace(',', ', '));
    const h: Hostile = { objects: [t, blob], commit: commitOn(hashBytes(t)), names: [hashBytes(t)] };
    await cloneAndPullRefused(h, 'non-canonical');
  });

  it('a directory entry lying about its file count', async () => {
    const sub = treeId({ entries: [{ type: 'file', name: 'f', id: X, size: 1, exec: false }] });
    const root = treeId({ entries: [{ type: 'dir', name: 'data', id: sub.id, size: 1, count: 5 }] });
    await cloneAndPullRefused({ objects: [sub.bytes, root.bytes, blob], commit: commitOn(root.id), names: [root.id] }, 'count lie');
  });

  it('a chunk declared 4 bytes that is 1022 bytes', async () => {
    const chunk = Buffer.alloc(1022, 7);
    const cid = hashBytes(chunk);
    const m = serializeManifest({ size: 4, chunks: [[cid, 4]] });
    const sub = treeId({ entries: [{ type: 'file', name: 'big.bin', id: hashBytes('four'), size: 4, exec: false, chunks: hashBytes(m) }] });
    const root = treeId({ entries: [{ type: 'dir', name: 'data', id: sub.id, size: 4, count: 1 }] });
    await cloneAndPullRefused({ objects: [chunk, m, sub.bytes, root.bytes], commit: commitOn(root.id), names: [cid] }, 'chunk size lie');
  });

  it('a tree bomb (2^30 paths from 32 objects) is refused fast, not expanded', { timeout: 60_000 }, async () => {
    // A hang would be killed by the per-command timeout and fail on the exit code.
    await cloneAndPullRefused(bomb(30, true), 'tree bomb', 15_000);
  });

  it('an empty tree nested under 30 levels of shared directories is refused too', { timeout: 60_000 }, async () => {
    await cloneAndPullRefused(bomb(30, false), 'empty-tree bomb', 15_000);
  });
});

describe('bad objects already in the local store', () => {
  it('a non-canonical local tree: checkout exits 11 naming it, fsck reports it as corrupt', async () => {
    const dir = join(tmp.dir, 'local-noncanon');
    await ok(tmp.dir, ['clone', base, dir]);
    const t = Buffer.from(serializeTree({ entries: [{ type: 'file', name: 'x.txt', id: X, size: 1, exec: false }] }).toString().replace('[[', '[ ['));
    const tid = hashBytes(t);
    const c = commitOn(tid);
    const store = new LocalStore(join(dir, '.strata', 'objects'), { fsync: false });
    for (const b of [t, blob, c]) await store.put(hashBytes(b), b);
    await store.close();
    const db = MetaDb.open(join(dir, '.strata', 'strata.db'));
    db.tx(() => db.casRef('refs/heads/bad', null, hashBytes(c)));
    db.close();
    const filesBefore = await readTreeBytes(dir);
    const r = await strata(dir, ['checkout', 'bad']);
    assert.equal(r.code, EXIT_CODES.OBJECT_CORRUPT, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`tree object ${tid} is not in canonical form`));
    assert.deepEqual(await readTreeBytes(dir), filesBefore);
    const f = await strata(dir, ['--json', 'fsck']);
    assert.equal(f.code, EXIT_CODES.OBJECT_CORRUPT, f.stdout + f.stderr);
    const problems = JSON.parse(f.stdout).problems as Array<{ id: string; problem: string; detail?: string }>;
    const p = problems.find((x) => x.id === tid);
    assert.ok(p, f.stdout);
    assert.equal(p.problem, 'corrupt');
    assert.match(p.detail ?? '', /canonical form/);
  });


  it('checkout, restore, diff, show and ls -r fail fast with OBJECT_CORRUPT, touching nothing', { timeout: 60_000 }, async () => {
    const dir = join(tmp.dir, 'local-bomb');
    await ok(tmp.dir, ['clone', base, dir]);
    const h = bomb(30, true);
    const store = new LocalStore(join(dir, '.strata', 'objects'), { fsync: false });
    for (const b of [...h.objects, h.commit]) await store.put(hashBytes(b), b);
    await store.close();
    const db = MetaDb.open(join(dir, '.strata', 'strata.db'));
    db.tx(() => db.casRef('refs/heads/bomb', null, hashBytes(h.commit)));
    db.close();
    const refsBefore = refsOf(dir);
    const filesBefore = await readTreeBytes(dir);
    for (const args of [['checkout', 'bomb'], ['restore', '--source', 'bomb', 'data'], ['diff', 'main', 'bomb'], ['show', 'bomb'], ['ls', '-r', 'bomb']]) {
      const r = await strata(dir, args, { timeoutMs: 15_000 });
      const text = r.stdout + r.stderr;
      assert.equal(r.code, EXIT_CODES.OBJECT_CORRUPT, `${args.join(' ')}: exit ${r.code}\n${text}`);
      assert.match(text, /expands to more than 20,000,000 paths/);
      assert.ok(h.names.some((id) => text.includes(id)), text);
      assert.doesNotMatch(text, /internal error|\n\s+at .+:\d+:\d+/);
      assert.deepEqual(refsOf(dir), refsBefore);
      assert.deepEqual(await readTreeBytes(dir), filesBefore);
    }
  });
});
