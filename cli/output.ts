/**
 * Terminal output: plain text for people, JSON for scripts (--json), progress on a TTY only.
 */
import type { ProgressSink } from '../core/repo/worktree.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  json(v: unknown): void;
  /** A child process's output (run, repro), passed through: dropped with -q (stderr kept for a failure). */
  raw(stream: 'stdout' | 'stderr', chunk: Buffer | string): void;
  readonly json_: boolean;
  readonly stdoutTTY: boolean;
  progress(): ProgressSink | undefined;
  endProgress(): void;
  color(code: 'red' | 'green' | 'yellow' | 'dim' | 'bold' | 'cyan', s: string): string;
  /** At the end of a command: with -q, print what was held back on stderr if it failed; page long output. */
  finish(code: number): Promise<void>;
}

export type ColorMode = 'auto' | 'always' | 'never';

interface IoOptions {
  json: boolean;
  /** -q: nothing on stdout or stderr except when the command fails (then its stderr, with the error). */
  quiet?: boolean;
  /** --color; undefined: FORCE_COLOR / NO_COLOR, then whether stdout is a terminal. */
  color?: ColorMode;
  /** Page the output through `pager` when it is longer than the terminal (log, diff, show on a TTY). */
  pager?: string | null;
}

const COLORS = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;

// A reader that stops early (`strata log | head`) closes the pipe: stop quietly, as git does,
// instead of dying with an unhandled EPIPE stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  throw e;
});

/**
 * Whether to colour: --color always/never wins; else FORCE_COLOR (set, not empty and not 0: on;
 * 0: off), else NO_COLOR (set and not empty: off), else a terminal on stdout that is not TERM=dumb.
 */
function colorEnabled(mode: ColorMode | undefined, env: NodeJS.ProcessEnv, stdoutTTY: boolean): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stdoutTTY && env.TERM !== 'dumb';
}

/** How much of a quiet command's stderr is kept for a failure: the last 64 KiB. */
const HELD_MAX = 64 * 1024;

export function makeIo(opts: IoOptions): Io {
  const stdoutTTY = !!process.stdout.isTTY;
  const stderrTTY = !!process.stderr.isTTY;
  const useColor = colorEnabled(opts.color, process.env, stdoutTTY);
  const quiet = !!opts.quiet;
  let held: string[] = [];
  let heldBytes = 0;
  const hold = (s: string) => {
    held.push(s);
    heldBytes += s.length;
    while (heldBytes > HELD_MAX && held.length > 1) heldBytes -= held.shift()!.length;
  };
  // Output held for the pager: written at the end, through it when longer than the terminal.
  const paged: string[] | null = opts.pager && stdoutTTY && !opts.json && !quiet ? [] : null;
  const writeOut = (s: string) => {
    if (paged) paged.push(s);
    else process.stdout.write(s);
  };
  let drew = false;
  let started = 0;
  return {
    json_: opts.json,
    stdoutTTY,
    out(s) {
      if (quiet) return;
      writeOut(s.endsWith('\n') ? s : s + '\n');
    },
    err(s) {
      const line = s.endsWith('\n') ? s : s + '\n';
      if (quiet) return hold(line);
      if (drew) {
        process.stderr.write('\r\x1b[K');
        drew = false;
      }
      process.stderr.write(line);
    },
    json(v) {
      process.stdout.write(JSON.stringify(v, null, 2) + '\n');
    },
    raw(stream, chunk) {
      if (quiet) {
        if (stream === 'stderr') hold(chunk.toString());
        return;
      }
      if (stream === 'stdout') {
        if (paged) paged.push(chunk.toString());
        else process.stdout.write(chunk);
      } else process.stderr.write(chunk);
    },
    progress() {
      if (!stderrTTY || opts.json || quiet || process.env.CI) return undefined;
      started = Date.now();
      return (p) => {
        const elapsed = (Date.now() - started) / 1000;
        if (elapsed < 0.3 && p.done !== p.total) return; // fast operations draw nothing
        const rate = elapsed > 0 ? p.bytes / elapsed : 0;
        let eta = '';
        if (p.totalBytes && rate > 0 && p.bytes < p.totalBytes) eta = `, ETA ${fmtDuration((p.totalBytes - p.bytes) / rate)}`;
        const pct = p.total ? Math.floor((100 * p.done) / p.total) : 0;
        const line = `${p.phase}: ${pct}% (${p.done}/${p.total} files, ${fmtBytes(p.bytes)}${p.totalBytes ? ' of ' + fmtBytes(p.totalBytes) : ''}, ${fmtBytes(rate)}/s${eta})`;
        process.stderr.write('\r\x1b[K' + line.slice(0, (process.stderr.columns || 100) - 1));
        drew = true;
      };
    },
    endProgress() {
      if (drew) process.stderr.write('\r\x1b[K');
      drew = false;
    },
    color(code, s) {
      return useColor ? `\x1b[${COLORS[code]}m${s}\x1b[0m` : s;
    },
    async finish(code) {
      if (quiet && code !== 0) for (const s of held) process.stderr.write(s);
      held = [];
      heldBytes = 0;
      if (!paged || paged.length === 0) return;
      const text = paged.join('');
      paged.length = 0;
      const rows = process.stdout.rows || 24;
      if (text.split('\n').length - 1 < rows) return void process.stdout.write(text);
      await page(opts.pager!, text);
    },
  };
}

/**
 * Write `text` through the pager command (run by the shell, as git does; LESS=FRX unless LESS is
 * set), waiting for it to exit. A pager that cannot start prints the text as is.
 */
async function page(cmd: string, text: string): Promise<void> {
  const { spawn } = await import('node:child_process');
  const env = { ...process.env };
  if (env.LESS === undefined) env.LESS = 'FRX';
  await new Promise<void>((res) => {
    const child = spawn(cmd, { shell: true, stdio: ['pipe', 'inherit', 'inherit'], env });
    let failed = false;
    child.on('error', () => {
      failed = true;
      process.stdout.write(text);
      res();
    });
    child.stdin.on('error', () => undefined); // the pager quit before reading everything (q in less)
    child.on('close', (code) => {
      if (failed) return;
      // 127: the shell found no such program; show the output rather than nothing.
      if (code === 127) process.stdout.write(text);
      res();
    });
    child.stdin.end(text);
  });
}

/** The pager for log/diff/show: core.pager (user file or STRATA_CONFIG_CORE_PAGER), then PAGER, then less; '' or cat: none. */
export function pagerCommand(configured: string | null, env: NodeJS.ProcessEnv): string | null {
  if (env.STRATA_NO_PAGER !== undefined && env.STRATA_NO_PAGER !== '' && env.STRATA_NO_PAGER !== '0') return null;
  const cmd = configured ?? env.PAGER ?? 'less';
  return cmd.trim() === '' || cmd.trim() === 'cat' ? null : cmd;
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

function fmtDuration(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 12) : '-';
}

export function fmtTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}
