/**
 * Branch listing and deletion, and log --all / --graph, through the real CLI. The two-parent
 * commit is written through the core API (Repository.writeCommit + a ref move, as a merge does);
 * everything observed is the CLI's output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { Repository } from '../core/repo/index.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let root: string;
const ids: Record<string, string> = {};
before(async () => {
  tmp = await tempDir('strata-branch-log-');
  root = join(tmp.dir, 'repo');
  await fsp.mkdir(root);
  await ok(root, ['init']);
});
after(async () => {
  await tmp?.cleanup();
});

const out = async (args: string[]) => (await ok(root, args)).stdout;
const json = async (args: string[]) => JSON.parse(await out(['--json', ...args]));
const short = (id: string) => id.slice(0, 12);
async function commit(msg: string, file: string, body: string): Promise<string> {
  await writeFiles(root, { [file]: body });
  await ok(root, ['add', file]);
  await ok(root, ['commit', '-m', msg]);
  ids[msg] = (await json(['log', '-n', '1']))[0].id;
  return ids[msg]!;
}

/** Write a merge commit of `theirs` into the current branch through the core API (same tree as ours). */
async function writeMerge(branch: string, theirs: string, message: string): Promise<string> {
  const repo = await Repository.open(root);
  try {
    const ours = repo.head().commit!;
    const c = await repo.readCommit(ours);
    const id = await repo.writeCommit({ ...c, parents: [ours, theirs], message, time: Date.now() });
    repo.db.tx(() => repo.db.casRef(`refs/heads/${branch}`, ours, id));
    return id;
  } finally {
    await repo.close();
  }
}

describe('log --all and --graph', () => {
  it('two diverged branches: log shows one, log --all both, --graph draws the fork', async () => {
    await commit('base', 'data/a.txt', 'a\n');
    await ok(root, ['branch', 'topic']);
    await ok(root, ['switch', 'topic']);
    await commit('t1', 'data/t.txt', 't\n');
    await ok(root, ['switch', 'main']);
    await commit('m1', 'data/m.txt', 'm\n');
    assert.deepEqual((await json(['log'])).map((e: { message: string }) => e.message), ['m1', 'base']);
    assert.deepEqual((await json(['log', '--all'])).map((e: { message: string }) => e.message), ['m1', 't1', 'base']);
    assert.equal(
      await out(['log', '--all', '--graph', '--oneline']),
      [`* ${short(ids.m1!)} (main) m1`, `| * ${short(ids.t1!)} (topic) t1`, '|/', `* ${short(ids.base!)} base`, ''].join('\n'),
    );
    const both = await strata(root, ['log', 'main', '--all']);
    assert.equal(both.code, EXIT_CODES.INVALID_ARGUMENT);
  });

  it('branch -d refuses an unmerged branch with the merge hint', async () => {
    const r = await strata(root, ['branch', '-d', 'topic']);
    assert.equal(r.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(r.stderr, /branch topic has commits not on any other branch or tag/);
    assert.match(r.stderr, /hint: merge it first \(strata merge topic\) or tag it, or use -D to delete anyway/);
  });

  it('a two-parent commit: --graph opens and joins a lane; -n cuts it; --json is the same list', async () => {
    ids.merge = await writeMerge('main', ids.t1!, 'merge topic');
    assert.equal(
      await out(['log', '--graph', '--oneline']),
      [
        `*   ${short(ids.merge)} (main) merge topic`,
        '|\\',
        `* | ${short(ids.m1!)} m1`,
        `| * ${short(ids.t1!)} (topic) t1`,
        '|/',
        `* ${short(ids.base!)} base`,
        '',
      ].join('\n'),
    );
    assert.equal(await out(['log', '--graph', '--oneline', '-n', '2']), [`*   ${short(ids.merge)} (main) merge topic`, '|\\', `* | ${short(ids.m1!)} m1`, ''].join('\n'));
    const full = (await out(['log', '--graph', '-n', '1'])).split('\n');
    assert.equal(full[0], `*   commit ${ids.merge} (main)`);
    assert.equal(full[1], `|   Merge:  ${short(ids.m1!)} ${short(ids.t1!)}`);
    assert.match(full[2]!, /^\| {3}Author: /);
    assert.ok(full.includes('|       merge topic'), full.join('\n'));
    assert.equal(full.at(-2), '|\\');
    assert.deepEqual(await json(['log', '--graph']), await json(['log']));
    const withPath = await strata(root, ['log', '--graph', '--', 'data/a.txt']);
    assert.equal(withPath.code, EXIT_CODES.INVALID_ARGUMENT);
  });
});

describe('branch -d/-D several, -f, -r/-a', () => {
  it('branch -d a b deletes both once merged; an unknown name deletes nothing', async () => {
    await ok(root, ['branch', 'x']);
    const miss = await strata(root, ['branch', '-d', 'x', 'nope']);
    assert.equal(miss.code, EXIT_CODES.UNKNOWN_REF);
    assert.match(miss.stderr, /no branch named nope: nothing was deleted/);
    assert.ok((await json(['branch'])).some((b: { name: string }) => b.name === 'x'), 'x was kept');
    assert.equal(await out(['branch', '-d', 'x', 'topic']), `Deleted branch x (was ${short(ids.merge!)})\nDeleted branch topic (was ${short(ids.t1!)})\n`);
    assert.deepEqual((await json(['branch'])).map((b: { name: string }) => b.name), ['main']);
  });

  it('branch -d a lost is refused naming lost (a kept); -D a lost deletes both', async () => {
    await ok(root, ['branch', 'a']);
    await ok(root, ['branch', 'lost']);
    await ok(root, ['switch', 'lost']);
    await commit('only on lost', 'data/l.txt', 'l\n');
    await ok(root, ['switch', 'main']);
    const r = await strata(root, ['branch', '-d', 'a', 'lost']);
    assert.equal(r.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(r.stderr, /branch lost has commits not on any other branch or tag: nothing was deleted/);
    assert.deepEqual((await json(['branch'])).map((b: { name: string }) => b.name), ['a', 'lost', 'main']);
    const d = await json(['branch', '-D', 'a', 'lost']);
    assert.deepEqual(d, [
      { name: 'a', commit: ids.merge },
      { name: 'lost', commit: ids['only on lost'] },
    ]);
    assert.deepEqual((await json(['branch'])).map((b: { name: string }) => b.name), ['main']);
  });

  it('branch -f NAME START on an existing branch says it was reset', async () => {
    assert.equal(await out(['branch', 'old', ids.base!]), `Created branch old at ${short(ids.base!)}\n`);
    assert.equal(await out(['branch', '-f', 'old', 'main']), `Reset branch old to ${short(ids.merge!)} (was ${short(ids.base!)})\n`);
    const again = await strata(root, ['branch', 'old', 'main']);
    assert.equal(again.code, EXIT_CODES.REF_EXISTS);
  });

  it('branch -r lists remote-tracking branches, -a both in git format; log --all starts at them too', async () => {
    await ok(root, ['remote', 'add', 'origin', pathToFileURL(join(tmp.dir, 'remote')).href]);
    await ok(root, ['push', 'origin', 'main']);
    await ok(root, ['push', 'origin', 'old:release']);
    assert.equal(await out(['branch', '-r']), `  origin/main  ${short(ids.merge!)}\n  origin/release  ${short(ids.merge!)}\n`);
    assert.equal(await out(['branch', '-a']), [`* main  ${short(ids.merge!)}`, `  old  ${short(ids.merge!)}`, `  remotes/origin/main  ${short(ids.merge!)}`, `  remotes/origin/release  ${short(ids.merge!)}`, ''].join('\n'));
    assert.deepEqual(await json(['branch', '-r']), [
      { name: 'origin/main', commit: ids.merge, current: false, remote: 'origin' },
      { name: 'origin/release', commit: ids.merge, current: false, remote: 'origin' },
    ]);
    // A commit only a remote-tracking ref reaches is in log --all.
    await ok(root, ['branch', '-f', 'old', ids.base!]);
    await ok(root, ['switch', 'old']);
    const side = await commit('side', 'data/s.txt', 's\n');
    await ok(root, ['push', 'origin', 'old:side']);
    await ok(root, ['switch', 'main']);
    await ok(root, ['branch', '-D', 'old']);
    assert.ok(!(await json(['log'])).some((e: { id: string }) => e.id === side));
    const all = await json(['log', '--all']);
    assert.equal(all[0].id, side);
    assert.deepEqual(all[0].refs, ['origin/side']);
  });
});
