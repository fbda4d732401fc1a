/**
 * The web lineage browser's details panel lists a dataset version's data checks with status
 * badges (issue 14): a real project (a raw table that fails a check, a stage whose output passes
 * all but a warn-level check), a real `strata serve`, Chromium.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import type { Browser } from 'playwright-core';
import { ok, strata, tempDir, writeFiles } from './helpers/cli.js';
import { artifact, browserSkipReason, clickNode, graph, launchBrowser, lineageReady, newPage, serve, type Serve } from './helpers/browser.js';

const skip = browserSkipReason();

describe('lineage details panel: check results (Chromium)', { skip: skip ?? false, timeout: 90_000 }, () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let srv: Serve;
  let browser: Browser;

  before(async () => {
    t = await tempDir('strata-web-checks-');
    await ok(t.dir, ['init', '-q', '.']);
    await writeFiles(t.dir, {
      'data/raw.csv': 'id,user_id,amount\n1,u1,10\n2,,20\n3,u3,-5\n4,,7\n',
      'strata.checks.yaml': `tables:
  data/raw.csv:
    - {kind: not_null, columns: [user_id]}
    - {kind: row_count, min: 1}
  data/clean.csv:
    - {kind: not_null, columns: [user_id]}
    - {kind: range, column: amount, min: 0, severity: warn}
`,
    });
    await ok(t.dir, ['add', 'data/raw.csv', 'strata.checks.yaml']);
    assert.equal((await strata(t.dir, ['check'])).code, 18);
    await ok(t.dir, ['commit', '-q', '-m', 'raw', '--no-verify']);
    await ok(t.dir, ['run', '-n', 'clean', '-d', 'data/raw.csv', '-o', 'data/clean.csv', '--', "grep -v ',,' data/raw.csv > data/clean.csv"]);
    [srv, browser] = await Promise.all([serve(t.dir), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
    await t?.cleanup();
  });

  it("shows each check of a version with its status badge, and a run's panel none", async () => {
    const { page, errors } = await newPage(browser);
    await page.goto(`${srv.url}/repos/${basename(t.dir)}/lineage?node=${encodeURIComponent('main:data/raw.csv')}&dir=down`);
    await lineageReady(page);
    const g = await graph(page);
    const raw = g.nodes.find((n) => n.id.endsWith(':data/raw.csv'))!;
    const clean = g.nodes.find((n) => n.id.endsWith(':data/clean.csv'))!;
    const run = g.nodes.find((n) => n.type === 'run')!;

    await clickNode(page, raw.id);
    await page.waitForSelector(`#panel[data-node="${raw.id}"] [data-testid="checks"]`);
    const rawChecks = page.locator('#panel [data-testid="checks"]');
    assert.match(await rawChecks.innerText(), /^1 passed · 1 failed · judged /);
    assert.doesNotMatch(await rawChecks.innerText(), /\[object/);
    const nn = rawChecks.locator('tr[data-check="not_null(user_id)"]');
    assert.equal(await nn.getAttribute('data-status'), 'fail');
    assert.equal(await nn.locator('.badge').innerText(), 'fail');
    assert.match(await nn.locator('.badge').getAttribute('class') ?? '', /\bb-failed\b/);
    assert.match(await nn.innerText(), /2 failing rows/);
    assert.match(await rawChecks.locator('tr[data-check="row_count"] .badge').getAttribute('class') ?? '', /\bb-ok\b/);
    await page.screenshot({ path: artifact('web-lineage-checks-raw.png') });

    await clickNode(page, clean.id);
    await page.waitForSelector(`#panel[data-node="${clean.id}"] [data-testid="checks"]`);
    const cleanChecks = page.locator('#panel [data-testid="checks"]');
    assert.match(await cleanChecks.innerText(), /1 passed · 1 warned/);
    const range = cleanChecks.locator('tr[data-check="range(amount)"]');
    assert.equal(await range.getAttribute('data-status'), 'warn');
    assert.match(await range.locator('.badge').getAttribute('class') ?? '', /\bb-warn\b/);
    assert.match(await range.innerText(), /\(warn\)/);
    assert.equal(await cleanChecks.locator('tr[data-check="not_null(user_id)"]').getAttribute('data-status'), 'pass');

    await clickNode(page, run.id);
    await page.waitForSelector(`#panel[data-node="${run.id}"]`);
    assert.equal(await page.locator('#panel [data-testid="checks"]').count(), 0);
    assert.deepEqual(errors, []);
  });
});
