/** Helpers for server tests: raw HTTP requests (no URL normalisation), JSON calls, packs. */
import { request } from 'node:http';
import { hashBytes } from '../../core/hash/index.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
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

/** Build an SPK1 pack of objects (optionally corrupting one's bytes after hashing). */
export function makePack(objects: Buffer[], corrupt?: number): { body: Buffer; ids: string[] } {
  const parts: Buffer[] = [Buffer.from('SPK1')];
  const ids: string[] = [];
  objects.forEach((o, i) => {
    const id = hashBytes(o);
    ids.push(id);
    const data = i === corrupt ? Buffer.concat([o, Buffer.from('!')]) : o;
    const hdr = Buffer.alloc(36);
    Buffer.from(id, 'hex').copy(hdr, 0);
    hdr.writeUInt32BE(data.length, 32);
    parts.push(hdr, data);
  });
  return { body: Buffer.concat(parts), ids };
}
