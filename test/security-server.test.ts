/**
 * A hostile client of `strata serve` cannot kill it, hold it, or plant names and refs the rest of
 * Strata refuses. Against the real binary (`strata serve --data DIR` in a child process), with raw
 * node:net / node:http clients:
 *  - abandoned over-limit bodies (chunked JSON to objects/has, pack and object uploads) — these
 *    used to kill the process;
 *  - every route of server/app.ts with malformed JSON, wrong types, hostile path and query
 *    parameters and abandoned huge bodies: never a 500, and the server answers afterwards;
 *  - slow-loris headers and bodies (1 byte / 2 s) closed within the configured timeouts, and the
 *    connection cap;
 *  - hostile ref names (server 400, CLI exit 2, and the CLI and push agreeing on one rule),
 *    hostile repository names, refs pointing at the wrong kind of object;
 *  - one 60 MiB object inside a pack is accepted (pack parsing is linear in the pack's size).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BIN, ROOT, ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { bearer, makePack, raw } from './helpers/server.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { commitId, treeId } from '../core/model/index.js';
import { serializeRun, type RunRecord } from '../core/meta/runs.js';

await initHash();

const MiB = 1 << 20;
const PACK_LIMIT = 63 * MiB;
const JSON_LIMIT = 1 * MiB;
const OBJECT_LIMIT = 8 * MiB;

interface Serve {
  url: string;
  port: number;
  proc: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** `strata serve --data DIR --port 0 --json ...flags` as a child process. */
async function serve(dataDir: string, flags: string[]): Promise<Serve> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0', '--json', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (c) => reject(new Error(`strata serve exited ${c}: ${err}`)));
  });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

let tmp: { dir: string; cleanup(): Promise<void> };
let data: string;
let srv: Serve;
let write: Record<string, string>;

/** The server process is up and answers GET /api/repos. */
async function assertAlive(what: string): Promise<void> {
  assert.equal(srv.proc.exitCode, null, `server exited after ${what}: ${srv.stderr()}`);
  assert.equal(srv.proc.signalCode, null, `server was killed after ${what}`);
  const r = await raw(srv.url, 'GET', '/api/repos');
  assert.equal(r.status, 200, `GET /api/repos after ${what}`);
}

/** Write `head`, then chunked `total` bytes of `fill` in 64 KiB chunks; abandon the socket when done or answered. */
function abandonChunked(port: number, head: string, total: number, fill = 'a', first?: Buffer): Promise<{ status: number | null }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let status: number | null = null;
    let answered = false;
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'));
      if (m && status === null) status = Number(m[1]);
      answered = true;
    });
    sock.on('close', () => resolve({ status }));
    sock.on('connect', async () => {
      sock.write(head + 'Transfer-Encoding: chunked\r\n\r\n');
      if (first) sock.write(first.length.toString(16) + '\r\n' + first.toString('latin1') + '\r\n', 'latin1');
      const chunk = Buffer.alloc(64 * 1024, fill);
      for (let sent = 0; sent < total && !answered && !sock.destroyed; sent += chunk.length) {
        sock.write(chunk.length.toString(16) + '\r\n');
        sock.write(chunk);
        const okWrite = sock.write('\r\n');
        if (!okWrite) {
          await new Promise<void>((r) => {
            const done = (): void => {
              sock.off('drain', done);
              sock.off('close', done);
              r();
            };
            sock.once('drain', done);
            sock.once('close', done);
          });
        }
      }
      // Abandoned: never the final 0-chunk. Give the server a moment to answer, then drop it.
      setTimeout(() => sock.destroy(), 200);
    });
  });
}

/** A request whose head is sent whole; returns the status or null when the server closed without one. */
function rawText(port: number, text: string | Buffer): Promise<{ status: number | null; body: string }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const s = got.toString('latin1');
      const i = s.indexOf('\r\n\r\n');
      if (i >= 0) {
        const len = /content-length:\s*(\d+)/i.exec(s.slice(0, i));
        if (len && got.length >= i + 4 + Number(len[1])) sock.destroy();
      }
    });
    sock.on('close', () => {
      const s = got.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(s);
      resolve({ status: m ? Number(m[1]) : null, body: s.slice(s.indexOf('\r\n\r\n') + 4) });
    });
    sock.on('connect', () => sock.write(text));
  });
}

// Objects the tests point refs at.
const blob = Buffer.from('security test content\n');
const subTree = treeId({ entries: [{ type: 'file', name: 'a.txt', size: blob.length, id: hashBytes(blob), exec: false }] });
const rootTree = treeId({ entries: [{ type: 'dir', name: 'data', id: subTree.id, size: blob.length, count: 1 }] });
const commit = commitId({ tree: rootTree.id, parents: [], author: { name: 'T', email: 't@x' }, time: 1000, message: 'c', code: null });
const nullBlob = Buffer.from('null');
const runId = '01900000-0000-7000-8000-0000000000aa';
const run: RunRecord = {
  id: runId, stage: 'train', status: 'ok', cmd: 'true', wdir: '.', env: {}, params: {}, paramRefs: [],
  deps: [{ path: 'data/a.txt', id: hashBytes(blob), kind: 'file' }], outs: [],
  code: null, environment: { node: 'v20', platform: 'linux', arch: 'x64', hostname: 'h', strata: '0' },
  started: 1, ended: 2, exitCode: 0, signal: null, log: null, signature: 's', cachedFrom: null, error: null, origin: 'pipeline',
};
const runBytes = serializeRun(run);

const putRef = (repo: string, name: string, value: string, headers: Record<string, string> = { 'If-None-Match': '*' }) =>
  raw(srv.url, 'PUT', `/api/repos/${repo}/refs/${name}`, { headers: { ...write, 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ value }) });

before(async () => {
  tmp = await tempDir('strata-sec-srv-');
  data = join(tmp.dir, 'srv');
  await ok(tmp.dir, ['serve', 'repo', 'create', 'R', '--data', data]);
  const t = await ok(tmp.dir, ['serve', 'token', 'create', '--repo', '*', '--write', '--data', data]);
  write = bearer(t.stdout.trim());
  srv = await serve(data, [
    '--max-pack-bytes', String(PACK_LIMIT), '--max-json-bytes', String(JSON_LIMIT), '--max-object-bytes', String(OBJECT_LIMIT),
  ]);
  const pack = makePack([blob, subTree.bytes, rootTree.bytes, commit.bytes, nullBlob, runBytes]);
  const r = await raw(srv.url, 'POST', '/api/repos/R/objects/pack', { headers: write, body: pack.body });
  assert.equal(r.status, 200, r.body.toString());
  assert.equal((await putRef('R', 'heads/main', commit.id)).status, 200);
});

after(async () => {
  await srv?.stop();
  await tmp?.cleanup();
});

describe('strata serve: no client can kill it', () => {
  it('an anonymous chunked 6 MiB body to objects/has, abandoned at the 413, leaves the server serving', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await abandonChunked(srv.port, 'POST /api/repos/R/objects/has HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n', 6 * MiB);
      assert.equal(r.status, 413);
      await assertAlive('an abandoned chunked body');
    }
  });

  it('over-limit pack and object uploads (chunked and declared) get 413 and the server keeps serving', async () => {
    // A well-formed start (magic, one frame header declaring just under the limit), then more than the limit.
    const start = Buffer.alloc(40);
    start.write('SPK1');
    start.writeUInt32BE(PACK_LIMIT - 100, 36);
    const pack = await abandonChunked(srv.port, `POST /api/repos/R/objects/pack HTTP/1.1\r\nHost: x\r\nAuthorization: ${write.Authorization}\r\n`, PACK_LIMIT + 2 * MiB, 'a', start);
    assert.equal(pack.status, 413);
    await assertAlive('an over-limit chunked pack');
    // A frame header that declares more than the limit allows is refused before it is buffered.
    const hdr = Buffer.alloc(40);
    hdr.write('SPK1');
    hdr.writeUInt32BE(0xffffffff, 36);
    const declaredFrame = await rawText(srv.port, Buffer.concat([Buffer.from(`POST /api/repos/R/objects/pack HTTP/1.1\r\nHost: x\r\nAuthorization: ${write.Authorization}\r\nContent-Length: 1000\r\n\r\n`), hdr]));
    assert.equal(declaredFrame.status, 413);
    const declared = await rawText(srv.port, `POST /api/repos/R/objects/pack HTTP/1.1\r\nHost: x\r\nAuthorization: ${write.Authorization}\r\nContent-Length: ${PACK_LIMIT + 1}\r\n\r\nSPK1`);
    assert.equal(declared.status, 413);
    const obj = await abandonChunked(srv.port, `PUT /api/repos/R/objects/${'ab'.repeat(32)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${write.Authorization}\r\n`, OBJECT_LIMIT + MiB);
    assert.equal(obj.status, 413);
    // An object the server already has: its re-upload body is discarded up to the limit, not beyond.
    const again = await abandonChunked(srv.port, `PUT /api/repos/R/objects/${hashBytes(blob)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${write.Authorization}\r\n`, OBJECT_LIMIT + MiB);
    assert.equal(again.status, 413);
    await assertAlive('over-limit uploads');
  });

  it('every route: malformed JSON, wrong types, hostile path and query parameters, abandoned huge bodies — never a 500, server still answers', async () => {
    const id = commit.id;
    const hostileIds = ['zz', 'A'.repeat(64), '%ff', 'x'.repeat(5000), 'CON', '..%2f..', '%00', '%2e%2e'];
    const hostileRefs = ['heads/%00', 'heads/..', 'HEAD', 'heads/a..b', 'x'.repeat(3000), 'heads/%ff', '%2e%2e/%2e%2e', 'heads/a%5Cb'];
    const hostileRepos = ['CON', 'a..b', 'tokens.json', '%00', 'x'.repeat(300), '-x', '..%2f..', 'R%2f..'];
    // [method, path template] for every route of server/app.ts ({repo} {id} {ref} {run} are parameters).
    const ROUTES: Array<[string, string]> = [
      ['GET', '/api/health'],
      ['GET', '/api/repos'],
      ['GET', '/api/repos/{repo}'],
      ['PUT', '/api/repos/{repo}'],
      ['GET', '/api/repos/{repo}/refs'],
      ['GET', '/api/repos/{repo}/refs/{ref}'],
      ['PUT', '/api/repos/{repo}/refs/{ref}'],
      ['DELETE', '/api/repos/{repo}/refs/{ref}'],
      ['GET', '/api/repos/{repo}/log'],
      ['GET', '/api/repos/{repo}/commits/{id}'],
      ['GET', '/api/repos/{repo}/tree'],
      ['GET', '/api/repos/{repo}/file'],
      ['HEAD', '/api/repos/{repo}/file'],
      ['GET', '/api/repos/{repo}/diff'],
      ['GET', '/api/repos/{repo}/versions'],
      ['GET', '/api/repos/{repo}/table/rows'],
      ['GET', '/api/repos/{repo}/table/stats'],
      ['GET', '/api/repos/{repo}/table/diff'],
      ['GET', '/api/repos/{repo}/compare'],
      ['POST', '/api/repos/{repo}/merge'],
      ['GET', '/api/repos/{repo}/staging'],
      ['POST', '/api/repos/{repo}/staging/commit'],
      ['POST', '/api/repos/{repo}/staging/discard'],
      ['GET', '/api/repos/{repo}/runs'],
      ['GET', '/api/repos/{repo}/runs/{run}'],
      ['GET', '/api/repos/{repo}/runs/{run}/log'],
      ['GET', '/api/repos/{repo}/lineage'],
      ['GET', '/api/repos/{repo}/lineage/search'],
      ['GET', '/api/repos/{repo}/objects'],
      ['POST', '/api/repos/{repo}/objects/has'],
      ['POST', '/api/repos/{repo}/objects/fetch'],
      ['POST', '/api/repos/{repo}/objects/delete'],
      ['POST', '/api/repos/{repo}/objects/pack'],
      ['GET', '/api/repos/{repo}/objects/{id}'],
      ['HEAD', '/api/repos/{repo}/objects/{id}'],
      ['PUT', '/api/repos/{repo}/objects/{id}'],
      ['DELETE', '/api/repos/{repo}/objects/{id}'],
      ['GET', '/'],
      ['GET', '/some/deep/link'],
    ];
    // The table covers every endpoint name app.ts dispatches on: a new route without a crash test fails here.
    const app = readFileSync(join(ROOT, 'server', 'app.ts'), 'utf8');
    const names = new Set([...app.matchAll(/case '([a-z]+)':/g), ...app.matchAll(/(?:sub|segs\[1\]|rest\[\d\]) === '([a-z]+)'/g)].map((m) => m[1]!));
    assert.ok(names.size >= 14, `found ${[...names].join(', ')}`);
    for (const n of names) assert.ok(ROUTES.some(([, p]) => p.split('/').includes(n)), `route "${n}" of server/app.ts has no crash test`);

    const fill = (p: string, o: Partial<Record<'repo' | 'id' | 'ref' | 'run', string>> = {}) =>
      p.replace('{repo}', o.repo ?? 'R').replace('{id}', o.id ?? (p.includes('/objects/') ? 'ee'.repeat(32) : id)).replace('{ref}', o.ref ?? 'heads/main').replace('{run}', o.run ?? runId);
    const hostileQuery = '?prefix=%00&path=..%2F..%2Fetc&ref=heads%2F..&from=%ff&to=-x&limit=-1&offset=1e309&depth=99999999&q=%5B%5C&node=..&direction=sideways&types=%00&stage=%2e%2e&status=x&download=1&base=..&head=%00&branch=..%2F%00';
    const bodies = ['{not json', '[]', '"x"', '5', 'null', '{"ids":5}', '{"ids":[1,{}]}', '{"value":{}}', '{"value":["a"]}', '{"branch":5,"anonymousRead":"no"}', '{"branch":"a..b"}', '{"into":"main","from":"main"}', '{"into":"main","from":"HEAD~99999","dryRun":1}', '{"into":"../x","from":"%00","expect":"zz","strategy":{}}', '{"branch":"main","message":5,"author":"x","run":{"inputs":[1]}}', '{"branch":"main","paths":["../x","/abs",5]}', '\u0000\u00ff'];
    const results: string[] = [];
    const check = async (method: string, path: string, headers: Record<string, string>, body?: string): Promise<void> => {
      // An explicit length: Node's client sends a GET/DELETE body unframed, which is not HTTP.
      const h = body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
      const r = await raw(srv.url, method, path, { headers: h, body }).catch((e: Error) => {
        throw new Error(`${method} ${path.slice(0, 120)} ${body ?? ''}: ${e.message}`);
      });
      results.push(`${method} ${path.slice(0, 80)} -> ${r.status}`);
      assert.ok(r.status >= 200 && r.status < 500, `${method} ${path.slice(0, 120)} ${body ?? ''} -> ${r.status} ${r.body.toString().slice(0, 300)}`);
    };
    for (const [method, tpl] of ROUTES) {
      const who = [{}, write];
      for (const auth of who) {
        await check(method, fill(tpl) + hostileQuery, auth);
        for (const body of bodies) await check(method, fill(tpl), { ...auth, 'Content-Type': 'application/json', 'If-Match': '"x"' }, body);
        if (tpl.includes('{repo}')) for (const repo of hostileRepos) await check(method, fill(tpl, { repo }), auth, '{}');
        if (tpl.includes('{id}')) for (const x of hostileIds) await check(method, fill(tpl, { id: x }), auth, '{}');
        if (tpl.includes('{ref}')) for (const ref of hostileRefs) await check(method, fill(tpl, { ref }), { ...auth, 'If-None-Match': '*' }, JSON.stringify({ value: id }));
        if (tpl.includes('{run}')) for (const x of ['..', 'x'.repeat(4000), '%00', '%ff', 'heads']) await check(method, fill(tpl, { run: x }), auth);
        const path = fill(tpl);
        const huge = await abandonChunked(srv.port, `${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth === write ? `Authorization: ${write.Authorization}\r\n` : ''}`, 2 * MiB + 1);
        assert.notEqual(huge.status, 500, `${method} ${path} with an abandoned 2 MiB body`);
      }
      await assertAlive(`${method} ${tpl}`);
    }
    // The refs and objects the hostile requests aimed at are unchanged.
    const main = await raw(srv.url, 'GET', '/api/repos/R/refs/heads/main');
    assert.equal(main.json().value, commit.id);
    assert.ok(!/error: /.test(srv.stderr()), `internal errors were logged:\n${srv.stderr().slice(0, 2000)}`);
  });
});

describe('strata serve: many bodies cannot exhaust its memory', () => {
  it('past 256 MiB of JSON bodies held at once, requests get 503 with Retry-After; the server keeps serving', async () => {
    const d = await tempDir('strata-sec-mem-');
    await ok(d.dir, ['serve', 'repo', 'create', 'R', '--data', join(d.dir, 'srv')]);
    const s = await serve(join(d.dir, 'srv'), []); // default 4 MiB JSON limit
    const socks: Socket[] = [];
    try {
      const statuses: number[] = [];
      // 70 anonymous has-checks, each holding 3.9 MiB of a 4 MB body it never finishes: 273 MB.
      for (let i = 0; i < 70; i++) {
        const sock = connect(s.port, '127.0.0.1');
        socks.push(sock);
        sock.on('error', () => {});
        sock.on('data', (b: Buffer) => {
          const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n/.exec(b.toString('latin1'));
          if (m) {
            statuses.push(m[1] === '503' && !/Retry-After: 1/i.test(m[0]) ? -503 : Number(m[1]));
          }
        });
        sock.write('POST /api/repos/R/objects/has HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n');
        sock.write(Buffer.alloc(3_900_000, 'a'));
      }
      for (let i = 0; i < 100 && statuses.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(statuses.length > 0 && statuses.every((x) => x === 503), `statuses: ${statuses.join(',')}`);
      for (const x of socks) x.destroy();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await raw(s.url, 'GET', '/api/repos')).status, 200);
      const has = await raw(s.url, 'POST', '/api/repos/R/objects/has', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ids: [hashBytes('x')] }) });
      assert.equal(has.status, 200, 'the budget is given back when the bodies go');
      assert.equal(s.proc.exitCode, null);
    } finally {
      for (const x of socks) x.destroy();
      await s.stop();
      await d.cleanup();
    }
  });
});

describe('strata serve: no client can hold it', () => {
  let slow: Serve;
  let slowData: { dir: string; cleanup(): Promise<void> };
  before(async () => {
    slowData = await tempDir('strata-sec-slow-');
    await ok(slowData.dir, ['serve', 'repo', 'create', 'R', '--data', join(slowData.dir, 'srv')]);
    slow = await serve(join(slowData.dir, 'srv'), ['--headers-timeout', '2', '--request-timeout', '3']);
  });
  after(async () => {
    await slow?.stop();
    await slowData?.cleanup();
  });
  const slowAlive = async (what: string): Promise<void> => {
    assert.equal(slow.proc.exitCode, null, `server exited after ${what}`);
    assert.equal((await raw(slow.url, 'GET', '/api/repos')).status, 200, `GET /api/repos after ${what}`);
  };
  /** Open a socket, send `head`, then one byte of `drip` every 2 s; resolve with the ms until the server closed it. */
  const trickle = (port: number, head: string, drip: string): Promise<number> =>
    new Promise((resolve) => {
      const t0 = Date.now();
      const sock = connect(port, '127.0.0.1');
      let timer: NodeJS.Timeout | undefined;
      let i = 0;
      sock.on('error', () => {});
      sock.on('close', () => {
        clearInterval(timer);
        resolve(Date.now() - t0);
      });
      sock.on('connect', () => {
        sock.write(head);
        timer = setInterval(() => {
          if (!sock.destroyed) sock.write(drip[i++ % drip.length]!);
        }, 2000);
      });
      // A socket still open after 20 s is a failure; close it so the test ends.
      setTimeout(() => sock.destroy(), 20_000).unref();
    });

  it('headers trickled 1 byte / 2 s are closed within the headers timeout (2 s here)', async () => {
    const n = 10;
    const times = await Promise.all(Array.from({ length: n }, () => trickle(slow.port, 'GET /api/repos HTTP/1.1\r\nHost: x\r\nX-Slow: ', 'abcdefgh')));
    for (const t of times) assert.ok(t < 8000, `a slow-headers connection was held ${t} ms (headers timeout 2 s)`);
    await slowAlive('slow headers');
  });

  it('a body trickled 1 byte / 2 s is closed within the request timeout (3 s here)', async () => {
    const n = 10;
    const head = 'POST /api/repos/R/objects/has HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
    const times = await Promise.all(Array.from({ length: n }, () => trickle(slow.port, head, '{"ids":[')));
    for (const t of times) assert.ok(t < 9000, `a slow-body connection was held ${t} ms (request timeout 3 s)`);
    await slowAlive('slow bodies');
  });

  it('connections beyond --max-connections are closed on arrival; the server serves again once they go', async () => {
    const d = await tempDir('strata-sec-cap-');
    const capped = await serve(join(d.dir, 'srv'), ['--max-connections', '5']);
    const open = (): Promise<{ sock: Socket; closed: Promise<number> }> =>
      new Promise((resolve) => {
        const t0 = Date.now();
        const sock = connect(capped.port, '127.0.0.1');
        sock.on('error', () => {});
        const closed = new Promise<number>((r) => sock.on('close', () => r(Date.now() - t0)));
        sock.on('connect', () => resolve({ sock, closed }));
        sock.on('close', () => resolve({ sock, closed }));
      });
    try {
      const held = [];
      for (let i = 0; i < 5; i++) held.push(await open());
      await new Promise((r) => setTimeout(r, 200));
      const extra = await Promise.all(Array.from({ length: 3 }, () => open()));
      for (const e of extra) {
        const t = await Promise.race([e.closed, new Promise<number>((r) => setTimeout(() => r(-1), 3000))]);
        assert.ok(t >= 0 && t < 3000, 'a connection over the cap was kept open');
      }
      let stillOpen = 0;
      for (const h of held) if (!h.sock.destroyed) stillOpen++;
      assert.equal(stillOpen, 5, 'the connections within the cap stay open');
      for (const h of held) h.sock.destroy();
      await Promise.all(held.map((h) => h.closed));
      let status = 0;
      for (let i = 0; i < 20 && status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await raw(capped.url, 'GET', '/api/repos').catch(() => ({ status: 0 }))).status;
      }
      assert.equal(status, 200);
      assert.equal(capped.proc.exitCode, null);
    } finally {
      await capped.stop();
      await d.cleanup();
    }
  });
});

describe('strata serve: one ref-name rule, hostile names refused', () => {
  // Each breaks the rule (git check-ref-format, narrowed): as a branch/tag name and under heads/.
  const HOSTILE = ['HEAD', '-x', 'a..b', 'a.lock', '.x', 'x.', 'x/.y', 'a@{1}', '@', 'a b', 'a~1', 'a^', 'a:b', 'a?b', 'a*b', 'a[b', 'a\\b', 'feat#1', 'tab\there', 'ctl\u0001', 'x//y', 'x/', 'a/HEAD', 'é', 'x'.repeat(251)];

  it('the server refuses hostile ref names with 400 (never 500, never stored), whatever the method', async () => {
    for (const n of HOSTILE) {
      if (n.endsWith('/')) continue; // a URL cannot carry a trailing '/' in a ref name (it is dropped)
      const path = 'heads/' + n.split('/').map(encodeURIComponent).join('/');
      const r = await putRef('R', path, commit.id);
      assert.equal(r.status, 400, `PUT heads/${JSON.stringify(n)} -> ${r.status} ${r.body.toString().slice(0, 200)}`);
      assert.equal(r.json().error.code, 'INVALID_ARGUMENT');
      const g = await raw(srv.url, 'GET', `/api/repos/R/refs/${path}`);
      assert.equal(g.status, 400, `GET heads/${JSON.stringify(n)}`);
      const del = await raw(srv.url, 'DELETE', `/api/repos/R/refs/${path}`, { headers: { ...write, 'If-Match': '"x"' } });
      assert.equal(del.status, 400, `DELETE heads/${JSON.stringify(n)}`);
    }
    // Outside the namespaces the server keeps, or without one.
    for (const path of ['other/x', 'main', 'remotes/origin/main', 'runs/a/b']) {
      const r = await putRef('R', path, commit.id);
      assert.equal(r.status, 400, `PUT ${path} -> ${r.status}`);
    }
    const refs = (await raw(srv.url, 'GET', '/api/repos/R/refs')).json().refs.map((x: { name: string }) => x.name);
    assert.deepEqual(refs.filter((x: string) => !x.startsWith('runs/')), ['heads/main']);
  });

  it('the CLI refuses the same names for branch and tag (exit 2), and what it accepts, push accepts', async () => {
    const p = await tempDir('strata-sec-cli-');
    try {
      await ok(p.dir, ['init']);
      await writeFiles(p.dir, { 'data/a.txt': 'a\n' });
      await ok(p.dir, ['add', 'data']);
      await ok(p.dir, ['commit', '-m', 'one']);
      // Every name as a branch; tags and checkout -b share the function, so a sample of them.
      const queue = [...HOSTILE.map((n) => ['branch', n]), ...['HEAD', 'a..b', 'feat#1', 'x.', 'a/HEAD', 'x'.repeat(251)].map((n) => ['tag', n]), ['checkout', '-b', 'a~1'], ['switch', '-c', 'feat#1']];
      const fails: string[] = [];
      const worker = async (): Promise<void> => {
        for (let a = queue.shift(); a; a = queue.shift()) {
          const r = await strata(p.dir, a);
          // A name starting with '-' cannot even reach the command: it is an unknown option (exit 2 too).
          const refused = a[a.length - 1]!.startsWith('-') ? /Unknown option/ : /invalid (branch|tag) name/;
          if (r.code !== 2 || !refused.test(r.stderr) || /at .*\.js:\d+/.test(r.stderr)) fails.push(`strata ${a.join(' ')} -> ${r.code} ${r.stderr.trim()}`);
        }
      };
      await Promise.all([worker(), worker(), worker()]);
      assert.deepEqual(fails, []);
      const feat = await strata(p.dir, ['branch', 'feat#1']);
      assert.equal(feat.code, 2);
      assert.match(feat.stderr, /invalid branch name "feat#1": "#" is not allowed/);
      // Names the rule accepts: created by the CLI, pushed to the server, listed there.
      const good = ['feat+1', 'user@host', 'v1.0_rc-2/x', 'l'.repeat(249)];
      for (const n of good) await ok(p.dir, ['branch', n]);
      await ok(p.dir, ['remote', 'add', 'origin', `${srv.url}/pushed`]);
      const env = { STRATA_TOKEN: write.Authorization!.slice(7) };
      for (const n of good) await ok(p.dir, ['push', 'origin', n], 0, { env });
      const listed = (await raw(srv.url, 'GET', '/api/repos/pushed/refs?prefix=heads/')).json().refs.map((x: { name: string }) => x.name);
      assert.deepEqual(listed, good.map((n) => 'heads/' + n).sort());
    } finally {
      await p.cleanup();
    }
  });

  it('hostile repository names are refused with 400 by the server and exit 2 by serve repo create', async () => {
    const names = ['CON', 'con', 'Con.txt', 'aux.tar.gz', 'NUL', 'com1', 'LPT9.x', 'a..b', 'tokens.json', 'TOKENS.JSON', 'x.lock', 'x.', '-x', '_x', '.x', 'a'.repeat(101), 'a%20b', 'a%23b'];
    for (const n of names) {
      const put = await raw(srv.url, 'PUT', `/api/repos/${n}`, { headers: write });
      assert.equal(put.status, 400, `PUT /api/repos/${n} -> ${put.status}`);
      assert.equal(put.json().error.code, 'INVALID_ARGUMENT');
      const get = await raw(srv.url, 'GET', `/api/repos/${n}/refs`, { headers: write });
      assert.equal(get.status, 400, `GET /api/repos/${n}/refs -> ${get.status}`);
    }
    const names2 = (await raw(srv.url, 'GET', '/api/repos', { headers: write })).json().repos.map((r: { name: string }) => r.name);
    assert.ok(!names2.some((n: string) => /^(con|tokens)/i.test(n)), names2.join(','));
    const cli = await strata(tmp.dir, ['serve', 'repo', 'create', 'CON', '--data', data]);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /invalid repository name "CON"/);
  });

  it('refs must point at the right kind of object: heads/ and tags/ at commits, runs/ at run objects', async () => {
    const cases: Array<[string, string]> = [
      ['heads/at-blob', hashBytes(blob)],
      ['heads/at-tree', rootTree.id],
      ['tags/at-tree', subTree.id],
      ['tags/at-null', hashBytes(nullBlob)],
      [`runs/${runId}`, commit.id],
      [`runs/${runId}`, hashBytes(nullBlob)],
      [`runs/${runId}`, rootTree.id],
    ];
    for (const [name, value] of cases) {
      const r = await putRef('R', name, value);
      assert.equal(r.status, 400, `${name} -> ${value.slice(0, 12)}: ${r.status} ${r.body.toString().slice(0, 200)}`);
      assert.equal(r.json().error.code, 'INVALID_ARGUMENT');
      assert.match(r.json().error.message, /must point at a (commit|run)/);
    }
    assert.equal((await putRef('R', 'tags/v1', commit.id)).status, 200);
    assert.equal((await putRef('R', `runs/${runId}`, hashBytes(runBytes))).status, 200);
    // What the server stored passes its own fsck.
    const f = await strata(join(data, 'R'), ['fsck']);
    assert.equal(f.code, 0, f.stdout + f.stderr);
  });
});

describe('strata serve: pack parsing is linear', () => {
  it('one 60 MiB object inside a pack is accepted and stored intact', { timeout: 120_000 }, async () => {
    const big = randomBytes(60 * MiB);
    const pack = makePack([big]);
    const r = await raw(srv.url, 'POST', '/api/repos/R/objects/pack', { headers: { ...write, 'Content-Type': 'application/x-strata-pack' }, body: pack.body });
    assert.equal(r.status, 200, r.body.toString());
    assert.deepEqual(r.json(), { objects: 1, bytes: big.length });
    const h = await raw(srv.url, 'HEAD', `/api/repos/R/objects/${pack.ids[0]}`);
    assert.equal(h.status, 200);
    assert.equal(Number(h.headers['content-length']), big.length);
  });
});
