/**
 * Server section: the lineage API on a 10,000-node history (depth 5 around one run), and 50
 * concurrent clients cloning one repository from one server over loopback (all must succeed).
 * The server runs in-process on 127.0.0.1:0; clients are real `strata clone` processes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerSection } from '../registry.js';
import { attempt, runCmd, valueFigure, firstErrorLine, CmdError } from '../proc.js';
import { strata, strataEnv, strataMissing } from '../strata.js';
import type { BenchContext, Figure } from '../types.js';

const LINEAGE_NODES = 10_000;
const CLONES = 50;
const CLONE_FILES = 200;

let notes: string[] = [];

async function run(ctx: BenchContext, cwd: string, args: string[], env: NodeJS.ProcessEnv = strataEnv()): Promise<string> {
  const [cmd, a] = strata(ctx.root, ...args);
  const r = await runCmd(cmd, a, { cwd, env });
  if (r.code !== 0) throw new CmdError(`strata ${args.join(' ')}: ${firstErrorLine(r)}`);
  return r.stdout;
}

/** A bare repository with a synthetic lineage history of ~LINEAGE_NODES nodes; returns a middle run id. */
async function buildLineage(dataDir: string): Promise<string> {
  const { initRepository } = await import('../../core/repo/index.js');
  const { insertRun, serializeRun } = await import('../../core/meta/runs.js');
  const { hashBytes, initHash } = await import('../../core/hash/index.js');
  await initHash();
  const repo = await initRepository(join(dataDir, 'lineage'));
  // Each run: uses the previous run's model + a fresh raw dataset, produces a model and metrics.
  // Nodes per run: the run, a raw dataset, a model, metrics = 4.
  const runs = Math.ceil(LINEAGE_NODES / 4);
  let prevModel: string | null = null;
  let middle = '';
  repo.db.tx(() => {
    for (let i = 0; i < runs; i++) {
      const hex = i.toString(16).padStart(12, '0');
      const id = `01900000-0000-7000-8000-${hex}`;
      const raw = hashBytes(`raw ${i}`);
      const model = hashBytes(`model ${i}`);
      const metrics = hashBytes(`metrics ${i}`);
      const deps = [{ path: `data/raw/part${i % 50}.csv`, id: raw, kind: 'file' as const }];
      if (prevModel) deps.push({ path: 'models/model.bin', id: prevModel, kind: 'file' as const });
      const r = {
        id, stage: `train${i % 7}`, status: 'ok' as const, cmd: 'node train.mjs', wdir: '.', env: {}, params: { i }, paramRefs: [], deps,
        outs: [
          { path: 'models/model.bin', id: model, type: 'model' as const, kind: 'file' as const, size: 1, cache: true },
          { path: 'metrics.json', id: metrics, type: 'metrics' as const, kind: 'file' as const, size: 1, cache: true },
        ],
        code: null, environment: { node: process.version, platform: process.platform, arch: process.arch, hostname: 'bench', strata: '0' },
        started: i, ended: i + 1, exitCode: 0, signal: null, log: null, signature: `s${i}`, cachedFrom: null, error: null, origin: 'pipeline' as const,
      };
      const bytes = serializeRun(r);
      insertRun(repo.db, r, hashBytes(bytes), bytes.toString('utf8'));
      prevModel = model;
      if (i === Math.floor(runs / 2)) middle = id;
    }
  });
  await repo.close();
  return middle;
}

type Started = Awaited<ReturnType<typeof import('../../server/app.js').startServer>>;
let srv: Started | null = null;
let middleRun = '';
let token = '';

registerSection({
  id: 'server',
  title: 'Server (strata serve)',
  order: 120,
  datasets: [],
  description:
    'In-process `strata serve --data` on 127.0.0.1 (random port). Lineage: a synthetic history of 10,000 lineage nodes ' +
    '(2,500 runs, each using the previous model and a raw dataset, producing a model and metrics); the figure is the median of 20 ' +
    'GET /api/repos/lineage/lineage?node=r:<middle run>&depth=5&direction=both (after one warm-up). Clones: one repository of ' +
    `${CLONE_FILES} small files plus one 2 MB file is pushed over HTTP, then ${CLONES} \`strata clone\` processes start at once; ` +
    'the figure is the wall time until all have finished, and the row fails unless every clone succeeds with the right bytes.',
  async setup(ctx) {
    if (strataMissing(ctx.root)) return;
    const { startServer } = await import('../../server/app.js');
    const dataDir = join(ctx.work, 'srv');
    mkdirSync(dataDir, { recursive: true });
    ctx.log('server: building a 10,000-node lineage history');
    middleRun = await buildLineage(dataDir);
    srv = await startServer({ dataDir, port: 0, host: '127.0.0.1', log: () => {}, webDir: null });
    token = srv.tokens.create('*', ['write']).token;
    notes = [];
  },
  async teardown() {
    await srv?.close();
    srv = null;
  },
  rows: [
    {
      id: 'server.lineage-10k-depth5',
      title: 'lineage API: 10,000-node history, depth 5 around one run',
      unit: 'ms',
      target: { kind: 'max', value: 200 },
      async run(ctx) {
        const strataFig: Figure = await attempt(async () => {
          if (!srv) throw new Error(strataMissing(ctx.root) ?? 'server did not start');
          const url = `${srv.url}/api/repos/lineage/lineage?node=r:${middleRun}&depth=5&direction=both`;
          let nodes = 0;
          const once = async () => {
            const t0 = performance.now();
            const res = await fetch(url);
            const body = (await res.json()) as { nodes: unknown[] };
            if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
            nodes = body.nodes.length;
            return performance.now() - t0;
          };
          await once();
          const samples: number[] = [];
          for (let i = 0; i < 20; i++) samples.push(await once());
          return valueFigure(samples, `${nodes} nodes in the answer`);
        });
        return { strata: strataFig, peers: [] };
      },
    },
    {
      id: 'server.clone-50-concurrent',
      title: `${CLONES} concurrent clones from one server (all succeed)`,
      unit: 'ms',
      async run(ctx) {
        const strataFig: Figure = await attempt(async () => {
          if (!srv) throw new Error(strataMissing(ctx.root) ?? 'server did not start');
          const src = join(ctx.work, 'src');
          const files: Record<string, Buffer> = {};
          for (let i = 0; i < CLONE_FILES; i++) files[`data/f${String(i).padStart(4, '0')}.csv`] = Buffer.from(`row,${i}\n`.repeat(20 + (i % 50)));
          files['data/big.bin'] = Buffer.alloc(2_000_000, 7);
          for (const [p, b] of Object.entries(files)) {
            mkdirSync(join(src, p, '..'), { recursive: true });
            writeFileSync(join(src, p), b);
          }
          const env = { ...strataEnv(), STRATA_TOKEN: token };
          await run(ctx, src, ['init'], env);
          await run(ctx, src, ['add', 'data'], env);
          await run(ctx, src, ['commit', '-m', 'bench'], env);
          await run(ctx, src, ['remote', 'add', 'origin', `${srv.url}/clones`], env);
          const r0 = srv.stats().requests;
          await run(ctx, src, ['push', 'origin', 'main'], env);
          const pushReq = srv.stats().requests - r0;
          const r1 = srv.stats().requests;
          const t0 = performance.now();
          const results = await Promise.all(
            Array.from({ length: CLONES }, (_, i) => {
              const [cmd, a] = strata(ctx.root, 'clone', `${srv!.url}/clones`, join(ctx.work, `clone${i}`));
              return runCmd(cmd, a, { cwd: ctx.work, env: strataEnv() });
            }),
          );
          const ms = performance.now() - t0;
          const failed = results.filter((r) => r.code !== 0);
          if (failed.length) throw new Error(`${failed.length}/${CLONES} clones failed: ${firstErrorLine(failed[0]!)}`);
          const { readFileSync } = await import('node:fs');
          for (let i = 0; i < CLONES; i += 7) {
            for (const p of ['data/f0003.csv', 'data/big.bin']) {
              if (!readFileSync(join(ctx.work, `clone${i}`, p)).equals(files[p]!)) throw new Error(`clone${i}/${p} differs`);
            }
          }
          const perClone = (srv.stats().requests - r1) / CLONES;
          notes.push(`push of ${CLONE_FILES + 1} files: ${pushReq} HTTP requests; each clone: ${perClone.toFixed(1)} requests on average.`);
          return valueFigure([ms], `${CLONES} clients, all succeeded`);
        });
        return { strata: strataFig, peers: [], notes: [...notes] };
      },
    },
  ],
});


