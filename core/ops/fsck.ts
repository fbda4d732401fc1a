/**
 * strata fsck [--quick] [--repair]: check, and rebuild what can be rebuilt.
 *
 * Checked: the metadata database (SQLite's quick_check), the pack files against their indexes,
 * the caches in the database against the objects they cache (tree and commit rows re-hashed
 * against their ids, commit columns against the commit bytes, index and stat-cache rows well
 * formed), every object reachable from every ref, the index and the run records (present and
 * hashing to its id), and for chunked files that the chunks, concatenated, hash to the file id
 * the tree entry claims.
 *
 * --repair (holding the writer lock): a damaged database is replaced by a new one holding every
 * row that could still be read, with refs recovered from the commits in the store when they were
 * lost (the damaged file is kept as strata.db.corrupt-<time>); damaged cache rows are dropped and
 * re-read from the store; the stat cache is dropped; a damaged index is rebuilt from HEAD; damaged
 * packs are salvaged (every intact object copied to a new pack, the old files moved to
 * objects/damaged/); corrupt loose objects are moved there too; objects still missing are fetched
 * from the configured remotes that have them. Then everything is checked again.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, isStrataError } from '../errors/index.js';
import { createHasher, hashBytes, isId } from '../hash/index.js';
import { MetaDb, SCHEMA_VERSION, salvageInto, sqliteToStrata, type SalvageTable } from '../meta/db.js';
import { parseCommit, parseManifest, type Id } from '../model/index.js';
import { reachable, type Reached } from '../repo/reach.js';
import { DB_FILE, Repository, STRATA_DIR } from '../repo/index.js';
import { WriteLock } from '../repo/lock.js';
import { flattenTree } from '../repo/tree.js';
import { rootsOf } from '../repo/worktree.js';
import { outermost } from '../workspace/paths.js';
import { mapLimit } from '../util/concurrency.js';
import type { OpContext } from './context.js';
import { collectRoots } from './roots.js';

const REPAIR_COMMAND = 'strata fsck --repair';

export interface FsckProblem {
  /** Object id the problem is about ('' for a database page, a pack file, ...). */
  id: string;
  problem: 'missing' | 'corrupt' | 'dangling-ref' | 'bad-content';
  kind: Reached['kind'] | 'ref' | 'database' | 'pack' | 'tree-cache' | 'commit-cache' | 'index' | 'stat-cache';
  path?: string;
  commit?: string;
  /** The damaged file (database, pack, pack index). */
  file?: string;
  detail?: string;
  /** Whether strata fsck --repair can fix it (from the objects, or a remote that has the object). */
  repairable?: boolean;
}

export interface RepairAction {
  what: string;
  detail: string;
}

export interface FsckResult {
  ok: boolean;
  checked: number;
  bytes: number;
  problems: FsckProblem[];
  /** The command that repairs what can be repaired (null when clean). */
  repair: string | null;
  /** With --repair: what was done (the problems listed are those left afterwards). */
  repaired?: RepairAction[];
}

export interface FsckOptions {
  quick?: boolean;
  repair?: boolean;
}

export async function fsck(ctx: OpContext, opts: FsckOptions = {}): Promise<FsckResult> {
  const root = await Repository.find(ctx.cwd);
  if (!root) {
    throw new StrataError('NOT_A_REPOSITORY', `not a strata repository (or any parent up to /): ${ctx.cwd}`, { hint: 'run strata init here, or cd into a strata project' });
  }
  const dbFile = join(root, STRATA_DIR, DB_FILE);
  try {
    if (!opts.repair) return await check(root, opts);
    const waitMs = Number(process.env.STRATA_LOCK_WAIT_MS ?? 2000);
    const lock = await WriteLock.acquire(join(root, STRATA_DIR, 'lock'), 'fsck --repair', waitMs);
    try {
      return await repair(root, opts);
    } finally {
      await lock.release();
    }
  } catch (e) {
    throw sqliteToStrata(e, dbFile);
  }
}

// ---------------------------------------------------------------- checking

interface ChunkedFile {
  id: Id;
  manifest: Id;
  size: number;
  path: string;
  commit?: Id;
}

interface CheckState {
  problems: FsckProblem[];
  checked: number;
  bytes: number;
  /** Whether the database itself is damaged (unopenable or failing quick_check). */
  dbDamaged: boolean;
}

function dbProblem(file: string, detail: string): FsckProblem {
  return { id: '', problem: 'corrupt', kind: 'database', file, detail, repairable: true };
}

function isDbCorrupt(e: unknown): boolean {
  if (isStrataError(e, 'DB_CORRUPT')) return true;
  const code = String((e as { code?: unknown })?.code ?? '');
  return code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB');
}

async function check(root: string, opts: FsckOptions): Promise<FsckResult> {
  const dbFile = join(root, STRATA_DIR, DB_FILE);
  const st: CheckState = { problems: [], checked: 0, bytes: 0, dbDamaged: false };
  let repo: Repository | null = null;
  try {
    // Read-only: checking never changes anything (not even a damaged cache row).
    repo = await Repository.openAt(root, { readonly: !opts.repair });
    if (!opts.repair && repo.db.schemaVersion() < SCHEMA_VERSION) {
      // An older schema is migrated first, as any command does (the check reads the new tables).
      await repo.close();
      repo = null;
      repo = await Repository.openAt(root);
    }
  } catch (e) {
    if (!isDbCorrupt(e)) throw e;
    st.dbDamaged = true;
    st.problems.push(dbProblem(dbFile, `the metadata database cannot be opened: ${(e as Error).message}`));
  }
  try {
    if (repo) {
      await checkRepo(repo, st, opts);
      await markRefetchable(repo, st);
    } else await checkPacksOnly(root, st);
  } finally {
    await repo?.close();
  }
  return { ok: st.problems.length === 0, checked: st.checked, bytes: st.bytes, problems: st.problems, repair: st.problems.length ? REPAIR_COMMAND : null };
}

const OBJECT_KINDS = new Set(['commit', 'tree', 'blob', 'manifest', 'chunk', 'tag', 'other']);

/**
 * A lost object can be repaired only from a copy: the database cache (trees, commits) or a
 * configured remote. Without a remote, the others are marked not repairable.
 */
async function markRefetchable(repo: Repository, st: CheckState): Promise<void> {
  let remotes = 0;
  try {
    const { listRemotes } = await import('../remote/config.js');
    remotes = listRemotes(repo.db).length;
  } catch {
    remotes = 0;
  }
  if (remotes > 0) return;
  for (const p of st.problems) {
    if (!(OBJECT_KINDS.has(p.kind) || p.kind === 'ref') || !isId(p.id)) continue;
    let cached = false;
    try {
      cached = (p.kind === 'tree' && repo.db.getTreeRaw(p.id) !== null) || (p.kind === 'commit' && repo.db.getCommitRaw(p.id) !== null);
    } catch {
      cached = false;
    }
    if (!cached) p.repairable = false;
  }
}

async function checkPacksOnly(root: string, st: CheckState): Promise<void> {
  const { LocalStore } = await import('../store/local/index.js');
  const store = new LocalStore(join(root, STRATA_DIR, 'objects'));
  try {
    for (const p of await store.checkPacks()) st.problems.push({ id: '', problem: p.problem === 'idx-corrupt' ? 'corrupt' : 'missing', kind: 'pack', file: p.file, detail: p.detail, repairable: true });
  } finally {
    await store.close();
  }
}

/** Run `fn`; a damaged database page met on the way becomes a finding instead of a crash. */
async function guarded(st: CheckState, repo: Repository, what: string, fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!isDbCorrupt(e)) throw e;
    st.dbDamaged = true;
    st.problems.push(dbProblem(repo.db.path, `${what}: ${(e as Error).message}`));
  }
}

async function checkRepo(repo: Repository, st: CheckState, opts: FsckOptions): Promise<void> {
  const problems = st.problems;
  // 1. The database file itself.
  const qc = repo.db.quickCheck();
  if (qc.length) {
    st.dbDamaged = true;
    problems.push(dbProblem(repo.db.path, `SQLite quick_check: ${qc.slice(0, 5).join('; ')}${qc.length > 5 ? ` (and ${qc.length - 5} more)` : ''}`));
  }
  // 2. Packs against their indexes.
  const packProblems = await repo.localStore().checkPacks();
  const lostInPack = new Map<string, string>();
  for (const p of packProblems) {
    problems.push({ id: '', problem: p.problem === 'idx-corrupt' ? 'corrupt' : 'missing', kind: 'pack', file: p.file, detail: p.detail, repairable: true });
    for (const id of p.ids) lostInPack.set(id, p.file);
  }
  // 3. Caches against the objects they cache (before any read could drop a bad row).
  await guarded(st, repo, 'tree cache', () => {
    for (const r of repo.db.iterTreeCache()) {
      if (!Buffer.isBuffer(r.raw) || hashBytes(r.raw) !== r.id) {
        problems.push({ id: r.id, problem: 'corrupt', kind: 'tree-cache', detail: 'the cached copy of this tree in strata.db does not hash to its id (reads use the store copy)', repairable: true });
      }
    }
  });
  await guarded(st, repo, 'commit cache', () => {
    for (const r of repo.db.iterCommitCache()) {
      let why: string | null = null;
      if (!Buffer.isBuffer(r.raw) || hashBytes(r.raw) !== r.id) why = 'the cached copy of this commit in strata.db does not hash to its id';
      else {
        try {
          const c = parseCommit(r.raw);
          const diff = [
            c.tree !== r.tree && 'tree',
            JSON.stringify(c.parents) !== r.parents && 'parents',
            (c.author?.name !== r.authorName || c.author?.email !== r.authorEmail) && 'author',
            c.time !== r.time && 'time',
            c.message !== r.message && 'message',
            (c.code?.commit ?? null) !== r.codeCommit && 'code commit',
          ].filter(Boolean);
          if (diff.length) why = `the commit row in strata.db disagrees with the commit object (${diff.join(', ')})`;
        } catch (e) {
          why = `the cached commit does not parse: ${(e as Error).message}`;
        }
      }
      if (why) problems.push({ id: r.id, problem: 'corrupt', kind: 'commit-cache', detail: why, repairable: true });
    }
  });
  await guarded(st, repo, 'staging index', () => {
    for (const r of repo.db.loadIndex().values()) {
      const bad = badRow(r.path, r.id, r.chunks, r.size) ?? (r.type !== 'file' && r.type !== 'symlink' ? `unknown type ${JSON.stringify(r.type)}` : null);
      if (bad) problems.push({ id: isId(r.id) ? r.id : '', problem: 'corrupt', kind: 'index', path: r.path, detail: `staging index row: ${bad}`, repairable: true });
    }
  });
  await guarded(st, repo, 'stat cache', () => {
    for (const r of repo.db.loadStatCache().values()) {
      const bad = badRow(r.path, r.id, r.chunks, r.size) ?? (![r.mtime, r.ctime, r.ino, r.recorded].every((n) => typeof n === 'number' && Number.isFinite(n)) ? 'non-numeric stat fields' : null);
      if (bad) problems.push({ id: isId(r.id) ? r.id : '', problem: 'corrupt', kind: 'stat-cache', path: r.path, detail: `stat cache row: ${bad}`, repairable: true });
    }
  });
  // 4. Refs and everything reachable.
  let live = new Map<Id, Reached>();
  const unreadable = new Set<Id>();
  await guarded(st, repo, 'refs', async () => {
    for (const r of repo.db.listRefs('refs/')) {
      if (r.target.startsWith('ref: ')) continue;
      if (!isId(r.target) || (!repo.db.hasCommit(r.target) && !(await repo.store.has(r.target)))) {
        problems.push({ id: r.target, problem: 'dangling-ref', kind: 'ref', detail: `${r.name} points at a commit that does not exist`, repairable: true });
      }
    }
  });
  await guarded(st, repo, 'walking the history', async () => {
    live = await reachable(repo, await collectRoots(repo), {
      onMissing: (id, info, cause) => {
        unreadable.add(id);
        // An object that is there but refused by its parser (not canonical, malformed) is corrupt, not missing.
        const corrupt = isStrataError(cause, 'OBJECT_CORRUPT');
        problems.push({ id, problem: corrupt ? 'corrupt' : 'missing', kind: info.kind, path: info.path, commit: info.commit, file: lostInPack.get(id), repairable: true, ...(corrupt ? { detail: cause.message } : {}) });
      },
    });
  });
  // 5. Chunked files: the chunks, in order, must hash to the file id (and add up to its size).
  const chunked = await collectChunked(repo, live, st);
  const verified = new Set<Id>();
  if (!opts.quick) {
    await mapLimit(chunked, 4, async (f) => {
      if (unreadable.has(f.manifest)) return;
      const r = await checkChunkedFile(repo, f, verified, st);
      if (r) problems.push(r);
    });
  }
  // 6. Every other reachable object.
  const entries = [...live.entries()].filter(([id]) => !unreadable.has(id) && !verified.has(id));
  await mapLimit(entries, 8, async ([id, info]) => {
    try {
      if (opts.quick) {
        if (!(await repo.store.has(id))) throw new StrataError('OBJECT_MISSING', 'missing');
      } else {
        const s = await repo.store.get(id, { verify: true });
        for await (const chunk of s) st.bytes += (chunk as Buffer).length;
      }
      st.checked++;
    } catch (e) {
      const missing = isStrataError(e, 'OBJECT_MISSING');
      problems.push({ id, problem: missing ? 'missing' : 'corrupt', kind: info.kind, path: info.path, commit: info.commit, file: lostInPack.get(id), detail: (e as Error).message, repairable: true });
    }
  });
  st.checked += verified.size;
}

function badRow(path: string, id: string, chunks: string | null, size: number): string | null {
  if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.split('/').some((c) => c === '' || c === '.' || c === '..')) return `bad path ${JSON.stringify(path)}`;
  if (typeof id !== 'string' || !isId(id)) return `bad object id ${JSON.stringify(id)}`;
  if (chunks !== null && (typeof chunks !== 'string' || !isId(chunks))) return `bad chunk list id ${JSON.stringify(chunks)}`;
  if (!Number.isSafeInteger(size) || size < 0) return `bad size ${JSON.stringify(size)}`;
  return null;
}

/** Chunked files of every reachable tree and of the staging index, each (id, manifest) once. */
async function collectChunked(repo: Repository, live: Map<Id, Reached>, st: CheckState): Promise<ChunkedFile[]> {
  const out = new Map<string, ChunkedFile>();
  for (const [id, info] of live) {
    if (info.kind !== 'tree') continue;
    let tree;
    try {
      tree = await repo.readTree(id);
    } catch {
      continue; // reported by the walk or the object check
    }
    for (const e of tree.entries) {
      if (e.type !== 'file' || !e.chunks) continue;
      const key = `${e.id}:${e.chunks}`;
      if (!out.has(key)) out.set(key, { id: e.id, manifest: e.chunks, size: e.size, path: info.path && info.path !== '/' ? `${info.path}/${e.name}` : e.name, commit: info.commit });
    }
  }
  await guarded(st, repo, 'staging index', () => {
    for (const r of repo.db.loadIndex().values()) {
      if (!r.chunks || !isId(r.chunks) || !isId(r.id)) continue;
      const key = `${r.id}:${r.chunks}`;
      if (!out.has(key)) out.set(key, { id: r.id, manifest: r.chunks, size: r.size, path: r.path });
    }
  });
  return [...out.values()];
}

/** Read a chunked file's chunks in order: each must hash to its id, all together to the file id. */
async function checkChunkedFile(repo: Repository, f: ChunkedFile, verified: Set<Id>, st: CheckState): Promise<FsckProblem | null> {
  let m;
  try {
    m = parseManifest(await repo.store.getBytes(f.manifest, { verify: true }));
  } catch (e) {
    return null; // the manifest's own problem is reported by the object check
  }
  const whole = createHasher();
  let total = 0;
  for (const [cid, csize] of m.chunks) {
    let buf: Buffer;
    try {
      buf = await repo.store.getBytes(cid);
    } catch {
      return null; // a missing chunk is reported by the object check
    }
    if (buf.length !== csize || hashBytes(buf) !== cid) return null; // corrupt chunk: reported by the object check
    if (!verified.has(cid)) {
      verified.add(cid);
      st.bytes += buf.length;
    }
    whole.update(buf);
    total += buf.length;
  }
  verified.add(f.manifest);
  const got = whole.digestHex();
  if (got === f.id && total === f.size) return null;
  return {
    id: f.id,
    problem: 'bad-content',
    kind: 'manifest',
    path: f.path,
    commit: f.commit,
    detail:
      got !== f.id
        ? `the chunks listed by ${f.manifest} hash to ${got} together, not to the file id the tree claims: this version of the file cannot be restored`
        : `the chunks add up to ${total} bytes, the tree entry says ${f.size}`,
    repairable: false,
  };
}

// ---------------------------------------------------------------- repairing

async function repair(root: string, opts: FsckOptions): Promise<FsckResult> {
  const actions: RepairAction[] = [];
  const first = await check(root, { quick: opts.quick, repair: true });
  if (first.ok) return { ...first, repaired: actions };
  if (first.problems.some((p) => p.kind === 'database')) await rebuildDatabase(root, actions);

  const repo = await Repository.openAt(root);
  try {
    await repairWith(repo, first, actions);
  } finally {
    await repo.close();
  }
  const after = await check(root, { quick: opts.quick, repair: true });
  return { ...after, repaired: actions };
}

async function repairWith(repo: Repository, found: FsckResult, actions: RepairAction[]): Promise<void> {
  const db = repo.db;
  // Caches: drop damaged rows, put the store's copy back where it is intact.
  for (const p of found.problems) {
    if (p.kind === 'tree-cache') {
      db.tx(() => db.deleteTree(p.id));
      const good = await repo.store.getBytes(p.id, { verify: true }).catch(() => null);
      if (good) db.tx(() => db.putTree(p.id, good));
      actions.push({ what: 'tree-cache', detail: `tree ${p.id}: damaged cache row ${good ? 'replaced by the store copy' : 'dropped'}` });
    } else if (p.kind === 'commit-cache') {
      db.tx(() => db.deleteCommit(p.id));
      const good = await repo.store.getBytes(p.id, { verify: true }).catch(() => null);
      if (good) {
        const c = parseCommit(good);
        db.tx(() => repo.indexCommit(p.id, c, good));
      }
      actions.push({ what: 'commit-cache', detail: `commit ${p.id}: damaged cache row ${good ? 'rebuilt from the store copy' : 'dropped'}` });
    }
  }
  const n = db.tx(() => db.clearStatCache());
  if (n) actions.push({ what: 'stat-cache', detail: `dropped ${n} stat cache row(s) (files are re-hashed once)` });
  if (found.problems.some((p) => p.kind === 'index')) {
    await resetIndexToHead(repo);
    actions.push({ what: 'index', detail: 'the staging index was damaged: rebuilt from HEAD (re-add changes that were staged)' });
  }
  // Packs: salvage what is intact, move the damaged files aside.
  const packFiles = new Set(found.problems.filter((p) => p.kind === 'pack').map((p) => p.file!));
  const lost = new Set<Id>();
  for (const file of packFiles) {
    const pack = file.replace(/^.*\//, '').replace(/\.(idx|pack)$/, '');
    const r = await repo.localStore().quarantinePack(pack);
    for (const id of r.lost) lost.add(id);
    actions.push({ what: 'pack', detail: `${file}: ${r.kept.length} intact object(s) copied to a new pack, ${r.lost.length} lost; the damaged files moved to ${r.movedTo}` });
  }
  // Corrupt objects: out of the way, so a good copy can be stored.
  for (const p of found.problems) {
    if (p.problem !== 'corrupt' || !isId(p.id) || !OBJECT_KINDS.has(p.kind)) continue;
    const pack = await repo.localStore().packOf(p.id);
    if (pack) {
      const r = await repo.localStore().quarantinePack(pack);
      actions.push({ what: 'pack', detail: `pack ${pack} held corrupt object ${p.id}: ${r.kept.length} intact object(s) copied to a new pack; the damaged files moved to ${r.movedTo}` });
    } else if (await repo.localStore().quarantineLoose(p.id)) {
      actions.push({ what: 'object', detail: `corrupt object ${p.id} moved to ${join(repo.localStore().root, 'damaged')}` });
    }
  }
  // Trees and commits lost from the store but intact in the database cache: written back.
  const restored: Id[] = [];
  for (const id of await findMissing(repo)) {
    const raw = db.getTreeRaw(id) ?? db.getCommitRaw(id);
    if (!raw) continue;
    await repo.store.put(id, raw);
    restored.push(id);
  }
  if (restored.length) actions.push({ what: 'object', detail: `${restored.length} tree/commit object(s) restored to the store from the database cache` });
  // Whatever is still missing: from the remotes, walking again as fetched trees reveal more.
  for (let round = 0; round < 20; round++) {
    const missing = await findMissing(repo);
    if (missing.size === 0) break;
    const got = await fetchFromRemotes(repo, missing, actions);
    if (got === 0) break;
  }
  // Refs pointing at nothing after all: recorded as repaired only if their commit arrived.
  void lost;
}

async function findMissing(repo: Repository): Promise<Set<Id>> {
  const missing = new Set<Id>();
  const live = await reachable(repo, await collectRoots(repo), { onMissing: (id) => missing.add(id) });
  const rest = [...live.keys()].filter((id) => !missing.has(id));
  const have = await repo.store.hasMany(rest);
  for (const id of rest) if (!have.has(id)) missing.add(id);
  for (const r of repo.db.listRefs('refs/')) {
    if (isId(r.target) && !(await repo.store.has(r.target))) missing.add(r.target);
  }
  return missing;
}

/** Fetch `ids` from each configured remote in turn (default first); each object hash-verified. */
async function fetchFromRemotes(repo: Repository, ids: Set<Id>, actions: RepairAction[]): Promise<number> {
  const { listRemotes, defaultRemote } = await import('../remote/config.js');
  const { openRemote } = await import('../remote/open.js');
  let remotes = listRemotes(repo.db);
  if (remotes.length === 0) return 0;
  let first: string | null = null;
  try {
    first = defaultRemote(repo.db);
  } catch {
    first = null;
  }
  remotes = [...remotes.filter((r) => r.name === first), ...remotes.filter((r) => r.name !== first)];
  let total = 0;
  for (const cfg of remotes) {
    const want = [...ids];
    if (want.length === 0) break;
    let remote;
    try {
      remote = await openRemote(cfg);
    } catch {
      continue;
    }
    const batch = repo.store.batch();
    const got: Id[] = [];
    try {
      await mapLimit(want, 8, async (id) => {
        let buf: Buffer;
        try {
          buf = await remote.store.getBytes(id);
        } catch {
          return; // not there (or unreachable): the next remote may have it
        }
        if (hashBytes(buf) !== id) return;
        await batch.add(id, buf);
        got.push(id);
      });
      await batch.finish();
    } catch (e) {
      await batch.abort();
      throw e;
    } finally {
      await remote.close();
    }
    for (const id of got) {
      ids.delete(id);
      const c = await repo.store.getBytes(id).catch(() => null);
      if (c) {
        try {
          const commit = parseCommit(c);
          repo.db.tx(() => repo.indexCommit(id, commit, c));
        } catch {
          /* not a commit */
        }
      }
    }
    if (got.length) actions.push({ what: 'fetched', detail: `${got.length} missing object(s) fetched from remote ${cfg.name} (${cfg.url})` });
    total += got.length;
  }
  return total;
}

async function resetIndexToHead(repo: Repository, alsoRoots = false): Promise<void> {
  const head = repo.head();
  const c = head.commit ? await repo.readCommit(head.commit) : null;
  const flat = c ? await flattenTree(repo, c.tree) : new Map();
  const roots = c && Array.isArray(c.meta?.roots) ? outermost(c.meta!.roots as string[]) : rootsOf(flat);
  repo.db.tx(() => {
    repo.db.replaceIndex(flat.values(), c?.tree ?? null);
    // The folders status scans: lost with the database, they come from HEAD as on checkout.
    if (alsoRoots) repo.db.setTrackedRoots(outermost([...repo.db.trackedRoots(), ...roots]));
  });
}

/**
 * Replace a damaged strata.db: a new database at the current schema receives every row that can
 * still be read (salvageInto), the commit rows are re-indexed from the commit objects reachable
 * from the refs, refs lost with a damaged page are recovered from the commits in the store, and
 * the staging index is rebuilt from HEAD when it was not copied whole. The damaged file is kept
 * beside it as strata.db.corrupt-<time>.
 */
async function rebuildDatabase(root: string, actions: RepairAction[]): Promise<void> {
  const dir = join(root, STRATA_DIR);
  const dbFile = join(dir, DB_FILE);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const freshFile = join(dir, `${DB_FILE}.rebuild-${process.pid}`);
  for (const s of ['', '-wal', '-shm', '-journal']) await fsp.rm(freshFile + s, { force: true });
  const fresh = MetaDb.open(freshFile, { create: true });
  let report: SalvageTable[] | null;
  try {
    report = salvageInto(dbFile, fresh);
  } catch (e) {
    fresh.close();
    throw e;
  }
  fresh.close();
  // Swap: the damaged file (and its WAL, which belongs to it) is kept, never deleted.
  const kept = `${dbFile}.corrupt-${stamp}`;
  await fsp.rename(dbFile, kept);
  await fsp.rename(`${dbFile}-wal`, `${kept}-wal`).catch(() => undefined);
  await fsp.rm(`${dbFile}-shm`, { force: true });
  await fsp.rename(freshFile, dbFile);
  for (const s of ['-wal', '-shm']) await fsp.rm(freshFile + s, { force: true });
  const partial = (report ?? []).filter((t) => !t.complete);
  actions.push({
    what: 'database',
    detail:
      report === null
        ? `strata.db could not be opened at all: a new database was created (the damaged file is kept as ${kept})`
        : `strata.db rebuilt: ${report.reduce((a, t) => a + t.copied, 0)} row(s) copied${partial.length ? `; rows lost in damaged pages of ${partial.map((t) => t.table).join(', ')}` : ''} (the damaged file is kept as ${kept})`,
  });

  const repo = await Repository.openAt(root);
  try {
    const db = repo.db;
    const refsLost = report === null || partial.some((t) => t.table === 'refs');
    if (!db.getRef('HEAD')) db.tx(() => db.casRef('HEAD', null, 'ref: refs/heads/main'));
    const head = db.getRef('HEAD')!;
    const headRef = head.target.startsWith('ref: ') ? head.target.slice(5) : null;
    if (refsLost || (headRef && !db.getRef(headRef))) await recoverRefs(repo, headRef, actions);
    // Re-index every commit reachable from the refs from its object (log, show, rev lookups).
    const seen = new Set<Id>();
    const queue = [...db.listRefs('refs/'), ...(head.target.startsWith('ref: ') ? [] : [head])].map((r) => r.target).filter(isId);
    let indexed = 0;
    while (queue.length) {
      const id = queue.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const raw = await repo.store.getBytes(id, { verify: true }).catch(() => null);
      if (!raw) continue;
      let c;
      try {
        c = parseCommit(raw);
      } catch {
        continue;
      }
      if (!db.hasCommit(id)) {
        db.tx(() => repo.indexCommit(id, c, raw));
        indexed++;
      }
      queue.push(...c.parents);
    }
    if (indexed) actions.push({ what: 'commit-cache', detail: `${indexed} commit(s) re-indexed from the object store` });
    const idx = report?.find((t) => t.table === 'idx');
    const tracked = report?.find((t) => t.table === 'tracked');
    if (!tracked || !tracked.complete) {
      await resetIndexToHead(repo, true);
      actions.push({ what: 'tracked', detail: 'the list of tracked folders was rebuilt from HEAD' });
    }
    const cfg = report?.find((t) => t.table === 'config');
    if (!cfg || !cfg.complete) {
      actions.push({ what: 'config', detail: 'repository settings (remotes, user.name, ...) were lost with the damaged database: set them again (strata remote add, strata config set)' });
    }
    if (!idx || !idx.complete) {
      await resetIndexToHead(repo);
      actions.push({ what: 'index', detail: 'the staging index was rebuilt from HEAD (re-add changes that were staged)' });
    } else {
      db.tx(() => db.setIndexTree(null));
    }
  } finally {
    await repo.close();
  }
}

/**
 * Refs lost with a damaged page: every commit object in the store is read, and each commit that
 * no other commit names as a parent is a branch tip. HEAD's branch gets the newest tip; the others
 * become refs/heads/recovered-<id>.
 */
async function recoverRefs(repo: Repository, headRef: string | null, actions: RepairAction[]): Promise<void> {
  const commits = new Map<Id, { time: number; parents: Id[] }>();
  for await (const o of repo.store.list()) {
    if (o.size > 1 << 20) continue;
    const raw = await repo.store.getBytes(o.id).catch(() => null);
    if (!raw || raw[0] !== 0x7b || !raw.includes('"strata":"commit"')) continue;
    try {
      const c = parseCommit(raw);
      if (hashBytes(raw) === o.id) commits.set(o.id, { time: c.time, parents: c.parents });
    } catch {
      /* not a commit */
    }
  }
  const parents = new Set<Id>();
  for (const c of commits.values()) for (const p of c.parents) parents.add(p);
  const named = new Set(repo.db.listRefs('refs/').map((r) => r.target));
  const tips = [...commits.entries()].filter(([id]) => !parents.has(id) && !named.has(id)).sort((a, b) => b[1].time - a[1].time);
  if (tips.length === 0) return;
  const db = repo.db;
  let rest = tips;
  if (headRef && !db.getRef(headRef)) {
    const [id] = tips[0]!;
    db.tx(() => db.casRef(headRef, null, id));
    actions.push({ what: 'ref', detail: `${headRef} recovered: set to the newest commit found in the store, ${id}` });
    rest = tips.slice(1);
  }
  for (const [id] of rest) {
    const name = `refs/heads/recovered-${id.slice(0, 12)}`;
    if (db.getRef(name)) continue;
    db.tx(() => db.casRef(name, null, id));
    actions.push({ what: 'ref', detail: `${name} created for commit ${id} (a branch tip whose ref was lost)` });
  }
}
