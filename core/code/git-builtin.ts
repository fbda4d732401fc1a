/**
 * CodeRepo over isomorphic-git: the fallback when no git program is on PATH (or `code.git` is
 * `builtin`). It runs nothing from the repository's config. It follows a `gitdir:` file (a
 * submodule's `.git`), and in a linked worktree (`git worktree add`: the git folder has a
 * `commondir`) it reads HEAD from the worktree and objects and refs from the common folder; there
 * it compares the work tree with HEAD directly (isomorphic-git cannot read a worktree's own index),
 * so a new file that is only staged is not seen. Its status hashes every tracked file, and a sparse
 * checkout's skipped files read as deleted, and a change of file mode alone (chmod +x) is not seen:
 * the git program does all three right.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StrataError } from '../errors/index.js';
import { findGitRoot } from './git.js';
import { checkOid, type CodeRepo, type GitTreeEntry, type TrackedChange } from './repo.js';

type Git = typeof import('isomorphic-git');
let gitMod: Git | undefined;
async function git(): Promise<Git> {
  gitMod ??= (await import('isomorphic-git')).default as unknown as Git;
  return gitMod;
}

/** The git folder of the work tree at `root` (`.git`, or where its `gitdir:` file points), and the common folder of a linked worktree. */
async function gitDirs(root: string): Promise<{ gitdir: string; common: string }> {
  const dotgit = join(root, '.git');
  let gitdir = dotgit;
  const st = await fsp.stat(dotgit);
  if (st.isFile()) {
    const m = /^gitdir: *(.+?)\s*$/m.exec(await fsp.readFile(dotgit, 'utf8'));
    if (!m) throw new StrataError('IO_ERROR', `${dotgit} is neither a folder nor a "gitdir:" file`, { hint: 'repair the git checkout (git worktree repair), or run git status there' });
    gitdir = resolve(root, m[1]!);
  }
  let common = gitdir;
  const cd = await fsp.readFile(join(gitdir, 'commondir'), 'utf8').catch(() => null);
  if (cd !== null && cd.trim() !== '') common = resolve(gitdir, cd.trim());
  return { gitdir, common };
}

/**
 * Where isomorphic-git finds the objects, refs and config of the work tree at `root` (a submodule's
 * or linked worktree's common git folder); HEAD of a linked worktree is not there (CodeRepo.headCommit).
 */
export async function isoGitLocation(root: string): Promise<{ dir: string; gitdir: string }> {
  return { dir: root, gitdir: (await gitDirs(root)).common };
}

export async function openBuiltinRepo(dir: string): Promise<BuiltinCodeRepo | null> {
  const root = await findGitRoot(dir);
  if (!root) return null;
  const { gitdir, common } = await gitDirs(root);
  return new BuiltinCodeRepo(root, gitdir, common);
}

function byPath(a: TrackedChange, b: TrackedChange): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

export class BuiltinCodeRepo implements CodeRepo {
  readonly kind = 'builtin' as const;
  constructor(
    readonly root: string,
    /** This work tree's git folder (HEAD, index). */
    private readonly gitdir: string,
    /** Objects, refs and config (the same folder except in a linked worktree). */
    private readonly common: string,
  ) {}

  private get linked(): boolean {
    return this.gitdir !== this.common;
  }

  private args(): { fs: typeof fs; dir: string; gitdir: string } {
    return { fs, dir: this.root, gitdir: this.common };
  }

  /** HEAD of this work tree: `ref: refs/heads/x` or a commit id. */
  private async headRef(): Promise<string | null> {
    const text = await fsp.readFile(join(this.gitdir, 'HEAD'), 'utf8').catch(() => null);
    return text === null ? null : text.trim();
  }

  async headCommit(): Promise<string | null> {
    const head = await this.headRef();
    if (!head) return null;
    if (!head.startsWith('ref:')) return /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(head) ? head : null;
    const g = await git();
    try {
      return await g.resolveRef({ ...this.args(), ref: head.slice(4).trim() });
    } catch {
      return null;
    }
  }

  async branch(): Promise<string | null> {
    const head = await this.headRef();
    const m = head ? /^ref:\s*refs\/heads\/(.+)$/.exec(head) : null;
    return m ? m[1]! : null;
  }

  async originUrl(): Promise<string | null> {
    const g = await git();
    try {
      const url = (await g.getConfig({ ...this.args(), path: 'remote.origin.url' })) as string | undefined;
      return typeof url === 'string' && url !== '' ? url : null;
    } catch {
      return null;
    }
  }

  async changedFiles(): Promise<TrackedChange[]> {
    const g = await git();
    const out: TrackedChange[] = [];
    if (this.linked) {
      const head = await this.headCommit();
      if (!head) return [];
      await g.walk({
        ...this.args(),
        trees: [g.TREE({ ref: head }), g.WORKDIR()],
        map: async (path, [h, w]) => {
          if (path === '.') return true;
          if (!h) return null; // untracked: not walked
          const ht = await h.type();
          if (ht === 'tree') return true;
          if (ht !== 'blob') return null;
          if (!w) out.push({ path, status: 'deleted' });
          else if ((await w.type()) !== 'blob' || (await w.oid()) !== (await h.oid()) || (await w.mode()) !== (await h.mode())) out.push({ path, status: 'modified' });
          return null;
        },
      });
      return out.sort(byPath);
    }
    const matrix = await g.statusMatrix({ ...this.args(), gitdir: this.gitdir, ignored: false });
    for (const [path, head, workdir, stage] of matrix) {
      // [HEAD, WORKDIR, STAGE]: 1,1,1 unchanged; 0,2,0 untracked (not a code change).
      if (head === 1 && workdir === 1 && stage === 1) continue;
      if (head === 0 && stage === 0) continue;
      out.push({ path, status: head === 0 ? 'added' : workdir === 0 ? 'deleted' : 'modified' });
    }
    return out.sort(byPath);
  }

  async hasCommit(oid: string): Promise<boolean> {
    checkOid(oid);
    const g = await git();
    try {
      await g.readCommit({ ...this.args(), oid });
      return true;
    } catch {
      return false;
    }
  }

  async commitInfo(oid: string): Promise<{ tree: string; parents: string[] }> {
    const g = await git();
    const c = await g.readCommit({ ...this.args(), oid: checkOid(oid) });
    return { tree: c.commit.tree, parents: c.commit.parent };
  }

  async listTree(commit: string): Promise<GitTreeEntry[]> {
    const g = await git();
    const out: GitTreeEntry[] = [];
    const walk = async (treeOid: string, base: string): Promise<void> => {
      const { tree } = await g.readTree({ ...this.args(), oid: treeOid });
      for (const e of tree) {
        const path = base ? `${base}/${e.path}` : e.path;
        out.push({ path, mode: e.mode, type: e.type, oid: e.oid });
        if (e.type === 'tree') await walk(e.oid, path);
      }
    };
    await walk((await this.commitInfo(commit)).tree, '');
    return out;
  }

  async readObjects(oids: string[], each: (oid: string, type: string, bytes: Uint8Array) => Promise<void> | void): Promise<void> {
    const g = await git();
    for (const oid of oids) {
      let o;
      try {
        o = await g.readObject({ ...this.args(), oid: checkOid(oid), format: 'content' });
      } catch {
        throw new StrataError('OBJECT_MISSING', `git object ${oid} is not in the code repository at ${this.root}`, { hint: 'fetch it (git fetch --all), then retry' });
      }
      await each(oid, o.type, o.object as Uint8Array);
    }
  }
}
