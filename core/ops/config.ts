import { StrataError } from '../errors/index.js';
import { withRepo, withWriteRepo, type OpContext } from './context.js';

/** Keys strata itself reads (others are allowed, for tools and users, but listed as custom). */
export const KNOWN_KEYS: Record<string, string> = {
  'user.name': 'author name for commits and runs',
  'user.email': 'author email for commits and runs',
  'core.fsync': 'true (default) or false: fsync objects before they are referenced',
  'core.allowOutsideSymlinks': 'false (default) or true: let checkout/pull/clone create symbolic links whose target leaves the workspace',
  'openlineage.url': 'HTTP endpoint receiving OpenLineage run events (e.g. http://marquez:5000/api/v1/lineage)',
  'openlineage.file': 'JSON-lines file receiving OpenLineage run events',
  'openlineage.namespace': 'job namespace for OpenLineage events (default: strata://<project folder>)',
  'openlineage.apiKey': 'bearer token sent to openlineage.url',
  'remote.default': 'remote used by push/pull/fetch when none is named',
};

const KEY_RE = /^[a-z][a-z0-9-]*(\.[A-Za-z0-9_-]+)+$/;

function checkKey(key: string): void {
  if (!KEY_RE.test(key)) throw new StrataError('INVALID_ARGUMENT', `invalid config key ${JSON.stringify(key)}`, { hint: 'keys look like section.name, e.g. user.name' });
}

function checkValue(key: string, value: string): void {
  if (key === 'core.fsync' && value !== 'true' && value !== 'false') {
    throw new StrataError('CONFIG_INVALID', `core.fsync must be true or false, not ${JSON.stringify(value)}`, { hint: 'strata config set core.fsync true' });
  }
  if (key === 'core.allowOutsideSymlinks' && value !== 'true' && value !== 'false') {
    throw new StrataError('CONFIG_INVALID', `core.allowOutsideSymlinks must be true or false, not ${JSON.stringify(value)}`, { hint: 'strata config set core.allowOutsideSymlinks true' });
  }
  if (key === 'openlineage.url' && !/^https?:\/\//.test(value)) {
    throw new StrataError('CONFIG_INVALID', `openlineage.url must be an http(s) URL`, { hint: 'e.g. strata config set openlineage.url http://localhost:5000/api/v1/lineage' });
  }
}

export async function configGet(ctx: OpContext, key: string): Promise<string | null> {
  checkKey(key);
  return withRepo(ctx, async (repo) => repo.db.getConfig(key));
}

export async function configSet(ctx: OpContext, key: string, value: string): Promise<void> {
  checkKey(key);
  checkValue(key, value);
  await withWriteRepo(ctx, 'config', async (repo) => repo.db.setConfig(key, value));
}

export async function configUnset(ctx: OpContext, key: string): Promise<boolean> {
  checkKey(key);
  return withWriteRepo(ctx, 'config', async (repo) => {
    const had = repo.db.getConfig(key) !== null;
    repo.db.setConfig(key, null);
    return had;
  });
}

export async function configList(ctx: OpContext): Promise<Array<{ key: string; value: string; known: boolean }>> {
  return withRepo(ctx, async (repo) => repo.db.listConfig().map((r) => ({ ...r, known: r.key in KNOWN_KEYS })));
}
