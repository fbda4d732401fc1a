/**
 * CodeRepo over the `git` program (plumbing with stable output, run with execFile/spawn and
 * argument arrays, never a shell). Reads linked worktrees (`.git` is a `gitdir:` file), submodules
 * and sparse checkouts as git does, and `status` uses the index's stat cache instead of hashing
 * every tracked file.
 *
 * A repository may be hostile (a folder someone handed over): nothing here lets its config run a
 * program. Every command gets core.fsmonitor=false and core.hooksPath=/dev/null, the status also
 * blanks every filter driver the config names (filter.<name>.clean/smudge/process: a clean filter
 * runs when git re-hashes a file), submodules are not recursed into (their configs are not read),
 * no pager, no terminal prompt, no optional locks (a read never rewrites the index), and no GIT_*
 * variable of the caller leaks in. The commands used (rev-parse, symbolic-ref, config --get,
 * status, ls-tree, cat-file without --textconv/--filters) run no diff drivers, textconv or hooks.
 */
import { execFile, spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { StrataError } from '../errors/index.js';
import { checkOid, type CodeRepo, type GitTreeEntry, type TrackedChange } from './repo.js';

/** GIT_CONFIG_COUNT (how the filter overrides are passed, names uninterpreted) arrived in 2.31. */
const MIN_GIT: readonly [number, number] = [2, 31];
const MAX_OUTPUT = 512 * 1024 * 1024;
const SAFE_CONFIG: ReadonlyArray<[string, string]> = [
  ['core.fsmonitor', 'false'],
  ['core.hooksPath', '/dev/null'],
  ['core.untrackedCache', 'false'],
];

function gitEnv(extra: ReadonlyArray<[string, string]> = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_') && v !== undefined) env[k] = v;
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_OPTIONAL_LOCKS = '0';
  env.GIT_PAGER = 'cat';
  env.LC_ALL = 'C';
  const all = [...SAFE_CONFIG, ...extra];
  env.GIT_CONFIG_COUNT = String(all.length);
  all.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

function baseArgs(cwd: string): string[] {
  const out = ['--no-pager', '-C', cwd];
  for (const [k, v] of SAFE_CONFIG) out.push('-c', `${k}=${v}`);
  return out;
}

interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function runGit(cwd: string, args: string[], extraConfig: ReadonlyArray<[string, string]> = []): Promise<GitResult> {
  return new Promise((res, rej) => {
    execFile('git', [...baseArgs(cwd), ...args], { env: gitEnv(extraConfig), encoding: 'buffer', maxBuffer: MAX_OUTPUT, windowsHide: true }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      if (e && typeof e.code === 'string') return rej(e);
      res({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr: stderr.toString('utf8') });
    });
  });
}

function gitFailed(args: string[], r: GitResult): StrataError {
  return new StrataError('IO_ERROR', `git ${args[0]} failed: ${r.stderr.trim().split('\n').slice(-1)[0] ?? `exit ${r.code}`}`, {
    hint: 'run the same git command in the code repository to see what is wrong (git fsck)',
  });
}

async function gitOk(cwd: string, args: string[], extraConfig: ReadonlyArray<[string, string]> = []): Promise<Buffer> {
  const r = await runGit(cwd, args, extraConfig);
  if (r.code !== 0) throw gitFailed(args, r);
  return r.stdout;
}

let versionProbe: Promise<[number, number] | null> | undefined;
/** The git program's version, or null when there is none on PATH (probed once per process). */
function gitVersion(): Promise<[number, number] | null> {
  versionProbe ??= new Promise((res) => {
    execFile('git', ['version'], { env: gitEnv(), windowsHide: true }, (err, stdout) => {
      if (err) return res(null);
      const m = /git version (\d+)\.(\d+)/.exec(String(stdout));
      res(m ? [Number(m[1]), Number(m[2])] : null);
    });
  });
  return versionProbe;
}

export type CliOpenResult = { repo: CliCodeRepo; why?: undefined } | { repo: null; why: 'no-git' | 'not-a-repo' | 'refused'; detail: string };

/** The repository around `dir` as the git program sees it. */
export async function openCliRepo(dir: string): Promise<CliOpenResult> {
  const v = await gitVersion();
  if (!v) return { repo: null, why: 'no-git', detail: 'no git program on PATH' };
  if (v[0] < MIN_GIT[0] || (v[0] === MIN_GIT[0] && v[1] < MIN_GIT[1])) return { repo: null, why: 'no-git', detail: `git ${v.join('.')} is older than ${MIN_GIT.join('.')}` };
  let r: GitResult;
  try {
    r = await runGit(dir, ['rev-parse', '--show-toplevel']);
  } catch (e) {
    return { repo: null, why: 'no-git', detail: (e as Error).message };
  }
  if (r.code !== 0) {
    const msg = r.stderr.trim();
    if (/not a git repository/i.test(msg)) return { repo: null, why: 'not-a-repo', detail: msg };
    return { repo: null, why: 'refused', detail: msg.split('\n')[0] ?? `exit ${r.code}` };
  }
  const top = r.stdout.toString('utf8').replace(/\n$/, '');
  // A bare repository or a folder inside .git has no work tree: nothing to version.
  if (!top || !isAbsolute(top)) return { repo: null, why: 'not-a-repo', detail: 'no work tree' };
  return { repo: new CliCodeRepo(resolve(top)) };
}

/** porcelain v2 fields: `1 XY sub mH mI mW hH hI path`, `2 ... X<score> path\0orig`, `u XY sub m1 m2 m3 mW h1 h2 h3 path`. */
function parseStatus(out: Buffer): TrackedChange[] {
  const recs = out.toString('utf8').split('\0');
  const changes: TrackedChange[] = [];
  for (let i = 0; i < recs.length; i++) {
    const rec = recs[i]!;
    if (rec === '') continue;
    const kind = rec[0];
    if (kind !== '1' && kind !== '2' && kind !== 'u') continue;
    const nFields = kind === '1' ? 8 : kind === '2' ? 9 : 10;
    const parts = rec.split(' ');
    const path = parts.slice(nFields).join(' ');
    if (kind === '2') i++; // the original path follows as its own record
    const sub = parts[2] ?? 'N...';
    if (sub[0] === 'S') continue; // submodules are their own repositories
    let status: TrackedChange['status'] = 'modified';
    if (kind !== 'u') {
      const mH = parts[3];
      const mW = parts[5];
      if (mH === '000000') status = 'added';
      else if (mW === '000000') status = 'deleted';
    }
    changes.push({ path, status });
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return changes;
}

export class CliCodeRepo implements CodeRepo {
  readonly kind = 'cli' as const;
  constructor(readonly root: string) {}

  async headCommit(): Promise<string | null> {
    const r = await runGit(this.root, ['rev-parse', '-q', '--verify', 'HEAD^{commit}']);
    return r.code === 0 ? r.stdout.toString('utf8').trim() : null;
  }

  async branch(): Promise<string | null> {
    const r = await runGit(this.root, ['symbolic-ref', '-q', '--short', 'HEAD']);
    const b = r.stdout.toString('utf8').trim();
    return r.code === 0 && b ? b : null;
  }

  async originUrl(): Promise<string | null> {
    const r = await runGit(this.root, ['config', '--get', 'remote.origin.url']);
    const u = r.stdout.toString('utf8').trim();
    return r.code === 0 && u ? u : null;
  }

  /** filter.<name>.* blanked for every driver the config names, so no clean filter runs. */
  private async filterOverrides(): Promise<Array<[string, string]>> {
    const r = await runGit(this.root, ['config', '-z', '--name-only', '--get-regexp', '^filter\\.']);
    if (r.code !== 0) return [];
    const names = new Set<string>();
    for (const key of r.stdout.toString('utf8').split('\0')) {
      const m = /^filter\.(.+)\.[^.]+$/s.exec(key.trim());
      if (m) names.add(m[1]!);
    }
    const out: Array<[string, string]> = [];
    for (const n of names) out.push([`filter.${n}.clean`, ''], [`filter.${n}.smudge`, ''], [`filter.${n}.process`, ''], [`filter.${n}.required`, 'false']);
    return out;
  }

  async changedFiles(): Promise<TrackedChange[]> {
    const args = ['status', '--porcelain=v2', '-z', '--untracked-files=no', '--no-renames', '--ignore-submodules=all'];
    return parseStatus(await gitOk(this.root, args, await this.filterOverrides()));
  }

  async hasCommit(oid: string): Promise<boolean> {
    const r = await runGit(this.root, ['cat-file', '-e', `${checkOid(oid)}^{commit}`]);
    return r.code === 0;
  }

  async commitInfo(oid: string): Promise<{ tree: string; parents: string[] }> {
    const text = (await gitOk(this.root, ['cat-file', 'commit', checkOid(oid)])).toString('utf8');
    const head = text.slice(0, text.indexOf('\n\n') === -1 ? text.length : text.indexOf('\n\n'));
    let tree = '';
    const parents: string[] = [];
    for (const line of head.split('\n')) {
      if (line.startsWith('tree ')) tree = line.slice(5);
      else if (line.startsWith('parent ')) parents.push(line.slice(7));
    }
    return { tree: checkOid(tree), parents };
  }

  async listTree(commit: string): Promise<GitTreeEntry[]> {
    const out = await gitOk(this.root, ['ls-tree', '-r', '-t', '-z', '--full-tree', checkOid(commit)]);
    const entries: GitTreeEntry[] = [];
    for (const rec of out.toString('utf8').split('\0')) {
      if (!rec) continue;
      const tab = rec.indexOf('\t');
      const [mode, type, oid] = rec.slice(0, tab).split(' ') as [string, string, string];
      if (type !== 'tree' && type !== 'blob' && type !== 'commit') continue;
      entries.push({ path: rec.slice(tab + 1), mode: mode === '40000' ? '040000' : mode, type, oid });
    }
    return entries;
  }

  /** One `git cat-file --batch` for all of them: header `<oid> <type> <size>\n`, the bytes, `\n`. */
  async readObjects(oids: string[], each: (oid: string, type: string, bytes: Uint8Array) => Promise<void> | void): Promise<void> {
    if (oids.length === 0) return;
    for (const o of oids) checkOid(o);
    const child = spawn('git', [...baseArgs(this.root), 'cat-file', '--batch'], { env: gitEnv(), stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const errChunks: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => errChunks.push(d));
    const exited = new Promise<number>((res, rej) => {
      child.on('error', rej);
      child.on('close', (code) => res(code ?? 1));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(oids.join('\n') + '\n');
    let buf: Buffer = Buffer.alloc(0);
    let next = 0;
    let want: { oid: string; type: string; size: number } | null = null;
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          if (!want) {
            const nl = buf.indexOf(10);
            if (nl === -1) break;
            const header = buf.subarray(0, nl).toString('utf8');
            buf = buf.subarray(nl + 1);
            const [oid, type, size] = header.split(' ') as [string, string, string | undefined];
            if (type === 'missing' || size === undefined) {
              throw new StrataError('OBJECT_MISSING', `git object ${oid} is not in the code repository at ${this.root}`, { hint: 'fetch it (git fetch --all), then retry' });
            }
            want = { oid, type, size: Number(size) };
          }
          if (buf.length < want.size + 1) break;
          const bytes = Buffer.from(buf.subarray(0, want.size));
          buf = buf.subarray(want.size + 1);
          const got = want;
          want = null;
          if (got.oid !== oids[next]) throw new StrataError('IO_ERROR', `git cat-file answered ${got.oid} for ${oids[next]}`, { hint: 'run git fsck in the code repository' });
          next++;
          await each(got.oid, got.type, bytes);
        }
      }
    } finally {
      if (child.exitCode === null) child.kill();
    }
    const code = await exited;
    if (next !== oids.length) {
      throw new StrataError('IO_ERROR', `git cat-file stopped after ${next} of ${oids.length} objects (exit ${code}): ${Buffer.concat(errChunks).toString('utf8').trim()}`, { hint: 'run git fsck in the code repository' });
    }
  }
}
