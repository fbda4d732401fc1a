/**
 * The repositories a server hosts. Two modes:
 *  - data: `--data DIR` holds bare repositories as DIR/<name>/.strata/ (metadata + objects), plus the
 *    server's own state in DIR/.strata-server/ (tokens). Repository names cannot start with '.', so
 *    the two never collide.
 *  - project: `strata serve` inside a working project serves that one repository, read-only, named
 *    after its folder; server state lives in <project>/.strata/server/.
 * With `--store s3://bucket/prefix` objects live in the bucket under <prefix>/<name>/ (S3 layout of
 * docs/remote-format.md); SQLite metadata stays in the data directory.
 */
import { realpathSync, readdirSync, mkdirSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { StrataError } from '../core/errors/index.js';
import type { Repository } from '../core/repo/index.js';
import { createRepository, isRepository, metadataDir, openRepository, parseObjectStoreUrl, type S3Objects, type StoreUrl } from '../core/ops/open.js';
import { readBool } from '../core/config/registry.js';
import { recoverGateway } from '../core/gateway/multipart.js';

/** The characters of a repository name (see repoNameProblem for the whole rule). */
const REPO_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const ANON_KEY = 'server.anonymous-read';

/** Device names Windows reserves in every folder, with or without an extension (CON, con.txt, LPT1.tar). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³])(\.|$)/i;
/** Names the server uses for itself (its state lives in DIR/.strata-server/, tokens in tokens.json). */
const SERVER_NAMES = new Set(['tokens.json', 'tmp', 'api']);

/**
 * THE repository-name rule: 1-100 characters of letters, digits, '.', '_' and '-', starting with a
 * letter or digit; no '..'; not ending in '.' or '.lock'; not a Windows device name; not a name the
 * server uses for itself. Returns what is wrong, or null.
 */
function repoNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name === '') return 'it is empty';
  if (name.length > 100) return 'it is longer than 100 characters';
  if (!REPO_NAME_RE.test(name)) return "it must start with a letter or digit and use only letters, digits, '.', '_' and '-'";
  if (name.includes('..')) return "it contains '..'";
  if (name.endsWith('.') || name.toLowerCase().endsWith('.lock')) return "it ends in '.' or '.lock'";
  if (WINDOWS_RESERVED.test(name)) return 'it is a device name reserved by Windows';
  if (SERVER_NAMES.has(name.toLowerCase())) return 'the server uses that name for itself';
  return null;
}

export function checkRepoName(name: string): string {
  const problem = repoNameProblem(name);
  if (problem) {
    throw new StrataError('INVALID_ARGUMENT', `invalid repository name ${JSON.stringify(name)}: ${problem}`, {
      hint: "use 1-100 letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. fraud-detection)",
    });
  }
  return name;
}

export interface HostOptions {
  /** Directory holding bare repositories (data mode). */
  dataDir?: string;
  /** A working project to serve read-only (project mode). */
  project?: string;
  /** s3://bucket/prefix for objects (data mode only). */
  storeUrl?: string;
  /** Server-wide default for anonymous read (repositories override with server.anonymous-read). */
  anonymousRead: boolean;
  /** Extra S3 options (tests: endpoint, credentials). */
  s3?: Record<string, unknown>;
}

export class RepoHost {
  readonly mode: 'data' | 'project';
  readonly root: string;
  readonly stateDir: string;
  readonly readOnly: boolean;
  readonly projectName: string | null;
  private readonly store: StoreUrl | null;
  private readonly open_ = new Map<string, Promise<Repository>>();
  private closed = false;

  constructor(readonly opts: HostOptions) {
    if (opts.dataDir) {
      this.mode = 'data';
      mkdirSync(opts.dataDir, { recursive: true });
      this.root = realpathSync(opts.dataDir);
      this.stateDir = join(this.root, '.strata-server');
      this.readOnly = false;
      this.projectName = null;
    } else if (opts.project) {
      this.mode = 'project';
      this.root = realpathSync(opts.project);
      this.stateDir = join(metadataDir(this.root), 'server');
      this.readOnly = true;
      const b = basename(this.root);
      this.projectName = repoNameProblem(b) === null ? b : 'project';
    } else {
      throw new StrataError('INVALID_ARGUMENT', 'strata serve needs --data DIR, or to be run inside a strata project');
    }
    this.store = opts.storeUrl ? parseObjectStoreUrl(opts.storeUrl) : null;
    if (this.store && this.mode === 'project') {
      throw new StrataError('INVALID_ARGUMENT', '--store only applies with --data (a working project keeps its own objects)');
    }
    if (this.store && this.store.kind !== 's3') throw new StrataError('INVALID_ARGUMENT', '--store takes an s3://bucket/prefix URL');
  }

  /** Directory of repository `name` (validated; never outside the data directory). */
  private dirOf(name: string): string {
    checkRepoName(name);
    if (this.mode === 'project') {
      if (name !== this.projectName) throw notFound(name);
      return this.root;
    }
    return join(this.root, name);
  }

  exists(name: string): boolean {
    let dir: string;
    try {
      dir = this.dirOf(name);
    } catch {
      return false;
    }
    return isRepository(dir);
  }

  names(): string[] {
    if (this.mode === 'project') return [this.projectName!];
    let ents;
    try {
      ents = readdirSync(this.root, { withFileTypes: true });
    } catch {
      return [];
    }
    return ents
      .filter((d) => d.isDirectory() && repoNameProblem(d.name) === null && this.exists(d.name))
      .map((d) => d.name)
      .sort();
  }

  /** Where repository `name` keeps its objects with --store s3://: under <prefix>/<name>/. */
  private objectsOf(name: string): S3Objects | undefined {
    if (!this.store || this.store.kind !== 's3') return undefined;
    const prefix = [this.store.prefix, name].filter(Boolean).join('/');
    return { bucket: this.store.bucket, prefix, options: this.opts.s3 };
  }

  /** The open repository `name` (opened once, cached until close()). 404 NOT_A_REPOSITORY if absent. */
  async open(name: string): Promise<Repository> {
    if (this.closed) throw new StrataError('REPO_BUSY', 'server is shutting down');
    const dir = this.dirOf(name);
    let p = this.open_.get(name);
    if (!p) {
      if (!this.exists(name)) throw notFound(name);
      // A symlinked repository directory must not lead outside the data directory.
      const real = realpathSync(dir);
      if (this.mode === 'data' && !real.startsWith(this.root + sep)) throw notFound(name);
      const opened = openRepository(real, { s3: this.objectsOf(name) });
      // What an interrupted server left of the S3 gateway's uploads goes before the first request.
      p = this.readOnly ? opened : opened.then(async (repo) => (await recoverGateway(repo), repo));
      this.open_.set(name, p);
      p.catch(() => this.open_.delete(name));
    }
    return p;
  }

  async create(name: string, opts: { branch?: string; anonymousRead?: boolean } = {}): Promise<Repository> {
    if (this.readOnly) throw readOnlyError();
    const dir = this.dirOf(name);
    if (this.exists(name)) throw new StrataError('ALREADY_INITIALIZED', `repository ${name} already exists`);
    mkdirSync(dir, { recursive: true });
    await createRepository(dir, { branch: opts.branch, config: opts.anonymousRead !== undefined ? { [ANON_KEY]: String(opts.anonymousRead) } : {} });
    return this.open(name);
  }

  anonymousRead(repo: Repository): boolean {
    // Registry reading: yes/no, on/off, 1/0 mean what they say; an invalid value reads as false.
    return readBool(repo.db, ANON_KEY) ?? this.opts.anonymousRead;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.open_.values()];
    this.open_.clear();
    for (const p of all) {
      try {
        await (await p).close();
      } catch {
        /* already failed to open */
      }
    }
  }
}

function notFound(name: string): StrataError {
  return new StrataError('NOT_A_REPOSITORY', `no repository named ${JSON.stringify(name)} on this server`, { hint: 'GET /api/repos lists them' });
}

export function readOnlyError(): StrataError {
  return new StrataError('FORBIDDEN', 'this server serves a working project read-only', {
    hint: 'host repositories for push with strata serve --data DIR',
  });
}
