/**
 * The configuration registry through the real CLI: invalid values are refused for every key type
 * (and nothing is stored), unknown keys get a "did you mean", keys Strata sets itself and secrets
 * are refused naming what to use instead, booleans mean what they say, a value left in the
 * database by an older version gives CONFIG_INVALID naming `strata config unset KEY` (never an
 * internal error), and the key list in docs/cli.md equals the registry.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ok, ROOT, strata, tempDir, writeFiles } from './helpers/cli.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { CONFIG_KEYS, readBool, readList, readString, validateSet } from '../core/config/registry.js';
import { StrataError } from '../core/errors/index.js';

const CONFIG_INVALID = EXIT_CODES.CONFIG_INVALID;

/** Write a config row the way an older version (or a hand edit) would have. */
function storeRaw(dir: string, key: string, value: string | null): void {
  const db = new Database(join(dir, '.strata', 'strata.db'));
  try {
    if (value === null) db.prepare('DELETE FROM config WHERE key = ?').run(key);
    else db.prepare('INSERT INTO config(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  } finally {
    db.close();
  }
}

describe('config registry', () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  const list = async () => JSON.parse((await ok(dir, ['config', 'list', '--json'])).stdout) as Array<{ key: string; value: string }>;

  before(async () => {
    t = await tempDir('strata-config-');
    dir = t.dir;
    await ok(dir, ['init']);
    await writeFiles(dir, { 'data/a.csv': 'x\n1\n' });
  });
  after(async () => t.cleanup());

  it('refuses invalid values for each key type, storing nothing', async () => {
    const before = await list();
    const cases: Array<[string, string, RegExp]> = [
      // bool
      ['core.fsync', 'maybe', /true or false/],
      ['core.fsync', '', /true or false/],
      ['core.fsync', 'truee', /true or false/],
      ['server.anonymous-read', 'nope', /true or false/],
      ['server.anonymous-read', 'private', /true or false/],
      ['server.anonymous-read', '2', /true or false/],
      // string
      ['user.name', '', /empty/],
      ['user.name', 'Ada\nLovelace', /control characters/],
      ['user.name', ' Ada', /spaces/],
      ['user.name', 'Ada <ada@x>', /< or >/],
      ['openlineage.namespace', 'a\tb', /control characters/],
      ['openlineage.namespace', 'x'.repeat(1025), /longer than 1024/],
      // email
      ['user.email', 'bob', /not an email/],
      ['user.email', 'bob@', /not an email/],
      ['user.email', 'a b@example.com', /not an email/],
      // url
      ['openlineage.url', 'marquez:5000', /http\(s\) URL|not a URL/],
      ['openlineage.url', 'ftp://marquez/api', /http\(s\) URL/],
      ['openlineage.url', 'not a url', /spaces|not a URL/],
      ['openlineage.url', 'http://user:pw@marquez:5000/api/v1/lineage', /credentials/],
      ['openlineage.url', 'http://marquez:5000/api/v1/lineage?token=abc', /credentials/],
      // path
      ['openlineage.file', '.strata/events.jsonl', /inside \.strata or \.git/],
      ['openlineage.file', 'http://x/events', /only a path or a file:\/\/ URL/],
      ['openlineage.file', 'a\nb', /control characters/],
      // remote name
      ['remote.default', 'bad/name', /not a remote name/],
      ['remote.default', '..', /not a remote name/],
    ];
    for (const [key, value, why] of cases) {
      const r = await strata(dir, ['config', 'set', key, value]);
      assert.equal(r.code, CONFIG_INVALID, `${key}=${JSON.stringify(value)}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^error: invalid value .* for ${key.replace(/\./g, '\\.')}: `), `${key}: ${r.stderr}`);
      assert.match(r.stderr, why, `${key}=${JSON.stringify(value)}`);
      assert.match(r.stderr, new RegExp(`hint: e\\.g\\. strata config set ${key.replace(/\./g, '\\.')} `));
      assert.doesNotMatch(r.stderr, /internal error/);
    }
    // No secret from a refused value is repeated.
    const cred = await strata(dir, ['config', 'set', 'openlineage.url', 'http://user:pw5ecret@marquez:5000/x']);
    assert.doesNotMatch(cred.stderr + cred.stdout, /pw5ecret/);
    assert.deepEqual(await list(), before, 'nothing was stored');
  });

  it('refuses keys Strata sets itself and secrets, naming what to use instead', async () => {
    const internal = await strata(dir, ['config', 'set', 'core.sparse', 'notjson']);
    assert.equal(internal.code, CONFIG_INVALID);
    assert.match(internal.stderr, /core\.sparse is set by Strata itself/);
    assert.match(internal.stderr, /hint: strata clone\/pull/);
    const url = await strata(dir, ['config', 'set', 'remote.origin.url', '/tmp']);
    assert.equal(url.code, CONFIG_INVALID);
    assert.match(url.stderr, /hint: strata remote add/);
    const key = await strata(dir, ['config', 'set', 'openlineage.apiKey', 'abc123']);
    assert.equal(key.code, CONFIG_INVALID);
    assert.match(key.stderr, /secret/);
    assert.match(key.stderr, /OPENLINEAGE_API_KEY/);
    assert.match(key.stderr, /strata\/credentials/);
    assert.equal((await list()).length, 0);
    // The old breakage: `config set core.sparse notjson` then `add` printed "internal error".
    await ok(dir, ['add', 'data']);
  });

  it('unknown keys: CONFIG_INVALID with "did you mean"', async () => {
    const typo = await strata(dir, ['config', 'set', 'core.fsnc', 'true']);
    assert.equal(typo.code, CONFIG_INVALID);
    assert.match(typo.stderr, /unknown config key "core\.fsnc"; did you mean core\.fsync\?/);
    const ns = await strata(dir, ['config', 'set', 'openlineage.namespce', 'x']);
    assert.match(ns.stderr, /did you mean openlineage\.namespace\?/);
    const rd = await strata(dir, ['config', 'set', 'remote.defualt', 'origin']);
    assert.match(rd.stderr, /did you mean remote\.default\?/);
    const foo = await strata(dir, ['config', 'set', 'foo.bar', '1']);
    assert.equal(foo.code, CONFIG_INVALID);
    assert.match(foo.stderr, /unknown config key "foo\.bar"/);
    const get = await strata(dir, ['config', 'get', 'user.nmae']);
    assert.equal(get.code, CONFIG_INVALID);
    assert.match(get.stderr, /did you mean user\.name\?/);
    assert.equal((await list()).length, 0);
  });

  it('booleans: git spellings accepted and stored as what they mean', async () => {
    const spellings: Array<[string, string]> = [
      ['yes', 'true'], ['On', 'true'], ['1', 'true'], ['TRUE', 'true'],
      ['no', 'false'], ['False', 'false'], ['0', 'false'], ['off', 'false'],
    ];
    for (const [typed, stored] of spellings) {
      const r = await ok(dir, ['config', 'set', 'server.anonymous-read', typed, '--json']);
      assert.deepEqual(JSON.parse(r.stdout), { key: 'server.anonymous-read', value: stored });
      assert.equal((await ok(dir, ['config', 'get', 'server.anonymous-read'])).stdout.trim(), stored, typed);
    }
    await ok(dir, ['config', 'unset', 'server.anonymous-read']);
    await ok(dir, ['config', 'set', 'core.fsync', 'no']);
    assert.equal((await ok(dir, ['config', 'get', 'core.fsync'])).stdout.trim(), 'false');
    await ok(dir, ['config', 'unset', 'core.fsync']);
  });

  it('an invalid value stored by an older version: CONFIG_INVALID naming config unset, then fixable', async () => {
    storeRaw(dir, 'core.sparse', 'notjson');
    await writeFiles(dir, { 'data/b.csv': 'y\n2\n' });
    const add = await strata(dir, ['add', 'data']);
    assert.equal(add.code, CONFIG_INVALID, add.stderr);
    assert.match(add.stderr, /invalid value "notjson" for core\.sparse/);
    assert.match(add.stderr, /hint: remove it with strata config unset core\.sparse/);
    assert.doesNotMatch(add.stderr, /internal error|Unexpected token/);
    const st = await strata(dir, ['status']);
    assert.equal(st.code, CONFIG_INVALID);
    await ok(dir, ['config', 'unset', 'core.sparse']);
    await ok(dir, ['add', 'data']);

    storeRaw(dir, 'user.email', 'not an email');
    const commit = await strata(dir, ['commit', '-m', 'x']);
    assert.equal(commit.code, CONFIG_INVALID, commit.stderr);
    assert.match(commit.stderr, /user\.email/);
    assert.match(commit.stderr, /strata config unset user\.email/);
    await ok(dir, ['config', 'unset', 'user.email']);
    await ok(dir, ['commit', '-m', 'x']);

    // A key every command reads fails safe (fsync stays on) instead of locking the user out; list warns.
    storeRaw(dir, 'core.fsync', 'sometimes');
    await ok(dir, ['status']);
    const l = await ok(dir, ['config', 'list']);
    assert.match(l.stderr, /warning: core\.fsync holds an invalid value "sometimes".*read as true.*strata config unset core\.fsync/);
    // A key the current version does not know can still be removed.
    storeRaw(dir, 'legacy.thing', '1');
    await ok(dir, ['config', 'unset', 'legacy.thing']);
    await ok(dir, ['config', 'unset', 'core.fsync']);
  });

  it('an openlineage.apiKey left in the repository config is hidden and ignored with a warning', async () => {
    storeRaw(dir, 'openlineage.apiKey', 'oldRepoKey123');
    const l = await ok(dir, ['config', 'list']);
    assert.doesNotMatch(l.stdout + l.stderr, /oldRepoKey123/);
    assert.match(l.stderr, /openlineage\.apiKey in the repository config is ignored.*OPENLINEAGE_API_KEY/);
    const g = await ok(dir, ['config', 'get', 'openlineage.apiKey']);
    assert.doesNotMatch(g.stdout, /oldRepoKey123/);
    await ok(dir, ['config', 'unset', 'openlineage.apiKey']);
  });

  it('docs/cli.md lists exactly the registry keys', async () => {
    const cli = await readFile(join(ROOT, 'docs', 'cli.md'), 'utf8');
    const start = cli.indexOf('## strata config');
    const section = cli.slice(start, cli.indexOf('\n## ', start + 1));
    const documented = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!).sort();
    assert.deepEqual(documented, CONFIG_KEYS.map((d) => d.key).sort());
  });

  it('generated values: every accepted value reads back without error and means what was typed', () => {
    const trials = process.env.STRATA_STRESS ? 20_000 : 2000;
    const pieces = ['true', 'false', 'yes', 'no', 'on', 'off', '1', '0', 'No', 'FALSE', 'x', '@', 'a@b', 'http://', 'https://h/p', 'u:p@', '?token=t', ' ', '\n', '\t', '\u0000', '.strata/', '[', ']', '"', '{}', '["a"]', 'é', '-', '.', '..', '/'];
    let x = 777;
    const rnd = (n: number) => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x % n;
    };
    const keys = CONFIG_KEYS.map((d) => d.key.replace('<name>', 'origin'));
    for (let i = 0; i < trials; i++) {
      const key = keys[rnd(keys.length)]!;
      let v = '';
      for (let k = 0, n = 1 + rnd(3); k < n; k++) v += pieces[rnd(pieces.length)]!;
      let stored: string;
      try {
        stored = validateSet(key, v);
      } catch (e) {
        assert.ok(e instanceof StrataError && e.code === 'CONFIG_INVALID' && e.hint, `${key}=${JSON.stringify(v)}: ${String(e)}`);
        continue;
      }
      const db = { getConfig: (k: string) => (k === key ? stored : null) };
      const def = CONFIG_KEYS.find((d) => d.key.replace('<name>', 'origin') === key)!;
      assert.equal(def.settable, 'user', `${key} accepted`);
      if (def.type === 'bool') {
        const b = readBool(db, key);
        const typed = v.trim().toLowerCase();
        assert.equal(b, ['true', 'yes', 'on', '1'].includes(typed), `${key}=${JSON.stringify(v)} read as ${b}`);
        assert.ok(['true', 'yes', 'on', '1', 'false', 'no', 'off', '0'].includes(typed));
      } else if (def.type === 'json-list') readList(db, key);
      else assert.equal(readString(db, key), v);
    }
  });
});
