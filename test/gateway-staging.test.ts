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
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ok, ROOT, seededBytes, tempDir, writeFiles } from './helpers/cli.js';
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
import { cat } from '../core/ops/cat.js';
import { S3Store } from '../core/store/s3/index.js';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
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
import { abortUpload, completeUpload, createUpload, listParts, listUploads, MIN_PART_SIZE, recoverGateway, uploadInfo, uploadPart } from '../core/gateway/multipart.js';
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

/** The bytes of REF:PATH through the cat operation (streamed and verified). */
async function catBytes(repo: Repository, spec: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of (await cat(repo, spec)).stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
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

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

/** The entry `strata add` records for `bytes` at `path` (in a fresh repository of its own). */
async function addedEntry(path: string, bytes: Buffer) {
  const t = await tempDir('strata-gw-add-');
  try {
    await ok(t.dir, ['init']);
    await writeFiles(t.dir, { [path]: bytes });
    await ok(t.dir, ['add', path]);
    const r = await Repository.open(t.dir);
    try {
      return r.db.loadIndex().get(path)!;
    } finally {
      await r.close();
    }
  } finally {
    await t.cleanup();
  }
}

describe('S3 gateway writes: large content, gc, runs', () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  before(async () => {
    f = await fixture();
  });
  after(async () => f.cleanup());

  it('a large put is stored as the chunks and manifest strata add gives the same bytes', async () => {
    const bytes = seededBytes(20 << 20, 7);
    const o = await put(f.repo, 'big/file.bin', bytes);
    const want = await addedEntry('big/file.bin', bytes);
    assert.ok(want.chunks, 'strata add chunked it');
    assert.deepEqual([o.entry.id, o.entry.chunks, o.entry.size], [want.id, want.chunks, want.size]);
    const c = await commitStaged(f.repo, 'main', { message: 'big' });
    assert.deepEqual(c.changes, [{ path: 'big/file.bin', op: 'put' }]);
    assert.ok((await catBytes(f.repo, 'main:big/file.bin')).equals(bytes), 'cat gives the bytes back (verified)');
  });

  it('staged puts are gc and fsck roots: strata gc (another process) keeps them, small and chunked', async () => {
    const small = await put(f.repo, 'gc/small.txt', 'only staged, never committed');
    const big = await put(f.repo, 'gc/big.bin', seededBytes(9 << 20, 11));
    const roots = await collectRoots(f.repo);
    assert.ok(roots.extra.gateway, 'the gateway kind of root');
    const live = await reachable(f.repo, roots);
    assert.ok(live.has(small.entry.id) && live.has(big.entry.chunks!));
    const r = JSON.parse((await ok(f.dir, ['--json', 'gc'])).stdout) as { objects: number };
    assert.equal(typeof r.objects, 'number');
    assert.deepEqual(await missingIds(f.repo, [small.entry.id, big.entry.chunks!, ...roots.extra.gateway!]), []);
    const fsck = await ok(f.dir, ['fsck']);
    assert.doesNotMatch(fsck.stdout + fsck.stderr, /missing|corrupt/i);
    // Discarded, they are garbage.
    discardStaged(f.repo, 'main', ['gc']);
    await ok(f.dir, ['gc']);
    assert.deepEqual(await missingIds(f.repo, [small.entry.id]), [small.entry.id]);
  });

  it('a gc between a put\'s upload and its row cannot lose a deduplicated object: the critical section stores it again', async () => {
    const bytes = 'content stored before, then unreferenced';
    // Stored and then dropped: present in the store, referenced by nothing.
    await put(f.repo, 'dedup/x.txt', bytes);
    discardStaged(f.repo, 'main', ['dedup']);
    const tmp = await body(f.repo, bytes);
    const ing = await ingestFiles(f.repo, [tmp], Buffer.byteLength(bytes)); // finds it stored: writes nothing
    await gc(f.repo); // in process: the upload holds no lock, so gc runs and removes it
    assert.deepEqual(await missingIds(f.repo, ing.objects), ing.objects);
    await critical(f.repo, async () => {
      await ensureIngested(f.repo, ing, [tmp]);
      await writePutRow(f.repo, 'main', 'dedup/x.txt', ing.entry, null);
    });
    await fsp.rm(tmp);
    assert.deepEqual(await missingIds(f.repo, ing.objects), []);
    await commitStaged(f.repo, 'main', { message: 'dedup' });
    assert.equal((await ok(f.dir, ['cat', 'main:dedup/x.txt'])).stdout, bytes);
  });

  it('gc waits for a critical section and a critical section for gc (one lock in one process)', async () => {
    const order: string[] = [];
    await Promise.all([
      f.repo.withWriteLock('gc', async () => {
        order.push('gc start');
        await new Promise((r) => setTimeout(r, 50));
        order.push('gc end');
      }),
      critical(f.repo, async () => {
        order.push('put');
      }),
    ]);
    assert.deepEqual(order, ['gc start', 'gc end', 'put']);
    // Inside a holder of the lock, a critical section runs at once: it must not queue behind a
    // drain that is itself waiting for that lock.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const outer = f.repo.withWriteLock('outer', async () => {
      await gate;
      return critical(f.repo, async () => 'inner ran');
    });
    await new Promise((r) => setTimeout(r, 30));
    const other = critical(f.repo, async () => 'other ran');
    open();
    assert.deepEqual(await Promise.all([outer, other]), ['inner ran', 'other ran']);
  });

  it('a commit with a run records inputs -> run -> outputs; lineage and runs show them', async () => {
    const a = (await headFlat(f.repo)).get('data/a.csv')!;
    const out = await put(f.repo, 'out/clean.csv', 'cleaned\n');
    const c = await commitStaged(f.repo, 'main', { message: 'clean', run: { stage: 'clean', cmd: 'python clean.py', inputs: ['main/data/a.csv', `${f.repo.db.getRef(HEADS + 'main')!.target}/data/sub/`] } });
    assert.ok(c.run);
    const [run] = listRuns(f.repo);
    assert.equal(run!.id, c.run);
    assert.equal(run!.stage, 'clean');
    assert.deepEqual(run!.deps.map((d) => [d.path, d.id, d.kind]).sort(), [['data/a.csv', a.id, 'file'], ['data/sub', run!.deps.find((d) => d.kind === 'dir')!.id, 'dir']]);
    assert.deepEqual(run!.outs.map((o) => [o.path, o.id]), [['out/clean.csv', out.entry.id]]);
    const g = await lineage(f.repo, { target: 'main:out/clean.csv' });
    const nodes = JSON.stringify(g.graph.nodes);
    assert.ok(nodes.includes(c.run!), nodes);
    assert.ok(nodes.includes('data/a.csv') && nodes.includes(a.id), nodes);
    assert.ok(g.graph.edges.length >= 2, JSON.stringify(g.graph.edges));
    const cli = JSON.parse((await ok(f.dir, ['runs', '--json'])).stdout) as Array<{ id: string; stage: string }>;
    assert.ok(cli.some((r) => r.id === c.run && r.stage === 'clean'));
    await assert.rejects(commitStaged(f.repo, 'main', { message: 'x', run: { stage: 'bad name!' } }), (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT'));
    await put(f.repo, 'out/other.csv', 'o');
    await assert.rejects(commitStaged(f.repo, 'main', { message: 'x', run: { stage: 's', inputs: ['main/no/such/file'] } }), (e: unknown) => isStrataError(e, 'PATH_NOT_FOUND'));
    assert.equal(listStagedChanges(f.repo, 'main').length, 1, 'a refused commit leaves the writes staged');
    discardStaged(f.repo, 'main');
  });
});

async function missingIds(repo: Repository, ids: string[]): Promise<string[]> {
  const have = await repo.store.hasMany(ids);
  return ids.filter((id) => !have.has(id));
}

describe('S3 gateway writes: multipart uploads', () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  before(async () => {
    f = await fixture();
  });
  after(async () => f.cleanup());

  async function sendPart(uploadId: string, n: number, bytes: Buffer) {
    return uploadPart(f.repo, uploadId, n, await body(f.repo, bytes), md5(bytes));
  }

  it('assembles a 20 MiB object from 4 parts as strata add stores those bytes; re-sent parts replace', async () => {
    const whole = seededBytes(20 << 20, 5);
    const u = await createUpload(f.repo, 'main', 'mp/whole.bin', { contentType: 'application/octet-stream' });
    assert.match(u.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(uploadInfo(f.repo, u.id), u);
    const parts = [0, 1, 2, 3].map((i) => whole.subarray(i * MIN_PART_SIZE, (i + 1) * MIN_PART_SIZE));
    // Out of order, concurrently, and part 2 first with wrong bytes (sent again below).
    await Promise.all([sendPart(u.id, 4, parts[3]!), sendPart(u.id, 2, seededBytes(MIN_PART_SIZE, 99)), sendPart(u.id, 1, parts[0]!), sendPart(u.id, 3, parts[2]!)]);
    await sendPart(u.id, 2, parts[1]!);
    assert.deepEqual(listParts(f.repo, u.id).map((p) => [p.part, p.size, p.etag]), parts.map((b, i) => [i + 1, b.length, md5(b)]));
    assert.equal((await fsp.readdir(join(f.repo.root, '.strata', 'uploads', u.id))).length, 4, 'the replaced part file is gone');
    assert.deepEqual(listUploads(f.repo, { branch: 'main', prefix: 'mp/' }).map((x) => x.id), [u.id]);
    assert.deepEqual(listUploads(f.repo, { prefix: 'other/' }), []);
    const o = await completeUpload(f.repo, u.id, parts.map((b, i) => ({ partNumber: i + 1, etag: `"${md5(b)}"` })));
    const want = await addedEntry('mp/whole.bin', whole);
    assert.deepEqual([o.entry.id, o.entry.chunks, o.entry.size], [want.id, want.chunks, want.size]);
    assert.equal(o.contentType, 'application/octet-stream');
    assert.equal(f.repo.db.getUpload(u.id), null);
    await assert.rejects(fsp.stat(join(f.repo.root, '.strata', 'uploads', u.id)), /ENOENT/);
    assert.deepEqual(listStagedChanges(f.repo, 'main').map((c) => [c.path, c.id]), [['mp/whole.bin', want.id]]);
    await commitStaged(f.repo, 'main', { message: 'multipart' });
    assert.ok((await catBytes(f.repo, 'main:mp/whole.bin')).equals(whole));
  });

  it('a small multipart object (under the chunk threshold) is one object', async () => {
    const a = seededBytes(MIN_PART_SIZE, 1);
    const b = Buffer.from('tail');
    const u = await createUpload(f.repo, 'main', 'mp/small.bin');
    await sendPart(u.id, 1, a);
    await sendPart(u.id, 2, b);
    const o = await completeUpload(f.repo, u.id, [{ partNumber: 1, etag: md5(a) }, { partNumber: 2, etag: md5(b) }]);
    assert.equal(o.entry.id, hashBytes(Buffer.concat([a, b])));
    assert.equal(o.entry.chunks, null);
    discardStaged(f.repo, 'main');
  });

  it('S3 rules: NoSuchUpload, MalformedXML, InvalidPartOrder, InvalidPart, EntityTooSmall, part numbers; abort', async () => {
    await assert.rejects(sendPart('0'.repeat(32), 1, Buffer.from('x')), s3Code('NoSuchUpload'));
    await assert.rejects(completeUpload(f.repo, 'nonsense', [{ partNumber: 1, etag: 'x' }]), s3Code('NoSuchUpload'));
    assert.throws(() => listParts(f.repo, 'f'.repeat(32)), s3Code('NoSuchUpload'));
    assert.throws(() => uploadInfo(f.repo, '../../x'), s3Code('NoSuchUpload'));
    const u = await createUpload(f.repo, 'main', 'mp/rules.bin');
    const small = Buffer.from('small part');
    const big = seededBytes(MIN_PART_SIZE, 3);
    await sendPart(u.id, 1, small);
    await sendPart(u.id, 2, big);
    await assert.rejects(sendPart(u.id, 0, small), s3Code('InvalidArgument'));
    await assert.rejects(sendPart(u.id, 10_001, small), s3Code('InvalidArgument'));
    await assert.rejects(completeUpload(f.repo, u.id, []), s3Code('MalformedXML'));
    await assert.rejects(completeUpload(f.repo, u.id, [{ partNumber: 2, etag: md5(big) }, { partNumber: 1, etag: md5(small) }]), s3Code('InvalidPartOrder'));
    await assert.rejects(completeUpload(f.repo, u.id, [{ partNumber: 1, etag: md5(small) }, { partNumber: 1, etag: md5(small) }]), s3Code('InvalidPartOrder'));
    await assert.rejects(completeUpload(f.repo, u.id, [{ partNumber: 3, etag: md5(small) }]), s3Code('InvalidPart'));
    await assert.rejects(completeUpload(f.repo, u.id, [{ partNumber: 1, etag: md5('other') }]), s3Code('InvalidPart'));
    await assert.rejects(completeUpload(f.repo, u.id, [{ partNumber: 1, etag: md5(small) }, { partNumber: 2, etag: md5(big) }]), s3Code('EntityTooSmall'));
    assert.equal(listParts(f.repo, u.id).length, 2, 'a refused Complete leaves the upload as it was');
    await assert.rejects(createUpload(f.repo, 'nope', 'x'), (e: unknown) => isStrataError(e, 'UNKNOWN_REF'));
    await assert.rejects(createUpload(f.repo, 'main', '../x'), (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT'));
    await abortUpload(f.repo, u.id);
    assert.equal(f.repo.db.getUpload(u.id), null);
    await assert.rejects(fsp.stat(join(f.repo.root, '.strata', 'uploads', u.id)), /ENOENT/);
    await assert.rejects(abortUpload(f.repo, u.id), s3Code('NoSuchUpload'));
    // A completed upload clashing with the file/folder rule stays intact.
    const c = await createUpload(f.repo, 'main', 'data/a.csv/inner');
    await sendPart(c.id, 1, small);
    await assert.rejects(completeUpload(f.repo, c.id, [{ partNumber: 1, etag: md5(small) }]), s3Code('InvalidRequest'));
    assert.equal(listParts(f.repo, c.id).length, 1);
    await abortUpload(f.repo, c.id);
  });

  it('recoverGateway removes temp bodies, part files without rows and folders of uploads that are gone', async () => {
    const u = await createUpload(f.repo, 'main', 'mp/recover.bin');
    await sendPart(u.id, 1, Buffer.from('kept'));
    const dir = join(f.repo.root, '.strata', 'uploads');
    await writeFiles(dir, { [`${u.id}/1.${md5('not acknowledged')}`]: 'not acknowledged', [`${'a'.repeat(32)}/1.${md5('x')}`]: 'x', 'tmp/body-1-dead': 'half a body' });
    const r = await recoverGateway(f.repo);
    assert.equal(r.removed, 3);
    assert.deepEqual(await fsp.readdir(join(dir, u.id)), [`1.${md5('kept')}`]);
    assert.deepEqual(await fsp.readdir(join(dir, 'tmp')), []);
    await abortUpload(f.repo, u.id);
  });
});

/** A node script (dist/) that uploads until killed, printing a line per acknowledged write. */
const CHILD = `
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
const dist = process.argv[2];
const { Repository } = await import(dist + '/core/repo/index.js');
const g = await import(dist + '/core/gateway/staging.js');
const mp = await import(dist + '/core/gateway/multipart.js');
const repo = await Repository.open(process.argv[3]);
const bytes = (i, n) => { const b = Buffer.alloc(n); for (let k = 0; k < n; k++) b[k] = (i * 131 + k * 7 + (k >> 9)) & 255; return b; };
const u = await mp.createUpload(repo, 'main', 'killed/multipart.bin');
console.log('upload ' + u.id);
const PART = 5 * 1024 * 1024;
let part = 0;
const putter = async (w) => {
  for (let i = w; ; i += 4) {
    const b = bytes(i, i % 3 === 0 ? 9 * 1024 * 1024 : 1000 + i);
    const tmp = await g.gatewayTempFile(repo);
    writeFileSync(tmp, b);
    const o = await g.stagePut(repo, 'main', 'killed/p' + i + '.bin', tmp, {});
    console.log('put ' + o.path + ' ' + o.entry.id);
  }
};
const parter = async () => {
  for (;;) {
    const n = ++part;
    const b = bytes(1000 + n, PART);
    const tmp = await g.gatewayTempFile(repo);
    writeFileSync(tmp, b);
    const md5 = createHash('md5').update(b).digest('hex');
    await mp.uploadPart(repo, u.id, n, tmp, md5);
    console.log('part ' + n + ' ' + md5);
  }
};
await Promise.all([putter(0), putter(1), putter(2), putter(3), parter()]);
`;

describe('S3 gateway writes: a process killed with SIGKILL in the middle of uploads', () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  let child: ChildProcess | null = null;
  before(async () => {
    f = await fixture();
  });
  after(async () => {
    child?.kill('SIGKILL');
    await f.cleanup();
  });

  it('loses no acknowledged put or part; recovery cleans up; the upload completes afterwards', async () => {
    const script = join(f.dir, 'child.mjs');
    await fsp.writeFile(script, CHILD);
    const c = spawn(process.execPath, [script, join(ROOT, 'dist'), f.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((r) => c.on('exit', () => r()));
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const puts = (out.match(/^put /gm) ?? []).length;
        const parts = (out.match(/^part /gm) ?? []).length;
        if (puts >= 12 && parts >= 3) {
          c.kill('SIGKILL');
          resolve();
        }
      });
      c.on('exit', (code) => reject(new Error(`child exited ${code} before being killed: ${err}`)));
    }).catch((e) => {
      if (c.signalCode !== 'SIGKILL') throw e;
    });
    await exited;
    // Only lines complete before the kill count as acknowledged.
    const lines = out.slice(0, out.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
    const uploadId = lines.find((l) => l.startsWith('upload '))!.slice(7);
    const acked = lines.filter((l) => l.startsWith('put ')).map((l) => l.split(' ').slice(1) as [string, string]);
    const ackedParts = lines.filter((l) => l.startsWith('part ')).map((l) => l.split(' ').slice(1));
    assert.ok(acked.length >= 12 && ackedParts.length >= 3, out);

    const repo = await Repository.open(f.dir);
    try {
      for (const [path, id] of acked) {
        const row = repo.db.getStaged('main', path);
        assert.equal(row?.entry?.id, id, `acknowledged put ${path} is staged`);
        const objs = row!.entry!.chunks ? [row!.entry!.chunks] : [id];
        assert.deepEqual(await missingIds(repo, objs), [], `its objects are stored (${path})`);
      }
      const parts = new Map(listParts(repo, uploadId).map((p) => [p.part, p.etag]));
      for (const [n, m] of ackedParts) assert.equal(parts.get(Number(n)), m, `acknowledged part ${n} is listed`);
      await recoverGateway(repo);
      assert.deepEqual(await fsp.readdir(join(repo.root, '.strata', 'uploads', 'tmp')), [], 'no temp body is left');
      const files = await fsp.readdir(join(repo.root, '.strata', 'uploads', uploadId));
      assert.deepEqual(files.sort(), [...parts].map(([n, m]) => `${n}.${m}`).sort(), 'exactly the part files with rows remain');
      // The upload completes from what survived.
      const list = [...parts].sort((a, b) => a[0] - b[0]).map(([partNumber, etag]) => ({ partNumber, etag }));
      const o = await completeUpload(repo, uploadId, list);
      assert.equal(o.entry.size, list.length * MIN_PART_SIZE);
      const c2 = await commitStaged(repo, 'main', { message: 'after the crash' });
      assert.ok(c2.changes.length >= acked.length + 1);
    } finally {
      await repo.close();
    }
    const fsck = await ok(f.dir, ['fsck']);
    assert.doesNotMatch(fsck.stdout + fsck.stderr, /missing|corrupt/i);
  });
});

/** A node script (dist/) that uploads 40 parts of 5 MiB, then completes (and is killed during it). */
const COMPLETER = `
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
const dist = process.argv[2];
const { Repository } = await import(dist + '/core/repo/index.js');
const g = await import(dist + '/core/gateway/staging.js');
const mp = await import(dist + '/core/gateway/multipart.js');
const repo = await Repository.open(process.argv[3]);
const u = await mp.createUpload(repo, 'main', 'killed/completing.bin');
const parts = [];
for (let n = 1; n <= 40; n++) {
  const b = Buffer.alloc(5 * 1024 * 1024);
  for (let k = 0; k < b.length; k += 4) b.writeUInt32LE((n * 2654435761 + k * 40503) >>> 0, k);
  const tmp = await g.gatewayTempFile(repo);
  writeFileSync(tmp, b);
  const md5 = createHash('md5').update(b).digest('hex');
  await mp.uploadPart(repo, u.id, n, tmp, md5);
  parts.push({ partNumber: n, etag: md5 });
}
console.log('completing ' + u.id + ' ' + JSON.stringify(parts));
await mp.completeUpload(repo, u.id, parts);
console.log('completed');
`;

describe('S3 gateway writes: a process killed during CompleteMultipartUpload', () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  let child: ChildProcess | null = null;
  before(async () => {
    f = await fixture();
  });
  after(async () => {
    child?.kill('SIGKILL');
    await f.cleanup();
  });

  it('leaves either the completed object or the whole upload, which completes when sent again', async () => {
    const script = join(f.dir, 'completer.mjs');
    await fsp.writeFile(script, COMPLETER);
    const c = spawn(process.execPath, [script, join(ROOT, 'dist'), f.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((r) => c.on('exit', () => r()));
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^completing .*\n/m.test(out)) {
          // In the middle of chunking and storing 200 MiB.
          setTimeout(() => {
            c.kill('SIGKILL');
            resolve();
          }, 250);
        }
      });
      c.on('exit', (code) => (c.signalCode === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${err}`))));
    });
    await exited;
    const m = /^completing (\S+) (.*)$/m.exec(out)!;
    const uploadId = m[1]!;
    const parts = JSON.parse(m[2]!) as Array<{ partNumber: number; etag: string }>;
    const repo = await Repository.open(f.dir);
    try {
      await recoverGateway(repo);
      const row = repo.db.getStaged('main', 'killed/completing.bin');
      const upload = repo.db.getUpload(uploadId);
      assert.ok((row === null) !== (upload === null), `exactly one of: staged object (${!!row}), upload intact (${!!upload})`);
      if (upload) {
        assert.equal(listParts(repo, uploadId).length, 40, 'every acknowledged part is still there');
        const o = await completeUpload(repo, uploadId, parts);
        assert.equal(o.entry.size, 40 * MIN_PART_SIZE);
      }
      const staged = repo.db.getStaged('main', 'killed/completing.bin')!;
      assert.deepEqual(await missingIds(repo, [staged.entry!.chunks!]), []);
      await commitStaged(repo, 'main', { message: 'completed after the crash' });
    } finally {
      await repo.close();
    }
    const fsck = await ok(f.dir, ['fsck']);
    assert.doesNotMatch(fsck.stdout + fsck.stderr, /missing|corrupt/i);
  });
});

describe('S3 gateway writes: runs reach clones through a server', () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildProcess | null = null;
  before(async () => {
    t = await tempDir('strata-gw-srv-');
  });
  after(async () => {
    server?.kill('SIGKILL');
    await t.cleanup();
  });

  it('a gateway commit with a run: strata lineage and strata runs in a clone show input -> run -> output', async () => {
    const data = join(t.dir, 'srv');
    server = spawn(process.execPath, [BIN, 'serve', '--data', data, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const srv = server;
    // Drain the access log on stderr: a full pipe would block the server's synchronous writes.
    srv.stderr!.resume();
    const url = await new Promise<string>((resolve, reject) => {
      let o = '';
      srv.stdout!.on('data', (d: Buffer) => {
        o += d.toString();
        const m = /"url":\s*"([^"]+)"/.exec(o);
        if (m) resolve(m[1]!);
      });
      srv.on('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const token = (await ok(t.dir, ['serve', 'token', 'create', '--repo', 'proj', '--write', '--data', data])).stdout.trim();
    const alice = join(t.dir, 'alice');
    await writeFiles(alice, { 'data/raw.csv': 'id,v\n1,2\n' });
    await ok(alice, ['init']);
    await ok(alice, ['add', 'data']);
    await ok(alice, ['commit', '-m', 'raw']);
    await ok(alice, ['remote', 'add', 'origin', `${url}/proj`]);
    await ok(alice, ['push', 'origin', 'main'], 0, { env: { STRATA_TOKEN: token } });
    // The gateway's writes, in process on the server's repository (the server keeps running).
    const repo = await Repository.open(join(data, 'proj'));
    let runId: string;
    try {
      await put(repo, 'out/clean.csv', 'id,v\n1,2\n# cleaned\n');
      const c = await commitStaged(repo, 'main', { message: 'clean via S3', run: { stage: 'clean', cmd: 'python clean.py', inputs: ['main/data/raw.csv'] } });
      runId = c.run!;
    } finally {
      await repo.close();
    }
    await ok(alice, ['pull'], 0, { env: { STRATA_TOKEN: token } });
    assert.equal(await fsp.readFile(join(alice, 'out/clean.csv'), 'utf8'), 'id,v\n1,2\n# cleaned\n');
    const runs = JSON.parse((await ok(alice, ['runs', '--json'])).stdout) as Array<{ id: string; stage: string }>;
    assert.ok(runs.some((r) => r.id === runId && r.stage === 'clean'), JSON.stringify(runs));
    const lin = (await ok(alice, ['lineage', 'out/clean.csv'])).stdout;
    assert.match(lin, /clean/);
    assert.match(lin, /data\/raw\.csv/);
  });
});

describe('S3 gateway writes: a repository whose objects are in S3 (strata serve --store s3://)', () => {
  let s3: S3rverHandle;
  let t: Awaited<ReturnType<typeof tempDir>>;
  let repo: Repository;
  before(async () => {
    s3 = await startS3rver({ buckets: ['objects'] });
    t = await tempDir('strata-gw-s3-');
    await ok(t.dir, ['init']);
    await writeFiles(t.dir, { 'data/a.csv': 'a\n' });
    await ok(t.dir, ['add', 'data']);
    await ok(t.dir, ['commit', '-m', 'first']);
    // The server opens the repository over a bucket (its metadata stays in .strata).
    repo = await Repository.openAt(t.dir, { objects: new S3Store(s3.storeOptions('objects', 'repo')) });
  });
  after(async () => {
    await repo?.close();
    await s3?.stop();
    await t?.cleanup();
  });

  it('puts (small and chunked), a multipart upload and a commit write their objects to the bucket', async () => {
    const big = seededBytes(9 << 20, 4);
    const o1 = await put(repo, 'x/small.txt', 'small\n');
    const o2 = await put(repo, 'x/big.bin', big);
    assert.ok(o2.entry.chunks);
    const part1 = seededBytes(MIN_PART_SIZE, 8);
    const part2 = Buffer.from('end');
    const u = await createUpload(repo, 'main', 'x/mp.bin');
    await uploadPart(repo, u.id, 1, await body(repo, part1), md5(part1));
    await uploadPart(repo, u.id, 2, await body(repo, part2), md5(part2));
    const o3 = await completeUpload(repo, u.id, [{ partNumber: 1, etag: md5(part1) }, { partNumber: 2, etag: md5(part2) }]);
    assert.equal(o3.entry.id, hashBytes(Buffer.concat([part1, part2])));
    const c = await commitStaged(repo, 'main', { message: 'into the bucket' });
    assert.equal(c.changes.length, 3);
    assert.deepEqual(await missingIds(repo, [o1.entry.id, o2.entry.chunks!, o3.entry.id, c.commit]), []);
    // Nothing went to .strata/objects: it is all in the bucket.
    const local = await Repository.open(t.dir);
    try {
      assert.deepEqual(await missingIds(local, [o1.entry.id, o3.entry.id]), [o1.entry.id, o3.entry.id]);
    } finally {
      await local.close();
    }
    assert.ok((await catBytes(repo, 'main:x/big.bin')).equals(big));
  });
});
