/**
 * strata merge / resolve / pull-that-merges through the real CLI: fast-forward, clean three-way
 * merges (byte-identical results, two parents), every conflict kind, abort (byte-identical), continue
 * after resolving, per-path rules and strategies, dry runs, preconditions, a merge killed with SIGKILL,
 * and two clones that diverge, pull (merging) and push.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, ok, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { assertSameTree, snapshot } from './helpers/tree-equal.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let n = 0;
before(async () => {
  tmp = await tempDir('strata-merge-');
});
after(async () => {
  await tmp?.cleanup();
});

/** A repository with `base` committed on main, then `ours` committed on main and `theirs` on exp. */
async function diverged(base: Record<string, string | Buffer>, change: { ours: (d: string) => Promise<void>; theirs: (d: string) => Promise<void> }): Promise<string> {
  const dir = join(tmp.dir, `r${n++}`);
  await fsp.mkdir(dir, { recursive: true });
  await ok(dir, ['init']);
  await writeFiles(dir, base);
  await ok(dir, ['add', 'data']);
  await ok(dir, ['commit', '-m', 'base']);
  await ok(dir, ['switch', '-c', 'exp']);
  await change.theirs(dir);
  await ok(dir, ['commit', '-a', '-m', 'theirs']);
  await ok(dir, ['switch', 'main']);
  await change.ours(dir);
  await ok(dir, ['commit', '-a', '-m', 'ours']);
  return dir;
}

const put = (dir: string, files: Record<string, string | Buffer>) => writeFiles(dir, files);
const del = (dir: string, p: string) => fsp.rm(join(dir, p), { recursive: true, force: true });

async function json<T>(dir: string, args: string[], expect = 0): Promise<T> {
  return JSON.parse((await ok(dir, [...args, '--json'], expect)).stdout) as T;
}

interface Outcome {
  status: string;
  commit: string | null;
  ours: string;
  theirs: string;
  conflicts: Array<{ path: string; kind: string }>;
  changes: Array<{ path: string; action: string; rule?: string }>;
}

async function parents(dir: string, rev = 'HEAD'): Promise<string[]> {
  const l = await json<Array<{ id: string; parents: string[] }>>(dir, ['log', '-n', '1', rev]);
  return l[0]!.parents;
}

describe('strata merge', { concurrency: false }, () => {
  it('fast-forwards when HEAD is an ancestor, leaving no merge commit', async () => {
    const dir = join(tmp.dir, 'ff');
    await fsp.mkdir(dir);
    await ok(dir, ['init']);
    await put(dir, { 'data/a.csv': 'a\n' });
    await ok(dir, ['add', 'data']);
    await ok(dir, ['commit', '-m', 'one']);
    await ok(dir, ['switch', '-c', 'exp']);
    await put(dir, { 'data/b.csv': 'b\n', 'data/a.csv': 'a2\n' });
    await ok(dir, ['commit', '-a', '-m', 'two']);
    const expected = await snapshot(join(dir, 'data'));
    const exp = (await json<Array<{ id: string }>>(dir, ['log', '-n', '1']))[0]!.id;
    await ok(dir, ['switch', 'main']);
    const dry = await json<Outcome>(dir, ['merge', 'exp', '--dry-run']);
    assert.equal(dry.status, 'fast-forward');
    assert.deepEqual(dry.changes.map((c) => [c.path, c.action]), [['data/a.csv', 'theirs'], ['data/b.csv', 'theirs']]);
    assert.equal(await fsp.readFile(join(dir, 'data/a.csv'), 'utf8'), 'a\n', 'a dry run changes nothing');
    const r = await ok(dir, ['merge', 'exp']);
    assert.match(r.stdout, /Fast-forward main/);
    assertSameTree(await snapshot(join(dir, 'data')), expected);
    assert.equal((await json<Array<{ id: string }>>(dir, ['log', '-n', '1']))[0]!.id, exp);
    assert.match((await ok(dir, ['merge', 'exp'])).stdout, /Already up to date/);
    await ok(dir, ['switch', 'exp']);
    assert.equal((await strata(dir, ['merge', 'main', '--no-ff'])).code, 0);
    assert.equal((await strata(dir, ['merge', 'nope'])).code, 4);
  });

  it('merges disjoint changes three-way: byte-identical result, two parents, cost-free for unchanged folders', async () => {
    const base: Record<string, string | Buffer> = { 'data/keep/big.bin': seededBytes(300_000, 1), 'data/a.csv': 'a\n', 'data/b.csv': 'b\n', 'data/x/1.csv': '1\n', 'data/x/2.csv': '2\n' };
    const dir = await diverged(base, {
      ours: async (d) => {
        await put(d, { 'data/a.csv': 'a-ours\n', 'data/x/3.csv': '3\n' });
        await del(d, 'data/x/1.csv');
      },
      theirs: async (d) => {
        await put(d, { 'data/b.csv': 'b-theirs\n', 'data/y/new.csv': 'new\n', 'data/x/2.csv': '2-theirs\n' });
        await fsp.chmod(join(d, 'data/a.csv'), 0o755);
      },
    });
    const ours = (await json<Array<{ id: string }>>(dir, ['log', '-n', '1']))[0]!.id;
    const exp = (await json<Array<{ id: string }>>(dir, ['log', '-n', '1', 'exp']))[0]!.id;
    const m = await json<Outcome>(dir, ['merge', 'exp']);
    assert.equal(m.status, 'merged');
    assert.deepEqual(await parents(dir), [ours, exp]);
    const files = await snapshot(join(dir, 'data'));
    const text = (p: string) => {
      const f = files.get(p);
      return f && f.kind === 'file' ? f.bytes.toString() : null;
    };
    assert.equal(text('a.csv'), 'a-ours\n');
    assert.equal((files.get('a.csv') as { exec: boolean }).exec, true, 'the mode change of theirs is kept with the content change of ours');
    assert.equal(text('b.csv'), 'b-theirs\n');
    assert.equal(text('x/1.csv'), null);
    assert.equal(text('x/2.csv'), '2-theirs\n');
    assert.equal(text('x/3.csv'), '3\n');
    assert.equal(text('y/new.csv'), 'new\n');
    assert.ok((files.get('keep/big.bin') as { bytes: Buffer }).bytes.equals(base['data/keep/big.bin'] as Buffer));
    const st = await json<{ clean: boolean; merge: unknown }>(dir, ['status']);
    assert.equal(st.clean, true);
    assert.equal(st.merge, null);
    // The same merge made again from a clean checkout gives the same tree.
    const show = await json<{ tree: string }>(dir, ['show', 'HEAD']);
    await ok(dir, ['switch', '-c', 'again', ours]);
    await ok(dir, ['merge', 'exp']);
    assert.equal((await json<{ tree: string }>(dir, ['show', 'HEAD'])).tree, show.tree);
    assert.equal((await ok(dir, ['fsck'])).code, 0);
  });

  it('reports every conflict kind per path, and keeps the merge in progress across processes', async () => {
    const dir = await diverged(
      { 'data/content.csv': 'base\n', 'data/moddel.csv': 'base\n', 'data/delmod.csv': 'base\n', 'data/ff/f.csv': 'f\n', 'data/fold': 'file\n', 'data/same.csv': 's\n' },
      {
        ours: async (d) => {
          await put(d, { 'data/content.csv': 'ours\n', 'data/moddel.csv': 'ours\n', 'data/addadd.csv': 'ours\n', 'data/ff/f.csv': 'f-ours\n' });
          await del(d, 'data/delmod.csv');
          await put(d, { 'data/mode.sh': 'same\n', 'data/fold': 'file-ours\n' });
          await fsp.chmod(join(d, 'data/mode.sh'), 0o755);
        },
        theirs: async (d) => {
          await put(d, { 'data/content.csv': 'theirs\n', 'data/delmod.csv': 'theirs\n', 'data/addadd.csv': 'theirs\n', 'data/mode.sh': 'same\n' });
          await del(d, 'data/fold');
          await put(d, { 'data/fold/inner.csv': 'inner\n' });
          await del(d, 'data/moddel.csv');
          await del(d, 'data/ff');
          await put(d, { 'data/ff': 'now a file\n' });
        },
      },
    );
    const r = await strata(dir, ['merge', 'exp', '--json']);
    assert.equal(r.code, 16, r.stderr);
    const m = JSON.parse(r.stdout) as Outcome;
    assert.equal(m.status, 'conflicts');
    const kinds = Object.fromEntries(m.conflicts.map((c) => [c.path, c.kind]));
    assert.deepEqual(kinds, {
      'data/addadd.csv': 'add/add',
      'data/content.csv': 'content',
      'data/delmod.csv': 'delete/modify',
      'data/ff': 'folder/file',
      'data/fold': 'file/folder',
      'data/mode.sh': 'mode',
      'data/moddel.csv': 'modify/delete',
    });
    // A new process sees the merge in progress.
    const st = await json<{ clean: boolean; merge: { from: string; conflicts: unknown[] } }>(dir, ['status']);
    assert.equal(st.clean, false);
    assert.equal(st.merge.from, 'exp');
    assert.equal(st.merge.conflicts.length, 7);
    const human = await ok(dir, ['status']);
    assert.match(human.stdout, /You are merging exp into main: 7 path\(s\) in conflict/);
    assert.match(human.stdout, /deleted by them +data\/moddel\.csv/);
    // Pending versions: ours where ours has one, theirs where ours deleted.
    assert.equal(await fsp.readFile(join(dir, 'data/content.csv'), 'utf8'), 'ours\n');
    assert.equal(await fsp.readFile(join(dir, 'data/delmod.csv'), 'utf8'), 'theirs\n');
    // MERGE_HEAD names the merged commit.
    assert.equal((await ok(dir, ['cat', 'MERGE_HEAD:data/content.csv'])).stdout, 'theirs\n');
    // Nothing else may run over it.
    assert.equal((await strata(dir, ['commit', '-m', 'x'])).code, 16);
    assert.equal((await strata(dir, ['checkout', 'exp'])).code, 5);
    assert.equal((await strata(dir, ['merge', 'exp'])).code, 5);
    assert.equal((await strata(dir, ['merge', '--continue'])).code, 16);
    // strata rm settles a path too (taking the deletion).
    await ok(dir, ['rm', 'data/moddel.csv']);
    const after = await json<{ merge: { conflicts: Array<{ path: string }> } }>(dir, ['status']);
    assert.deepEqual(after.merge.conflicts.map((c) => c.path).includes('data/moddel.csv'), false);
    assert.equal(after.merge.conflicts.length, 6);
  });

  it('--abort restores the workspace and the index byte-identically', async () => {
    const dir = await diverged(
      { 'data/c.csv': 'base\n', 'data/d.csv': 'd\n', 'data/sub/s.csv': 's\n' },
      {
        ours: async (d) => put(d, { 'data/c.csv': 'ours\n' }),
        theirs: async (d) => {
          await put(d, { 'data/c.csv': 'theirs\n', 'data/new/n.csv': 'n\n', 'data/d.csv': 'd-theirs\n' });
          await del(d, 'data/sub');
        },
      },
    );
    // Local state the merge does not touch must survive it and its abort.
    await put(dir, { 'data/untracked.txt': 'mine\n', 'notes.txt': 'outside\n' });
    const before = await snapshot(dir);
    const porcelain = (await ok(dir, ['status', '--porcelain'])).stdout;
    assert.equal((await strata(dir, ['merge', 'exp'])).code, 16);
    assert.equal(await fsp.readFile(join(dir, 'data/d.csv'), 'utf8'), 'd-theirs\n');
    await ok(dir, ['resolve', 'data/c.csv', '--theirs']);
    await put(dir, { 'data/d.csv': 'edited during the merge\n' });
    const a = await ok(dir, ['merge', '--abort']);
    assert.match(a.stdout, /Aborted the merge of exp/);
    const after = await snapshot(dir);
    after.delete('.strata');
    for (const k of [...after.keys()]) if (k.startsWith('.strata/')) after.delete(k);
    for (const k of [...before.keys()]) if (k === '.strata' || k.startsWith('.strata/')) before.delete(k);
    assertSameTree(after, before, 'workspace after --abort');
    assert.equal((await ok(dir, ['status', '--porcelain'])).stdout, porcelain);
    assert.equal((await json<{ merge: unknown }>(dir, ['status'])).merge, null);
    assert.equal((await strata(dir, ['merge', '--abort'])).code, 2);
    await ok(dir, ['fsck']);
  });

  it('--continue after resolving with --ours/--theirs/--base and by editing + add', async () => {
    const dir = await diverged(
      { 'data/a.csv': 'a\n', 'data/b.csv': 'b\n', 'data/c.csv': 'c\n', 'data/d.csv': 'd\n', 'data/dir/x.csv': 'x\n' },
      {
        ours: async (d) => put(d, { 'data/a.csv': 'a-o\n', 'data/b.csv': 'b-o\n', 'data/c.csv': 'c-o\n', 'data/d.csv': 'd-o\n', 'data/dir/x.csv': 'x-o\n' }),
        theirs: async (d) => put(d, { 'data/a.csv': 'a-t\n', 'data/b.csv': 'b-t\n', 'data/c.csv': 'c-t\n', 'data/d.csv': 'd-t\n', 'data/dir/x.csv': 'x-t\n' }),
      },
    );
    assert.equal((await strata(dir, ['merge', 'exp'])).code, 16);
    await ok(dir, ['resolve', 'data/a.csv', '--ours']);
    await ok(dir, ['resolve', 'data/b.csv', '--theirs']);
    await ok(dir, ['resolve', 'data/c.csv', '--base']);
    await ok(dir, ['resolve', 'data/dir', '--theirs']);
    assert.equal((await strata(dir, ['resolve', 'data/a.csv', '--theirs'])).code, 4, 'a resolved path is no longer in conflict');
    assert.equal((await strata(dir, ['merge', '--continue'])).code, 16, 'd.csv is still in conflict');
    await put(dir, { 'data/d.csv': 'd-merged by hand\n' });
    await ok(dir, ['add', 'data/d.csv']);
    const c = await json<Outcome>(dir, ['merge', '--continue', '-m', 'merged exp']);
    assert.equal(c.status, 'merged');
    assert.equal((await parents(dir)).length, 2);
    const read = (p: string) => fsp.readFile(join(dir, p), 'utf8');
    assert.deepEqual(await Promise.all(['data/a.csv', 'data/b.csv', 'data/c.csv', 'data/d.csv', 'data/dir/x.csv'].map(read)), ['a-o\n', 'b-t\n', 'c\n', 'd-merged by hand\n', 'x-t\n']);
    const st = await json<{ clean: boolean; staged: unknown[] }>(dir, ['status']);
    assert.equal(st.clean, true);
    assert.equal((await json<Array<{ message: string }>>(dir, ['log', '-n', '1']))[0]!.message, 'merged exp');
    await ok(dir, ['fsck']);
  });

  it('per-path rules in .strataattributes and --strategy decide conflicts; a bad rule is refused', async () => {
    const files = { 'data/labels/l.csv': 'l\n', 'data/labels/deep/m.csv': 'm\n', 'data/model.bin': 'mb\n', 'data/other.csv': 'o\n' };
    const change = {
      ours: async (d: string) => put(d, { 'data/labels/l.csv': 'l-o\n', 'data/labels/deep/m.csv': 'm-o\n', 'data/model.bin': 'mb-o\n', 'data/other.csv': 'o-o\n' }),
      theirs: async (d: string) => {
        await put(d, { 'data/labels/l.csv': 'l-t\n', 'data/model.bin': 'mb-t\n', 'data/other.csv': 'o-t\n' });
        await del(d, 'data/labels/deep');
      },
    };
    const dir = await diverged(files, change);
    await put(dir, { '.strataattributes': '# labels come from the labelling team\ndata/labels/** merge=theirs\n*.bin merge=ours\n' });
    const dry = await json<Outcome>(dir, ['merge', 'exp', '--dry-run']);
    assert.equal(dry.status, 'conflicts');
    assert.deepEqual(dry.conflicts.map((c) => c.path), ['data/other.csv']);
    const r = await strata(dir, ['merge', 'exp', '--json']);
    assert.equal(r.code, 16);
    const m = JSON.parse(r.stdout) as Outcome;
    const rule = (p: string) => m.changes.find((c) => c.path === p)?.rule ?? '';
    assert.match(rule('data/labels/l.csv'), /\.strataattributes:2 data\/labels\/\*\* merge=theirs/);
    assert.match(rule('data/model.bin'), /merge=ours/);
    assert.equal(await fsp.readFile(join(dir, 'data/labels/l.csv'), 'utf8'), 'l-t\n');
    assert.equal(await fsp.stat(join(dir, 'data/labels/deep/m.csv')).catch(() => null), null, 'theirs deleted it and the rule takes theirs');
    assert.equal(await fsp.readFile(join(dir, 'data/model.bin'), 'utf8'), 'mb-o\n');
    await ok(dir, ['merge', '--abort']);
    // --strategy theirs decides everything (rules not read).
    const s = await json<Outcome>(dir, ['merge', 'exp', '--strategy', 'theirs']);
    assert.equal(s.status, 'merged');
    assert.equal(await fsp.readFile(join(dir, 'data/model.bin'), 'utf8'), 'mb-t\n');
    assert.equal(await fsp.readFile(join(dir, 'data/other.csv'), 'utf8'), 'o-t\n');
    // A typo in a rule is refused with the line and a suggestion, not silently ignored.
    const dir2 = await diverged(files, change);
    await put(dir2, { '.strataattributes': 'data/** merge=theirz\n' });
    const bad = await strata(dir2, ['merge', 'exp']);
    assert.equal(bad.code, 12);
    assert.match(bad.stderr, /\.strataattributes:1: unknown merge driver "theirz"/);
    assert.match(bad.stderr, /did you mean theirs/);
    assert.equal((await strata(dir2, ['merge', 'exp', '--strategy', 'mine'])).code, 2);
  });

  it('refuses to start over staged changes or local changes on paths it writes, changing nothing', async () => {
    const dir = await diverged({ 'data/a.csv': 'a\n', 'data/b.csv': 'b\n' }, {
      ours: async (d) => put(d, { 'data/a.csv': 'a-o\n' }),
      theirs: async (d) => put(d, { 'data/b.csv': 'b-t\n', 'data/c.csv': 'c-t\n' }),
    });
    const ffOnly = await strata(dir, ['merge', 'exp', '--ff-only']);
    assert.equal(ffOnly.code, 6);
    assert.match(ffOnly.stderr, /not a fast-forward/);
    await put(dir, { 'data/b.csv': 'local edit\n' });
    const r = await strata(dir, ['merge', 'exp']);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /would overwrite local changes or untracked files: data\/b\.csv/);
    assert.equal(await fsp.readFile(join(dir, 'data/b.csv'), 'utf8'), 'local edit\n');
    await put(dir, { 'data/b.csv': 'b\n', 'data/c.csv': 'untracked\n' });
    assert.equal((await strata(dir, ['merge', 'exp'])).code, 5, 'an untracked file where the merge writes');
    await del(dir, 'data/c.csv');
    await put(dir, { 'data/a.csv': 'staged\n' });
    await ok(dir, ['add', 'data/a.csv']);
    const s = await strata(dir, ['merge', 'exp']);
    assert.equal(s.code, 5);
    assert.match(s.stderr, /staged changes/);
    assert.equal((await json<{ merge: unknown }>(dir, ['status'])).merge, null);
    // An unstaged change to a path the merge does not touch is fine and stays.
    await ok(dir, ['restore', '--staged', 'data/a.csv']);
    const m = await json<Outcome>(dir, ['merge', 'exp']);
    assert.equal(m.status, 'merged');
    assert.equal(await fsp.readFile(join(dir, 'data/a.csv'), 'utf8'), 'staged\n');
  });

  it('a merge killed with SIGKILL midway: fsck is clean, and the merge can be aborted or continued', async () => {
    const big: Record<string, Buffer> = {};
    for (let i = 0; i < 6; i++) big[`data/big/f${i}.bin`] = seededBytes(24 * 1024 * 1024, 900 + i);
    const dir = await diverged({ 'data/a.csv': 'a\n' }, {
      ours: async (d) => put(d, { 'data/a.csv': 'a-o\n' }),
      theirs: async (d) => put(d, big),
    });
    const before = await snapshot(join(dir, 'data'));
    const tmpDir = join(dir, '.strata', 'tmp');
    const p = spawn(process.execPath, [BIN, 'merge', 'exp'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
    const exited = new Promise<void>((res) => p.on('close', () => res()));
    let killed = false;
    const t0 = Date.now();
    while (Date.now() - t0 < 20_000) {
      const names = await fsp.readdir(tmpDir).catch(() => [] as string[]);
      const written = await fsp.readdir(join(dir, 'data/big')).catch(() => [] as string[]);
      if (names.length > 0 || written.length > 0) {
        p.kill('SIGKILL');
        killed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await exited;
    assert.ok(killed, 'the merge was caught while writing the workspace');
    const f = await strata(dir, ['fsck']);
    assert.equal(f.code, 0, f.stdout + f.stderr);
    const st = await json<{ merge: { phase: string } | null }>(dir, ['status']);
    assert.equal(st.merge?.phase, 'applying');
    assert.match((await ok(dir, ['status'])).stdout, /interrupted while writing the workspace/);
    // A copy continues; the original aborts.
    const copy = `${dir}-copy`;
    await fsp.cp(dir, copy, { recursive: true });
    await ok(copy, ['gc']);
    await ok(copy, ['merge', '--continue']);
    assert.equal((await parents(copy)).length, 2);
    const done = await snapshot(join(copy, 'data'));
    for (let i = 0; i < 6; i++) assert.ok((done.get(`big/f${i}.bin`) as { bytes: Buffer }).bytes.equals(big[`data/big/f${i}.bin`]!));
    assert.equal((await json<{ clean: boolean }>(copy, ['status'])).clean, true);
    await ok(copy, ['fsck']);
    await ok(dir, ['merge', '--abort']);
    assertSameTree(await snapshot(join(dir, 'data')), before, 'after aborting the killed merge');
    assert.equal((await json<{ clean: boolean }>(dir, ['status'])).clean, true);
    await ok(dir, ['fsck']);
    await fsp.rm(copy, { recursive: true, force: true });
  });
});

describe('two clones diverge: pull merges, push lands', () => {
  it('pull merges diverged histories (--ff-only refuses), and the merge pushes', async () => {
    const remote = join(tmp.dir, 'remote');
    const alice = join(tmp.dir, 'alice');
    await fsp.mkdir(alice);
    await ok(alice, ['init']);
    await put(alice, { 'data/a.csv': 'a\n', 'data/b.csv': 'b\n' });
    await ok(alice, ['add', 'data']);
    await ok(alice, ['commit', '-m', 'first']);
    await ok(alice, ['remote', 'add', 'origin', pathToFileURL(remote).href]);
    await ok(alice, ['push']);
    const bob = join(tmp.dir, 'bob');
    await ok(tmp.dir, ['clone', pathToFileURL(remote).href, bob]);
    await put(bob, { 'data/b.csv': 'b-bob\n' });
    await ok(bob, ['commit', '-a', '-m', 'bob']);
    await ok(bob, ['push']);
    await put(alice, { 'data/a.csv': 'a-alice\n' });
    await ok(alice, ['commit', '-a', '-m', 'alice']);
    assert.equal((await strata(alice, ['push'])).code, 6, 'behind the remote');
    const ff = await strata(alice, ['pull', '--ff-only']);
    assert.equal(ff.code, 6);
    assert.match(ff.stderr, /diverged/);
    const r = await ok(alice, ['pull']);
    assert.match(r.stdout, /Merged origin\/main into main/);
    assert.equal(await fsp.readFile(join(alice, 'data/b.csv'), 'utf8'), 'b-bob\n');
    assert.equal(await fsp.readFile(join(alice, 'data/a.csv'), 'utf8'), 'a-alice\n');
    assert.equal((await parents(alice)).length, 2);
    await ok(alice, ['push']);
    const p = await ok(bob, ['pull']);
    assert.match(p.stdout, /fast-forward/);
    assert.equal(await fsp.readFile(join(bob, 'data/a.csv'), 'utf8'), 'a-alice\n');
    // A conflicting pull stops with exit 16 and the merge in progress.
    await put(bob, { 'data/a.csv': 'a-bob\n' });
    await ok(bob, ['commit', '-a', '-m', 'bob 2']);
    await ok(bob, ['push']);
    await put(alice, { 'data/a.csv': 'a-alice 2\n' });
    await ok(alice, ['commit', '-a', '-m', 'alice 2']);
    const c = await strata(alice, ['pull']);
    assert.equal(c.code, 16, c.stdout + c.stderr);
    assert.match(c.stdout, /both modified +data\/a\.csv/);
    await ok(alice, ['resolve', 'data/a.csv', '--theirs']);
    await ok(alice, ['commit', '-m', 'take bob\'s a.csv']);
    await ok(alice, ['push']);
    await ok(bob, ['pull']);
    assert.equal(await fsp.readFile(join(bob, 'data/a.csv'), 'utf8'), 'a-bob\n');
  });
});
