/**
 * Strata benchmark harness — `npm run bench [-- flags]` (runs dist/bench/bench.js).
 *
 * Flags:
 *   --scale tiny|quick|full   dataset scale (default full); --quick = --scale quick
 *   --only a,b                run only these sections (ids or aliases: small, large (+throughput),
 *                             throughput, mixed, startup, lineage, remotes, server, ...)
 *   --runs N                  repetitions per timed figure, median reported (default 3)
 *   --dir PATH                work dir for datasets and scratch repos (default $TMPDIR/strata-bench, outside any git repository)
 *   --no-write                do not rewrite docs/benchmarks.md
 *   --merge                   with --only: keep the previous results (<dir>/results-<scale>.json) of
 *                             the sections not run this time, marked with the date they were measured
 *   --doc PATH                write the report there instead of docs/benchmarks.md
 *   --no-sync                 do not run `sync` before each timed run (quick smoke runs on busy machines)
 *   --keep                    keep the per-section scratch folders (<dir>/work/<scale>/<section>)
 *   --seed N                  dataset seed (default 1)
 *   --install-peers           apt-get install missing peers (git-lfs, restic, b3sum, rclone, time) when root
 * Results are also written as JSON to <dir>/results-<scale>.json.
 *
 * ── Adding a section (row registry) ──────────────────────────────────────────────────────────
 * Drop a file in bench/sections/ (every compiled module there is imported at start-up, in file
 * name order; registration order does not matter, `order` does) that calls registerSection():
 *
 *   import { registerSection } from '../registry.js';
 *   import { attempt, runSeq, repeat, valueFigure, skipped } from '../proc.js';
 *   import { strata, strataEnv, strataMissing } from '../strata.js';
 *
 *   let s3: ChildProcess | undefined;               // state shared by the rows lives in the closure
 *   registerSection({
 *     id: 'remotes', title: 'Remotes', order: 100,   // built-ins use 10..50
 *     aliases: ['s3'],                                // optional extra --only names
 *     datasets: ['mixed'],                            // generated/reused before setup()
 *     description: 'how it is measured (copied into docs/benchmarks.md)',
 *     async setup(ctx) { ... start s3rver in ctx.work ... },
 *     async teardown(ctx) { s3?.kill(); },
 *     rows: [{
 *       id: 'remotes.push', title: 'push mixed', unit: 'ms',
 *       target: { kind: 'ratio', reference: 'rclone copy', max: 1.0 },
 *       async run(ctx) {
 *         const strataFig = strataMissing(ctx.root) ? { kind: 'error', message: strataMissing(ctx.root)! }
 *           : await attempt(async () => valueFigure(await repeat(ctx.runs,
 *               async () => (await runSeq([strata(ctx.root, 'push')], { cwd, env: strataEnv() })).ms)));
 *         const rcloneFig = ctx.tools.rclone.available ? await attempt(...) : skipped('rclone not installed');
 *         return { strata: strataFig, peers: [{ name: 'rclone copy', figure: rcloneFig }] };
 *       },
 *     }],
 *   });
 *
 * Contract: run() returns { strata, peers, notes? } where each figure is
 * { kind: 'value', value, samples } | { kind: 'error', message } | { kind: 'skipped', reason };
 * a thrown error becomes a strata error for that row. Targets: { kind: 'ratio', reference: <peer
 * name>, max } | { kind: 'ratio-min', reference, min } (higher is better) | { kind: 'max', value }
 * | { kind: 'min', value } (or a function of the scale).
 * Units: 'ms' | 'MiB' | 'MB' | 'MB/s' | 'req/s'. ctx.work is an empty scratch folder for the section.
 * Types: bench/types.ts; helpers: bench/proc.ts (runCmd, runSeq, repeat, warm, duBytes, git, ...).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { datasetPaths, ensureDataset, SCALES } from './datasets.js';
import { installPeers, machineInfo, probeTools, type MachineInfo } from './machine.js';
import { rmrf, setSettle } from './proc.js';
import { registeredSections, selectSections } from './registry.js';
import { evaluate, fmtFigure, fmtValue, markdownTable, textTable } from './report.js';
import { strataMissing } from './strata.js';
import type { BenchContext, BenchOptions, DatasetName, Row, RowReport, RowResult, Section, Target, ToolInfo } from './types.js';

export type * from './types.js';
export { registerSection, registeredSections, selectSections } from './registry.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Project root: the nearest ancestor of this module holding package.json. */
export function projectRoot(start = here): string {
  let d = start;
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error('bench: project root (package.json) not found');
    d = up;
  }
  return d;
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], root = projectRoot()): BenchOptions {
  const opts: BenchOptions = {
    root,
    // Outside the project: strata (rightly) lists the data paths of scratch repositories in the
    // .gitignore of the enclosing git repository, which must not be this one.
    dir: join(tmpdir(), 'strata-bench'),
    scale: SCALES.full,
    runs: 3,
    only: null,
    write: true,
    keep: false,
    seed: 1,
    installPeers: false,
    sync: true,
    docPath: join(root, 'docs', 'benchmarks.md'),
    merge: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--quick':
        opts.scale = SCALES.quick;
        break;
      case '--scale': {
        const s = val();
        if (!(s in SCALES)) throw new UsageError(`--scale must be one of ${Object.keys(SCALES).join(', ')}`);
        opts.scale = SCALES[s as keyof typeof SCALES];
        break;
      }
      case '--only':
        opts.only = val().split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--runs': {
        const n = Number(val());
        if (!Number.isInteger(n) || n < 1) throw new UsageError('--runs must be a positive integer');
        opts.runs = n;
        break;
      }
      case '--dir':
        opts.dir = resolve(val());
        break;
      case '--doc':
        opts.docPath = resolve(val());
        break;
      case '--no-write':
        opts.write = false;
        break;
      case '--no-sync':
        opts.sync = false;
        break;
      case '--keep':
        opts.keep = true;
        break;
      case '--merge':
        opts.merge = true;
        break;
      case '--seed':
        opts.seed = Number(val()) >>> 0;
        break;
      case '--install-peers':
        opts.installPeers = true;
        break;
      case '-h':
      case '--help':
        throw new UsageError('help');
      default:
        throw new UsageError(`unknown argument ${a}`);
    }
  }
  return opts;
}

/** Imports every module in bench/sections/ (each registers its sections). */
export async function loadSections(): Promise<void> {
  const dir = join(here, 'sections');
  const ext = extname(fileURLToPath(import.meta.url)); // .js when compiled, .ts under tsx
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith(ext) && !f.endsWith('.d.ts') && !f.endsWith('.test' + ext)) await import(pathToFileURL(join(dir, f)).href);
  }
}

export interface BenchRun {
  opts: BenchOptions;
  machine: MachineInfo;
  tools: Record<string, ToolInfo>;
  datasets: Partial<Record<DatasetName, string>>;
  sections: Section[];
  reports: RowReport[];
  started: Date;
  seconds: number;
  strataStatus: string;
  /** Sections whose rows were carried over from an earlier run (--merge), and when that ran. */
  carried?: { sections: string[]; started: string };
}

const log = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

export async function runBench(opts: BenchOptions): Promise<BenchRun> {
  const started = new Date();
  const t0 = Date.now();
  setSettle(opts.sync);
  await loadSections();
  const sections = selectSections(opts.only);
  if (sections.length === 0) throw new UsageError(`--only ${opts.only?.join(',')} selects no section`);
  mkdirSync(opts.dir, { recursive: true });
  let tools = probeTools();
  if (opts.installPeers) {
    installPeers(tools, log);
    tools = probeTools();
  }
  const missing = Object.entries(tools).filter(([, t]) => !t.available).map(([n]) => n);
  if (missing.length) log(`peers not installed (their figures are skipped): ${missing.join(', ')}`);
  const strataStatus = strataMissing(opts.root) ?? 'present';
  log(`strata CLI: ${strataStatus}`);

  const dataBase = join(opts.dir, 'datasets', opts.scale.name);
  const datasets: Partial<Record<DatasetName, string>> = {};
  for (const s of sections) for (const d of s.datasets) datasets[d] ??= ensureDataset(dataBase, d, opts.scale, opts.seed, log);

  const reports: RowReport[] = [];
  for (const section of sections) {
    const work = join(opts.dir, 'work', opts.scale.name, section.id);
    rmrf(work);
    mkdirSync(work, { recursive: true });
    const ctx: BenchContext = { opts, root: opts.root, scale: opts.scale, runs: opts.runs, data: datasetPaths(dataBase), work, tools, log };
    log(`section ${section.id}: ${section.title}`);
    let setupError: string | null = null;
    try {
      await section.setup?.(ctx);
    } catch (e) {
      setupError = `section setup failed: ${(e as Error).message.split('\n')[0]}`;
      log(setupError);
    }
    for (const row of section.rows) {
      const target = typeof row.target === 'function' ? row.target(opts.scale) : row.target;
      let result;
      if (setupError) result = { strata: { kind: 'error' as const, message: setupError }, peers: [] };
      else {
        log(`  ${row.title} ...`);
        try {
          result = await row.run(ctx);
        } catch (e) {
          result = { strata: { kind: 'error' as const, message: (e as Error).message.split('\n')[0] }, peers: [] };
        }
      }
      const rep: RowReport = { section: section.id, row, target, result };
      reports.push(rep);
      const e = evaluate(target, result, row.unit);
      log(`  ${row.title}: strata ${fmtFigure(result.strata, row.unit)}; ${result.peers.map((p) => `${p.name} ${fmtFigure(p.figure, row.unit)}`).join('; ')} ${e.verdict}`);
    }
    try {
      await section.teardown?.(ctx);
    } catch (e) {
      log(`section ${section.id} teardown failed: ${(e as Error).message}`);
    }
    if (!opts.keep) rmrf(work);
  }
  return { opts, machine: machineInfo(opts.dir), tools, datasets, sections, reports, started, seconds: (Date.now() - t0) / 1000, strataStatus };
}

export function renderMarkdown(run: BenchRun, argv: string[]): string {
  const { machine: m, opts } = run;
  const L: string[] = [];
  L.push('# Strata benchmarks', '');
  L.push('<!-- Generated by `npm run bench` (bench/bench.ts). Do not edit by hand: rerun the harness. -->', '');
  L.push(`Run on ${run.started.toISOString().replace('T', ' ').slice(0, 19)} UTC with \`npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}\` ` + `(scale **${opts.scale.name}**, ${opts.runs} run(s) per figure, ${run.seconds.toFixed(0)} s in total).`, '');
  if (opts.scale.name !== 'full') L.push(`> **Scale ${opts.scale.name}: figures and PASS/MISS are indicative only.** The targets are stated for the full scale.`, '');
  if (run.carried) L.push(`Rows of the section(s) ${run.carried.sections.map((s) => `\`${s}\``).join(', ')} were not re-measured in this run: they are carried over (\`--merge\`) from the run(s) of ${run.carried.started} on the same machine and scale.`, '');
  L.push(`strata CLI: ${run.strataStatus === 'present' ? 'present' : `**absent** — ${run.strataStatus}; strata figures are errors`}.`, '');

  L.push('## Machine', '');
  L.push('| | |', '|---|---|');
  L.push(`| CPU | ${m.cpu} |`, `| cores | ${m.cores} |`, `| RAM | ${m.ramGiB.toFixed(1)} GiB |`, `| disk (work dir) | ${m.disk} |`);
  L.push(`| OS / kernel | ${m.os} / ${m.kernel} |`, `| node | ${m.node} |`);
  for (const [name, t] of Object.entries(run.tools)) L.push(`| ${name} | ${t.available ? t.version : '**not installed — skipped**'} |`);
  L.push('');

  L.push('## Datasets', '');
  L.push(`Generated into \`${opts.dir}/datasets/${opts.scale.name}\` with seed ${opts.seed}: sizes and positions from a seeded PRNG (mulberry32), bytes from an AES-256-CTR keystream keyed by the seed (incompressible, deterministic). Reused across runs when the manifest matches.`, '');
  for (const [name, desc] of Object.entries(run.datasets)) L.push(`- **${name}**: ${desc}`);
  L.push('');

  L.push('## Results', '');
  L.push(markdownTable(run.reports), '');
  L.push('Ratio: strata figure divided by the target\'s reference (a peer\'s figure, or the limit for absolute targets). PASS/MISS compares with the target; n/a means strata or the reference has no figure.', '');

  const misses = run.reports.filter((r) => evaluate(r.target, r.result, r.row.unit).verdict === 'MISS');
  const na = run.reports.filter((r) => evaluate(r.target, r.result, r.row.unit).verdict === 'n/a');
  L.push('## Misses', '');
  if (misses.length === 0) L.push('None among the rows that have a strata figure.');
  for (const r of misses) {
    const e = evaluate(r.target, r.result, r.row.unit);
    L.push(`- **${r.row.title}**: strata ${fmtFigure(r.result.strata, r.row.unit)}, ${e.ratioText}; target ${e.targetText}.`);
  }
  if (na.length) {
    L.push('', 'Not evaluated:');
    for (const r of na) L.push(`- ${r.row.title}: ${evaluate(r.target, r.result, r.row.unit).reason} (${fmtFigure(r.result.strata, r.row.unit)})`);
  }
  L.push('');
  const skippedPeers = run.reports.flatMap((r) => r.result.peers.filter((p) => p.figure.kind !== 'value').map((p) => `${r.row.title} / ${p.name}: ${fmtFigure(p.figure, r.row.unit)}`));
  if (skippedPeers.length) {
    L.push('## Peers skipped or failed', '');
    for (const s of skippedPeers) L.push(`- ${s}`);
    L.push('');
  }

  L.push('## Method', '');
  L.push(
    '- Wall time: `process.hrtime.bigint()` around `child_process.spawn` of each command (no shell), from spawn to exit; multi-command operations (e.g. init + add + commit) are the sum of their commands. strata runs as `node bin/strata.js …`.',
    '- Peak RSS: every command (strata and peers) is wrapped by GNU time `/usr/bin/time -f %M` (the child\'s `ru_maxrss`, KiB); for a multi-command operation the largest process counts, and the row shows the maximum over runs. The wrapper costs about 1 ms and applies to every tool alike. MB = 10^6 bytes.',
    '- Caches: all tools are measured **warm**. Before each tool\'s timed runs its input files are read once, untimed; nothing drops the page cache (that needs root and disturbs other work on the machine). Each figure is the median of the runs (status: at least 5 runs, start-up rows: 10, both after one untimed warm-up run).',
    '- Before every timed run `sync` is run (untimed), so that write-back of files written by setup or by the previous tool is not charged to the next one. No tool is asked to fsync; figures exclude the eventual write-back, alike for all tools.',
    '- Repositories are created fresh (untimed `rm -rf`) before every add+commit run; `init` is part of the timed strata and git sequences.',
    '- Store growth: apparent bytes (like `du -sb`) of the store before and after adding the new version of the same path; one run (deterministic).',
    '',
  );
  for (const s of run.sections) if (s.description) L.push(`- **${s.title}** (\`${s.id}\`): ${s.description}`);
  L.push('');

  L.push('## Samples', '');
  L.push('<details><summary>every run</summary>', '');
  for (const r of run.reports) {
    const all = [{ name: 'strata', figure: r.result.strata }, ...r.result.peers];
    L.push(`- ${r.row.title}`);
    for (const p of all) {
      if (p.figure.kind !== 'value') continue;
      if (p.figure.samples.length === 0 && !p.figure.note) continue;
      const s = p.figure.samples.length ? p.figure.samples.map((v) => fmtValue(v, r.row.unit)).join(', ') : fmtValue(p.figure.value, r.row.unit);
      L.push(`  - ${p.name}: ${s}${p.figure.note ? ` (${p.figure.note})` : ''}`);
    }
    for (const n of r.result.notes ?? []) L.push(`  - note: ${n}`);
  }
  L.push('', '</details>', '');
  return L.join('\n');
}

interface JsonRow extends RowResult {
  section: string;
  id: string;
  title: string;
  unit: Row['unit'];
  target?: Target;
  measured?: string;
}

/**
 * --merge: rows of sections not run now come from the previous JSON results of the same scale (the
 * file this run is about to replace), so a partial run updates docs/benchmarks.md without dropping
 * the rest. Rows are ordered as the sections are; the report says which rows are carried and from when.
 */
export function mergePrevious(run: BenchRun, jsonPath: string): BenchRun {
  if (!existsSync(jsonPath)) return run;
  const prev = JSON.parse(readFileSync(jsonPath, 'utf8')) as { started: string; scale: { name: string }; rows: JsonRow[] };
  if (prev.scale?.name !== run.opts.scale.name || !Array.isArray(prev.rows)) return run;
  const ran = new Set(run.sections.map((s) => s.id));
  const all = registeredSections();
  const reports: RowReport[] = [];
  const carried: string[] = [];
  for (const s of all) {
    if (ran.has(s.id)) {
      reports.push(...run.reports.filter((r) => r.section === s.id));
      continue;
    }
    const rows = prev.rows.filter((r) => r.section === s.id);
    if (!rows.length) continue;
    carried.push(s.id);
    for (const r of rows) {
      reports.push({ section: r.section, row: { id: r.id, title: r.title, unit: r.unit }, target: r.target, result: { strata: r.strata, peers: r.peers, notes: r.notes }, measured: r.measured ?? prev.started });
    }
  }
  if (!carried.length) return run;
  const dates = [...new Set(reports.filter((r) => r.measured).map((r) => r.measured!.replace('T', ' ').slice(0, 19) + ' UTC'))];
  return { ...run, reports, sections: all.filter((s) => ran.has(s.id) || carried.includes(s.id)), carried: { sections: carried, started: dates.join(', ') } };
}

function jsonReport(run: BenchRun): unknown {
  return {
    started: run.started.toISOString(),
    seconds: run.seconds,
    scale: run.opts.scale,
    runs: run.opts.runs,
    machine: run.machine,
    tools: run.tools,
    datasets: run.datasets,
    carried: run.carried,
    rows: run.reports.map((r) => ({ section: r.section, id: r.row.id, title: r.row.title, unit: r.row.unit, target: r.target, measured: r.measured ?? run.started.toISOString(), ...r.result, evaluation: evaluate(r.target, r.result, r.row.unit) })),
  };
}

export async function main(argv: string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      const help = readHelp();
      process.stderr.write(e.message === 'help' ? help : `bench: ${e.message}\n\n${help}`);
      return e.message === 'help' ? 0 : 2;
    }
    throw e;
  }
  let run = await runBench(opts);
  if (opts.merge) run = mergePrevious(run, join(opts.dir, `results-${opts.scale.name}.json`));
  process.stdout.write(`\nStrata benchmarks (scale ${opts.scale.name}, ${opts.runs} run(s), ${run.machine.cpu}, ${run.machine.cores} cores)\n\n`);
  process.stdout.write(textTable(run.reports) + '\n');
  const jsonPath = join(opts.dir, `results-${opts.scale.name}.json`);
  writeFileSync(jsonPath, JSON.stringify(jsonReport(run), null, 2) + '\n');
  log(`results: ${jsonPath}`);
  if (opts.write) {
    mkdirSync(dirname(opts.docPath), { recursive: true });
    writeFileSync(opts.docPath, renderMarkdown(run, argv));
    log(`wrote ${opts.docPath}`);
  }
  return 0;
}

function readHelp(): string {
  return [
    'usage: npm run bench -- [--quick | --scale tiny|quick|full] [--only small,large,throughput,mixed,startup,...]',
    '                        [--runs N] [--dir PATH] [--no-write] [--no-sync] [--doc PATH] [--keep] [--merge] [--seed N] [--install-peers]',
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
