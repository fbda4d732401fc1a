import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Step } from './proc.js';

/** How the harness invokes the CLI: `node <root>/bin/strata.js <args>`. */
export function strata(root: string, ...args: string[]): Step {
  return [process.execPath, [join(root, 'bin', 'strata.js'), ...args]];
}

/** Reason the CLI cannot run at all (null when bin/strata.js and dist/cli/main.js exist). */
export function strataMissing(root: string): string | null {
  if (!existsSync(join(root, 'bin', 'strata.js'))) return 'bin/strata.js not found (CLI not written yet)';
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) return 'dist/cli/main.js not found (CLI not built)';
  return null;
}

/** Env for strata runs: no colours/pagers, no telemetry-like surprises. */
export function strataEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: '1', STRATA_NO_PAGER: '1' };
}
