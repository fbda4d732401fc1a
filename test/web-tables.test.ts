/**
 * Tables in the web UI, in headless Chromium against a real `strata serve`: a Parquet file written
 * by DuckDB opens as a paged grid (types in the headers, "rows 1–100 of 250"), page 2 shows rows
 * 101–200, the statistics panel shows the row count and per-column nulls, distinct, min and max; a
 * `;` CSV shows its delimiter; a malformed CSV shows the server's error naming the file; and the
 * diff page shows a changed CSV's row diff, re-run with a key, with the changed cell highlighted.
 * Screenshots: test-artifacts/web-tables-*.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ok, tempDir, writeFiles } from './helpers/cli.js';
import { duckWrite } from './helpers/tables.js';
import { artifact, browserSkipReason, launchBrowser, newPage, serve, type Serve } from './helpers/browser.js';

const skip = browserSkipReason();
const ROWS = 250;

describe('web UI: table preview and row diff (Chromium)', { skip: skip ?? false, timeout: 90_000 }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  let srv: Serve;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let base = '';

  before(async () => {
    ({ dir, cleanup } = await tempDir('strata-web-tables-'));
    await ok(dir, ['init']);
    await writeFiles(dir, {
      'data/t.csv': 'id;name;amount\n1;ann;1.5\n2;bob;3\n3;cy;4.5\n4;dee;6\n',
      'data/bad.csv': 'a,b\n' + Array.from({ length: 3000 }, (_, i) => `${i},${i}`).join('\n') + '\n1,2,3\n',
    });
    await duckWrite(
      `SELECT range AS id, 'u' || range AS name, CASE WHEN range % 10 = 0 THEN NULL ELSE range / 2 END AS amount FROM range(${ROWS})`,
      join(dir, 'data/p.parquet'),
      'parquet',
    );
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-m', 'v1']);
    // v2: row 3's amount changes, row 4 goes, row 5 comes, a column is added
    await writeFiles(dir, { 'data/t.csv': 'id;name;amount;tag\n1;ann;1.5;x\n2;bob;3;x\n3;cy;99;x\n5;eve;7.5;x\n' });
    await ok(dir, ['add', '.']);
    await ok(dir, ['commit', '-m', 'v2']);
    [srv, browser] = await Promise.all([serve(dir), launchBrowser()]);
    ({ page, errors } = await newPage(browser));
    base = `${srv.url}/repos/${encodeURIComponent(basename(dir))}`;
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
    await cleanup();
  });

  const shot = (name: string) => page.screenshot({ path: artifact(`web-tables-${name}.png`), fullPage: true });
  const firstColumn = () => page.locator('[data-testid=table-grid] tbody tr td:nth-child(2)').allInnerTexts();

  it('opens a Parquet file as a grid with typed headers, pages to page 2, and shows the statistics', async () => {
    await page.goto(`${base}/tree?path=data`);
    await page.locator('.tree-table tr[data-path="data/p.parquet"] a').click();
    await page.waitForSelector('[data-testid=table-grid]');
    const names = await page.locator('[data-testid=table-grid] thead th .col-name').allInnerTexts();
    const types = await page.locator('[data-testid=table-grid] thead th .col-type').allInnerTexts();
    assert.deepEqual(names, ['id', 'name', 'amount']);
    assert.deepEqual(types, ['BIGINT', 'VARCHAR', 'DOUBLE']);
    assert.equal(await page.locator('[data-testid=row-range]').innerText(), `rows 1–100 of ${ROWS}`);
    const page1 = await firstColumn();
    assert.equal(page1.length, 100);
    assert.deepEqual([page1[0], page1[99]], ['0', '99']);
    assert.equal(await page.locator('[data-testid=page-prev]').isDisabled(), true);

    await page.locator('[data-testid=page-next]').click();
    await page.waitForSelector('[data-testid=table-grid][data-offset="100"]');
    assert.equal(await page.locator('[data-testid=row-range]').innerText(), `rows 101–200 of ${ROWS}`);
    const page2 = await firstColumn();
    assert.equal(page2.length, 100);
    assert.deepEqual([page2[0], page2[99]], ['100', '199']);
    // row 101 is id 100: amount null; row 102 is id 101: amount 50.5
    const cells = await page.locator('[data-testid=table-grid] tbody tr').nth(1).locator('td').allInnerTexts();
    assert.deepEqual(cells, ['102', '101', 'u101', '50.5']);
    assert.equal(await page.locator('[data-testid=table-grid] tbody tr').first().locator('td').nth(3).innerText(), 'null');
    assert.match(page.url(), /[?&]offset=100(&|$)/);

    await page.waitForSelector('[data-testid=stats-rows]');
    assert.equal(await page.locator('[data-testid=stats-rows]').innerText(), `${ROWS} rows`);
    const stat = (col: string) => page.locator(`.stats-table tr[data-column="${col}"] td`).allInnerTexts();
    assert.deepEqual(await stat('id'), ['id', 'BIGINT', '0', String(ROWS), '0', String(ROWS - 1)]);
    assert.deepEqual(await stat('amount'), ['amount', 'DOUBLE', String(ROWS / 10), String(ROWS - ROWS / 10), '0.5', '124.5']);
    await shot('parquet');

    // The last page, from a deep link: 50 rows, Next disabled.
    await page.goto(`${base}/tree?path=data%2Fp.parquet&offset=200`);
    await page.waitForSelector('[data-testid=table-grid][data-offset="200"]');
    assert.equal(await page.locator('[data-testid=row-range]').innerText(), `rows 201–250 of ${ROWS}`);
    assert.equal(await page.locator('[data-testid=page-next]').isDisabled(), true);
    await page.locator('[data-testid=page-prev]').click();
    await page.waitForSelector('[data-testid=table-grid][data-offset="100"]');
  });

  it('a CSV shows the delimiter it was read with; a malformed CSV shows the error naming the file', async () => {
    await page.goto(`${base}/tree?path=data%2Ft.csv`);
    await page.waitForSelector('[data-testid=table-grid]');
    assert.equal(await page.locator('[data-testid=table-delimiter]').innerText(), 'delimiter: semicolon ;');
    assert.deepEqual(await page.locator('[data-testid=table-grid] thead th .col-type').allInnerTexts(), ['BIGINT', 'VARCHAR', 'DOUBLE', 'VARCHAR']);
    await page.goto(`${base}/tree?path=data%2Fbad.csv`);
    await page.waitForSelector('.error');
    assert.match(await page.locator('.error').innerText(), /TABLE_UNREADABLE[^]*HEAD:data\/bad\.csv: cannot read the table/);
    // The text is still shown as it is.
    await page.waitForSelector('[data-testid=csv-preview]');
    await shot('bad-csv');
  });

  it('the diff page shows a changed table\'s row diff; with a key the changed cell is highlighted', async () => {
    await page.goto(`${base}/diff?from=HEAD~1&to=HEAD`);
    await page.waitForSelector('[data-testid=diff-summary]');
    await page.locator('.diff-table tr[data-path="data/t.csv"] a.rows-link').click();
    await page.waitForSelector('[data-testid=row-diff]');
    assert.match(page.url(), /path=data%2Ft\.csv/);
    assert.match(await page.locator('[data-testid=schema-changes]').innerText(), /\+ column tag VARCHAR/);
    // by content: row 3 counts as one removed and one added
    assert.deepEqual(await page.locator('[data-testid=rowdiff-counts] span').allInnerTexts(), ['+2 added', '−2 removed']);
    assert.equal(await page.locator('[data-testid=rows-changed]').count(), 0);

    await page.locator('[data-testid=key-form] input[name=key]').fill('id');
    await page.locator('[data-testid=key-form] button[type=submit]').click();
    await page.waitForURL(/[?&]key=id(&|$)/);
    await page.waitForSelector('[data-testid=rows-changed] td.cell-changed');
    assert.deepEqual(await page.locator('[data-testid=rowdiff-counts] span').allInnerTexts(), ['+1 added', '−1 removed', '~1 changed']);
    const changed = page.locator('[data-testid=rows-changed] td.cell-changed');
    assert.equal(await changed.count(), 1);
    assert.equal(await changed.getAttribute('data-column'), 'amount');
    assert.equal(await changed.locator('del').innerText(), '4.5');
    assert.equal(await changed.locator('ins').innerText(), '99');
    assert.deepEqual(await page.locator('[data-testid=rows-changed] tbody td.key').allInnerTexts(), ['3']);
    // highlighted: the cell's background differs from an ordinary cell's
    const bg = await changed.evaluate((td) => getComputedStyle(td).backgroundColor);
    assert.notEqual(bg, 'rgba(0, 0, 0, 0)');
    assert.match(await page.locator('[data-testid=rows-added]').innerText(), /eve/);
    assert.match(await page.locator('[data-testid=rows-removed]').innerText(), /dee/);
    await shot('rowdiff');
    assert.deepEqual(errors, []);
  });
});
