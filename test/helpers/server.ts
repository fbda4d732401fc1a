/** Helpers for server tests: raw HTTP requests (no URL normalisation), JSON calls, packs. */
import { request } from 'node:http';
import { hashBytes } from '../../core/hash/index.js';
import { encodeWirePack } from '../../core/format/wire-pack.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any;
}

/** Send a request with the path exactly as given (fetch would normalise `..` and `%2e%2e`). */
export function raw(base: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers: opts.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** Build a wire pack (core/format/wire-pack.ts) of objects, optionally corrupting one's bytes after hashing. */
export function makePack(objects: Buffer[], corrupt?: number): { body: Buffer; ids: string[] } {
  const ids = objects.map((o) => hashBytes(o));
  const body = encodeWirePack(objects.map((o, i) => ({ id: ids[i]!, data: i === corrupt ? Buffer.concat([o, Buffer.from('!')]) : o })));
  return { body, ids };
}
