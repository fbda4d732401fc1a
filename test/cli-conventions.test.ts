/**
 * Shell conventions of the CLI, through the real binary: -q prints nothing but errors, --color /
 * FORCE_COLOR / NO_COLOR, the pager of log/diff/show (under a real pseudo-terminal from
 * util-linux `script`), one UTC reading of --since, and `strata completion` driven in a real bash.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ok, strata, tempDir, writeFiles } from './helpers/cli.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let repo: string;
before(async () => {
  tmp = await tempDir('strata-cliconv-');
  repo = join(tmp.dir, 'repo');
  await fsp.mkdir(repo);
  await ok(repo, ['init']);
  await writeFiles(repo, { 'data/a.csv': 'x,y\n1,2\n' });
  await ok(repo, ['add', 'data']);
  await ok(repo, ['commit', '-m', 'first']);
});
after(async () => {
  await tmp?.cleanup();
});

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe('-q prints nothing but errors', () => {
  it('init, add, commit, repro, remote, push, checkout, switch, tag, branch: empty stdout and stderr', async () => {
    const dir = join(tmp.dir, 'quiet');
    await fsp.mkdir(dir);
    const remote = join(tmp.dir, 'quiet-remote');
    await fsp.mkdir(remote);
    const steps: string[][] = [
      ['-q', 'init'],
      ['add', '-q', 'data'],
      ['commit', '-q', '-m', 'one'],
      ['repro', '--quiet'],
      ['-q', 'add', 'out.csv'],
      ['-q', 'commit', '-m', 'two'],
      ['-q', 'remote', 'add', 'origin', remote],
      ['push', '-q'],
      ['-q', 'tag', 'v1'],
      ['-q', 'branch', 'feat'],
      ['-q', 'checkout', 'feat'],
      ['-q', 'switch', 'main'],
      ['-q', 'status'],
    ];
    await writeFiles(dir, {
      'data/a.csv': 'x\n1\n',
      // The stage writes to both streams: -q holds both back.
      'strata.yaml': 'stages:\n  copy:\n    cmd: echo copying; echo note >&2; cp data/a.csv out.csv\n    deps: [data/a.csv]\n    outs: [out.csv]\n',
    });
    for (const args of steps) {
      const r = await ok(dir, args);
      assert.equal(r.stdout, '', `strata ${args.join(' ')} printed on stdout: ${r.stdout}`);
      assert.equal(r.stderr, '', `strata ${args.join(' ')} printed on stderr: ${r.stderr}`);
    }
    // Without -q the same kind of command does print: the loop above is not vacuous.
    assert.notEqual((await ok(dir, ['tag', 'v2'])).stdout + (await ok(dir, ['log', '-n', '1'])).stdout, '');
  });

  it('a failing command still says why, with what it held back', async () => {
    const dir = join(tmp.dir, 'quiet-fail');
    await fsp.mkdir(dir);
    await ok(dir, ['-q', 'init']);
    await writeFiles(dir, { 'strata.yaml': 'stages:\n  bad:\n    cmd: echo broken-stage-output >&2; exit 3\n    outs: [o.txt]\n' });
    const r = await strata(dir, ['-q', 'repro']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /broken-stage-output/);
    assert.match(r.stderr, /error: stage bad failed/);
    // A command option's value is not taken for -q: `-m -q` stays the (refused, dash-led) message.
    const m = await strata(dir, ['tag', 'x', '-m', '-q']);
    assert.equal(m.code, 2);
    assert.match(m.stderr, /argument is ambiguous/);
    const e = await strata(dir, ['-q', 'checkout', 'nosuch']);
    assert.equal(e.code, 4);
    assert.match(e.stderr, /error: unknown revision "nosuch"/);
  });
});

describe('--color, FORCE_COLOR and NO_COLOR', () => {
  const ESC = '\x1b[';
  const diffOut = async (args: string[], env: Record<string, string | undefined>) => (await ok(repo, ['diff', ...args], 0, { env: { NO_COLOR: undefined, FORCE_COLOR: undefined, ...env } })).stdout;
  before(async () => {
    await writeFiles(repo, { 'data/a.csv': 'x,y\n1,2\n3,4\n' });
  });
  it('piped output: plain unless asked; the flag beats the environment, FORCE_COLOR beats NO_COLOR', async () => {
    assert.ok((await diffOut([], {})).includes('data/a.csv'));
    assert.ok(!(await diffOut([], {})).includes(ESC), 'no colour into a pipe by default');
    assert.ok((await diffOut(['--color=always'], {})).includes(ESC));
    assert.ok((await diffOut(['--color'], {})).includes(ESC));
    assert.ok((await diffOut([], { FORCE_COLOR: '1' })).includes(ESC));
    assert.ok((await diffOut([], { FORCE_COLOR: '1', NO_COLOR: '1' })).includes(ESC));
    assert.ok(!(await diffOut([], { FORCE_COLOR: '0' })).includes(ESC));
    assert.ok(!(await diffOut([], { NO_COLOR: '1' })).includes(ESC));
    assert.ok(!(await diffOut(['--color=never'], { FORCE_COLOR: '1' })).includes(ESC));
    assert.ok((await diffOut(['--color=always'], { NO_COLOR: '1' })).includes(ESC));
    // Global position, before the verb, too.
    assert.ok((await ok(repo, ['--color=always', 'diff'], 0, { env: { NO_COLOR: '1' } })).stdout.includes(ESC));
  });
  it('a bad --color value is a usage error naming the choices', async () => {
    const r = await strata(repo, ['diff', '--color=sometimes']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--color takes auto, always or never/);
  });
});

describe('the pager of log, diff and show', () => {
  let pagerLog: string;
  let pager: string;
  before(async () => {
    pagerLog = join(tmp.dir, 'pager.log');
    pager = join(tmp.dir, 'pager.sh');
    await fsp.writeFile(pager, `#!/bin/sh\necho "paged LESS=$LESS" >> ${pagerLog}\ncat >> ${pagerLog}.text\n`, { mode: 0o755 });
    for (let i = 0; i < 3; i++) {
      await writeFiles(repo, { [`data/n${i}.csv`]: `${i}\n` });
      await ok(repo, ['add', 'data']);
      await ok(repo, ['commit', '-m', `more ${i}`]);
    }
  });
  /** Run strata under a pseudo-terminal of `rows` rows; what the pager got, if it ran. */
  const underTty = async (args: string, env: Record<string, string>, rows = 5): Promise<{ paged: string | null; text: string }> => {
    await fsp.rm(pagerLog, { force: true });
    await fsp.rm(`${pagerLog}.text`, { force: true });
    const inner = `stty rows ${rows} cols 100; cd '${repo}' && '${process.execPath}' '${BIN}' ${args}`;
    execFileSync('script', ['-qec', inner, '/dev/null'], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const paged = await fsp.readFile(pagerLog, 'utf8').catch(() => null);
    const text = await fsp.readFile(`${pagerLog}.text`, 'utf8').catch(() => '');
    return { paged, text };
  };
  it('long output on a terminal goes through PAGER, with LESS=FRX when LESS is unset', async () => {
    const r = await underTty('log', { PAGER: pager });
    assert.equal(r.paged, 'paged LESS=FRX\n');
    assert.match(r.text, /more 2/);
    assert.equal((await underTty('log', { PAGER: pager, LESS: '-S' })).paged, 'paged LESS=-S\n');
  });
  it('core.pager (user level, here through its variable) comes before PAGER', async () => {
    const r = await underTty('log', { PAGER: '/bin/false', STRATA_CONFIG_CORE_PAGER: pager });
    assert.equal(r.paged, 'paged LESS=FRX\n');
  });
  it('--no-pager, STRATA_NO_PAGER, --json, short output and other commands never page', async () => {
    assert.equal((await underTty('log --no-pager', { PAGER: pager })).paged, null);
    assert.equal((await underTty('--no-pager log', { PAGER: pager })).paged, null);
    assert.equal((await underTty('log', { PAGER: pager, STRATA_NO_PAGER: '1' })).paged, null);
    assert.equal((await underTty('log --json', { PAGER: pager })).paged, null);
    assert.equal((await underTty('log -n 1', { PAGER: pager }, 60)).paged, null);
    assert.equal((await underTty('status', { PAGER: pager }, 2)).paged, null);
  });
  it('piped output never pages', async () => {
    await fsp.rm(pagerLog, { force: true });
    const r = await ok(repo, ['log'], 0, { env: { PAGER: pager } });
    assert.match(r.stdout, /more 2/);
    assert.equal(await fsp.readFile(pagerLog, 'utf8').catch(() => null), null);
  });
});

describe('one reading of time options: runs --since', () => {
  let dir: string;
  const iso = (ms: number) => new Date(ms).toISOString();
  /** A wall-clock time written without a zone: the UTC reading of `ms`, minutes precision. */
  const noZone = (ms: number) => iso(ms).slice(0, 16);
  const count = async (since: string) => JSON.parse((await ok(dir, ['--json', 'runs', '--since', since], 0, { env: { TZ: 'America/New_York' } })).stdout).length as number;
  before(async () => {
    dir = join(tmp.dir, 'times');
    await fsp.mkdir(dir);
    await ok(dir, ['init']);
    await ok(dir, ['run', '-n', 'hello', '--', 'true']);
  });
  it('a date-time without a zone is UTC, not local time (TZ=America/New_York)', async () => {
    const now = Date.now();
    // One hour ago in UTC: includes the run. Read as New York time it would be hours ahead and match nothing.
    assert.equal(await count(noZone(now - 3600e3)), 1);
    assert.equal(await count(noZone(now + 3600e3).replace('T', ' ')), 0);
  });
  it('a date alone is UTC midnight; Z and offsets are honoured; ages count back from now', async () => {
    const now = Date.now();
    assert.equal(await count(iso(now - 86400e3).slice(0, 10)), 1);
    assert.equal(await count(iso(now + 2 * 86400e3).slice(0, 10)), 0);
    assert.equal(await count(`${noZone(now - 3600e3)}Z`), 1);
    // An hour ago, written as +05:00 clock time: ignoring the offset would put it 4 hours ahead.
    assert.equal(await count(`${noZone(now - 3600e3 + 5 * 3600e3)}+05:00`), 1);
    assert.equal(await count(`${noZone(now + 3600e3 - 5 * 3600e3)}-05:00`), 0);
    assert.equal(await count('1h'), 1);
  });
  it('a value that is no date or age is refused with the forms to use', async () => {
    for (const bad of ['2025-02-30', 'yesterday', '2025-01-31T25:00', '31/01/2025']) {
      const r = await strata(dir, ['runs', '--since', bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /is not a date or an age/);
      assert.match(r.stderr, /hint: use a date like 2025-01-31/);
    }
  });
});

describe('strata completion', () => {
  let scripts: Record<'bash' | 'zsh' | 'fish', string>;
  before(async () => {
    scripts = {
      bash: (await ok(repo, ['completion', 'bash'])).stdout,
      zsh: (await ok(repo, ['completion', 'zsh'])).stdout,
      fish: (await ok(repo, ['completion', 'fish'])).stdout,
    };
  });
  /** Source the bash script and complete the words (the last one is the word being typed). */
  const complete = async (words: string[]): Promise<string[]> => {
    const file = join(tmp.dir, 'strata.bash');
    await fsp.writeFile(file, scripts.bash);
    const arr = words.map((w) => `'${w}'`).join(' ');
    const prog = `source '${file}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _strata; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['--norc', '--noprofile', '-c', prog], { encoding: 'utf8' }).split('\n').filter(Boolean);
  };
  it('bash: commands, aliases, subcommands and each command\'s flags, from the command table', async () => {
    assert.match(scripts.bash, /complete -o default -F _strata strata/);
    const verbs = await complete(['strata', 'st']);
    assert.deepEqual(verbs.sort(), ['st', 'staging', 'status']);
    assert.ok((await complete(['strata', ''])).includes('completion'));
    assert.deepEqual((await complete(['strata', 'remote', 's'])).sort(), ['set-url']);
    assert.deepEqual((await complete(['strata', 'completion', ''])).sort(), ['bash', 'fish', 'zsh']);
    const logFlags = await complete(['strata', 'log', '--']);
    for (const f of ['--graph', '--oneline', '--max-count', '--json', '--no-pager', '--quiet']) assert.ok(logFlags.includes(f), `${f} in ${logFlags.join(' ')}`);
    assert.deepEqual(await complete(['strata', '-C', '/tmp', 'commit', '--m']), ['--message']);
    assert.deepEqual((await complete(['strata', '--col'])).sort(), ['--color=always', '--color=auto', '--color=never']);
    // After the subcommand, no more subcommands: file names (complete -o default).
    assert.deepEqual(await complete(['strata', 'remote', 'add', 'a']), []);
  });
  it('zsh and fish: valid scripts naming every command', async () => {
    assert.ok(scripts.zsh.startsWith('#compdef strata\n'));
    assert.match(scripts.zsh, /compdef _strata strata/);
    assert.match(scripts.fish, /complete -c strata -f -n __fish_use_subcommand -a checkout/);
    assert.match(scripts.fish, /complete -c strata -n '__fish_seen_subcommand_from log' -l max-count -r/);
    for (const verb of ['init', 'repro', 'push', 'lineage', 'completion']) {
      assert.ok(scripts.zsh.includes(`    ${verb}) flags=`), `zsh: ${verb}`);
      assert.ok(scripts.fish.includes(`-a ${verb} `), `fish: ${verb}`);
    }
    // Debian's zsh and fish (installed by .ci/run): both parse the scripts; zsh's compinit registers
    // the function; fish completes words through them.
    for (const shell of ['zsh', 'fish'] as const) {
      assert.ok(has(shell), `${shell} is not installed (apt-get install ${shell}; .ci/run installs it)`);
      const file = join(tmp.dir, `strata.${shell}`);
      await fsp.writeFile(file, scripts[shell]);
      execFileSync(shell, ['-n', file]);
    }
    const zfile = join(tmp.dir, 'strata.zsh');
    const zsh = execFileSync('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -d '${join(tmp.dir, 'zcompdump')}'; source '${zfile}'; print -r -- $_comps[strata]`], { encoding: 'utf8', env: { ...process.env, HOME: tmp.dir } });
    assert.equal(zsh.trim(), '_strata');
    const fishComplete = (line: string) =>
      execFileSync('fish', ['--no-config', '-c', `source '${join(tmp.dir, 'strata.fish')}'; complete -C'${line}'`], { encoding: 'utf8', env: { ...process.env, HOME: tmp.dir } })
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    assert.deepEqual(fishComplete('strata st').sort(), ['st', 'staging', 'status']);
    assert.deepEqual(fishComplete('strata remote s'), ['set-url']);
    assert.ok(fishComplete('strata log --max').includes('--max-count'));
  });
  it('an unknown shell is refused with the ones there are', async () => {
    const r = await strata(repo, ['completion', 'tcsh']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no completion for the shell "tcsh"/);
    assert.match(r.stderr, /hint: use strata completion bash, zsh or fish/);
  });
});
