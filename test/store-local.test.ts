import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from './helpers/store-contract.js';
import { LocalStore } from '../core/store/local/index.js';
import { initHash } from '../core/hash/index.js';

await initHash();
runStoreContract('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-local-'));
  const store = new LocalStore(dir);
  await store.init();
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
