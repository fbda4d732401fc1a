/**
 * Process running and measuring helpers for bench sections.
 *
 * Wall time: process.hrtime.bigint() taken just before child_process.spawn and at the child's
 * 'close' event (no shell). Peak RSS: every command is wrapped by GNU time (`/usr/bin/time -f %M
 * -o <file>`), which reports the child's ru_maxrss in KiB; the wrapper costs ~1 ms of wall time
 * and is applied to strata and peers alike. Without /usr/bin/time commands run unwrapped and no
 * RSS is reported.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, lstatSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Figure } from './types.js';

export const GNU_TIME = '/usr/bin/time';
const haveGnuTime = existsSync(GNU_TIME);
let rssDir: string | null = null;
let rssSeq = 0;

export interface CmdResult {
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size of the command in KiB (undefined without GNU time). */
  rssKiB?: number;
}

export interface CmdOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the command after this many ms (default 30 minutes). */
  timeoutMs?: number;
}

const MAX_CAPTURE = 256 * 1024;

/** Runs `cmd args` (no shell), measuring wall time and peak RSS. Never rejects for exit codes. */
export function runCmd(cmd: string, args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  let file = cmd;
  let argv = args;
  let rssFile: string | null = null;
  if (haveGnuTime) {
    rssDir ??= mkdtempSync(join(tmpdir(), 'strata-bench-rss-'));
    rssFile = join(rssDir, `${process.pid}-${rssSeq++}`);
    file = GNU_TIME;
    argv = ['-f', '%M', '-o', rssFile, cmd, ...args];
  }
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const t0 = process.hrtime.bigint();
    const child = spawn(file, argv, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30 * 60_000);
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < MAX_CAPTURE) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < MAX_CAPTURE) stderr += d.toString();
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      let rssKiB: number | undefined;
      if (rssFile && existsSync(rssFile)) {
        const text = readFileSync(rssFile, 'utf8');
        rmSync(rssFile, { force: true });
        // GNU time prefixes "Command exited with non-zero status N" on failure; take the last number line.
        const lines = text.trim().split('\n');
        const last = Number(lines[lines.length - 1]);
        if (Number.isFinite(last)) rssKiB = last;
        if (lines.length > 1 && code === 0) code = 1;
      }
      if (spawnError) stderr = `${spawnError.message}\n${stderr}`;
      // GNU time reports exec failures (command not found) as exit 127 + message on stderr.
      resolve({ ms, code, signal, stdout, stderr, rssKiB });
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

export class CmdError extends Error {}

/** First meaningful line of a failed command's stderr (prefers a line mentioning "error"). */
export function firstErrorLine(r: CmdResult): string {
  const lines = (r.stderr + '\n' + r.stdout)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^Command (exited|terminated)/.test(l));
  const preferred = lines.find((l) => /error|fatal|not found|cannot|no such/i.test(l));
  const line = (preferred ?? lines[0] ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`)).replace(/^error:\s*/i, '');
  return line.length > 200 ? line.slice(0, 200) + '…' : line;
}

export type Step = [cmd: string, args: string[]];

export interface SeqResult {
  ms: number;
  /** Max peak RSS (KiB) over the steps. */
  rssKiB?: number;
  results: CmdResult[];
}

/** Runs steps in order; total wall time is the sum. Throws CmdError on the first failing step. */
export async function runSeq(steps: Step[], opts: CmdOptions = {}): Promise<SeqResult> {
  let ms = 0;
  let rss: number | undefined;
  const results: CmdResult[] = [];
  for (const [cmd, args] of steps) {
    const r = await runCmd(cmd, args, opts);
    results.push(r);
    if (r.code !== 0) throw new CmdError(firstErrorLine(r));
    ms += r.ms;
    if (r.rssKiB !== undefined) rss = Math.max(rss ?? 0, r.rssKiB);
  }
  return { ms, rssKiB: rss, results };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function valueFigure(samples: number[], note?: string): Figure {
  return { kind: 'value', value: median(samples), samples, note };
}

/** Turns a thrown error into an error figure. */
export async function attempt(fn: () => Promise<Figure>): Promise<Figure> {
  try {
    return await fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { kind: 'error', message: msg.split('\n')[0] };
  }
}

export function skipped(reason: string): Figure {
  return { kind: 'skipped', reason };
}

/**
 * Flushes dirty pages (`sync`, untimed) so that write-back left over from setup or from the previous
 * tool is not charged to the next timed command.
 */
export function settle(): void {
  if (settleEnabled) spawnSync('sync', [], { stdio: 'ignore' });
}
let settleEnabled = true;
/** `--no-sync`: skip settle() (for smoke tests on busy machines, where a global sync can take seconds). */
export function setSettle(on: boolean): void {
  settleEnabled = on;
}

/**
 * Repeats a measurement `runs` times: `prepare` (untimed), `settle()`, then `measure` (returns ms
 * or any value). Returns the samples.
 */
export async function repeat(runs: number, measure: (i: number) => Promise<number>, prepare?: (i: number) => Promise<void> | void): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (prepare) await prepare(i);
    settle();
    out.push(await measure(i));
  }
  return out;
}

/** Apparent size in bytes of a file tree (like `du -sb`, without following symlinks). */
export function duBytes(path: string): number {
  if (!existsSync(path)) return 0;
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  const stack = [path];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) stack.push(p);
      else total += lstatSync(p).size;
    }
  }
  return total;
}

/** Lists regular files under a folder (recursive, sorted). */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    const ents = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const ent of ents) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile()) out.push(p);
    }
  };
  walk(root);
  return out;
}

const warmBuf = Buffer.allocUnsafe(16 * 1024 * 1024);

/** Reads every byte of a file or tree once (untimed) so that all tools start from a warm page cache. */
export function warm(path: string): void {
  if (!existsSync(path)) return;
  const files = statSync(path).isDirectory() ? listFiles(path) : [path];
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      while (readSync(fd, warmBuf, 0, warmBuf.length, null) > 0) {
        /* discard */
      }
    } finally {
      closeSync(fd);
    }
  }
}

export function rmrf(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/** Environment for git invocations: fixed identity, no system/global config side effects. */
export function gitEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@example.invalid',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@example.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
}

/** `git -c gc.auto=0 ...` : background auto-gc would disturb later measurements on small machines. */
export function git(...args: string[]): Step {
  return ['git', ['-c', 'gc.auto=0', '-c', 'init.defaultBranch=main', ...args]];
}

export function resticEnv(repo: string): NodeJS.ProcessEnv {
  return { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo };
}
