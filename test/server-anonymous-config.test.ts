/**
 * `server.anonymous-read` can only mean what it says. A real `strata serve` browses a project
 * (anonymous read on by default); the project's config is changed with the real CLI while it runs.
 * Every false spelling (no, False, 0, off) makes the API answer 401 without a token; an invalid
 * value is refused by `config set`, and one written into the database by hand reads as false
 * (never widens access). Old code took anything but "true"/"false" as "use the server default",
 * which made `no` public.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { BIN, ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { raw } from './helpers/server.js';
import { EXIT_CODES } from '../core/errors/index.js';

describe('server.anonymous-read spellings never widen access', () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  let server: ChildProcess;
  let url: string;
  let name: string;
  let stderr = '';

  const status = async () => (await raw(url, 'GET', `/api/repos/${name}/log`)).status;

  before(async () => {
    t = await tempDir('strata-anon-');
    dir = join(t.dir, 'proj');
    name = basename(dir);
    await writeFiles(dir, { 'data/a.csv': 'x\n' });
    await ok(dir, ['init']);
    await ok(dir, ['add', 'data']);
    await ok(dir, ['commit', '-m', 'one']);
    server = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url":\s*"([^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
      server.on('exit', (c) => reject(new Error(`server exited ${c}: ${stderr}`)));
    });
  });
  after(async () => {
    if (server.exitCode === null) {
      const done = new Promise((r) => server.on('exit', r));
      server.kill('SIGTERM');
      await done;
    }
    await t.cleanup();
  });

  it('public by default; every false spelling makes it private (401 without a token)', async () => {
    assert.equal(await status(), 200, 'anonymous read is the server default');
    for (const v of ['no', 'False', '0', 'off', 'NO', 'false']) {
      await ok(dir, ['config', 'set', 'server.anonymous-read', 'true']);
      assert.equal(await status(), 200, 'true: public');
      await ok(dir, ['config', 'set', 'server.anonymous-read', v]);
      assert.equal(await status(), 401, `server.anonymous-read ${v}: private`);
    }
  });

  it('an invalid value is refused and changes nothing; a stored invalid value reads as false', async () => {
    await ok(dir, ['config', 'set', 'server.anonymous-read', 'false']);
    for (const v of ['nope', 'private', 'ja', '', '2', 'true!']) {
      const r = await strata(dir, ['config', 'set', 'server.anonymous-read', v]);
      assert.equal(r.code, EXIT_CODES.CONFIG_INVALID, `${v}: ${r.stderr}`);
      assert.equal(await status(), 401, `after refused ${JSON.stringify(v)}`);
    }
    await ok(dir, ['config', 'set', 'server.anonymous-read', 'yes']);
    assert.equal(await status(), 200);
    // Values an older version stored as typed.
    for (const [v, want] of [['no', 401], ['off', 401], ['On', 200], ['nope', 401], ['', 401]] as const) {
      const db = new Database(join(dir, '.strata', 'strata.db'));
      try {
        db.prepare("UPDATE config SET value = ? WHERE key = 'server.anonymous-read'").run(v);
      } finally {
        db.close();
      }
      assert.equal(await status(), want, `stored ${JSON.stringify(v)}`);
    }
    await ok(dir, ['config', 'unset', 'server.anonymous-read']);
    assert.equal(await status(), 200, 'unset: the server default again');
  });
});
