/**
 * S3 access keys for the gateway. A key is an access key id (20 characters, `SK` + 18 of A-Z0-9,
 * public: it names the key) and a secret access key (40 random characters of A-Za-z0-9). AWS
 * Signature Version 4 is an HMAC keyed by the secret itself, so unlike tokens (server/auth.ts,
 * which keep only a hash) the secret is stored, in `<stateDir>/s3-keys.json` (mode 0600, in the
 * 0700 state folder, written by atomic rename). The file is re-read when it changes, so
 * `strata serve key create/revoke` take effect on a running server.
 *
 * A key carries the same permission as a token: one repository or '*', read or read+write; it
 * becomes a Principal (tokenId `s3:<accessKeyId>`) that server/auth.ts authorize() checks.
 */
import { randomInt } from 'node:crypto';
import { StrataError } from '../../core/errors/index.js';
import { StateFile } from '../state-file.js';
import type { Principal, Scope } from '../auth.js';
import { S3Error } from './errors.js';

export interface AccessKeyRecord {
  accessKeyId: string;
  /** The secret access key (needed to check signatures). Never listed, never logged. */
  secret: string;
  /** Repository name, or '*' for every repository. */
  repo: string;
  scopes: Scope[];
  created: number;
  label?: string;
  revoked?: number | null;
}

/** A key as listed: everything but the secret. */
export type AccessKeyInfo = Omit<AccessKeyRecord, 'secret'>;

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_RE = /^SK[A-Z0-9]{18}$/;

function randomString(alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

export class AccessKeyStore {
  readonly file: string;
  private readonly state: StateFile<AccessKeyRecord>;

  constructor(readonly stateDir: string) {
    this.state = new StateFile<AccessKeyRecord>(stateDir, 's3-keys.json', 'keys', {
      label: 'S3 access key file',
      hint: 'fix or remove the file, then create keys again with strata serve key create',
    });
    this.file = this.state.file;
  }

  private load(): AccessKeyRecord[] {
    return this.state.load();
  }

  private save(keys: AccessKeyRecord[]): void {
    this.state.save(keys);
  }

  /** Create a key pair; the secret is returned here once (and kept in the 0600 file for verification). */
  create(repo: string, scopes: Scope[], label?: string): { accessKeyId: string; secret: string; record: AccessKeyInfo } {
    const keys = this.load();
    let accessKeyId: string;
    do accessKeyId = 'SK' + randomString(ID_ALPHABET, 18);
    while (keys.some((k) => k.accessKeyId === accessKeyId));
    const secret = randomString(SECRET_ALPHABET, 40);
    const full: AccessKeyRecord = {
      accessKeyId,
      secret,
      repo,
      scopes: scopes.includes('write') ? ['read', 'write'] : ['read'],
      created: Date.now(),
      ...(label ? { label } : {}),
      revoked: null,
    };
    this.save([...keys, full]);
    const { secret: _s, ...record } = full;
    return { accessKeyId, secret, record };
  }

  /** Every key, revoked ones included, without secrets. */
  list(): AccessKeyInfo[] {
    return this.load().map(({ secret: _s, ...r }) => r);
  }

  /** Revoke by access key id; a running server refuses the key from its next request on. */
  revoke(accessKeyId: string): AccessKeyInfo {
    const keys = this.load().map((k) => ({ ...k }));
    const k = keys.find((x) => x.accessKeyId === accessKeyId);
    if (!k) {
      throw new StrataError('INVALID_ARGUMENT', `no S3 access key with id ${JSON.stringify(accessKeyId)}`, { hint: 'see strata serve key list' });
    }
    if (!k.revoked) k.revoked = Date.now();
    this.save(keys);
    const { secret: _s, ...info } = k;
    return info;
  }

  /**
   * The secret and principal of a usable key, for signature verification. Unknown, malformed
   * and revoked ids all throw the same 403 InvalidAccessKeyId.
   */
  lookup(accessKeyId: string): { secret: string; principal: Principal } {
    const rec = ID_RE.test(accessKeyId) ? this.load().find((k) => k.accessKeyId === accessKeyId) : undefined;
    if (!rec || rec.revoked || typeof rec.secret !== 'string') {
      throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId });
    }
    return { secret: rec.secret, principal: { tokenId: `s3:${rec.accessKeyId}`, repo: rec.repo, scopes: [...rec.scopes] } };
  }
}
