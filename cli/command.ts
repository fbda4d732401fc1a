/** The shape of a CLI command module (cli/commands/<verb>.ts). */
import type { ParseArgsConfig } from 'node:util';
import type { Io } from './output.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  /** Arguments after a literal `--`. */
  rest: string[];
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Longer help: flags and examples. */
  help?: string;
  options?: OptionSpec;
  /** Words that may follow the verb as a subcommand (`remote add`); shell completion offers them. */
  subcommands?: readonly string[];
  run(args: Parsed, io: Io): Promise<number | void>;
}
