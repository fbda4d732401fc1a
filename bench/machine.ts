import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { ToolInfo } from './types.js';

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGiB: number;
  disk: string;
  kernel: string;
  os: string;
  node: string;
}

function sh(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(dir: string): MachineInfo {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* keep os.cpus() */
  }
  const fs = sh('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '-T', dir]) ?? sh('stat', ['-f', '-c', '%T', dir]) ?? 'unknown';
  let osName = `${os.type()} ${os.release()}`;
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) osName = m[1];
  } catch {
    /* ignore */
  }
  return {
    cpu,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    ramGiB: os.totalmem() / 1024 ** 3,
    disk: ext4Journal(fs.replace(/\s+/g, ' on ')),
    kernel: os.release(),
    os: osName,
    node: process.version,
  };
}

/**
 * "ext4 on /dev/vda" says whether the filesystem keeps a journal: without one, ext4 passes over
 * inodes freed in the last minute when it creates files (recently_deleted in fs/ext4/ialloc.c),
 * which slows every tool that writes many files right after freeing many. A journaled device has a
 * /proc/fs/jbd2/<device>-8 entry.
 */
function ext4Journal(disk: string): string {
  const m = /^ext4 on \/dev\/(\S+)$/.exec(disk);
  if (!m) return disk;
  return existsSync(`/proc/fs/jbd2/${m[1]}-8`) ? `ext4 (journaled) on /dev/${m[1]}` : `ext4 (no journal) on /dev/${m[1]}`;
}

const TOOL_PROBES: Record<string, [string, string[]]> = {
  git: ['git', ['--version']],
  'git-lfs': ['git', ['lfs', 'version']],
  restic: ['restic', ['version']],
  b3sum: ['b3sum', ['--version']],
  cp: ['cp', ['--version']],
  rclone: ['rclone', ['version']],
  pandas: ['/usr/bin/python3', ['-c', 'import pandas; print("pandas " + pandas.__version__)']],
};

/** apt package providing each tool (for --install-peers). */
export const APT_PACKAGES: Record<string, string> = {
  git: 'git',
  'git-lfs': 'git-lfs',
  restic: 'restic',
  b3sum: 'b3sum',
  rclone: 'rclone',
  pandas: 'python3-pandas',
  time: 'time',
};

export function probeTools(): Record<string, ToolInfo> {
  const out: Record<string, ToolInfo> = {};
  for (const [name, [cmd, args]] of Object.entries(TOOL_PROBES)) {
    const v = sh(cmd, args);
    out[name] = v === null ? { available: false } : { available: true, version: v.split('\n')[0] };
  }
  out.time = existsSync('/usr/bin/time') ? { available: true, version: 'GNU time (/usr/bin/time)', path: '/usr/bin/time' } : { available: false };
  return out;
}

/** Installs missing peers with apt-get (root only). Returns a log line per action. */
export function installPeers(tools: Record<string, ToolInfo>, log: (m: string) => void): void {
  const missing = Object.keys(APT_PACKAGES).filter((t) => !tools[t]?.available);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    log(`not root: cannot install ${missing.join(', ')}`);
    return;
  }
  const pkgs = [...new Set(missing.map((t) => APT_PACKAGES[t]))];
  log(`installing with apt-get: ${pkgs.join(' ')}`);
  try {
    execFileSync('apt-get', ['install', '-y', ...pkgs], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (e) {
    log(`apt-get failed: ${(e as Error).message.split('\n')[0]}`);
  }
}
