/**
 * `strata completion bash|zsh|fish`: a shell completion script, generated from the command table
 * (cli/main.ts COMMANDS and ALIASES) and each command's options and subcommands: no hand-kept lists.
 */
import type { Command } from '../command.js';
import { StrataError } from '../../core/errors/index.js';

interface VerbSpec {
  verb: string;
  summary: string;
  /** `--long` and `-s` spellings. */
  flags: string[];
  /** Long flags that take a value (fish: `-r`). */
  valued: Set<string>;
  shorts: Map<string, string>;
  subcommands: readonly string[];
}

const SHELLS = ['bash', 'zsh', 'fish'] as const;

async function table(): Promise<{ verbs: VerbSpec[]; globals: string[] }> {
  const { COMMANDS, ALIASES, GLOBAL_FLAGS } = await import('../main.js');
  const specs = new Map<string, VerbSpec>();
  for (const [verb, [mod, summary]] of Object.entries(COMMANDS)) {
    const cmd = ((await import(`./${mod}.js`)) as { default: Command }).default;
    const flags: string[] = [];
    const valued = new Set<string>();
    const shorts = new Map<string, string>();
    for (const [name, o] of Object.entries(cmd.options ?? {})) {
      // A one-letter option (`n`) is spelt -n; parseArgs's --n works too but nobody types it.
      flags.push(name.length === 1 ? `-${name}` : `--${name}`);
      if (o.type === 'string') valued.add(name);
      if (o.short && o.short !== name) {
        flags.push(`-${o.short}`);
        shorts.set(name, o.short);
      }
    }
    specs.set(verb, { verb, summary, flags, valued, shorts, subcommands: cmd.subcommands ?? [] });
  }
  for (const [alias, verb] of Object.entries(ALIASES)) {
    const s = specs.get(verb);
    if (s) specs.set(alias, { ...s, verb: alias, summary: `alias of ${verb}` });
  }
  specs.set('help', { verb: 'help', summary: 'help for a command', flags: [], valued: new Set(), shorts: new Map(), subcommands: [...Object.keys(COMMANDS)] });
  return { verbs: [...specs.values()], globals: GLOBAL_FLAGS.filter((f) => f !== '--color').concat(['--color=auto', '--color=always', '--color=never']) };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(t: { verbs: VerbSpec[]; globals: string[] }): string {
  const cases = t.verbs.map((v) => `    ${v.verb}) flags=${q(v.flags.join(' '))}; subs=${q(v.subcommands.join(' '))} ;;`);
  return `# strata completion for bash. Load it with: source <(strata completion bash)
_strata() {
  local cur=\${COMP_WORDS[COMP_CWORD]} verb='' at=0 i flags='' subs=''
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      -C) ((i++)) ;;
      -*) ;;
      *) verb=\${COMP_WORDS[i]}; at=$i; break ;;
    esac
  done
  if [[ -z $verb ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W ${q(t.globals.join(' '))} -- "$cur"))
    else
      COMPREPLY=($(compgen -W ${q(t.verbs.map((v) => v.verb).join(' '))} -- "$cur"))
    fi
    return
  fi
  case $verb in
${cases.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags ${t.globals.join(' ')}" -- "$cur"))
  elif [[ -n $subs && $COMP_CWORD -eq $((at + 1)) ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    COMPREPLY=()
  fi
}
complete -o default -F _strata strata
`;
}

function zsh(t: { verbs: VerbSpec[]; globals: string[] }): string {
  const zq = (s: string) => q(s.replace(/:/g, '\\:'));
  const cases = t.verbs.map((v) => `    ${v.verb}) flags=(${v.flags.join(' ')}); subs=(${v.subcommands.join(' ')}) ;;`);
  return `#compdef strata
# strata completion for zsh. Load it with: source <(strata completion zsh)
# (after compinit), or save it as _strata in a folder of $fpath.
_strata() {
  local verb='' i at=0
  local -a flags subs verbs
  for ((i = 2; i < CURRENT; i++)); do
    case \${words[i]} in
      -C) ((i++)) ;;
      -*) ;;
      *) verb=\${words[i]}; at=$i; break ;;
    esac
  done
  if [[ -z $verb ]]; then
    if [[ \${words[CURRENT]} == -* ]]; then
      compadd -- ${t.globals.join(' ')}
    else
      verbs=(${t.verbs.map((v) => zq(`${v.verb}:${v.summary}`)).join(' ')})
      _describe 'strata command' verbs
    fi
    return
  fi
  case $verb in
${cases.join('\n')}
  esac
  if [[ \${words[CURRENT]} == -* ]]; then
    compadd -- $flags ${t.globals.join(' ')}
  elif (( \${#subs} > 0 && CURRENT == at + 1 )); then
    compadd -- $subs
  else
    _files
  fi
}
if [[ \${funcstack[1]} == _strata ]]; then
  _strata "$@"
else
  compdef _strata strata
fi
`;
}

function fish(t: { verbs: VerbSpec[]; globals: string[] }): string {
  const lines = ['# strata completion for fish. Load it with: strata completion fish | source', '# (or save it as ~/.config/fish/completions/strata.fish)', 'complete -c strata -e'];
  lines.push(`complete -c strata -s C -r -d 'run as if started in DIR'`);
  lines.push(`complete -c strata -l json -d 'machine-readable output'`);
  lines.push(`complete -c strata -s q -l quiet -d 'print nothing but errors'`);
  lines.push(`complete -c strata -l color -x -a 'auto always never' -d 'colour the output'`);
  lines.push(`complete -c strata -l no-pager -d 'never page the output'`);
  for (const v of t.verbs) {
    lines.push(`complete -c strata -f -n __fish_use_subcommand -a ${v.verb} -d ${q(v.summary)}`);
    const seen = `'__fish_seen_subcommand_from ${v.verb}'`;
    if (v.subcommands.length) lines.push(`complete -c strata -f -n ${seen} -a ${q(v.subcommands.join(' '))}`);
    for (const f of v.flags) {
      const name = f.replace(/^--?/, '');
      if (f.startsWith('-') && !f.startsWith('--') && name.length === 1 && !v.valued.has(name) && [...v.shorts.values()].includes(name)) continue; // written with its long name
      const short = v.shorts.get(name);
      const spell = f.startsWith('--') ? `-l ${name}${short ? ` -s ${short}` : ''}` : `-s ${name}`;
      lines.push(`complete -c strata -n ${seen} ${spell}${v.valued.has(name) ? ' -r' : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}

const cmd: Command = {
  name: 'completion',
  summary: 'print a shell completion script (bash, zsh or fish)',
  usage: 'completion bash|zsh|fish',
  subcommands: SHELLS,
  help: [
    'bash:  source <(strata completion bash)        (add the line to ~/.bashrc)',
    'zsh:   source <(strata completion zsh)         (in ~/.zshrc, after compinit)',
    'fish:  strata completion fish > ~/.config/fish/completions/strata.fish',
  ].join('\n'),
  async run(a) {
    const shell = a.positionals[0];
    if (a.positionals.length !== 1 || !SHELLS.includes(shell as (typeof SHELLS)[number])) {
      throw new StrataError('INVALID_ARGUMENT', shell === undefined ? 'strata completion needs a shell' : `no completion for the shell ${JSON.stringify(shell)}`, { hint: 'use strata completion bash, zsh or fish' });
    }
    const t = await table();
    const script = shell === 'bash' ? bash(t) : shell === 'zsh' ? zsh(t) : fish(t);
    // The script is the product, as cat's bytes are: written even with -q.
    process.stdout.write(script);
  },
};
export default cmd;
