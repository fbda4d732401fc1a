/**
 * The user-level credentials file, `$XDG_CONFIG_HOME/strata/credentials` (default
 * `~/.config/strata/credentials`, chmod 600): lines of `<url prefix> <secret>`, `#` comments; the
 * longest prefix matching a URL wins. Strata server tokens (core/store/http/client.ts) and OpenLineage API
 * keys live here, never in a repository's config (which travels with copies and backups).
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the credentials file is for this environment. */
function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(dir, 'strata', 'credentials');
}

export interface CredentialLookup {
  secret?: string;
  /** Problems worth telling the user (a file others may read). Never contains the secret. */
  warnings: string[];
}

/** The secret for `url` from the credentials file, if a line's prefix matches it. */
export function credentialFor(url: string, env: NodeJS.ProcessEnv = process.env): CredentialLookup {
  const path = credentialsPath(env);
  const warnings: string[] = [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { warnings };
  }
  let best: { prefix: string; secret: string } | undefined;
  for (const line of text.split('\n')) {
    const s = line.trim();
    if (!s || s.startsWith('#')) continue;
    const [prefix, secret] = s.split(/\s+/);
    if (!prefix || !secret) continue;
    const p = prefix.replace(/\/+$/, '');
    if ((url === p || url.startsWith(p + '/')) && (!best || p.length > best.prefix.length)) best = { prefix: p, secret };
  }
  if (best && process.platform !== 'win32') {
    try {
      const mode = statSync(path).mode & 0o777;
      if (mode & 0o077) warnings.push(`${path} can be read by other users (mode ${mode.toString(8).padStart(3, '0')}); run chmod 600 ${path}`);
    } catch {
      /* just read it: the mode check is advice */
    }
  }
  return { secret: best?.secret, warnings };
}
