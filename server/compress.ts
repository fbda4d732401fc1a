/**
 * Compression of the web UI's static files (server/app.ts serveStatic): Accept-Encoding
 * negotiation (br before gzip, q=0 refuses) and an in-memory cache of each file's brotli and gzip
 * bodies, made once per file version (path, size, mtime) with node:zlib off the event loop.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

export type Encoding = 'br' | 'gzip';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** Files smaller than this are sent as they are: compression would save less than a packet. */
const MIN_BYTES = 1024;

/** Content types worth compressing (images, fonts and wasm archives are compressed already or rarely gain). */
export function compressible(type: string): boolean {
  return /^(text\/|application\/(json|javascript|xml|manifest\+json|wasm)|image\/svg\+xml)/.test(type);
}

/** The encoding to answer with for an Accept-Encoding header: br, else gzip, else none (identity). */
export function negotiate(header: string | string[] | undefined): Encoding | null {
  if (!header) return null;
  const q = new Map<string, number>();
  for (const part of String(header).split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const v = qp ? Number(qp.slice(2)) : 1;
    q.set(name, Number.isFinite(v) ? v : 0);
  }
  const accepts = (e: string): boolean => (q.get(e) ?? (q.has('*') ? q.get('*')! : 0)) > 0;
  if (accepts('br')) return 'br';
  if (accepts('gzip')) return 'gzip';
  return null;
}

/** Per file and encoding: the version (size, mtime) compressed and its body; a new version replaces it. */
const cache = new Map<string, { version: string; body: Promise<Buffer> }>();

/** The `enc` body of `file` (whose size and mtime identify its version); null when not worth it. */
export async function compressedBody(file: string, st: { size: number; mtimeMs: number }, enc: Encoding): Promise<Buffer | null> {
  if (st.size < MIN_BYTES) return null;
  const key = `${enc}\0${file}`;
  const version = `${st.size}\0${st.mtimeMs}`;
  let entry = cache.get(key);
  if (!entry || entry.version !== version) {
    const body = readFile(file).then((data) =>
      enc === 'br'
        ? brotli(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } })
        : gz(data, { level: 9 }),
    );
    const made = { version, body };
    entry = made;
    cache.set(key, made);
    body.catch(() => {
      if (cache.get(key) === made) cache.delete(key);
    });
  }
  const body = await entry.body;
  return body.length < st.size ? body : null;
}
