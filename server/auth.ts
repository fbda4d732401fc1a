/**
 * Access tokens. A token is `strata_<id>_<secret>`: `id` (12 hex) finds the record, `secret`
 * (32 random bytes, base64url) is checked against its stored SHA-256 with crypto.timingSafeEqual.
 * Only hashes are stored, in `<stateDir>/tokens.json` (mode 0600), re-read when the file changes,
 * so `strata serve token create/revoke` take effect on a running server.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { StrataError } from '../core/errors/index.js';
import { StateFile } from './state-file.js';

export type Scope = 'read' | 'write';

export interface TokenRecord {
  id: string;
  /** Repository name, or '*' for every repository. */
  repo: string;
  scopes: Scope[];
  /** SHA-256 (hex) of the secret. */
  hash: string;
  created: number;
  label?: string;
  revoked?: number | null;
}

export interface Principal {
  tokenId: string;
  repo: string;
  scopes: Scope[];
  /** The token's label, when it has one (names the author of commits made through the API). */
  label?: string;
}

const TOKEN_RE = /^strata_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const DUMMY = Buffer.alloc(32);

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class TokenStore {
  readonly file: string;
  private readonly state: StateFile<TokenRecord>;

  constructor(readonly stateDir: string) {
    this.state = new StateFile<TokenRecord>(stateDir, 'tokens.json', 'tokens', { label: 'token file', hint: 'fix or remove the file, then create tokens again' });
    this.file = this.state.file;
  }

  private load(): TokenRecord[] {
    return this.state.load();
  }

  private save(tokens: TokenRecord[]): void {
    this.state.save(tokens);
  }

  /** Create a token; returns the secret token string (shown once) and its record. */
  create(repo: string, scopes: Scope[], label?: string): { token: string; record: TokenRecord } {
    const tokens = this.load();
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: TokenRecord = {
      id,
      repo,
      scopes: [...new Set<Scope>(scopes.includes('write') ? ['read', 'write'] : ['read'])],
      hash: sha256(secret).toString('hex'),
      created: Date.now(),
      ...(label ? { label } : {}),
      revoked: null,
    };
    this.save([...tokens, record]);
    return { token: `strata_${id}_${secret}`, record };
  }

  list(): Array<Omit<TokenRecord, 'hash'>> {
    return this.load().map(({ hash: _h, ...r }) => r);
  }

  /** Revoke by id (or by the full token string). */
  revoke(idOrToken: string): TokenRecord {
    const m = TOKEN_RE.exec(idOrToken);
    const id = m ? m[1]! : idOrToken;
    const tokens = this.load().map((t) => ({ ...t }));
    const t = tokens.find((x) => x.id === id);
    if (!t) throw new StrataError('INVALID_ARGUMENT', `no token with id ${JSON.stringify(id)}`, { hint: 'see strata serve token list' });
    if (!t.revoked) t.revoked = Date.now();
    this.save(tokens);
    return t;
  }

  /**
   * The principal for a bearer token string. Throws UNAUTHORIZED for a malformed, unknown or
   * revoked token (one message for all, so a caller learns nothing about which ids exist).
   */
  verify(token: string): Principal {
    const m = TOKEN_RE.exec(token);
    const rec = m ? this.load().find((t) => t.id === m[1]) : undefined;
    const want = rec ? Buffer.from(rec.hash, 'hex') : DUMMY;
    const got = sha256(m ? m[2]! : token);
    const match = want.length === got.length && timingSafeEqual(want, got) && !!rec;
    if (!match || !rec || rec.revoked) {
      throw new StrataError('UNAUTHORIZED', 'invalid, unknown or revoked token', { hint: 'create one on the server with strata serve token create --repo NAME' });
    }
    return { tokenId: rec.id, repo: rec.repo, scopes: rec.scopes, ...(rec.label ? { label: rec.label } : {}) };
  }
}

/** Decide access. `anonymousRead` applies only to reads. Throws UNAUTHORIZED / FORBIDDEN. */
export function authorize(p: Principal | null, repo: string, need: Scope, anonymousRead: boolean): void {
  if (!p) {
    if (need === 'read' && anonymousRead) return;
    throw new StrataError('UNAUTHORIZED', need === 'write' ? `writing to ${repo} needs a token` : `${repo} is private: a token is needed`, {
      hint: 'send Authorization: Bearer <token> (set STRATA_TOKEN for the CLI); tokens come from strata serve token create',
    });
  }
  if (p.repo !== '*' && p.repo !== repo) {
    if (need === 'read' && anonymousRead) return;
    throw new StrataError('FORBIDDEN', `this token is not valid for repository ${repo}`, { hint: `create one with strata serve token create --repo ${repo}` });
  }
  if (!p.scopes.includes(need)) {
    throw new StrataError('FORBIDDEN', `this token cannot ${need} ${repo} (scopes: ${p.scopes.join(', ')})`, { hint: `create a token with --${need}` });
  }
}
