/**
 * Remotes: push and clone of the mixed dataset (1,000 files of 64 KiB–2 MiB) and of the small
 * dataset (100k files of 1–8 KiB) to an s3rver on loopback started by the section, beside
 * `rclone copy --transfers 16` of the same folder to / from the same server; and a second push with
 * nothing new.
 */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { registerSection } from '../registry.js';
import { attempt, CmdError, firstErrorLine, repeat, rmrf, runCmd, skipped, valueFigure } from '../proc.js';
import { strata, strataEnv, strataMissing } from '../strata.js';
import type { BenchContext, Figure, Row, RowResult } from '../types.js';

interface S3 {
  endpoint: string;
  stop(): Promise<void>;
}

let s3: S3 | undefined;
const repos: Partial<Record<'mixed' | 'small', string>> = {};
/** Last prefix each dataset was pushed to (cloned from by the clone rows). */
const pushed: Partial<Record<'mixed' | 'small', string>> = {};
const rcloned: Partial<Record<'mixed' | 'small', string>> = {};
let seq = 0;

const BUCKET = 'bench';

function env(): NodeJS.ProcessEnv {
  return { ...strataEnv(), AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
}

function rcloneEnv(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: s3!.endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: 'S3RVER',
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: 'S3RVER',
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
  };
  delete e.AWS_CA_BUNDLE; // rclone would try to load it even for http://
  return e;
}

async function sh(ctx: BenchContext, cwd: string, ...args: string[]): Promise<{ ms: number; stdout: string }> {
  const [cmd, argv] = strata(ctx.root, ...args);
  const r = await runCmd(cmd, argv, { cwd, env: env() });
  if (r.code !== 0) throw new CmdError(`strata ${args.join(' ')}: ${firstErrorLine(r)}`);
  return { ms: r.ms, stdout: r.stdout };
}

async function rclone(args: string[]): Promise<number> {
  const r = await runCmd('rclone', args, { env: rcloneEnv() });
  if (r.code !== 0) throw new CmdError(`rclone ${args.join(' ')}: ${firstErrorLine(r)}`);
  return r.ms;
}

function strataOk(ctx: BenchContext): string | null {
  return strataMissing(ctx.root) ?? (s3 ? null : 's3rver did not start');
}

/** Runs for a dataset: the 100k-file rows are long on s3rver, so they run once. */
const runsFor = (ctx: BenchContext, ds: 'mixed' | 'small') => (ds === 'small' ? 1 : ctx.runs);

function pushRow(ds: 'mixed' | 'small', max: number): Row {
  return {
    id: `remotes.push-${ds}`,
    title: `push ${ds === 'mixed' ? 'mixed (1,000 files)' : 'small (100k files)'} to S3`,
    unit: 'ms',
    target: { kind: 'ratio', reference: 'rclone copy', max },
    async run(ctx): Promise<RowResult> {
      const notes: string[] = [];
      const miss = strataOk(ctx);
      const strataFig: Figure = miss
        ? { kind: 'error', message: miss }
        : await attempt(async () => {
            const repo = repos[ds]!;
            let requests = 0;
            const samples = await repeat(
              runsFor(ctx, ds),
              async () => {
                const r = await sh(ctx, repo, '--json', 'push');
                requests = JSON.parse(r.stdout).requests;
                return r.ms;
              },
              async () => {
                const prefix = `${ds}-${++seq}`;
                await sh(ctx, repo, 'remote', 'set-url', 'origin', `s3://${BUCKET}/${prefix}`, '--endpoint', s3!.endpoint);
                // Same bucket on the same endpoint: set-url keeps the conditional-write probe answer (a real remote probes once).
                pushed[ds] = prefix;
              },
            );
            notes.push(`strata push: ${requests} HTTP requests`);
            return valueFigure(samples);
          });
      const rcloneFig: Figure = !ctx.tools.rclone?.available
        ? skipped('rclone not installed')
        : !s3
          ? skipped('s3rver did not start')
          : await attempt(async () => {
              const samples = await repeat(runsFor(ctx, ds), async () => {
                const prefix = `rclone-${ds}-${++seq}`;
                rcloned[ds] = prefix;
                return rclone(['copy', '--transfers', '16', ctx.data[ds], `bench:${BUCKET}/${prefix}`]);
              });
              return valueFigure(samples);
            });
      return { strata: strataFig, peers: [{ name: 'rclone copy', figure: rcloneFig }], notes };
    },
  };
}

function cloneRow(ds: 'mixed' | 'small', max: number): Row {
  return {
    id: `remotes.clone-${ds}`,
    title: `clone ${ds === 'mixed' ? 'mixed (1,000 files)' : 'small (100k files)'} from S3`,
    unit: 'ms',
    target: { kind: 'ratio', reference: 'rclone copy', max },
    async run(ctx): Promise<RowResult> {
      const notes: string[] = [];
      const dst = join(ctx.work, `clone-${ds}`);
      const miss = strataOk(ctx) ?? (pushed[ds] ? null : 'nothing was pushed');
      const strataFig: Figure = miss
        ? { kind: 'error', message: miss }
        : await attempt(async () => {
            let requests = 0;
            const samples = await repeat(
              runsFor(ctx, ds),
              async () => {
                const r = await sh(ctx, ctx.work, '--json', 'clone', `s3://${BUCKET}/${pushed[ds]}`, dst, '--endpoint', s3!.endpoint);
                requests = JSON.parse(r.stdout).requests;
                return r.ms;
              },
              () => rmrf(dst),
            );
            notes.push(`strata clone: ${requests} HTTP requests`);
            return valueFigure(samples);
          });
      const rcloneFig: Figure = !ctx.tools.rclone?.available
        ? skipped('rclone not installed')
        : !rcloned[ds]
          ? skipped('rclone push did not run')
          : await attempt(async () =>
              valueFigure(
                await repeat(
                  runsFor(ctx, ds),
                  () => rclone(['copy', '--transfers', '16', `bench:${BUCKET}/${rcloned[ds]}`, dst]),
                  () => rmrf(dst),
                ),
              ),
            );
      rmrf(dst);
      return { strata: strataFig, peers: [{ name: 'rclone copy', figure: rcloneFig }], notes };
    },
  };
}

registerSection({
  id: 'remotes',
  title: 'Remotes (S3)',
  order: 110,
  datasets: ['mixed', 'small'],
  description:
    'An s3rver (the test S3 server, on 127.0.0.1) started by the section. Push: `strata push` of a repository holding the dataset ' +
    '(add+commit untimed) to a fresh prefix each run, beside `rclone copy --transfers 16` of the same folder to a fresh prefix. ' +
    'Clone: `strata clone` of the pushed prefix into an empty folder (checkout included), beside `rclone copy --transfers 16` back ' +
    'from the bucket. No-op push: a second `strata push` with nothing new. The 100k-file rows run once (s3rver stores one file ' +
    'per S3 object, so rclone\'s 100k PUTs take minutes).',
  async setup(ctx) {
    const { startS3rver } = await import('../../test/helpers/s3rver.js');
    const h = await startS3rver({ buckets: [BUCKET] });
    s3 = { endpoint: h.endpoint, stop: () => h.stop() };
    for (const ds of ['mixed', 'small'] as const) {
      const repo = join(ctx.work, `repo-${ds}`);
      mkdirSync(repo, { recursive: true });
      cpSync(ctx.data[ds], join(repo, 'data'), { recursive: true });
      await sh(ctx, repo, 'init');
      await sh(ctx, repo, 'add', 'data');
      await sh(ctx, repo, 'commit', '-q', '-m', ds);
      await sh(ctx, repo, 'remote', 'add', 'origin', `s3://${BUCKET}/${ds}-0`, '--endpoint', h.endpoint);
      // One untimed push: the first push to a server probes whether it enforces conditional writes
      // and caches the answer, which the timed pushes (to fresh prefixes of the same bucket) keep.
      await sh(ctx, repo, 'push');
      repos[ds] = repo;
    }
  },
  async teardown() {
    await s3?.stop();
    s3 = undefined;
  },
  rows: [
    pushRow('mixed', 1.0),
    cloneRow('mixed', 1.0),
    {
      id: 'remotes.push-noop',
      title: 'second push with nothing new (mixed)',
      unit: 'ms',
      target: { kind: 'max', value: 2000 },
      async run(ctx) {
        const miss = strataOk(ctx) ?? (pushed.mixed ? null : 'nothing was pushed');
        const fig: Figure = miss
          ? { kind: 'error', message: miss }
          : await attempt(async () => valueFigure(await repeat(ctx.runs, async () => (await sh(ctx, repos.mixed!, 'push')).ms)));
        return { strata: fig, peers: [] };
      },
    },
    pushRow('small', 0.5),
    cloneRow('small', 0.5),
  ],
});
