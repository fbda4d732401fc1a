/**
 * Refs in an S3 bucket: `<prefix>/refs/heads/<branch>`, `<prefix>/refs/tags/<tag>`, body = commit id + '\n'.
 *
 * Compare-and-swap uses S3 conditional writes: create = PUT with `If-None-Match: *`, update = PUT with
 * `If-Match: <etag>`, delete = DELETE with `If-Match: <etag>`. AWS S3 and MinIO enforce them (atomic
 * CAS). Some servers (s3rver, older S3-compatibles) accept and ignore them; there Strata falls back to
 * read-check-write plus a re-read after writing, which narrows the race but cannot close it
 * (docs/remote-format.md says exactly what holds). probeConditionalWrites() tells which case applies;
 * with `conditionalWrites: 'auto'` (default) the store probes once, on its first write.
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { StrataError } from '../../errors/index.js';
import { checkRefName, checkRefValue, refConflict, type RefEntry, type RefStore, type RefValue } from '../refs.js';
import { parseRefBody, refBody } from '../../format/ref-body.js';
import { S3Conn, errorName, httpStatus, isNotFound, isPreconditionFailed, type S3StoreOptions } from './conn.js';
import type { S3Store } from './index.js';

const REF_READ_ATTEMPTS = 4;

export type ConditionalWrites = 'enforced' | 'not-enforced';

export interface S3RefStoreOptions {
  /** 'auto' (default): probe the server once, before the first write. */
  conditionalWrites?: 'auto' | ConditionalWrites;
}

export class S3RefStore implements RefStore {
  readonly conn: S3Conn;
  private readonly ownsConn: boolean;
  private mode: Promise<ConditionalWrites> | undefined;

  constructor(target: S3Store | S3StoreOptions, opts: S3RefStoreOptions = {}) {
    if ('conn' in target && target.conn instanceof S3Conn) {
      this.conn = target.conn;
      this.ownsConn = false;
    } else {
      this.conn = new S3Conn(target as S3StoreOptions);
      this.ownsConn = true;
    }
    if (opts.conditionalWrites && opts.conditionalWrites !== 'auto') this.mode = Promise.resolve(opts.conditionalWrites);
  }

  private key(name: string): string {
    return this.conn.key('refs/' + checkRefName(name));
  }

  /** Whether CAS is atomic on this server ('enforced') or emulated ('not-enforced'). Cached. */
  conditionalWrites(): Promise<ConditionalWrites> {
    this.mode ??= this.probeConditionalWrites().catch((e) => {
      this.mode = undefined;
      throw e;
    });
    return this.mode;
  }

  /**
   * Write a probe key with If-None-Match: *, then again: a server that enforces conditional writes
   * answers 412 the second time. Also checks If-Match with a wrong ETag. The probe key is removed.
   */
  async probeConditionalWrites(): Promise<ConditionalWrites> {
    const key = this.conn.key(`.strata-probe/cas-${randomBytes(8).toString('hex')}`);
    const body = Buffer.from('probe\n');
    try {
      await this.send(() => this.put(key, body, { IfNoneMatch: '*' }), 'probing conditional writes');
      let enforced = true;
      try {
        await this.put(key, body, { IfNoneMatch: '*' });
        enforced = false;
      } catch (e) {
        if (!isPreconditionFailed(e)) throw this.conn.mapError(e, 'probing conditional writes');
      }
      if (enforced) {
        try {
          await this.put(key, body, { IfMatch: '"00000000000000000000000000000000"' });
          enforced = false;
        } catch (e) {
          if (!isPreconditionFailed(e)) throw this.conn.mapError(e, 'probing conditional writes');
        }
      }
      return enforced ? 'enforced' : 'not-enforced';
    } finally {
      await this.conn.deleteKeys([key]).catch(() => {});
    }
  }

  async get(name: string): Promise<RefValue | null> {
    return this.read(this.key(name), name);
  }

  /**
   * The SDK retries a request that fails, but not a body that breaks off after the headers came
   * (a server replacing the key mid-response, a dropped connection): a ref body is a few bytes, so
   * such a read is simply made again, a bounded number of times.
   */
  private async read(key: string, name: string): Promise<RefValue | null> {
    for (let attempt = 1; ; attempt++) {
      let r;
      try {
        r = await this.conn.client.send(new GetObjectCommand({ Bucket: this.conn.bucket, Key: key }));
      } catch (e) {
        if (isNotFound(e)) return null;
        throw this.conn.mapError(e, `reading ref ${name}`);
      }
      let body: string;
      try {
        body = await r.Body!.transformToString('utf8');
      } catch (e) {
        if (attempt < REF_READ_ATTEMPTS) continue;
        throw this.conn.mapError(e, `reading ref ${name}`);
      }
      return { value: parseRefBody(body, name), etag: r.ETag ?? '' };
    }
  }

  async list(prefix = ''): Promise<RefEntry[]> {
    const root = this.conn.key('refs/');
    const names: string[] = [];
    for await (const o of this.conn.listKeys(root + prefix)) {
      const name = o.key.slice(root.length);
      try {
        checkRefName(name);
      } catch {
        continue;
      }
      names.push(name);
    }
    const vals = await this.conn.limiter.map(names, async (name) => {
      const v = await this.read(root + name, name);
      return v ? { name, ...v } : null;
    });
    return vals.filter((v): v is RefEntry => v !== null).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async create(name: string, value: string): Promise<RefValue> {
    checkRefValue(value);
    const key = this.key(name);
    const body = refBody(value);
    const enforced = (await this.conditionalWrites()) === 'enforced';
    if (!enforced && (await this.read(key, name))) throw refConflict(name, 'exists');
    let etag: string;
    try {
      etag = await this.put(key, body, { IfNoneMatch: '*' });
    } catch (e) {
      if (isPreconditionFailed(e)) throw refConflict(name, 'exists');
      throw this.conn.mapError(e, `creating ref ${name}`);
    }
    return enforced ? { value, etag } : this.verify(key, name, value, etag);
  }

  async update(name: string, value: string, expectedEtag: string): Promise<RefValue> {
    checkRefValue(value);
    const key = this.key(name);
    const enforced = (await this.conditionalWrites()) === 'enforced';
    if (!enforced) {
      const cur = await this.read(key, name);
      if (!cur) throw refConflict(name, 'missing');
      if (cur.etag !== expectedEtag) throw refConflict(name, 'changed');
    }
    let etag: string;
    try {
      etag = await this.put(key, refBody(value), { IfMatch: expectedEtag });
    } catch (e) {
      if (isPreconditionFailed(e)) throw refConflict(name, 'changed');
      if (isNotFound(e)) throw refConflict(name, 'missing');
      throw this.conn.mapError(e, `updating ref ${name}`);
    }
    return enforced ? { value, etag } : this.verify(key, name, value, etag);
  }

  async delete(name: string, expectedEtag: string): Promise<void> {
    const key = this.key(name);
    // Read first in every mode: not every server that enforces conditional PUTs enforces
    // conditional DELETEs, and a DELETE of a missing key succeeds silently.
    const cur = await this.read(key, name);
    if (!cur) throw refConflict(name, 'missing');
    if (cur.etag !== expectedEtag) throw refConflict(name, 'changed');
    try {
      await this.conn.client.send(new DeleteObjectCommand({ Bucket: this.conn.bucket, Key: key, IfMatch: expectedEtag }));
    } catch (e) {
      if (isPreconditionFailed(e)) throw refConflict(name, 'changed');
      if (isNotFound(e)) throw refConflict(name, 'missing');
      if (errorName(e) === 'NotImplemented' || httpStatus(e) === 501) {
        await this.send(() => this.conn.client.send(new DeleteObjectCommand({ Bucket: this.conn.bucket, Key: key })), `deleting ref ${name}`);
        return;
      }
      throw this.conn.mapError(e, `deleting ref ${name}`);
    }
  }

  async close(): Promise<void> {
    if (this.ownsConn) this.conn.close();
  }

  /** Not-enforced mode: re-read after writing; someone else's value there means we lost a race. */
  private async verify(key: string, name: string, value: string, etag: string): Promise<RefValue> {
    const now = await this.read(key, name);
    if (!now) throw refConflict(name, 'missing', 'deleted right after our write');
    if (now.value !== value) throw refConflict(name, 'changed', `another writer set it to ${now.value} concurrently`);
    return { value, etag: now.etag || etag };
  }

  private async put(key: string, body: Buffer, cond: { IfMatch?: string; IfNoneMatch?: string }): Promise<string> {
    const r = await this.conn.client.send(
      new PutObjectCommand({ Bucket: this.conn.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: 'text/plain', ...cond }),
    );
    return r.ETag ?? '';
  }

  private async send<T>(fn: () => Promise<T>, what: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw e instanceof StrataError ? e : this.conn.mapError(e, what);
    }
  }
}
