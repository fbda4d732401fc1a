import type { Command } from '../command.js';
import { add } from '../../core/ops/add.js';
import { fmtBytes } from '../output.js';
import { repoPaths, withCliRepo } from '../repo.js';

const cmd: Command = {
  name: 'add',
  summary: 'Stage files or folders: new and modified files are stored, deleted ones are staged for removal.',
  usage: 'add PATH... [-j N]',
  help: 'options:\n  -j, --jobs N   files hashed in parallel (default 16)\n\nexamples:\n  strata add data\n  strata add data/train models/model.onnx',
  options: { jobs: { type: 'string', short: 'j' } },
  async run(a, io) {
    const r = await withCliRepo({}, (repo) => add(repo, { progress: io.progress(), paths: repoPaths(repo, [...a.positionals, ...a.rest]), jobs: a.values.jobs ? Number(a.values.jobs) : undefined }));
    io.endProgress();
    if (io.json_) io.json(r);
    else {
      io.out(`staged ${r.added} added, ${r.modified} modified, ${r.deleted} deleted (${r.unchanged} unchanged; ${r.files} files scanned, ${fmtBytes(r.bytes)} new data)`);
      if (r.gitignoreUpdated) io.out('updated .gitignore so git leaves the data to strata');
    }
  },
};
export default cmd;
