/**
 * The transfer engine: push and fetch between a Repository and an opened remote.
 *
 * Push: objects first, refs last. The objects the pushed commits add over what the remote's refs
 * already hold (walk.ts) are filtered by what the remote has (hasMany, or one listing of the remote
 * for big pushes to S3), then uploaded through store.batch() (small objects travel in packs, large
 * ones on their own; chunked files as the chunks the remote lacks). Each ref then moves by
 * compare-and-swap against the ETag read at the start. An interrupted push leaves only whole
 * objects on the remote and its refs unchanged; the retry uploads only what is missing.
 *
 * Fetch: commits, trees and (unless told otherwise) file data of new history are downloaded and
 * hash-verified, written into the local store through one batch, and only then recorded in the
 * metadata DB — commits, trees and remote-tracking refs in a single transaction at the end.
 */
import { StrataError, isStrataError } from '../errors/index.js';
import type { MetaStore } from '../meta/interface.js';
import { MAX_TREE_DEPTH, parseCommit, parseTree, type Commit, type Id, type Tree } from '../model/index.js';
import { checkTreeGraph } from '../repo/tree.js';
import type { Repository } from '../repo/index.js';
import { REMOTES, TAGS } from '../repo/refs.js';
import type { ProgressSink } from '../repo/worktree.js';
import type { RefValue } from '../store/refs.js';
import type { Guarantee, RemoteHandle } from './open.js';
import { RemoteReader } from './reader.js';
import { fetchRuns, recordRuns, type FetchedRun } from './runs.js';
import { ancestors, diffWalk, manifestChunks, newCommits, type WalkSource, type WantedObject } from './walk.js';

export interface RefUpdate {
  /** Remote ref name relative to refs/: heads/main, tags/v1. */
  ref: string;
  old: Id | null;
  new: Id | null;
  status: 'created' | 'updated' | 'forced' | 'up-to-date' | 'fetched' | 'new' | 'deleted' | 'pruned';
}

export interface TransferStatsOut {
  objects: number;
  bytes: number;
  /** HTTP requests (S3 / server); null for directory remotes. */
  requests: number | null;
  /** Bytes on the wire, when the adapter counts them. */
  wireBytesUp: number | null;
  wireBytesDown: number | null;
  seconds: number;
}

export interface PushResult extends TransferStatsOut {
  remote: string;
  url: string;
  guarantee: Guarantee | null;
  refs: RefUpdate[];
  /** Objects the pushed commits needed that the remote already had. */
  skipped: number;
  /** Pipeline runs newly listed on the remote. */
  runs?: number;
  /** What the remote reported about the ref updates (a server's warn-level check failures on a protected branch). */
  warnings?: string[];
}

export interface FetchResult extends TransferStatsOut {
  remote: string;
  url: string;
  refs: RefUpdate[];
  commits: number;
  trees: number;
  /** Pipeline runs added to the local run table. */
  runs: number;
}

/** From this many candidate objects on, one listing of the S3 remote is cheaper than hasMany (a HEAD or LIST per 2-hex group). */
const BIG_PUSH = 64;

/** True when `a` is `b` or an ancestor of `b` (walking local commits). */
export async function isAncestor(repo: Repository, a: Id, b: Id): Promise<boolean> {
  if (a === b) return true;
  if (!repo.db.hasCommit(a)) return false;
  const seen = new Set<Id>();
  const queue = [b];
  while (queue.length) {
    const id = queue.pop()!;
    if (id === a) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    if (!repo.db.hasCommit(id)) continue;
    const c = await repo.readCommit(id);
    queue.push(...c.parents);
  }
  return false;
}

/** How a remote is named in errors about the objects it serves. */
function remoteSource(remote: RemoteHandle): string {
  return `remote ${remote.name} (${remote.location})`;
}

function localSource(repo: Repository): WalkSource {
  return {
    readCommit: (id) => repo.readCommit(id),
    async treeBytes(id) {
      return repo.db.getTreeRaw(id) ?? (await repo.store.getBytes(id, { verify: true }));
    },
    async manifestBytes(id) {
      return repo.store.getBytes(id, { verify: true });
    },
  };
}

function stats(remote: RemoteHandle, started: number, objects: number, bytes: number): TransferStatsOut {
  const s = remote.stats();
  return {
    objects,
    bytes,
    requests: s ? s.requests : null,
    wireBytesUp: s ? s.bytesUp : null,
    wireBytesDown: s ? s.bytesDown : null,
    seconds: Math.round((Date.now() - started) / 10) / 100,
  };
}

function ticker(progress: ProgressSink | undefined, phase: string, total: number, totalBytes: number) {
  let last = 0;
  let done = 0;
  let bytes = 0;
  return (n: number, b: number) => {
    done += n;
    bytes += b;
    if (!progress) return;
    const now = Date.now();
    if (now - last > 100 || done === total) {
      last = now;
      progress({ phase, done, total, bytes, totalBytes });
    }
  };
}

// ------------------------------------------------------------------------------------ push

export interface PushSpec {
  /** Remote ref (heads/<b> or tags/<t>) -> local commit id. */
  refs: Array<{ ref: string; commit: Id }>;
  force?: boolean;
  jobs?: number;
  progress?: ProgressSink;
}

export async function pushRefs(repo: Repository, remote: RemoteHandle, spec: PushSpec): Promise<PushResult> {
  const started = Date.now();
  const cur = new Map<string, RefValue | null>();
  await Promise.all(spec.refs.map(async (r) => cur.set(r.ref, await remote.refs.get(r.ref))));

  const updates: Array<RefUpdate & { etag: string | null }> = [];
  const rejected: string[] = [];
  for (const r of spec.refs) {
    const c = cur.get(r.ref) ?? null;
    if (c && c.value === r.commit) {
      updates.push({ ref: r.ref, old: c.value, new: r.commit, status: 'up-to-date', etag: c.etag });
      continue;
    }
    let status: RefUpdate['status'] = c ? 'updated' : 'created';
    if (c) {
      const ff = r.ref.startsWith('heads/') && (await isAncestor(repo, c.value, r.commit));
      if (!ff) {
        if (!spec.force) rejected.push(r.ref);
        status = 'forced';
      }
    }
    updates.push({ ref: r.ref, old: c?.value ?? null, new: r.commit, status, etag: c?.etag ?? null });
  }
  if (rejected.length) {
    const tag = rejected.find((x) => x.startsWith('tags/'));
    throw new StrataError(
      'NON_FAST_FORWARD',
      tag
        ? `tag ${tag.slice(5)} already exists on ${remote.name} at another commit`
        : `the remote has commits you do not have (${rejected.map((x) => x.replace(/^heads\//, '')).join(', ')} on ${remote.name}); run strata pull first`,
      {
        hint: tag ? 'tags do not move: pick a new tag name, or push with --force to overwrite it' : `strata pull ${remote.name}, then push again (or --force to overwrite the remote's commits)`,
        details: { refs: rejected },
      },
    );
  }
  const todo = updates.filter((u) => u.status !== 'up-to-date');
  if (todo.length === 0) {
    return { remote: remote.name, url: remote.location, guarantee: null, refs: strip(updates), skipped: 0, ...stats(remote, started, 0, 0) };
  }
  const guarantee = await remote.prepareWrite();

  // What the remote already holds: history of its current refs that we have locally.
  const haveTips = new Set<Id>();
  for (const v of cur.values()) if (v) haveTips.add(v.value);
  if (todo.some((u) => !u.old)) {
    for (const r of await remote.refs.list('heads/')) haveTips.add(r.value);
  }
  const src = localSource(repo);
  const have = await ancestors(src, [...haveTips], (id) => repo.db.hasCommit(id));
  const commits = await newCommits(
    src,
    todo.map((u) => u.new!),
    (id) => have.has(id),
  );
  const { objects: wanted } = await diffWalk(src, commits, { includeData: true });

  // Filter by what the remote has.
  let present: Set<string>;
  if (remote.kind === 's3' && wanted.length >= BIG_PUSH) {
    present = new Set();
    const want = new Set(wanted.map((w) => w.id));
    for await (const o of remote.store.list()) if (want.has(o.id)) present.add(o.id);
  } else {
    present = await remote.store.hasMany(wanted.map((w) => w.id));
  }
  const send = wanted.filter((w) => !present.has(w.id));
  const totalBytes = send.reduce((a, w) => a + w.size, 0);
  const tick = ticker(spec.progress, 'pushing', send.length, totalBytes);

  const batch = remote.store.batch();
  let sentBytes = 0;
  try {
    const STEP = 64;
    for (let i = 0; i < send.length; i += STEP) {
      const group = send.slice(i, i + STEP);
      const bufs = await Promise.all(
        group.map(async (w) => {
          if (w.kind === 'tree') return repo.db.getTreeRaw(w.id) ?? repo.store.getBytes(w.id, { verify: true });
          if (w.kind === 'commit') return repo.db.getCommitRaw(w.id) ?? repo.store.getBytes(w.id, { verify: true });
          return repo.store.getBytes(w.id, { verify: true });
        }),
      );
      for (let j = 0; j < group.length; j++) {
        await batch.add(group[j]!.id, bufs[j]!);
        sentBytes += bufs[j]!.length;
        tick(1, bufs[j]!.length);
      }
    }
    await batch.finish();
  } catch (e) {
    await batch.abort().catch(() => undefined);
    throw e;
  }

  // Refs last, each a compare-and-swap against what we read at the start.
  const done: RefUpdate[] = [];
  const warnings: string[] = [];
  for (const u of updates) {
    if (u.status === 'up-to-date') {
      done.push(strip([u])[0]!);
      continue;
    }
    try {
      const r = u.etag ? await remote.refs.update(u.ref, u.new!, u.etag) : await remote.refs.create(u.ref, u.new!);
      for (const w of r.warnings ?? []) warnings.push(`${u.ref.replace(/^heads\//, '')} on ${remote.name}: ${w}`);
    } catch (e) {
      if (isStrataError(e, 'REF_CONFLICT')) {
        throw new StrataError('REF_CONFLICT', `${u.ref.replace(/^heads\//, 'branch ').replace(/^tags\//, 'tag ')} on ${remote.name} was changed by another push while this one ran; nothing of it was overwritten`, {
          hint: `run strata pull ${remote.name}, then push again (the uploaded objects are kept: the retry sends only what is missing)`,
          details: { ...(e.details ?? {}), pushed: done.map((d) => d.ref) },
          cause: e,
        });
      }
      throw e;
    }
    done.push(strip([u])[0]!);
    setTracking(repo.db, remote.name, u.ref, u.new);
  }
  return { remote: remote.name, url: remote.location, guarantee, refs: done, skipped: wanted.length - send.length, ...(warnings.length ? { warnings } : {}), ...stats(remote, started, send.length, sentBytes) };
}

/**
 * Delete branches on the remote (push --delete / push REMOTE :BRANCH): every branch is read first
 * and a branch the remote does not have refuses the whole request (nothing deleted); each then goes
 * by compare-and-swap against the ETag read, so a branch someone moved meanwhile is kept. The
 * remote-tracking ref refs/remotes/<remote>/<branch> goes with it.
 */
export async function deleteRemoteBranches(repo: Repository, remote: RemoteHandle, branches: string[]): Promise<PushResult> {
  const started = Date.now();
  await remote.assertExists();
  const cur: Array<{ ref: string; value: RefValue }> = [];
  for (const b of new Set(branches)) {
    const v = await remote.refs.get('heads/' + b);
    if (!v) {
      throw new StrataError('UNKNOWN_REF', `remote ${remote.name} has no branch ${b}: nothing was deleted`, {
        hint: `list its branches: strata fetch ${remote.name} && strata branch -r (strata fetch --prune drops stale ${remote.name}/... refs)`,
        details: { branch: b },
      });
    }
    cur.push({ ref: 'heads/' + b, value: v });
  }
  const guarantee = await remote.prepareWrite();
  const done: RefUpdate[] = [];
  for (const { ref, value } of cur) {
    try {
      await remote.refs.delete(ref, value.etag);
    } catch (e) {
      if (isStrataError(e, 'REF_CONFLICT')) {
        throw new StrataError('REF_CONFLICT', `branch ${ref.slice(6)} on ${remote.name} was changed by another push (or one is under way); it was not deleted`, {
          hint: `strata fetch ${remote.name} to see where it is now, then delete again if you still mean to`,
          details: { ...(e.details ?? {}), deleted: done.map((d) => d.ref) },
          cause: e,
        });
      }
      throw e;
    }
    done.push({ ref, old: value.value, new: null, status: 'deleted' });
    setTracking(repo.db, remote.name, ref, null);
  }
  return { remote: remote.name, url: remote.location, guarantee, refs: done, skipped: 0, ...stats(remote, started, 0, 0) };
}

function strip(us: Array<RefUpdate & { etag?: string | null }>): RefUpdate[] {
  return us.map(({ ref, old, new: n, status }) => ({ ref, old, new: n, status }));
}

/** Local ref recording where a remote ref was last seen: refs/remotes/<remote>/<branch>. */
function trackingName(remote: string, ref: string): string | null {
  if (ref.startsWith('heads/')) return `${REMOTES}${remote}/${ref.slice(6)}`;
  return null;
}

function setTracking(db: MetaStore, remote: string, ref: string, value: Id | null): void {
  const name = trackingName(remote, ref);
  if (!name) return;
  db.tx(() => {
    const old = db.getRef(name)?.target ?? null;
    if (old !== value) db.casRef(name, old, value);
  });
}

// ------------------------------------------------------------------------------------ fetch

export interface FetchSpec {
  /** Branch names to fetch (default: every branch of the remote). */
  branches?: string[];
  /** Also fetch tags (created locally when absent). Default true. */
  tags?: boolean;
  /** 'history': file data of every new commit; 'none': commits and trees only. */
  data: 'history' | 'none';
  /** Remove remote-tracking refs refs/remotes/<remote>/<b> whose branch the remote no longer has. */
  prune?: boolean;
  jobs?: number;
  progress?: ProgressSink;
}

export async function fetchRefs(repo: Repository, remote: RemoteHandle, spec: FetchSpec): Promise<FetchResult> {
  const started = Date.now();
  await remote.assertExists();
  let remoteRefs: Array<{ ref: string; value: Id }> = [];
  if (spec.branches && spec.branches.length) {
    for (const b of spec.branches) {
      const v = await remote.refs.get(`heads/${b}`);
      if (!v) {
        throw new StrataError('UNKNOWN_REF', `remote ${remote.name} has no branch ${b}`, { hint: `list its branches: strata remote show ${remote.name} (or strata fetch ${remote.name})` });
      }
      remoteRefs.push({ ref: `heads/${b}`, value: v.value });
    }
  } else {
    remoteRefs = (await remote.refs.list('heads/')).map((r) => ({ ref: r.name, value: r.value }));
  }
  // Branches the remote has now (for --prune): the full listing, also when only some are fetched.
  const live = spec.prune ? new Set(spec.branches && spec.branches.length ? (await remote.refs.list('heads/')).map((r) => r.name) : remoteRefs.map((r) => r.ref)) : null;
  if (spec.tags !== false) for (const t of await remote.refs.list('tags/')) remoteRefs.push({ ref: t.name, value: t.value });

  const reader = new RemoteReader(remote.store, spec.jobs ?? 16);
  const gap = spec.data === 'history' ? 1 << 20 : 0;
  const source = remoteSource(remote);
  const fetchedCommits = new Map<Id, { commit: Commit; bytes: Buffer }>();
  const fetchedTrees = new Map<Id, Buffer>();
  const parsedTrees = new Map<Id, Tree>();
  const local = repo.store.batch();
  let objects = 0;
  let bytes = 0;
  let runs: FetchedRun[] = [];
  const land = async (id: Id, b: Buffer) => {
    objects++;
    bytes += b.length;
    await local.add(id, b);
  };
  try {
    // 1. commits, frontier by frontier, down to what we have.
    let frontier = [...new Set(remoteRefs.map((r) => r.value))].filter((id) => !repo.db.hasCommit(id));
    while (frontier.length) {
      const next = new Set<Id>();
      await reader.fetch(frontier, {
        gap,
        onObject: async (id, b) => {
          const c = parseCommit(b, { id, source });
          fetchedCommits.set(id, { commit: c, bytes: b });
          await land(id, b);
          for (const p of c.parents) if (!repo.db.hasCommit(p) && !fetchedCommits.has(p)) next.add(p);
        },
      });
      frontier = [...next].filter((id) => !fetchedCommits.has(id));
    }
    spec.progress?.({ phase: 'fetching trees', done: fetchedCommits.size, total: fetchedCommits.size, bytes });

    // 2. trees, level by level, down to what we have; each parsed strictly as it arrives.
    let level = [...new Set([...fetchedCommits.values()].map((c) => c.commit.tree))].filter((t) => !repo.db.getTreeRaw(t));
    let depth = 0;
    while (level.length) {
      if (depth > MAX_TREE_DEPTH) {
        throw new StrataError('OBJECT_CORRUPT', `tree object ${level[0]} from ${source} nests directories deeper than ${MAX_TREE_DEPTH} levels`, {
          hint: 'nothing was changed locally; the remote serves a tree Strata refuses (damaged or crafted)',
          details: { kind: 'tree', id: level[0], source },
        });
      }
      depth++;
      const next = new Set<Id>();
      await reader.fetch(level, {
        gap,
        onObject: async (id, b) => {
          const t = parseTree(b, { id, source });
          fetchedTrees.set(id, b);
          parsedTrees.set(id, t);
          await land(id, b);
          for (const e of t.entries) if (e.type === 'dir' && !fetchedTrees.has(e.id) && !repo.db.getTreeRaw(e.id)) next.add(e.id);
        },
      });
      level = [...next].filter((t) => !fetchedTrees.has(t));
    }
    // Before anything expands them: depth, declared counts and sizes, and total paths of each new
    // commit's tree (memoized per subtree, so a tree bomb is refused after reading its few objects).
    const readFetched = async (id: Id): Promise<Tree> => parsedTrees.get(id) ?? repo.readTree(id);
    const trusted = (id: Id) => !parsedTrees.has(id) && repo.db.getTreeRaw(id) !== null;
    for (const t of new Set([...fetchedCommits.values()].map((c) => c.commit.tree))) {
      if (parsedTrees.has(t)) await checkTreeGraph(readFetched, t, { source, trusted });
    }
    parsedTrees.clear(); // the bytes stay in fetchedTrees; the parsed copies were only for the check

    // 3. file data of the new commits (what each adds over its first parent).
    if (spec.data === 'history' && fetchedCommits.size) {
      const src: WalkSource = {
        source,
        async readCommit(id) {
          return fetchedCommits.get(id)?.commit ?? repo.readCommit(id);
        },
        async treeBytes(id) {
          return fetchedTrees.get(id) ?? repo.db.getTreeRaw(id) ?? (await repo.store.getBytes(id, { verify: true }));
        },
        async manifestBytes(id) {
          return (await repo.store.has(id)) ? repo.store.getBytes(id, { verify: true }) : null;
        },
      };
      const order = [...fetchedCommits.keys()];
      const walked = await diffWalk(src, order, { includeData: true, skipTree: () => false });
      const manifests = new Map(walked.pendingManifests.map((m) => [m.id, m]));
      const chunkLists: WantedObject[] = [];
      await reader.fetch(
        manifests.keys(),
        {
          gap,
          onObject: async (id, b) => {
            const m = manifests.get(id)!;
            chunkLists.push(...manifestChunks(m, b, source));
            await land(id, b);
          },
        },
      );
      const data = [...walked.objects.filter((o) => o.kind === 'blob' || o.kind === 'chunk'), ...chunkLists];
      await downloadMissing(repo, reader, data, gap, land, spec.progress, source);
    }
    runs = await fetchRuns(repo, remote, reader, land, { outputs: spec.data === 'history', gap, source });
    await local.finish();
  } catch (e) {
    await local.abort().catch(() => undefined);
    throw e;
  }

  // 4. one transaction: commits, trees, remote-tracking refs (and new tags).
  const refs: RefUpdate[] = [];
  repo.db.tx(() => {
    for (const [id, t] of fetchedTrees) repo.db.putTree(id, t);
    for (const [id, c] of fetchedCommits) repo.indexCommit(id, c.commit, c.bytes);
    recordRuns(repo, runs);
    for (const r of remoteRefs) {
      if (r.ref.startsWith('heads/')) {
        const name = trackingName(remote.name, r.ref)!;
        const old = repo.db.getRef(name)?.target ?? null;
        if (old !== r.value) repo.db.casRef(name, old, r.value);
        refs.push({ ref: r.ref, old, new: r.value, status: old === r.value ? 'up-to-date' : old ? 'fetched' : 'new' });
      } else {
        const name = TAGS + r.ref.slice(5);
        const old = repo.db.getRef(name)?.target ?? null;
        if (!old) {
          repo.db.casRef(name, null, r.value);
          repo.db.putTag({ name: r.ref.slice(5), target: r.value, message: null, tagger: null, time: null, object: null });
          refs.push({ ref: r.ref, old: null, new: r.value, status: 'new' });
        }
      }
    }
    if (live) {
      const prefix = `${REMOTES}${remote.name}/`;
      for (const t of repo.db.listRefs(prefix)) {
        const ref = 'heads/' + t.name.slice(prefix.length);
        if (live.has(ref)) continue;
        repo.db.casRef(t.name, t.target, null);
        refs.push({ ref, old: t.target, new: null, status: 'pruned' });
      }
    }
  });
  return {
    remote: remote.name,
    url: remote.location,
    refs,
    commits: fetchedCommits.size,
    trees: fetchedTrees.size,
    runs: runs.length,
    ...stats(remote, started, objects, bytes),
  };
}

async function downloadMissing(
  repo: Repository,
  reader: RemoteReader,
  data: WantedObject[],
  gap: number,
  land: (id: Id, b: Buffer) => Promise<void>,
  progress?: ProgressSink,
  source?: string,
): Promise<void> {
  const uniq = new Map<Id, WantedObject>();
  for (const d of data) if (!uniq.has(d.id)) uniq.set(d.id, d);
  const have = await repo.store.hasMany(uniq.keys());
  const missing = [...uniq.values()].filter((d) => !have.has(d.id));
  const tick = ticker(progress, 'downloading', missing.length, missing.reduce((a, d) => a + d.size, 0));
  await reader.fetch(
    missing.map((m) => m.id),
    {
      gap,
      onObject: async (id, b) => {
        // A blob or chunk must be as long as the tree entry or manifest that asked for it says.
        const want = uniq.get(id);
        if (want && (want.kind === 'chunk' || want.kind === 'blob') && b.length !== want.size) {
          throw new StrataError('OBJECT_CORRUPT', `${want.kind === 'chunk' ? 'chunk' : 'blob'} ${id}${source ? ' from ' + source : ''} is ${b.length} bytes, but ${want.kind === 'chunk' ? 'its manifest' : 'its tree entry'}${want.path ? ' (' + want.path + ')' : ''} declares ${want.size}`, {
            hint: source ? 'nothing was changed locally; the remote serves objects that disagree (damaged or crafted): push a good copy from a repository that has one' : 'run strata fsck',
            details: { id, kind: want.kind, ...(source ? { source } : {}) },
          });
        }
        await land(id, b);
        tick(1, b.length);
      },
    },
  );
}

/**
 * Make sure every object the files of `commit` under `paths` (all files when null) need is in the
 * local store, downloading what is missing. Commits and trees must be local already (after fetch).
 */
export async function ensureObjects(
  repo: Repository,
  remote: RemoteHandle,
  commit: Id,
  paths: string[] | null,
  opts: { jobs?: number; progress?: ProgressSink } = {},
): Promise<TransferStatsOut> {
  const started = Date.now();
  const { flattenTree } = await import('../repo/tree.js');
  const c = await repo.readCommit(commit);
  const rows = [];
  if (paths === null) rows.push(...(await flattenTree(repo, c.tree)).values());
  else for (const p of paths) rows.push(...(await flattenTree(repo, c.tree, p)).values());
  const reader = new RemoteReader(remote.store, opts.jobs ?? 16);
  const gap = paths === null ? 1 << 20 : 0;
  const local = repo.store.batch();
  let objects = 0;
  let bytes = 0;
  const land = async (id: Id, b: Buffer) => {
    objects++;
    bytes += b.length;
    await local.add(id, b);
  };
  try {
    const manifests = new Map<Id, WantedObject>();
    const data: WantedObject[] = [];
    for (const r of rows) {
      if (r.chunks) manifests.set(r.chunks, { id: r.chunks, kind: 'manifest', size: 0, path: r.path, fileSize: r.size });
      else data.push({ id: r.id, kind: 'blob', size: r.size, path: r.path });
    }
    const haveM = await repo.store.hasMany(manifests.keys());
    for (const m of manifests.values()) if (haveM.has(m.id)) data.push(...manifestChunks(m, await repo.store.getBytes(m.id, { verify: true })));
    const source = remoteSource(remote);
    await reader.fetch(
      [...manifests.keys()].filter((id) => !haveM.has(id)),
      {
        gap,
        onObject: async (id, b) => {
          data.push(...manifestChunks(manifests.get(id)!, b, source));
          await land(id, b);
        },
      },
    );
    await downloadMissing(repo, reader, data, gap, land, opts.progress, source);
    await local.finish();
  } catch (e) {
    await local.abort().catch(() => undefined);
    throw e;
  }
  return stats(remote, started, objects, bytes);
}


/**
 * Download the file data of every commit reachable from `tip` that is missing locally (leaving a
 * partial checkout: afterwards the repository is complete again and fsck is clean).
 */
export async function ensureHistory(repo: Repository, remote: RemoteHandle, tip: Id, opts: { jobs?: number; progress?: ProgressSink } = {}): Promise<TransferStatsOut> {
  const started = Date.now();
  const src: WalkSource = {
    readCommit: (id) => repo.readCommit(id),
    async treeBytes(id) {
      return repo.db.getTreeRaw(id) ?? (await repo.store.getBytes(id, { verify: true }));
    },
    async manifestBytes(id) {
      return (await repo.store.has(id)) ? repo.store.getBytes(id, { verify: true }) : null;
    },
  };
  const commits = await newCommits(src, [tip], () => false);
  const walked = await diffWalk(src, commits, { includeData: true });
  const reader = new RemoteReader(remote.store, opts.jobs ?? 16);
  const gap = 1 << 20;
  const local = repo.store.batch();
  let objects = 0;
  let bytes = 0;
  const land = async (id: Id, b: Buffer) => {
    objects++;
    bytes += b.length;
    await local.add(id, b);
  };
  try {
    const manifests = new Map(walked.pendingManifests.map((m) => [m.id, m]));
    const data = walked.objects.filter((o) => o.kind === 'blob' || o.kind === 'chunk');
    const source = remoteSource(remote);
    await reader.fetch(manifests.keys(), {
      gap,
      onObject: async (id, b) => {
        data.push(...manifestChunks(manifests.get(id)!, b, source));
        await land(id, b);
      },
    });
    await downloadMissing(repo, reader, data, gap, land, opts.progress, source);
    await local.finish();
  } catch (e) {
    await local.abort().catch(() => undefined);
    throw e;
  }
  return stats(remote, started, objects, bytes);
}
