import type { Command } from '../command.js';
import { createTag, deleteTag, listTags } from '../../core/ops/tag.js';
import { shortId } from '../output.js';
import { withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'tag',
  summary: 'List tags; create NAME [REF] (annotated with -m); delete with -d.',
  usage: 'tag [NAME [REF]] [-m MESSAGE] [-d NAME] [-f]',
  options: { message: { type: 'string', short: 'm' }, delete: { type: 'boolean', short: 'd' }, force: { type: 'boolean', short: 'f' } },
  async run(a, io) {
    const [name, ref] = a.positionals;
    if (a.values.delete) {
      if (!name) throw Object.assign(new Error('usage: strata tag -d NAME'), { name: 'StrataError', code: 'INVALID_ARGUMENT', exitCode: 2 });
      const r = await withCliRepo({}, (repo) => deleteTag(repo, name));
      return io.json_ ? io.json(r) : io.out(`Deleted tag ${r.name} (was ${shortId(r.commit)})`);
    }
    if (name) {
      const r = await withCliRepo({}, (repo) => createTag(repo, { name, ref, message: a.values.message as string | undefined, force: !!a.values.force }));
      return io.json_ ? io.json(r) : io.out(`Tagged ${shortId(r.commit)} as ${r.name}`);
    }
    const list = await withCliRepo({}, (repo) => listTags(repo));
    if (io.json_) return io.json(list);
    for (const t of list) io.out(`${t.name.padEnd(20)} ${io.color('dim', shortId(t.commit))}${t.message ? '  ' + t.message.split('\n')[0] : ''}`);
  },
};
export default cmd;
