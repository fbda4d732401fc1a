/**
 * The server's routes and the CLI call the same operations: for one repository, a real
 * `strata serve` (project mode, loopback) and the real CLI's `--json` give the same log, diff and
 * listing. Before the routes called core/ops, the server had its own copies of log/tree/diff.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { realpathSync } from 'node:fs';
import { ok, tempDir, writeFiles } from './helpers/cli.js';
import { serve, type Serve } from './helpers/browser.js';
import { raw } from './helpers/server.js';

let root = '';
let cleanup: () => Promise<void> = async () => {};
let srv: Serve | null = null;
let name = '';

async function cli<T>(args: string[]): Promise<T> {
  return JSON.parse((await ok(root, ['--json', ...args])).stdout) as T;
}

async function api<T>(path: string): Promise<T> {
  const r = await raw(srv!.url, 'GET', `/api/repos/${encodeURIComponent(name)}${path}`);
  assert.equal(r.status, 200, `${path}: ${r.body.toString('utf8')}`);
  return JSON.parse(r.body.toString('utf8')) as T;
}

interface Entry {
  path: string;
  type: string;
  size: number;
  id: string;
}

describe('server routes and the CLI give the same results', () => {
  before(async () => {
    ({ dir: root, cleanup } = await tempDir('strata-parity-'));
    root = realpathSync(root);
    name = basename(root);
    await ok(root, ['init']);
    await writeFiles(root, { 'data/a.csv': 'a\n1\n', 'data/sub/b.bin': 'bbbb', 'models/m.json': '{"w":1}' });
    await ok(root, ['add', 'data', 'models']);
    await ok(root, ['commit', '-m', 'one']);
    await ok(root, ['tag', 'v1']);
    await writeFiles(root, { 'data/a.csv': 'a\n1\n2\n', 'data/c.csv': 'c\n' });
    await ok(root, ['rm', 'models/m.json']);
    await ok(root, ['add', 'data']);
    await ok(root, ['commit', '-m', 'two\n\nwith a body']);
    srv = await serve(root);
  });
  after(async () => {
    await srv?.close();
    await cleanup();
  });

  it('log: the same commits, ids, refs, messages and authors', async () => {
    const c = await cli<unknown[]>(['log']);
    const s = await api<{ commits: unknown[] }>('/log');
    assert.equal(c.length, 2);
    assert.deepEqual(s.commits, c);
    const cp = await cli<unknown[]>(['log', 'HEAD', '--', 'models']);
    const sp = await api<{ commits: unknown[] }>('/log?path=models');
    assert.equal(cp.length, 2);
    assert.deepEqual(sp.commits, cp);
  });

  it('diff: the same changes between two commits', async () => {
    const c = await cli<{ changes: unknown[]; summary: unknown }>(['diff', 'v1', 'HEAD']);
    const s = await api<{ changes: unknown[]; summary: unknown }>('/diff?from=v1&to=HEAD');
    assert.deepEqual(
      (c.changes as Array<{ path: string; kind: string }>).map((x) => [x.path, x.kind]),
      [['data/a.csv', 'modified'], ['data/c.csv', 'added'], ['models/m.json', 'deleted']],
    );
    assert.deepEqual(s.changes, c.changes);
    assert.deepEqual(s.summary, c.summary);
  });

  it('ls and tree: the same entries, sizes and ids', async () => {
    const c = await cli<{ commit: string; entries: Entry[] }>(['ls', 'v1', 'data']);
    const s = await api<{ commit: string; entries: Entry[] }>('/tree?ref=v1&path=data');
    assert.equal(s.commit, c.commit);
    const pick = (es: Entry[]) => es.map((e) => [e.path, e.type, e.size, e.id]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(pick(s.entries), pick(c.entries));
    assert.deepEqual(pick(c.entries).map((e) => e[0]), ['data/a.csv', 'data/sub']);
  });
});
