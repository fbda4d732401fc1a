/**
 * The Compare page in headless Chromium against a real `strata serve --data DIR`: branches built
 * with the CLI and pushed (test/helpers/merge-fixture.ts). From the branch list to the comparison
 * of two diverged branches (ahead/behind, commits, changed paths), the merge button with a write
 * token, the new merge commit on the page and on the server; then a conflicting pair shows its
 * conflict list and its branch did not move. Screenshots: test-artifacts/web-compare-*.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ok, tempDir } from './helpers/cli.js';
import { mergeFixture } from './helpers/merge-fixture.js';
import { artifact, browserSkipReason, launchBrowser, newPage, serve, type Serve } from './helpers/browser.js';

const skip = browserSkipReason();

describe('web UI: compare and merge (Chromium)', { skip: skip ?? false, timeout: 120_000 }, () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  let srv: Serve;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let token: string;

  const ref = async (b: string): Promise<string> => ((await (await fetch(`${srv.url}/api/repos/proj/refs/heads/${b}`)).json()) as { value: string }).value;
  const shot = (name: string) => page.screenshot({ path: artifact(`web-compare-${name}.png`), fullPage: true });

  before(async () => {
    tmp = await tempDir('strata-web-merge-');
    const data = join(tmp.dir, 'srv');
    [srv, browser] = await Promise.all([serve(tmp.dir, ['--data', data]), launchBrowser()]);
    token = (await ok(tmp.dir, ['serve', 'token', 'create', '--repo', 'proj', '--write', '--data', data])).stdout.trim();
    await mergeFixture(join(tmp.dir, 'client'), `${srv.url}/proj`, token);
    ({ page, errors } = await newPage(browser));
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
    await tmp?.cleanup();
  });

  it('compares two diverged branches and merges head into base', async () => {
    await page.goto(`${srv.url}/repos/proj`);
    await page.locator('a[data-compare="right"]').click();
    await page.waitForURL(/\/compare\?base=main&head=right/);
    await page.locator('#compare-base').selectOption('left');
    await page.waitForURL(/\/compare\?base=left&head=right/);
    await page.getByTestId('ahead-behind').waitFor();
    assert.equal(await page.getByTestId('ahead-behind').innerText(), 'right is 1 ahead, 1 behind left');
    const paths = await page.locator('.diff-table tbody tr').evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-kind')} ${r.getAttribute('data-path')}`));
    assert.deepEqual(paths, ['added c.txt', 'added data/more.bin']);
    assert.match(await page.locator('.diff-table tbody tr[data-path="data/more.bin"]').innerText(), /48\.8 KiB/);
    assert.match(await page.locator('#merge-status').innerText(), /clean/i);
    assert.match(await page.locator('#compare-result').innerText(), /right: add c\.txt and more data/);
    await shot('diverged');
    const left = await ref('left');
    await page.locator('input[name="token"]').fill(token);
    await page.locator('#merge-button').click();
    const done = page.locator('#merge-result .merge-outcome[data-status="merged"]');
    await done.waitFor();
    const shown = await done.locator('[data-id]').getAttribute('data-id');
    const now = await ref('left');
    assert.notEqual(now, left);
    assert.equal(shown, now);
    await shot('merged');
    // The link opens the merge commit with both parents.
    await done.locator('a.mono').click();
    await page.waitForURL(new RegExp(`/commits/${now}$`));
    await page.locator('table.kv').waitFor();
    assert.equal(await page.locator('table.kv tr', { hasText: 'parents' }).locator('[data-id]').count(), 2);
  });

  it('a conflicting pair shows the conflict list and the branch does not move', async () => {
    const cl = await ref('cl');
    await page.goto(`${srv.url}/repos/proj/compare?base=cl&head=cr`);
    await page.getByTestId('ahead-behind').waitFor();
    assert.match(await page.locator('#merge-status').innerText(), /conflict/i);
    // The token typed before is remembered for the session.
    assert.equal(await page.locator('input[name="token"]').inputValue(), token);
    await page.locator('#merge-button').click();
    const table = page.locator('#merge-result [data-testid="conflicts"]');
    await table.waitFor();
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((r) => `${r.getAttribute('data-path')} ${r.getAttribute('data-kind')}`));
    assert.deepEqual(rows.sort(), ['a.txt modify/delete', 'b.txt content']);
    const b = await table.locator('tr[data-path="b.txt"]').innerText();
    assert.match(b, /6 B/);
    assert.match(b, /20 B/);
    assert.match(b, /26 B/);
    await shot('conflicts');
    assert.equal(await ref('cl'), cl);
    assert.deepEqual(errors, []);
  });
});
