/**
 * The web UI in headless Chromium against a real `strata serve`: the fraud example pipeline run
 * over two data versions (strata repro, commit, change ingest.rows, repro, commit), then the
 * lineage view (model + upstream versions, clicking nodes, the details panel with params and
 * metrics, expand/collapse, search, recentre), a diff, a CSV preview, deep links and an API error.
 * Screenshots: test-artifacts/web-*.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ok } from './helpers/cli.js';
import { edit, git, gitProject } from './helpers/fraud.js';
import { artifact, browserSkipReason, clickNode, graph, launchBrowser, lineageReady, newPage, serve, type Serve } from './helpers/browser.js';

const skip = browserSkipReason();

describe('web UI (Chromium)', { skip: skip ?? false, timeout: 90_000 }, () => {
  let project: Awaited<ReturnType<typeof gitProject>>;
  let srv: Serve;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let repo: string;
  let base: string;

  before(async () => {
    project = await gitProject();
    const dir = project.dir;
    await ok(dir, ['repro']);
    await ok(dir, ['commit', '-m', 'v1: 5000 rows']);
    await ok(dir, ['tag', 'v1']);
    await edit(join(dir, 'params.yaml'), 'rows: 5000', 'rows: 6000');
    git(dir, 'commit', '-qam', 'more rows');
    await ok(dir, ['repro']);
    await ok(dir, ['commit', '-m', 'v2: 6000 rows']);
    [srv, browser] = await Promise.all([serve(dir), launchBrowser()]);
    ({ page, errors } = await newPage(browser));
    repo = basename(dir);
    base = `${srv.url}/repos/${encodeURIComponent(repo)}`;
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
    await project?.cleanup();
  });

  const shot = (name: string) => page.screenshot({ path: artifact(`web-${name}.png`) });
  const panelText = (sel: string) => page.locator(`#panel ${sel}`).first().innerText();

  it('opens the lineage view of the model with its upstream dataset versions', async () => {
    await page.goto(`${srv.url}/`);
    await page.getByRole('link', { name: new RegExp(repo) }).first().click();
    await page.locator('.side-nav a[data-section="lineage"]').click();
    await lineageReady(page);
    // Without a node the view centres on the model next to the newest run.
    assert.match(page.url(), /[?&]node=v%3A[0-9a-f]{64}%3Amodels%2Fmodel\.json/);
    const g = await graph(page);
    const byPath = (p: string) => g.nodes.filter((n) => n.path === p);
    const model = byPath('models/model.json');
    assert.equal(model.length, 1);
    assert.equal(model[0]!.type, 'model');
    assert.ok(model[0]!.classes.includes('root'));
    for (const p of ['data/features.csv', 'data/clean.csv', 'data/raw.csv']) {
      assert.equal(byPath(p).length, 1, `${p} upstream of the model`);
      assert.equal(byPath(p)[0]!.type, 'dataset');
    }
    const train = g.nodes.find((n) => n.type === 'run' && n.stage === 'train')!;
    assert.ok(train, 'the train run');
    const features = byPath('data/features.csv')[0]!;
    assert.ok(g.edges.some((e) => e.source === features.id && e.target === train.id && e.kind === 'used'));
    assert.ok(g.edges.some((e) => e.source === train.id && e.target === model[0]!.id && e.kind === 'produced'));
    assert.ok(g.nodes.some((n) => n.type === 'metrics' && n.path === 'metrics/eval.json'), 'metrics downstream of the model');
    // The legend names every node type.
    const legend = await page.locator('.legend').innerText();
    for (const t of ['Dataset version', 'Model version', 'Metrics version', 'Run']) assert.ok(legend.includes(t), t);
    await shot('lineage');
    await page.screenshot({ path: artifact('lineage.png') });
  });

  it('clicking the train run, then the model, shows params and metrics in the panel', async () => {
    const g = await graph(page);
    const train = g.nodes.find((n) => n.type === 'run' && n.stage === 'train')!;
    const model = g.nodes.find((n) => n.type === 'model')!;
    await clickNode(page, train.id);
    await page.waitForSelector(`#panel[data-node="${train.id}"]`);
    assert.equal((await panelText('[data-testid=params] tr[data-param="train.lr"] td')).trim(), '0.3');
    assert.match(await panelText('[data-testid=cmd]'), /node train\.mjs data\/features\.csv models\/model\.json/);
    await page.waitForSelector('#panel [data-testid=log] pre, #panel pre[data-testid=log]');
    assert.match(await panelText('[data-testid=log]'), /epochs/);
    assert.match(page.url(), /[?&]sel=r%3A/);

    await clickNode(page, model.id);
    await page.waitForSelector(`#panel[data-node="${model.id}"]`);
    await page.waitForSelector('#panel [data-testid=trained-with] tr[data-param="train.epochs"]');
    assert.equal((await panelText('[data-testid=trained-with] tr[data-param="train.epochs"] td')).trim(), '400');
    assert.equal((await panelText('[data-testid=trained-with] tr[data-param="train.lr"] td')).trim(), '0.3');
    await page.waitForSelector('#panel [data-testid=metrics] tr[data-metric="auc"]');
    const evalJson = JSON.parse(await readFile(join(project.dir, 'metrics', 'eval.json'), 'utf8')) as { auc: number; rows: number };
    const auc = Number(await panelText('[data-testid=metrics] tr[data-metric="auc"] td'));
    assert.ok(Math.abs(auc - evalJson.auc) < 1e-4, `auc ${auc} vs ${evalJson.auc}`);
    assert.equal((await panelText('[data-testid=metrics] tr[data-metric="rows"] td')).replace(/\D/g, ''), String(evalJson.rows));
    // History: the model changed between v1 and v2 (more rows), so there is a previous version.
    await page.waitForSelector('#panel [data-testid=prev-version]');
    await shot('lineage-model-panel');
  });

  it('expands and collapses a node, searches, and recentres', async () => {
    const before = await graph(page);
    const raw = before.nodes.find((n) => n.path === 'data/raw.csv')!;
    assert.ok(!before.nodes.some((n) => n.stage === 'ingest'), 'ingest is beyond depth 3');
    await clickNode(page, raw.id);
    await page.waitForSelector(`#panel[data-node="${raw.id}"]`);
    await page.locator('#panel [data-action=expand]', { hasText: 'Expand' }).click();
    await page.waitForFunction(() => (window as any).__strataCy.nodes('[stage = "ingest"]').length > 0 || /failed/.test(document.querySelector('.lg-stats, [data-testid=stats]')?.textContent ?? ''));
    const expanded = await graph(page);
    assert.ok(expanded.nodes.some((n) => n.stage === 'ingest'), `expand: ${await page.locator('.lg-stats').innerText()}`);
    assert.ok(expanded.nodes.length > before.nodes.length);
    assert.ok(expanded.edges.some((e) => e.target === raw.id && expanded.nodes.find((n) => n.id === e.source)?.stage === 'ingest'));
    await shot('lineage-expanded');
    await page.locator('#panel [data-action=expand]', { hasText: 'Collapse' }).click();
    await page.waitForFunction(() => (window as any).__strataCy.nodes('[stage = "ingest"]').length === 0);
    assert.equal((await graph(page)).nodes.length, before.nodes.length);

    // Search by path selects the node and opens its panel.
    await page.getByLabel('Search by path or run id').fill('data/clean.csv');
    await page.getByLabel('Search by path or run id').press('Enter');
    await page.waitForSelector('#panel[data-node$=":data/clean.csv"]');

    // Recentre: the graph reloads around data/clean.csv and the URL says so.
    await page.locator('#panel [data-action=recentre]').click();
    await page.waitForURL(/node=v%3A[0-9a-f]{64}%3Adata%2Fclean\.csv/);
    await lineageReady(page);
    const g = await graph(page);
    const root = g.nodes.find((n) => n.classes.includes('root'))!;
    assert.equal(root.path, 'data/clean.csv');
    assert.ok(g.nodes.some((n) => n.stage === 'clean') && g.nodes.some((n) => n.stage === 'features'));
    // Direction "up" keeps only what produced it.
    await page.locator('.seg button[data-dir=up]').click();
    await page.waitForURL(/dir=up/);
    await lineageReady(page);
    const up = await graph(page);
    assert.ok(up.nodes.some((n) => n.stage === 'clean'));
    assert.ok(!up.nodes.some((n) => n.stage === 'features'), 'no downstream nodes with dir=up');
  });

  it('shows a diff between two revisions with totals', async () => {
    await page.locator('.side-nav a[data-section="diff"]').click();
    await page.locator('input[name=from]').fill('v1');
    await page.locator('input[name=to]').fill('main');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL(/from=v1&to=main/);
    await page.waitForSelector('[data-testid=diff-summary]');
    const rows = await page.locator('.diff-table tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-path'), tr.getAttribute('data-kind')]));
    const kinds = Object.fromEntries(rows);
    for (const p of ['data/raw.csv', 'data/clean.csv', 'data/features.csv', 'models/model.json']) assert.equal(kinds[p], 'modified', p);
    assert.match(await page.locator('[data-testid=diff-summary]').innerText(), /modified/);
    await shot('diff');
  });

  it('browses the tree and previews a CSV as a table', async () => {
    await page.locator('.side-nav a[data-section="tree"]').click();
    await page.locator('.tree-table tr[data-path="data"] a').click();
    await page.locator('.tree-table tr[data-path="data/raw.csv"] a').click();
    await page.waitForSelector('[data-testid=csv-preview]');
    assert.match(page.url(), /\/tree\?path=data%2Fraw\.csv$/);
    const header = await page.locator('[data-testid=csv-preview] thead th').allInnerTexts();
    assert.deepEqual(header.slice(1), ['id', 'user', 'timestamp', 'amount', 'merchant', 'is_fraud']);
    assert.equal(await page.locator('[data-testid=csv-preview] tbody tr').count(), 50);
    await shot('csv-preview');
    // JSON is pretty-printed.
    await page.goto(`${base}/tree?path=metrics/eval.json`);
    await page.waitForSelector('[data-testid=json-preview]');
    assert.match(await page.locator('[data-testid=json-preview]').innerText(), /"auc": 0\.\d+/);
  });

  it('deep links open runs, the runs list, a selected lineage node, and show API errors with hints', async () => {
    const runs = JSON.parse((await ok(project.dir, ['runs', '--json'])).stdout) as unknown;
    const list = (Array.isArray(runs) ? runs : (runs as { runs: unknown[] }).runs) as Array<{ id: string; stage: string }>;
    const train = list.find((r) => r.stage === 'train')!;
    // A fresh page: the server answers the deep link with the app.
    const p2 = await newPage(browser);
    await p2.page.goto(`${base}/runs/${train.id}`);
    await p2.page.waitForSelector('[data-testid=cmd]');
    assert.match(await p2.page.locator('[data-testid=cmd]').innerText(), /train\.mjs/);
    assert.equal((await p2.page.locator('[data-testid=params] tr[data-param="train.l2"] td').innerText()).trim(), '0.001');
    await p2.page.waitForSelector('[data-testid=run-log]');
    await p2.page.screenshot({ path: artifact('web-run.png') });

    await p2.page.goto(`${base}/runs`);
    await p2.page.waitForSelector('.runs-table');
    const stages = await p2.page.locator('.runs-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-stage')));
    assert.equal(stages.filter((s) => s === 'train').length, 2, 'train ran for both data versions');
    assert.equal(stages.length, 10);
    await p2.page.screenshot({ path: artifact('web-runs.png') });

    await p2.page.goto(`${base}/lineage?node=r:${train.id}&sel=r:${train.id}`);
    await lineageReady(p2.page);
    await p2.page.waitForSelector(`#panel[data-node="r:${train.id}"]`);

    await p2.page.goto(`${base}/lineage?node=nope`);
    await lineageReady(p2.page);
    const err = await p2.page.locator('.error').innerText();
    assert.match(err, /RUN_NOT_FOUND/);
    assert.match(err, /Hint:/);
    await p2.page.screenshot({ path: artifact('web-error.png') });
    assert.deepEqual(p2.errors, []);
    await p2.page.close();
    assert.deepEqual(errors, []);
  });
});
