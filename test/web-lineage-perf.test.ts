/**
 * The lineage view on a ~1,000-node neighbourhood: a synthetic run graph (one source version feeding
 * 8 layers of 42 runs, each run reading 2 outputs of the previous layer and writing 2 versions),
 * served by a real `strata serve`, drawn in Chromium with the ELK layout. Reports the time to lay
 * out and draw (console + test-artifacts/lineage-perf.json) — measured, not asserted — and checks
 * the view stays usable (click a node, search).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Browser } from 'playwright-core';
import { ok, tempDir } from './helpers/cli.js';
import { artifact, browserSkipReason, clickNode, graph, launchBrowser, lineageReady, newPage, serve, type Serve } from './helpers/browser.js';
import { Repository } from '../core/repo/index.js';
import { hashBytes, initHash } from '../core/hash/index.js';
import { insertRun, serializeRun, type RunOut, type RunRecord } from '../core/meta/runs.js';

const skip = browserSkipReason();
const LAYERS = 8;
const PER_LAYER = 44;

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function syntheticGraph(dir: string): Promise<{ hub: string; expected: number }> {
  await initHash();
  const repo = await Repository.openAt(dir);
  const rnd = prng(7);
  const hub = { path: 'data/source.csv', id: hashBytes('source') };
  let prev: Array<{ path: string; id: string }> = [hub];
  let n = 0;
  let nodes = 1;
  const t0 = 1_700_000_000_000;
  repo.db.tx(() => {
    for (let l = 1; l <= LAYERS; l++) {
      const outs: Array<{ path: string; id: string }> = [];
      for (let j = 0; j < PER_LAYER; j++) {
        const pick = new Set<number>();
        while (pick.size < Math.min(2, prev.length)) pick.add(Math.floor(rnd() * prev.length));
        const deps = [...pick].map((i) => ({ ...prev[i]!, kind: 'file' as const }));
        if (l === 1) deps.splice(0, deps.length, { ...hub, kind: 'file' });
        const type = l === LAYERS ? 'model' : l === LAYERS - 1 && j % 3 === 0 ? 'metrics' : 'dataset';
        const ro: RunOut[] = [0, 1].map((k) => ({ path: `l${l}/s${j}/part${k}.${type === 'model' ? 'bin' : 'csv'}`, id: hashBytes(`l${l}-${j}-${k}`), type: type as RunOut['type'], kind: 'file' as const, size: 1000 + k, cache: true }));
        const id = `0190${String(l).padStart(4, '0')}-${String(j).padStart(4, '0')}-7000-8000-${String(++n).padStart(12, '0')}`;
        const status = j % 17 === 5 ? 'failed' : j % 11 === 3 ? 'cached' : 'ok';
        const r: RunRecord = {
          id, stage: `stage${l}`, status, cmd: `node step${l}.mjs ${j}`, wdir: '.', env: {}, params: { layer: l, shard: j }, paramRefs: [],
          deps, outs: ro, code: null, environment: { node: 'v20', platform: 'linux', arch: 'x64', hostname: 'h', strata: '0' },
          started: t0 + n * 1000, ended: t0 + n * 1000 + 500, exitCode: status === 'failed' ? 1 : 0, signal: null, log: null, signature: `s${n}`, cachedFrom: null, error: null, origin: 'pipeline',
        };
        const bytes = serializeRun(r);
        insertRun(repo.db, r, hashBytes(bytes), bytes.toString('utf8'));
        nodes += 1;
        // A failed run records no output versions (nothing downstream can use them).
        if (status !== 'failed') {
          outs.push(...ro.map((o) => ({ path: o.path, id: o.id })));
          nodes += ro.length;
        }
      }
      prev = outs;
    }
  });
  await repo.close();
  return { hub: `v:${hub.id}:${hub.path}`, expected: nodes };
}

describe('lineage view with ~1,000 nodes (Chromium)', { skip: skip ?? false, timeout: 90_000 }, () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let srv: Serve;
  let browser: Browser;
  let hub: string;
  let expected: number;

  before(async () => {
    t = await tempDir('strata-web-perf-');
    await ok(t.dir, ['init']);
    ({ hub, expected } = await syntheticGraph(t.dir));
    [srv, browser] = await Promise.all([serve(t.dir), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
    await t?.cleanup();
  });

  it('lays out and draws the neighbourhood (time reported), and stays usable', async () => {
    const { page, errors, logs } = await newPage(browser);
    const url = `${srv.url}/repos/${basename(t.dir)}/lineage?node=${encodeURIComponent(hub)}&depth=10&dir=down`;
    await page.goto(url);
    await lineageReady(page, 60_000);
    const stats = await page.evaluate(() => (window as unknown as { __strataLineage: Record<string, unknown> }).__strataLineage);
    const line = logs.find((l) => l.includes('[strata] lineage:'));
    console.log(`lineage view, ${stats.nodes} nodes / ${stats.edges} edges (${stats.layout}): layout ${stats.layoutMs} ms + draw ${stats.drawMs} ms = ${stats.totalMs} ms (fetch ${stats.fetchMs} ms)`);
    await writeFile(artifact('lineage-perf.json'), JSON.stringify({ ...stats, console: line, when: new Date().toISOString() }, null, 2) + '\n');
    await page.screenshot({ path: artifact('web-lineage-1000.png') });
    assert.equal(stats.nodes, expected);
    assert.ok((stats.nodes as number) >= 1000);
    assert.equal(stats.layout, 'elk');

    // Usable: clicking a node opens its panel; search finds a path.
    const g = await graph(page);
    const model = g.nodes.find((n) => n.type === 'model')!;
    await clickNode(page, model.id);
    await page.waitForSelector(`#panel[data-node="${model.id}"]`);
    await page.getByLabel('Search by path or run id').fill('l3/s7/part1.csv');
    await page.getByLabel('Search by path or run id').press('Enter');
    await page.waitForSelector('#panel[data-node$=":l3/s7/part1.csv"]');
    await page.screenshot({ path: artifact('web-lineage-1000-selected.png') });
    assert.deepEqual(errors, []);
  });
});
