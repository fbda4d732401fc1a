/**
 * Section `code`: reading the code version (HEAD, branch, origin, dirty check) of a git repository
 * with 10,000 tracked files, as every `strata run`, `repro` and `commit` does: the git program
 * (code.git = cli) beside isomorphic-git (code.git = builtin, the fallback without git on PATH).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerSection } from '../registry.js';
import { attempt, repeat, skipped, valueFigure } from '../proc.js';
import type { BenchContext, Figure } from '../types.js';
import { readCodeState } from '../../core/code/git.js';
import type { CodeGitMode } from '../../core/code/repo.js';

const FILES = 10_000;
let repoDir = '';
let noGit = '';

function gitCmd(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, stdio: 'ignore' });
}

/** Median ms of readCodeState with the dirty check, `mode` forced; asserts what it must find. */
async function measure(ctx: BenchContext, mode: CodeGitMode, runs: number): Promise<Figure> {
  if (noGit) return skipped(noGit);
  return attempt(async () => {
    const config = { getConfig: (k: string) => (k === 'code.git' ? mode : null) };
    await readCodeState(repoDir, { config }); // warm-up (page cache, module load)
    const samples = await repeat(runs, async () => {
      const t0 = performance.now();
      const s = await readCodeState(repoDir, { config });
      const ms = performance.now() - t0;
      if (!s.commit || !s.dirty) throw new Error(`${mode}: expected a dirty work tree at a commit`);
      return ms;
    });
    ctx.log(`code.${mode}: ${samples.map((s) => s.toFixed(0)).join(', ')} ms`);
    return valueFigure(samples);
  });
}

registerSection({
  id: 'code',
  title: 'Code version',
  order: 120,
  datasets: [],
  description: `The code version a run records (HEAD commit, branch, origin URL, dirty check) of a git repository with ${FILES.toLocaleString('en-US')} tracked files (100 folders of 100 small files, one committed, then one file edited so the check must find it), read in-process with \`readCodeState\`: strata with the git program (\`code.git cli\`, \`git status --porcelain=v2\` trusting the index's stat cache) beside isomorphic-git (\`code.git builtin\`, the fallback without git on PATH, which hashes every tracked file). Median of max(--runs, 5) runs for the git program and --runs runs for isomorphic-git, after one warm-up each.`,
  async setup(ctx) {
    repoDir = join(ctx.work, 'code-10k');
    try {
      execFileSync('git', ['version'], { stdio: 'ignore' });
    } catch {
      noGit = 'git not installed';
      return;
    }
    mkdirSync(repoDir, { recursive: true });
    gitCmd(repoDir, 'init', '-q', '-b', 'main');
    for (let d = 0; d < FILES / 100; d++) {
      const dir = join(repoDir, 'src', `m${d}`);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 100; i++) writeFileSync(join(dir, `f${d * 100 + i}.txt`), `file ${d * 100 + i}\n`);
    }
    gitCmd(repoDir, 'add', '-A');
    gitCmd(repoDir, 'commit', '-q', '-m', 'code');
    appendFileSync(join(repoDir, 'src', 'm42', 'f4242.txt'), 'edit\n');
  },
  rows: [
    {
      id: 'code.state-10k',
      title: 'code version with dirty check, 10k tracked files',
      unit: 'ms',
      target: { kind: 'max', value: 1000 },
      async run(ctx) {
        const strata = await measure(ctx, 'cli', Math.max(ctx.runs, 5));
        const builtin = await measure(ctx, 'builtin', ctx.runs);
        return { strata, peers: [{ name: 'isomorphic-git', figure: builtin }] };
      },
    },
  ],
});
