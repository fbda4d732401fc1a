/**
 * strata CLI entry: parse global flags, load only the command that runs (fast startup), map
 * errors to messages and exit codes. Commands live in cli/commands/<verb>.ts.
 */
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import type { Command, Parsed } from './command.js';
import { makeIo, pagerCommand, type ColorMode } from './output.js';
import { effectiveValue } from '../core/config/registry.js';
import { redactText } from '../core/config/redact.js';
import { join } from 'node:path';
import { sqliteToStrata } from '../core/meta/db.js';

/** verb -> [module, summary]. Summaries live here so `strata --help` loads no command module. */
export const COMMANDS: Record<string, [string, string]> = {
  demo: ['demo', 'create a sample project with a pipeline and open the lineage browser on it'],
  init: ['init', 'create a strata repository in the current (or given) folder'],
  add: ['add', 'stage data files or folders (new, modified and deleted files)'],
  rm: ['rm', 'stop tracking paths (and delete them unless --keep)'],
  status: ['status', 'show staged, modified, deleted and untracked data'],
  commit: ['commit', 'record the staged data as a new version'],
  log: ['log', 'list commits'],
  show: ['show', 'show a commit (or a run) in full'],
  diff: ['diff', 'compare workspace, index and commits'],
  branch: ['branch', 'list, create, delete or rename branches'],
  checkout: ['checkout', 'switch the workspace to a branch, tag or commit'],
  switch: ['switch', 'switch to a branch (create one with -c)'],
  restore: ['restore', 'restore files from the index or a commit'],
  merge: ['merge', 'merge a branch into the checked-out one (fast-forward or three-way, per-path rules)'],
  resolve: ['resolve', 'settle a merge conflict by taking --ours, --theirs or --base'],
  tag: ['tag', 'create, list or delete tags'],
  ls: ['ls', 'list files of a commit'],
  cat: ['cat', 'write the bytes of REF:PATH to stdout'],
  export: ['export', 'copy a file or folder of a commit to a destination (workspace untouched)'],
  gc: ['gc', 'delete objects nothing refers to'],
  fsck: ['fsck', 'verify every reachable object exists and is intact'],
  config: ['config', 'get, set and list repository settings'],
  serve: ['serve', 'HTTP server: web lineage browser, API, push/clone remote; tokens'],
  remote: ['remote', 'add, list, remove remotes (S3/MinIO buckets, directories, servers)'],
  push: ['push', 'upload commits and data to a remote and move its branch'],
  fetch: ['fetch', 'download new commits from a remote (workspace untouched)'],
  pull: ['pull', 'fetch and merge into the checked-out branch (or only some paths)'],
  clone: ['clone', 'copy a repository from a remote into a new folder'],
  get: ['get', 'copy a file or folder at a version out of a remote, with no local repository'],
  staging: ['staging', "list, commit or discard a branch's uncommitted writes on a server (S3 gateway)"],
  run: ['run', 'run a command and record it as a run (inputs, outputs, params, code)'],
  repro: ['repro', 'bring pipeline outputs up to date (strata.yaml), using the run cache'],
  reproduce: ['reproduce', 're-run what produced a model from the recorded data, params and code; --verify compares'],
  dag: ['dag', 'show the pipeline stages and their dependencies'],
  runs: ['runs', 'list recorded pipeline runs'],
  lineage: ['lineage', 'what produced a version, and what was built from it; flush sends spooled OpenLineage events'],
  metrics: ['metrics', 'show or compare metrics files'],
  check: ['check', 'run the data checks of strata.checks.yaml on a commit or the staged tables'],
  import: ['import', 'bring a DVC project over: strata.yaml, its data as one commit, its up-to-date stages'],
  completion: ['completion', 'print a shell completion script (bash, zsh or fish)'],
};

export const ALIASES: Record<string, string> = { st: 'status', co: 'checkout', ci: 'commit' };

/** Commands whose long output goes through a pager on a terminal, as git's log and diff. */
const PAGED = new Set(['log', 'diff', 'show']);

/** Flags every command takes, before or after the verb (docs/cli.md, global options). */
export const GLOBAL_FLAGS = ['-C', '--json', '-q', '--quiet', '--color', '--no-pager', '--help', '--version'];

interface Globals {
  json: boolean;
  quiet: boolean;
  color?: ColorMode;
  noPager: boolean;
}

function colorMode(v: string): ColorMode {
  if (v === 'auto' || v === 'always' || v === 'never') return v;
  throw usage(`--color takes auto, always or never, not ${JSON.stringify(v)} (e.g. --color=never)`);
}

/** Take a global flag at args[i] (--json, -q, --color[=WHEN], --no-pager); the count of arguments used, 0 when not one. */
function takeGlobal(args: string[], i: number, g: Globals): number {
  const a = args[i]!;
  if (a === '--json') g.json = true;
  else if (a === '-q' || a === '--quiet') g.quiet = true;
  else if (a === '--no-pager') g.noPager = true;
  else if (a === '--color') g.color = 'always';
  else if (a.startsWith('--color=')) g.color = colorMode(a.slice('--color='.length));
  else return 0;
  return 1;
}


function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

async function loadExtra(): Promise<Record<string, [string, string]>> {
  return {};
}

function globalHelp(all: Record<string, [string, string]>): string {
  const lines = [
    'strata: version data the way git versions code, and see what produced what',
    '',
    'usage: strata [-C DIR] [--json] [-q] [--color=WHEN] [--no-pager] <command> [args]',
    '',
    'commands:',
    ...Object.entries(all).map(([k, [, s]]) => `  ${k.padEnd(10)} ${s}`),
    '',
    'global options:',
    '  -C DIR          run as if started in DIR',
    '  --json          machine-readable output (read commands and most write commands)',
    '  -q, --quiet     print nothing but errors',
    '  --color[=WHEN]  colour: auto (default), always or never (FORCE_COLOR, NO_COLOR)',
    '  --no-pager      never page the output of log, diff and show',
    '  -h, --help      help for strata or a command (strata help <command>)',
    '  --version       print the version',
    '',
    'docs: docs/quickstart.md, docs/cli.md',
  ];
  return lines.join('\n');
}

function commandHelp(cmd: Command): string {
  return [`usage: strata ${cmd.usage}`, '', cmd.summary, ...(cmd.help ? ['', cmd.help] : [])].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  let json = argv.includes('--json');
  const io0 = makeIo({ json });
  try {
    const code = await run(argv);
    process.exitCode = code;
  } catch (e) {
    process.exitCode = reportError(e, io0, json);
  }
  void json;
  json = false;
}

async function run(argv: string[]): Promise<number> {
  // Global flags before the verb.
  let i = 0;
  const g: Globals = { json: false, quiet: false, noPager: false };
  while (i < argv.length) {
    const a = argv[i]!;
    const used = takeGlobal(argv, i, g);
    if (used) {
      i += used;
    } else if (a === '-C') {
      const dir = argv[i + 1];
      if (!dir) throw usage('-C needs a directory');
      process.chdir(dir);
      i += 2;
    } else if (a === '--version' || a === '-V') {
      process.stdout.write(`strata ${version()}\n`);
      return 0;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(globalHelp({ ...COMMANDS, ...(await loadExtra()) }) + '\n');
      return 0;
    } else break;
  }
  let verb = argv[i];
  const rest = argv.slice(i + 1);
  if (!verb) {
    process.stdout.write(globalHelp({ ...COMMANDS, ...(await loadExtra()) }) + '\n');
    return 2;
  }
  if (verb === 'help') {
    const target = rest[0];
    if (!target) {
      process.stdout.write(globalHelp({ ...COMMANDS, ...(await loadExtra()) }) + '\n');
      return 0;
    }
    const cmd = await loadCommand(target);
    process.stdout.write(commandHelp(cmd) + '\n');
    return 0;
  }
  verb = ALIASES[verb] ?? verb;
  const cmd = await loadCommand(verb);
  const dd = rest.indexOf('--');
  const given = dd >= 0 ? rest.slice(0, dd) : rest;
  // Global flags may follow the verb too; the command's own parser sees the others.
  const before: string[] = [];
  // The value of a command's own option is never taken for one (`commit -m -q` is the message "-q").
  const valued = new Set<string>();
  for (const [name, o] of Object.entries(cmd.options ?? {})) {
    if (o.type !== 'string') continue;
    valued.add(`--${name}`);
    if (o.short) valued.add(`-${o.short}`);
  }
  for (let k = 0; k < given.length; k++) {
    if (valued.has(given[k]!) && k + 1 < given.length) before.push(given[k]!, given[++k]!);
    else if (!takeGlobal(given, k, g)) before.push(given[k]!);
  }
  // Only flags before `--` ask for help: `strata run -n x -- ls -h` runs `ls -h`.
  if (before.includes('-h') || before.includes('--help')) {
    process.stdout.write(commandHelp(cmd) + '\n');
    return 0;
  }
  const after = dd >= 0 ? rest.slice(dd + 1) : [];
  let parsed: Parsed;
  try {
    const r = parseArgs({
      args: before,
      options: { ...(cmd.options ?? {}) },
      allowPositionals: true,
      strict: true,
    });
    parsed = { values: r.values as Parsed['values'], positionals: r.positionals, rest: after };
  } catch (e) {
    throw usage(`${(e as Error).message.replace(/\. To specify a positional.*$/, '')}\nusage: strata ${cmd.usage}`);
  }
  const pager = PAGED.has(verb) && !g.noPager ? pagerCommand(effectiveValue(null, 'core.pager')?.value ?? null, process.env) : null;
  const io = makeIo({ json: g.json, quiet: g.quiet, color: g.color, pager });
  let code: number;
  try {
    code = (await cmd.run(parsed, io)) ?? 0;
    io.endProgress();
  } catch (e) {
    io.endProgress();
    // The error itself is never held back by -q.
    await io.finish(1);
    return reportError(e, makeIo({ json: g.json, color: g.color }), g.json);
  }
  await io.finish(code);
  return code;
}

async function loadCommand(verb: string): Promise<Command> {
  const all = { ...COMMANDS };
  let entry = all[verb];
  if (!entry) entry = (await loadExtra())[verb];
  if (!entry) {
    const names = Object.keys({ ...COMMANDS, ...(await loadExtra()) });
    // Commands sharing the first two letters, the closest of them only (stauts: status, not staging).
    const { editDistance } = await import('../core/util/text.js');
    const prefixed = names.filter((n) => n.startsWith(verb.slice(0, 2)));
    const best = Math.min(...prefixed.map((n) => editDistance(verb, n)));
    const near = prefixed.filter((n) => editDistance(verb, n) === best);
    throw usage(`unknown command ${JSON.stringify(verb)}${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; see strata --help`);
  }
  const mod = (await import(`./commands/${entry[0]}.js`)) as { default: Command };
  return mod.default;
}

class UsageError extends Error {}
function usage(msg: string): UsageError {
  return new UsageError(msg);
}

function reportError(e: unknown, io: ReturnType<typeof makeIo>, json: boolean): number {
  // SQLite errors that escaped an operation's own mapping (damaged file, full disk): typed too.
  if (String((e as { code?: unknown })?.code ?? '').startsWith('SQLITE_')) e = sqliteToStrata(e, join(process.cwd(), '.strata', 'strata.db'));
  const se = e as { name?: string; code?: string; message?: string; hint?: string; exitCode?: number; details?: unknown; toJSON?: () => unknown };
  if (e instanceof UsageError) {
    if (json) io.json({ error: { code: 'INVALID_ARGUMENT', message: e.message } });
    else io.err(`strata: ${e.message}`);
    return 2;
  }
  if (se && se.name === 'StrataError') {
    // Messages may quote a URL: never with its credentials (core/config/redact.ts).
    if (json) io.json({ error: { ...((se.toJSON ? se.toJSON() : { code: se.code }) as object), message: redactText(se.message ?? ''), hint: redactText(se.hint) } });
    else {
      io.err(`error: ${redactText(se.message ?? '')}`);
      if (se.hint) io.err(`hint: ${redactText(se.hint)}`);
    }
    return se.exitCode ?? 1;
  }
  const msg = redactText((e as Error)?.message ?? String(e));
  if (json) io.json({ error: { code: 'INTERNAL', message: msg } });
  else {
    io.err(`error: internal error: ${msg}`);
    if (process.env.STRATA_DEBUG) io.err(String((e as Error)?.stack));
    else io.err('hint: rerun with STRATA_DEBUG=1 for details, and report it');
  }
  return 1;
}
