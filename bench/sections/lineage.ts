/**
 * Lineage and pipeline section:
 *  - lineage.upstream-depth20: upstream lineage of a model at depth 20 in a graph of 10,000 runs and
 *    100,000+ version nodes (synthetic rows written straight into a repository's SQLite DB: 500
 *    chains of 20 runs, each run reading 2 outputs of the previous run plus a code file and writing
 *    10 versions). Measured in-process on the graph query the CLI and the HTTP API share; the
 *    whole `strata lineage` command (process start included) is reported as a note.
 *  - lineage.repro-noop: `strata repro` on a 20-stage pipeline where nothing is stale (CLI, process
 *    start included).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { registerSection } from '../registry.js';
import { attempt, median, repeat, runSeq, valueFigure } from '../proc.js';
import { strata, strataEnv, strataMissing } from '../strata.js';
import type { BenchContext, Figure } from '../types.js';
import { hashBytes, initHash } from '../../core/hash/index.js';
import { upstreamOf } from '../../core/lineage/graph.js';
import { insertRun, serializeRun, type RunRecord } from '../../core/meta/runs.js';
import { initRepository } from '../../core/repo/index.js';
import type { MetaDb } from '../../core/meta/db.js';

const CHAINS = 500;
const CHAIN_LENGTH = 20;
const OUTS_PER_RUN = 10;
const STAGES = 20;

let graphRepo = '';
let target: { path: string; id: string } | null = null;
let nodeCount = 0;

function uuid(n: number): string {
  const h = n.toString(16).padStart(12, '0');
  return `01900000-0000-7000-8000-${h}`;
}

/** Write the synthetic graph; returns the model at the end of the last chain. */
async function buildGraph(dir: string, log: (m: string) => void): Promise<{ path: string; id: string; nodes: number }> {
  await initHash();
  const repo = await initRepository(dir);
  const db = repo.db;
  let runNo = 0;
  let last: { path: string; id: string } = { path: '', id: '' };
  const base: Omit<RunRecord, 'id' | 'stage' | 'deps' | 'outs' | 'params' | 'started' | 'ended' | 'signature'> = {
    status: 'ok',
    cmd: 'python step.py',
    wdir: '.',
    env: {},
    paramRefs: [{ file: 'params.yaml', key: 'lr' }],
    code: { commit: 'a'.repeat(40), branch: 'main', remote: null, dirty: false },
    environment: { node: process.version, platform: process.platform, arch: process.arch, hostname: 'bench', strata: '0.0.0' },
    exitCode: 0,
    signal: null,
    log: null,
    cachedFrom: null,
    error: null,
    origin: 'pipeline',
  };
  log(`lineage: writing ${CHAINS * CHAIN_LENGTH} runs, ${CHAINS * CHAIN_LENGTH * OUTS_PER_RUN} output versions`);
  for (let c = 0; c < CHAINS; c++) {
    db.tx(() => {
      let prev: Array<{ path: string; id: string }> = [{ path: `raw/c${c}.csv`, id: hashBytes(`raw ${c}`) }];
      for (let s = 0; s < CHAIN_LENGTH; s++) {
        const n = runNo++;
        const outs = Array.from({ length: OUTS_PER_RUN }, (_, k) => ({
          path: s === CHAIN_LENGTH - 1 && k === 0 ? `models/c${c}.bin` : `data/c${c}/s${s}/part${k}.parquet`,
          id: hashBytes(`out ${n} ${k}`),
          type: (s === CHAIN_LENGTH - 1 && k === 0 ? 'model' : 'dataset') as 'model' | 'dataset',
          kind: 'file' as const,
          size: 1000,
          cache: true,
        }));
        const deps = [...prev.slice(0, 2), { path: `src/step${s}.py`, id: hashBytes(`code ${s} ${c % 7}`) }].map((d) => ({ ...d, kind: 'file' as const }));
        const rec: RunRecord = { ...base, id: uuid(n), stage: `step${s}`, deps, outs, params: { lr: c / 1000 }, started: n, ended: n + 1, signature: hashBytes(`sig ${n}`) };
        const bytes = serializeRun(rec);
        insertRun(db, rec, hashBytes(bytes), bytes.toString('utf8'));
        prev = outs.map((o) => ({ path: o.path, id: o.id }));
        if (s === CHAIN_LENGTH - 1) last = { path: outs[0]!.path, id: outs[0]!.id };
      }
    });
  }
  const nodes = ((db as MetaDb).stmt('SELECT count(*) AS n FROM lineage_nodes').get() as { n: number }).n;
  await repo.close();
  return { ...last, nodes };
}

function pipelineYaml(): string {
  const lines = ['stages:'];
  for (let i = 0; i < STAGES; i++) {
    const dep = i === 0 ? 'seed.txt' : `out/s${i - 1}.txt`;
    lines.push(`  s${i}:`, `    cmd: cp ${dep} out/s${i}.txt`, `    deps: [${dep}]`, `    params: [p.s${i}]`, `    outs: [out/s${i}.txt]`);
  }
  return lines.join('\n') + '\n';
}

async function strataFigure(ctx: BenchContext, fn: () => Promise<Figure>): Promise<Figure> {
  const missing = strataMissing(ctx.root);
  if (missing) return { kind: 'error', message: missing };
  return attempt(fn);
}

registerSection({
  id: 'lineage',
  title: 'Lineage and pipelines',
  order: 110,
  datasets: [],
  description:
    'Upstream lineage of a model at depth 20 in a graph of 10,000 runs and 100,000+ version nodes (500 chains of 20 runs; each run reads two outputs of the previous run and a code file, writes 10 versions), written as rows into a repository\'s SQLite DB; the figure is the graph query (`upstreamOf`, as used by `strata lineage` and the HTTP API), median of max(--runs, 5) after one warm-up; the note gives the whole `strata lineage` command. `strata repro` with nothing stale on a 20-stage chain (each stage copies a small file), whole command including process start.',
  async setup(ctx) {
    graphRepo = join(ctx.work, 'graph');
    mkdirSync(graphRepo, { recursive: true });
    const g = await buildGraph(graphRepo, ctx.log);
    target = { path: g.path, id: g.id };
    nodeCount = g.nodes;
  },
  rows: [
    {
      id: 'lineage.upstream-depth20',
      title: 'lineage upstream, depth 20, 10k runs / 100k versions',
      unit: 'ms',
      target: { kind: 'max', value: 100 },
      async run(ctx) {
        const { MetaDb } = await import('../../core/meta/db.js');
        const db = MetaDb.open(join(graphRepo, '.strata', 'strata.db'));
        let nodes = 0;
        let fig: Figure;
        try {
          fig = await attempt(async () => {
            upstreamOf(db, target!.path, target!.id, { depth: 20 });
            const samples = await repeat(Math.max(ctx.runs, 5), async () => {
              const t0 = performance.now();
              const g = upstreamOf(db, target!.path, target!.id, { depth: 20 });
              const ms = performance.now() - t0;
              nodes = g.nodes.length;
              if (g.nodes.filter((n) => n.kind === 'run').length !== CHAIN_LENGTH) throw new Error(`expected ${CHAIN_LENGTH} runs upstream, got ${g.nodes.length} nodes`);
              return ms;
            });
            return valueFigure(samples, `${nodes} nodes returned; graph has ${nodeCount} nodes`);
          });
        } finally {
          db.close();
        }
        const notes: string[] = [];
        const cli = await strataFigure(ctx, async () =>
          valueFigure(await repeat(ctx.runs, async () => (await runSeq([strata(ctx.root, 'lineage', target!.path, '--upstream', '--depth', '20', '--json')], { cwd: graphRepo, env: strataEnv() })).ms)),
        );
        if (cli.kind === 'value') notes.push(`whole command \`strata lineage ${target!.path} --upstream --depth 20 --json\` (process start included): ${median(cli.samples).toFixed(0)} ms`);
        else notes.push(`whole command: ${cli.kind === 'error' ? cli.message : cli.reason}`);
        return { strata: fig, peers: [], notes };
      },
    },
    {
      id: 'lineage.repro-noop',
      title: 'repro, 20 stages, nothing stale',
      unit: 'ms',
      target: { kind: 'max', value: 1000 },
      async run(ctx) {
        const dir = join(ctx.work, 'repro20');
        const fig = await strataFigure(ctx, async () => {
          mkdirSync(join(dir, 'out'), { recursive: true });
          writeFileSync(join(dir, 'seed.txt'), 'seed\n');
          writeFileSync(join(dir, 'params.yaml'), 'p:\n' + Array.from({ length: STAGES }, (_, i) => `  s${i}: ${i}\n`).join(''));
          writeFileSync(join(dir, 'strata.yaml'), pipelineYaml());
          await runSeq([strata(ctx.root, 'init'), strata(ctx.root, 'repro')], { cwd: dir, env: strataEnv() });
          const samples = await repeat(ctx.runs, async () => {
            const r = await runSeq([strata(ctx.root, 'repro')], { cwd: dir, env: strataEnv() });
            if (!/everything is up to date/.test(r.results[0]!.stdout)) throw new Error('repro was not a no-op');
            return r.ms;
          });
          return valueFigure(samples);
        });
        return { strata: fig, peers: [] };
      },
    },
  ],
});
