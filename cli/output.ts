/**
 * Terminal output: plain text for people, JSON for scripts (--json), progress on a TTY only.
 */
import type { ProgressSink } from '../core/repo/worktree.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  json(v: unknown): void;
  readonly json_: boolean;
  readonly stdoutTTY: boolean;
  progress(): ProgressSink | undefined;
  endProgress(): void;
  color(code: 'red' | 'green' | 'yellow' | 'dim' | 'bold' | 'cyan', s: string): string;
}

const COLORS = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;

// A reader that stops early (`strata log | head`) closes the pipe: stop quietly, as git does,
// instead of dying with an unhandled EPIPE stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  throw e;
});

export function makeIo(opts: { json: boolean; quiet?: boolean }): Io {
  const stdoutTTY = !!process.stdout.isTTY;
  const stderrTTY = !!process.stderr.isTTY;
  const useColor = stdoutTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  let drew = false;
  let started = 0;
  return {
    json_: opts.json,
    stdoutTTY,
    out(s) {
      process.stdout.write(s.endsWith('\n') ? s : s + '\n');
    },
    err(s) {
      if (drew) {
        process.stderr.write('\r\x1b[K');
        drew = false;
      }
      process.stderr.write(s.endsWith('\n') ? s : s + '\n');
    },
    json(v) {
      process.stdout.write(JSON.stringify(v, null, 2) + '\n');
    },
    progress() {
      if (!stderrTTY || opts.json || opts.quiet || process.env.CI) return undefined;
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
  };
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
