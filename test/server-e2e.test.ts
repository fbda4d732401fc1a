/**
 * End to end through the real binary: `strata serve --data DIR` in a child process, a token from
 * `strata serve token create`, then push over HTTP, clone into a new folder (byte-identical), a
 * second client pulls a later push, auth failures surface as clear errors, and SIGTERM shuts the
 * server down cleanly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { BIN, ok, readTreeBytes, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let server: ChildProcess;
let url: string;
let stderr = '';
let exited: Promise<number | null>;

before(async () => {
  tmp = await tempDir('strata-srv-e2e-');
  server = spawn(process.execPath, [BIN, 'serve', '--data', join(tmp.dir, 'srv'), '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  exited = new Promise((r) => server.on('exit', (code) => r(code)));
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
  if (server.exitCode === null) server.kill('SIGKILL');
  await tmp.cleanup();
});

describe('push / clone / pull over HTTP through the CLI', () => {
  let token: string;
  const alice = () => join(tmp.dir, 'alice');
  const bob = () => join(tmp.dir, 'bob');

  it('token create prints a token once; list shows it without the secret', async () => {
    const r = await ok(tmp.dir, ['serve', 'token', 'create', '--repo', 'proj', '--write', '--data', join(tmp.dir, 'srv')]);
    token = r.stdout.trim();
    assert.match(token, /^strata_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const l = await ok(tmp.dir, ['serve', 'token', 'list', '--data', join(tmp.dir, 'srv')]);
    assert.ok(l.stdout.includes(token.slice(7, 19)));
    assert.ok(!l.stdout.includes(token.slice(20)));
  });

  it('push needs a token, then pushes; clone is byte-identical', async () => {
    await writeFiles(alice(), {
      'data/a.csv': 'id,v\n1,2\n',
      'data/img/x.bin': seededBytes(200_000, 3),
      ...Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`data/many/f${i}.txt`, `file ${i}\n`])),
    });
    await ok(alice(), ['init']);
    await ok(alice(), ['add', 'data']);
    await ok(alice(), ['commit', '-m', 'first']);
    await ok(alice(), ['remote', 'add', 'origin', `${url}/proj`]);
    const denied = await strata(alice(), ['push', 'origin', 'main'], { env: { STRATA_TOKEN: undefined, HOME: tmp.dir, XDG_CONFIG_HOME: join(tmp.dir, 'cfg') } });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /token|STRATA_TOKEN|auth/i);
    await ok(alice(), ['push', 'origin', 'main'], 0, { env: { STRATA_TOKEN: token } });
    // The server's API sees the pushed commit.
    const log = (await (await fetch(`${url}/api/repos/proj/log`)).json()) as { commits: Array<{ message: string }> };
    assert.deepEqual(log.commits.map((c) => c.message), ['first']);
    await ok(tmp.dir, ['clone', `${url}/proj`, bob()]);
    const a = await readTreeBytes(alice());
    const b = await readTreeBytes(bob());
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [p, bytes] of a) assert.ok(b.get(p)!.equals(bytes), p);
  });

  it('a second client pulls a later push', async () => {
    await writeFiles(alice(), { 'data/a.csv': 'id,v\n1,2\n3,4\n', 'data/new.txt': 'new\n' });
    await ok(alice(), ['add', 'data']);
    await ok(alice(), ['commit', '-m', 'second']);
    await ok(alice(), ['push', 'origin', 'main'], 0, { env: { STRATA_TOKEN: token } });
    await ok(bob(), ['pull'], 0);
    const b = await readTreeBytes(bob());
    assert.equal(b.get('data/a.csv')!.toString(), 'id,v\n1,2\n3,4\n');
    assert.equal(b.get('data/new.txt')!.toString(), 'new\n');
    // Bob has no token: his push is refused with a clear message.
    await writeFiles(bob(), { 'data/bob.txt': 'bob\n' });
    await ok(bob(), ['add', 'data']);
    await ok(bob(), ['commit', '-m', 'bob']);
    const r = await strata(bob(), ['push'], { env: { STRATA_TOKEN: undefined, HOME: tmp.dir, XDG_CONFIG_HOME: join(tmp.dir, 'cfg') } });
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('a token from the credentials file works, and a revoked one is refused', async () => {
    const cfg = join(tmp.dir, 'cfg');
    await writeFiles(cfg, { 'strata/credentials': `# url token\n${url}/proj ${token}\n` });
    await ok(bob(), ['push'], 0, { env: { STRATA_TOKEN: undefined, XDG_CONFIG_HOME: cfg } });
    await ok(tmp.dir, ['serve', 'token', 'revoke', token.slice(7, 19), '--data', join(tmp.dir, 'srv')]);
    await writeFiles(bob(), { 'data/bob2.txt': 'bob2\n' });
    await ok(bob(), ['add', 'data']);
    await ok(bob(), ['commit', '-m', 'bob2']);
    const r = await strata(bob(), ['push'], { env: { STRATA_TOKEN: token } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /revoked|invalid/);
  });

  it('SIGTERM shuts the server down cleanly', async () => {
    server.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM/);
  });
});
