/**
 * Run the real `strata` binary (bin/strata.js -> dist/cli/main.js) in temporary folders.
 * Works from compiled tests (dist/test/helpers) and from tsx (test/helpers).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'bin', 'strata.js'))) return d;
    d = resolve(d, '..');
  }
  throw new Error('cannot find the project root from ' + import.meta.url);
}

export const ROOT = findRoot();
export const BIN = join(ROOT, 'bin', 'strata.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `strata ARGS` in `cwd`. Never throws on a non-zero exit: assert on `code`. */
export function strata(cwd: string, args: string[], opts: { env?: Record<string, string | undefined>; input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((res, rej) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', STRATA_AUTHOR_NAME: 'Test User', STRATA_AUTHOR_EMAIL: 'test@example.com', ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const p = spawn(process.execPath, [BIN, ...args], { cwd, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    if (opts.input !== undefined) p.stdin.end(opts.input);
    else p.stdin.end();
  });
}

/** Like strata() but throws with the output when the exit code is not `expect` (default 0). */
export async function ok(cwd: string, args: string[], expect = 0, opts: Parameters<typeof strata>[2] = {}): Promise<RunResult> {
  const r = await strata(cwd, args, opts);
  if (r.code !== expect) throw new Error(`strata ${args.join(' ')} exited ${r.code} (expected ${expect})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'strata-test-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await fsp.mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

/** Write files: { 'data/a.csv': 'x,y\n', ... }. */
export async function writeFiles(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [p, c] of Object.entries(files)) {
    await fsp.mkdir(dirname(join(root, p)), { recursive: true });
    await fsp.writeFile(join(root, p), c);
  }
}

/** Every file under `dir` (relative path -> bytes), skipping .strata and .git. */
export async function readTreeBytes(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string, base: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      if (e.name === '.strata' || e.name === '.git') continue;
      const p = base ? `${base}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(d, e.name), p);
      else if (e.isSymbolicLink()) out.set(p, Buffer.from('symlink:' + (await fsp.readlink(join(d, e.name)))));
      else out.set(p, await fsp.readFile(join(d, e.name)));
    }
  };
  await walk(dir, '');
  return out;
}

/** Seeded pseudo-random bytes (xorshift32): reproducible test data. */
export function seededBytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
