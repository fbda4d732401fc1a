/**
 * Hostile pipelines and pulled run records are contained (issue 10), through the real CLI, real git
 * repositories and a real file:// remote:
 *  - an output declared as `.git` (any case, any depth) or `.strata`, in strata.yaml or `run -o`;
 *  - an output or dep below a symbolically linked folder;
 *  - a pulled run record offered as a run-cache hit whose directory output holds a link outside;
 *  - `checkout --for` of a pulled run whose recorded code changes plant a git hook, `.GIT` content
 *    and a link outside;
 *  - `reproduce` of a pulled run that records PATH / LD_PRELOAD, or wdir ../../..;
 *  - `repro` after a `git pull` that changed a stage's command.
 * Each asserts a sentinel folder outside the project untouched, `.git` intact (config hash and the
 * hooks listing), no hook executed, and the exit code and message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_CODES } from '../core/errors/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { insertRun, serializeRun, type RunRecord } from '../core/meta/runs.js';
import { canonicalJson } from '../core/model/index.js';
import { serializeCodeChanges } from '../core/code/snapshot.js';
import { Repository } from '../core/repo/index.js';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { git } from './helpers/fraud.js';

let tmp: { dir: string; cleanup(): Promise<void> };
before(async () => {
  await initHash();
  tmp = await tempDir('strata-sec-pipe-');
});
after(async () => tmp?.cleanup());

const CI = { CI: 'true' };

/** A folder outside every project, with a file whose bytes must never change. */
async function sentinel(name: string): Promise<{ dir: string; check(): Promise<void> }> {
  const dir = join(tmp.dir, `sentinel-${name}`);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(join(dir, 'victim.txt'), 'precious\n');
  return {
    dir,
    async check() {
      assert.deepEqual((await fsp.readdir(dir)).sort(), ['victim.txt'], 'nothing was created in the sentinel folder');
      assert.equal(await fsp.readFile(join(dir, 'victim.txt'), 'utf8'), 'precious\n', 'the sentinel file is untouched');
    },
  };
}

/** The state of a project's .git that must not change: config bytes and the hooks present. */
async function gitState(dir: string): Promise<string> {
  const config = createHash('sha256').update(await fsp.readFile(join(dir, '.git', 'config'))).digest('hex');
  const hooks = (await fsp.readdir(join(dir, '.git', 'hooks')).catch(() => [] as string[])).sort();
  const head = await fsp.readFile(join(dir, '.git', 'HEAD'), 'utf8');
  return JSON.stringify({ config, hooks, head });
}

async function gitRepo(dir: string, email = 'test@example.com'): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', email.split('@')[0]!);
  git(dir, 'config', 'user.email', email);
  git(dir, 'config', 'commit.gpgsign', 'false');
}

/** A git project with one commit and a strata repository in it. */
async function gitProject(name: string, files: Record<string, string> = {}): Promise<string> {
  const dir = join(tmp.dir, name);
  await gitRepo(dir);
  await writeFiles(dir, { '.gitignore': '/.strata/\n', 'README.md': 'code\n', ...files });
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'code');
  await ok(dir, ['init']);
  return dir;
}

function baseRun(over: Partial<RunRecord>): RunRecord {
  const now = Date.now();
  return {
    id: randomUUID(),
    stage: 'evil',
    status: 'ok',
    cmd: 'true',
    wdir: '.',
    env: {},
    params: {},
    paramRefs: [],
    deps: [],
    outs: [],
    code: null,
    environment: { node: process.version, platform: process.platform, arch: process.arch, hostname: 'attacker', strata: '0.0.0' },
    started: now,
    ended: now + 1,
    exitCode: 0,
    signal: null,
    log: null,
    signature: 'x'.repeat(64),
    cachedFrom: null,
    error: null,
    origin: 'pipeline',
    ...over,
  };
}

/**
 * The attacker: a strata repository with one data commit, pushed to a file:// remote. `craft`
 * hand-writes run records (and any objects they name) into it; `push` sends them with their markers.
 */
async function attacker(name: string): Promise<{
  dir: string;
  remote: string;
  craft(run: RunRecord, objects?: Buffer[], trees?: Buffer[]): Promise<string>;
  push(): Promise<void>;
  plant(run: RunRecord, objects?: Buffer[]): Promise<string>;
}> {
  const dir = join(tmp.dir, `${name}-attacker`);
  const remote = join(tmp.dir, `${name}-remote`);
  await fsp.mkdir(dir, { recursive: true });
  await ok(dir, ['init']);
  await writeFiles(dir, { 'data/in.txt': 'hello\n' });
  await ok(dir, ['add', 'data']);
  await ok(dir, ['commit', '-m', 'data']);
  await ok(dir, ['remote', 'add', 'origin', `file://${remote}`]);
  await ok(dir, ['push']);
  return {
    dir,
    remote,
    async craft(run, objects = [], trees = []) {
      const repo = await Repository.openAt(dir);
      try {
        for (const b of [...objects, ...trees]) await repo.store.put(hashBytes(b), b);
        const bytes = serializeRun(run);
        const objectId = hashBytes(bytes);
        await repo.store.put(objectId, bytes);
        repo.db.tx(() => {
          for (const t of trees) repo.db.putTree(hashBytes(t), t);
          insertRun(repo.db, run, objectId, bytes.toString('utf8'));
        });
      } finally {
        await repo.close();
      }
      return run.id;
    },
    async push() {
      await ok(dir, ['push']);
    },
    /**
     * A record Strata's own push refuses to send (its strict parser rejects it) is written straight
     * into the remote, as a hostile remote would hold it: the run object and its marker runs/<id>.
     */
    async plant(run, objects = []) {
      const { LocalStore } = await import('../core/store/local/index.js');
      const store = new LocalStore(join(remote, 'objects'));
      const bytes = serializeRun(run);
      const objectId = hashBytes(bytes);
      try {
        for (const b of [...objects, bytes]) await store.put(hashBytes(b), b);
      } finally {
        await store.close();
      }
      await fsp.mkdir(join(remote, 'runs'), { recursive: true });
      await fsp.writeFile(join(remote, 'runs', run.id), objectId + '\n');
      return run.id;
    },
  };
}


const CACHE_FILES = {
  'gen.mjs': "import fs from 'node:fs';\nfs.mkdirSync('out', { recursive: true });\nfs.writeFileSync('out/a.txt', fs.readFileSync('data/in.txt', 'utf8').toUpperCase());\n",
  'strata.yaml': 'stages:\n  gen:\n    cmd: node gen.mjs\n    deps: [data/in.txt]\n    outs: [out]\n',
};
let cacheSig: string | undefined;
/** The stage a victim runs, and its signature (computed by a real run in a scratch project). */
async function cacheStage(): Promise<{ files: Record<string, string>; signature: string }> {
  if (!cacheSig) {
    const scratch = join(tmp.dir, 'cache-scratch');
    await fsp.mkdir(scratch);
    await ok(scratch, ['init']);
    await writeFiles(scratch, { ...CACHE_FILES, 'data/in.txt': 'hello\n' });
    await ok(scratch, ['repro']);
    cacheSig = (JSON.parse((await ok(scratch, ['--json', 'runs'])).stdout) as RunRecord[])[0]!.signature;
  }
  return { files: CACHE_FILES, signature: cacheSig };
}

describe('hostile pipelines and pulled run records', () => {
  it('an output declared as .git (or .GIT deep down, or .strata) is refused at parse time and by run -o; .git is intact', async () => {
    const s = await sentinel('dotgit');
    const dir = await gitProject('dotgit', { 'in.txt': 'x\n' });
    const before = await gitState(dir);
    const cases: Array<[string, RegExp]> = [
      ['    outs: [.git]\n', /strata\.yaml:5:12: stage "wipe": output: path "\.git" is inside \.git/],
      ['    outs: [sub/.GIT/hooks]\n', /strata\.yaml:5:12: .*inside \.git/],
      ['    outs:\n      - path: ./.git/config\n', /strata\.yaml:6:15: .*inside \.git/],
      ['    outs: [.strata/objects]\n', /strata\.yaml:5:12: .*inside \.strata/],
      ['    outs: [out]\n    deps: [.Git/config]\n', /strata\.yaml:6:12: stage "wipe": dep: .*inside \.git/],
    ];
    for (const [outs, re] of cases) {
      await fsp.writeFile(join(dir, 'strata.yaml'), `# hostile\nstages:\n  wipe:\n    cmd: touch ${s.dir}/ran\n${outs}`);
      for (const args of [['repro'], ['repro', '--dry-run'], ['dag']]) {
        const r = await strata(dir, args, { env: CI });
        assert.equal(r.code, EXIT_CODES.PIPELINE_INVALID, `${args.join(' ')} with ${outs}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, re);
        assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      }
      assert.equal(await gitState(dir), before, '.git is intact');
      assert.ok(existsSync(join(dir, '.strata', 'strata.db')), '.strata is intact');
    }
    for (const o of ['.git', 'a/.gIt', '.git/hooks/pre-commit', 'deep/.strata/x']) {
      const r = await strata(dir, ['run', '-n', 'wipe', '-o', o, '--', `touch ${s.dir}/ran`]);
      assert.equal(r.code, EXIT_CODES.PATH_OUTSIDE_WORKSPACE, `run -o ${o}: ${r.stderr}`);
      assert.match(r.stderr, /inside \.(git|strata)/);
    }
    const top = await strata(dir, ['run', '-n', 'wipe', '-o', '.strata/x', '--', `touch ${s.dir}/ran`]);
    assert.equal(top.code, EXIT_CODES.INVALID_ARGUMENT, top.stderr);
    assert.match(top.stderr, /inside \.strata/);
    const d = await strata(dir, ['run', '-n', 'wipe', '-d', '.git/config', '-o', 'out', '--', 'true']);
    assert.equal(d.code, EXIT_CODES.PATH_OUTSIDE_WORKSPACE, d.stderr);
    assert.equal(await gitState(dir), before, '.git is intact');
    assert.equal(git(dir, 'rev-parse', 'HEAD').length, 40, 'git still works');
    assert.equal(JSON.parse((await ok(dir, ['--json', 'runs'])).stdout).length, 0, 'no run was recorded');
    await s.check();
  });

  it('an output or dep below a symbolically linked folder is refused before anything is deleted', async () => {
    const s = await sentinel('symlink');
    const dir = await gitProject('symlink', { 'in.txt': 'x\n' });
    await fsp.symlink(s.dir, join(dir, 'link'));
    await fsp.symlink(join(tmp.dir), join(dir, 'up'));
    const before = await gitState(dir);
    const cases: Array<[string, RegExp]> = [
      ['    outs: [link/victim.txt]\n', /strata\.yaml:5:12: stage "wipe": output link\/victim\.txt: link is a symbolic link on the way/],
      ['    outs: [up/sentinel-symlink]\n', /strata\.yaml:5:12: .*up is a symbolic link/],
      ['    deps: [link/victim.txt]\n    outs: [out]\n', /strata\.yaml:5:12: stage "wipe": dep link\/victim\.txt: link is a symbolic link/],
      ['    wdir: link\n    outs: [out]\n', /strata\.yaml:5:11: stage "wipe": wdir link: link is a symbolic link/],
    ];
    for (const [body, re] of cases) {
      await fsp.writeFile(join(dir, 'strata.yaml'), `# hostile\nstages:\n  wipe:\n    cmd: echo ran > ran.txt\n${body}`);
      const r = await strata(dir, ['repro'], { env: CI });
      assert.equal(r.code, EXIT_CODES.PIPELINE_INVALID, body + r.stdout + r.stderr);
      assert.match(r.stderr, re);
      await s.check();
    }
    for (const args of [
      ['-o', 'link/victim.txt'],
      ['-o', 'up/sentinel-symlink/victim.txt'],
      ['-d', 'link/victim.txt', '-o', 'out'],
      ['-p', 'link/victim.txt:precious', '-o', 'out'],
    ]) {
      const r = await strata(dir, ['run', '-n', 'wipe', ...args, '--', 'echo ran > ran.txt']);
      assert.equal(r.code, EXIT_CODES.PATH_OUTSIDE_WORKSPACE, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /(link|up) is a symbolic link/);
      await s.check();
    }
    assert.ok(!existsSync(join(dir, 'ran.txt')), 'no command ran');
    assert.equal(await gitState(dir), before);
  });

  it('a pulled run record is not a run-cache hit when its directory output holds a link outside; the stage runs here', async () => {
    const s = await sentinel('cache');
    const { files, signature } = await cacheStage();
    const a = await attacker('cache');
    // A directory output whose tree holds a link to the sentinel folder (and a file inside it).
    const evilFile = Buffer.from('planted\n');
    const linkTarget = s.dir;
    const sub = Buffer.from(canonicalJson({ strata: 'tree', v: 1, e: [['victim.txt', 'f', evilFile.length, hashBytes(evilFile)]] }));
    const top = Buffer.from(
      canonicalJson({
        strata: 'tree',
        v: 1,
        e: [
          ['a.txt', 'f', evilFile.length, hashBytes(evilFile)],
          ['escape', 'l', Buffer.byteLength(linkTarget), hashBytes(linkTarget), linkTarget],
          ['z', 'd', evilFile.length, hashBytes(sub), 1],
        ],
      }),
    );
    const runId = await a.craft(
      baseRun({
        stage: 'gen',
        cmd: 'node gen.mjs',
        signature,
        deps: [{ path: 'data/in.txt', id: hashBytes('hello\n'), kind: 'file' }],
        outs: [{ path: 'out', id: hashBytes(top), type: 'dataset', kind: 'dir', size: evilFile.length * 2, cache: true }],
      }),
      [evilFile, Buffer.from(linkTarget)],
      [top, sub],
    );
    await a.push();

    const victim = join(tmp.dir, 'cache-victim');
    await ok(tmp.dir, ['clone', `file://${a.remote}`, victim]);
    await writeFiles(victim, files);
    const runs = JSON.parse((await ok(victim, ['--json', 'runs'])).stdout) as RunRecord[];
    assert.ok(runs.some((r) => r.id === runId), 'the crafted run arrived with the clone');
    const r = JSON.parse((await ok(victim, ['--json', 'repro'], 0, { env: CI })).stdout) as { stages: Array<{ stage: string; action: string; cachedFrom?: string }> };
    assert.equal(r.stages[0]!.action, 'ran', 'the pulled run is not a run-cache hit');
    assert.equal(r.stages[0]!.cachedFrom, undefined);
    assert.equal(await fsp.readFile(join(victim, 'out', 'a.txt'), 'utf8'), 'HELLO\n', 'the output is what the command made here');
    assert.ok(!existsSync(join(victim, 'out', 'escape')), 'no link to the outside was restored');
    await s.check();
    // The run cache still works for runs recorded here.
    await fsp.rm(join(victim, 'out'), { recursive: true });
    const again = JSON.parse((await ok(victim, ['--json', 'repro'], 0, { env: CI })).stdout) as { stages: Array<{ action: string }> };
    assert.equal(again.stages[0]!.action, 'restored');
    assert.equal(await fsp.readFile(join(victim, 'out', 'a.txt'), 'utf8'), 'HELLO\n');
  });

  it('checkout --for of a pulled run never writes .git content, outside files or outside links; no hook runs', async () => {
    const s = await sentinel('codechanges');
    const a = await attacker('codechanges');
    const victim = join(tmp.dir, 'codechanges-victim');
    await ok(tmp.dir, ['clone', `file://${a.remote}`, victim]);
    await gitRepo(victim);
    await writeFiles(victim, { '.gitignore': '/.strata/\n/data/\n', 'train.sh': 'echo train\n' });
    git(victim, 'add', '-A');
    git(victim, 'commit', '-q', '-m', 'code');
    const commit = git(victim, 'rev-parse', 'HEAD');
    const marker = join(s.dir, 'hook-ran');
    const hook = Buffer.from(`#!/bin/sh\ntouch ${marker}\n`);
    const variants: Array<{ name: string; files: Array<Record<string, unknown>>; blobs: Buffer[]; re: RegExp }> = [
      { name: 'hook', files: [{ path: '.git/hooks/pre-commit', status: 'added', mode: '100755', id: hashBytes(hook), size: hook.length }], blobs: [hook], re: /inside \.git/ },
      { name: 'GIT', files: [{ path: 'sub/.GIT/config', status: 'added', mode: '100644', id: hashBytes(hook), size: hook.length }, { path: 'train.sh', status: 'modified', mode: '100644', id: hashBytes(hook), size: hook.length }], blobs: [hook], re: /inside \.git/ },
      {
        name: 'through',
        files: [
          { path: 'a', status: 'added', mode: '120000', id: hashBytes('sub'), size: 3 },
          { path: 'a/planted.sh', status: 'added', mode: '100755', id: hashBytes(hook), size: hook.length },
        ],
        blobs: [Buffer.from('sub'), hook],
        re: /a\/planted\.sh lies below a, which is a file or a symbolic link/,
      },
      { name: 'link', files: [{ path: 'escape', status: 'added', mode: '120000', id: hashBytes(s.dir), size: s.dir.length }, { path: 'train.sh', status: 'modified', mode: '100644', id: hashBytes(hook), size: hook.length }], blobs: [Buffer.from(s.dir)], re: /symbolic link escape points at the absolute path/ },
    ];
    const ids: Array<[string, string, RegExp]> = [];
    for (const v of variants) {
      const changes = serializeCodeChanges({ base: commit, prefix: '', files: v.files as never, skipped: [] });
      ids.push([v.name, await a.craft(baseRun({ stage: `code-${v.name}`, cmd: 'sh train.sh', code: { commit, branch: 'main', remote: null, dirty: true, diff: hashBytes(changes) } }), [changes, ...v.blobs]), v.re]);
    }
    // A recorded git commit (on a side branch of the victim's own repository) holding a link outside.
    git(victim, 'checkout', '-q', '-b', 'side');
    await fsp.symlink(s.dir, join(victim, 'escape'));
    git(victim, 'add', 'escape');
    git(victim, 'commit', '-q', '-m', 'link');
    const linked = git(victim, 'rev-parse', 'HEAD');
    git(victim, 'checkout', '-q', 'main');
    assert.ok(!existsSync(join(victim, 'escape')));
    ids.push(['gitlink', await a.craft(baseRun({ stage: 'code-gitlink', cmd: 'sh train.sh', code: { commit: linked, branch: 'side', remote: null, dirty: false } })), /git commit [0-9a-f]{12}: symbolic link escape points at the absolute path/]);
    // A params file recorded under .git (accepted as a record; refused by checkout --for).
    ids.push(['params', await a.craft(baseRun({ stage: 'params-hook', params: { 'x': 1 }, paramRefs: [{ file: 'sub/.git/hooks/pre-push', key: 'x' }] })), /params file sub\/\.git\/hooks\/pre-push: .*inside \.git/]);
    await a.push();
    await ok(victim, ['pull']);
    const before = await gitState(victim);
    // An input recorded under .git: Strata's push refuses to send such records, so
    // they are planted in the remote by hand; the victim's pull refuses them at the door.
    for (const [name, run, objs] of [
      ['dep', baseRun({ stage: 'dep-hook', deps: [{ path: '.git/hooks/post-checkout', id: hashBytes(hook), kind: 'file' }] }), [hook]],
    ] as Array<[string, RunRecord, Buffer[]]>) {
      const id = await a.plant(run, objs);
      const pulled = await strata(victim, ['pull']);
      assert.equal(pulled.code, EXIT_CODES.OBJECT_CORRUPT, `${name}: ${pulled.stdout}${pulled.stderr}`);
      assert.match(pulled.stderr, /run object .*corrupt/);
      assert.match(pulled.stderr, /\.git/);
      assert.doesNotMatch(pulled.stderr, /internal error/);
      const runs = JSON.parse((await ok(victim, ['--json', 'runs'])).stdout) as RunRecord[];
      assert.ok(!runs.some((r) => r.id === id), `${name}: the refused run was not recorded`);
      assert.equal(await gitState(victim), before, `${name}: .git is intact`);
      await fsp.rm(join(a.remote, 'runs', id));
    }
    const trainBefore = await fsp.readFile(join(victim, 'train.sh'), 'utf8');
    for (const [name, id, re] of ids) {
      for (const into of ['.', `repro-${name}`]) {
        const r = await strata(victim, ['checkout', '--for', id, '--into', into]);
        // Refused by the containment checks (exit 8), or earlier by the strict object parser (exit 11).
        assert.ok([EXIT_CODES.PATH_OUTSIDE_WORKSPACE, EXIT_CODES.OBJECT_CORRUPT].includes(r.code), `${name} --into ${into}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, r.code === EXIT_CODES.OBJECT_CORRUPT ? /object [0-9a-f]{64} is corrupt: / : re);
        assert.doesNotMatch(r.stderr, /internal error/);
        assert.ok(!existsSync(join(victim, `repro-${name}`)), 'no folder was left behind');
        assert.equal(await gitState(victim), before, '.git is intact');
        assert.equal(await fsp.readFile(join(victim, 'train.sh'), 'utf8'), trainBefore, 'nothing was written before the refusal');
        assert.ok(!existsSync(join(victim, 'escape')));
        assert.ok(!existsSync(join(victim, 'sub')));
        await assert.rejects(fsp.lstat(join(victim, 'a')), 'no link a was planted');
      }
    }
    const into = await strata(victim, ['checkout', '--for', ids[0]![1], '--into', '.git/hooks/x']);
    assert.equal(into.code, EXIT_CODES.PATH_OUTSIDE_WORKSPACE, into.stderr);
    assert.match(into.stderr, /--into \.git\/hooks\/x is inside \.git/);
    assert.equal(await gitState(victim), before);
    // The next git commit runs no planted hook.
    await fsp.writeFile(join(victim, 'more.txt'), 'x\n');
    git(victim, 'add', 'more.txt');
    git(victim, 'commit', '-q', '-m', 'more');
    assert.ok(!existsSync(marker), 'no hook ran');
    await s.check();
  });

  it('reproduce of a pulled run asks first, never applies recorded PATH / LD_PRELOAD, and keeps wdir inside', async () => {
    const s = await sentinel('reproduce');
    const a = await attacker('reproduce');
    const node = process.execPath;
    const envRun = await a.craft(
      baseRun({
        stage: 'envy',
        cmd: `${JSON.stringify(node)} -e "require('fs').writeFileSync('env.json', JSON.stringify({ path: process.env.PATH, preload: process.env.LD_PRELOAD || null, opts: process.env.NODE_OPTIONS || null, seed: process.env.SEED || null }))"`,
        env: { PATH: s.dir, LD_PRELOAD: join(s.dir, 'evil.so'), NODE_OPTIONS: `--require ${join(s.dir, 'evil.js')}`, SEED: '7' },
        outs: [{ path: 'env.json', id: hashBytes('{}'), type: 'metrics', kind: 'file', size: 2, cache: true }],
      }),
      [Buffer.from('{}')],
    );
    await a.push();
    const victim = join(tmp.dir, 'reproduce-victim');
    await ok(tmp.dir, ['clone', `file://${a.remote}`, victim]);
    const deep = join(tmp.dir, 'rx', 'b', 'c');
    await fsp.mkdir(deep, { recursive: true });

    // Without --yes and without a terminal (CI): refused before anything is written, naming --yes.
    const refused = await strata(victim, ['reproduce', envRun, '--into', join(deep, 'envy')], { env: CI });
    assert.equal(refused.code, EXIT_CODES.PERMISSION_DENIED, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /came from a remote, not recorded here/);
    assert.match(refused.stderr, /--yes/);
    assert.match(refused.stderr, /envy \(run [0-9a-f-]+, from elsewhere\):/, 'the command is shown');
    assert.ok(!existsSync(join(deep, 'envy')), 'nothing was written');

    // With --yes: runs, but with the user's PATH and without LD_PRELOAD / NODE_OPTIONS; SEED applies.
    const r = await strata(victim, ['--json', 'reproduce', envRun, '--yes', '--into', join(deep, 'envy')], { env: CI });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const seen = JSON.parse(await fsp.readFile(join(deep, 'envy', 'env.json'), 'utf8')) as Record<string, string | null>;
    assert.equal(seen.path, process.env.PATH);
    assert.equal(seen.preload, null);
    assert.equal(seen.opts, null);
    assert.equal(seen.seed, '7');
    const out = JSON.parse(r.stdout) as { warnings: string[] };
    assert.ok(out.warnings.some((w) => /LD_PRELOAD, NODE_OPTIONS, PATH not applied/.test(w)), out.warnings.join('\n'));

    // A record with wdir ../../.. (Strata's push refuses to send it: planted in the remote by hand)
    // is refused when pulled, so it can never be reproduced; nothing is written or run.
    const up = await a.plant(baseRun({ stage: 'climb', cmd: 'echo escaped > escaped.txt', wdir: '../../..' }));
    const w = await strata(victim, ['pull']);
    assert.equal(w.code, EXIT_CODES.OBJECT_CORRUPT, w.stdout + w.stderr);
    assert.match(w.stderr, /working directory is the path "\.\.\/\.\.\/\.\."/);
    const notThere = await strata(victim, ['reproduce', up, '--yes', '--into', join(deep, 'climb')], { env: CI });
    assert.notEqual(notThere.code, 0, 'the refused run is unknown here');
    for (const d of [deep, join(tmp.dir, 'rx', 'b'), join(tmp.dir, 'rx'), tmp.dir]) assert.ok(!existsSync(join(d, 'escaped.txt')), `nothing ran in ${d}`);
    assert.ok(!existsSync(join(deep, 'climb')));
    await s.check();
  });

  it('repro after a git pull that changed a stage command says so and runs it only with --yes', async () => {
    const s = await sentinel('pull');
    const bare = join(tmp.dir, 'pull-origin.git');
    git(tmp.dir, 'init', '-q', '--bare', '-b', 'main', bare);
    const eve = join(tmp.dir, 'pull-eve');
    await gitRepo(eve, 'eve@evil.example');
    const yaml = (cmd: string) => `stages:\n  gen:\n    cmd: ${cmd}\n    deps: [in.txt]\n    outs: [out.txt]\n`;
    await writeFiles(eve, { '.gitignore': '/.strata/\n/out.txt\n', 'in.txt': 'a\n', 'strata.yaml': yaml('cp in.txt out.txt') });
    git(eve, 'add', '-A');
    git(eve, 'commit', '-q', '-m', 'pipeline');
    git(eve, 'remote', 'add', 'origin', bare);
    git(eve, 'push', '-q', 'origin', 'main');

    const victim = join(tmp.dir, 'pull-victim');
    git(tmp.dir, 'clone', '-q', bare, victim);
    git(victim, 'config', 'user.email', 'test@example.com');
    git(victim, 'config', 'user.name', 'Test User');
    await ok(victim, ['init']);
    await ok(victim, ['repro'], 0, { env: CI });
    const before = await gitState(victim);

    // Eve changes the command; the victim pulls.
    const pwned = join(s.dir, 'pwned');
    await writeFiles(eve, { 'strata.yaml': yaml(`touch ${pwned} && cp in.txt out.txt`) });
    git(eve, 'commit', '-q', '-am', 'faster');
    git(eve, 'push', '-q', 'origin', 'main');
    git(victim, 'pull', '-q', '--ff-only');

    const r = await strata(victim, ['repro'], { env: CI });
    assert.equal(r.code, EXIT_CODES.PERMISSION_DENIED, r.stdout + r.stderr);
    assert.match(r.stderr, /notice: strata\.yaml changed since the last repro here/);
    assert.match(r.stderr, /gen \(changed, from git commit [0-9a-f]{12} by eve <eve@evil\.example>\)/);
    assert.ok(r.stderr.includes(`run:  touch ${pwned}`), 'the new command is shown');
    assert.match(r.stderr, /was:  cp in\.txt out\.txt/);
    assert.match(r.stderr, /strata repro --yes/);
    assert.ok(!existsSync(pwned), 'the pulled command did not run');
    const dry = await ok(victim, ['repro', '--dry-run'], 0, { env: CI });
    assert.match(dry.stderr, /notice: strata\.yaml changed/);
    assert.ok(!existsSync(pwned));

    await ok(victim, ['repro', '--yes'], 0, { env: CI });
    assert.ok(existsSync(pwned), '--yes runs it');
    await fsp.rm(pwned);
    // Once run here, it is no longer a change; a local edit runs without asking.
    await fsp.writeFile(join(victim, 'in.txt'), 'b\n');
    await ok(victim, ['repro'], 0, { env: CI });
    await writeFiles(victim, { 'strata.yaml': yaml('cat in.txt > out.txt') });
    const local = await ok(victim, ['repro'], 0, { env: CI });
    assert.match(local.stderr, /gen \(changed, written here\)/);
    assert.equal(await fsp.readFile(join(victim, 'out.txt'), 'utf8'), 'b\n');
    assert.equal(await gitState(victim), before);
    await fsp.rm(pwned, { force: true });
    await s.check();
  });

  it('a pulled command change merged by a local merge commit still asks', async () => {
    const s = await sentinel('merge');
    const bare = join(tmp.dir, 'merge-origin.git');
    git(tmp.dir, 'init', '-q', '--bare', '-b', 'main', bare);
    const eve = join(tmp.dir, 'merge-eve');
    await gitRepo(eve, 'eve@evil.example');
    const yaml = (cmd: string) => `stages:\n  gen:\n    cmd: ${cmd}\n    deps: [in.txt]\n    outs: [out.txt]\n`;
    await writeFiles(eve, { '.gitignore': '/.strata/\n/out.txt\n', 'in.txt': 'a\n', 'strata.yaml': yaml('cp in.txt out.txt') });
    git(eve, 'add', '-A');
    git(eve, 'commit', '-q', '-m', 'pipeline');
    git(eve, 'remote', 'add', 'origin', bare);
    git(eve, 'push', '-q', 'origin', 'main');
    const victim = join(tmp.dir, 'merge-victim');
    git(tmp.dir, 'clone', '-q', bare, victim);
    git(victim, 'config', 'user.email', 'test@example.com');
    git(victim, 'config', 'user.name', 'Test User');
    await ok(victim, ['init']);
    await ok(victim, ['repro'], 0, { env: CI });
    // The victim commits something of their own; Eve changes the command; the pull merges.
    await writeFiles(victim, { 'NOTES.md': 'mine\n' });
    git(victim, 'add', 'NOTES.md');
    git(victim, 'commit', '-q', '-m', 'notes');
    const pwned = join(s.dir, 'pwned');
    await writeFiles(eve, { 'strata.yaml': yaml(`touch ${pwned} && cp in.txt out.txt`) });
    git(eve, 'commit', '-q', '-am', 'faster');
    git(eve, 'push', '-q', 'origin', 'main');
    git(victim, 'pull', '-q', '--no-rebase', '--no-edit');
    assert.equal(git(victim, 'log', '-1', '--format=%ae'), 'test@example.com', 'HEAD is the local merge commit');
    const r = await strata(victim, ['repro'], { env: CI });
    assert.equal(r.code, EXIT_CODES.PERMISSION_DENIED, r.stdout + r.stderr);
    assert.match(r.stderr, /gen \(changed, from git commit [0-9a-f]{12} by eve <eve@evil\.example>\)/);
    assert.ok(!existsSync(pwned), 'the pulled command did not run');
    await s.check();
  });

  it('a pulled run whose directory output names a link and a folder of the same name is never restored (STRATA_STRESS=1: 20 trials)', async () => {
    const trials = process.env.STRATA_STRESS === '1' ? 20 : 1;
    const { files, signature } = await cacheStage();
    for (let t = 0; t < trials; t++) {
      const s = await sentinel(`dup-${t}`);
      const a = await attacker(`dup-${t}`);
      const planted = Buffer.from('planted\n');
      const inner = Buffer.from(canonicalJson({ strata: 'tree', v: 1, e: [['victim.txt', 'f', planted.length, hashBytes(planted)]] }));
      // Not canonical on purpose: the same name twice, a link to the sentinel and a folder.
      const top = Buffer.from(
        canonicalJson({
          strata: 'tree',
          v: 1,
          e: [
            ['link', 'l', Buffer.byteLength(s.dir), hashBytes(s.dir), s.dir],
            ['link', 'd', planted.length, hashBytes(inner), 1],
          ],
        }),
      );
      await a.craft(
        baseRun({
          stage: 'gen',
          cmd: 'node gen.mjs',
          signature,
          deps: [{ path: 'data/in.txt', id: hashBytes('hello\n'), kind: 'file' }],
          outs: [{ path: 'out', id: hashBytes(top), type: 'dataset', kind: 'dir', size: planted.length, cache: true }],
        }),
        [planted, Buffer.from(s.dir)],
        [top, inner],
      );
      await a.push();
      const victim = join(tmp.dir, `dup-${t}-victim`);
      const clone = await strata(tmp.dir, ['clone', `file://${a.remote}`, victim]);
      if (clone.code !== 0) {
        // A stricter fetch may refuse the malformed tree outright: then with a clear error.
        assert.doesNotMatch(clone.stderr, /internal error|\n\s+at /, clone.stderr);
      } else {
        await writeFiles(victim, files);
        const r = await strata(victim, ['--json', 'repro'], { env: CI });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal((JSON.parse(r.stdout) as { stages: Array<{ action: string }> }).stages[0]!.action, 'ran');
        assert.ok(!existsSync(join(victim, 'out', 'link')));
      }
      await s.check();
    }
  });
});
