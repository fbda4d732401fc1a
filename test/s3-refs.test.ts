import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
import { S3Store } from '../core/store/s3/index.js';
import { S3RefStore } from '../core/store/s3/refs.js';
import { FileRefStore, type RefStore } from '../core/store/refs.js';
import * as http from 'node:http';

/**
 * A proxy in front of s3rver that enforces If-None-Match / If-Match on PUT and DELETE the way AWS S3
 * and MinIO do (one request per key at a time, so check-then-forward is atomic). Lets the test suite
 * exercise the 'enforced' code path without a real S3.
 */
async function startEnforcingProxy(upstreamPort: number): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const busy = new Map<string, Promise<void>>();
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) =>
    new Promise<void>((done) => {
      const up = http.request({ host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        r.pipe(res);
        r.on('end', done);
      });
      up.end(body);
    });
  const headEtag = (path: string) =>
    new Promise<string | null>((resolve) => {
      http
        .request({ host: '127.0.0.1', port: upstreamPort, path, method: 'HEAD' }, (r) => {
          r.resume();
          resolve(r.statusCode === 200 ? String(r.headers.etag) : null);
        })
        .end();
    });
  const fail = (res: http.ServerResponse, status: number, code: string) => {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`);
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const inm = req.headers['if-none-match'];
    const im = req.headers['if-match'];
    if (!((req.method === 'PUT' || req.method === 'DELETE') && (inm || im))) return forward(req, res, body);
    const path = req.url!.split('?')[0]!;
    while (busy.has(path)) await busy.get(path);
    let release!: () => void;
    busy.set(path, new Promise<void>((r) => (release = r)));
    try {
      const cur = await headEtag(path);
      if (inm === '*' && cur !== null) return fail(res, 412, 'PreconditionFailed');
      if (im && cur === null) return fail(res, 404, 'NoSuchKey');
      if (im && im !== cur) return fail(res, 412, 'PreconditionFailed');
      await forward(req, res, body);
    } finally {
      busy.delete(path);
      release();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const cid = () => randomBytes(32).toString('hex');
const code = (e: unknown) => (e as { code?: string }).code;
const isConflict = (e: unknown) => code(e) === 'REF_CONFLICT';

let s3: S3rverHandle;
let tmp: string;
let n = 0;
let enforcing: { endpoint: string; stop(): Promise<void> } | undefined;
before(async () => {
  s3 = await startS3rver({ buckets: ['refs'] });
  enforcing = await startEnforcingProxy(s3.port);
  tmp = await mkdtemp(join(tmpdir(), 'strata-refs-'));
});
after(async () => {
  await enforcing?.stop();
  await s3.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** Behaviour every RefStore has, whether CAS is atomic or emulated (sequential use). */
function casBasics(name: string, make: () => Promise<RefStore>) {
  describe(`RefStore basics: ${name}`, () => {
    it('create / get / update / delete with etags', async () => {
      const refs = await make();
      const [a, b, c] = [cid(), cid(), cid()];
      assert.equal(await refs.get('heads/main'), null);
      const r1 = await refs.create('heads/main', a);
      assert.equal(r1.value, a);
      const got = await refs.get('heads/main');
      assert.deepEqual(got, r1);
      await assert.rejects(refs.create('heads/main', b), isConflict);
      const r2 = await refs.update('heads/main', b, r1.etag);
      assert.equal((await refs.get('heads/main'))!.value, b);
      assert.notEqual(r2.etag, r1.etag);
      await assert.rejects(refs.update('heads/main', c, r1.etag), isConflict); // stale etag
      await assert.rejects(refs.update('heads/nope', c, r1.etag), isConflict); // missing
      await assert.rejects(refs.delete('heads/main', r1.etag), isConflict);
      assert.equal((await refs.get('heads/main'))!.value, b);
      await refs.delete('heads/main', r2.etag);
      assert.equal(await refs.get('heads/main'), null);
      await assert.rejects(refs.delete('heads/main', r2.etag), isConflict);
    });

    it('list by prefix, nested names, validation', async () => {
      const refs = await make();
      const v = cid();
      await refs.create('heads/main', v);
      await refs.create('heads/feature/x', v);
      await refs.create('tags/v1.0', v);
      assert.deepEqual((await refs.list('heads/')).map((r) => r.name), ['heads/feature/x', 'heads/main']);
      assert.deepEqual((await refs.list('tags/')).map((r) => r.name), ['tags/v1.0']);
      assert.equal((await refs.list()).length, 3);
      assert.ok((await refs.list()).every((r) => r.value === v && r.etag));
      for (const bad of ['main', 'heads/../x', 'heads/.hidden', 'heads/x.lock', 'heads//x', '/heads/x', 'heads/a b']) {
        await assert.rejects(refs.create(bad, v), (e: unknown) => code(e) === 'INVALID_ARGUMENT', bad);
      }
      await assert.rejects(refs.create('heads/ok', 'not-a-commit'), (e: unknown) => code(e) === 'INVALID_ARGUMENT');
    });
  });
}

casBasics('s3 (s3rver, read-check-write)', async () => new S3RefStore(new S3Store(s3.storeOptions('refs', `basics/${++n}`))));
casBasics('s3 (enforcing proxy, atomic CAS)', async () => new S3RefStore(new S3Store({ ...s3.storeOptions('refs', `basics-enf/${++n}`), endpoint: enforcing!.endpoint })));
casBasics('file', async () => new FileRefStore(join(tmp, `basics-${++n}`)));

describe('S3RefStore on s3rver', () => {
  it("probeConditionalWrites reports 'not-enforced' on s3rver and cleans up", async () => {
    const store = new S3Store(s3.storeOptions('refs', 'probe'));
    const refs = new S3RefStore(store);
    assert.equal(await refs.probeConditionalWrites(), 'not-enforced');
    const left: string[] = [];
    for await (const o of store.conn.listKeys(store.conn.key(''))) left.push(o.key);
    assert.deepEqual(left, []);
    await store.close();
  });

  it('stores refs at <prefix>/refs/heads/<branch> with body "<commit>\\n"', async () => {
    const store = new S3Store(s3.storeOptions('refs', 'layout'));
    const refs = new S3RefStore(store);
    const v = cid();
    await refs.create('heads/main', v);
    await refs.create('tags/v1', v);
    assert.equal((await store.conn.getBuffer('layout/refs/heads/main'))!.toString(), v + '\n');
    assert.equal((await store.conn.getBuffer('layout/refs/tags/v1'))!.toString(), v + '\n');
    await store.close();
  });

  it('stale writers in sequence: exactly one update from the same expected etag wins', async () => {
    const store = new S3Store(s3.storeOptions('refs', 'seq'));
    const refs = new S3RefStore(store);
    const base = await refs.create('heads/main', cid());
    const results: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        await refs.update('heads/main', cid(), base.etag);
        results.push(true);
      } catch (e) {
        assert.ok(isConflict(e));
        results.push(false);
      }
    }
    assert.deepEqual(results, [true, false, false, false, false]);
    await store.close();
  });

  it('concurrent writers (emulated CAS): at least one wins and the final value is a winner\'s', async () => {
    const store = new S3Store(s3.storeOptions('refs', 'conc'));
    const refs = new S3RefStore(store);
    const base = await refs.create('heads/main', cid());
    const values = Array.from({ length: 8 }, cid);
    const res = await Promise.allSettled(values.map((v) => refs.update('heads/main', v, base.etag)));
    const winners = values.filter((_, i) => res[i]!.status === 'fulfilled');
    for (const r of res) if (r.status === 'rejected') assert.ok(isConflict(r.reason), String(r.reason));
    assert.ok(winners.length >= 1);
    const final = (await refs.get('heads/main'))!.value;
    assert.ok(winners.includes(final), 'the ref holds the value of a writer that was told it won');
    console.log(`# s3rver emulated CAS: ${winners.length} of ${values.length} concurrent updates reported success`);
    await store.close();
  });

  it('conditionalWrites option skips the probe', async () => {
    const store = new S3Store(s3.storeOptions('refs', 'noprobe'));
    const refs = new S3RefStore(store, { conditionalWrites: 'not-enforced' });
    store.resetStats();
    await refs.create('heads/main', cid());
    assert.equal(store.stats().requests, 3); // read, put, re-read
    await store.close();
  });
});

describe('FileRefStore: atomic CAS with a lock file', () => {
  it('exactly one of N concurrent updates from the same expected value wins', async () => {
    for (let round = 0; round < 5; round++) {
      const refs = new FileRefStore(join(tmp, `conc-${round}`));
      const base = await refs.create('heads/main', cid());
      const values = Array.from({ length: 16 }, cid);
      const res = await Promise.allSettled(values.map((v) => refs.update('heads/main', v, base.etag)));
      const winners = values.filter((_, i) => res[i]!.status === 'fulfilled');
      for (const r of res) if (r.status === 'rejected') assert.ok(isConflict(r.reason), String(r.reason));
      assert.equal(winners.length, 1);
      assert.equal((await refs.get('heads/main'))!.value, winners[0]);
      const files = await readdir(join(tmp, `conc-${round}`, 'refs', 'heads'));
      assert.deepEqual(files, ['main'], 'no lock files left behind');
    }
  });

  it('exactly one of N concurrent creates wins', async () => {
    const refs = new FileRefStore(join(tmp, 'conc-create'));
    const values = Array.from({ length: 16 }, cid);
    const res = await Promise.allSettled(values.map((v) => refs.create('heads/new', v)));
    const winners = values.filter((_, i) => res[i]!.status === 'fulfilled');
    assert.equal(winners.length, 1);
    assert.equal((await refs.get('heads/new'))!.value, winners[0]);
  });

  it('a held lock is a conflict (busy), not a silent overwrite', async () => {
    const root = join(tmp, 'held');
    const refs = new FileRefStore(root);
    const r = await refs.create('heads/main', cid());
    await writeFile(join(root, 'refs', 'heads', 'main.lock'), '');
    await assert.rejects(refs.update('heads/main', cid(), r.etag), (e: unknown) => isConflict(e) && /another process/.test((e as Error).message));
    assert.deepEqual((await refs.list()).map((x) => x.name), ['heads/main']);
  });
});

describe('S3RefStore against a server that enforces conditional writes', () => {
  let proxy: { endpoint: string; stop(): Promise<void> };
  before(async () => {
    proxy = await startEnforcingProxy(s3.port);
  });
  after(async () => {
    await proxy.stop();
  });
  const make = (prefix: string) => new S3Store({ ...s3.storeOptions('refs', prefix), endpoint: proxy.endpoint });

  it("probeConditionalWrites reports 'enforced'", async () => {
    const store = make('enf-probe');
    assert.equal(await new S3RefStore(store).probeConditionalWrites(), 'enforced');
    await store.close();
  });

  it('exactly one of N concurrent updates from the same etag wins (atomic CAS)', async () => {
    const store = make('enf-conc');
    const refs = new S3RefStore(store);
    assert.equal(await refs.conditionalWrites(), 'enforced');
    const base = await refs.create('heads/main', cid());
    const values = Array.from({ length: 8 }, cid);
    const res = await Promise.allSettled(values.map((v) => refs.update('heads/main', v, base.etag)));
    const winners = values.filter((_, i) => res[i]!.status === 'fulfilled');
    for (const r of res) if (r.status === 'rejected') assert.ok(isConflict(r.reason), String(r.reason));
    assert.equal(winners.length, 1);
    assert.equal((await refs.get('heads/main'))!.value, winners[0]);
    const creates = await Promise.allSettled(values.map((v) => refs.create('heads/other', v)));
    assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 1);
    await store.close();
  });
});
