/**
 * Strata server remotes (`http(s)://host:port/REPO`): the object and ref stores of
 * core/store/http, opened for core/remote/open.ts.
 */
import { openHttpStores, type HttpCounters, type HttpRemoteOptions, type HttpStore } from '../store/http/index.js';
import type { RefStore } from '../store/refs.js';


export async function openHttpRemote(
  url: string,
  opts: HttpRemoteOptions = {},
): Promise<{ store: HttpStore; refs: RefStore; close(): Promise<void>; stats(): HttpCounters }> {
  return openHttpStores(url, opts);
}
