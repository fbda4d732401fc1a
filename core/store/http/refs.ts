/**
 * RefStore over a Strata server: GET/PUT/DELETE refs/<name> with If-Match / If-None-Match: *
 * (412 -> REF_CONFLICT). Passes the ref contract (test/server-store-contract.test.ts).
 */
import { checkRefName, checkRefValue, refNameProblem, type RefEntry, type RefStore, type RefValue } from '../refs.js';
import type { HttpClient } from './client.js';

/** A PUT /refs answer: the ref, and the verdict of the server's check gate when the branch is protected. */
type MovedRef = RefEntry & { checks?: { warnings?: unknown } };

/** The ref of a PUT answer, with the gate's warnings (strings only, at most 100, each cut to 2000 characters). */
function moved(r: MovedRef): RefValue {
  const w = r.checks?.warnings;
  const warnings = Array.isArray(w) ? w.filter((x): x is string => typeof x === 'string').slice(0, 100).map((x) => x.slice(0, 2000)) : [];
  return { value: r.value, etag: r.etag, ...(warnings.length ? { warnings } : {}) };
}

export class HttpRefStore implements RefStore {
  constructor(private readonly client: HttpClient) {}

  private path(name: string): string {
    return '/refs/' + checkRefName(name).split('/').map(encodeURIComponent).join('/');
  }

  async get(name: string): Promise<RefValue | null> {
    const res = await this.client.request('GET', this.path(name), { allow: [404] });
    if (res.status === 404) {
      const err = await this.client.toError(res);
      if (err.code === 'UNKNOWN_REF') return null;
      throw err;
    }
    const r = (await res.json()) as RefEntry;
    return { value: r.value, etag: r.etag };
  }

  async list(prefix = ''): Promise<RefEntry[]> {
    const r = await this.client.json<{ refs: RefEntry[] }>('GET', `/refs?prefix=${encodeURIComponent(prefix)}`);
    // What the server lists passes the same ref-name rule as everything else (a hostile server's don't).
    return r.refs.filter((x) => typeof x?.name === 'string' && refNameProblem(x.name) === null && x.name.startsWith(prefix)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async create(name: string, value: string): Promise<RefValue> {
    checkRefValue(value);
    return moved(await this.client.json<MovedRef>('PUT', this.path(name), { value }, { 'If-None-Match': '*' }));
  }

  async update(name: string, value: string, expectedEtag: string): Promise<RefValue> {
    checkRefValue(value);
    return moved(await this.client.json<MovedRef>('PUT', this.path(name), { value }, { 'If-Match': expectedEtag }));
  }

  async delete(name: string, expectedEtag: string): Promise<void> {
    await this.client.request('DELETE', this.path(name), { headers: { 'If-Match': expectedEtag } });
  }
}
