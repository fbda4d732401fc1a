import { runStoreContract } from './helpers/store-contract.js';
import { MemoryStore } from '../core/store/memory/index.js';

runStoreContract('memory', async () => {
  const store = new MemoryStore();
  return {
    store,
    cleanup: async () => {},
    corrupt: async (id, bytes) => store.corruptForTest(id, bytes),
  };
});
