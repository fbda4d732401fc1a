/**
 * The S3 client of the gateway bench section (bench/sections/gateway.ts), run as its own process
 * so that client and server never share an event loop:
 *
 *   node dist/bench/s3-client.js '<json job>'      prints one JSON line with the result
 *
 * The client is @aws-sdk/client-s3 (plus @aws-sdk/lib-storage for multipart uploads), configured
 * the same for every server: path-style addressing, SigV4 signed requests, one attempt (a failure
 * is reported, never retried into a better figure), the SDK's optional CRC32 checksums off
 * (requestChecksumCalculation / responseChecksumValidation WHEN_REQUIRED, as core/store/s3 does,
 * since s3rver does not understand aws-chunked trailers), and a keep-alive agent with as many
 * sockets as the job has concurrent requests. Times are taken inside this process
 * (performance.now()) around the measured requests only: process start and client set-up are not
 * counted.
 *
 * Jobs (`op`):
 *   get    GetObject of one key, the body streamed to nowhere (byte count checked)
 *   list   ListObjectsV2 of a prefix, every page (MaxKeys 1000), following continuation tokens;
 *          `client` 'sdk' (ListObjectsV2Command) or 'http' (the bare client below)
 *   small  `concurrency` request loops doing GetObject over a key list for `seconds` (after an
 *          untimed warm-up of `warmupSeconds`); every body is read whole and its size checked.
 *          `client`: 'sdk' (GetObjectCommand) or 'http' (a bare SigV4-signed GET over node:http:
 *          this SDK version spends milliseconds of CPU per request, which would make the client,
 *          not the server, the limit of a requests-per-second figure)
 *   put    lib-storage Upload of a file (read as a stream) with `partSize` and `queueSize`
 *   load   PutObject of many small files, `concurrency` at a time, through the bare client (untimed set-up of s3rver)
 *   putOne PutObject of one file as a single object (untimed set-up of s3rver)
 *   head   HeadObject of one key (its size)
 *   delete DeleteObject of keys
 */
import { createHash, createHmac } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

interface Conn {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

type Job = Conn &
  (
    | { op: 'get'; key: string; size: number }
    | { op: 'list'; prefix: string; client: 'sdk' | 'http' }
    | { op: 'small'; keysFile: string; concurrency: number; seconds: number; warmupSeconds: number; client: 'sdk' | 'http' }
    | { op: 'put'; key: string; file: string; partSize: number; queueSize: number }
    | { op: 'load'; keysFile: string; concurrency: number }
    | { op: 'putOne'; key: string; file: string }
    | { op: 'head'; key: string }
    | { op: 'delete'; keys: string[] }
  );

function client(c: Conn, sockets: number): S3Client {
  return new S3Client({
    endpoint: c.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: sockets }), requestTimeout: 0 },
  });
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

const enc3986 = (x: string): string => encodeURIComponent(x).replace(/[!'()*]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase());

/** RFC 3986 encoding of a key's segments, '/' kept (S3's canonical URI). */
function uriPath(bucket: string, key: string): string {
  return '/' + [bucket, ...key.split('/')].map(enc3986).join('/');
}

type BareGet = (key: string, query?: Record<string, string>, keep?: boolean, put?: Buffer) => Promise<{ bytes: number; body: string | null }>;

/**
 * A bare GET client: AWS Signature Version 4 in the Authorization header (header-signed, empty
 * payload hash, as the SDK signs a GetObject or ListObjectsV2), one keep-alive agent, nothing else
 * per request. `keep` returns the body as text (listings); otherwise it is counted and dropped.
 * With `put`, the request is a PutObject of those bytes (UNSIGNED-PAYLOAD; used to load s3rver).
 */
function bareGetter(c: Conn, sockets: number): BareGet {
  const url = new URL(c.endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const host = url.host;
  const region = 'us-east-1';
  let keyDate = '';
  let signingKey = Buffer.alloc(0);
  return (key, query = {}, keep = false, put) => {
    const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const date = now.slice(0, 8);
    if (date !== keyDate) {
      const h = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest();
      signingKey = h(h(h(h('AWS4' + c.secretAccessKey, date), region), 's3'), 'aws4_request');
      keyDate = date;
    }
    const path = key ? uriPath(c.bucket, key) : '/' + enc3986(c.bucket);
    const qs = Object.keys(query)
      .sort()
      .map((k) => `${enc3986(k)}=${enc3986(query[k]!)}`)
      .join('&');
    const method = put ? 'PUT' : 'GET';
    const payload = put ? 'UNSIGNED-PAYLOAD' : EMPTY_SHA256;
    const canonical = `${method}\n${path}\n${qs}\nhost:${host}\nx-amz-content-sha256:${payload}\nx-amz-date:${now}\n\nhost;x-amz-content-sha256;x-amz-date\n${payload}`;
    const scope = `${date}/${region}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${now}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const sig = createHmac('sha256', signingKey).update(toSign).digest('hex');
    const headers = {
      host,
      'x-amz-date': now,
      'x-amz-content-sha256': payload,
      ...(put ? { 'content-length': String(put.length) } : {}),
      authorization: `AWS4-HMAC-SHA256 Credential=${c.accessKeyId}/${scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${sig}`,
    };
    return new Promise((resolve, reject) => {
      const req = http.request({ method, host: url.hostname, port: url.port, path: qs ? `${path}?${qs}` : path, headers, agent }, (res) => {
        let n = 0;
        const parts: Buffer[] = [];
        const ok = res.statusCode === 200;
        res.on('data', (d: Buffer) => {
          n += d.length;
          if (keep || (!ok && parts.length < 4)) parts.push(d);
        });
        res.on('end', () => {
          if (!ok) return reject(new Error(`${method} ${key || c.bucket}: HTTP ${res.statusCode} ${Buffer.concat(parts).toString('utf8').slice(0, 300)}`));
          resolve({ bytes: n, body: keep ? Buffer.concat(parts).toString('utf8') : null });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(put);
    });
  };
}

/** XML entity decoding of a text node (what S3 list bodies use: the five predefined entities, numeric ones). */
function xmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e]!,
  );
}

/** Reads a body to its end without keeping it; returns its length. */
async function consume(body: unknown): Promise<number> {
  let n = 0;
  for await (const c of body as Readable) n += (c as Buffer).length;
  return n;
}

/** `path size` lines (a key list with the sizes the bodies must have). */
function readKeys(file: string): Array<{ key: string; size: number; file?: string }> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [key, size, path] = l.split('\t');
      return { key: key!, size: Number(size), file: path };
    });
}

async function run(job: Job): Promise<Record<string, unknown>> {
  switch (job.op) {
    case 'get': {
      const s3 = client(job, 1);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await s3.send(new GetObjectCommand({ Bucket: job.bucket, Key: job.key }));
      const bytes = await consume(r.Body);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (bytes !== job.size) throw new Error(`GET ${job.key}: ${bytes} bytes, expected ${job.size}`);
      return { bytes, ms, clientCpuMs: (c.user + c.system) / 1000 };
    }
    case 'list': {
      // 'http': the bare client, the page's keys counted and NextContinuationToken read with
      // regular expressions; 'sdk': ListObjectsV2Command (the SDK parses every page into objects).
      const bare = job.client === 'http' ? bareGetter(job, 1) : null;
      const s3 = bare ? null : client(job, 1);
      const page = async (token: string | undefined): Promise<{ count: number; next: string | undefined; truncated: boolean }> => {
        if (s3) {
          const r = await s3.send(new ListObjectsV2Command({ Bucket: job.bucket, Prefix: job.prefix, MaxKeys: 1000, ContinuationToken: token }));
          return { count: r.Contents?.length ?? 0, next: r.NextContinuationToken, truncated: r.IsTruncated === true };
        }
        const q: Record<string, string> = { 'list-type': '2', prefix: job.prefix, 'max-keys': '1000' };
        if (token !== undefined) q['continuation-token'] = token;
        const xml = (await bare!('', q, true)).body!;
        const count = xml.split('<Contents>').length - 1;
        const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1];
        return { count, next: next === undefined ? undefined : xmlText(next), truncated: /<IsTruncated>true<\/IsTruncated>/.test(xml) };
      };
      let token: string | undefined;
      let keys = 0;
      let pages = 0;
      let first = 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      do {
        const r = await page(token);
        if (pages === 0) first = performance.now() - t0;
        pages++;
        keys += r.count;
        token = r.truncated ? r.next : undefined;
        if (r.truncated && !token) throw new Error('a truncated page without NextContinuationToken');
      } while (token);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      return { keys, pages, ms, firstPageMs: first, clientCpuMs: (c.user + c.system) / 1000 };
    }
    case 'small': {
      const keys = readKeys(job.keysFile);
      let get: (key: string) => Promise<number>;
      if (job.client === 'http') {
        const bare = bareGetter(job, job.concurrency);
        get = async (key) => (await bare(key)).bytes;
      } else {
        const s3 = client(job, job.concurrency);
        get = async (key) => consume((await s3.send(new GetObjectCommand({ Bucket: job.bucket, Key: key }))).Body);
      }
      let next = 0;
      let stop = false;
      let counting = false;
      let requests = 0;
      let total = 0;
      let bytes = 0;
      const worker = async (): Promise<void> => {
        while (!stop) {
          const k = keys[next++ % keys.length]!;
          const n = await get(k.key);
          if (n !== k.size) throw new Error(`GET ${k.key}: ${n} bytes, expected ${k.size}`);
          total++;
          if (counting && !stop) {
            requests++;
            bytes += n;
          }
        }
      };
      const cpu0 = process.cpuUsage();
      const workers = Array.from({ length: job.concurrency }, worker);
      const failed = Promise.all(workers);
      await Promise.race([new Promise((r) => setTimeout(r, job.warmupSeconds * 1000)), failed]);
      counting = true;
      const t0 = performance.now();
      const cpu1 = process.cpuUsage(cpu0);
      await Promise.race([new Promise((r) => setTimeout(r, job.seconds * 1000)), failed]);
      stop = true;
      const ms = performance.now() - t0;
      const cpu2 = process.cpuUsage(cpu0);
      await failed;
      const clientCpuMs = (cpu2.user + cpu2.system - cpu1.user - cpu1.system) / 1000;
      return { requests, totalRequests: total, bytes, ms, perSecond: (requests / ms) * 1000, distinctKeys: keys.length, clientCpuMsPerRequest: clientCpuMs / requests };
    }
    case 'put': {
      const s3 = client(job, job.queueSize);
      const size = statSync(job.file).size;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const up = new Upload({
        client: s3,
        params: { Bucket: job.bucket, Key: job.key, Body: createReadStream(job.file, { highWaterMark: 1 << 20 }) },
        partSize: job.partSize,
        queueSize: job.queueSize,
        leavePartsOnError: false,
      });
      const r = await up.done();
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      return { bytes: size, ms, etag: r.ETag ?? null, parts: Math.ceil(size / job.partSize), clientCpuMs: (c.user + c.system) / 1000 };
    }
    case 'load': {
      // The bare client (UNSIGNED-PAYLOAD PUTs): the SDK's per-request CPU would make loading 100,000 objects take many minutes.
      const keys = readKeys(job.keysFile);
      const put = bareGetter(job, job.concurrency);
      let next = 0;
      const t0 = performance.now();
      const worker = async (): Promise<void> => {
        while (next < keys.length) {
          const k = keys[next++]!;
          await put(k.key, {}, false, readFileSync(k.file!));
        }
      };
      await Promise.all(Array.from({ length: job.concurrency }, worker));
      return { objects: keys.length, ms: performance.now() - t0 };
    }
    case 'putOne': {
      const s3 = client(job, 1);
      const size = statSync(job.file).size;
      const t0 = performance.now();
      await s3.send(new PutObjectCommand({ Bucket: job.bucket, Key: job.key, Body: createReadStream(job.file, { highWaterMark: 1 << 20 }), ContentLength: size }));
      return { bytes: size, ms: performance.now() - t0 };
    }
    case 'head': {
      const r = await client(job, 1).send(new HeadObjectCommand({ Bucket: job.bucket, Key: job.key }));
      return { size: r.ContentLength ?? -1, etag: r.ETag ?? null };
    }
    case 'delete': {
      const s3 = client(job, 1);
      for (const key of job.keys) await s3.send(new DeleteObjectCommand({ Bucket: job.bucket, Key: key }));
      return { deleted: job.keys.length };
    }
  }
}

run(JSON.parse(process.argv[2] ?? '{}') as Job).then(
  (r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  },
  (e: unknown) => {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    process.stderr.write(`s3-client error: ${err.name ?? 'Error'}${err.$metadata?.httpStatusCode ? ` (HTTP ${err.$metadata.httpStatusCode})` : ''}: ${err.message ?? String(e)}\n`);
    process.exit(1);
  },
);
