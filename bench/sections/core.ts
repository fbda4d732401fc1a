/**
 * Built-in sections: small, large, throughput, mixed, startup.
 * Methodology (also in docs/benchmarks.md): every timed figure is the median of --runs runs; before
 * each tool's timed runs its input is read once untimed, so every tool is measured with a warm page
 * cache; repositories are recreated before each add+commit run (untimed `rm -rf`).
 */
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { registerSection } from '../registry.js';
import {
  attempt,
  duBytes,
  git,
  gitEnv,
  listFiles,
  repeat,
  resticEnv,
  rmrf,
  runCmd,
  runSeq,
  skipped,
  valueFigure,
  warm,
  CmdError,
  firstErrorLine,
  type Step,
} from '../proc.js';
import { strata, strataEnv, strataMissing } from '../strata.js';
import type { BenchContext, Figure, PeerFigure, ScaleSpec } from '../types.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const kibToMB = (k: number) => (k * 1024) / 1e6;

async function strataFigure(ctx: BenchContext, fn: () => Promise<Figure>): Promise<Figure> {
  const missing = strataMissing(ctx.root);
  if (missing) return { kind: 'error', message: missing };
  return attempt(fn);
}

async function peerFigure(ctx: BenchContext, tools: string[], fn: () => Promise<Figure>): Promise<Figure> {
  const absent = tools.filter((t) => !ctx.tools[t]?.available);
  if (absent.length) return skipped(`${absent.join(', ')} not installed`);
  return attempt(fn);
}

async function cp(src: string, dst: string, recursive: boolean): Promise<void> {
  const r = await runCmd('cp', recursive ? ['-a', src, dst] : [src, dst]);
  if (r.code !== 0) throw new CmdError(`cp: ${firstErrorLine(r)}`);
}

function timedSeq(steps: Step[], cwd: string, env: NodeJS.ProcessEnv, rss?: number[]): Promise<number> {
  return runSeq(steps, { cwd, env }).then((r) => {
    if (rss && r.rssKiB !== undefined) rss.push(r.rssKiB);
    return r.ms;
  });
}

function rssFigure(rss: number[], from: Figure): Figure {
  if (from.kind !== 'value') return from;
  if (rss.length === 0) return skipped('no RSS (GNU time missing)');
  const mb = rss.map(kibToMB);
  return { kind: 'value', value: Math.max(...mb), samples: mb, note: 'max over runs of the largest process' };
}

/** b3sum and cp of one file, and their sum: the reference for writing a verified (or hashed) copy. */
async function hashAndCopyPeers(ctx: BenchContext, file: string, ws: string, b3Note?: string): Promise<{ b3: Figure; cpf: Figure; sum: Figure }> {
  const b3 = await peerFigure(ctx, ['b3sum'], async () => {
    warm(file);
    return valueFigure(await repeat(ctx.runs, () => timedSeq([['b3sum', [file]]], ws, process.env)), b3Note);
  });
  const cpf = await peerFigure(ctx, ['cp'], async () => {
    const dst = join(ws, 'cp.bin');
    warm(file);
    const samples = await repeat(ctx.runs, () => timedSeq([['cp', [file, dst]]], ws, process.env), () => rmrf(dst));
    rmrf(dst);
    return valueFigure(samples);
  });
  const sum: Figure =
    b3.kind === 'value' && cpf.kind === 'value'
      ? { kind: 'value', value: b3.value + cpf.value, samples: [], note: 'median(b3sum) + median(cp)' }
      : b3.kind !== 'value'
        ? b3
        : cpf;
  return { b3, cpf, sum };
}

// ---------------------------------------------------------------------------------------------
// add+commit helpers (shared by small, large, mixed)

/** Each run: rm -rf <ws>/.strata; warm inputs; timed `strata init; strata add <paths>; strata commit -m x`. */
async function strataAddCommit(ctx: BenchContext, ws: string, paths: string[], rss: number[]): Promise<Figure> {
  const samples = await repeat(
    ctx.runs,
    () => timedSeq([strata(ctx.root, 'init'), strata(ctx.root, 'add', ...paths), strata(ctx.root, 'commit', '-m', 'x')], ws, strataEnv(), rss),
    () => {
      rmrf(join(ws, '.strata'));
      for (const p of paths) warm(join(ws, p));
    },
  );
  return valueFigure(samples);
}

/** Each run: rm -rf <ws>/.git; warm; timed `git init; git add -A; git commit`. */
async function gitAddCommit(ctx: BenchContext, ws: string, rss: number[]): Promise<Figure> {
  const samples = await repeat(
    ctx.runs,
    () => timedSeq([git('init', '-q'), git('add', '-A'), git('commit', '-q', '-m', 'x')], ws, gitEnv(), rss),
    () => {
      rmrf(join(ws, '.git'));
      warm(ws);
    },
  );
  return valueFigure(samples);
}

/** Each run: fresh repo (`restic init` untimed: it is dominated by key derivation); warm; timed `restic backup`. */
async function resticBackup(ctx: BenchContext, repo: string, cwd: string, paths: string[], rss: number[]): Promise<Figure> {
  const env = resticEnv(repo);
  const samples = await repeat(
    ctx.runs,
    () => timedSeq([['restic', ['backup', '--no-cache', '-q', ...paths]]], cwd, env, rss),
    async () => {
      rmrf(repo);
      await runSeq([['restic', ['init', '-q']]], { cwd, env });
      for (const p of paths) warm(join(cwd, p));
    },
  );
  return valueFigure(samples);
}

// ---------------------------------------------------------------------------------------------
// small

{
  let ws = ''; // work/small
  let files: string[] = []; // relative to the data folder
  let strataRepo = false;
  let gitRepo = false;
  const strataRss: number[] = [];
  const gitRss: number[] = [];
  const resticRss: number[] = [];
  let addFigure: Figure = { kind: 'error', message: 'add+commit small did not run' };
  let touched = 0;

  const strataWs = () => join(ws, 'strata');
  const gitWs = () => join(ws, 'git');

  function touchFiles(root: string, count: number): void {
    const step = Math.max(1, Math.floor(files.length / count));
    for (let i = 0, n = 0; n < count && i < files.length; i += step, n++) {
      const p = join(root, files[i]);
      writeFileSync(p, randomBytes(sizes.get(p) ?? 0)); // same size, new content
    }
  }
  const sizes = new Map<string, number>();

  registerSection({
    id: 'small',
    title: 'Many small files',
    order: 10,
    datasets: ['small'],
    description:
      'Each tool works on its own copy of the dataset folder `data/` (strata and git in separate working folders; restic backs up the dataset folder itself). ' +
      'add+commit includes `init` for strata and git (restic init is untimed: it is dominated by key derivation). ' +
      'git runs with `-c gc.auto=0` so that no background gc disturbs later measurements. ' +
      'Status rows run one untimed warm-up status first. "Touching" rewrites files with the same size and new random content before every timed run. ' +
      'Checkout removes `data/` (untimed) and then times the restore; the restored file count is verified.',
    async setup(ctx) {
      ws = ctx.work;
      mkdirSync(strataWs(), { recursive: true });
      mkdirSync(gitWs(), { recursive: true });
      await cp(ctx.data.small, join(strataWs(), 'data'), true);
      await cp(ctx.data.small, join(gitWs(), 'data'), true);
      files = listFiles(ctx.data.small).map((f) => relative(ctx.data.small, f));
      for (const f of files) {
        const size = statSync(join(ctx.data.small, f)).size;
        sizes.set(join(strataWs(), 'data', f), size);
        sizes.set(join(gitWs(), 'data', f), size);
      }
      touched = Math.min(100, Math.floor(files.length / 2));
    },
    rows: [
      {
        id: 'small.add-commit',
        title: 'add+commit small',
        unit: 'ms',
        target: { kind: 'ratio', reference: 'git', max: 0.4 },
        async run(ctx) {
          addFigure = await strataFigure(ctx, () => strataAddCommit(ctx, strataWs(), ['data'], strataRss));
          strataRepo = addFigure.kind === 'value';
          const gitFig = await peerFigure(ctx, ['git'], () => gitAddCommit(ctx, gitWs(), gitRss));
          gitRepo = gitFig.kind === 'value';
          const restic = await peerFigure(ctx, ['restic'], () =>
            resticBackup(ctx, join(ws, 'restic-repo'), dirname(ctx.data.small), ['small'], resticRss),
          );
          rmrf(join(ws, 'restic-repo'));
          return { strata: addFigure, peers: [{ name: 'git', figure: gitFig }, { name: 'restic', figure: restic }] };
        },
      },
      {
        id: 'small.status-clean',
        title: 'status, nothing changed, small',
        unit: 'ms',
        target: { kind: 'ratio', reference: 'git', max: 1.0 },
        async run(ctx) {
          const n = Math.max(ctx.runs, 5);
          const s = await strataFigure(ctx, async () => {
            if (!strataRepo) throw new Error('no strata repository (add+commit small failed)');
            await runSeq([strata(ctx.root, 'status')], { cwd: strataWs(), env: strataEnv() });
            return valueFigure(await repeat(n, () => timedSeq([strata(ctx.root, 'status')], strataWs(), strataEnv())));
          });
          const g = await peerFigure(ctx, ['git'], async () => {
            if (!gitRepo) throw new Error('no git repository (add+commit small failed)');
            await runSeq([git('status')], { cwd: gitWs(), env: gitEnv() });
            return valueFigure(await repeat(n, () => timedSeq([git('status')], gitWs(), gitEnv())));
          });
          return { strata: s, peers: [{ name: 'git', figure: g }] };
        },
      },
      {
        id: 'small.status-touched',
        title: 'status after touching 100 files, small',
        unit: 'ms',
        target: { kind: 'ratio', reference: 'git', max: 1.0 },
        async run(ctx) {
          const n = Math.max(ctx.runs, 5);
          const s = await strataFigure(ctx, async () => {
            if (!strataRepo) throw new Error('no strata repository (add+commit small failed)');
            const samples = await repeat(
              n,
              () => timedSeq([strata(ctx.root, 'status')], strataWs(), strataEnv()),
              () => touchFiles(join(strataWs(), 'data'), touched),
            );
            return valueFigure(samples);
          });
          const g = await peerFigure(ctx, ['git'], async () => {
            if (!gitRepo) throw new Error('no git repository (add+commit small failed)');
            const samples = await repeat(
              n,
              () => timedSeq([git('status')], gitWs(), gitEnv()),
              () => touchFiles(join(gitWs(), 'data'), touched),
            );
            return valueFigure(samples);
          });
          return {
            strata: s,
            peers: [{ name: 'git', figure: g }],
            notes: touched !== 100 ? [`${touched} files touched at this scale`] : undefined,
          };
        },
      },
      {
        id: 'small.checkout',
        title: 'checkout small into an empty folder',
        unit: 'ms',
        target: { kind: 'ratio', reference: 'cp -r', max: 1.2 },
        async run(ctx) {
          const verify = (dir: string, what: string) => {
            const got = existsSync(dir) ? listFiles(dir).length : 0;
            if (got !== files.length) throw new Error(`${what} restored ${got} of ${files.length} files`);
          };
          const s = await strataFigure(ctx, async () => {
            if (!strataRepo) throw new Error('no strata repository (add+commit small failed)');
            const data = join(strataWs(), 'data');
            const samples = await repeat(
              ctx.runs,
              async () => {
                const ms = await timedSeq([strata(ctx.root, 'checkout', '-f', 'HEAD')], strataWs(), strataEnv());
                verify(data, 'strata checkout -f HEAD');
                return ms;
              },
              () => rmrf(data),
            );
            return valueFigure(samples);
          });
          const gitCheckout = await peerFigure(ctx, ['git'], async () => {
            if (!gitRepo) throw new Error('no git repository (add+commit small failed)');
            const data = join(gitWs(), 'data');
            const samples = await repeat(
              ctx.runs,
              async () => {
                const ms = await timedSeq([git('checkout', '-q', '-f', 'HEAD')], gitWs(), gitEnv());
                verify(data, 'git checkout -f HEAD');
                return ms;
              },
              () => rmrf(data),
            );
            return valueFigure(samples);
          });
          const gitClone = await peerFigure(ctx, ['git'], async () => {
            if (!gitRepo) throw new Error('no git repository (add+commit small failed)');
            const dst = join(ws, 'git-clone');
            const samples = await repeat(
              ctx.runs,
              async () => {
                const ms = await timedSeq([git('clone', '-q', gitWs(), dst)], ws, gitEnv());
                verify(join(dst, 'data'), 'git clone');
                return ms;
              },
              () => rmrf(dst),
            );
            rmrf(dst);
            return valueFigure(samples, 'local clone (objects hard-linked)');
          });
          const cpr = await peerFigure(ctx, ['cp'], async () => {
            const dst = join(ws, 'cp-copy');
            warm(ctx.data.small);
            const samples = await repeat(
              ctx.runs,
              () => timedSeq([['cp', ['-r', ctx.data.small, dst]]], ws, process.env),
              () => rmrf(dst),
            );
            rmrf(dst);
            return valueFigure(samples);
          });
          // What verifying every restored byte costs at least: BLAKE3 of the same files, one process.
          const b3 = await peerFigure(ctx, ['b3sum'], async () => {
            warm(ctx.data.small);
            const list = join(ws, 'b3sum-files.txt');
            writeFileSync(list, files.map((f) => join(ctx.data.small, f)).join('\0'));
            const samples = await repeat(ctx.runs, () => timedSeq([['sh', ['-c', `xargs -0 b3sum --num-threads 1 < '${list}' > /dev/null`]]], ws, process.env));
            rmrf(list);
            return valueFigure(samples, 'every file hashed once (the verification share of a checkout)');
          });
          return {
            strata: s,
            peers: [
              { name: 'cp -r', figure: cpr },
              { name: 'git checkout', figure: gitCheckout },
              { name: 'git clone', figure: gitClone },
              { name: 'b3sum (all files)', figure: b3 },
            ],
            notes: ['strata verifies every file against its BLAKE3 id before it is renamed into place'],
          };
        },
      },
      {
        id: 'small.rss',
        title: 'peak RSS: add+commit small',
        unit: 'MB',
        target: { kind: 'max', value: 300 },
        async run() {
          const peers: PeerFigure[] = [];
          if (gitRss.length) peers.push({ name: 'git', figure: { kind: 'value', value: Math.max(...gitRss.map(kibToMB)), samples: gitRss.map(kibToMB) } });
          if (resticRss.length) peers.push({ name: 'restic', figure: { kind: 'value', value: Math.max(...resticRss.map(kibToMB)), samples: resticRss.map(kibToMB) } });
          return { strata: rssFigure(strataRss, addFigure), peers };
        },
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// large

/** Store-growth targets scale with the large file (they are stated for 1 GiB + 64 MiB append). */
function growthScale(scale: ScaleSpec): number {
  return scale.large.bytes / GiB;
}

{
  let ws = '';
  let strataRepo = false;
  let resticRepo = false;
  let lfsRepo = false;
  const strataRss: number[] = [];
  const resticRss: number[] = [];
  const lfsRss: number[] = [];
  let addFigure: Figure = { kind: 'error', message: 'add+commit large did not run' };

  const strataWs = () => join(ws, 'strata');
  const lfsWs = () => join(ws, 'lfs');
  const resticRepoDir = () => join(ws, 'restic-repo');
  const strataObjects = () => (existsSync(join(strataWs(), '.strata', 'objects')) ? join(strataWs(), '.strata', 'objects') : join(strataWs(), '.strata'));

  async function growth(ctx: BenchContext, src: string, label: string): Promise<{ strata: Figure; peers: PeerFigure[] }> {
    // The new version replaces big.bin in every working folder (untimed).
    copyFileSync(src, join(strataWs(), 'big.bin'));
    if (existsSync(lfsWs())) copyFileSync(src, join(lfsWs(), 'big.bin'));
    const s = await strataFigure(ctx, async () => {
      if (!strataRepo) throw new Error('no committed base version (add+commit large failed)');
      const dir = strataObjects();
      const before = duBytes(dir);
      try {
        await runSeq([strata(ctx.root, 'add', 'big.bin'), strata(ctx.root, 'commit', '-m', label)], { cwd: strataWs(), env: strataEnv() });
      } catch (e) {
        strataRepo = false;
        throw e;
      }
      return { kind: 'value', value: (duBytes(dir) - before) / MiB, samples: [] };
    });
    const r = await peerFigure(ctx, ['restic'], async () => {
      if (!resticRepo) throw new Error('no restic base snapshot');
      const before = duBytes(resticRepoDir());
      await runSeq([['restic', ['backup', '--no-cache', '-q', 'big.bin']]], { cwd: strataWs(), env: resticEnv(resticRepoDir()) });
      return { kind: 'value', value: (duBytes(resticRepoDir()) - before) / MiB, samples: [] };
    });
    const l = await peerFigure(ctx, ['git', 'git-lfs'], async () => {
      if (!lfsRepo) throw new Error('no git-lfs base commit');
      const dir = join(lfsWs(), '.git', 'lfs');
      const before = duBytes(dir);
      await runSeq([git('add', 'big.bin'), git('commit', '-q', '-m', label)], { cwd: lfsWs(), env: gitEnv() });
      return { kind: 'value', value: (duBytes(dir) - before) / MiB, samples: [] };
    });
    return { strata: s, peers: [{ name: 'restic', figure: r }, { name: 'git-lfs', figure: l }] };
  }

  registerSection({
    id: 'large',
    title: 'One large file',
    order: 20,
    datasets: ['large'],
    description:
      'strata and git-lfs each work on their own copy `big.bin` of base.bin; restic backs up the strata working copy of `big.bin`. ' +
      'The (b3sum + cp) reference is the sum of the medians of `b3sum base.bin` and `cp base.bin <new file>`. ' +
      'Store growth: apparent size (like `du -sb`) of `.strata/objects` (strata), the restic repository, and `.git/lfs` (git-lfs) before/after ' +
      'replacing big.bin by edit.bin (then by append.bin) and committing/backing up it as a new version of the same path; single run (deterministic).',
    async setup(ctx) {
      ws = ctx.work;
      mkdirSync(strataWs(), { recursive: true });
      mkdirSync(lfsWs(), { recursive: true });
      copyFileSync(ctx.data.large.base, join(strataWs(), 'big.bin'));
      copyFileSync(ctx.data.large.base, join(lfsWs(), 'big.bin'));
    },
    rows: [
      {
        id: 'large.add-commit',
        title: 'add+commit large file',
        unit: 'ms',
        target: { kind: 'ratio', reference: 'b3sum+cp', max: 1.5 },
        async run(ctx) {
          addFigure = await strataFigure(ctx, () => strataAddCommit(ctx, strataWs(), ['big.bin'], strataRss));
          strataRepo = addFigure.kind === 'value';
          const { b3, cpf, sum } = await hashAndCopyPeers(ctx, ctx.data.large.base, ws);
          const restic = await peerFigure(ctx, ['restic'], () => resticBackup(ctx, resticRepoDir(), strataWs(), ['big.bin'], resticRss));
          resticRepo = restic.kind === 'value';
          const lfs = await peerFigure(ctx, ['git', 'git-lfs'], async () => {
            const samples = await repeat(
              ctx.runs,
              () =>
                timedSeq(
                  [git('init', '-q'), git('lfs', 'install', '--local'), git('lfs', 'track', '*.bin'), git('add', '.gitattributes', 'big.bin'), git('commit', '-q', '-m', 'x')],
                  lfsWs(),
                  gitEnv(),
                  lfsRss,
                ),
              () => {
                rmrf(join(lfsWs(), '.git'));
                rmrf(join(lfsWs(), '.gitattributes'));
                warm(join(lfsWs(), 'big.bin'));
              },
            );
            return valueFigure(samples);
          });
          lfsRepo = lfs.kind === 'value';
          return {
            strata: addFigure,
            peers: [
              { name: 'b3sum+cp', figure: sum },
              { name: 'b3sum', figure: b3 },
              { name: 'cp', figure: cpf },
              { name: 'restic', figure: restic },
              { name: 'git-lfs', figure: lfs },
            ],
          };
        },
      },
      {
        id: 'large.checkout',
        title: 'checkout large file (verified) into an empty folder',
        unit: 'ms',
        target: { kind: 'ratio', reference: 'b3sum+cp', max: 1.5 },
        async run(ctx) {
          const big = join(strataWs(), 'big.bin');
          const want = ctx.scale.large.bytes;
          const s = await strataFigure(ctx, async () => {
            if (!strataRepo) throw new Error('no strata repository (add+commit large failed)');
            const samples = await repeat(
              ctx.runs,
              async () => {
                const ms = await timedSeq([strata(ctx.root, 'checkout', '-f', 'HEAD')], strataWs(), strataEnv());
                const got = existsSync(big) ? statSync(big).size : -1;
                if (got !== want) throw new Error(`strata checkout -f HEAD restored ${got} of ${want} bytes`);
                return ms;
              },
              () => rmrf(big),
            );
            return valueFigure(samples);
          });
          const { b3, cpf, sum } = await hashAndCopyPeers(ctx, ctx.data.large.base, ws, 'the verification share');
          return {
            strata: s,
            peers: [
              { name: 'b3sum+cp', figure: sum },
              { name: 'b3sum', figure: b3 },
              { name: 'cp', figure: cpf },
            ],
            notes: ['the file is rebuilt from its chunks, hashed as a whole against its id, then renamed into place'],
          };
        },
      },
      {
        id: 'large.growth-edit',
        title: 'store growth after 1% edit',
        unit: 'MiB',
        target: (scale) => ({ kind: 'max', value: 15 * growthScale(scale) }),
        run: (ctx) => growth(ctx, ctx.data.large.edit, 'edit'),
      },
      {
        id: 'large.growth-append',
        title: 'store growth after append',
        unit: 'MiB',
        target: (scale) => ({ kind: 'max', value: scale.large.appendBytes / MiB + 2 * growthScale(scale) }),
        run: (ctx) => growth(ctx, ctx.data.large.append, 'append'),
      },
      {
        id: 'large.rss',
        title: 'peak RSS: add+commit large file',
        unit: 'MB',
        target: { kind: 'max', value: 300 },
        async run() {
          const peers: PeerFigure[] = [];
          if (resticRss.length) peers.push({ name: 'restic', figure: { kind: 'value', value: Math.max(...resticRss.map(kibToMB)), samples: resticRss.map(kibToMB) } });
          if (lfsRss.length) peers.push({ name: 'git-lfs', figure: { kind: 'value', value: Math.max(...lfsRss.map(kibToMB)), samples: lfsRss.map(kibToMB) } });
          return { strata: rssFigure(strataRss, addFigure), peers };
        },
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// throughput

/**
 * bench/chunk-throughput.ts (written separately) is run as
 * `node dist/bench/chunk-throughput.js <sizeMiB> <runs>`; it writes its own random file of that size
 * (page cache warm) and prints lines like `chunkFile    1234 MB/s best  1100 MB/s median`. The
 * harness takes the median of the first (wall-clock) `chunkFile` line; the second one, per
 * CPU-second, goes into the notes. Fallback: the last "<n> MB/s" / "<n> GB/s" in the output.
 */
export function parseThroughput(out: string): { wall: number; perCpu?: number } | null {
  const lines = out.split('\n').filter((l) => /^chunkFile\s/.test(l));
  const med = (l: string | undefined) => {
    const m = l ? /([\d.]+) MB\/s median/.exec(l) : null;
    return m ? Number(m[1]) : undefined;
  };
  const wall = med(lines.find((l) => !/per CPU/.test(l)));
  if (wall !== undefined) return { wall, perCpu: med(lines.find((l) => /per CPU/.test(l))) };
  const re = /([\d.]+)\s*(MB|MiB|GB|GiB)\/s/g;
  let m: RegExpExecArray | null;
  let last: number | null = null;
  while ((m = re.exec(out))) {
    const n = Number(m[1]);
    last = m[2] === 'GB' ? n * 1000 : m[2] === 'GiB' ? (n * 1024 ** 3) / 1e6 : m[2] === 'MiB' ? (n * MiB) / 1e6 : n;
  }
  return last === null ? null : { wall: last };
}

registerSection({
  id: 'throughput',
  aliases: ['large'],
  title: 'Chunking + hashing throughput',
  order: 30,
  datasets: ['large'],
  description:
    'strata: median wall-clock `chunkFile` (FastCDC + BLAKE3, read included) throughput reported by bench/chunk-throughput on its own random file of the large size, when that script is built; otherwise skipped. ' +
    'b3sum: size of base.bin / wall time of `b3sum base.bin` (all threads), warm cache. MB = 10^6 bytes.',
  rows: [
    {
      id: 'throughput.chunk-hash',
      title: 'chunking+hashing throughput',
      unit: 'MB/s',
      target: { kind: 'min', value: 1000 },
      async run(ctx) {
        const base = ctx.data.large.base;
        const size = ctx.scale.large.bytes;
        const script = join(ctx.root, 'dist', 'bench', 'chunk-throughput.js');
        const notes: string[] = [];
        const s: Figure = !existsSync(script)
          ? skipped('bench/chunk-throughput not available')
          : await attempt(async () => {
              const r = await runCmd(process.execPath, [script, String(size / MiB), String(ctx.runs)], { cwd: ctx.root });
              if (r.code !== 0) throw new CmdError(firstErrorLine(r));
              const v = parseThroughput(r.stdout);
              if (v === null) throw new Error('could not parse chunk-throughput output');
              if (v.perCpu !== undefined) notes.push(`strata chunkFile per CPU-second: ${v.perCpu.toFixed(0)} MB/s`);
              return { kind: 'value', value: v.wall, samples: [], note: `median of ${ctx.runs} chunkFile runs (bench/chunk-throughput, own random file of ${size / MiB} MiB)` };
            });
        const b3 = await peerFigure(ctx, ['b3sum'], async () => {
          warm(base);
          const ms = await repeat(ctx.runs, () => timedSeq([['b3sum', [base]]], ctx.work, process.env));
          return valueFigure(ms.map((t) => size / 1e6 / (t / 1000)));
        });
        const b31 = await peerFigure(ctx, ['b3sum'], async () => {
          const ms = await repeat(ctx.runs, () => timedSeq([['b3sum', ['--num-threads', '1', base]]], ctx.work, process.env));
          return valueFigure(ms.map((t) => size / 1e6 / (t / 1000)));
        });
        return { strata: s, peers: [{ name: 'b3sum', figure: b3 }, { name: 'b3sum 1 thread', figure: b31 }], notes };
      },
    },
  ],
});

// ---------------------------------------------------------------------------------------------
// mixed

{
  let ws = '';
  registerSection({
    id: 'mixed',
    title: 'Mixed medium files',
    order: 40,
    datasets: ['mixed'],
    description: 'Same procedure as add+commit small, on the mixed dataset. No target: informational.',
    async setup(ctx) {
      ws = ctx.work;
      mkdirSync(join(ws, 'strata'), { recursive: true });
      mkdirSync(join(ws, 'git'), { recursive: true });
      await cp(ctx.data.mixed, join(ws, 'strata', 'data'), true);
      await cp(ctx.data.mixed, join(ws, 'git', 'data'), true);
    },
    rows: [
      {
        id: 'mixed.add-commit',
        title: 'add+commit mixed',
        unit: 'ms',
        async run(ctx) {
          const s = await strataFigure(ctx, () => strataAddCommit(ctx, join(ws, 'strata'), ['data'], []));
          const g = await peerFigure(ctx, ['git'], () => gitAddCommit(ctx, join(ws, 'git'), []));
          const r = await peerFigure(ctx, ['restic'], () => resticBackup(ctx, join(ws, 'restic-repo'), dirname(ctx.data.mixed), ['mixed'], []));
          return { strata: s, peers: [{ name: 'git', figure: g }, { name: 'restic', figure: r }] };
        },
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// startup

const STARTUP_RUNS = 10;

registerSection({
  id: 'startup',
  title: 'Start-up latency',
  order: 50,
  datasets: [],
  description: `Median of ${STARTUP_RUNS} runs after one untimed warm-up run. git figures are informational.`,
  rows: [
    {
      id: 'startup.version',
      title: 'strata --version',
      unit: 'ms',
      target: { kind: 'max', value: 80 },
      async run(ctx) {
        const n = Math.max(STARTUP_RUNS, ctx.runs);
        const s = await strataFigure(ctx, async () => {
          await runSeq([strata(ctx.root, '--version')], { cwd: ctx.work, env: strataEnv() });
          return valueFigure(await repeat(n, () => timedSeq([strata(ctx.root, '--version')], ctx.work, strataEnv())));
        });
        const g = await peerFigure(ctx, ['git'], async () => {
          await runSeq([['git', ['--version']]], { cwd: ctx.work });
          return valueFigure(await repeat(n, () => timedSeq([['git', ['--version']]], ctx.work, gitEnv())));
        });
        return { strata: s, peers: [{ name: 'git --version', figure: g }] };
      },
    },
    {
      id: 'startup.status-empty',
      title: 'strata status in an empty repo',
      unit: 'ms',
      target: { kind: 'max', value: 150 },
      async run(ctx) {
        const n = Math.max(STARTUP_RUNS, ctx.runs);
        const s = await strataFigure(ctx, async () => {
          const dir = join(ctx.work, 'strata-empty');
          mkdirSync(dir, { recursive: true });
          await runSeq([strata(ctx.root, 'init'), strata(ctx.root, 'status')], { cwd: dir, env: strataEnv() });
          return valueFigure(await repeat(n, () => timedSeq([strata(ctx.root, 'status')], dir, strataEnv())));
        });
        const g = await peerFigure(ctx, ['git'], async () => {
          const dir = join(ctx.work, 'git-empty');
          mkdirSync(dir, { recursive: true });
          await runSeq([git('init', '-q'), git('status')], { cwd: dir, env: gitEnv() });
          return valueFigure(await repeat(n, () => timedSeq([git('status')], dir, gitEnv())));
        });
        return { strata: s, peers: [{ name: 'git status', figure: g }] };
      },
    },
  ],
});

