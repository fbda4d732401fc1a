/**
 * Configuration levels as git has them, through the real CLI with HOME and XDG_CONFIG_HOME in a
 * temporary folder: the user config file < the repository config < STRATA_CONFIG_<KEY>; `config
 * get` shows the value in effect and commits use it; `config list --show-origin` says where each
 * value comes from; `--user` works outside a repository; secrets, keys Strata sets and
 * repository-only keys are refused at the user level; invalid values and lines name the file
 * (or the variable) and the fix.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { EXIT_CODES } from '../core/errors/index.js';

const CONFIG_INVALID = EXIT_CODES.CONFIG_INVALID;

describe('config levels', () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let repo: string;
  let outside: string;
  let xdg: string;
  let cfgFile: string;
  let env: Record<string, string | undefined>;

  before(async () => {
    t = await tempDir('strata-config-levels-');
    repo = join(t.dir, 'repo');
    outside = join(t.dir, 'elsewhere');
    xdg = join(t.dir, 'xdg');
    cfgFile = join(xdg, 'strata', 'config');
    await fsp.mkdir(repo);
    await fsp.mkdir(outside);
    // No author from the environment: what the levels say is what commits get.
    env = { HOME: join(t.dir, 'home'), XDG_CONFIG_HOME: xdg, STRATA_AUTHOR_NAME: undefined, STRATA_AUTHOR_EMAIL: undefined, STRATA_CONFIG_USER_NAME: undefined, STRATA_CONFIG_USER_EMAIL: undefined };
    await ok(repo, ['init'], 0, { env });
  });
  after(() => t.cleanup());

  const run = (cwd: string, args: string[], extra: Record<string, string | undefined> = {}) => strata(cwd, args, { env: { ...env, ...extra } });
  const must = async (cwd: string, args: string[], code = 0, extra: Record<string, string | undefined> = {}) => {
    const r = await run(cwd, args, extra);
    assert.equal(r.code, code, `strata ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const authorOfHead = async (extra: Record<string, string | undefined> = {}) => {
    const log = await must(repo, ['log', '-n', '1'], 0, extra);
    return /Author: (.*)/.exec(log.stdout)![1];
  };
  let n = 0;
  const commitSomething = async (extra: Record<string, string | undefined> = {}) => {
    await writeFiles(repo, { [`data/f${n++}.txt`]: `v${n}\n` });
    await must(repo, ['add', 'data'], 0, extra);
    return run(repo, ['commit', '-m', `c${n}`], extra);
  };

  it('config set --user writes the user file, outside any repository; get --user reads it back', async () => {
    await must(outside, ['config', 'set', '--user', 'user.name', 'Ada Lovelace']);
    await must(outside, ['config', '--user', 'set', 'user.email', 'ada@example.org']);
    assert.equal(await fsp.readFile(cfgFile, 'utf8'), 'user.name = Ada Lovelace\nuser.email = ada@example.org\n');
    assert.equal((await must(outside, ['config', 'get', '--user', 'user.name'])).stdout.trim(), 'Ada Lovelace');
    // Without a repository, the repository level is not there to read.
    assert.equal((await run(outside, ['config', 'get', 'user.name'])).code, EXIT_CODES.NOT_A_REPOSITORY);
  });

  it('the user level is below the repository, the environment above both; commits use the value in effect', async () => {
    assert.equal((await must(repo, ['config', 'get', 'user.name'])).stdout.trim(), 'Ada Lovelace');
    assert.equal((await commitSomething()).code, 0);
    assert.equal(await authorOfHead(), 'Ada Lovelace <ada@example.org>');

    await must(repo, ['config', 'set', 'user.name', 'Grace Hopper']);
    assert.equal((await must(repo, ['config', 'get', 'user.name'])).stdout.trim(), 'Grace Hopper');
    assert.equal((await commitSomething()).code, 0);
    assert.equal(await authorOfHead(), 'Grace Hopper <ada@example.org>', 'repository name, user-level email');

    const envOver = { STRATA_CONFIG_USER_NAME: 'Env Person', STRATA_CONFIG_USER_EMAIL: 'env@example.org' };
    assert.equal((await must(repo, ['config', 'get', 'user.name'], 0, envOver)).stdout.trim(), 'Env Person');
    assert.equal((await commitSomething(envOver)).code, 0);
    assert.equal(await authorOfHead(), 'Env Person <env@example.org>');
    // The older STRATA_AUTHOR_NAME stays below every level.
    assert.equal((await must(repo, ['config', 'get', 'user.name'], 0, { STRATA_AUTHOR_NAME: 'Old Var' })).stdout.trim(), 'Grace Hopper');
  });

  it('config list --show-origin says where each value comes from, lowest level first', async () => {
    const envOver = { STRATA_CONFIG_USER_NAME: 'Env Person' };
    const l = await must(repo, ['config', 'list', '--show-origin'], 0, envOver);
    assert.deepEqual(l.stdout.trim().split('\n'), [
      `file:${cfgFile}\tuser.name=Ada Lovelace`,
      `file:${cfgFile}\tuser.email=ada@example.org`,
      'repository\tuser.name=Grace Hopper',
      'env:STRATA_CONFIG_USER_NAME\tuser.name=Env Person',
    ]);
    const j = JSON.parse((await must(repo, ['config', 'list', '--json'], 0, envOver)).stdout) as Array<{ key: string; value: string; origin: string; where: string; effective: boolean }>;
    assert.deepEqual(
      j.map((e) => [e.origin, e.key, e.effective]),
      [
        ['user', 'user.name', false],
        ['user', 'user.email', true],
        ['repository', 'user.name', false],
        ['env', 'user.name', true],
      ],
    );
    assert.deepEqual((await must(repo, ['config', 'list', '--user'])).stdout.trim().split('\n'), ['user.name=Ada Lovelace', 'user.email=ada@example.org']);
    // A value that arrives unvalidated (the environment) is listed without URL credentials, and warned about.
    const cred = await must(repo, ['config', 'list', '--show-origin'], 0, { STRATA_CONFIG_OPENLINEAGE_URL: 'http://olu:pw5ecret9@127.0.0.1:1/api/v1/lineage' });
    assert.doesNotMatch(cred.stdout + cred.stderr, /pw5ecret9/);
    assert.match(cred.stdout, /^env:STRATA_CONFIG_OPENLINEAGE_URL\topenlineage\.url=http:\/\/.*127\.0\.0\.1:1/m);
    assert.match(cred.stderr, /warning: STRATA_CONFIG_OPENLINEAGE_URL: openlineage\.url holds an invalid value/);
  });

  it('secrets, keys Strata sets and repository-only keys are refused at the user level; nothing is written', async () => {
    const before = await fsp.readFile(cfgFile, 'utf8');
    const secret = await run(outside, ['config', 'set', '--user', 'openlineage.apiKey', 'k3y']);
    assert.equal(secret.code, CONFIG_INVALID);
    assert.match(secret.stderr, /openlineage\.apiKey is a secret and is not kept in the user config file/);
    assert.match(secret.stderr, /credentials/);
    const internal = await run(outside, ['config', 'set', '--user', 'remote.origin.url', 's3://b/p']);
    assert.equal(internal.code, CONFIG_INVALID);
    assert.match(internal.stderr, /set by Strata itself/);
    const repoOnly = await run(outside, ['config', 'set', '--user', 'server.anonymous-read', 'true']);
    assert.equal(repoOnly.code, CONFIG_INVALID);
    assert.match(repoOnly.stderr, /setting of one repository.*strata config set server\.anonymous-read/s);
    const typo = await run(outside, ['config', 'set', '--user', 'user.nmae', 'x']);
    assert.equal(typo.code, CONFIG_INVALID);
    assert.match(typo.stderr, /did you mean user\.name/);
    const bad = await run(outside, ['config', 'set', '--user', 'core.fsync', 'sometimes']);
    assert.equal(bad.code, CONFIG_INVALID);
    assert.equal(await fsp.readFile(cfgFile, 'utf8'), before);
    // A repository-only key written into the user file by hand is not read, and list says so.
    await fsp.appendFile(cfgFile, 'server.anonymous-read = true\n');
    assert.equal((await run(repo, ['config', 'get', 'server.anonymous-read'])).code, 1, 'not set in the repository');
    const l = await must(repo, ['config', 'list']);
    assert.match(l.stderr, /server\.anonymous-read cannot be set in the user config \(ignored\)/);
    await must(outside, ['config', 'unset', '--user', 'server.anonymous-read']);
    assert.equal(await fsp.readFile(cfgFile, 'utf8'), before);
  });

  it('an invalid value names its level and the fix; a bad line names file:line', async () => {
    await must(repo, ['config', 'unset', 'user.name']);
    // Hand-written invalid email in the user file.
    await fsp.writeFile(cfgFile, '# mine\nuser.name = Ada Lovelace\nuser.email = not-an-address\n');
    const c = await commitSomething();
    assert.equal(c.code, CONFIG_INVALID, c.stderr);
    assert.match(c.stderr, new RegExp(`the user config file ${cfgFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} holds an invalid value "not-an-address" for user\\.email`));
    assert.match(c.stderr, /strata config unset --user user\.email/);
    assert.doesNotMatch(c.stderr, /internal error|at .*\.js:\d+/);
    await must(outside, ['config', 'set', '--user', 'user.email', 'ada@example.org']);
    assert.equal(await fsp.readFile(cfgFile, 'utf8'), '# mine\nuser.name = Ada Lovelace\nuser.email = ada@example.org\n', 'replaced in place, comment kept');
    // An invalid value in the environment names the variable.
    const e = await commitSomething({ STRATA_CONFIG_USER_EMAIL: 'nope' });
    assert.equal(e.code, CONFIG_INVALID);
    assert.match(e.stderr, /environment variable STRATA_CONFIG_USER_EMAIL holds an invalid value "nope" for user\.email/);
    assert.match(e.stderr, /unset STRATA_CONFIG_USER_EMAIL/);
    // A line that is not key = value.
    await fsp.appendFile(cfgFile, 'this is not a setting\n');
    const g = await run(outside, ['config', 'get', '--user', 'user.name']);
    assert.equal(g.code, CONFIG_INVALID);
    assert.match(g.stderr, new RegExp(`${cfgFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4: not a "key = value" line`));
    const s = await run(outside, ['config', 'set', '--user', 'user.name', 'X']);
    assert.equal(s.code, CONFIG_INVALID, 'a file that cannot be read back is not rewritten');
    assert.match(await fsp.readFile(cfgFile, 'utf8'), /this is not a setting/);
    await fsp.writeFile(cfgFile, '# mine\nuser.name = Ada Lovelace\n');
    await must(outside, ['config', 'unset', '--user', 'user.name']);
    assert.equal(await fsp.readFile(cfgFile, 'utf8'), '# mine\n');
  });

  it('without XDG_CONFIG_HOME the file is ~/.config/strata/config', async () => {
    const home = join(t.dir, 'home2');
    await must(outside, ['config', 'set', '--user', 'remote.default', 'backup'], 0, { HOME: home, XDG_CONFIG_HOME: undefined });
    assert.equal(await fsp.readFile(join(home, '.config', 'strata', 'config'), 'utf8'), 'remote.default = backup\n');
    assert.equal((await must(repo, ['config', 'get', 'remote.default'], 0, { HOME: home, XDG_CONFIG_HOME: undefined })).stdout.trim(), 'backup');
    assert.equal((await run(repo, ['config', 'get', 'remote.default'])).code, 1, 'another user file does not have it');
  });
});
