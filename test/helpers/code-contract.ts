/**
 * The CodeRepo contract (core/code/repo.ts): one suite that both implementations pass (the git
 * program and isomorphic-git: test/code-repo-contract.test.ts).
 *
 *   runCodeContract('cli', (dir) => openCodeRepo(dir, { mode: 'cli' }));
 *
 * Every fixture is a real repository made by the real git program; what git itself answers
 * (rev-parse, ls-tree, cat-file) is the expected value.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { isStrataError } from '../../core/errors/index.js';
import type { CodeRepo } from '../../core/code/repo.js';
import { tempDir, writeFiles } from './cli.js';

export const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Ada',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** Run the real git program in `cwd`; its stdout without the final newline. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).replace(/\n$/, '');
}

/** A new repository at `dir` on branch main with `files` committed. */
export async function gitRepo(dir: string, files: Record<string, string | Buffer>): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'commit.gpgsign', 'false');
  await writeFiles(dir, files);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first');
  return git(dir, 'rev-parse', 'HEAD');
}

type Open = (dir: string) => Promise<CodeRepo | null>;

async function must(open: Open, dir: string): Promise<CodeRepo> {
  const r = await open(dir);
  assert.ok(r, `no code repository found at ${dir}`);
  return r;
}

export function runCodeContract(name: string, open: Open): void {
  describe(`CodeRepo contract: ${name}`, () => {
    let tmp: { dir: string; cleanup(): Promise<void> };
    let repo: string;
    let first: string;
    before(async () => {
      tmp = await tempDir('strata-codecontract-');
      repo = join(tmp.dir, 'repo');
      first = await gitRepo(repo, {
        'a.txt': 'alpha\n',
        'src/b.txt': 'beta\n',
        'src/deep/c.bin': Buffer.from([0, 1, 2, 255, 10, 0]),
        'run.sh': '#!/bin/sh\necho hi\n',
        'old.txt': 'old\n',
        '.gitignore': '*.log\n',
        'name with space.txt': 'spaced\n',
      });
      await fsp.chmod(join(repo, 'run.sh'), 0o755);
      await fsp.symlink('a.txt', join(repo, 'link'));
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', 'second');
    });
    after(async () => tmp.cleanup());

    it('finds nothing outside a repository', async () => {
      const outside = join(tmp.dir, 'plain');
      await fsp.mkdir(outside, { recursive: true });
      assert.equal(await open(outside), null);
    });

    it('reads HEAD, the branch and origin from a subfolder; the work tree root is the top', async () => {
      const r = await must(open, join(repo, 'src', 'deep'));
      assert.equal(r.root, repo);
      assert.equal(await r.headCommit(), git(repo, 'rev-parse', 'HEAD'));
      assert.equal(await r.branch(), 'main');
      assert.equal(await r.originUrl(), null);
      git(repo, 'remote', 'add', 'origin', 'https://user:tok@example.com/x.git');
      try {
        assert.equal(await r.originUrl(), 'https://user:tok@example.com/x.git', 'raw: readCodeState redacts it');
      } finally {
        git(repo, 'remote', 'remove', 'origin');
      }
    });

    it('a detached HEAD has no branch; an unborn branch has no commit', async () => {
      const det = join(tmp.dir, 'detached');
      await gitRepo(det, { 'x.txt': 'x\n' });
      const c = git(det, 'rev-parse', 'HEAD');
      git(det, 'checkout', '-q', '--detach');
      const r = await must(open, det);
      assert.equal(await r.headCommit(), c);
      assert.equal(await r.branch(), null);
      const empty = join(tmp.dir, 'empty');
      await fsp.mkdir(empty);
      git(empty, 'init', '-q', '-b', 'trunk');
      const e = await must(open, empty);
      assert.equal(await e.headCommit(), null);
      assert.equal(await e.branch(), 'trunk');
    });

    it('lists tracked changes (modified, deleted, staged new, staged edit), not untracked or ignored files', async () => {
      const r = await must(open, repo);
      assert.deepEqual(await r.changedFiles(), []);
      await fsp.appendFile(join(repo, 'src/b.txt'), 'more\n');
      await fsp.rm(join(repo, 'old.txt'));
      await writeFiles(repo, { 'new.txt': 'new\n', 'untracked.txt': 'u\n', 'debug.log': 'ignored\n', 'name with space.txt': 'edited\n' });
      git(repo, 'add', 'new.txt', 'name with space.txt');
      try {
        assert.deepEqual(await r.changedFiles(), [
          { path: 'name with space.txt', status: 'modified' },
          { path: 'new.txt', status: 'added' },
          { path: 'old.txt', status: 'deleted' },
          { path: 'src/b.txt', status: 'modified' },
        ]);
      } finally {
        git(repo, 'reset', '-q', '--hard');
        await fsp.rm(join(repo, 'new.txt'), { force: true });
        await fsp.rm(join(repo, 'untracked.txt'));
        await fsp.rm(join(repo, 'debug.log'));
      }
      assert.deepEqual(await r.changedFiles(), []);
    });

    it('a changed link target is a change', async () => {
      const r = await must(open, repo);
      await fsp.rm(join(repo, 'link'));
      await fsp.symlink('src/b.txt', join(repo, 'link'));
      try {
        assert.deepEqual(await r.changedFiles(), [{ path: 'link', status: 'modified' }]);
      } finally {
        git(repo, 'reset', '-q', '--hard');
      }
    });

    it('hasCommit: a commit yes; an unknown id or a blob no; a non-id is refused before git sees it', async () => {
      const r = await must(open, repo);
      assert.equal(await r.hasCommit(first), true);
      assert.equal(await r.hasCommit('0123456789abcdef0123456789abcdef01234567'), false);
      assert.equal(await r.hasCommit(git(repo, 'rev-parse', 'HEAD:a.txt')), false);
      for (const bad of ['HEAD', '--output=/tmp/x', first.slice(0, 12)]) {
        await assert.rejects(r.hasCommit(bad), (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT'));
      }
    });

    it('commitInfo and listTree agree with git cat-file / ls-tree', async () => {
      const r = await must(open, repo);
      const head = git(repo, 'rev-parse', 'HEAD');
      assert.deepEqual(await r.commitInfo(head), { tree: git(repo, 'rev-parse', 'HEAD^{tree}'), parents: [first] });
      assert.deepEqual((await r.commitInfo(first)).parents, []);
      const expected = git(repo, 'ls-tree', '-r', '-t', '-z', head)
        .split('\0')
        .filter(Boolean)
        .map((rec) => {
          const [meta, path] = rec.split('\t') as [string, string];
          const [mode, type, oid] = meta.split(' ') as [string, string, string];
          return { path, mode, type, oid };
        });
      const got = await r.listTree(head);
      assert.deepEqual(
        [...got].sort((a, b) => (a.path < b.path ? -1 : 1)),
        [...expected].sort((a, b) => (a.path < b.path ? -1 : 1)),
      );
      // Each tree comes before what is in it.
      for (const e of got) {
        const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : null;
        if (parent) assert.ok(got.findIndex((x) => x.path === parent) < got.indexOf(e), `${parent} before ${e.path}`);
      }
      const modes = Object.fromEntries(got.map((e) => [e.path, e.mode]));
      assert.equal(modes['run.sh'], '100755');
      assert.equal(modes.link, '120000');
      assert.equal(modes.src, '040000');
    });

    it('readObjects returns raw bytes in the order asked; a missing object is OBJECT_MISSING', async () => {
      const r = await must(open, repo);
      const head = git(repo, 'rev-parse', 'HEAD');
      const ids = ['src/deep/c.bin', 'a.txt', 'link'].map((p) => git(repo, 'rev-parse', `HEAD:${p}`));
      const seen: Array<[string, string, Buffer]> = [];
      await r.readObjects([...ids, head], (oid, type, bytes) => {
        seen.push([oid, type, Buffer.from(bytes)]);
      });
      assert.deepEqual(seen.map((s) => s[0]), [...ids, head]);
      assert.deepEqual(seen.map((s) => s[1]), ['blob', 'blob', 'blob', 'commit']);
      assert.deepEqual(seen[0]![2], Buffer.from([0, 1, 2, 255, 10, 0]));
      assert.equal(seen[1]![2].toString(), 'alpha\n');
      assert.equal(seen[2]![2].toString(), 'a.txt');
      assert.equal(seen[3]![2].toString(), execFileSync('git', ['cat-file', 'commit', head], { cwd: repo, encoding: 'utf8' }));
      await assert.rejects(
        r.readObjects(['0123456789abcdef0123456789abcdef01234567'], () => undefined),
        (e: unknown) => isStrataError(e, 'OBJECT_MISSING'),
      );
    });

    it('a submodule (.git is a gitdir: file) is its own repository', async () => {
      const lib = join(tmp.dir, 'lib');
      await gitRepo(lib, { 'lib.txt': 'lib\n' });
      const sup = join(tmp.dir, 'super');
      await gitRepo(sup, { 'top.txt': 'top\n' });
      git(sup, '-c', 'protocol.file.allow=always', 'submodule', '-q', 'add', lib, 'vendor/lib');
      git(sup, 'commit', '-q', '-m', 'add lib');
      const inner = join(sup, 'vendor', 'lib');
      assert.ok((await fsp.stat(join(inner, '.git'))).isFile());
      const r = await must(open, inner);
      assert.equal(r.root, inner);
      assert.equal(await r.headCommit(), git(lib, 'rev-parse', 'HEAD'));
      assert.deepEqual(await r.changedFiles(), []);
      await fsp.appendFile(join(inner, 'lib.txt'), 'edit\n');
      assert.deepEqual(await r.changedFiles(), [{ path: 'lib.txt', status: 'modified' }]);
      // From the superproject, the submodule is not a file change of the superproject's own files.
      const s = await must(open, sup);
      assert.equal(s.root, sup);
      assert.deepEqual(await s.changedFiles(), []);
      assert.ok((await s.listTree(await s.headCommit() as string)).some((e) => e.path === 'vendor/lib' && e.type === 'commit' && e.mode === '160000'));
    });

    it('a linked worktree (git worktree add) has its own HEAD, branch and changes', async () => {
      const wt = join(tmp.dir, 'wt');
      git(repo, 'worktree', 'add', '-q', '-b', 'feature', wt);
      try {
        await writeFiles(wt, { 'a.txt': 'alpha in the worktree\n' });
        git(wt, 'commit', '-q', '-am', 'worktree commit');
        const r = await must(open, join(wt, 'src'));
        assert.equal(r.root, wt);
        assert.equal(await r.headCommit(), git(wt, 'rev-parse', 'HEAD'));
        assert.notEqual(await r.headCommit(), git(repo, 'rev-parse', 'HEAD'));
        assert.equal(await r.branch(), 'feature');
        assert.deepEqual(await r.changedFiles(), []);
        await fsp.appendFile(join(wt, 'src/b.txt'), 'x\n');
        await fsp.rm(join(wt, 'old.txt'));
        await writeFiles(wt, { 'scratch.txt': 'untracked\n' });
        assert.deepEqual(await r.changedFiles(), [
          { path: 'old.txt', status: 'deleted' },
          { path: 'src/b.txt', status: 'modified' },
        ]);
        assert.equal(await r.hasCommit(first), true);
        assert.equal((await r.listTree(await r.headCommit() as string)).find((e) => e.path === 'a.txt')?.oid, git(wt, 'rev-parse', 'HEAD:a.txt'));
        // The main work tree is unaffected.
        const m = await must(open, repo);
        assert.equal(await m.branch(), 'main');
        assert.deepEqual(await m.changedFiles(), []);
      } finally {
        git(repo, 'worktree', 'remove', '--force', wt);
      }
    });
  });
}
