/**
 * The server's access log: one line per request, written when the answer is finished (or the
 * connection closed first): `<ISO time> <method> <path?query> <status> <bytes> <ms>ms`.
 * Query parameters that may carry a secret (token, key, signature, credential, password, ...) are
 * shown as REDACTED, and no header is logged, so neither bearer tokens nor S3 signatures end up
 * in the log. Bytes are those of the response body as written by the handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const SECRET_PARAM = /token|key|secret|signature|credential|password|passwd|auth|session/i;

/** The request target with secret-looking query values replaced by REDACTED. */
function loggedTarget(target: string): string {
  const q = target.indexOf('?');
  if (q < 0) return target;
  const path = target.slice(0, q);
  const parts = target
    .slice(q + 1)
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      const name = eq < 0 ? kv : kv.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        /* a malformed name is checked as written */
      }
      return eq >= 0 && SECRET_PARAM.test(decoded) ? `${name}=REDACTED` : kv;
    });
  return `${path}?${parts.join('&')}`;
}

/** Count the body bytes of `res` and log one line for it when it ends. */
export function accessLog(req: IncomingMessage, res: ServerResponse, log: (line: string) => void): void {
  const started = process.hrtime.bigint();
  let bytes = 0;
  const count = (chunk: unknown, encoding?: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : (chunk as Uint8Array).length;
  };
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  (res as { write: unknown }).write = (...a: unknown[]): boolean => {
    count(a[0], a[1]);
    return write(...a);
  };
  (res as { end: unknown }).end = (...a: unknown[]): ServerResponse => {
    count(a[0], a[1]);
    return end(...a);
  };
  let done = false;
  const line = (): void => {
    if (done) return;
    done = true;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const status = res.writableFinished ? String(res.statusCode) : `${res.headersSent ? res.statusCode : '-'}(closed)`;
    log(`${new Date().toISOString()} ${req.method ?? '-'} ${loggedTarget(req.url ?? '/')} ${status} ${bytes} ${ms.toFixed(1)}ms`);
  };
  res.once('finish', line);
  res.once('close', line);
}
