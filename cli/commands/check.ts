import type { Command } from '../command.js';
import { check, checkFailedError, type CheckReport } from '../../core/ops/check.js';
import { isStrataError } from '../../core/errors/index.js';
import { repoPaths, withCliRepo } from '../repo.js';

function cell(v: unknown): string {
  return v === null || v === undefined ? '∅' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const cmd: Command = {
  name: 'check',
  summary: 'Run the data checks of strata.checks.yaml on a commit (REF) or on the staged tables.',
  usage: 'check [REF] [PATH...] [--failures] [--json]',
  help: 'options:\n  --failures   list only checks that failed, warned or could not run\n  --json       the results as JSON\n\nWithout REF the staged versions are checked (what commit would commit). Exit 0 when no\nerror-level check fails, else 18 (CHECK_FAILED).',
  options: { failures: { type: 'boolean' } },
  async run(a, io) {
    const report: CheckReport = await withCliRepo({}, async (repo) => {
      const [first, ...more] = a.positionals;
      if (first === undefined) return check(repo, {});
      try {
        return await check(repo, { ref: first, paths: repoPaths(repo, more) });
      } catch (e) {
        if (!isStrataError(e, 'UNKNOWN_REF')) throw e;
        return check(repo, { paths: repoPaths(repo, a.positionals) });
      }
    });
    const shown = a.values.failures ? report.results.filter((r) => r.status !== 'pass') : report.results;
    if (io.json_) io.json({ ...report, results: shown });
    else {
      if (report.results.length === 0) io.out('no checks apply (strata.checks.yaml names no table here)');
      const w = Math.max(5, ...shown.map((r) => r.path.length));
      const n = Math.max(5, ...shown.map((r) => r.name.length));
      if (shown.length) io.out(`${'path'.padEnd(w)}  ${'check'.padEnd(n)}  ${'status'.padEnd(6)}  failing`);
      for (const r of shown) {
        io.out(`${r.path.padEnd(w)}  ${r.name.padEnd(n)}  ${r.status.padEnd(6)}  ${r.failing}${r.message ? `  ${r.message}` : ''}`);
        for (const row of r.sample) io.out(`${' '.repeat(w + 4)}${Object.entries(row).map(([k, v]) => `${k}=${cell(v)}`).join(' ')}`);
      }
      const count = (s: string) => report.results.filter((r) => r.status === s).length;
      io.out(`${report.results.length} check(s): ${count('pass')} passed, ${count('fail')} failed, ${count('warn')} warned, ${count('error')} could not run`);
    }
    if (!report.ok) {
      if (io.json_) return 18;
      throw checkFailedError(report, report.commit ? `checks of ${report.commit.slice(0, 12)}` : 'checks of the staged tables');
    }
  },
};
export default cmd;
