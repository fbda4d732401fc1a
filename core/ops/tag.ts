import { StrataError } from '../errors/index.js';
import { serializeTag, type TagObject } from '../model/index.js';
import { hashBytes } from '../hash/index.js';
import { TAGS, resolveRev, validateRefName } from '../repo/refs.js';
import type { Repository } from '../repo/index.js';

export interface TagInfo {
  name: string;
  commit: string;
  message: string | null;
  tagger: string | null;
  time: number | null;
}

export async function listTags(repo: Repository): Promise<TagInfo[]> {
  return repo.db.listRefs(TAGS).map((r) => {
      const name = r.name.slice(TAGS.length);
      const t = repo.db.getTag(name);
      return { name, commit: r.target, message: t?.message ?? null, tagger: t?.tagger ?? null, time: t?.time ?? null };
    });
}

export async function createTag(repo: Repository, opts: { name: string; ref?: string; message?: string; force?: boolean }): Promise<TagInfo> {
  return repo.withWriteLock('tag', async () => {
    validateRefName(opts.name, 'tag');
    const commit = await resolveRev(repo, opts.ref ?? 'HEAD');
    const existing = repo.db.getRef(TAGS + opts.name);
    if (existing && !opts.force) throw new StrataError('REF_EXISTS', `tag ${opts.name} already exists`, { hint: 'tags are meant not to move; pick a new name or use --force' });
    const author = await repo.author();
    const time = Date.now();
    let object: string | null = null;
    if (opts.message) {
      const t: TagObject = { name: opts.name, target: commit, message: opts.message, tagger: author, time };
      const bytes = serializeTag(t);
      object = hashBytes(bytes);
      await repo.store.put(object, bytes);
    }
    const tagger = `${author.name} <${author.email}>`;
    repo.db.tx(() => {
      repo.db.casRef(TAGS + opts.name, existing?.target ?? null, commit);
      repo.db.putTag({ name: opts.name, target: commit, message: opts.message ?? null, tagger, time, object });
    });
    return { name: opts.name, commit, message: opts.message ?? null, tagger, time };
  });
}

export async function deleteTag(repo: Repository, name: string): Promise<{ name: string; commit: string }> {
  return repo.withWriteLock('tag', async () => {
    const ref = repo.db.getRef(TAGS + name);
    if (!ref) throw new StrataError('UNKNOWN_REF', `no tag named ${name}`, { hint: 'list tags with strata tag' });
    repo.db.tx(() => {
      repo.db.casRef(TAGS + name, ref.target, null);
      repo.db.deleteTag(name);
    });
    return { name, commit: ref.target };
  });
}
