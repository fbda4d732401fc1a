/**
 * `strata demo`: a sample project a newcomer can explore in one command. It copies the example
 * fraud-detection pipeline (docs/examples/fraud), makes it a git project (isomorphic-git: no git
 * binary needed), runs the pipeline over two versions of its raw data and commits both, so the
 * lineage browser has history, a diff and a model per data version. Serving is the CLI's job.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError, fromSystemError } from '../errors/index.js';
import { Repository } from '../repo/index.js';
import { init } from './init.js';
import { repro } from './repro.js';
import { add } from './add.js';
import { commit } from './commit.js';
import { createTag } from './tag.js';
import { withRepo, type OpContext } from './context.js';

export interface DemoOptions {
  dir: string;
  /** Called with one line per step, for the CLI to print. */
  onStep?: (line: string) => void;
}

export interface DemoResult {
  root: string;
  /** true when an existing demo project was reused as it was. */
  reused: boolean;
  commits: string[];
  runs: number;
}

function exampleDir(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const cand = join(d, 'docs', 'examples', 'fraud');
    if (fs.existsSync(join(cand, 'strata.yaml'))) return cand;
    d = resolve(d, '..');
  }
  throw new StrataError('INTERNAL', 'the example pipeline (docs/examples/fraud) is missing from this installation');
}

const AUTHOR = { name: 'Strata Demo', email: 'demo@strata.invalid' };

async function gitCommitAll(dir: string, message: string): Promise<string> {
  const git = (await import('isomorphic-git')).default;
  const matrix = await git.statusMatrix({ fs, dir });
  let changed = false;
  for (const [file, head, work, stage] of matrix) {
    const h = Number(head);
    const w = Number(work);
    if (h === 1 && w === 1 && Number(stage) === 1) continue;
    changed = true;
    if (w === 0) await git.remove({ fs, dir, filepath: file });
    else await git.add({ fs, dir, filepath: file });
  }
  if (!changed) return git.resolveRef({ fs, dir, ref: 'HEAD' });
  return git.commit({ fs, dir, message, author: AUTHOR });
}

export async function demo(opts: DemoOptions): Promise<DemoResult> {
  const root = resolve(opts.dir);
  const say = opts.onStep ?? (() => undefined);
  const existing = await fsp.readdir(root).catch(() => null);
  if (existing && existing.length > 0) {
    if (existing.includes('.strata') && existing.includes('strata.yaml')) {
      const repo = await Repository.openAt(root);
      const n = repo.db.listRefs('refs/heads/').length;
      await repo.close();
      if (n > 0) {
        say(`reusing the demo project in ${root}`);
        return { root, reused: true, commits: [], runs: 0 };
      }
    }
    throw new StrataError('INVALID_ARGUMENT', `${root} already exists and is not empty`, {
      hint: 'name a new folder: strata demo DIR (or remove that one)',
    });
  }
  try {
    await fsp.mkdir(root, { recursive: true });
    await fsp.cp(exampleDir(), root, { recursive: true });
  } catch (e) {
    throw fromSystemError(e, root);
  }
  const ctx: OpContext = { cwd: root };
  const git = (await import('isomorphic-git')).default;
  await git.init({ fs, dir: root, defaultBranch: 'main' });
  await gitCommitAll(root, 'Fraud detection pipeline');
  say('created a git project with the example pipeline (ingest -> clean -> features -> train -> evaluate)');
  await init({ dir: root });
  const commits: string[] = [];
  let runs = 0;
  const quiet = { onOutput: () => undefined };

  const version = (label: string, message: string, tag: string) => withRepo(ctx, async (repo) => {
    const r = await repro(repo, { hooks: quiet });
    if (r.failed.length) throw new StrataError('STAGE_FAILED', `the demo pipeline failed at ${r.failed.join(', ')}`);
    runs += r.stages.filter((s) => s.action === 'ran' || s.action === 'restored').length;
    say(`${label}: ran ${r.stages.filter((s) => s.action === 'ran').map((s) => s.stage).join(', ')}`);
    await add(repo, { paths: ['data', 'models', 'metrics'] });
    // strata listed the data paths in .gitignore: commit that, so the code state is clean.
    await gitCommitAll(root, 'Ignore data and models (versioned by strata)');
    const c = await commit(repo, { message, all: true });
    await createTag(repo, { name: tag, message });
    commits.push(c.id);
    say(`${label}: committed data, model and metrics as ${c.id.slice(0, 12)} (tag ${tag})`);
  });

  await version('version 1', 'Raw transactions v1 (seed 42, 5,000 rows) and the model trained on them', 'v1');
  // A second data version: a new extract of raw transactions.
  const paramsFile = join(root, 'params.yaml');
  const params = await fsp.readFile(paramsFile, 'utf8');
  await fsp.writeFile(paramsFile, params.replace(/seed: \d+/, 'seed: 7').replace(/rows: \d+/, 'rows: 6000'));
  await gitCommitAll(root, 'New raw extract: seed 7, 6,000 rows');
  // A check that fails, then passes: keeping the card verification charges (clean.min_amount 0)
  // breaks the no_verification_charges check of strata.checks.yaml, so repro marks clean failed
  // and records nothing; with the committed parameters it passes.
  const v2 = await fsp.readFile(paramsFile, 'utf8');
  await fsp.writeFile(paramsFile, v2.replace(/min_amount: [\d.]+/, 'min_amount: 0.0'));
  const tried = await withRepo(ctx, (repo) => repro(repo, { hooks: quiet }));
  const refused = tried.stages.find((s) => s.action === 'failed');
  if (!refused || !/no_verification_charges/.test(refused.error ?? '')) {
    throw new StrataError('INTERNAL', `the demo expected stage clean to fail its checks with clean.min_amount 0${refused ? `; ${refused.stage} failed: ${refused.error}` : ''}`);
  }
  runs += tried.stages.filter((s) => s.action === 'ran').length;
  say(`version 2, first try with clean.min_amount 0: stage ${refused.stage} failed its data checks, nothing recorded:`);
  for (const line of (refused.error ?? '').split('\n').slice(1)) say(`  ${line.trim()}`);
  await fsp.writeFile(paramsFile, v2);
  say('version 2: clean.min_amount back to 1.0');
  await version('version 2', 'Raw transactions v2 (seed 7, 6,000 rows) and the retrained model', 'v2');
  return { root, reused: false, commits, runs };
}
