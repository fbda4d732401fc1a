/**
 * S3 gateway section: the four speed rows of the gateway (issue 13), each measured in the same run
 * as its peer, s3rver, through the same client.
 *
 * Both servers run as child processes of the harness: `node bin/strata.js serve --data DIR --port 0
 * --s3-port 0 --json` and s3rver (bench/s3rver-child.ts, the test S3 server). The client is
 * bench/s3-client.ts, a Node program using @aws-sdk/client-s3 (and lib-storage for multipart), run
 * as its own process per measurement so that it shares an event loop with neither server; it times
 * the requests itself (process start excluded) and prints JSON. The gateway is reached with an
 * access key from `strata serve key create --write`; s3rver with its fixed key (it checks no
 * signature, the gateway checks every one).
 *
 * Content: the repository `bench` on the server holds the `small` dataset under data/ (100,000
 * files of 1–8 KiB at full scale) and the `large` dataset's base file as big.bin (1 GiB at full
 * scale, stored chunked), added, committed and pushed with the CLI; s3rver's bucket `bench` holds
 * the same bytes under the same keys (main/data/..., main/big.bin), put untimed (bench/s3rver-child.ts --preload).
 *
 * Profiling: BENCH_SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to node
 * for both server processes, so a profile of the gateway under exactly this load is one run away.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteStream, prng } from '../datasets.js';
import { registerSection } from '../registry.js';
import { CmdError, firstErrorLine, listFiles, median, runCmd, settle, valueFigure } from '../proc.js';
import { strata, strataEnv, strataMissing } from '../strata.js';
import type { BenchContext, Figure, RowResult } from '../types.js';

const here = dirname(fileURLToPath(import.meta.url));
const ext = extname(fileURLToPath(import.meta.url));
const CLIENT = join(here, '..', `s3-client${ext}`);
const S3RVER = join(here, '..', `s3rver-child${ext}`);

const REPO = 'bench';
/** Extra node flags for the server processes (see the file comment). */
const SERVER_FLAGS = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const PEER = 's3rver';
/** Multipart upload settings, the same for both servers (what `aws s3 cp` uses by default: 8 MiB parts). */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE = 4;
const SMALL_CONCURRENCY = 16;

interface Conn {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

interface Server {
  name: string;
  child: ChildProcess;
  conn: Conn;
  pid: number;
}

/** State shared by the rows. */
const st: {
  strata?: Server;
  s3rver?: Server;
  /** Why strata figures cannot be measured (setup failed on the strata side). */
  strataError?: string;
  /** Why s3rver figures cannot be measured. */
  peerError?: string;
  keysFile?: string;
  smallCount: number;
  bigBytes: number;
  seq: number;
} = { smallCount: 0, bigBytes: 0, seq: 0 };

const MB = 1e6;

function fmtBytes(n: number): string {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(n % (1 << 30) ? 2 : 0)} GiB` : `${(n / (1 << 20)).toFixed(0)} MiB`;
}

async function sh(ctx: BenchContext, cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const [cmd, argv] = strata(ctx.root, ...args);
  const r = await runCmd(cmd, argv, { cwd, env });
  if (r.code !== 0) throw new CmdError(`strata ${args.join(' ')}: ${jsonError(r.stdout) ?? firstErrorLine(r)}`);
  return r.stdout;
}

/** The message of a `--json` error answer ({"error": {"code", "message"}}), if stdout is one. */
function jsonError(stdout: string): string | null {
  try {
    const e = (JSON.parse(stdout) as { error?: { code?: string; message?: string } }).error;
    return e?.message ? `${e.code ?? 'error'}: ${e.message}` : null;
  } catch {
    return null;
  }
}

/** Runs one job of the client process (bench/s3-client.ts) and returns its JSON answer. */
async function client<T>(conn: Conn, job: Record<string, unknown>): Promise<T> {
  const r = await runCmd(process.execPath, [...process.execArgv, '--no-warnings', CLIENT, JSON.stringify({ ...conn, ...job })], { timeoutMs: 60 * 60_000 });
  if (r.code !== 0) throw new CmdError(`${job.op} (${conn.endpoint}): ${firstErrorLine(r)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

/** CPU seconds (user + system) a process has used so far (Linux /proc), or NaN. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Starts a server child process; resolves with what it prints on stdout once ready (JSON). */
function startChild(name: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, timeoutMs = 60_000): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const log = openSync(logFile, 'a');
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', log] });
    closeSync(log);
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs / 1000} s (log: ${logFile})`));
    }, timeoutMs);
    // The first JSON value on stdout (`strata serve --json` prints it indented over several lines).
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      let info: Record<string, unknown>;
      try {
        info = JSON.parse(out) as Record<string, unknown>;
      } catch {
        if (out.length > 64 * 1024) {
          child.kill('SIGKILL');
          reject(new Error(`${name} printed ${JSON.stringify(out.slice(0, 200))}… instead of JSON`));
        }
        return;
      }
      clearTimeout(timer);
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      resolve({ child, info });
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' / ') : '';
      reject(new Error(`${name} exited (${sig ?? code}) before it was ready${tail ? `: ${tail}` : ''}`));
    });
  });
}

async function stopChild(s: Server | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
  s.child.kill('SIGTERM');
  const t = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

/** Safety net: a harness that dies must not leave servers behind. */
process.once('exit', () => {
  for (const s of [st.strata, st.s3rver]) if (s && s.child.exitCode === null) s.child.kill('SIGKILL');
});

async function setupStrata(ctx: BenchContext, srvDir: string, src: string): Promise<void> {
  const env = strataEnv();
  mkdirSync(srvDir, { recursive: true });
  const token = (JSON.parse(await sh(ctx, ctx.work, env, 'serve', 'token', 'create', '--repo', REPO, '--write', '--data', srvDir, '--json')) as { token: string }).token;
  const key = JSON.parse(await sh(ctx, ctx.work, env, 'serve', 'key', 'create', '--repo', REPO, '--write', '--data', srvDir, '--json')) as { accessKeyId: string; secretAccessKey?: string; secret?: string };
  const secret = key.secretAccessKey ?? key.secret;
  if (!key.accessKeyId || !secret) throw new Error('strata serve key create --json printed no accessKeyId / secretAccessKey');
  const { child, info } = await startChild('strata serve', [...SERVER_FLAGS, join(ctx.root, 'bin', 'strata.js'), 'serve', '--data', srvDir, '--port', '0', '--s3-port', '0', '--json'], env, join(ctx.work, 'strata-serve.log'));
  const s3 = info.s3 as { url?: string } | undefined;
  if (!s3?.url) {
    child.kill('SIGKILL');
    throw new Error(`strata serve --s3-port 0 --json printed no s3.url: ${JSON.stringify(info)}`);
  }
  st.strata = { name: 'strata', child, pid: child.pid!, conn: { endpoint: s3.url, accessKeyId: key.accessKeyId, secretAccessKey: secret, bucket: REPO } };
  ctx.log(`gateway: strata serve at ${String(info.url)}, S3 gateway at ${s3.url}; pushing ${st.smallCount} small files and a ${fmtBytes(st.bigBytes)} file`);
  await sh(ctx, src, env, 'init');
  await sh(ctx, src, env, 'add', 'data', 'big.bin');
  await sh(ctx, src, env, 'commit', '-q', '-m', 'gateway bench');
  await sh(ctx, src, env, 'remote', 'add', 'origin', `${String(info.url)}/${REPO}`);
  await sh(ctx, src, { ...env, STRATA_TOKEN: token }, 'push', 'origin', 'main');
}

async function setupPeer(ctx: BenchContext, src: string): Promise<void> {
  const tmp = join(ctx.work, 's3rver-tmp');
  mkdirSync(tmp, { recursive: true });
  // --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
  // OpenSSL 3 (Node 17+) only offers from its legacy provider; without it every truncated listing is a 500.
  ctx.log(`gateway: starting s3rver and loading ${st.smallCount} small objects and a ${fmtBytes(st.bigBytes)} object into it (untimed)`);
  const { child, info } = await startChild(
    's3rver',
    [...process.execArgv, ...SERVER_FLAGS, '--openssl-legacy-provider', S3RVER, '--preload', st.keysFile!, REPO],
    { ...process.env, TMPDIR: tmp },
    join(ctx.work, 's3rver.log'),
    60 * 60_000,
  );
  st.s3rver = { name: PEER, child, pid: child.pid!, conn: { endpoint: String(info.endpoint), accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', bucket: REPO } };
  if (info.preloaded === st.smallCount) ctx.log(`gateway: s3rver at ${String(info.endpoint)}; ${st.smallCount} objects put through its file store in ${(Number(info.preloadMs) / 1000).toFixed(1)} s`);
  else {
    // s3rver's internals moved (preloadError says how): load through HTTP instead (slower: s3rver's per-PUT cost).
    if (info.preloadError) ctx.log(`gateway: s3rver preload failed (${String(info.preloadError)}); PUT through HTTP instead`);
    const loaded = await client<{ ms: number }>(st.s3rver.conn, { op: 'load', keysFile: st.keysFile, concurrency: 32 });
    ctx.log(`gateway: s3rver at ${String(info.endpoint)}; ${st.smallCount} objects PUT in ${(loaded.ms / 1000).toFixed(1)} s`);
  }
  await client(st.s3rver.conn, { op: 'putOne', key: 'main/big.bin', file: join(src, 'big.bin') });
}

/** One measurement; `units` (e.g. requests served) turns the server's CPU seconds into CPU per unit in the notes. */
type Measure = (s: Server, i: number) => Promise<{ value: number; note?: string; units?: number }>;

/**
 * Runs `measure` `runs` times for strata and the peer, interleaved (strata, peer, strata, ...) so
 * that drift on the machine affects both alike; `sync` before each timed run. Also reports the CPU
 * seconds each server process used per run.
 */
async function paired(ctx: BenchContext, runs: number, unitName: string | null, measure: Measure, prepare?: (i: number) => Promise<void> | void, cleanup?: (i: number) => Promise<void> | void): Promise<{ strata: Figure; peer: Figure; notes: string[] }> {
  const samples: Record<string, number[]> = { strata: [], [PEER]: [] };
  const cpu: Record<string, number[]> = { strata: [], [PEER]: [] };
  const perUnit: Record<string, number[]> = { strata: [], [PEER]: [] };
  const lastNote: Record<string, string | undefined> = {};
  const errors: Record<string, string | undefined> = { strata: st.strataError, [PEER]: st.peerError };
  for (let i = 0; i < runs; i++) {
    if (prepare) await prepare(i);
    for (const s of [st.strata, st.s3rver]) {
      const name = s?.name ?? '';
      if (!s || errors[name]) continue;
      settle();
      const c0 = cpuSeconds(s.pid);
      try {
        const r = await measure(s, i);
        const used = cpuSeconds(s.pid) - c0;
        samples[name]!.push(r.value);
        lastNote[name] = r.note;
        cpu[name]!.push(used);
        if (r.units) perUnit[name]!.push((used * 1000) / r.units);
      } catch (e) {
        errors[name] = (e as Error).message.split('\n')[0];
      }
    }
    if (cleanup) await cleanup(i);
  }
  const fig = (name: string): Figure => {
    const err = errors[name];
    if (err) return { kind: 'error', message: err };
    if (!samples[name]!.length) return { kind: 'error', message: `${name} did not start` };
    return valueFigure(samples[name]!, lastNote[name]);
  };
  const notes: string[] = [];
  for (const name of ['strata', PEER]) {
    const c = cpu[name]!.filter(Number.isFinite);
    const u = perUnit[name]!.filter(Number.isFinite);
    const who = name === 'strata' ? 'strata serve' : PEER;
    if (u.length && unitName) notes.push(`${who} process CPU: ${median(u).toFixed(2)} ms per ${unitName} (median of runs)`);
    else if (c.length) notes.push(`${who} process CPU per run: ${median(c).toFixed(2)} s (median)`);
  }
  return { strata: fig('strata'), peer: fig(PEER), notes };
}

const missing = (ctx: BenchContext): string | null => strataMissing(ctx.root);

/** "client CPU per <unit>" notes from per-run samples (ms per unit) by server name. */
function clientCpuNotes(samples: Record<string, number[]>, unit: string, what: string): string[] {
  return Object.entries(samples).map(([name, c]) => `client CPU against ${name}: ${median(c).toFixed(2)} ms per ${unit} (${what}, median of runs)`);
}

/**
 * One run per server of a row's measurement through @aws-sdk/client-s3 instead of the bare
 * client (rows whose figure is requests-bound), as a note: what an SDK user sees.
 */
async function sdkReference(run: (s: Server) => Promise<string>, what: string): Promise<string[]> {
  const out: string[] = [];
  for (const s of [st.strata, st.s3rver]) {
    if (!s || (s.name === 'strata' ? st.strataError : st.peerError)) continue;
    settle();
    try {
      out.push(await run(s));
    } catch (e) {
      out.push(`${s.name} error: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return out.length ? [`through @aws-sdk/client-s3 (${what}), one run: ${out.join('; ')}`] : [];
}

registerSection({
  id: 'gateway',
  title: 'S3 gateway (strata serve --s3-port)',
  order: 130,
  aliases: ['s3-gateway'],
  datasets: ['small', 'large'],
  description:
    'Servers and clients each run in their own process, on 127.0.0.1: `strata serve --data DIR --port 0 --s3-port 0` and s3rver (the test S3 server; ' +
    'started with `--openssl-legacy-provider`, without which its DES-encrypted continuation tokens make every truncated ListObjectsV2 a 500), and for every measurement ' +
    'a fresh client process, bench/s3-client.ts, which times its requests itself (process start excluded) and checks what it got. ' +
    'Each row uses one client for both servers: GET and PUT go through @aws-sdk/client-s3 (lib-storage `Upload` for multipart): path-style, SigV4-signed, one attempt, ' +
    'the SDK\'s optional CRC32 checksums off (as core/store/s3 sets it), a keep-alive agent. The list and small-GET rows, which are bound by requests, go through a bare client: ' +
    'the same SigV4 header signature (empty-payload hash, host, x-amz-date, x-amz-content-sha256) over node:http with a keep-alive agent, a listing\'s keys counted and its NextContinuationToken read with regular expressions, ' +
    'because the SDK\'s own CPU per request (measured while writing this section on a busy 2-core machine: ~4 ms per GetObject, ~65 ms per parsed 1,000-key page) would be the limit, not the server; ' +
    'one SDK run of those two rows per server is in the notes. The gateway verifies every signature (a key from `strata serve key create --write`); s3rver verifies none. ' +
    'Content: the `small` dataset (100,000 files of 1–8 KiB at full scale) under data/ and the `large` base file (1 GiB) as big.bin, added, committed and pushed with the CLI ' +
    'to the server repository `bench` (big.bin is stored chunked); s3rver\'s bucket `bench` holds the same bytes under the same keys (`main/data/...`, `main/big.bin`), put there untimed (the small files through s3rver\'s own file store, the code its PutObject runs, since 100,000 HTTP PUTs take many minutes; the large file by one PutObject). ' +
    'Strata and s3rver runs alternate, `sync` before each; a figure is the median of the runs. ' +
    'GET: GetObject of main/big.bin after one untimed GET per server, the body read to the end and dropped; MB/s = bytes / time to the last byte. ' +
    'List: ListObjectsV2 of prefix main/data/ (every key of the small dataset), all pages of 1,000 keys following continuation tokens; wall time for all pages. The first strata listing after the push (when the gateway builds its sorted key list) is a timed run and is also in the notes. ' +
    `Small GETs: one client process with ${SMALL_CONCURRENCY} concurrent request loops (${SMALL_CONCURRENCY} keep-alive connections) reading the small files in a seeded random order, each body read whole and its size checked, ` +
    'for 10 s (quick: 5 s, tiny: 2 s) after a 1 s warm-up; GETs/s = completed requests / time. ' +
    `PUT: Upload of a file of new random bytes each run (so nothing deduplicates against an earlier run; 1 GiB at full scale) read as a stream, ${PART_SIZE >> 20} MiB parts, ${QUEUE} parts in flight, to main/uploads/ (for the gateway: the branch's uncommitted changes, durable when answered), ` +
    'timed from the first request to CompleteMultipartUpload\'s answer; each upload is then checked with HeadObject and deleted (untimed). ' +
    'The notes give each server process\'s CPU time (utime + stime from /proc) per GiB, per page or per GET, and the client\'s CPU per request.',
  async setup(ctx) {
    st.strataError = missing(ctx) ?? undefined;
    st.peerError = undefined;
    const src = join(ctx.work, 'src');
    mkdirSync(src, { recursive: true });
    cpSync(ctx.data.small, join(src, 'data'), { recursive: true });
    copyFileSync(ctx.data.large.base, join(src, 'big.bin'));
    const files = listFiles(join(src, 'data'));
    const rand = prng(ctx.opts.seed ^ 0x5eed);
    // A seeded shuffle: the small-GET loops read the files in an order without locality.
    for (let i = files.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [files[i], files[j]] = [files[j]!, files[i]!];
    }
    st.keysFile = join(ctx.work, 'keys.tsv');
    writeFileSync(st.keysFile, files.map((f) => `main/${relative(src, f).split('\\').join('/')}\t${readFileSync(f).length}\t${f}`).join('\n') + '\n');
    st.smallCount = files.length;
    st.bigBytes = readFileSync(join(src, 'big.bin')).length;
    try {
      await setupPeer(ctx, src);
    } catch (e) {
      st.peerError = `s3rver set-up failed: ${(e as Error).message.split('\n')[0]}`;
      ctx.log(st.peerError);
    }
    if (!st.strataError) {
      try {
        await setupStrata(ctx, join(ctx.work, 'srv'), src);
      } catch (e) {
        st.strataError = `set-up failed: ${(e as Error).message.split('\n')[0]}`;
        ctx.log(`gateway: strata ${st.strataError}`);
      }
    }
  },
  async teardown() {
    await stopChild(st.strata);
    await stopChild(st.s3rver);
    st.strata = undefined;
    st.s3rver = undefined;
  },
  rows: [
    {
      id: 'gateway.get-1g',
      title: 'S3 GET of a chunked 1 GiB file (the large file), MB/s',
      unit: 'MB/s',
      target: { kind: 'ratio-min', reference: PEER, min: 0.8 },
      async run(ctx): Promise<RowResult> {
        const job = { op: 'get', key: 'main/big.bin', size: st.bigBytes };
        // Untimed warm-up: page cache and server-side state (repository open, tree read) for both.
        for (const s of [st.strata, st.s3rver]) if (s) await client(s.conn, job).catch(() => undefined);
        const clientCpu: Record<string, number[]> = {};
        const r = await paired(ctx, ctx.runs, 'GiB', async (s) => {
          const got = await client<{ bytes: number; ms: number; clientCpuMs: number }>(s.conn, job);
          (clientCpu[s.name] ??= []).push(got.clientCpuMs / (got.bytes / 2 ** 30));
          return { value: got.bytes / MB / (got.ms / 1000), note: `${fmtBytes(got.bytes)}`, units: got.bytes / 2 ** 30 };
        });
        return { strata: r.strata, peers: [{ name: PEER, figure: r.peer }], notes: [...r.notes, ...clientCpuNotes(clientCpu, 'GiB', 'SDK client')] };
      },
    },
    {
      id: 'gateway.list-100k',
      title: 'S3 ListObjectsV2 over the small dataset (100,000 keys), all pages',
      unit: 'ms',
      target: { kind: 'max', value: 2000 },
      async run(ctx): Promise<RowResult> {
        const notes: string[] = [];
        let first = true;
        type List = { keys: number; pages: number; ms: number; firstPageMs: number; clientCpuMs: number };
        const job = { op: 'list', prefix: 'main/data/' };
        const clientCpu: Record<string, number[]> = {};
        const r = await paired(ctx, ctx.runs, 'page', async (s) => {
          const got = await client<List>(s.conn, { ...job, client: 'http' });
          (clientCpu[s.name] ??= []).push(got.clientCpuMs / got.pages);
          if (got.keys !== st.smallCount) throw new Error(`listed ${got.keys} keys, expected ${st.smallCount}`);
          if (s.name === 'strata' && first) {
            first = false;
            notes.push(`first strata listing after the push (the gateway builds its sorted key list): ${got.ms.toFixed(0)} ms, first page ${got.firstPageMs.toFixed(0)} ms`);
          }
          return { value: got.ms, note: `${got.keys} keys in ${got.pages} pages`, units: got.pages };
        });
        notes.push(...r.notes, ...clientCpuNotes(clientCpu, 'page', 'bare SigV4 client'));
        notes.push(...(await sdkReference(async (s) => {
          const got = await client<List>(s.conn, { ...job, client: 'sdk' });
          return `${s.name} ${got.ms.toFixed(0)} ms (client CPU ${got.clientCpuMs.toFixed(0)} ms)`;
        }, 'ListObjectsV2Command, the same listing')));
        return { strata: r.strata, peers: [{ name: PEER, figure: r.peer }], notes };
      },
    },
    {
      id: 'gateway.small-gets',
      title: `S3 GETs of small files (1–8 KiB), ${SMALL_CONCURRENCY} concurrent clients`,
      unit: 'req/s',
      target: { kind: 'min', value: 1000 },
      async run(ctx): Promise<RowResult> {
        const seconds = ctx.scale.name === 'full' ? 10 : ctx.scale.name === 'quick' ? 5 : 2;
        const job = { op: 'small', keysFile: st.keysFile, concurrency: SMALL_CONCURRENCY, seconds, warmupSeconds: 1 };
        type Small = { requests: number; totalRequests: number; perSecond: number; clientCpuMsPerRequest: number };
        const clientCpu: Record<string, number[]> = {};
        const r = await paired(ctx, ctx.runs, 'GET', async (s) => {
          const got = await client<Small>(s.conn, { ...job, client: 'http' });
          (clientCpu[s.name] ??= []).push(got.clientCpuMsPerRequest);
          return { value: got.perSecond, note: `${got.requests} GETs in ${seconds} s over ${st.smallCount} files`, units: got.totalRequests };
        });
        const notes = [...r.notes];
        notes.push(...clientCpuNotes(clientCpu, 'GET', 'bare SigV4 client'));
        notes.push(...(await sdkReference(async (s) => {
          const got = await client<Small>(s.conn, { ...job, client: 'sdk' });
          return `${s.name} ${got.perSecond.toFixed(0)} GETs/s (client CPU ${got.clientCpuMsPerRequest.toFixed(2)} ms a GET)`;
        }, `GetObjectCommand, the same ${SMALL_CONCURRENCY} loops`)));
        return { strata: r.strata, peers: [{ name: PEER, figure: r.peer }], notes };
      },
    },
    {
      id: 'gateway.put-1g',
      title: 'S3 multipart upload of a 1 GiB file (large-file size), MB/s',
      unit: 'MB/s',
      target: { kind: 'ratio-min', reference: PEER, min: 0.8 },
      async run(ctx): Promise<RowResult> {
        const file = join(ctx.work, 'upload.bin');
        const key = (i: number) => `main/uploads/put-${st.seq}-${i}.bin`;
        const bytes = st.bigBytes;
        const clientCpu: Record<string, number[]> = {};
        st.seq++;
        const r = await paired(
          ctx,
          ctx.runs,
          'GiB',
          async (s, i) => {
            const got = await client<{ bytes: number; ms: number; parts: number; clientCpuMs: number }>(s.conn, { op: 'put', key: key(i), file, partSize: PART_SIZE, queueSize: QUEUE });
            (clientCpu[s.name] ??= []).push(got.clientCpuMs / (got.bytes / 2 ** 30));
            const head = await client<{ size: number }>(s.conn, { op: 'head', key: key(i) });
            if (head.size !== bytes) throw new Error(`uploaded ${bytes} bytes, HeadObject says ${head.size}`);
            return { value: got.bytes / MB / (got.ms / 1000), note: `${fmtBytes(got.bytes)} in ${got.parts} part(s) of ${PART_SIZE >> 20} MiB, ${QUEUE} in flight`, units: got.bytes / 2 ** 30 };
          },
          (i) => {
            // Fresh random bytes every run: an upload must not deduplicate against the previous one.
            const bs = new ByteStream(ctx.opts.seed, `gateway-put-${st.seq}-${i}`);
            const fd = openSync(file, 'w');
            try {
              for (let left = bytes; left > 0; ) {
                const n = Math.min(left, 16 << 20);
                writeSync(fd, bs.next(n));
                left -= n;
              }
            } finally {
              closeSync(fd);
            }
          },
          async (i) => {
            rmSync(file, { force: true });
            for (const s of [st.strata, st.s3rver]) if (s) await client(s.conn, { op: 'delete', keys: [key(i)] }).catch(() => undefined);
          },
        );
        return { strata: r.strata, peers: [{ name: PEER, figure: r.peer }], notes: [...r.notes, ...clientCpuNotes(clientCpu, 'GiB', 'SDK client (lib-storage Upload)')] };
      },
    },
  ],
});
