/**
 * The repository engine's story, end to end through the real `strata` binary in a git project:
 * init, add (hundreds of small files, an executable, a symlink, a 20 MiB chunked file), commit,
 * change, status/diff in every format, commit again, branch, tag, checkout an old version and
 * compare it byte-for-byte (exec bits, links) with a saved copy, switch, restore, ls, cat, log,
 * show, rm, gc. `strata fsck` must be clean after every step.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ok as okRun, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { assertSameTree, saveCopy, snapshot } from './helpers/tree-equal.js';
import { hashBytes, initHash } from '../core/hash/index.js';

await initHash();

let root = '';
let cleanup: () => Promise<void> = async () => {};
const saved = { v1: '', v2: '' };
const ids = { v1: '', v2: '', feature: '' };
const BIG = 20 * 1024 * 1024 + 12_345;

/** Run strata, expect exit 0, then check `strata fsck` is clean. */
async function step(args: string[]): Promise<string> {
  const r = await okRun(root, args);
  const f = await strata(root, ['fsck']);
  assert.equal(f.code, 0, `fsck after strata ${args.join(' ')}:\n${f.stdout}${f.stderr}`);
  assert.match(f.stdout, /^ok: \d+ objects verified/);
  return r.stdout;
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse((await okRun(root, ['--json', ...args])).stdout) as T;
}

/** stdout as raw bytes (cat output is binary). */
function catBytes(spec: string): Promise<{ code: number; out: Buffer }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [BIN, 'cat', spec], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const parts: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => parts.push(d));
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? -1, out: Buffer.concat(parts) }));
  });
}

function porcelain(out: string): string[] {
  return out.split('\n').filter(Boolean).sort();
}

async function objectsBytes(): Promise<number> {
  return Number(execFileSync('du', ['-sb', join(root, '.strata', 'objects')]).toString().split('\t')[0]);
}

interface Change {
  path: string;
  kind: string;
}

describe('engine story (strata binary)', { concurrency: false }, () => {
  before(async () => {
    ({ dir: root, cleanup } = await tempDir('strata-story-'));
    saved.v1 = join(root, '..', `${root.split('/').pop()}-v1`);
    saved.v2 = join(root, '..', `${root.split('/').pop()}-v2`);
    execFileSync('git', ['init', '-q', root]);
    await writeFiles(root, { 'train.py': 'print("train")\n', '.gitignore': 'node_modules/\n' });
    const files: Record<string, Buffer | string> = {};
    for (let i = 0; i < 300; i++) files[`data/raw/d${i % 7}/s${i % 3}/f${i}.bin`] = seededBytes(50 + ((i * 97) % 3000), i + 1);
    files['data/labels/a.csv'] = 'id,label\n1,cat\n2,dog\n';
    files['data/labels/b.csv'] = 'id,label\n3,cow\n';
    files['data/bin/prep.sh'] = '#!/bin/sh\necho prep\n';
    files['data/big/model.bin'] = seededBytes(BIG, 4242);
    await writeFiles(root, files);
    await fsp.chmod(join(root, 'data/bin/prep.sh'), 0o755);
    await fsp.symlink('labels/a.csv', join(root, 'data/current.csv'));
  });
  after(async () => {
    await cleanup();
    await fsp.rm(saved.v1, { recursive: true, force: true });
    await fsp.rm(saved.v2, { recursive: true, force: true });
  });

  it('init in a git project, add and commit the data', async () => {
    const init = await okRun(root, ['init']);
    assert.match(init.stdout, /Initialized empty strata repository in .*\/\.strata \(branch main\)/);
    assert.match(init.stdout, /Git project detected/);
    assert.match((await strata(root, ['status'])).stdout, /No commits yet/);

    const add = await json<{ added: number; files: number; trackedRoots: string[]; gitignoreUpdated: boolean }>(['add', 'data']);
    assert.equal(add.added, 305);
    assert.equal(add.files, 305);
    assert.deepEqual(add.trackedRoots, ['data']);
    assert.equal(add.gitignoreUpdated, true);
    const gi = await fsp.readFile(join(root, '.gitignore'), 'utf8');
    assert.ok(gi.startsWith('node_modules/\n'), 'the user part of .gitignore is kept');
    assert.match(gi, /# >>> strata: data paths versioned by strata \(managed block\)\n\/\.strata\/\n\/data\n# <<< strata\n/);

    const st = porcelain((await okRun(root, ['status', '--porcelain'])).stdout);
    assert.equal(st.length, 305);
    assert.ok(st.every((l) => l.startsWith('A  data/')));

    const out = await step(['commit', '-m', 'first version of the data']);
    assert.match(out, /^\[main [0-9a-f]{12}\] first version of the data\n 305 file\(s\) changed: 305 added/);
    const head = await json<{ id: string; parents: string[]; code: { commit: string | null } | null; meta: { roots: string[] } }>(['show']);
    ids.v1 = head.id;
    assert.deepEqual(head.parents, []);
    assert.deepEqual(head.meta.roots, ['data']);
    assert.ok(head.code, 'a commit in a git project records the code state');
    assert.equal(head.code!.commit, null, 'the git repository has no commit yet');
    assert.match((await okRun(root, ['status'])).stdout, /nothing to commit, working tree clean/);
    saveCopy(join(root, 'data'), saved.v1);
  });

  it('ls, cat and object ids: blob id = BLAKE3 of the bytes, the big file is chunked', async () => {
    const ls = await json<{ entries: Array<{ path: string; type: string; size: number; id: string; exec?: boolean; chunked?: boolean; target?: string }> }>(['ls', '-r', 'HEAD', 'data']);
    const by = new Map(ls.entries.map((e) => [e.path, e]));
    assert.equal(ls.entries.length, 305);
    const big = by.get('data/big/model.bin')!;
    assert.equal(big.size, BIG);
    assert.equal(big.chunked, true);
    const bigBytes = await fsp.readFile(join(root, 'data/big/model.bin'));
    assert.equal(big.id, hashBytes(bigBytes));
    assert.equal(by.get('data/bin/prep.sh')!.exec, true);
    assert.equal(by.get('data/labels/a.csv')!.exec, false);
    assert.equal(by.get('data/labels/a.csv')!.id, hashBytes('id,label\n1,cat\n2,dog\n'));
    assert.deepEqual({ type: by.get('data/current.csv')!.type, target: by.get('data/current.csv')!.target }, { type: 'symlink', target: 'labels/a.csv' });
    // Top level: one dir.
    assert.equal((await okRun(root, ['ls'])).stdout, 'data/\n');
    assert.equal((await okRun(root, ['ls', 'HEAD:data/labels'])).stdout, 'data/labels/a.csv\ndata/labels/b.csv\n');

    const cat = await catBytes('HEAD:data/big/model.bin');
    assert.equal(cat.code, 0);
    assert.equal(cat.out.length, BIG);
    assert.ok(cat.out.equals(bigBytes), 'cat of the chunked file is byte-exact');
    const small = await catBytes('data/raw/d0/s0/f0.bin');
    assert.ok(small.out.equals(seededBytes(50, 1)));
    assert.equal((await catBytes('HEAD:data/current.csv')).out.toString(), 'labels/a.csv');
  });

  it('change the data: status in text, porcelain and JSON; diff workspace vs HEAD', async () => {
    await fsp.writeFile(join(root, 'data/labels/a.csv'), 'id,label\n1,cat\n2,dog\n4,emu\n');
    await fsp.writeFile(join(root, 'data/raw/d1/s1/f1.bin'), seededBytes(999, 777));
    await fsp.rm(join(root, 'data/raw/d2/s2/f2.bin'));
    await fsp.rm(join(root, 'data/labels/b.csv'));
    await writeFiles(root, { 'data/labels/c.csv': 'id,label\n5,fox\n', 'data/new/notes.txt': 'hello\n' });
    await fsp.chmod(join(root, 'data/raw/d3/s0/f3.bin'), 0o755); // mode-only change
    // Edit 1 KiB in the middle of the 20 MiB file: only the chunks around it change.
    const fh = await fsp.open(join(root, 'data/big/model.bin'), 'r+');
    await fh.write(seededBytes(1024, 5), 0, 1024, 10 * 1024 * 1024);
    await fh.close();

    const expectUnstaged = ['data/big/model.bin', 'data/labels/a.csv', 'data/labels/b.csv', 'data/raw/d1/s1/f1.bin', 'data/raw/d2/s2/f2.bin', 'data/raw/d3/s0/f3.bin'];
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), [
      ' D data/labels/b.csv',
      ' D data/raw/d2/s2/f2.bin',
      ' M data/big/model.bin',
      ' M data/labels/a.csv',
      ' M data/raw/d1/s1/f1.bin',
      ' M data/raw/d3/s0/f3.bin',
      '?? data/labels/c.csv',
      '?? data/new/notes.txt',
    ]);
    const st = await json<{ branch: string; staged: Change[]; unstaged: Change[]; untracked: string[]; clean: boolean }>(['status']);
    assert.equal(st.branch, 'main');
    assert.deepEqual(st.staged, []);
    assert.deepEqual(st.unstaged.map((c) => c.path), expectUnstaged);
    assert.deepEqual(st.untracked, ['data/labels/c.csv', 'data/new/notes.txt']);
    assert.equal(st.clean, false);
    const text = (await okRun(root, ['status'])).stdout;
    assert.match(text, /On branch main\n\nChanges not staged for commit.*\n  modified   data\/big\/model\.bin/);
    assert.match(text, /  deleted    data\/labels\/b\.csv/);
    assert.match(text, /Untracked files under tracked paths.*\n  data\/labels\/c\.csv\n  data\/new\/notes\.txt/);
    // Restricted to a path.
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain', 'data/labels'])).stdout), [' D data/labels/b.csv', ' M data/labels/a.csv', '?? data/labels/c.csv']);

    const d = await json<{ from: string; to: string; changes: Change[]; summary: { modified: number; deleted: number } }>(['diff']);
    assert.deepEqual([d.from, d.to], ['HEAD', 'workspace']);
    assert.deepEqual(d.changes.map((c) => `${c.kind} ${c.path}`), [
      'modified data/big/model.bin',
      'modified data/labels/a.csv',
      'deleted data/labels/b.csv',
      'modified data/raw/d1/s1/f1.bin',
      'deleted data/raw/d2/s2/f2.bin',
      'modified data/raw/d3/s0/f3.bin',
    ]);
    const stat = (await okRun(root, ['diff', '--stat'])).stdout;
    assert.match(stat, /^6 file\(s\) changed: 0 added, 4 modified, 2 deleted \(.*\) \[HEAD -> workspace\]\n$/);
    assert.equal((await okRun(root, ['diff', '--name-only', '--', 'data/labels'])).stdout, 'data/labels/a.csv\ndata/labels/b.csv\n');
    assert.match((await okRun(root, ['diff', '--', 'data/labels/a.csv'])).stdout, /^modified   data\/labels\/a\.csv  21 B -> 27 B\n1 file\(s\) changed/);
    // Nothing was stored by status/diff: still clean fsck, same staged state.
    await step(['status']);
  });

  it('stage and commit the changes; the 1 KiB edit of the 20 MiB file stores little', async () => {
    const before = await objectsBytes();
    const add = await json<{ added: number; modified: number; deleted: number }>(['add', 'data']);
    assert.deepEqual([add.added, add.modified, add.deleted], [2, 4, 2]);
    const grown = (await objectsBytes()) - before;
    // The edited chunk or two, a new manifest and the other small changes: well under 1 MiB. (Before
    // the pack-index load race was fixed, unchanged chunks were stored again: ~4 MiB here.)
    assert.ok(grown < 1024 * 1024, `a 1 KiB edit of a chunked 20 MiB file stored ${grown} bytes`);
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), [
      'A  data/labels/c.csv',
      'A  data/new/notes.txt',
      'D  data/labels/b.csv',
      'D  data/raw/d2/s2/f2.bin',
      'M  data/big/model.bin',
      'M  data/labels/a.csv',
      'M  data/raw/d1/s1/f1.bin',
      'M  data/raw/d3/s0/f3.bin',
    ]);
    const cached = await json<{ to: string; changes: Change[] }>(['diff', '--cached']);
    assert.equal(cached.to, 'index');
    assert.equal(cached.changes.length, 8);
    const out = await step(['commit', '-m', 'relabel, drop two files, add notes']);
    assert.match(out, /8 file\(s\) changed: 2 added, 4 modified, 2 deleted/);
    ids.v2 = (await json<{ id: string }>(['show'])).id;
    saveCopy(join(root, 'data'), saved.v2);

    // ref vs ref, with HEAD~1 / HEAD^ / id prefixes.
    const rr = await json<{ changes: Change[] }>(['diff', 'HEAD~1', 'HEAD']);
    assert.equal(rr.changes.length, 8);
    const rr2 = await json<{ changes: Change[] }>(['diff', ids.v1.slice(0, 10), 'HEAD', '--', 'data/labels']);
    assert.deepEqual(rr2.changes.map((c) => `${c.kind} ${c.path}`), ['modified data/labels/a.csv', 'deleted data/labels/b.csv', 'added data/labels/c.csv']);
    assert.match((await okRun(root, ['diff', 'HEAD^', 'HEAD', '--stat'])).stdout, /^8 file\(s\) changed: 2 added, 4 modified, 2 deleted .*\[HEAD\^ -> HEAD\]/);
    assert.equal((await json<{ id: string }>(['show', 'HEAD^'])).id, ids.v1);
    assert.equal((await json<{ id: string }>(['show', 'HEAD~1'])).id, ids.v1);
    assert.equal((await json<{ id: string }>(['show', ids.v1.slice(0, 8)])).id, ids.v1);
    assert.equal((await json<{ id: string }>(['show', ids.v2])).id, ids.v2);
    assert.match((await okRun(root, ['status'])).stdout, /nothing to commit, working tree clean/);
  });

  it('branch and annotated tag', async () => {
    assert.match(await step(['branch', 'experiment']), /^Created branch experiment at [0-9a-f]{12}\n$/);
    assert.match(await step(['tag', 'v1', '-m', 'first release', 'HEAD~1']), /^Tagged [0-9a-f]{12} as v1\n$/);
    const tags = await json<Array<{ name: string; commit: string; message: string; tagger: string }>>(['tag']);
    assert.deepEqual(tags.map((t) => [t.name, t.commit, t.message, t.tagger]), [['v1', ids.v1, 'first release', 'Test User <test@example.com>']]);
    const branches = await json<Array<{ name: string; commit: string; current: boolean }>>(['branch']);
    assert.deepEqual(branches, [
      { name: 'experiment', commit: ids.v2, current: false },
      { name: 'main', commit: ids.v2, current: true },
    ]);
    assert.equal((await okRun(root, ['branch'])).stdout, `  experiment  ${ids.v2.slice(0, 12)}\n* main  ${ids.v2.slice(0, 12)}\n`);
  });

  it('checkout the old version restores it exactly; checkout back restores the new one', async () => {
    const out = await step(['checkout', 'v1']);
    assert.match(out, new RegExp(`^HEAD is now at ${ids.v1.slice(0, 12)} \\(detached\\)\\n`));
    assertSameTree(await snapshot(join(root, 'data')), await snapshot(saved.v1), 'checkout v1');
    assert.ok(!(await fsp.stat(join(root, 'data/new')).catch(() => null)), 'a folder emptied by checkout is removed');
    assert.match((await okRun(root, ['status'])).stdout, new RegExp(`HEAD detached at ${ids.v1.slice(0, 12)}\\nnothing to commit, working tree clean`));
    assert.equal(JSON.parse((await okRun(root, ['status', '--json'])).stdout).clean, true);

    assert.match(await step(['checkout', 'main']), /^Switched to branch main/);
    assertSameTree(await snapshot(join(root, 'data')), await snapshot(saved.v2), 'checkout main');
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), []);
    // The code (git) side was never touched.
    assert.equal(await fsp.readFile(join(root, 'train.py'), 'utf8'), 'print("train")\n');
  });

  it('switch -c, commit -a on the branch, restore PATH and restore --source', async () => {
    assert.match(await step(['switch', '-c', 'feature']), /^Switched to a new branch feature/);
    await fsp.writeFile(join(root, 'data/new/notes.txt'), 'hello from feature\n');
    assert.match(await step(['commit', '-a', '-m', 'feature notes']), /^\[feature [0-9a-f]{12}\] feature notes\n 1 file\(s\) changed: 0 added, 1 modified/);
    ids.feature = (await json<{ id: string }>(['show'])).id;

    // Discard a workspace edit.
    await fsp.writeFile(join(root, 'data/labels/a.csv'), 'scribble');
    await fsp.rm(join(root, 'data/raw/d0/s0/f0.bin'));
    assert.match(await step(['restore', 'data/labels/a.csv', 'data/raw/d0/s0/f0.bin']), /^restored 2 file\(s\)/);
    assert.equal(await fsp.readFile(join(root, 'data/labels/a.csv'), 'utf8'), 'id,label\n1,cat\n2,dog\n4,emu\n');
    assert.ok((await fsp.readFile(join(root, 'data/raw/d0/s0/f0.bin'))).equals(seededBytes(50, 1)));
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), []);

    // Take a file from the tagged version: the workspace changes, the index does not.
    await step(['restore', '--source', 'v1', 'data/labels/a.csv']);
    assert.equal(await fsp.readFile(join(root, 'data/labels/a.csv'), 'utf8'), 'id,label\n1,cat\n2,dog\n');
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), [' M data/labels/a.csv']);
    // A whole folder from v1: b.csv comes back, c.csv (absent in v1) goes.
    await step(['restore', '--source', 'v1', 'data/labels']);
    assert.deepEqual((await fsp.readdir(join(root, 'data/labels'))).sort(), ['a.csv', 'b.csv']);
    await step(['restore', '--source', 'HEAD', 'data/labels']);
    // As in git: b.csv is not in the index, so restoring from HEAD leaves it as an untracked file.
    assert.deepEqual((await fsp.readdir(join(root, 'data/labels'))).sort(), ['a.csv', 'b.csv', 'c.csv']);
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), ['?? data/labels/b.csv']);
    await fsp.rm(join(root, 'data/labels/b.csv'));
    // Unstage.
    await fsp.writeFile(join(root, 'data/labels/c.csv'), 'changed\n');
    await step(['add', 'data/labels/c.csv']);
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), ['M  data/labels/c.csv']);
    assert.match(await step(['restore', '--staged', 'data/labels/c.csv']), /unstaged 1 path/);
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), [' M data/labels/c.csv']);
    await step(['restore', 'data/labels/c.csv']);
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), []);
  });

  it('log and show', async () => {
    const one = (await okRun(root, ['log', '--oneline'])).stdout.split('\n').filter(Boolean);
    assert.deepEqual(one, [
      `${ids.feature.slice(0, 12)} (feature) feature notes`,
      `${ids.v2.slice(0, 12)} (experiment, main) relabel, drop two files, add notes`,
      `${ids.v1.slice(0, 12)} (tag: v1) first version of the data`,
    ]);
    assert.equal((await json<unknown[]>(['log', '-n', '1'])).length, 1);
    assert.deepEqual((await json<Array<{ id: string }>>(['log', '--', 'data/new/notes.txt'])).map((e) => e.id), [ids.feature, ids.v2]);
    assert.deepEqual((await json<Array<{ id: string }>>(['log', 'main', '--', 'data/bin'])).map((e) => e.id), [ids.v1]);
    assert.deepEqual((await json<Array<{ id: string }>>(['log', 'v1'])).map((e) => e.id), [ids.v1]);
    const full = (await okRun(root, ['log', '-n', '1'])).stdout;
    assert.match(full, new RegExp(`^commit ${ids.feature} \\(feature\\)\\nAuthor: Test User <test@example.com>\\nDate:   \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\n\\n    feature notes\\n`));

    const show = await json<{ id: string; parents: string[]; message: string; changes: Change[]; refs: string[] }>(['show', 'main']);
    assert.equal(show.id, ids.v2);
    assert.deepEqual(show.parents, [ids.v1]);
    assert.deepEqual(show.refs, ['experiment', 'main']);
    assert.equal(show.changes.length, 8);
    const text = (await okRun(root, ['show', 'v1'])).stdout;
    assert.match(text, new RegExp(`^commit ${ids.v1} \\(tag: v1\\)\\nAuthor:  Test User <test@example.com>\\n`));
    assert.match(text, /\n  added      data\/big\/model\.bin  20\.0 MiB\n/);
  });

  it('rm --keep untracks but keeps the file; rm deletes it', async () => {
    assert.match(await step(['rm', '--keep', 'data/new/notes.txt']), /^untracked 1 file\(s\) \(kept in the workspace\)/);
    assert.ok(await fsp.stat(join(root, 'data/new/notes.txt')));
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), ['?? data/new/notes.txt', 'D  data/new/notes.txt']);
    assert.match(await step(['rm', 'data/labels/c.csv']), /^untracked 1 file\(s\)\n$/);
    assert.equal(await fsp.stat(join(root, 'data/labels/c.csv')).catch(() => null), null);
    await step(['commit', '-m', 'drop notes and c.csv']);
    await fsp.rm(join(root, 'data/new'), { recursive: true });
    assert.deepEqual(porcelain((await okRun(root, ['status', '--porcelain'])).stdout), []);
  });

  it('gc: nothing to collect while everything is reachable; a deleted branch is collected', async () => {
    // The only garbage so far: the blob of c.csv that was staged and then unstaged.
    const dry0 = await json<{ dryRun: boolean; objects: number; bytes: number }>(['gc', '--dry-run']);
    assert.deepEqual([dry0.dryRun, dry0.objects, dry0.bytes], [true, 1, 'changed\n'.length]);
    await step(['switch', 'main']);
    const del = await strata(root, ['branch', '-d', 'feature']);
    assert.equal(del.code, 2);
    assert.match(del.stderr, /branch feature has commits not on any other branch or tag/);
    assert.match(await step(['branch', '-D', 'feature']), /^Deleted branch feature/);
    const dry = await json<{ dryRun: boolean; objects: number; bytes: number; kept: number }>(['gc', '--dry-run']);
    assert.equal(dry.dryRun, true);
    // Two commits, their changed trees and the feature's versions of notes.txt.
    assert.ok(dry.objects >= 4, `gc --dry-run found ${dry.objects}`);
    assert.ok(dry.bytes > 0);
    assert.match((await okRun(root, ['gc', '--dry-run'])).stdout, new RegExp(`^would remove ${dry.objects} unreachable object\\(s\\), .*; ${dry.kept} kept\\n$`));
    // A dry run removes nothing.
    assert.equal((await json<{ objects: number }>(['gc', '--dry-run'])).objects, dry.objects);
    const out = await step(['gc']);
    assert.match(out, new RegExp(`^removed ${dry.objects} unreachable object\\(s\\)`));
    assert.equal((await json<{ objects: number }>(['gc', '--dry-run'])).objects, 0);
    const u = await strata(root, ['show', ids.feature]);
    assert.equal(u.code, 4, 'the collected commit is gone');
    // Everything still reachable is intact: both versions check out exactly.
    await step(['checkout', 'v1']);
    assertSameTree(await snapshot(join(root, 'data')), await snapshot(saved.v1), 'v1 after gc');
    await step(['checkout', 'main']);
    assertSameTree(await snapshot(join(root, 'data')), await snapshot(saved.v2), 'main after gc');
  });
});
