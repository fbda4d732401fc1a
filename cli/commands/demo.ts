import { join } from 'node:path';
import type { Command } from '../command.js';
import { demo } from '../../core/ops/demo.js';
import { StrataError } from '../../core/errors/index.js';

const cmd: Command = {
  name: 'demo',
  summary: 'Create a sample project (example pipeline, two data versions) and open the lineage browser on it.',
  usage: 'demo [DIR] [--port 8080] [--host 127.0.0.1] [--no-serve]',
  help:
    'DIR defaults to ./strata-demo; running it again on the same folder reuses it.\n\noptions:\n  --port N     port for the browser (default 8080; if it is taken a free one is used)\n  --host ADDR  address to bind (default 127.0.0.1)\n  --no-serve   build the project only',
  options: { port: { type: 'string', short: 'p' }, host: { type: 'string' }, 'no-serve': { type: 'boolean' } },
  async run(a, io) {
    const dir = a.positionals[0] ?? join(process.cwd(), 'strata-demo');
    const r = await demo({ dir, onStep: io.json_ ? undefined : (l) => io.out(l) });
    if (a.values['no-serve']) {
      if (io.json_) io.json(r);
      else io.out(`done: cd ${r.root} && strata log --oneline && strata lineage models/model.json`);
      return 0;
    }
    const { startServer } = await import('../../server/app.js');
    const port = a.values.port !== undefined ? Number(a.values.port) : 8080;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StrataError('INVALID_ARGUMENT', '--port must be 0-65535');
    const host = (a.values.host as string | undefined) ?? '127.0.0.1';
    let s;
    try {
      s = await startServer({ project: r.root, port, host, log: (m) => io.err(m) });
    } catch (e) {
      // The default port is taken: use a free one rather than fail (an explicit --port fails).
      if (!/already in use/.test((e as Error).message) || a.values.port !== undefined) throw e;
      s = await startServer({ project: r.root, port: 0, host, log: (m) => io.err(m) });
    }
    const name = s.host.projectName;
    if (io.json_) io.json({ ...r, url: s.url });
    else {
      io.out('');
      io.out(`Lineage browser: ${s.url}/repos/${encodeURIComponent(name ?? '')}/lineage`);
      io.out(`Project:         ${r.root}  (try: cd ${r.root} && strata lineage models/model.json)`);
      io.out('Press Ctrl-C to stop.');
    }
    await new Promise<void>((resolve) => {
      const stop = () => void s.close().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
export default cmd;
