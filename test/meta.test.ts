/**
 * The metadata database on real SQLite files: migrations from empty, schema version, refs moved by
 * compare-and-swap, transactions that roll back as a whole, and refusing a newer schema.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MetaDb, SCHEMA_VERSION } from '../core/meta/db.js';
import { MIGRATIONS } from '../core/meta/schema.js';
import { isStrataError, EXIT_CODES } from '../core/errors/index.js';
import { ok, strata } from './helpers/cli.js';

const dir = await fsp.mkdtemp(join(tmpdir(), 'strata-meta-'));
after(() => fsp.rm(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => MetaDb.open(join(dir, `m${n++}.db`), { create: true });

function conflict(fn: () => unknown, expected: string | null, actual: string | null): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isStrataError(e, 'REF_CONFLICT'), String(e));
    assert.deepEqual((e as { details?: unknown }).details, { ref: 'refs/heads/main', expected, actual });
    return true;
  });
}

describe('MetaDb', () => {
  it('migrates an empty file to the current schema, and reopening is a no-op', () => {
    const path = join(dir, 'empty.db');
    const db = MetaDb.open(path, { create: true });
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    assert.equal(db.schemaVersion(), SCHEMA_VERSION);
    const tables = (db.db.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    for (const t of ['commits', 'config', 'idx', 'meta', 'refs', 'stat_cache', 'tags', 'tracked', 'trees']) assert.ok(tables.includes(t), `table ${t}`);
    assert.equal(db.db.pragma('journal_mode', { simple: true }), 'wal');
    db.setConfig('user.name', 'Ada');
    db.close();
    const again = MetaDb.open(path);
    assert.equal(again.schemaVersion(), SCHEMA_VERSION);
    assert.equal(again.getConfig('user.name'), 'Ada');
    again.close();
    const ro = MetaDb.open(path, { readonly: true });
    assert.equal(ro.getConfig('user.name'), 'Ada');
    ro.close();
  });

  it('a missing database without create is NOT_A_REPOSITORY', () => {
    assert.throws(() => MetaDb.open(join(dir, 'nope', 'x.db')), (e: unknown) => isStrataError(e, 'NOT_A_REPOSITORY'));
  });

  it('casRef: create, move and delete only from the expected value', () => {
    const db = fresh();
    const r = 'refs/heads/main';
    db.casRef(r, null, 'c1');
    assert.equal(db.getRef(r)?.target, 'c1');
    conflict(() => db.casRef(r, null, 'c2'), null, 'c1'); // must-not-exist, but exists
    conflict(() => db.casRef(r, 'c0', 'c2'), 'c0', 'c1'); // stale expectation
    assert.equal(db.getRef(r)?.target, 'c1');
    db.casRef(r, 'c1', 'c2');
    assert.equal(db.getRef(r)?.target, 'c2');
    conflict(() => db.casRef(r, 'c1', null), 'c1', 'c2'); // delete with a stale expectation
    db.casRef(r, 'c2', null);
    assert.equal(db.getRef(r), null);
    conflict(() => db.casRef(r, 'c2', 'c3'), 'c2', null); // move a ref that is gone
    db.casRef(r, null, null); // nothing to nothing: no-op
    assert.equal(db.getRef(r), null);
    db.close();
  });

  it('two connections: the second CAS from the same starting point loses', () => {
    const path = join(dir, 'two.db');
    const a = MetaDb.open(path, { create: true });
    const b = MetaDb.open(path);
    a.tx(() => a.casRef('refs/heads/main', null, 'c1'));
    const seenByB = b.getRef('refs/heads/main')!.target;
    a.tx(() => a.casRef('refs/heads/main', 'c1', 'c2'));
    conflict(() => b.tx(() => b.casRef('refs/heads/main', seenByB, 'c3')), 'c1', 'c2');
    assert.equal(a.getRef('refs/heads/main')?.target, 'c2');
    a.close();
    b.close();
  });

  it('a failing transaction leaves nothing behind', () => {
    const db = fresh();
    db.casRef('refs/heads/main', null, 'c1');
    assert.throws(() =>
      db.tx(() => {
        db.casRef('refs/heads/x', null, 'c9');
        db.upsertIndex([{ path: 'data/a', type: 'file', exec: false, size: 1, id: 'a'.repeat(64), chunks: null, target: null }]);
        db.casRef('refs/heads/main', 'wrong', 'c2');
      }),
    );
    assert.equal(db.getRef('refs/heads/x'), null);
    assert.equal(db.indexCount(), 0);
    assert.equal(db.getRef('refs/heads/main')?.target, 'c1');
    db.close();
  });

  it('listRefs is prefix-bounded and sorted', () => {
    const db = fresh();
    for (const r of ['refs/heads/b', 'refs/heads/a', 'refs/tags/v1', 'refs/heads/a/x', 'refs/remotes/o/main']) db.casRef(r, null, 'c');
    assert.deepEqual(db.listRefs('refs/heads/').map((r) => r.name), ['refs/heads/a', 'refs/heads/a/x', 'refs/heads/b']);
    assert.deepEqual(db.listRefs('refs/tags/').map((r) => r.name), ['refs/tags/v1']);
    db.close();
  });

  it('commit prefix lookup finds unique and ambiguous prefixes', () => {
    const db = fresh();
    const row = (id: string) => ({ id, tree: 't', parents: [], authorName: 'a', authorEmail: 'e', time: 1, message: 'm', codeCommit: null, codeDirty: false });
    db.putCommit(row('abcd' + '0'.repeat(60)), Buffer.from('x'));
    db.putCommit(row('abcd' + 'f'.repeat(60)), Buffer.from('y'));
    db.putCommit(row('abce' + '0'.repeat(60)), Buffer.from('z'));
    assert.equal(db.commitIdsByPrefix('abcd', 10).length, 2);
    assert.deepEqual(db.commitIdsByPrefix('abce', 10), ['abce' + '0'.repeat(60)]);
    assert.deepEqual(db.commitIdsByPrefix('abcdf', 10), ['abcd' + 'f'.repeat(60)]);
    assert.deepEqual(db.commitIdsByPrefix('abcf', 10), []);
    db.close();
  });

  it('a database written by a newer schema is refused with SCHEMA_TOO_NEW (and left untouched)', async () => {
    const path = join(dir, 'newer.db');
    const db = MetaDb.open(path, { create: true });
    db.db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
    db.close();
    for (const readonly of [false, true]) {
      assert.throws(() => MetaDb.open(path, { readonly }), (e: unknown) => {
        assert.ok(isStrataError(e, 'SCHEMA_TOO_NEW'), String(e));
        assert.match((e as Error).message, new RegExp(`schema ${SCHEMA_VERSION + 1}, newer than this strata understands \\(${SCHEMA_VERSION}\\)`));
        return true;
      });
    }
    // Through the CLI: a repository whose DB is newer exits 3 and says to upgrade.
    const repo = join(dir, 'newer-repo');
    await ok(dir, ['init', repo]);
    const m = MetaDb.open(join(repo, '.strata', 'strata.db'));
    m.db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 5));
    m.close();
    const r = await strata(repo, ['status']);
    assert.equal(r.code, EXIT_CODES.SCHEMA_TOO_NEW);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /newer than this strata understands/);
    assert.match(r.stderr, /hint: upgrade strata/);
  });
});
