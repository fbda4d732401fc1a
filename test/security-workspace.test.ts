/**
 * Nothing outside the workspace, and nothing under .git or .strata, is ever written or deleted,
 * whatever a remote's trees say. Hostile commits (correctly hashed, crafted content) are written
 * into three real remotes — a file:// directory, an S3 bucket on s3rver, and a `strata serve`
 * repository — and cloned / pulled through the real binary:
 * - a name twice, once as a symlink leaving the workspace (absolute, relative, through a chain of
 *   links, one level down) and once as a folder holding victim.txt;
 * - `.git`, `.GIT`, `.strata` and a nested `data/sub/.git` entry (in a git project: .git/config and
 *   .git/hooks must stay as they are);
 * - a chunk list of sound but unrelated chunks, a chunk declared 4 B that is 1,022 B, a blob whose
 *   declared size is wrong;
 * - a plain symlink leaving the workspace (refused unless core.allowOutsideSymlinks is true).
 * Each must exit non-zero with a clear message, leave the sentinel folder outside untouched (its
 * file unchanged, nothing created, nothing deleted by a later `pull -f`) and write nothing partial.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BIN, ok, strata, tempDir, writeFiles, type RunResult } from './helpers/cli.js';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
import { Builder, fileTarget, serverRepoTarget, storeTarget, type HostileTarget, type WireEntry } from './helpers/hostile.js';
import { EXIT_CODES } from '../core/errors/index.js';
import { hashBytes } from '../core/hash/index.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let s3: S3rverHandle;
let server: ChildProcess;
let serverUrl = '';
let token = '';
const s3env: Record<string, string | undefined> = {};

before(async () => {
  tmp = await tempDir('strata-sec-ws-');
  s3 = await startS3rver({ buckets: ['strata'] });
  Object.assign(s3env, {
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_PROFILE: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_S3: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const data = join(tmp.dir, 'srv');
  token = (await ok(tmp.dir, ['serve', 'token', 'create', '--repo', 'proj', '--write', '--data', data])).stdout.trim();
  server = spawn(process.execPath, [BIN, 'serve', '--data', data, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  serverUrl = await new Promise<string>((resolve, reject) => {
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
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await s3?.stop();
  await tmp?.cleanup();
});

interface Kind {
  name: string;
  url: () => string;
  /** Extra clone arguments (S3 endpoint). */
  extra: () => string[];
  env: () => Record<string, string | undefined>;
  target: () => Promise<HostileTarget>;
}

const kinds: Kind[] = [
  {
    name: 'file',
    url: () => join(tmp.dir, 'remote-file'),
    extra: () => [],
    env: () => ({}),
    target: () => fileTarget(join(tmp.dir, 'remote-file')),
  },
  {
    name: 's3',
    url: () => 's3://strata/hostile',
    extra: () => ['--endpoint', s3.endpoint],
    env: () => s3env,
    target: async () => {
      const { S3Store } = await import('../core/store/s3/index.js');
      const { S3RefStore } = await import('../core/store/s3/refs.js');
      const store = new S3Store(s3.storeOptions('strata', 'hostile'));
      return storeTarget(store, new S3RefStore(store));
    },
  },
  {
    name: 'server',
    url: () => `${serverUrl}/proj`,
    extra: () => [],
    env: () => ({ STRATA_TOKEN: token }),
    target: () => serverRepoTarget(join(tmp.dir, 'srv', 'proj')),
  },
];

const SECRET = 'original outside content\n';

/** A folder outside every workspace, holding one file that must never change or vanish. */
async function sentinel(name: string): Promise<{ dir: string; check(what: string): Promise<void> }> {
  const dir = join(tmp.dir, `sentinel-${name}`);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(join(dir, 'victim.txt'), SECRET);
  return {
    dir,
    async check(what) {
      assert.deepEqual((await fsp.readdir(dir)).sort(), ['victim.txt'], `${what}: nothing created in the sentinel folder`);
      assert.equal(await fsp.readFile(join(dir, 'victim.txt'), 'utf8'), SECRET, `${what}: the outside file is unchanged`);
    },
  };
}

interface Scenario {
  name: string;
  /** Root entries of the hostile commit for a workspace at `ws`, with the sentinel at `out`. */
  build(b: Builder, ws: string, out: string): WireEntry[];
  codes: number[];
  message: RegExp;
}

const CONTAIN = [EXIT_CODES.PATH_OUTSIDE_WORKSPACE, EXIT_CODES.OBJECT_CORRUPT];
const PWN = 'written through a link\n';

function dataWith(b: Builder, entries: WireEntry[]): WireEntry {
  return b.dir('data', [b.file('a.txt', 'a\n'), ...entries]);
}

const scenarios: Scenario[] = [
  {
    name: 'dup-absolute',
    build: (b, _ws, out) => [dataWith(b, [b.link('link', out), b.dir('link', [b.file('victim.txt', PWN)])])],
    codes: CONTAIN,
    message: /link/,
  },
  {
    name: 'dup-relative',
    build: (b, ws, out) => [dataWith(b, [b.link('link', relative(join(ws, 'data'), out)), b.dir('link', [b.file('victim.txt', PWN)])])],
    codes: CONTAIN,
    message: /link/,
  },
  {
    name: 'dup-chain',
    build: (b, _ws, out) => [dataWith(b, [b.dir('l1', [b.file('victim.txt', PWN)]), b.link('l1', 'l2'), b.link('l2', out)])],
    codes: CONTAIN,
    message: /l1|l2/,
  },
  {
    name: 'dup-nested',
    build: (b, ws, out) => [dataWith(b, [b.dir('deep', [b.link('x', relative(join(ws, 'data', 'deep'), out)), b.dir('x', [b.file('victim.txt', PWN)])])])],
    codes: CONTAIN,
    message: /deep\/x/,
  },
  {
    name: 'dup-file-and-folder',
    build: (b) => [dataWith(b, [b.file('x', 'a file\n'), b.dir('x', [b.file('y', 'below a file\n')])])],
    codes: CONTAIN,
    message: /data\/x/,
  },
  {
    name: 'link-climbs-back',
    build: (b) => [dataWith(b, [b.link('hop', 'a.txt/../../..')])],
    codes: [EXIT_CODES.PATH_OUTSIDE_WORKSPACE],
    message: /data\/hop/,
  },
  {
    name: 'dot-git',
    build: (b) => [b.dir('.git', [b.file('config', '[core]\n\thooksPath = /tmp/evil\n'), b.dir('hooks', [b.file('pre-commit', '#!/bin/sh\necho pwned\n')])]), dataWith(b, [])],
    codes: CONTAIN,
    message: /\.git/,
  },
  {
    name: 'dot-GIT',
    build: (b) => [b.dir('.GIT', [b.file('config', 'pwned\n')]), dataWith(b, [])],
    codes: CONTAIN,
    message: /\.GIT/,
  },
  {
    name: 'nested-git-and-strata',
    build: (b) => [b.dir('.strata', [b.file('strata.db', 'pwned\n')]), dataWith(b, [b.dir('sub', [b.dir('.Git', [b.file('config', 'pwned\n')])])])],
    codes: CONTAIN,
    message: /\.strata|\.Git/,
  },
  {
    name: 'outside-symlink',
    build: (b, _ws, out) => [dataWith(b, [b.link('out', join(out, 'victim.txt'))])],
    codes: [EXIT_CODES.PATH_OUTSIDE_WORKSPACE],
    message: /data\/out.*(absolute|leaves)[\s\S]*core\.allowOutsideSymlinks/,
  },
];

/** Scenarios of wrong content: the path must be named and the exit code is 11. */
const corrupt: Scenario[] = [
  {
    name: 'unrelated-chunks',
    build: (b) => {
      const x = b.blob(Buffer.alloc(700, 1));
      const y = b.blob(Buffer.alloc(322, 2));
      const m = b.manifest(1022, [[x.id, 700], [y.id, 322]]);
      const claimed = hashBytes(Buffer.alloc(1022, 3));
      return [dataWith(b, [['big.bin', 'f', 1022, claimed, m.id]])];
    },
    codes: [EXIT_CODES.OBJECT_CORRUPT],
    message: /data\/big\.bin/,
  },
  {
    name: 'chunk-declared-4B',
    build: (b) => {
      const x = b.blob(Buffer.alloc(1022, 7));
      const m = b.manifest(4, [[x.id, 4]]);
      return [dataWith(b, [['big.bin', 'f', 4, hashBytes(Buffer.alloc(4, 7)), m.id]])];
    },
    codes: [EXIT_CODES.OBJECT_CORRUPT],
    message: /data\/big\.bin/,
  },
  {
    name: 'wrong-size',
    build: (b) => {
      const x = b.blob(Buffer.alloc(1022, 9));
      return [dataWith(b, [['big.bin', 'f', 4, x.id]])];
    },
    codes: [EXIT_CODES.OBJECT_CORRUPT],
    message: /data\/big\.bin/,
  },
];

function expectRefused(r: RunResult, s: Scenario, what: string): void {
  assert.ok(s.codes.includes(r.code), `${what}: exit ${r.code}, expected one of ${s.codes.join('/')}\n${r.stdout}\n${r.stderr}`);
  // The writer names the path; a tree the strict parser refuses first (a name twice, a reserved
  // name) is named by its object id instead — either way it is refused before anything is written.
  const parserRefusal = r.code === EXIT_CODES.OBJECT_CORRUPT && /tree object [0-9a-f]{64}( from remote [^\n]*)? is corrupt: /.test(r.stderr);
  if (!parserRefusal) assert.match(r.stderr, s.message, `${what}: the message names what is wrong`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, `${what}: no stack trace`);
}

/** No file of the hostile tree was written into the workspace (nothing partial). */
async function nothingHostile(ws: string, what: string): Promise<void> {
  for (const p of ['data/link', 'data/l1', 'data/l2', 'data/deep', 'data/out', 'data/big.bin', 'data/sub', 'data/x', 'data/hop', '.GIT', '.git/hooks/pre-commit']) {
    assert.equal(existsSync(join(ws, p)), false, `${what}: ${p} was not created`);
  }
  const ls = await fsp.readdir(join(ws, '.strata')).catch(() => [] as string[]);
  assert.ok(!ls.includes('strata.db') || (await fsp.readFile(join(ws, '.strata', 'strata.db'))).toString() !== 'pwned\n', `${what}: .strata untouched`);
  const tmpLeft = (await fsp.readdir(join(ws, 'data')).catch(() => [] as string[])).filter((n) => n.startsWith('.strata-tmp'));
  assert.deepEqual(tmpLeft, [], `${what}: no temporary file in the workspace`);
}

for (const kind of kinds) {
  describe(`hostile trees from a ${kind.name} remote`, () => {
    let base = '';
    let target: HostileTarget;
    let guard: Awaited<ReturnType<typeof sentinel>>;
    const env = () => kind.env();
    const publish = async (b: Builder, branch: string, commit: string) => {
      await target.put(b.objects);
      await target.setBranch(branch, commit);
    };

    before(async () => {
      guard = await sentinel(kind.name);
      const a = join(tmp.dir, `${kind.name}-origin`);
      await writeFiles(a, { 'data/a.txt': 'a\n' });
      await ok(a, ['init']);
      await ok(a, ['add', 'data']);
      await ok(a, ['commit', '-m', 'benign']);
      await ok(a, ['remote', 'add', 'origin', kind.url(), ...kind.extra()], 0, { env: env() });
      await ok(a, ['push', 'origin', 'main'], 0, { env: env() });
      base = JSON.parse((await ok(a, ['--json', 'log'])).stdout)[0].id;
      target = await kind.target();
    });
    after(async () => {
      await target?.close();
    });

    it('clone refuses every hostile tree: non-zero exit, clear message, sentinel untouched, nothing written', async () => {
      for (const s of [...scenarios, ...corrupt]) {
        const ws = join(tmp.dir, `${kind.name}-clone-${s.name}`);
        const b = new Builder();
        const commit = b.commit(s.build(b, ws, guard.dir), [base], s.name);
        await publish(b, `h-${s.name}`, commit);
        const r = await strata(tmp.dir, ['clone', kind.url(), ws, '--branch', `h-${s.name}`, ...kind.extra()], { env: env() });
        expectRefused(r, s, `${kind.name} clone ${s.name}`);
        await guard.check(`${kind.name} clone ${s.name}`);
        await nothingHostile(ws, `${kind.name} clone ${s.name}`);
        assert.equal(existsSync(join(ws, '.git')), false, `${kind.name} clone ${s.name}: no .git created`);
      }
    });

    it('pull and pull -f into a git project refuse them too: .git/config and hooks untouched, outside file not deleted', async () => {
      const ws = join(tmp.dir, `${kind.name}-pull`);
      await ok(tmp.dir, ['clone', kind.url(), ws, ...kind.extra()], 0, { env: env() });
      const git = spawnSync('git', ['init', '-q'], { cwd: ws });
      assert.equal(git.status, 0, 'git init');
      const gitConfig = await fsp.readFile(join(ws, '.git', 'config'), 'utf8');
      const hooksBefore = (await fsp.readdir(join(ws, '.git', 'hooks')).catch(() => [] as string[])).sort();
      const list = kind.name === 'file' ? [...scenarios, ...corrupt] : scenarios.filter((s) => ['dup-absolute', 'dup-chain', 'dot-git', 'outside-symlink'].includes(s.name)).concat(corrupt.slice(0, 1));
      for (const s of list) {
        const b = new Builder();
        const commit = b.commit(s.build(b, ws, guard.dir), [base], s.name);
        await publish(b, 'main', commit);
        for (const args of [['pull'], ['pull', '-f']]) {
          const what = `${kind.name} ${args.join(' ')} ${s.name}`;
          const r = await strata(ws, args, { env: env() });
          expectRefused(r, s, what);
          await guard.check(what);
          await nothingHostile(ws, what);
          assert.equal(await fsp.readFile(join(ws, '.git', 'config'), 'utf8'), gitConfig, `${what}: .git/config unchanged`);
          assert.deepEqual((await fsp.readdir(join(ws, '.git', 'hooks')).catch(() => [] as string[])).sort(), hooksBefore, `${what}: no hook created`);
          assert.equal(await fsp.readFile(join(ws, 'data', 'a.txt'), 'utf8'), 'a\n', `${what}: the workspace keeps its data`);
        }
        await target.setBranch('main', base);
      }
      const st = await ok(ws, ['status', '--porcelain']);
      assert.equal(st.stdout, '', 'the workspace still matches the benign commit');
    });
  });
}

describe('outside symlinks with core.allowOutsideSymlinks', () => {
  it('are created when allowed, and still never written through; a name twice is still refused', async () => {
    const guard = await sentinel('opt-in');
    const remote = join(tmp.dir, 'remote-optin');
    const a = join(tmp.dir, 'optin-origin');
    await writeFiles(a, { 'data/a.txt': 'a\n' });
    await ok(a, ['init']);
    await ok(a, ['add', 'data']);
    await ok(a, ['commit', '-m', 'benign']);
    await ok(a, ['remote', 'add', 'origin', remote]);
    await ok(a, ['push', 'origin', 'main']);
    const base = JSON.parse((await ok(a, ['--json', 'log'])).stdout)[0].id;
    const target = await fileTarget(remote);
    try {
      const ws = join(tmp.dir, 'optin-ws');
      await ok(tmp.dir, ['clone', remote, ws]);
      const b = new Builder();
      const commit = b.commit([dataWith(b, [b.link('out', guard.dir)])], [base], 'link out');
      await target.put(b.objects);
      await target.setBranch('main', commit);
      const refused = await strata(ws, ['pull']);
      assert.equal(refused.code, EXIT_CODES.PATH_OUTSIDE_WORKSPACE, refused.stderr);
      assert.equal(existsSync(join(ws, 'data', 'out')), false);
      await ok(ws, ['config', 'set', 'core.allowOutsideSymlinks', 'true']);
      await ok(ws, ['pull']);
      assert.equal(await fsp.readlink(join(ws, 'data', 'out')), guard.dir, 'the link is created as stored');
      await guard.check('opt-in pull');
      // Allowed links do not open the door to a name twice.
      const b2 = new Builder();
      const c2 = b2.commit([dataWith(b2, [b2.link('out', guard.dir), b2.dir('out', [b2.file('victim.txt', PWN)])])], [commit], 'dup');
      await target.put(b2.objects);
      await target.setBranch('main', c2);
      const r = await strata(ws, ['pull', '-f']);
      assert.ok(CONTAIN.includes(r.code), r.stderr);
      await guard.check('opt-in pull of a name twice');
      const bad = await strata(ws, ['config', 'set', 'core.allowOutsideSymlinks', 'maybe']);
      assert.equal(bad.code, EXIT_CODES.CONFIG_INVALID);
    } finally {
      await target.close();
    }
  });
});

describe('cat of hostile content', () => {
  it('a chunk list of unrelated chunks, a chunk longer than declared, a wrong size: exit 11 naming the path', async () => {
    const ws = join(tmp.dir, 'cat-ws');
    await writeFiles(ws, { 'data/a.txt': 'a\n' });
    await ok(ws, ['init']);
    await ok(ws, ['add', 'data']);
    await ok(ws, ['commit', '-m', 'benign']);
    const base = JSON.parse((await ok(ws, ['--json', 'log'])).stdout)[0].id;
    const { Repository } = await import('../core/repo/index.js');
    for (const s of corrupt) {
      const b = new Builder();
      const commit = b.commit(s.build(b, ws, tmp.dir), [base], s.name);
      const repo = await Repository.openAt(ws);
      try {
        for (const o of b.objects) await repo.store.put(o.id, o.bytes);
        repo.db.casRef(`refs/heads/${s.name}`, null, commit);
      } finally {
        await repo.close();
      }
      const r = await strata(ws, ['cat', `${s.name}:data/big.bin`]);
      expectRefused(r, s, `cat ${s.name}`);
      if (s.name !== 'unrelated-chunks') assert.equal(r.stdout, '', `cat ${s.name}: nothing written before verification`);
      const co = await strata(ws, ['checkout', '-f', s.name]);
      expectRefused(co, s, `checkout ${s.name}`);
      assert.equal(existsSync(join(ws, 'data', 'big.bin')), false, `checkout ${s.name}: nothing written`);
    }
  });
});

describe('replacing files', () => {
  it('a replaced file is never rewritten in place: another hard link and an open reader keep the old bytes; nothing stays in .strata/tmp', async () => {
    const dir = join(tmp.dir, 'replace-inodes');
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`data/d${i % 3}/f${i}.csv`] = `id,v\n${i},old\n`;
    await writeFiles(dir, files);
    await ok(dir, ['init']);
    await ok(dir, ['add', 'data']);
    await ok(dir, ['commit', '-m', 'old']);
    await ok(dir, ['tag', 'old']);
    for (let i = 0; i < 300; i++) await fsp.writeFile(join(dir, `data/d${i % 3}/f${i}.csv`), `id,v\n${i},new\n`);
    await ok(dir, ['commit', '-a', '-m', 'new']);
    await ok(dir, ['checkout', 'old']);
    // A hard link the user made elsewhere, and a reader holding the file open.
    const outside = join(tmp.dir, 'replace-inodes-link.csv');
    await fsp.link(join(dir, 'data/d0/f0.csv'), outside);
    const reader = await fsp.open(join(dir, 'data/d1/f1.csv'), 'r');
    try {
      await ok(dir, ['checkout', 'main']);
      assert.equal(await fsp.readFile(join(dir, 'data/d0/f0.csv'), 'utf8'), 'id,v\n0,new\n');
      assert.equal(await fsp.readFile(outside, 'utf8'), 'id,v\n0,old\n', 'the other name of the old file keeps its bytes');
      assert.equal((await reader.readFile('utf8')), 'id,v\n1,old\n', 'an open reader keeps reading the old version');
      assert.equal((await fsp.stat(outside)).nlink, 1, 'no name of the old file is left behind in .strata');
    } finally {
      await reader.close();
    }
    assert.deepEqual(await fsp.readdir(join(dir, '.strata', 'tmp')), [], "the old files' second names in .strata/tmp are gone");
    assert.equal((await ok(dir, ['status', '--porcelain'])).stdout, '');
  });
});
