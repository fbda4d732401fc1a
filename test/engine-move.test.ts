/**
 * The one workspace move (core/repo/move.ts) through the real CLI:
 * - in a partial clone (`clone URL DIR -- data/a`) `strata checkout v1` of a tag upstream works:
 *   only files under data/a are written (their v1 objects fetched from the remote), status is
 *   clean, and `checkout main` goes back;
 * - a checkout that cannot finish (an object missing with no remote, or corrupt) changes nothing
 *   and leaves no empty folder behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ok, readTreeBytes, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { LocalStore } from '../core/store/local/index.js';
import { decodePackIndex } from '../core/format/pack-index.js';

await initHash();

let tmp: { dir: string; cleanup(): Promise<void> };
before(async () => {
  tmp = await tempDir('strata-move-');
});
after(async () => {
  await tmp?.cleanup();
});

async function repoWith(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const dir = join(tmp.dir, name);
  await fsp.mkdir(dir, { recursive: true });
  await ok(dir, ['init']);
  await writeFiles(dir, files);
  await ok(dir, ['add', 'data']);
  await ok(dir, ['commit', '-m', 'first']);
  return dir;
}

async function exists(p: string): Promise<boolean> {
  return (await fsp.lstat(p).catch(() => null)) !== null;
}

async function objectIds(dir: string): Promise<Set<string>> {
  const store = new LocalStore(join(dir, '.strata/objects'));
  const out = new Set<string>();
  for await (const o of store.list()) out.add(o.id);
  await store.close();
  return out;
}

describe('moving the workspace to a commit', () => {
  it('partial clone: checkout of a tag writes only the checked-out paths, status is clean, checkout main goes back', async () => {
    const a = await repoWith('up', {
      'data/a/one.txt': 'one at v1\n',
      'data/a/big.bin': seededBytes(9 * 1024 * 1024, 5),
      'data/b/two.txt': 'two at v1\n',
    });
    await ok(a, ['tag', 'v1']);
    await writeFiles(a, { 'data/a/one.txt': 'one at v2\n', 'data/a/new.txt': 'new\n', 'data/b/two.txt': 'two at v2\n', 'data/b/three.txt': 'three\n' });
    await ok(a, ['add', 'data']);
    await ok(a, ['commit', '-m', 'second']);
    const remote = pathToFileURL(join(tmp.dir, 'up.strata')).href;
    await ok(a, ['remote', 'add', 'origin', remote]);
    await ok(a, ['push', '--tags']);

    const c = join(tmp.dir, 'partial');
    await ok(tmp.dir, ['clone', remote, c, '--', 'data/a']);
    assert.deepEqual([...(await readTreeBytes(c)).keys()].sort(), ['data/a/big.bin', 'data/a/new.txt', 'data/a/one.txt']);

    await ok(c, ['checkout', 'v1']);
    const v1 = await readTreeBytes(c);
    assert.deepEqual([...v1.keys()].sort(), ['data/a/big.bin', 'data/a/one.txt'], 'only files under data/a, as at v1');
    assert.equal(v1.get('data/a/one.txt')!.toString(), 'one at v1\n');
    assert.ok(v1.get('data/a/big.bin')!.equals(seededBytes(9 * 1024 * 1024, 5)));
    assert.equal(await exists(join(c, 'data/b')), false, 'nothing outside the checked-out paths');
    assert.match((await ok(c, ['status'])).stdout, /working tree clean/);

    await ok(c, ['checkout', 'main']);
    const back = await readTreeBytes(c);
    assert.deepEqual([...back.keys()].sort(), ['data/a/big.bin', 'data/a/new.txt', 'data/a/one.txt']);
    assert.equal(back.get('data/a/one.txt')!.toString(), 'one at v2\n');
    assert.match((await ok(c, ['status'])).stdout, /working tree clean/);
  });

  it('a checkout whose object is missing (no remote) changes nothing and leaves no empty folder', async () => {
    const r = await repoWith('missing', { 'data/keep.txt': 'keep\n' });
    await ok(r, ['tag', 't1']);
    const before = await objectIds(r);
    const big = seededBytes(9 * 1024 * 1024, 9);
    await writeFiles(r, { 'data/new/deep/big.bin': big });
    await ok(r, ['add', 'data']);
    await ok(r, ['commit', '-m', 'big']);
    await ok(r, ['tag', 't2']);
    await ok(r, ['checkout', 't1']);
    assert.equal(await exists(join(r, 'data/new')), false);
    // Drop one chunk of big.bin (its chunk list stays): the kind of damage found only midway.
    const added = [...(await objectIds(r))].filter((id) => !before.has(id));
    const store = new LocalStore(join(r, '.strata/objects'));
    let chunk: string | null = null;
    for (const id of added) {
      const b = await store.getBytes(id);
      if (b[0] !== 0x7b && b.length < big.length) {
        chunk = id;
        break;
      }
    }
    assert.ok(chunk, 'found a chunk of big.bin');
    await store.deleteMany([chunk]);
    await store.close();

    const res = await strata(r, ['checkout', 't2']);
    assert.equal(res.code, EXIT_CODES.OBJECT_MISSING, res.stderr);
    assert.match(res.stderr, /big\.bin/);
    assert.doesNotMatch(res.stderr, /internal error|\n\s+at /);
    assert.equal(await exists(join(r, 'data/new')), false, 'no empty folder left behind');
    assert.match((await ok(r, ['status'])).stdout, /working tree clean/);
    assert.equal(await fsp.readFile(join(r, 'data/keep.txt'), 'utf8'), 'keep\n');
  });

  it('a checkout that hits a corrupt object while writing prunes the folders it made', async () => {
    const r = await repoWith('corrupt', { 'data/keep.txt': 'keep\n' });
    await ok(r, ['tag', 't1']);
    const content = Buffer.from('soon to be corrupt\n');
    await writeFiles(r, { 'data/fresh/sub/x.txt': content });
    await ok(r, ['add', 'data']);
    await ok(r, ['commit', '-m', 'x']);
    await ok(r, ['tag', 't2']);
    await ok(r, ['checkout', 't1']);
    // Flip one byte of x.txt's object inside its pack.
    const id = hashBytes(content);
    const packDir = join(r, '.strata/objects/pack');
    let flipped = false;
    for (const n of await fsp.readdir(packDir)) {
      if (!n.endsWith('.idx')) continue;
      const e = decodePackIndex(await fsp.readFile(join(packDir, n))).entries.find((x) => x.id === id);
      if (!e) continue;
      const pack = join(packDir, n.replace(/\.idx$/, '.pack'));
      await fsp.chmod(pack, 0o644);
      const fh = await fsp.open(pack, 'r+');
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, e.offset);
      b[0] = b[0]! ^ 0x20;
      await fh.write(b, 0, 1, e.offset);
      await fh.close();
      flipped = true;
    }
    if (!flipped) {
      const loose = join(r, '.strata/objects', id.slice(0, 2), id.slice(2));
      await fsp.chmod(loose, 0o644);
      await fsp.writeFile(loose, 'Soon to be corrupt\n');
    }
    const res = await strata(r, ['checkout', 't2']);
    assert.equal(res.code, EXIT_CODES.OBJECT_CORRUPT, res.stderr);
    assert.doesNotMatch(res.stderr, /internal error|\n\s+at /);
    assert.equal(await exists(join(r, 'data/fresh')), false, 'no empty folder left behind');
    assert.match((await ok(r, ['status'])).stdout, /working tree clean/);
  });
});
