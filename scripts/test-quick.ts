/**
 * `npm run test:quick`: the inner loop. Runs every compiled test file except the ones that drive a
 * browser (web-ui, web-lineage-perf: they need the built web UI) and bench-smoke, bench-gateway-smoke (slow), without
 * building the web UI. Run after `tsc -p tsconfig.json` (the npm script does both).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIPPED = ['web-ui.test.js', 'web-lineage-perf.test.js', 'bench-smoke.test.js', 'bench-gateway-smoke.test.js'];

const testDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test');
const files = readdirSync(testDir)
  .filter((f) => f.endsWith('.test.js') && !SKIPPED.includes(f))
  .sort()
  .map((f) => join(testDir, f));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
