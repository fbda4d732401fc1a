/**
 * `strata get` and `strata export` through the real binary. One project (a small CSV, a nested
 * file, an executable script, a symbolic link and a 9 MB chunked file; tag v1, then a second
 * commit) is pushed to a directory remote, an S3 bucket on s3rver and a real `strata serve`:
 * - export copies a file, a folder or the whole tree of any revision, byte-identical, with exec bits
 *   and links, and leaves the workspace, the index and HEAD as they were; it never writes into
 *   .strata/;
 * - get copies the same from each remote and from a repository folder (default branch, --rev
 *   branch/tag/full id, -o, DEST defaulting to PATH's last part), with no repository in the folder
 *   it runs in;
 * - an existing DEST is refused (exit 2, unchanged) unless --force, which replaces it;
 * - hostile trees (a link leaving DEST, a name twice, a `..` entry) and corrupt bytes (a blob that
 *   does not match its id, a chunk list of unrelated chunks) are refused with nothing written and
 *   nothing outside DEST touched;
 * - a get killed with SIGKILL mid-copy leaves no DEST, and the next get removes what it left;
 * - --json prints {files, bytes, dest, commit, ...}; piped output has no progress; a TTY gets it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ok, readTreeBytes, seededBytes, strata, tempDir, writeFiles } from './helpers/cli.js';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
import { Builder, fileTarget, serverRepoTarget, type HostileTarget, type WireEntry } from './helpers/hostile.js';
import { EXIT_CODES } from '../core/errors/index.js';

let tmp: { dir: string; cleanup(): Promise<void> };
let s3: S3rverHandle;
let server: ChildProcess;
let serverUrl = '';
let token = '';
const s3env: Record<string, string | undefined> = {};
let proj = '';
let v1 = '';
let head = '';
/** The files of data/ at v1 and at HEAD, as readTreeBytes gives them. */
let atV1 = new Map<string, Buffer>();
let atHead = new Map<string, Buffer>();

const BIG = seededBytes(9_000_000, 7);

async function json(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<any> {
  return JSON.parse((await ok(cwd, ['--json', ...args], 0, { env })).stdout);
}

/** Every entry (files, links, folders) under `dir`, to prove nothing else appeared. */
async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, base: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = base ? `${base}/${e.name}` : e.name;
      out.push(p);
      if (e.isDirectory()) await walk(join(d, e.name), p);
    }
  };
  await walk(dir, '');
  return out.sort();
}

function sameTree(got: Map<string, Buffer>, want: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), what);
  for (const [p, b] of want) assert.ok(got.get(p)!.equals(b), `${what}: ${p}`);
}

/** data/... of a readTreeBytes map, relative to data/. */
function under(m: Map<string, Buffer>, prefix: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [p, b] of m) if (p.startsWith(prefix + '/')) out.set(p.slice(prefix.length + 1), b);
  return out;
}

before(async () => {
  tmp = await tempDir('strata-get-');
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
  token = (await ok(tmp.dir, ['serve', 'token', 'create', '--repo', '*', '--write', '--data', data])).stdout.trim();
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

  proj = join(tmp.dir, 'proj');
  await writeFiles(proj, { 'data/a.csv': 'id,v\n1,2\n', 'data/sub/b.txt': 'b\n', 'data/run.sh': '#!/bin/sh\necho hi\n', 'data/big.bin': BIG });
  await fsp.chmod(join(proj, 'data/run.sh'), 0o755);
  await fsp.symlink('a.csv', join(proj, 'data/link'));
  await ok(proj, ['init']);
  await ok(proj, ['add', 'data']);
  await ok(proj, ['commit', '-m', 'first']);
  await ok(proj, ['tag', 'v1']);
  v1 = (await json(proj, ['log']))[0].id;
  atV1 = under(await readTreeBytes(proj), 'data');
  await writeFiles(proj, { 'data/a.csv': 'id,v\n1,2\n3,4\n', 'data/new.txt': 'new\n' });
  await ok(proj, ['add', 'data']);
  await ok(proj, ['commit', '-m', 'second']);
  head = (await json(proj, ['log']))[0].id;
  atHead = under(await readTreeBytes(proj), 'data');
  assert.match(v1, /^[0-9a-f]{64}$/);

  await ok(proj, ['remote', 'add', 'dir', join(tmp.dir, 'dir-remote')]);
  await ok(proj, ['push', 'dir', 'main', '--tags']);
  await ok(proj, ['remote', 'add', 's3', 's3://strata/get', '--endpoint', s3.endpoint], 0, { env: s3env });
  await ok(proj, ['push', 's3', 'main', '--tags'], 0, { env: s3env });
  await ok(proj, ['remote', 'add', 'srv', `${serverUrl}/proj`]);
  await ok(proj, ['push', 'srv', 'main', '--tags'], 0, { env: { STRATA_TOKEN: token } });
});

after(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await s3?.stop();
  await tmp?.cleanup();
});

describe('strata export', () => {
  it('copies a folder of a tag byte-identical (exec bit, link, chunked file) and leaves the workspace, index and HEAD alone', async () => {
    const before = await json(proj, ['status']);
    const ws = await readTreeBytes(proj);
    const dest = join(tmp.dir, 'exp-v1');
    const r = await json(proj, ['export', 'v1', 'data', dest]);
    assert.deepEqual({ files: r.files, bytes: r.bytes, dest: r.dest, commit: r.commit, type: r.type, path: r.path }, {
      files: atV1.size,
      bytes: [...atV1].filter(([p]) => p !== 'link').reduce((a, [, b]) => a + b.length, 0),
      dest,
      commit: v1,
      type: 'dir',
      path: 'data',
    });
    sameTree(await readTreeBytes(dest), atV1, 'export v1 data');
    assert.equal((await fsp.stat(join(dest, 'run.sh'))).mode & 0o111, 0o111, 'exec bit kept');
    assert.equal((await fsp.stat(join(dest, 'a.csv'))).mode & 0o111, 0, 'plain file not executable');
    assert.equal(await fsp.readlink(join(dest, 'link')), 'a.csv');
    assert.deepEqual(await json(proj, ['status']), before, 'status unchanged');
    sameTree(await readTreeBytes(proj), ws, 'workspace unchanged');
    assert.deepEqual((await fsp.readdir(tmp.dir)).filter((n) => n.startsWith('.strata-get-')), [], 'no stage folder left');
  });

  it('copies one file of HEAD~1 and the whole tree of HEAD; plain output names what was copied', async () => {
    const f = join(tmp.dir, 'a-old.csv');
    const r = await ok(proj, ['export', 'HEAD~1', 'data/a.csv', f]);
    assert.match(r.stdout, /^Exported data\/a\.csv at HEAD~1 \([0-9a-f]{12}\) to .*a-old\.csv: 1 file\(s\), 9 B\n$/);
    assert.equal(await fsp.readFile(f, 'utf8'), 'id,v\n1,2\n');
    assert.equal(r.stderr, '', 'no progress when piped');
    const all = join(tmp.dir, 'exp-all');
    const j = await json(proj, ['export', 'HEAD', '.', all]);
    assert.equal(j.commit, head);
    assert.equal(j.path, '');
    sameTree(under(await readTreeBytes(all), 'data'), atHead, 'whole tree');
  });

  it('refuses an existing DEST unless --force, which replaces a file and a folder', async () => {
    const f = join(tmp.dir, 'taken.csv');
    await fsp.writeFile(f, 'mine\n');
    const r = await strata(proj, ['export', 'HEAD', 'data/a.csv', f]);
    assert.equal(r.code, EXIT_CODES.INVALID_ARGUMENT, r.stderr);
    assert.match(r.stderr, /already exists \(a file\); nothing was written/);
    assert.match(r.stderr, /--force/);
    assert.equal(await fsp.readFile(f, 'utf8'), 'mine\n');
    await ok(proj, ['export', 'HEAD', 'data/a.csv', f, '--force']);
    assert.equal(await fsp.readFile(f, 'utf8'), 'id,v\n1,2\n3,4\n');

    const d = join(tmp.dir, 'taken-dir');
    await writeFiles(d, { 'old.txt': 'old\n' });
    assert.equal((await strata(proj, ['export', 'v1', 'data', d])).code, EXIT_CODES.INVALID_ARGUMENT);
    assert.deepEqual(await fsp.readdir(d), ['old.txt']);
    await ok(proj, ['export', 'v1', 'data', d, '-f']);
    sameTree(await readTreeBytes(d), atV1, 'folder replaced');
    // A file replaced by a folder and a folder by a file.
    await ok(proj, ['export', 'v1', 'data/a.csv', d, '--force']);
    assert.equal(await fsp.readFile(d, 'utf8'), 'id,v\n1,2\n');
    await ok(proj, ['export', 'v1', 'data/sub', f, '--force']);
    assert.deepEqual(await fsp.readdir(f), ['b.txt']);
  });

  it('refuses a DEST inside .strata/, an absent path, an unknown revision and a path with ..', async () => {
    const inside = await strata(proj, ['export', 'HEAD', 'data/a.csv', '.strata/x.csv']);
    assert.equal(inside.code, EXIT_CODES.INVALID_ARGUMENT, inside.stderr);
    assert.match(inside.stderr, /inside .*\.strata/);
    assert.ok(!existsSync(join(proj, '.strata', 'x.csv')));
    const absent = await strata(proj, ['export', 'HEAD', 'data/nope.csv', join(tmp.dir, 'nope')]);
    assert.equal(absent.code, EXIT_CODES.PATH_NOT_FOUND, absent.stderr);
    const rev = await strata(proj, ['export', 'no-such-rev', 'data', join(tmp.dir, 'nope')]);
    assert.equal(rev.code, EXIT_CODES.UNKNOWN_REF, rev.stderr);
    const dots = await strata(proj, ['export', 'HEAD', 'data/../data', join(tmp.dir, 'nope')]);
    assert.equal(dots.code, EXIT_CODES.PATH_OUTSIDE_WORKSPACE, dots.stderr);
    assert.ok(!existsSync(join(tmp.dir, 'nope')));
  });
});

describe('strata get', () => {
  const remotes = () => [
    { name: 'directory remote', url: join(tmp.dir, 'dir-remote'), args: [] as string[], env: {} as Record<string, string | undefined> },
    { name: 's3 remote', url: 's3://strata/get', args: ['--endpoint', s3.endpoint], env: s3env },
    { name: 'strata serve', url: `${serverUrl}/proj`, args: [], env: {} },
    { name: 'repository folder', url: proj, args: [], env: {} },
  ];

  it('copies a folder and a file from every kind of source, with no repository where it runs', async () => {
    for (const src of remotes()) {
      const cwd = join(tmp.dir, `get-${src.name.replace(/ /g, '-')}`);
      await fsp.mkdir(cwd);
      // Default revision: the remote's main (HEAD for a repository folder). DEST: PATH's last part.
      const r = await json(cwd, ['get', src.url, 'data', ...src.args], src.env);
      assert.equal(r.commit, head, src.name);
      assert.equal(r.dest, join(cwd, 'data'), src.name);
      assert.equal(r.files, atHead.size, src.name);
      sameTree(await readTreeBytes(join(cwd, 'data')), atHead, `${src.name}: data at main`);
      assert.equal((await fsp.stat(join(cwd, 'data', 'run.sh'))).mode & 0o111, 0o111, `${src.name}: exec bit`);
      assert.equal(await fsp.readlink(join(cwd, 'data', 'link')), 'a.csv', `${src.name}: link`);
      // A tag, and a full commit id, into -o DEST.
      const t = await json(cwd, ['get', src.url, 'data/a.csv', '--rev', 'v1', '-o', 'a-v1.csv', ...src.args], src.env);
      assert.equal(t.commit, v1, src.name);
      assert.equal(t.rev, 'v1');
      assert.equal(await fsp.readFile(join(cwd, 'a-v1.csv'), 'utf8'), 'id,v\n1,2\n', src.name);
      const byId = await json(cwd, ['get', src.url, 'data/sub/b.txt', '--rev', v1, '-o', 'deep/er/b.txt', ...src.args], src.env);
      assert.equal(byId.commit, v1);
      assert.equal(await fsp.readFile(join(cwd, 'deep/er/b.txt'), 'utf8'), 'b\n', src.name);
      const big = await json(cwd, ['get', src.url, 'data/big.bin', '--rev', 'main', ...src.args], src.env);
      assert.equal(big.bytes, BIG.length);
      assert.ok((await fsp.readFile(join(cwd, 'big.bin'))).equals(BIG), `${src.name}: chunked file`);
      assert.deepEqual((await fsp.readdir(cwd)).sort(), ['a-v1.csv', 'big.bin', 'data', 'deep'], `${src.name}: nothing else written (no .strata)`);
    }
  });

  it('plain output, and errors: unknown revision, absent path, existing DEST, wrong option', async () => {
    const cwd = join(tmp.dir, 'get-errors');
    await fsp.mkdir(cwd);
    const url = `${serverUrl}/proj`;
    const r = await ok(cwd, ['get', url, 'data/sub', '--rev', 'main']);
    assert.match(r.stdout, /^Copied data\/sub at main \([0-9a-f]{12}\) to .*\/sub: 1 file\(s\), 2 B\n$/);
    assert.equal(r.stderr, '');
    const again = await strata(cwd, ['get', url, 'data/sub']);
    assert.equal(again.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(again.stderr, /already exists \(a folder\)/);
    await ok(cwd, ['get', url, 'data/a.csv', '-o', 'sub', '--force']);
    assert.equal(await fsp.readFile(join(cwd, 'sub'), 'utf8'), 'id,v\n1,2\n3,4\n');
    const rev = await strata(cwd, ['get', url, 'data', '--rev', 'nope', '-o', 'x']);
    assert.equal(rev.code, EXIT_CODES.UNKNOWN_REF, rev.stderr);
    assert.match(rev.stderr, /no branch or tag "nope"/);
    assert.match(rev.stderr, /its branches: main/);
    const short = await strata(cwd, ['get', url, 'data', '--rev', head.slice(0, 12), '-o', 'x']);
    assert.equal(short.code, EXIT_CODES.UNKNOWN_REF);
    assert.match(short.stderr, /in full/);
    const absent = await strata(cwd, ['get', url, 'data/none.csv']);
    assert.equal(absent.code, EXIT_CODES.PATH_NOT_FOUND, absent.stderr);
    const opt = await strata(cwd, ['get', url, 'data', '--endpoint', 'http://127.0.0.1:1', '-o', 'x']);
    assert.equal(opt.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(opt.stderr, /only applies to s3/);
    const root = await strata(cwd, ['get', url, '.']);
    assert.equal(root.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(root.stderr, /-o DEST/);
    const missing = await strata(cwd, ['get', `${serverUrl}/no-such-repo`, 'data', '-o', 'x']);
    assert.equal(missing.code, 13, missing.stderr);
    assert.deepEqual((await fsp.readdir(cwd)).sort(), ['sub']);
  });

  it('draws progress on a terminal', async () => {
    const cwd = join(tmp.dir, 'get-tty');
    await fsp.mkdir(cwd);
    // python3's pty.spawn gives strata a terminal for stdin, stdout and stderr; the fsync'd server
    // read of the 9 MB file via 35 chunk requests takes longer than the 0.3 s before progress shows.
    const out = await new Promise<string>((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
      delete env.CI;
      const p = spawn('/usr/bin/python3', ['-c', 'import pty,sys; pty.spawn(sys.argv[1:])', process.execPath, BIN, 'get', `${serverUrl}/proj`, 'data', '-j', '1'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let s = '';
      p.stdout.on('data', (d: Buffer) => (s += d.toString()));
      p.on('error', reject);
      p.on('close', () => resolve(s));
    });
    assert.match(out, /Copied data at main/);
    assert.match(out, /copying: \d+% \(\d+\/\d+ files/);
  });
});

describe('hostile and corrupt sources', () => {
  interface Case {
    name: string;
    entries: (b: Builder) => WireEntry[];
    code: number;
    message: RegExp;
  }
  const cases: Case[] = [
    { name: 'a link leaving DEST', entries: (b) => [b.dir('data', [b.link('evil', '../../outside'), b.file('ok.txt', 'ok\n')])], code: EXIT_CODES.PATH_OUTSIDE_WORKSPACE, message: /symbolic link data\/evil: its target \.\.\/\.\.\/outside leaves the destination/ },
    { name: 'an absolute link', entries: (b) => [b.dir('data', [b.link('abs', '/etc/passwd'), b.file('ok.txt', 'ok\n')])], code: EXIT_CODES.PATH_OUTSIDE_WORKSPACE, message: /is absolute/ },
    {
      name: 'a name twice (a link and a folder)',
      entries: (b) => [b.dir('data', [b.link('x', '/tmp'), b.dir('x', [b.file('victim.txt', 'pwned\n')])])],
      code: EXIT_CODES.OBJECT_CORRUPT,
      message: /twice|duplicate|sorted/,
    },
    { name: 'a .. entry', entries: (b) => [b.dir('data', [b.file('..', 'up\n')])], code: EXIT_CODES.OBJECT_CORRUPT, message: /\.\./ },
    {
      name: 'a blob that does not match its id',
      entries: (b) => {
        const good = b.blob('the real bytes\n');
        good.bytes = Buffer.from('other bytes!!!\n');
        return [b.dir('data', [b.file('ok.txt', 'ok\n'), ['bad.txt', 'f', good.bytes.length, good.id]])];
      },
      code: EXIT_CODES.OBJECT_CORRUPT,
      message: /bad\.txt.*corrupt|corrupt.*bad\.txt/,
    },
    {
      name: 'a chunk list of sound but unrelated chunks',
      entries: (b) => {
        const c1 = b.blob(seededBytes(20_000, 11));
        const c2 = b.blob(seededBytes(20_000, 12));
        const m = b.manifest(40_000, [
          [c1.id, 20_000],
          [c2.id, 20_000],
        ]);
        const claimed = b.blob(seededBytes(40_000, 13));
        b.objects.splice(b.objects.indexOf(claimed), 1);
        return [b.dir('data', [['big.bin', 'f', 40_000, claimed.id, m.id]])];
      },
      code: EXIT_CODES.OBJECT_CORRUPT,
      message: /big\.bin/,
    },
  ];

  const targets = () => [
    { name: 'directory remote', url: () => join(tmp.dir, 'hostile-dir'), target: () => fileTarget(join(tmp.dir, 'hostile-dir')) },
    { name: 'strata serve', url: () => `${serverUrl}/hostile`, target: async () => serverRepoTarget(join(tmp.dir, 'srv', 'hostile')) },
  ];

  it('refuses each one: the exit code and message say why, no DEST, nothing beside it, the sentinel untouched', async () => {
    // The server's repository is created by a first push.
    const seed = join(tmp.dir, 'hostile-seed');
    await writeFiles(seed, { 'data/seed.txt': 'seed\n' });
    await ok(seed, ['init']);
    await ok(seed, ['add', 'data']);
    await ok(seed, ['commit', '-m', 'seed']);
    await ok(seed, ['remote', 'add', 'srv', `${serverUrl}/hostile`]);
    await ok(seed, ['push', 'srv', 'main'], 0, { env: { STRATA_TOKEN: token } });
    const sentinel = join(tmp.dir, 'outside');
    await writeFiles(sentinel, { 'keep.txt': 'keep\n' });
    for (const tg of targets()) {
      for (const c of cases) {
        const b = new Builder();
        const commit = b.commit(c.entries(b), [], c.name);
        const target: HostileTarget = await tg.target();
        try {
          await target.put(b.objects);
          await target.setBranch('main', commit);
        } finally {
          await target.close();
        }
        const cwd = join(tmp.dir, 'hostile-run', 'a', 'b');
        await fsp.rm(join(tmp.dir, 'hostile-run'), { recursive: true, force: true });
        await fsp.mkdir(cwd, { recursive: true });
        const r = await strata(cwd, ['get', tg.url(), 'data']);
        assert.equal(r.code, c.code, `${tg.name}, ${c.name}: ${r.stderr}`);
        assert.match(r.stderr, c.message, `${tg.name}, ${c.name}`);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.deepEqual(await listAll(join(tmp.dir, 'hostile-run')), ['a', 'a/b'], `${tg.name}, ${c.name}: nothing written`);
        assert.deepEqual(await listAll(sentinel), ['keep.txt']);
        assert.equal(await fsp.readFile(join(sentinel, 'keep.txt'), 'utf8'), 'keep\n');
      }
    }
  });
});

describe('an interrupted get', () => {
  it('leaves no DEST when killed mid-copy; the next get into the same folder removes its stage folder', async () => {
    const big = join(tmp.dir, 'bigproj');
    await writeFiles(big, { 'huge.bin': seededBytes(64 << 20, 5) });
    await ok(big, ['init']);
    await ok(big, ['add', 'huge.bin']);
    await ok(big, ['commit', '-m', 'huge']);
    await ok(big, ['remote', 'add', 'srv', `${serverUrl}/bigproj`]);
    await ok(big, ['push', 'srv', 'main'], 0, { env: { STRATA_TOKEN: token } });
    const cwd = join(tmp.dir, 'killed');
    await fsp.mkdir(cwd);
    const p = spawn(process.execPath, [BIN, 'get', `${serverUrl}/bigproj`, 'huge.bin'], { cwd, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    // Kill it once bytes are being written into the stage folder.
    let killed = false;
    for (let i = 0; i < 4000 && p.exitCode === null; i++) {
      const stage = (await fsp.readdir(cwd)).find((n) => n.startsWith('.strata-get-'));
      const tmpFiles = stage ? await fsp.readdir(join(cwd, stage, 'tmp')).catch(() => [] as string[]) : [];
      const size = tmpFiles[0] ? (await fsp.stat(join(cwd, stage!, 'tmp', tmpFiles[0])).catch(() => null))?.size ?? 0 : 0;
      if (size > 0) {
        p.kill('SIGKILL');
        killed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await exited;
    assert.ok(killed, 'the copy was still running when it was killed');
    const left = await fsp.readdir(cwd);
    assert.ok(!left.includes('huge.bin'), 'no DEST');
    assert.equal(left.length, 1, 'only the stage folder of the killed process');
    assert.match(left[0]!, /^\.strata-get-\d+-[0-9a-f]+$/);
    await ok(cwd, ['get', `${serverUrl}/bigproj`, 'huge.bin']);
    assert.deepEqual(await fsp.readdir(cwd), ['huge.bin']);
    assert.equal((await fsp.stat(join(cwd, 'huge.bin'))).size, 64 << 20);
  });
});
