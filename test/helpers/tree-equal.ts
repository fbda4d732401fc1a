/**
 * Workspace snapshots for end-to-end tests: every file's bytes and exec bit, every symlink's target
 * (links are never followed), so a checkout can be compared exactly with a saved copy.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';

export type Node = { kind: 'file'; bytes: Buffer; exec: boolean } | { kind: 'symlink'; target: string } | { kind: 'dir' };

/** Everything under `dir` (relative paths), skipping .strata and .git. Empty dirs are listed too. */
export async function snapshot(dir: string): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  const walk = async (d: string, base: string): Promise<void> => {
    const entries = await fsp.readdir(d, { withFileTypes: true });
    if (base && entries.length === 0) out.set(base, { kind: 'dir' });
    for (const e of entries) {
      if (e.name === '.strata' || e.name === '.git') continue;
      const p = base ? `${base}/${e.name}` : e.name;
      const abs = join(d, e.name);
      if (e.isSymbolicLink()) out.set(p, { kind: 'symlink', target: await fsp.readlink(abs) });
      else if (e.isDirectory()) await walk(abs, p);
      else if (e.isFile()) {
        const st = await fsp.stat(abs);
        out.set(p, { kind: 'file', bytes: await fsp.readFile(abs), exec: (st.mode & 0o111) !== 0 });
      }
    }
  };
  await walk(dir, '');
  return out;
}

/** Assert two snapshots are identical: same paths, bytes, exec bits and link targets. */
export function assertSameTree(actual: Map<string, Node>, expected: Map<string, Node>, what = 'tree'): void {
  const a = [...actual.keys()].sort();
  const e = [...expected.keys()].sort();
  const missing = e.filter((p) => !actual.has(p));
  const extra = a.filter((p) => !expected.has(p));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${what}: paths differ`);
  for (const p of e) {
    const x = actual.get(p)!;
    const y = expected.get(p)!;
    assert.equal(x.kind, y.kind, `${what}: ${p} kind`);
    if (x.kind === 'file' && y.kind === 'file') {
      assert.equal(x.exec, y.exec, `${what}: ${p} exec bit`);
      assert.ok(x.bytes.equals(y.bytes), `${what}: ${p} bytes differ (${x.bytes.length} vs ${y.bytes.length} bytes)`);
    } else if (x.kind === 'symlink' && y.kind === 'symlink') {
      assert.equal(x.target, y.target, `${what}: ${p} link target`);
    }
  }
}

/** Copy a folder preserving modes and symlinks (cp -a), to compare against later. */
export function saveCopy(src: string, dst: string): void {
  execFileSync('cp', ['-a', src, dst]);
}
