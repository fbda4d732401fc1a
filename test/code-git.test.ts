/**
 * The code version of runs, read with the git program (core/code/git-cli.ts) and, without one on
 * PATH, with isomorphic-git (core/code/git-builtin.ts): a `git worktree add` checkout, a strata
 * project inside a submodule, a sparse checkout, dirty detection, a repository a stranger prepared
 * (its config must not run anything), and 10,000 tracked files. Real strata binary, real git.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readCodeState } from '../core/code/git.js';
import { openCodeRepo } from '../core/code/repo.js';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { git, gitRepo } from './helpers/code-contract.js';

interface RunCode {
  commit: string | null;
  branch: string | null;
  dirty: boolean;
  diff?: string;
}

const ENV = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

/** `strata run` of a stage writing out.txt; the code version it recorded. */
async function runCode(dir: string, env: Record<string, string> = {}): Promise<RunCode> {
  const r = await ok(dir, ['run', '--json', '-n', 'make', '-o', 'out.txt', '--', 'echo made > out.txt'], 0, { env: { ...ENV, ...env } });
  return (JSON.parse(r.stdout) as { run: { code: RunCode } }).run.code;
}

/**
 * A git repository at `dir` holding a strata project (in `sub`, default the root) whose first run
 * has been made and whose .gitignore (with the output listed) is committed: a clean work tree.
 */
async function strataProject(dir: string, files: Record<string, string> = {}, sub = ''): Promise<void> {
  await gitRepo(dir, { 'train.py': 'print("train")\n', ...files });
  const proj = join(dir, sub);
  await fsp.mkdir(proj, { recursive: true });
  await ok(proj, ['init'], 0, { env: ENV });
  await writeFiles(proj, { '.gitignore': '/.strata/\n' });
  await runCode(proj);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'strata project');
  assert.equal(git(dir, 'status', '--porcelain', '--untracked-files=no'), '');
}

/**
 * `strata init` in another checkout of a committed project (.strata/ is not in git). init rewrites
 * the managed .gitignore blocks (the project's and the git root's) without the data paths that
 * checkout has not tracked yet; the committed files are put back so the work tree is clean.
 */
async function initCheckout(dir: string): Promise<void> {
  await ok(dir, ['init'], 0, { env: ENV });
  git(dir, 'checkout', '-q', '--', ':/');
}

describe('the code version with the git program', () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  /** A PATH with node and nothing else (no git). */
  let noGitPath: string;
  before(async () => {
    tmp = await tempDir('strata-codegit-');
    const bin = join(tmp.dir, 'bin-node-only');
    await fsp.mkdir(bin);
    await fsp.symlink(process.execPath, join(bin, 'node'));
    noGitPath = bin;
  });
  after(async () => tmp.cleanup());

  it('a run in a `git worktree add` checkout records the worktree commit and branch (either implementation)', async () => {
    const main = join(tmp.dir, 'wt-main');
    await strataProject(main);
    const wt = join(tmp.dir, 'wt-linked');
    git(main, 'worktree', 'add', '-q', '-b', 'experiment', wt);
    await writeFiles(wt, { 'train.py': 'print("train v2")\n' });
    git(wt, 'commit', '-q', '-am', 'experiment');
    assert.ok((await fsp.stat(join(wt, '.git'))).isFile(), '.git of a linked worktree is a file');
    await initCheckout(wt);
    const head = git(wt, 'rev-parse', 'HEAD');
    assert.notEqual(head, git(main, 'rev-parse', 'HEAD'));
    const want = { commit: head, branch: 'experiment', dirty: false };
    const pick = (c: RunCode) => ({ commit: c.commit, branch: c.branch, dirty: c.dirty });
    assert.deepEqual(pick(await runCode(wt)), want);
    assert.deepEqual(pick(await runCode(wt, { STRATA_CONFIG_CODE_GIT: 'builtin' })), want);
    assert.deepEqual(pick(await runCode(wt, { PATH: noGitPath })), want);
    // An edit in the worktree: dirty, and the change is recorded (not the main work tree's state).
    await fsp.appendFile(join(wt, 'train.py'), '# tuned\n');
    const dirty = await runCode(wt);
    assert.equal(dirty.dirty, true);
    assert.match(dirty.diff ?? '', /^[0-9a-f]{64}$/);
    const show = JSON.parse((await ok(wt, ['runs', '--json', '-n', '1'], 0, { env: ENV })).stdout) as Array<{ code: RunCode }>;
    assert.equal(show[0]!.code.diff, dirty.diff);
    assert.equal((await runCode(main)).dirty, false);
  });

  it('a strata project inside a submodule records the submodule commit', async () => {
    const lib = join(tmp.dir, 'sub-lib');
    await strataProject(lib, { 'model.py': 'print("model")\n' }, 'pipeline');
    const sup = join(tmp.dir, 'sub-super');
    await gitRepo(sup, { 'README.md': 'super\n' });
    git(sup, '-c', 'protocol.file.allow=always', 'submodule', '-q', 'add', lib, 'ml');
    git(sup, 'commit', '-q', '-m', 'add ml');
    const proj = join(sup, 'ml', 'pipeline');
    await initCheckout(proj);
    for (const env of [{}, { PATH: noGitPath }] as Array<Record<string, string>>) {
      const code = await runCode(proj, env);
      assert.deepEqual({ commit: code.commit, dirty: code.dirty }, { commit: git(lib, 'rev-parse', 'HEAD'), dirty: false }, JSON.stringify(env));
    }
    const state = await readCodeState(proj, { checkDirty: true });
    assert.equal(state.root, join(sup, 'ml'));
  });

  it('a sparse checkout is clean while only the skipped files are absent', async () => {
    const dir = join(tmp.dir, 'sparse');
    const big: Record<string, string> = {};
    for (let i = 0; i < 20; i++) big[`assets/f${i}.txt`] = `asset ${i}\n`;
    await strataProject(dir, { 'src/model.py': 'm\n', ...big });
    git(dir, 'sparse-checkout', 'set', 'src');
    assert.ok(!existsSync(join(dir, 'assets')), 'assets/ is outside the sparse checkout');
    const code = await runCode(dir);
    assert.deepEqual({ commit: code.commit, dirty: code.dirty }, { commit: git(dir, 'rev-parse', 'HEAD'), dirty: false });
    await fsp.appendFile(join(dir, 'src/model.py'), 'edit\n');
    assert.equal((await runCode(dir)).dirty, true);
  });

  it('dirty: a modified or re-moded tracked file is; an untracked or ignored file is not', async () => {
    const dir = join(tmp.dir, 'dirty');
    await strataProject(dir, { 'run.sh': 'echo run\n', '.gitignore': '*.tmp\n' });
    await writeFiles(dir, { 'notes.txt': 'untracked\n', 'scratch.tmp': 'ignored\n' });
    assert.equal((await runCode(dir)).dirty, false);
    await fsp.chmod(join(dir, 'run.sh'), 0o755);
    assert.equal((await runCode(dir)).dirty, true, 'chmod +x is a code change');
    await fsp.chmod(join(dir, 'run.sh'), 0o644);
    await fsp.appendFile(join(dir, 'train.py'), '# edited\n');
    const code = await runCode(dir);
    assert.equal(code.dirty, true);
    assert.ok(code.diff, 'the change is recorded');
    git(dir, 'checkout', '--', 'train.py');
    assert.equal((await runCode(dir)).dirty, false);
  });

  it("a repository's own config runs nothing (fsmonitor, clean filters, hooks), while git status would run them", async () => {
    const dir = join(tmp.dir, 'hostile');
    await strataProject(dir, { 'data.csv': 'a,b\n' });
    const marker = (n: string) => join(tmp.dir, `ran-${n}`);
    git(dir, 'config', 'core.fsmonitor', `touch ${marker('fsmonitor')}; false`);
    git(dir, 'config', 'filter.evil.clean', `touch ${marker('filter')}; cat`);
    git(dir, 'config', 'filter.evil.required', 'true');
    await writeFiles(dir, { '.git/info/attributes': '* filter=evil\n', '.git/hooks/post-index-change': `#!/bin/sh\ntouch ${marker('hook')}\n` });
    await fsp.chmod(join(dir, '.git/hooks/post-index-change'), 0o755);
    // Stale stat data: git must re-read the file (through the clean filter) to know it is unchanged.
    const old = new Date('2020-01-01T00:00:00Z');
    await fsp.utimes(join(dir, 'train.py'), old, old);
    const code = await runCode(dir);
    assert.equal(code.dirty, false);
    await fsp.appendFile(join(dir, 'train.py'), '# edit\n');
    assert.equal((await runCode(dir)).dirty, true);
    for (const n of ['fsmonitor', 'filter', 'hook']) assert.ok(!existsSync(marker(n)), `strata ran the repository's ${n}`);
    // The fixture is live: plain git status runs them. data.csv keeps its size but gets another
    // mtime, so git must read it through the clean filter whatever the racy-git timing (train.py's
    // size changed: git knows it is modified without reading it).
    await fsp.utimes(join(dir, 'data.csv'), old, old);
    git(dir, 'status', '--porcelain');
    assert.ok(existsSync(marker('fsmonitor')), 'git status runs the fsmonitor hook');
    assert.ok(existsSync(marker('filter')), 'git status runs the clean filter');
  });

  it('without git on PATH: auto falls back to isomorphic-git; code.git=cli is a clear CONFIG_INVALID', async () => {
    const dir = join(tmp.dir, 'nogit');
    await strataProject(dir);
    const head = git(dir, 'rev-parse', 'HEAD');
    const code = await runCode(dir, { PATH: noGitPath });
    assert.deepEqual({ commit: code.commit, branch: code.branch, dirty: code.dirty }, { commit: head, branch: 'main', dirty: false });
    const r = await strata(dir, ['run', '-n', 'make', '-o', 'out.txt', '--', 'echo made > out.txt'], { env: { ...ENV, PATH: noGitPath, STRATA_CONFIG_CODE_GIT: 'cli' } });
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, /error: code\.git is cli but the git program cannot read the code repository: no git program on PATH/);
    assert.match(r.stderr, /hint: install git 2\.31 or newer \(on PATH\), or set code\.git to auto or builtin/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const bad = await strata(dir, ['config', 'set', 'code.git', 'shell']);
    assert.equal(bad.code, 12, bad.stderr);
    assert.match(bad.stderr, /invalid value "shell" for code\.git/);
  });

  it('10,000 tracked files: both implementations agree on clean and on one edit (times reported)', async (t) => {
    const dir = join(tmp.dir, 'many');
    const files: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) files[`src/m${Math.floor(i / 100)}/f${i}.txt`] = `file ${i}\n`;
    await gitRepo(dir, files);
    assert.equal(git(dir, 'ls-files').split('\n').length, 10_000);
    const times: string[] = [];
    const measure = async (mode: 'cli' | 'builtin'): Promise<boolean> => {
      const t0 = performance.now();
      const s = await readCodeState(dir, { config: { getConfig: (k) => (k === 'code.git' ? mode : null) } });
      times.push(`${mode} ${(performance.now() - t0).toFixed(0)} ms`);
      assert.equal(s.commit, git(dir, 'rev-parse', 'HEAD'));
      return s.dirty;
    };
    for (const mode of ['cli', 'builtin'] as const) assert.equal(await measure(mode), false, mode);
    await fsp.appendFile(join(dir, 'src/m42/f4242.txt'), 'edit\n');
    for (const mode of ['cli', 'builtin'] as const) {
      assert.equal(await measure(mode), true, mode);
      const r = await openCodeRepo(dir, { mode });
      assert.deepEqual(await r!.changedFiles(), [{ path: 'src/m42/f4242.txt', status: 'modified' }]);
    }
    t.diagnostic(`readCodeState with the dirty check, 10,000 tracked files: ${times.join(', ')}`);
  });
});
