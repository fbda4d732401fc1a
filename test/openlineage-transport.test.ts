/**
 * The OpenLineage HTTP transport against a real server on loopback, driven through the real CLI:
 * retries of transient answers (503 with Retry-After, 500s) with backoff, the spool in
 * .strata/lineage/spool when they run out (in order, no secret in it), flushing it by
 * `strata lineage flush` and by the next run and repro, dead letters for 400, 401 kept with one
 * warning naming OPENLINEAGE_API_KEY, and the transport read from openlineage.yml (OPENLINEAGE_CONFIG)
 * and OPENLINEAGE__TRANSPORT__* variables. Every event that arrives validates against the official
 * schemas. Backoff is set tiny through the config variables; no assertion is about time.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { eventProblems } from './helpers/openlineage-schema.js';
import { backoffDelay, openLineageSettings, retryAfterMs } from '../core/lineage/openlineage.js';
import { clientTransport } from '../core/lineage/ol-config.js';

interface Event {
  eventType: string;
  eventTime: string;
  run: { runId: string };
  job: { name: string };
}

const KEY = 'olTransportK3y9931';

describe('OpenLineage transport: backoff and Retry-After', () => {
  it('full jitter stays within [0, min(30 s, base * 2^(n-1))]', () => {
    assert.equal(backoffDelay(1, 500, () => 0), 0);
    assert.equal(backoffDelay(1, 500, () => 0.999999), 499);
    assert.equal(backoffDelay(3, 500, () => 0.5), 1000);
    assert.equal(backoffDelay(20, 500, () => 0.999999), 29_999);
  });
  it('Retry-After: delay-seconds or an HTTP date; anything else is ignored', () => {
    const now = Date.parse('2026-12-03T12:00:00Z');
    assert.equal(retryAfterMs('7', now), 7000);
    assert.equal(retryAfterMs('Thu, 03 Dec 2026 12:00:30 GMT', now), 30_000);
    assert.equal(retryAfterMs('Thu, 03 Dec 2026 11:00:00 GMT', now), 0);
    assert.equal(retryAfterMs('soon', now), null);
    assert.equal(retryAfterMs('-3', now), null);
    assert.equal(retryAfterMs(null, now), null);
  });
});

describe('OpenLineage transport: where the settings come from', () => {
  const noConfig = { getConfig: (k: string) => (k === 'openlineage.url' ? 'http://repo-config:5000' : null) };
  it('openlineage.yml (OPENLINEAGE_CONFIG) over OPENLINEAGE__TRANSPORT__* over OPENLINEAGE_URL over openlineage.url', async () => {
    const t = await tempDir('strata-olcfg-');
    try {
      await writeFiles(t.dir, { 'ol.yml': 'transport:\n  type: http\n  url: http://from-file:5000\n  timeout: 2.5\n  auth:\n    type: api_key\n    api_key: k-file\n' });
      const dyn = { OPENLINEAGE__TRANSPORT__TYPE: 'http', OPENLINEAGE__TRANSPORT__URL: 'http://from-dyn:5000', OPENLINEAGE__TRANSPORT__TIMEOUT_IN_MILLIS: '700' };
      const home = { HOME: t.dir, XDG_CONFIG_HOME: join(t.dir, 'cfg') };
      const all = openLineageSettings(noConfig, { ...home, ...dyn, OPENLINEAGE_CONFIG: join(t.dir, 'ol.yml'), OPENLINEAGE_URL: 'http://legacy:5000', OPENLINEAGE_API_KEY: 'k-env' }, t.dir);
      assert.deepEqual([all.url, all.source, all.apiKey, all.timeoutMs, all.warnings], ['http://from-file:5000', join(t.dir, 'ol.yml'), 'k-file', 2500, []]);
      const d = openLineageSettings(noConfig, { ...home, ...dyn, OPENLINEAGE_URL: 'http://legacy:5000', OPENLINEAGE_API_KEY: 'k-env' }, t.dir);
      assert.deepEqual([d.url, d.source, d.apiKey, d.timeoutMs], ['http://from-dyn:5000', 'OPENLINEAGE__TRANSPORT__* variables', 'k-env', 700]);
      const l = openLineageSettings(noConfig, { ...home, OPENLINEAGE_URL: 'http://legacy:5000' }, t.dir);
      assert.deepEqual([l.url, l.source], ['http://legacy:5000', 'OPENLINEAGE_URL']);
      const r = openLineageSettings(noConfig, home, t.dir);
      assert.deepEqual([r.url, r.source, r.timeoutMs, r.retry], ['http://repo-config:5000', 'openlineage.url', 5000, { retries: 4, backoffMs: 500, maxTimeMs: 10_000 }]);
      // ./openlineage.yml is found without OPENLINEAGE_CONFIG; a file transport replaces the endpoint.
      await writeFiles(t.dir, { 'openlineage.yml': 'transport:\n  type: file\n  log_file_path: events.jsonl\n' });
      const f = openLineageSettings(noConfig, home, t.dir);
      assert.deepEqual([f.url, f.file], [null, join(t.dir, 'events.jsonl')]);
      assert.equal(openLineageSettings(noConfig, { ...home, OPENLINEAGE_DISABLED: 'true' }, t.dir).url, null);
    } finally {
      await t.cleanup();
    }
  });
  it('an unusable openlineage.yml or transport is one warning naming it, and the next source is used', async () => {
    const t = await tempDir('strata-olcfg-');
    try {
      const home = { HOME: t.dir };
      const cases: Array<[string, RegExp]> = [
        ['transport: [1, 2', /ol\.yml is not valid YAML \(.*\); it is ignored: fix it, or point OPENLINEAGE_CONFIG elsewhere$/],
        ['- a list', /ol\.yml must be a YAML map with a transport section; it is ignored$/],
        ['transport:\n  type: kafka\n', /ol\.yml: transport type "kafka" is not one strata sends to \(http, file, console\); its transport is ignored$/],
        ['transport:\n  type: http\n', /ol\.yml: an http transport needs an http\(s\) url, got ""; its transport is ignored$/],
        ['transport:\n  type: http\n  url: http://h:1\n  auth:\n    type: jwt\n', /auth type "jwt" is not supported \(use type api_key with apiKey\)/],
        ['transport:\n  type: console\n', /transport type console is not supported by strata \(it never prints events\)/],
      ];
      for (const [text, re] of cases) {
        await writeFiles(t.dir, { 'ol.yml': text });
        const r = clientTransport({ ...home, OPENLINEAGE_CONFIG: join(t.dir, 'ol.yml'), OPENLINEAGE__TRANSPORT: '{"type":"http","url":"http://dyn:1"}' }, t.dir);
        assert.equal(r.warnings.length, 1, `${text}: ${r.warnings.join('\n')}`);
        assert.match(r.warnings[0]!, re);
        assert.ok(r.warnings[0]!.includes(join(t.dir, 'ol.yml')));
        if (!/console/.test(text)) assert.equal(r.transport?.url, 'http://dyn:1', 'the next source is used');
      }
      const missing = clientTransport({ ...home, OPENLINEAGE_CONFIG: join(t.dir, 'nope.yml') }, t.dir);
      assert.match(missing.warnings[0]!, /cannot read .*nope\.yml \(OPENLINEAGE_CONFIG\): ENOENT; it is ignored/);
      assert.equal(missing.transport, null);
    } finally {
      await t.cleanup();
    }
  });
});

describe('OpenLineage transport through the CLI', () => {
  let server: Server;
  let base: string;
  let url: string;
  let home: Awaited<ReturnType<typeof tempDir>>;
  let t: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  /** Answers to give, in order; then 201. */
  const plan: Array<{ status: number; headers?: Record<string, string>; body?: string; hang?: boolean }> = [];
  const requests: Array<{ headers: IncomingHttpHeaders; url: string; body: string; status: number }> = [];
  const delivered = (): Event[] => requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => JSON.parse(r.body) as Event);

  let env: Record<string, string | undefined>;
  const run = async (args: string[], expect = 0, extra: Record<string, string | undefined> = {}) => ok(dir, args, expect, { env: { ...env, ...extra } });
  const spoolFiles = async (which: 'spool' | 'dead'): Promise<string[]> => (await fsp.readdir(join(dir, '.strata', 'lineage', which)).catch(() => [] as string[])).sort();
  const spooled = async (): Promise<Event[]> => {
    const out: Event[] = [];
    for (const f of await spoolFiles('spool')) out.push(JSON.parse(await fsp.readFile(join(dir, '.strata', 'lineage', 'spool', f), 'utf8')) as Event);
    return out;
  };
  const kinds = (es: Event[]) => es.map((e) => `${e.job.name}:${e.eventType}`);

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const p = plan.shift() ?? { status: 201, body: '{}' };
        const body = Buffer.concat(chunks).toString('utf8');
        requests.push({ headers: req.headers, url: req.url ?? '', body, status: p.status });
        if (p.hang) return; // never answers: the client's timeout ends it
        res.writeHead(p.status, { 'content-type': 'application/json', ...(p.headers ?? {}) }).end(p.body ?? '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    url = `${base}/api/v1/lineage`;
    home = await tempDir('strata-olt-home-');
    env = {
      HOME: home.dir,
      XDG_CONFIG_HOME: join(home.dir, '.config'),
      OPENLINEAGE_API_KEY: KEY,
      OPENLINEAGE_URL: undefined,
      OPENLINEAGE_CONFIG: undefined,
      OPENLINEAGE_DISABLED: undefined,
      STRATA_CONFIG_OPENLINEAGE_RETRYBACKOFF: '1ms',
      STRATA_CONFIG_OPENLINEAGE_RETRYMAXTIME: '60s',
    };
    for (const k of Object.keys(process.env)) if (k.startsWith('OPENLINEAGE__')) env[k] = undefined;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await home.cleanup();
  });
  beforeEach(async () => {
    t = await tempDir('strata-olt-');
    dir = t.dir;
    await run(['init', '-q']);
    await run(['config', 'set', 'openlineage.url', url]);
    plan.length = 0;
    requests.length = 0;
  });

  const afterEachCheck = async () => {
    // Whatever reached the server validates against the official schemas, and the key was a header.
    for (const r of requests) {
      assert.deepEqual(eventProblems(JSON.parse(r.body)), [], r.body.slice(0, 200));
      assert.equal(r.headers.authorization, `Bearer ${KEY}`);
    }
    await t.cleanup();
  };

  it('503 with Retry-After (seconds, then an HTTP date) is retried and delivered once; nothing spooled', async () => {
    plan.push({ status: 503, headers: { 'retry-after': '0' } }, { status: 503, headers: { 'retry-after': new Date(Date.now() - 5000).toUTCString() } });
    const r = await run(['run', '--json', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt']);
    const out = JSON.parse(r.stdout) as { warnings: string[] };
    assert.deepEqual(out.warnings, []);
    assert.deepEqual(requests.map((x) => x.status), [503, 503, 201, 201]);
    assert.deepEqual(kinds(delivered()), ['a:START', 'a:COMPLETE']);
    assert.deepEqual(await spoolFiles('spool'), []);
    await afterEachCheck();
  });

  it('a request that gets no answer within openlineage.timeout is retried', async () => {
    plan.push({ status: 0, hang: true });
    const r = await run(['run', '--json', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt'], 0, { STRATA_CONFIG_OPENLINEAGE_TIMEOUT: '1s' });
    assert.deepEqual((JSON.parse(r.stdout) as { warnings: string[] }).warnings, []);
    assert.equal(requests[0]!.status, 0);
    // (A loaded machine may time out an answered request too: the event is then sent again, so
    // repeats are folded before comparing.)
    assert.deepEqual([...new Set(kinds(delivered()))], ['a:START', 'a:COMPLETE']);
    assert.deepEqual(await spoolFiles('spool'), []);
    assert.equal(delivered()[0]!.run.runId, (JSON.parse(requests[0]!.body) as Event).run.runId, 'the same event, sent again');
    server.closeAllConnections();
    await afterEachCheck();
  });

  it('failures beyond the retries spool the event and the later ones, in order and without the key; the next run sends them first', async () => {
    plan.push({ status: 500 }, { status: 502 }, { status: 504 });
    const r = await run(['run', '--json', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt'], 0, { STRATA_CONFIG_OPENLINEAGE_RETRIES: '2' });
    const out = JSON.parse(r.stdout) as { run: { status: string }; warnings: string[] };
    assert.equal(out.run.status, 'ok');
    // One attempt and two retries of START; COMPLETE follows it into the spool without a request.
    assert.deepEqual(requests.map((x) => x.status), [500, 502, 504]);
    assert.equal(out.warnings.length, 1, out.warnings.join('\n'));
    assert.match(out.warnings[0]!, /HTTP 504.*\(3 attempts\); the START event of a and the next ones of this command are kept in \.strata\/lineage\/spool/);
    assert.deepEqual(kinds(await spooled()), ['a:START', 'a:COMPLETE']);
    // Spool files: whole events (no temp files left), no secret.
    const names = await spoolFiles('spool');
    assert.equal(names.length, 2);
    for (const n of names) {
      assert.match(n, /^[0-9a-f-]{36}\.json$/);
      const text = await fsp.readFile(join(dir, '.strata', 'lineage', 'spool', n), 'utf8');
      assert.ok(!text.includes(KEY), 'the API key is not in a spooled event');
      assert.ok(!/authorization|bearer/i.test(text));
    }
    // The next run sends the spool first (oldest first), then its own events.
    requests.length = 0;
    await run(['run', '-n', 'b', '-o', 'b.txt', '--', 'echo b > b.txt']);
    assert.deepEqual(kinds(delivered()), ['a:START', 'a:COMPLETE', 'b:START', 'b:COMPLETE']);
    assert.deepEqual(await spoolFiles('spool'), []);
    await afterEachCheck();
  });

  it('strata lineage flush: --list shows the spool, a down endpoint exits 13 keeping the events, an up one takes them', async () => {
    for (let i = 0; i < 2; i++) plan.push({ status: 503 });
    await run(['run', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt'], 0, { STRATA_CONFIG_OPENLINEAGE_RETRIES: '1' });
    assert.deepEqual(kinds(await spooled()), ['a:START', 'a:COMPLETE']);
    const list = JSON.parse((await run(['lineage', 'flush', '--list', '--json'])).stdout) as { endpoint: string; spooled: Array<{ eventType: string; job: string }>; deadLetters: unknown[] };
    assert.equal(list.endpoint, url);
    assert.deepEqual(list.spooled.map((e) => `${e.job}:${e.eventType}`), ['a:START', 'a:COMPLETE']);
    assert.deepEqual(list.deadLetters, []);
    const text = await run(['lineage', 'flush', '--list']);
    assert.match(text.stdout, /\.strata\/lineage\/spool: 2 event\(s\) waiting, oldest first:\n {2}\S+\.json {2}START/);

    // Still down: nothing lost, exit 13 (REMOTE_UNREACHABLE's code), the order kept.
    requests.length = 0;
    plan.push({ status: 503 }, { status: 503 });
    const down = await strata(dir, ['lineage', 'flush'], { env: { ...env, STRATA_CONFIG_OPENLINEAGE_RETRIES: '1' } });
    assert.equal(down.code, 13, down.stderr);
    assert.match(down.stdout, /sent 0 of 2 spooled event\(s\) to .*; 2 still in \.strata\/lineage\/spool/);
    assert.match(down.stderr, /error: stopped: HTTP 503.*\(2 attempts\)\nhint: check that http:\/\/127\.0\.0\.1:\d+\/api\/v1\/lineage is up/);
    assert.equal(requests.length, 2, 'the flush stops at the first event it cannot send');
    assert.deepEqual(kinds(await spooled()), ['a:START', 'a:COMPLETE']);

    // Half-written temp files (a crash mid-write) are never sent; an old one is cleaned up by the flush.
    const sp = join(dir, '.strata', 'lineage', 'spool');
    await writeFiles(sp, { '.tmp-aaaa-old.json': '{"half', '.tmp-bbbb-new.json': '{"half' });
    await fsp.utimes(join(sp, '.tmp-aaaa-old.json'), new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    requests.length = 0;
    const up = await run(['lineage', 'flush']);
    assert.deepEqual((await fsp.readdir(sp)).filter((n) => n.startsWith('.tmp-')), ['.tmp-bbbb-new.json']);
    await fsp.rm(join(sp, '.tmp-bbbb-new.json'));
    assert.match(up.stdout, /^sent 2 of 2 spooled event\(s\) to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/lineage; nothing left in \.strata\/lineage\/spool\n$/);
    assert.deepEqual(kinds(delivered()), ['a:START', 'a:COMPLETE']);
    assert.deepEqual(await spoolFiles('spool'), []);
    assert.equal((await run(['lineage', 'flush'])).stdout, 'nothing to send: .strata/lineage/spool is empty\n');
    const j = JSON.parse((await run(['lineage', 'flush', '--json'])).stdout) as { flush: { sent: number; remaining: number; stopped: unknown } };
    assert.deepEqual([j.flush.sent, j.flush.remaining, j.flush.stopped], [0, 0, null]);
    // Another process flushing (its lock, held by a live process: this test's): exit 7, nothing sent.
    await writeFiles(join(dir, '.strata', 'lineage', 'spool'), { '01a23c06-eb40-726c-a397-ff86f4d48d7f.json': requests[0]!.body });
    await writeFiles(join(dir, '.strata', 'lineage'), { 'flush.lock': JSON.stringify({ pid: process.pid, op: 'lineage flush', host: hostname(), time: Date.now() }) });
    const sent = requests.length;
    const busy = await strata(dir, ['lineage', 'flush'], { env });
    assert.equal(busy.code, 7, busy.stderr);
    assert.match(busy.stderr, /error: stopped: another strata process is sending the spooled events \(\.strata\/lineage\/flush\.lock\)\nhint: wait for the other strata process/);
    assert.equal(requests.length, sent);
    await fsp.rm(join(dir, '.strata', 'lineage', 'flush.lock'));
    // Spooled events but no endpoint: exit 12 naming the settings.
    await writeFiles(join(dir, '.strata', 'lineage', 'spool'), { '01a23c06-eb40-726c-a397-ff86f4d48d7f.json': requests[0]!.body });
    await run(['config', 'unset', 'openlineage.url']);
    const none = await strata(dir, ['lineage', 'flush'], { env });
    assert.equal(none.code, 12);
    assert.match(none.stderr, /1 OpenLineage event\(s\) are spooled in \.strata\/lineage\/spool but no OpenLineage HTTP endpoint is configured\nhint: set OPENLINEAGE_URL/);
    await afterEachCheck();
  });

  it('the next repro flushes the spool before its own events', async () => {
    await writeFiles(dir, { 'data.csv': 'a\n1\n', 'strata.yaml': 'stages:\n  copy:\n    cmd: cp data.csv copy.csv\n    deps: [data.csv]\n    outs: [copy.csv]\n' });
    plan.push({ status: 503 });
    await run(['run', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt'], 0, { STRATA_CONFIG_OPENLINEAGE_RETRIES: '0' });
    assert.deepEqual(kinds(await spooled()), ['a:START', 'a:COMPLETE']);
    requests.length = 0;
    await run(['repro']);
    assert.deepEqual(kinds(delivered()), ['a:START', 'a:COMPLETE', 'repro:START', 'copy:START', 'copy:COMPLETE', 'repro:COMPLETE']);
    assert.deepEqual(await spoolFiles('spool'), []);
    // A repro with nothing to run still sends the spool.
    plan.push({ status: 503 });
    await run(['run', '-n', 'b', '-o', 'b.txt', '--', 'echo b > b.txt'], 0, { STRATA_CONFIG_OPENLINEAGE_RETRIES: '0' });
    requests.length = 0;
    const up = await run(['repro', '--json']);
    assert.deepEqual((JSON.parse(up.stdout) as { stages: Array<{ action: string }> }).stages.map((x) => x.action), ['up-to-date']);
    assert.deepEqual(kinds(delivered()), ['b:START', 'b:COMPLETE']);
    assert.deepEqual(await spoolFiles('spool'), []);
    await afterEachCheck();
  });

  it('HTTP 400: not retried, the event goes to the dead letters with the reason beside it; the next event is sent', async () => {
    plan.push({ status: 400, body: '{"error":"eventTime is not a date"}' });
    const r = await run(['run', '--json', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt']);
    const { warnings } = JSON.parse(r.stdout) as { warnings: string[] };
    assert.deepEqual(requests.map((x) => x.status), [400, 201]);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    const dead = await spoolFiles('dead');
    assert.equal(dead.length, 2);
    const [event, reason] = [dead.find((n) => n.endsWith('.json'))!, dead.find((n) => n.endsWith('.reason.txt'))!];
    assert.equal(reason, event.replace(/\.json$/, '.reason.txt'));
    assert.ok(warnings[0]!.includes(`rejected the START event of a (HTTP 400 Bad Request: {"error":"eventTime is not a date"}); it is not sent again: it is in .strata/lineage/dead/${event}, the server's reason beside it in .strata/lineage/dead/${reason}`), warnings[0]);
    assert.match(await fsp.readFile(join(dir, '.strata', 'lineage', 'dead', reason), 'utf8'), /^HTTP 400 Bad Request: \{"error":"eventTime is not a date"\}\n$/);
    assert.equal((JSON.parse(await fsp.readFile(join(dir, '.strata', 'lineage', 'dead', event), 'utf8')) as Event).eventType, 'START');
    assert.ok(!(await fsp.readFile(join(dir, '.strata', 'lineage', 'dead', event), 'utf8')).includes(KEY));
    assert.deepEqual(await spoolFiles('spool'), []);
    // Listed, never flushed.
    const list = JSON.parse((await run(['lineage', 'flush', '--list', '--json'])).stdout) as { deadLetters: Array<{ name: string; reason: string }> };
    assert.deepEqual(list.deadLetters.map((d) => [d.name, d.reason]), [[event, 'HTTP 400 Bad Request: {"error":"eventTime is not a date"}']]);
    requests.length = 0;
    assert.match((await run(['lineage', 'flush'])).stdout, /nothing to send/);
    assert.equal(requests.length, 0);
    // A spooled event the server rejects when flushed (422) joins the dead letters; the flush goes on.
    plan.push({ status: 503 });
    await run(['run', '-n', 'b', '-o', 'b.txt', '--', 'echo b > b.txt'], 0, { STRATA_CONFIG_OPENLINEAGE_RETRIES: '0' });
    assert.deepEqual(kinds(await spooled()), ['b:START', 'b:COMPLETE']);
    requests.length = 0;
    plan.push({ status: 422, body: 'unknown facet' });
    const f = await run(['lineage', 'flush']);
    assert.match(f.stdout, /^sent 1 of 2 spooled event\(s\) to .*; 1 rejected \(in \.strata\/lineage\/dead\); nothing left in \.strata\/lineage\/spool\n$/);
    assert.match(f.stderr, /warning: rejected by the server \(HTTP 422 Unprocessable Entity: unknown facet\): \.strata\/lineage\/dead\/\S+\.json, the reason in \.strata\/lineage\/dead\/\S+\.reason\.txt/);
    assert.deepEqual(requests.map((x) => x.status), [422, 201]);
    assert.equal((await spoolFiles('dead')).length, 4);
    await afterEachCheck();
  });

  it('HTTP 401: not retried, kept in the spool with one warning naming OPENLINEAGE_API_KEY; sent once the key is accepted', async () => {
    // A server that echoes the key: it is blanked out of the messages.
    plan.push({ status: 401, body: `bad key Bearer ${KEY}` });
    const r = await run(['run', '--json', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt']);
    const { warnings } = JSON.parse(r.stdout) as { warnings: string[] };
    assert.equal(requests.length, 1, 'one request: 401 is not retried and the COMPLETE follows into the spool');
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /HTTP 401 Unauthorized: bad key Bearer \*\*\*: the server refused the API key \(or its absence\): set OPENLINEAGE_API_KEY .*credentials.*kept in \.strata\/lineage\/spool; strata lineage flush sends them once the key is right/);
    assert.ok(!warnings[0]!.includes(KEY));
    assert.deepEqual(kinds(await spooled()), ['a:START', 'a:COMPLETE']);
    // flush while still refused: exit 13 with the fix as the hint.
    plan.push({ status: 403, body: 'forbidden' });
    const refused = await strata(dir, ['lineage', 'flush'], { env });
    assert.equal(refused.code, 13);
    assert.match(refused.stderr, /error: stopped: HTTP 403 Forbidden: forbidden\nhint: set OPENLINEAGE_API_KEY/);
    requests.length = 0;
    await run(['lineage', 'flush']);
    assert.deepEqual(kinds(delivered()), ['a:START', 'a:COMPLETE']);
    await afterEachCheck();
  });

  it('openlineage.yml named by OPENLINEAGE_CONFIG gives url, endpoint, timeout and the key; a malformed one is one warning naming it', async () => {
    await run(['config', 'unset', 'openlineage.url']);
    const yml = join(dir, 'ol', 'openlineage.yml');
    await writeFiles(dir, { 'ol/openlineage.yml': `transport:\n  type: http\n  url: ${base}\n  endpoint: custom/lineage\n  timeout: 5\n  auth:\n    type: api_key\n    apiKey: ${KEY}\n` });
    const r = await run(['run', '--json', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt'], 0, { OPENLINEAGE_CONFIG: yml, OPENLINEAGE_API_KEY: undefined, OPENLINEAGE_URL: 'http://127.0.0.1:1/not-this' });
    assert.deepEqual((JSON.parse(r.stdout) as { warnings: string[] }).warnings, []);
    assert.deepEqual(requests.map((x) => x.url), ['/custom/lineage', '/custom/lineage']);
    assert.deepEqual(kinds(delivered()), ['a:START', 'a:COMPLETE']);

    await writeFiles(dir, { 'ol/openlineage.yml': 'transport:\n  type: http\n  url: [unclosed\n' });
    requests.length = 0;
    const bad = await run(['run', '--json', '-n', 'b', '-o', 'b.txt', '--', 'echo b > b.txt'], 0, { OPENLINEAGE_CONFIG: yml });
    const w = (JSON.parse(bad.stdout) as { run: { status: string }; warnings: string[] });
    assert.equal(w.run.status, 'ok');
    assert.equal(w.warnings.length, 1, w.warnings.join('\n'));
    assert.ok(w.warnings[0]!.startsWith(`OpenLineage: ${yml} is not valid YAML (`), w.warnings[0]);
    assert.equal(requests.length, 0, 'no endpoint left: nothing sent');
    await afterEachCheck();
  });

  it('OPENLINEAGE__TRANSPORT__* variables configure the http transport', async () => {
    await run(['config', 'unset', 'openlineage.url']);
    await run(['run', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt'], 0, {
      OPENLINEAGE__TRANSPORT__TYPE: 'http',
      OPENLINEAGE__TRANSPORT__URL: base,
      OPENLINEAGE__TRANSPORT__ENDPOINT: 'env/lineage',
      OPENLINEAGE__TRANSPORT__AUTH: JSON.stringify({ type: 'api_key' }),
      OPENLINEAGE__TRANSPORT__AUTH__API_KEY: KEY,
      OPENLINEAGE_API_KEY: undefined,
    });
    assert.deepEqual(requests.map((x) => x.url), ['/env/lineage', '/env/lineage']);
    await afterEachCheck();
  });
});
