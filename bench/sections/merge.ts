/**
 * Merge section: a three-way merge of two branches that each changed 1,000 files (disjoint), in a
 * repository of 10,000 files and in one of 100,000 files (full scale; quick: 100 changes in 1,000 /
 * 10,000 files). The cost should grow with the change, not with the repository: both rows have the
 * same absolute target (under 1 s) and the 100k/10k ratio is reported in the notes.
 *
 * Measured: `strata merge exp` through the CLI (process start included), from a fresh branch at the
 * pre-merge commit each run (the workspace is moved back untimed between runs). Peer: `git merge`
 * of the same files and the same changes in a git repository (`-q --no-edit`, reset back between
 * runs), the tool a user compares first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerSection } from '../registry.js';
import { attempt, git, gitEnv, repeat, runSeq, skipped, valueFigure } from '../proc.js';
import { strata, strataEnv, strataMissing } from '../strata.js';
import type { BenchContext, Figure, Row } from '../types.js';

interface Sizes {
  files: number;
  changes: number;
}

function sizesFor(ctx: BenchContext, big: boolean): Sizes {
  const full = ctx.scale.name === 'full';
  return big ? { files: full ? 100_000 : 10_000, changes: full ? 1000 : 100 } : { files: full ? 10_000 : 1000, changes: full ? 1000 : 100 };
}

/** data/dNNN/fNNNNNN.csv, 100 files a folder. */
function pathOf(i: number): string {
  return `data/d${String(Math.floor(i / 100)).padStart(4, '0')}/f${String(i).padStart(6, '0')}.csv`;
}

function writeAll(dir: string, files: number): void {
  for (let d = 0; d * 100 < files; d++) mkdirSync(join(dir, 'data', `d${String(d).padStart(4, '0')}`), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(dir, pathOf(i)), `id,value\n${i},${(i * 7919) % 1000}\n`);
}

/** Change `changes` files spread over the repository; `side` 0 (ours) and 1 (theirs) are disjoint. */
function change(dir: string, s: Sizes, side: 0 | 1): void {
  const step = Math.floor(s.files / (2 * s.changes));
  for (let k = 0; k < s.changes; k++) {
    const i = (2 * k + side) * step;
    writeFileSync(join(dir, pathOf(i)), `id,value\n${i},changed by ${side ? 'theirs' : 'ours'}\n`);
  }
}

const prepared = new Map<string, { strataDir: string; gitDir: string; oursTip: string; sizes: Sizes }>();

async function prepare(ctx: BenchContext, big: boolean): Promise<{ strataDir: string; gitDir: string; oursTip: string; sizes: Sizes }> {
  const key = big ? 'big' : 'small';
  const have = prepared.get(key);
  if (have) return have;
  const sizes = sizesFor(ctx, big);
  const strataDir = join(ctx.work, `strata-${sizes.files}`);
  const gitDir = join(ctx.work, `git-${sizes.files}`);
  const env = strataEnv();
  ctx.log(`merge: building ${sizes.files}-file repositories (strata and git), ${sizes.changes} changes a side`);
  for (const dir of [strataDir, gitDir]) {
    mkdirSync(dir, { recursive: true });
    writeAll(dir, sizes.files);
  }
  const S = (...a: string[]) => runSeq([strata(ctx.root, ...a)], { cwd: strataDir, env });
  await S('init');
  await S('add', 'data');
  await S('commit', '-m', 'base');
  await S('switch', '-c', 'exp');
  change(strataDir, sizes, 1);
  await S('commit', '-a', '-m', 'theirs');
  await S('switch', 'main');
  change(strataDir, sizes, 0);
  await S('commit', '-a', '-m', 'ours');
  const log = await S('--json', 'log', '-n', '1');
  const oursTip = (JSON.parse(log.results[0]!.stdout) as Array<{ id: string }>)[0]!.id;
  if (ctx.tools.git?.available) {
    const G = (...a: string[]) => runSeq([git(...a)], { cwd: gitDir, env: gitEnv() });
    await G('init', '-q', '-b', 'main');
    await G('add', '-A');
    await G('commit', '-q', '-m', 'base');
    await G('checkout', '-q', '-b', 'exp');
    change(gitDir, sizes, 1);
    await G('commit', '-q', '-a', '-m', 'theirs');
    await G('checkout', '-q', 'main');
    change(gitDir, sizes, 0);
    await G('commit', '-q', '-a', '-m', 'ours');
    await G('tag', 'ours');
  }
  const p = { strataDir, gitDir, oursTip, sizes };
  prepared.set(key, p);
  return p;
}

const times = new Map<string, number>();

function row(big: boolean): Row {
  const label = big ? '100,000' : '10,000';
  return {
    id: big ? 'merge.three-way-100k' : 'merge.three-way-10k',
    title: `merge: 1,000 changed files a side in ${label} files`,
    unit: 'ms',
    target: { kind: 'max', value: 1000 },
    async run(ctx) {
      const miss = strataMissing(ctx.root);
      if (miss) return { strata: { kind: 'error', message: miss }, peers: [] };
      const p = await prepare(ctx, big);
      const env = strataEnv();
      let n = 0;
      const strataFig: Figure = await attempt(async () =>
        valueFigure(
          await repeat(
            ctx.runs,
            async () => (await runSeq([strata(ctx.root, 'merge', 'exp', '-q')], { cwd: p.strataDir, env })).ms,
            async () => {
              // A fresh branch at the pre-merge commit (the workspace goes back, untimed).
              await runSeq([strata(ctx.root, 'switch', '-c', `bench-${Date.now()}-${n++}`, p.oursTip)], { cwd: p.strataDir, env });
            },
          ),
          `${p.sizes.files} files, ${p.sizes.changes} changed on each side`,
        ),
      );
      if (strataFig.kind === 'value') times.set(big ? 'big' : 'small', strataFig.value);
      const gitFig: Figure = ctx.tools.git?.available
        ? await attempt(async () =>
            valueFigure(
              await repeat(
                ctx.runs,
                async () => (await runSeq([git('merge', '-q', '--no-edit', 'exp')], { cwd: p.gitDir, env: gitEnv() })).ms,
                async () => {
                  await runSeq([git('reset', '-q', '--hard', 'ours')], { cwd: p.gitDir, env: gitEnv() });
                },
              ),
            ),
          )
        : skipped('git not installed');
      const notes: string[] = [];
      if (big && times.has('big') && times.has('small')) notes.push(`${label} files / 10,000 files: ×${(times.get('big')! / times.get('small')!).toFixed(2)} (×1 would mean the cost follows the change alone; both change 1,000 files a side, but in 1,000 folders instead of 100)`);
      return { strata: strataFig, peers: [{ name: 'git merge', figure: gitFig }], notes };
    },
  };
}

registerSection({
  id: 'merge',
  title: 'Merge',
  order: 60,
  datasets: [],
  description:
    'Two branches each change 1,000 different files (full scale; 100 at quick scale) of a repository of 10,000 and of 100,000 small CSV files (100 a folder, changes spread over all folders). `strata merge exp` through the CLI, process start included, from a fresh branch at the pre-merge commit each run; peer `git merge -q --no-edit` of the same files and changes (reset back between runs). Target: under 1 s for both sizes.',
  rows: [row(false), row(true)],
});
