/**
 * Revision syntax: `HEAD`, a branch, a tag, `remote/branch`, a full or unique-prefix commit id,
 * followed by any of `~N`, `^`, `^N` (N-th parent). Ref names follow the one rule of
 * core/store/refs.ts (refNameProblem), modelled on git check-ref-format.
 */
import { StrataError } from '../errors/index.js';
import type { Id } from '../model/index.js';
import type { Repository } from './index.js';
import { MAX_REF_NAME, REF_NAME_HINT, refNameProblem } from '../store/refs.js';

export const HEADS = 'refs/heads/';
export const TAGS = 'refs/tags/';
export const REMOTES = 'refs/remotes/';

/** Branch, tag and remote names: the one ref-name rule of core/store/refs.ts (refNameProblem). */
export function validateRefName(name: string, what: 'branch' | 'tag' | 'remote'): void {
  // Length counts as on a remote, relative to refs/: heads/<branch>, tags/<tag>, remotes/<remote>/...
  const prefix = what === 'branch' ? 'heads/' : what === 'tag' ? 'tags/' : 'remotes/';
  const problem = refNameProblem(name, MAX_REF_NAME - prefix.length);
  if (problem) {
    throw new StrataError('INVALID_ARGUMENT', `invalid ${what} name ${JSON.stringify(name)}: ${problem}`, {
      hint: `${what} names: ${REF_NAME_HINT}`,
    });
  }
}

function unknownRef(spec: string): StrataError {
  return new StrataError('UNKNOWN_REF', `unknown revision ${JSON.stringify(spec)}`, {
    hint: 'use a branch (strata branch), a tag (strata tag), a commit id (strata log) or HEAD~N',
  });
}

/** Resolve a base name (no ~/^ suffix) to a commit id. */
function resolveBase(repo: Repository, name: string, spec: string): Id {
  if (name === 'HEAD' || name === '@') {
    const h = repo.head();
    if (!h.commit) {
      throw new StrataError('UNKNOWN_REF', `HEAD has no commits yet${h.branch ? ` (branch ${h.branch} is unborn)` : ''}`, {
        hint: 'make a first commit: strata add <path> && strata commit -m "..."',
      });
    }
    return h.commit;
  }
  if (name === 'MERGE_HEAD' || name === 'ORIG_HEAD') {
    const r = repo.db.getRef(name);
    if (r) return r.target;
    throw new StrataError('UNKNOWN_REF', `${name} is set only while a merge is in progress`, { hint: 'strata status tells whether one is' });
  }
  const candidates: Id[] = [];
  const branch = repo.db.getRef(HEADS + name);
  if (branch) candidates.push(branch.target);
  const tag = repo.db.getRef(TAGS + name);
  if (tag) candidates.push(tag.target);
  const remote = repo.db.getRef(REMOTES + name);
  if (remote) candidates.push(remote.target);
  if (name.startsWith('refs/')) {
    const r = repo.db.getRef(name);
    if (r) candidates.push(r.target);
  }
  const uniq = [...new Set(candidates)];
  if (uniq.length > 1) {
    throw new StrataError('AMBIGUOUS_REF', `${JSON.stringify(name)} is both a branch and a tag pointing at different commits`, {
      hint: `say refs/heads/${name} or refs/tags/${name}`,
    });
  }
  if (uniq.length === 1) return uniq[0]!;
  if (/^[0-9a-f]{4,64}$/.test(name)) {
    const ids = repo.db.commitIdsByPrefix(name, 10);
    if (ids.length === 1) return ids[0]!;
    if (ids.length > 1) {
      throw new StrataError('AMBIGUOUS_REF', `commit prefix ${name} is ambiguous: ${ids.map((i) => i.slice(0, 12)).join(', ')}`, {
        hint: 'use more characters of the commit id',
      });
    }
  }
  throw unknownRef(spec);
}

/** Resolve a revision expression to a commit id. */
export async function resolveRev(repo: Repository, spec: string): Promise<Id> {
  const m = /^(.*?)((?:[~^]\d*)*)$/.exec(spec.trim());
  if (!m || !m[1]) throw unknownRef(spec);
  let id = resolveBase(repo, m[1], spec);
  const suffix = m[2] ?? '';
  const re = /([~^])(\d*)/g;
  let s: RegExpExecArray | null;
  while ((s = re.exec(suffix))) {
    const n = s[2] === '' ? 1 : Number(s[2]);
    if (s[1] === '~') {
      for (let i = 0; i < n; i++) {
        const c = await repo.readCommit(id);
        if (!c.parents[0]) throw new StrataError('UNKNOWN_REF', `${spec}: commit ${id.slice(0, 12)} has no parent`, { hint: 'use a smaller N' });
        id = c.parents[0];
      }
    } else {
      if (n === 0) continue;
      const c = await repo.readCommit(id);
      const p = c.parents[n - 1];
      if (!p) throw new StrataError('UNKNOWN_REF', `${spec}: commit ${id.slice(0, 12)} has no parent #${n}`, { hint: 'check strata log' });
      id = p;
    }
  }
  return id;
}

/** Split `REF:PATH` (used by cat, ls, lineage). A bare path means HEAD. */
export function splitRefPath(arg: string): { ref: string; path: string } {
  const i = arg.indexOf(':');
  if (i < 0) return { ref: 'HEAD', path: arg };
  return { ref: arg.slice(0, i) || 'HEAD', path: arg.slice(i + 1) };
}
