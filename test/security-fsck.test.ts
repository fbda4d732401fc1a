/**
 * fsck and fsck --repair against damage made on disk, through the real CLI: a missing, truncated
 * or wrongly indexed pack, a damaged page of strata.db, a damaged tree-cache row, and a chunked
 * file whose (correctly hashed) chunks do not make up the file its tree entry claims.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, readTreeBytes, seededBytes, strata, tempDir, writeFiles, type RunResult } from './helpers/cli.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { commitId, parseCommit, parseManifest, parseTree, serializeManifest, treeId, type Tree } from '../core/model/index.js';
import { decodePackIndex } from '../core/format/pack-index.js';

const require = createRequire(import.meta.url);
type Db = { prepare(sql: string): { get(...a: unknown[]): unknown; all(...a: unknown[]): unknown[]; run(...a: unknown[]): unknown }; pragma(s: string): unknown; close(): void };
const Database = require('better-sqlite3') as new (path: string, opts?: Record<string, unknown>) => Db;

let tmp = '';
let cleanup: () => Promise<void> = async () => {};

const FILES: Record<string, string> = {};
for (let i = 0; i < 12; i++) FILES[`data/part-${String(i).padStart(2, '0')}.csv`] = `id,value\n${i},${'x'.repeat(40 + i)}\n`;
FILES['data/sub/deep.txt'] = 'deep\n';

/** A repository with two commits, pushed to a file:// remote; returns its path and the remote's. */
async function makeRepo(name: string, withRemote = true): Promise<{ dir: string; remote: string }> {
  const dir = join(tmp, name);
  const remote = join(tmp, `${name}-remote`);
  await fsp.mkdir(dir, { recursive: true });
  await ok(dir, ['init']);
  await writeFiles(dir, FILES);
  await ok(dir, ['add', 'data']);
  await ok(dir, ['commit', '-m', 'first']);
  await writeFiles(dir, { 'data/late.csv': 'late\n' });
  await ok(dir, ['add', 'data']);
  await ok(dir, ['commit', '-m', 'second']);
  if (withRemote) {
    await ok(dir, ['remote', 'add', 'origin', remote]);
    await ok(dir, ['push']);
  }
  return { dir, remote };
}

async function packs(dir: string): Promise<string[]> {
  return (await fsp.readdir(join(dir, '.strata/objects/pack'))).filter((n) => n.endsWith('.pack')).sort();
}

/** The pack listing the most objects (the data files of the first commit). */
async function biggestPack(dir: string): Promise<string> {
  let best = '';
  let count = -1;
  for (const p of await packs(dir)) {
    const st = await fsp.stat(join(dir, '.strata/objects/pack', p.replace(/\.pack$/, '.idx')));
    const n = (st.size - 15) / 48;
    if (n > count) [best, count] = [p, n];
  }
  return join(dir, '.strata/objects/pack', best);
}

function noCrash(r: RunResult, what: string): void {
  assert.doesNotMatch(r.stderr, /internal error|Unhandled|at .*\.js:\d+|ERR_UNHANDLED/, `${what}: no crash or stack trace\n${r.stderr}`);
}

async function assertAllData(dir: string): Promise<void> {
  for (const [p, c] of Object.entries({ ...FILES, 'data/late.csv': 'late\n' })) {
    const r = await ok(dir, ['cat', `HEAD:${p}`]);
    assert.equal(r.stdout, c, `content of ${p}`);
  }
}

describe('fsck finds damage and --repair mends it', () => {
  before(async () => {
    await initHash();
    ({ dir: tmp, cleanup } = await tempDir('strata-fsck-'));
  });
  after(async () => cleanup());

  it('a missing .pack: fsck names it and what it affects (exit 11), --repair fetches the objects from the file:// remote', async () => {
    const { dir } = await makeRepo('missing-pack');
    const pack = await biggestPack(dir);
    await fsp.rm(pack);
    const f = await strata(dir, ['fsck']);
    noCrash(f, 'fsck');
    assert.equal(f.code, 11, f.stderr);
    assert.ok(f.stderr.includes(pack), `names the missing file:\n${f.stderr}`);
    assert.match(f.stderr, /missing blob .* \(data\/part-\d\d\.csv in commit [0-9a-f]{12}\)/, 'names the paths it affects');
    assert.match(f.stderr, /hint: run strata fsck --repair/);
    const j = JSON.parse((await strata(dir, ['fsck', '--json'])).stdout) as { ok: boolean; problems: Array<{ kind: string; file?: string }>; repair: string };
    assert.equal(j.ok, false);
    assert.ok(j.problems.some((p) => p.kind === 'pack' && p.file === pack));
    assert.equal(j.repair, 'strata fsck --repair');

    const r = await strata(dir, ['fsck', '--repair', '--json']);
    noCrash(r, 'fsck --repair');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const rep = JSON.parse(r.stdout) as { ok: boolean; repaired: Array<{ what: string; detail: string }> };
    assert.equal(rep.ok, true);
    assert.ok(rep.repaired.some((a) => a.what === 'fetched' && /from remote origin/.test(a.detail)), JSON.stringify(rep.repaired));
    await ok(dir, ['fsck']);
    await assertAllData(dir);
  });

  it('a truncated .pack: fsck reports it, --repair keeps the intact objects and fetches the cut-off ones', async () => {
    const { dir } = await makeRepo('truncated-pack');
    const pack = await biggestPack(dir);
    const st = await fsp.stat(pack);
    await fsp.truncate(pack, Math.floor(st.size / 2));
    const f = await strata(dir, ['fsck']);
    noCrash(f, 'fsck');
    assert.equal(f.code, 11);
    assert.match(f.stderr, /truncated/);
    assert.ok(f.stderr.includes(pack));
    const r = await strata(dir, ['fsck', '--repair']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /repaired pack: .*intact object\(s\) copied to a new pack/);
    assert.match(r.stdout, /repaired fetched: \d+ missing object\(s\) fetched from remote origin/);
    await ok(dir, ['fsck']);
    await assertAllData(dir);
    // The damaged files are kept for inspection, outside the live pack folder.
    assert.ok((await fsp.readdir(join(dir, '.strata/objects/damaged'))).length >= 1);
  });

  it('a damaged .idx: other commands keep working, fsck reports the index file, --repair refetches', async () => {
    const { dir } = await makeRepo('bad-idx');
    const pack = await biggestPack(dir);
    const idx = pack.replace(/\.pack$/, '.idx');
    const buf = await fsp.readFile(idx);
    buf.fill(0x5a, 0, 16); // the header
    await fsp.writeFile(idx, buf);
    const s = await strata(dir, ['status']);
    noCrash(s, 'status');
    assert.equal(s.code, 0, `status is not stopped by one damaged index: ${s.stderr}`);
    const f = await strata(dir, ['fsck']);
    noCrash(f, 'fsck');
    assert.equal(f.code, 11);
    assert.ok(f.stderr.includes(idx), `names the index file:\n${f.stderr}`);
    assert.match(f.stderr, /missing blob/);
    const r = await strata(dir, ['fsck', '--repair']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await ok(dir, ['fsck']);
    await assertAllData(dir);
  });

  it('--repair without a remote that has the objects: says what is left and how to get it (exit 11)', async () => {
    const { dir } = await makeRepo('no-remote', false);
    await fsp.rm(await biggestPack(dir));
    const f = await strata(dir, ['fsck']);
    assert.equal(f.code, 11);
    assert.match(f.stderr, /hint: run strata fsck --repair to repair 1 of them; for the missing objects, first add a remote that has them \(strata remote add NAME URL\)/);
    const r = await strata(dir, ['fsck', '--repair']);
    noCrash(r, 'fsck --repair');
    assert.equal(r.code, 11);
    assert.match(r.stderr, /missing blob/);
    assert.match(r.stderr, /hint: the missing objects are on no configured remote: add a remote that has them \(strata remote add NAME URL\)/);
  });

  it('a damaged page of strata.db: status gives one clear error naming fsck --repair; fsck reports it; --repair rebuilds with all data', async () => {
    const { dir } = await makeRepo('bad-db');
    const dbFile = join(dir, '.strata/strata.db');
    // Find the pages of the staging index table (status reads it) after a checkpoint.
    const db = new Database(dbFile);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
    const rootPage = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'idx'").get() as { rootpage: number }).rootpage;
    const total = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    db.close();
    assert.ok(rootPage > 1 && rootPage <= total);
    const fh = await fsp.open(dbFile, 'r+');
    await fh.write(seededBytes(pageSize, 77), 0, pageSize, (rootPage - 1) * pageSize);
    await fh.close();

    const s = await strata(dir, ['status']);
    noCrash(s, 'status');
    assert.equal(s.code, 11, s.stderr);
    assert.match(s.stderr, /^error: the metadata database .*strata\.db\) is damaged/m);
    assert.match(s.stderr, /hint: .*strata fsck --repair/);
    const sj = JSON.parse((await strata(dir, ['status', '--json'])).stdout) as { error: { code: string } };
    assert.equal(sj.error.code, 'DB_CORRUPT');

    const f = await strata(dir, ['fsck']);
    noCrash(f, 'fsck');
    assert.equal(f.code, 11);
    assert.match(f.stderr, /corrupt database .*strata\.db/);

    const r = await strata(dir, ['fsck', '--repair']);
    noCrash(r, 'fsck --repair');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /repaired database: strata\.db rebuilt/);
    const kept = (await fsp.readdir(join(dir, '.strata'))).filter((n) => /^strata\.db\.corrupt-/.test(n));
    assert.ok(kept.length >= 1, 'the damaged database is kept');
    const st = await ok(dir, ['status', '--porcelain']);
    assert.equal(st.stdout, '', 'workspace matches HEAD again');
    const log = await ok(dir, ['log', '--json']);
    const commits = JSON.parse(log.stdout) as Array<{ message: string }>;
    assert.deepEqual(commits.map((c) => c.message.trim()), ['second', 'first']);
    await assertAllData(dir);
    await ok(dir, ['fsck']);
    // And the repository keeps working.
    await writeFiles(dir, { 'data/after.csv': 'after\n' });
    await ok(dir, ['add', 'data']);
    await ok(dir, ['commit', '-m', 'after repair']);
  });

  it('the page holding the refs destroyed: --repair recovers the branch from the commits in the store', async () => {
    const { dir } = await makeRepo('bad-refs-page', false);
    const dbFile = join(dir, '.strata/strata.db');
    const db = new Database(dbFile);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
    const rootPage = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'refs'").get() as { rootpage: number }).rootpage;
    const head = (db.prepare("SELECT target FROM refs WHERE name = 'refs/heads/main'").get() as { target: string }).target;
    db.close();
    const fh = await fsp.open(dbFile, 'r+');
    await fh.write(Buffer.alloc(pageSize, 0x41), 0, pageSize, (rootPage - 1) * pageSize);
    await fh.close();
    const s = await strata(dir, ['log']);
    assert.equal(s.code, 11, s.stderr);
    assert.match(s.stderr, /is damaged.*\nhint: .*strata fsck --repair/);
    const r = await strata(dir, ['fsck', '--repair']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`repaired ref: refs/heads/main recovered: set to the newest commit found in the store, ${head}`));
    const log = JSON.parse((await ok(dir, ['log', '--json'])).stdout) as Array<{ id: string; message: string }>;
    assert.deepEqual(log.map((c) => c.message.trim()), ['second', 'first']);
    assert.equal(log[0]!.id, head);
    assert.equal((await ok(dir, ['status', '--porcelain'])).stdout, '');
    await assertAllData(dir);
  });

  it('a commit row whose columns disagree with the commit object: fsck reports it, --repair re-indexes it', async () => {
    const { dir } = await makeRepo('bad-commit-row', false);
    const dbFile = join(dir, '.strata/strata.db');
    const db = new Database(dbFile);
    const head = (db.prepare("SELECT target FROM refs WHERE name = 'refs/heads/main'").get() as { target: string }).target;
    db.prepare('UPDATE commits SET message = ? WHERE id = ?').run('forged message', head);
    db.close();
    const f = await strata(dir, ['fsck']);
    assert.equal(f.code, 11, f.stdout + f.stderr);
    assert.ok(f.stderr.includes(`corrupt commit-cache ${head.slice(0, 12)}`), f.stderr);
    assert.match(f.stderr, /disagrees with the commit object \(message\)/);
    const r = await strata(dir, ['fsck', '--repair']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const log = JSON.parse((await ok(dir, ['log', '--json'])).stdout) as Array<{ message: string }>;
    assert.equal(log[0]!.message.trim(), 'second');
  });

  it('a damaged tree-cache row: fsck reports it, --repair fixes it, and reads fall back to the store', async () => {
    const { dir } = await makeRepo('bad-tree-cache', false);
    const dbFile = join(dir, '.strata/strata.db');
    const before = await readTreeBytes(dir);
    const damage = (): string => {
      const db = new Database(dbFile);
      const head = (db.prepare("SELECT target FROM refs WHERE name = 'refs/heads/main'").get() as { target: string }).target;
      const c = parseCommit((db.prepare('SELECT raw FROM commits WHERE id = ?').get(head) as { raw: Buffer }).raw);
      const rootTree = parseTree((db.prepare('SELECT raw FROM trees WHERE id = ?').get(c.tree) as { raw: Buffer }).raw);
      const dataId = rootTree.entries.find((e) => e.name === 'data')!.id;
      // A valid tree, but not the one with this id: trusting it would show the wrong files.
      const wrong: Tree = { entries: [{ type: 'file', name: 'forged.csv', size: 3, id: hashBytes('no\n'), exec: false }] };
      db.prepare('UPDATE trees SET raw = ? WHERE id = ?').run(treeId(wrong).bytes, dataId);
      db.close();
      return dataId;
    };
    const dataId = damage();
    const f = await strata(dir, ['fsck']);
    assert.equal(f.code, 11, f.stdout + f.stderr);
    assert.ok(f.stderr.includes(`corrupt tree-cache ${dataId.slice(0, 12)}`), f.stderr);
    assert.doesNotMatch(f.stderr, /missing tree/, 'the tree object in the store is intact: not reported missing');
    const r = await strata(dir, ['fsck', '--repair']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /repaired tree-cache: tree [0-9a-f]{64}: damaged cache row replaced by the store copy/);
    await ok(dir, ['fsck']);

    damage();
    const ls = await ok(dir, ['ls', '-r', 'HEAD']);
    assert.match(ls.stdout, /part-00\.csv/);
    assert.doesNotMatch(ls.stdout, /forged/);
    await assertAllData(dir);
    await fsp.rm(join(dir, 'data'), { recursive: true });
    await ok(dir, ['restore', 'data']);
    assert.deepEqual(await readTreeBytes(dir), before, 'restore wrote the real files, not the forged listing');
  });

  it('a chunk list of unrelated, correctly hashed chunks: fsck reports the file', async () => {
    const dir = join(tmp, 'bad-chunks');
    await fsp.mkdir(dir, { recursive: true });
    await ok(dir, ['init']);
    await writeFiles(dir, { 'data/big.bin': seededBytes(9 << 20, 5), 'data/small.csv': 'a\n' });
    await ok(dir, ['add', 'data']);
    await ok(dir, ['commit', '-m', 'big']);
    await ok(dir, ['fsck']);
    const dbFile = join(dir, '.strata/strata.db');
    const db = new Database(dbFile);
    const head = (db.prepare("SELECT target FROM refs WHERE name = 'refs/heads/main'").get() as { target: string }).target;
    const commit = parseCommit((db.prepare('SELECT raw FROM commits WHERE id = ?').get(head) as { raw: Buffer }).raw);
    const rootTree = parseTree((db.prepare('SELECT raw FROM trees WHERE id = ?').get(commit.tree) as { raw: Buffer }).raw);
    const dataEntry = rootTree.entries.find((e) => e.name === 'data')!;
    const dataTree = parseTree((db.prepare('SELECT raw FROM trees WHERE id = ?').get(dataEntry.id) as { raw: Buffer }).raw);
    const big = dataTree.entries.find((e) => e.name === 'big.bin')!;
    assert.ok(big.type === 'file' && big.chunks);
    const store = join(dir, '.strata/objects');
    // The manifest is in a pack or loose: read its bytes from the store files.
    const manifestBytes = await (async () => {
      const loose = join(store, big.chunks!.slice(0, 2), big.chunks!.slice(2));
      const b = await fsp.readFile(loose).catch(() => null);
      if (b) return b;
      for (const n of await fsp.readdir(join(store, 'pack'))) {
        if (!n.endsWith('.idx')) continue;
        const idx = decodePackIndex(await fsp.readFile(join(store, 'pack', n)));
        for (const { id, offset: off, size } of idx.entries) {
          if (id !== big.chunks) continue;
          const fh = await fsp.open(join(store, 'pack', n.replace(/\.idx$/, '.pack')), 'r');
          const out = Buffer.alloc(size);
          await fh.read(out, 0, size, off);
          await fh.close();
          return out;
        }
      }
      throw new Error('manifest not found');
    })();
    assert.equal(hashBytes(manifestBytes), big.chunks);
    const m = parseManifest(manifestBytes);
    assert.ok(m.chunks.length >= 2, 'the file has several chunks');
    // Same chunks, same total size, another order: every object hashes right, the file does not.
    const forged = serializeManifest({ size: m.size, chunks: [...m.chunks].reverse() });
    const forgedId = hashBytes(forged);
    const putLoose = async (id: string, bytes: Buffer): Promise<void> => {
      await fsp.mkdir(join(store, id.slice(0, 2)), { recursive: true });
      await fsp.writeFile(join(store, id.slice(0, 2), id.slice(2)), bytes);
    };
    await putLoose(forgedId, forged);
    const newData = treeId({ entries: dataTree.entries.map((e) => (e.name === 'big.bin' ? { ...e, chunks: forgedId } : e)) });
    await putLoose(newData.id, newData.bytes);
    const newRoot = treeId({ entries: rootTree.entries.map((e) => (e.name === 'data' ? { ...e, id: newData.id } : e)) });
    await putLoose(newRoot.id, newRoot.bytes);
    const c2 = commitId({ ...commit, tree: newRoot.id, parents: [head], message: 'forged chunk list', time: commit.time + 1 });
    await putLoose(c2.id, c2.bytes);
    db.prepare("UPDATE refs SET target = ? WHERE name = 'refs/heads/main'").run(c2.id);
    db.close();

    const f = await strata(dir, ['fsck']);
    noCrash(f, 'fsck');
    assert.equal(f.code, 11, `a forged chunk list must not pass fsck:\n${f.stdout}${f.stderr}`);
    assert.match(f.stderr, /bad-content manifest [0-9a-f]{12} \(data\/big\.bin in commit [0-9a-f]{12}\): the chunks listed by [0-9a-f]{64} hash to [0-9a-f]{64} together, not to the file id the tree claims/);
    const j = JSON.parse((await strata(dir, ['fsck', '--json'])).stdout) as { problems: Array<{ problem: string; path?: string; repairable?: boolean }> };
    assert.deepEqual(j.problems.map((p) => [p.problem, p.path, p.repairable]), [['bad-content', 'data/big.bin', false]]);
  });
});
