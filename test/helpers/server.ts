/** Helpers for server tests: a real `strata serve` child, raw HTTP requests (no URL normalisation), JSON calls, packs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { BIN } from './cli.js';
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

/**
 * A real `strata serve --data DATA --port 0 --json` (plus `args`) as a child process, resolved with
 * its URL once it listens. Its stderr (the access log, errors) is read continuously, so a chatty
 * server never blocks on a full pipe, and is in the error when it exits before listening.
 */
export function spawnServe(data: string, args: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data', data, '--port', '0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}: ${stderr}`)));
  });
}

/** POST /api/repos/REPO/merge as `token`. */
export function postMerge(url: string, repo: string, token: string, body: { into: string; from: string; dryRun?: boolean }): Promise<RawResponse> {
  return raw(url, 'POST', `/api/repos/${repo}/merge`, { headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}
