/**
 * The MetaStore contract suite (test/helpers/meta-contract.ts) on the SQLite implementation
 * (core/meta/db.ts), on real database files in temporary folders.
 */
import { after } from 'node:test';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MetaDb } from '../core/meta/db.js';
import type { MetaStore } from '../core/meta/interface.js';
import { runMetaContract } from './helpers/meta-contract.js';

const root = await fsp.mkdtemp(join(tmpdir(), 'strata-meta-contract-'));
after(() => fsp.rm(root, { recursive: true, force: true }));
let n = 0;

runMetaContract('sqlite', async () => {
  const dir = join(root, String(n++));
  await fsp.mkdir(dir);
  const path = join(dir, 'strata.db');
  let current: MetaStore = MetaDb.open(path, { create: true });
  const others: MetaStore[] = [];
  return {
    get store() {
      return current;
    },
    async reopen() {
      current.close();
      current = MetaDb.open(path);
      return current;
    },
    async second() {
      const s = MetaDb.open(path);
      others.push(s);
      return s;
    },
    async cleanup() {
      for (const s of [current, ...others]) s.close();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
});
