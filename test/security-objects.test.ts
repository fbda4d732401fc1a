/**
 * Objects from outside are parsed strictly. Every parser (tree, chunk manifest, commit, tag, run,
 * code changes) is fed a table of hostile inputs, non-canonical variants of valid objects, and a
 * bounded fuzz of random mutations of valid bytes: each must be refused with one
 * StrataError('OBJECT_CORRUPT') (or, for a mutation that happens to be valid, parse), never a
 * TypeError or any other error. Tree graphs are checked for depth, declared counts/sizes and total
 * paths before they are expanded (checkTreeGraph), memoized so a tree bomb is refused at once.
 * STRATA_STRESS=1 runs many more fuzz trials.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initHash, hashBytes } from '../core/hash/index.js';
import { StrataError } from '../core/errors/index.js';
import {
  MAX_TREE_DEPTH,
  parseCommit,
  parseManifest,
  parseTag,
  parseTree,
  serializeCommit,
  serializeManifest,
  serializeTag,
  serializeTree,
  treeId,
  type Commit,
  type Tree,
} from '../core/model/index.js';
import { parseRun, serializeRun, type RunRecord } from '../core/meta/runs.js';
import { parseCodeChanges, serializeCodeChanges, type CodeChanges } from '../core/code/snapshot.js';
import { checkTreeGraph, planTrees } from '../core/repo/tree.js';

await initHash();

const A = hashBytes('a');
const B = hashBytes('b');
const C = hashBytes('c');

/** `fn` must throw exactly one StrataError OBJECT_CORRUPT (message checked against `match`). */
function refused(fn: () => unknown, match?: RegExp, label = ''): StrataError {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${label}: expected OBJECT_CORRUPT, it parsed`);
  assert.ok(err instanceof StrataError, `${label}: expected a StrataError, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
  assert.equal(err.code, 'OBJECT_CORRUPT', `${label}: ${err.message}`);
  assert.ok(err.hint, `${label}: a hint is given`);
  if (match) assert.match(err.message, match, label);
  return err;
}

const raw = (s: string) => Buffer.from(s, 'utf8');
const wire = (e: unknown[]) => raw(JSON.stringify({ e, strata: 'tree', v: 1 }));

const goodTree: Tree = {
  entries: [
    { type: 'file', name: 'big.bin', id: B, size: 1 << 20, exec: false, chunks: C },
    { type: 'dir', name: 'data', id: A, size: 10, count: 2 },
    { type: 'symlink', name: 'latest', id: hashBytes('data/x'), size: 6, target: 'data/x' },
    { type: 'file', name: 'run.sh', id: C, size: 5, exec: true },
  ],
};
const goodCommit: Commit = {
  tree: A,
  parents: [B],
  author: { name: 'Ann', email: 'ann@example.com' },
  time: 1_700_000_000_000,
  message: 'first',
  code: { commit: 'f'.repeat(40), branch: 'main', remote: null, dirty: true, diff: C },
  meta: { roots: ['data', 'models/v1'], reproduces: '0190aaaa-0000-7000-8000-000000000001' },
};
const goodRun: RunRecord = {
  id: '0190aaaa-0000-7000-8000-000000000001',
  stage: 'train',
  status: 'ok',
  cmd: 'node train.mjs',
  wdir: '.',
  env: { SEED: '1' },
  params: { lr: 0.1, layers: [1, 2] },
  paramRefs: [{ file: 'params.yaml', key: 'lr' }],
  deps: [{ path: 'data/raw.csv', id: A, kind: 'file' }],
  outs: [{ path: 'models/model.bin', id: B, type: 'model', kind: 'file', size: 3, cache: true }],
  code: { commit: 'e'.repeat(40), branch: 'main', remote: null, dirty: false },
  environment: { node: 'v20', platform: 'linux', arch: 'x64', hostname: 'h', strata: '0.1.0' },
  started: 1000,
  ended: 2000,
  exitCode: 0,
  signal: null,
  log: C,
  signature: A,
  cachedFrom: null,
  error: null,
  origin: 'pipeline',
};
const goodChanges: CodeChanges = {
  base: 'a'.repeat(40),
  prefix: '',
  files: [
    { path: 'old.py', status: 'deleted' },
    { path: 'train.mjs', status: 'modified', mode: '100644', id: A, size: 12 },
  ],
  skipped: [{ path: 'big.bin', status: 'modified', size: 99, reason: 'too big' }],
};

type Parser = (b: Uint8Array) => unknown;
const PARSERS: Array<{ kind: string; parse: Parser; good: Buffer }> = [
  { kind: 'tree', parse: (b) => parseTree(b), good: serializeTree(goodTree) },
  { kind: 'manifest', parse: (b) => parseManifest(b), good: serializeManifest({ size: 1022 + 4, chunks: [[A, 1022], [B, 4]] }) },
  { kind: 'commit', parse: (b) => parseCommit(b), good: serializeCommit(goodCommit) },
  { kind: 'tag', parse: (b) => parseTag(b), good: serializeTag({ name: 'v1', target: A, message: 'release', tagger: { name: 'Ann', email: 'a@x' }, time: 5 }) },
  { kind: 'run', parse: (b) => parseRun(b), good: serializeRun(goodRun) },
  { kind: 'codechanges', parse: (b) => parseCodeChanges(b), good: serializeCodeChanges(goodChanges) },
];

describe('strict object parsers', () => {
  it('valid objects Strata writes parse back to what was written', () => {
    for (const p of PARSERS) assert.doesNotThrow(() => p.parse(p.good), p.kind);
    assert.deepEqual(parseTree(serializeTree(goodTree)), goodTree);
    assert.deepEqual(parseCommit(serializeCommit(goodCommit)), goodCommit);
    assert.deepEqual(parseRun(serializeRun(goodRun)), goodRun);
    assert.deepEqual(parseCodeChanges(serializeCodeChanges(goodChanges)), goodChanges);
  });

  it('hostile trees are refused with OBJECT_CORRUPT naming the problem', () => {
    const f = (name: unknown, extra: unknown[] = []) => [name, 'f', 1, A, ...extra];
    const cases: Array<[string, unknown[], RegExp]> = [
      ['duplicate name (link and dir)', [['link', 'd', 1, A, 1], ['link', 'l', 1, B, 'x']], /appears twice/],
      ['duplicate file name', [f('a'), f('a')], /appears twice/],
      ['unsorted', [f('b'), f('a')], /not sorted/],
      ['non-ASCII sorted by code unit, not bytes', [f('\u{1f600}'), f('\uff61')], /not sorted/],
      ['.git', [['.git', 'd', 1, A, 1]], /reserved name/],
      ['.GIT', [['.GIT', 'd', 1, A, 1]], /reserved name/],
      ['.Strata', [f('.Strata')], /reserved name/],
      ['numeric name', [[5, 'f', 1, A]], /not a string/],
      ['null name', [[null, 'f', 1, A]], /not a string/],
      ['empty name', [f('')], /empty name/],
      ['dot', [f('.')], /"\."/],
      ['dotdot', [f('..')], /"\.\."/],
      ['slash', [f('a/b')], /separator/],
      ['backslash', [f('a\\b')], /separator/],
      ['NUL in name', [f('a\0b')], /NUL/],
      ['lone surrogate', [f('a\ud800')], /Unicode/],
      ['256-byte name', [f('x'.repeat(256))], /longer than 255/],
      ['symlink target with NUL', [['l', 'l', 3, A, 'a\0b']], /NUL/],
      ['symlink target of 5000 bytes', [['l', 'l', 5000, A, 'x'.repeat(5000)]], /longer than 4096/],
      ['empty symlink target', [['l', 'l', 0, A, '']], /empty/],
      ['symlink target not a string', [['l', 'l', 1, A, 7]], /not a string/],
      ['symlink size wrong', [['l', 'l', 9, A, 'abc']], /declares size 9/],
      ['negative size', [['a', 'f', -1, A]], /below 0/],
      ['fractional size', [['a', 'f', 1.5, A]], /not an integer/],
      ['huge size', [['a', 'f', 2 ** 60, A]], /not an integer/],
      ['string size', [['a', 'f', '1', A]], /not an integer/],
      ['bad id', [['a', 'f', 1, 'xyz']], /object id/],
      ['upper-case id', [['a', 'f', 1, A.toUpperCase()]], /object id/],
      ['bad chunk id', [['a', 'f', 1, A, 'nope']], /object id/],
      ['unknown type', [['a', 'q', 1, A]], /not one of/],
      ['dir without count', [['a', 'd', 1, A]], /4 fields/],
      ['dir count negative', [['a', 'd', 1, A, -3]], /below 0/],
      ['file with extra fields', [['a', 'f', 1, A, B, 1]], /6 fields/],
      ['entry not a list', [{ name: 'a' }], /not a list/],
      ['sizes overflow', [['a', 'f', 2 ** 52, A], ['b', 'f', 2 ** 52, A]], /2\^53/],
    ];
    for (const [label, entries, re] of cases) refused(() => parseTree(wire(entries)), re, label);
    refused(() => parseTree(raw('{"e":[],"strata":"tree","v":2}')), /version/);
    refused(() => parseTree(raw('{"e":[],"extra":1,"strata":"tree","v":1}')), /unknown field "extra"/);
    refused(() => parseTree(raw('{"strata":"tree","v":1}')), /no field "e"/);
    refused(() => parseTree(raw('{"e":{},"strata":"tree","v":1}')), /not a list/);
    refused(() => parseTree(raw('[1,2]')), /not an object/);
    refused(() => parseTree(raw('null')), /not an object/);
    refused(() => parseTree(raw('{"strata":"commit"}')), /not a tree/);
    refused(() => parseTree(raw('{"e":[')), /not valid JSON/);
    refused(() => parseTree(Buffer.from([0xff, 0xfe, 0x00])), /not valid JSON/);
  });

  it('the object id and the remote are named when the caller gives them', () => {
    const e = refused(() => parseTree(wire([[5, 'f', 1, A]]), { id: B, source: 'remote origin (file:///srv)' }));
    assert.match(e.message, new RegExp(`^tree object ${B} from remote origin \\(file:///srv\\) is corrupt: entry 0 has a name that is not a string`));
    assert.match(e.hint!, /nothing was changed locally/);
    assert.equal(e.details?.id, B);
  });

  it('hostile manifests, commits, tags, runs and code changes are refused', () => {
    const man = (o: Record<string, unknown>) => raw(JSON.stringify({ c: [[A, 4]], size: 4, strata: 'chunks', v: 1, ...o }));
    refused(() => parseManifest(man({ size: 3 })), /add up to more than the file size 3/);
    refused(() => parseManifest(man({ size: 5 })), /add up to 4, not the file size 5/);
    refused(() => parseManifest(man({ c: [[A, -4]], size: -4 })), /below/);
    refused(() => parseManifest(man({ c: [[A, 0]], size: 0 })), /below 1/);
    refused(() => parseManifest(man({ c: [[A, 1.5]], size: 1.5 })), /not an integer/);
    refused(() => parseManifest(man({ c: [[A, 2 ** 53]], size: 2 ** 53 })), /not an integer/);
    refused(() => parseManifest(man({ c: [['zz', 4]] })), /object id/);
    refused(() => parseManifest(man({ c: [[A, 4, 1]] })), /pair/);
    refused(() => parseManifest(man({ c: [A] })), /pair/);
    refused(() => parseManifest(man({ v: 7 })), /version/);

    const commit = (o: Record<string, unknown>) => {
      const base = JSON.parse(serializeCommit(goodCommit).toString()) as Record<string, unknown>;
      const m = { ...base, ...o };
      for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
      return raw(JSON.stringify(Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]]))));
    };
    assert.doesNotThrow(() => parseCommit(commit({})));
    refused(() => parseCommit(commit({ author: null })), /its author is not an object/);
    refused(() => parseCommit(commit({ author: { name: 'a' } })), /no field "email"/);
    refused(() => parseCommit(commit({ author: { name: 1, email: 'e' } })), /not a string/);
    refused(() => parseCommit(commit({ tree: 'x' })), /its tree is not an object id/);
    refused(() => parseCommit(commit({ parents: [B, B] })), /listed twice/);
    refused(() => parseCommit(commit({ parents: 'p' })), /not a list/);
    refused(() => parseCommit(commit({ time: '5' })), /not an integer/);
    refused(() => parseCommit(commit({ message: null })), /not a string/);
    refused(() => parseCommit(commit({ code: { commit: 'zz', dirty: false } })), /git commit id/);
    refused(() => parseCommit(commit({ code: { commit: null, dirty: 'yes' } })), /true or false/);
    refused(() => parseCommit(commit({ meta: { roots: ['../escape'] } })), /tracked roots list the path "\.\.\/escape"/);
    refused(() => parseCommit(commit({ meta: { roots: ['/etc'] } })), /tracked roots/);
    refused(() => parseCommit(commit({ meta: { roots: ['a//b'] } })), /empty name/);
    refused(() => parseCommit(commit({ meta: { roots: ['a\\b'] } })), /separator/);
    refused(() => parseCommit(commit({ meta: { roots: [3] } })), /not a string/);
    refused(() => parseCommit(commit({ meta: { roots: 'data' } })), /not a list/);
    refused(() => parseCommit(commit({ meta: { evil: 1 } })), /unknown field "evil"/);
    refused(() => parseCommit(commit({ meta: {} })), /canonical/);
    refused(() => parseCommit(commit({ sneaky: 1 })), /unknown field "sneaky"/);

    const tag = (o: Record<string, unknown>) =>
      raw(JSON.stringify(Object.fromEntries(Object.entries({ message: 'm', name: 'v1', strata: 'tag', tagger: { email: 'e', name: 'n' }, target: A, time: 1, v: 1, ...o }).sort(([a], [b]) => (a < b ? -1 : 1)))));
    assert.doesNotThrow(() => parseTag(tag({})));
    refused(() => parseTag(tag({ target: 5 })), /object id/);
    refused(() => parseTag(tag({ tagger: null })), /not an object/);
    refused(() => parseTag(tag({ name: '' })), /empty/);

    const run = (o: Record<string, unknown>) => raw(serializeRun({ ...goodRun, ...o } as RunRecord).toString());
    refused(() => parseRun(run({ deps: [{ path: '../../etc/passwd', id: A, kind: 'file' }] })), /input 0/);
    refused(() => parseRun(run({ outs: [{ path: '.git/hooks/pre-commit', id: A, type: 'model', kind: 'file', size: 1, cache: true }] })), /reserved/);
    refused(() => parseRun(run({ outs: [{ path: '/etc/cron.d/x', id: A, type: 'model', kind: 'file', size: 1, cache: true }] })), /empty name/);
    refused(() => parseRun(run({ outs: [{ path: 'a/../../x', id: A, type: 'model', kind: 'file', size: 1, cache: true }] })), /"\.\."/);
    refused(() => parseRun(run({ outs: [{ path: 'm', id: A, type: 'model', kind: 'file', size: 1, cache: true, link: 'x'.repeat(5000) }] })), /4096/);
    refused(() => parseRun(run({ status: 'great' })), /not one of/);
    refused(() => parseRun(run({ id: '../../x' })), /not a run id/);
    refused(() => parseRun(run({ env: { A: 1 } })), /not a string/);
    refused(() => parseRun(run({ started: null })), /not an integer/);
    refused(() => parseRun(run({ code: { commit: null } })), /no field "dirty"/);
    refused(() => parseRun(run({ wdir: '../up' })), /working directory/);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    refused(() => parseRun(run({ params: { deep } })), /nested deeper/);
    refused(() => parseRun(raw(serializeRun(goodRun).toString().replace('"strata":"run"', '"extra":1,"strata":"run"'))), /unknown field "extra"/);

    const ch = (o: Record<string, unknown>) => raw(canonical({ ...JSON.parse(serializeCodeChanges(goodChanges).toString()), ...o }));
    refused(() => parseCodeChanges(ch({ files: [{ path: '../outside.py', status: 'deleted' }] })), /path/);
    refused(() => parseCodeChanges(ch({ files: [{ path: 'a.py', status: 'added', mode: '777', id: A, size: 1 }] })), /mode/);
    refused(() => parseCodeChanges(ch({ files: [{ path: 'a.py', status: 'added', mode: '100644', size: 1 }] })), /no field "id"/);
    refused(() => parseCodeChanges(ch({ base: 'HEAD' })), /git commit id/);
    refused(() => parseCodeChanges(ch({ files: [{ path: 'b', status: 'deleted' }, { path: 'a', status: 'deleted' }] })), /sorted/);
  });

  it('non-canonical variants of valid objects are refused: whitespace, key order, number and string forms, duplicate keys', () => {
    for (const p of PARSERS) {
      const s = p.good.toString('utf8');
      const variants: Array<[string, string]> = [
        ['trailing newline', s + '\n'],
        ['leading space', ' ' + s],
        ['space after a colon', s.replace(':', ': ')],
        ['space after a comma', s.replace(',', ', ')],
        ['v as 1.0', s.replace('"v":1', '"v":1.0')],
        ['v as 1e0', s.replace('"v":1', '"v":1e0')],
        ['escaped letter', s.replace('"strata"', '"str\\u0061ta"')],
        ['duplicate key', s.replace('"v":1', '"v":1,"v":1')],
        ['keys reordered', '{' + s.slice(1, -1).split(/,(?="[a-z]+":)/).reverse().join(',') + '}'],
      ];
      for (const [label, v] of variants) {
        if (v === s) continue;
        let err: unknown = null;
        try {
          p.parse(raw(v));
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof StrataError && err.code === 'OBJECT_CORRUPT', `${p.kind} / ${label}: ${(err as Error)?.message ?? 'accepted'}`);
        if (label !== 'v as 1.0' && label !== 'v as 1e0') assert.match((err as Error).message, /canonical|unknown field|not sorted|not valid JSON|no field/, `${p.kind} / ${label}`);
      }
    }
    // The one message the canonical check gives, naming the object.
    const t = Buffer.from(serializeTree(goodTree).toString().replace(',', ', '));
    const e = refused(() => parseTree(t, { id: hashBytes(t) }), /is not in canonical form/);
    assert.ok(e.message.includes(hashBytes(t)));
  });

  it('random mutations of valid bytes give OBJECT_CORRUPT or a valid parse, never another error', () => {
    const trials = process.env.STRATA_STRESS === '1' ? 50_000 : 1_500;
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const tokens = ['null', '-1', '1e400', '"..', '"\\u0000"', '[]', '{}', '"x"', '9007199254740993', 'true', '","', '[[', ']]', '"\\ud800"', '".git"', '0.5'];
    let refusedCount = 0;
    for (const p of PARSERS) {
      for (let i = 0; i < trials; i++) {
        const b = Buffer.from(p.good);
        let m: Buffer;
        switch (rnd(5)) {
          case 0: // flip a byte
            b[rnd(b.length)] = rnd(256);
            m = b;
            break;
          case 1: // delete a span
            {
              const at = rnd(b.length);
              m = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rnd(8))]);
            }
            break;
          case 2: // insert a JSON token
            {
              const at = rnd(b.length);
              m = Buffer.concat([b.subarray(0, at), Buffer.from(tokens[rnd(tokens.length)]!), b.subarray(at)]);
            }
            break;
          case 3: // replace a value token
            {
              const s = b.toString('latin1');
              const spots = [...s.matchAll(/[0-9]+|"[^"]*"|true|false|null/g)];
              const spot = spots[rnd(spots.length)]!;
              m = Buffer.from(s.slice(0, spot.index) + tokens[rnd(tokens.length)] + s.slice(spot.index! + spot[0].length), 'latin1');
            }
            break;
          default: // truncate
            m = b.subarray(0, rnd(b.length));
        }
        try {
          p.parse(m);
        } catch (e) {
          assert.ok(e instanceof StrataError && e.code === 'OBJECT_CORRUPT', `${p.kind}: ${JSON.stringify(m.toString('latin1'))} gave ${(e as Error)?.name}: ${(e as Error)?.message}`);
          refusedCount++;
        }
      }
    }
    assert.ok(refusedCount > trials * PARSERS.length * 0.9, `most mutations are refused (${refusedCount})`);
  });
});

/** Canonical JSON of plain data (keys sorted), for building test objects. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).sort().map((k) => JSON.stringify(k) + ':' + canonical(o[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

describe('tree graph limits', () => {
  /** A store of trees in memory, counting reads. */
  function memStore() {
    const trees = new Map<string, Buffer>();
    let reads = 0;
    return {
      put(t: Tree): string {
        const { id, bytes } = treeId(t);
        trees.set(id, bytes);
        return id;
      },
      putRaw(b: Buffer): string {
        const id = hashBytes(b);
        trees.set(id, b);
        return id;
      },
      read: async (id: string) => {
        reads++;
        return parseTree(trees.get(id)!, { id });
      },
      get reads() {
        return reads;
      },
    };
  }
  const blob = hashBytes('x');

  it('a tree bomb of shared subtrees is refused after reading each subtree once', async () => {
    const s = memStore();
    let cur = s.put({ entries: [{ type: 'file', name: 'f', id: blob, size: 1, exec: false }] });
    let count = 1;
    for (let i = 0; i < 40; i++) {
      cur = s.put({ entries: [{ type: 'dir', name: 'a', id: cur, size: count, count }, { type: 'dir', name: 'b', id: cur, size: count, count }] });
      count *= 2;
    }
    const started = Date.now();
    await assert.rejects(checkTreeGraph(s.read, cur), (e: unknown) => e instanceof StrataError && e.code === 'OBJECT_CORRUPT' && /expands to more than 20,000,000 paths/.test(e.message));
    assert.ok(s.reads <= 41, `each distinct tree read once (${s.reads})`);
    assert.ok(Date.now() - started < 2000);
  });

  it('an empty tree nested under shared directories (no files at all) is refused too', async () => {
    const s = memStore();
    let cur = s.put({ entries: [] });
    for (let i = 0; i < 30; i++) cur = s.put({ entries: [{ type: 'dir', name: 'a', id: cur, size: 0, count: 0 }, { type: 'dir', name: 'b', id: cur, size: 0, count: 0 }] });
    await assert.rejects(checkTreeGraph(s.read, cur), /expands to more than/);
  });

  it('declared counts and sizes must equal what the subtree holds', async () => {
    const s = memStore();
    const leaf = s.put({ entries: [{ type: 'file', name: 'f', id: blob, size: 1, exec: false }, { type: 'file', name: 'g', id: blob, size: 1, exec: false }] });
    const lieCount = s.put({ entries: [{ type: 'dir', name: 'd', id: leaf, size: 2, count: 1 }] });
    await assert.rejects(checkTreeGraph(s.read, lieCount), (e: unknown) => e instanceof StrataError && e.code === 'OBJECT_CORRUPT' && e.message.includes(lieCount) && /declares 1 files and 2 bytes, but subtree .* holds 2 files and 2 bytes/.test(e.message));
    const lieSize = s.put({ entries: [{ type: 'dir', name: 'd', id: leaf, size: 7, count: 2 }] });
    await assert.rejects(checkTreeGraph(s.read, lieSize), /declares 2 files and 7 bytes/);
    const honest = s.put({ entries: [{ type: 'dir', name: 'd', id: leaf, size: 2, count: 2 }] });
    assert.deepEqual(await checkTreeGraph(s.read, honest), { files: 2, size: 2, paths: 3, height: 1 });
  });

  it('trusted (already indexed) subtrees are read once, shallowly, and lies about them are still caught', async () => {
    const s = memStore();
    const leaf = s.put({ entries: [{ type: 'file', name: 'f', id: blob, size: 1, exec: false }, { type: 'file', name: 'g', id: blob, size: 2, exec: false }] });
    const mid = s.put({ entries: [{ type: 'dir', name: 'x', id: leaf, size: 3, count: 2 }] });
    const old = s.put({ entries: [{ type: 'dir', name: 'm', id: mid, size: 3, count: 2 }] });
    const honest = s.put({ entries: [{ type: 'dir', name: 'old', id: old, size: 3, count: 2 }, { type: 'file', name: 'z', id: blob, size: 1, exec: false }] });
    const before = s.reads;
    const st = await checkTreeGraph(s.read, honest, { trusted: (id) => id === old || id === mid || id === leaf });
    assert.equal(st.files, 3);
    assert.equal(st.size, 4);
    assert.equal(s.reads - before, 2, 'the new tree and the trusted subtree root, not what is below it');
    const lying = s.put({ entries: [{ type: 'dir', name: 'old', id: old, size: 3, count: 0 }] });
    await assert.rejects(checkTreeGraph(s.read, lying, { trusted: (id) => id === old }), /declares 0 files and 3 bytes, but subtree .* holds 2 files and 3 bytes/);
  });

  it('trees nested deeper than the limit are refused', async () => {
    const s = memStore();
    let cur = s.put({ entries: [{ type: 'file', name: 'f', id: blob, size: 1, exec: false }] });
    for (let i = 0; i < MAX_TREE_DEPTH + 1; i++) cur = s.put({ entries: [{ type: 'dir', name: 'd', id: cur, size: 1, count: 1 }] });
    await assert.rejects(checkTreeGraph(s.read, cur), new RegExp(`deeper than ${MAX_TREE_DEPTH} levels`));
  });

  it('a tree a remote serves that Strata would not write is refused even when every field is in range', () => {
    const s = memStore();
    // An entry whose name is fine in one directory but reserved anywhere.
    const id = s.putRaw(wire([['.git', 'd', 1, blob, 1]]));
    refused(() => parseTree(wire([['.git', 'd', 1, blob, 1]]), { id }), new RegExp(id));
  });

  it('recording a path Strata could not read back is refused up front', () => {
    const row = (path: string) => ({ path, type: 'file' as const, exec: false, size: 1, id: blob, chunks: null, target: null });
    for (const p of ['sub/.git/config', 'a/.STRATA', 'x'.repeat(300)]) {
      assert.throws(() => planTrees([row(p)]), (e: unknown) => e instanceof StrataError && e.code === 'INVALID_ARGUMENT', p);
    }
    assert.doesNotThrow(() => planTrees([row('data/.gitignore'), row('data/git')]));
  });
});
