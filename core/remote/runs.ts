/**
 * Pipeline runs on remotes. A run travels as its objects (the run record object, its log, and the
 * outputs of successful runs: blobs, chunk manifests and chunks, directory trees) plus a marker
 * `<prefix>/runs/<run-id>` whose body is the run object's id and a newline. Markers are written
 * after the objects they name, so a marker always points at objects that are there; clone/fetch
 * read the markers, download the run objects and rebuild the run table and lineage graph.
 */
import { codeChangeObjects, readCodeChanges } from '../code/snapshot.js';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors/index.js';
import { hashBytes, isId } from '../hash/index.js';
import { insertRun, markRunsFetched, parseRun, type RunOut, type RunRecord } from '../meta/runs.js';
import { MAX_TREE_DEPTH, parseManifest, parseTree, type Id } from '../model/index.js';
import type { Repository } from '../repo/index.js';
import { collectVersionObjects } from '../repo/tree.js';
import type { RemoteHandle } from './open.js';
import type { RemoteReader } from './reader.js';

const RUN_ID_RE = /^[0-9a-fA-F-]{8,64}$/;

/** run id -> run object id, as listed on the remote (null: this kind of remote keeps no markers). */
async function listRemoteRuns(remote: RemoteHandle): Promise<Map<string, Id> | null> {
  const out = new Map<string, Id>();
  if (remote.kind === 's3') {
    const s3 = remote.store as import('../store/s3/index.js').S3Store;
    const root = s3.conn.key('runs/');
    const keys: string[] = [];
    for await (const o of s3.conn.listKeys(root)) keys.push(o.key.slice(root.length));
    const { Limiter } = await import('../util/concurrency.js');
    await new Limiter(s3.conn.jobs).map(
      keys.filter((k) => RUN_ID_RE.test(k)),
      async (k) => {
        const b = await s3.conn.getBuffer(root + k);
        const v = b?.toString('utf8').trim();
        if (v && isId(v)) out.set(k, v);
      },
    );
    return out;
  }
  if (remote.kind === 'local') {
    const dir = join(remote.location, 'runs');
    const names = await fsp.readdir(dir).catch(() => [] as string[]);
    for (const k of names) {
      if (!RUN_ID_RE.test(k)) continue;
      const v = (await fsp.readFile(join(dir, k), 'utf8').catch(() => '')).trim();
      if (isId(v)) out.set(k, v);
    }
    return out;
  }
  if (remote.kind === 'http') {
    // A Strata server keeps run markers as refs runs/<run id> (docs/api.md, "Run markers").
    for (const r of await remote.refs.list('runs/')) {
      const k = r.name.slice(5);
      if (RUN_ID_RE.test(k) && isId(r.value)) out.set(k, r.value);
    }
    return out;
  }
  return null;
}

async function putMarker(remote: RemoteHandle, runId: string, objectId: Id): Promise<void> {
  const body = Buffer.from(objectId + '\n');
  if (remote.kind === 's3') {
    const s3 = remote.store as import('../store/s3/index.js').S3Store;
    await s3.conn.putBuffer(s3.conn.key(`runs/${runId}`), body);
  } else if (remote.kind === 'local') {
    const dir = join(remote.location, 'runs');
    await fsp.mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${runId}.${process.pid}.tmp`);
    await fsp.writeFile(tmp, body);
    await fsp.rename(tmp, join(dir, runId));
  } else if (remote.kind === 'http') {
    // Idempotent on the server: re-creating a marker with the same value succeeds.
    await remote.refs.create(`runs/${runId}`, objectId);
  }
}

interface LocalRun {
  id: string;
  object: Id;
  log: Id | null;
  status: string;
  record: string;
}

/** Every object a run needs, read from the local repository (missing ones are skipped). */
async function localRunObjects(repo: Repository, runs: LocalRun[]): Promise<Id[]> {
  const out = new Set<Id>();
  for (const r of runs) {
    out.add(r.object);
    if (r.log) out.add(r.log);
    // What reproducing the run needs: its recorded code changes and its inputs (when local).
    const rec = parseRun(r.record);
    if (rec.code?.diff) {
      out.add(rec.code.diff);
      try {
        for (const id of codeChangeObjects(rec.code.diff, await readCodeChanges(repo, rec.code.diff))) out.add(id);
      } catch {
        /* not local */
      }
    }
    for (const d of rec.deps) await collectVersionObjects(repo, d, out);
    if (r.status === 'failed') continue;
    for (const o of rec.outs) if (o.cache) await collectVersionObjects(repo, o, out);
  }
  const ids = [...out];
  const have = await repo.store.hasMany(ids);
  return ids.filter((id) => have.has(id));
}

function localRuns(repo: Repository): LocalRun[] {
  try {
    return repo.db.allRunRows();
  } catch {
    return []; // schema without runs
  }
}

/** Upload runs the remote does not list yet: objects first, then their markers. */
export async function pushRuns(repo: Repository, remote: RemoteHandle): Promise<{ runs: number; objects: number; bytes: number }> {
  const mine = localRuns(repo);
  if (mine.length === 0) return { runs: 0, objects: 0, bytes: 0 };
  const theirs = await listRemoteRuns(remote);
  if (!theirs) return { runs: 0, objects: 0, bytes: 0 };
  const todo = mine.filter((r) => !theirs.has(r.id));
  if (todo.length === 0) return { runs: 0, objects: 0, bytes: 0 };
  const ids = await localRunObjects(repo, todo);
  const present = await remote.store.hasMany(ids);
  const batch = remote.store.batch();
  let objects = 0;
  let bytes = 0;
  try {
    for (const id of ids) {
      if (present.has(id)) continue;
      const b = repo.db.getTreeRaw(id) ?? (await repo.store.getBytes(id, { verify: true }));
      await batch.add(id, b);
      objects++;
      bytes += b.length;
    }
    await batch.finish();
  } catch (e) {
    await batch.abort().catch(() => undefined);
    throw e;
  }
  for (const r of todo) await putMarker(remote, r.id, r.object);
  return { runs: todo.length, objects, bytes };
}

export interface FetchedRun {
  record: RunRecord;
  objectId: Id;
  text: string;
}

/**
 * Download the runs the remote lists and we lack (run objects and logs; with `outputs`, also the
 * outputs of successful runs). Objects go to `land`; the caller inserts the runs in its transaction.
 */
export async function fetchRuns(
  repo: Repository,
  remote: RemoteHandle,
  reader: RemoteReader,
  land: (id: Id, b: Buffer) => Promise<void>,
  opts: { outputs: boolean; gap: number; source?: string },
): Promise<FetchedRun[]> {
  const source = opts.source;
  const theirs = await listRemoteRuns(remote);
  if (!theirs || theirs.size === 0) return [];
  const known = new Set(localRuns(repo).map((r) => r.id));
  const want = [...theirs].filter(([id]) => !known.has(id));
  if (want.length === 0) return [];
  const runs: FetchedRun[] = [];
  const byObject = new Map(want.map(([runId, obj]) => [obj, runId]));
  await reader.fetch(byObject.keys(), {
    gap: opts.gap,
    onObject: async (id, b) => {
      const text = b.toString('utf8');
      const record = parseRun(b, { id, source });
      if (record.id !== byObject.get(id)) {
        throw new StrataError('OBJECT_CORRUPT', `run marker runs/${byObject.get(id)}${source ? ' on ' + source : ''} names run object ${id}, which is for run ${record.id}`, {
          hint: 'nothing was changed locally; the remote lists a run under the wrong id (damaged or crafted)',
        });
      }
      runs.push({ record, objectId: hashBytes(b), text });
      await land(id, b);
    },
  });
  // Logs, and outputs when asked: download what is missing locally, walking trees and manifests.
  const roots: Array<{ id: Id; kind: 'blob' | 'tree' | 'manifest' }> = [];
  for (const r of runs) {
    if (r.record.log) roots.push({ id: r.record.log, kind: 'blob' });
    if (!opts.outputs || r.record.status === 'failed') continue;
    for (const o of r.record.outs as RunOut[]) {
      if (!o.cache || !o.id) continue;
      roots.push(o.kind === 'dir' ? { id: o.id, kind: 'tree' } : o.chunks ? { id: o.chunks, kind: 'manifest' } : { id: o.id, kind: 'blob' });
    }
  }
  let level = roots;
  const seen = new Set<Id>();
  let rounds = 0;
  while (level.length) {
    // Tree levels, then a manifest, then its chunks: deeper than that is no tree Strata accepts.
    if (++rounds > MAX_TREE_DEPTH + 3) {
      throw new StrataError('OBJECT_CORRUPT', `a run output${source ? ' on ' + source : ''} nests directories deeper than ${MAX_TREE_DEPTH} levels (at object ${level[0]!.id})`, {
        hint: 'nothing was changed locally; the remote serves a tree Strata refuses (damaged or crafted)',
      });
    }
    const fresh = level.filter((x) => !seen.has(x.id));
    for (const x of fresh) seen.add(x.id);
    const have = await repo.store.hasMany(fresh.map((x) => x.id));
    const next: typeof roots = [];
    const kinds = new Map(fresh.map((x) => [x.id, x.kind]));
    const expand = (id: Id, b: Buffer) => {
      const k = kinds.get(id);
      if (k === 'tree') for (const e of parseTree(b, { id, source }).entries) next.push(e.type === 'dir' ? { id: e.id, kind: 'tree' } : e.type === 'file' && e.chunks ? { id: e.chunks, kind: 'manifest' } : { id: e.id, kind: 'blob' });
      else if (k === 'manifest') for (const [cid] of parseManifest(b, { id, source }).chunks) next.push({ id: cid, kind: 'blob' });
    };
    for (const x of fresh) if (have.has(x.id) && x.kind !== 'blob') expand(x.id, repo.db.getTreeRaw(x.id) ?? (await repo.store.getBytes(x.id)));
    await reader.fetch(
      fresh.filter((x) => !have.has(x.id)).map((x) => x.id),
      {
        gap: opts.gap,
        onObject: async (id, b) => {
          expand(id, b);
          await land(id, b);
        },
      },
    );
    level = next;
  }
  return runs;
}

/**
 * Insert fetched runs (call inside the fetch transaction), marked as fetched: they were recorded
 * elsewhere, so the run cache verifies their outputs and reproduce asks before running them.
 */
export function recordRuns(repo: Repository, runs: FetchedRun[], from = 'a remote'): void {
  for (const r of runs) insertRun(repo.db, r.record, r.objectId, r.text);
  markRunsFetched(repo.db, runs.map((r) => r.record.id), from);
}
