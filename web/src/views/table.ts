/**
 * Tables in the web UI (docs/tables.md, "Web UI"): the preview of a table file (a paged grid whose
 * column headers show the types, the CSV delimiter, and a statistics panel) and the row diff of a
 * table file between two revisions (schema changes, counts, samples with the changed cells
 * highlighted, a key to match rows by). Everything comes from the /table/* endpoints.
 */
import { api, type TablePreview, type TableRowDiff, type TableSchemaStats } from '../api.ts';
import { badge, clear, h, qs, spinner } from '../util.ts';
import { empty, errorBox } from '../view.ts';

/** File names the server reads as tables (core/tables/engine.ts tableFormatOf). */
export const TABLE_EXT = /\.(csv|tsv|parquet|pq|jsonl|ndjson)$/i;

const PAGE_ROWS = 100;
const FORMAT_NAME: Record<string, string> = { csv: 'CSV', tsv: 'TSV', parquet: 'Parquet', jsonl: 'JSON Lines' };

function delimiterName(d: string): string {
  if (d === '\t') return 'tab';
  if (d === ',') return 'comma ,';
  if (d === ';') return 'semicolon ;';
  if (d === '|') return 'pipe |';
  return JSON.stringify(d);
}

/** One cell value: null marked, nested values as JSON, numbers right-aligned. */
function cell(v: unknown, cls = ''): HTMLTableCellElement {
  if (v === null || v === undefined) return h('td', { class: cls }, h('span.null', null, 'null'));
  const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return h('td', { class: [cls, typeof v === 'number' ? 'num' : ''].filter(Boolean).join(' ') }, text);
}

function valueText(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * The preview of a table file in the tree view. `offset` is the first row to show; `onPage` is told
 * the new first row when the user pages (the view keeps it in the URL).
 */
export async function renderTablePreview(repo: string, ref: string, path: string, el: HTMLElement, offset: number, onPage: (offset: number) => void): Promise<void> {
  const grid = h('div.table-page', null, spinner('Reading the table…'));
  const stats = h('div.table-stats', { 'data-testid': 'table-stats' }, spinner('Computing statistics…'));
  const show = (page: TablePreview): void =>
    clear(
      grid,
      pageView(page, (next) => {
        onPage(next);
        clear(grid, spinner('Reading the table…'));
        api.tableRows(repo, { ref, path, offset: next, limit: PAGE_ROWS }).then(show, (e: unknown) => clear(grid, errorBox(e)));
      }),
    );
  // A failure of the first page (an unreadable file, an older server) is the caller's to show.
  const first = await api.tableRows(repo, { ref, path, offset, limit: PAGE_ROWS });
  clear(el, grid, h('h3.stats-title', null, 'Statistics'), stats);
  show(first);
  try {
    clear(stats, statsView(await api.tableStats(repo, { ref, path })));
  } catch (e) {
    clear(stats, errorBox(e));
  }
}

function pageView(p: TablePreview, go: (offset: number) => void): HTMLElement {
  const first = p.values.length ? p.offset + 1 : 0;
  const last = p.offset + p.values.length;
  const range = p.values.length ? `rows ${first.toLocaleString('en-US')}–${last.toLocaleString('en-US')} of ${p.rows.toLocaleString('en-US')}` : `no rows here (the table has ${p.rows.toLocaleString('en-US')})`;
  const prev = h('button.btn', { type: 'button', 'data-testid': 'page-prev', disabled: p.offset === 0, onclick: () => go(Math.max(0, p.offset - p.limit)) }, '‹ Prev');
  const next = h('button.btn', { type: 'button', 'data-testid': 'page-next', disabled: last >= p.rows, onclick: () => go(p.offset + p.limit) }, 'Next ›');
  const meta = h(
    'div.table-meta',
    null,
    h('span', null, FORMAT_NAME[p.format] ?? p.format),
    h('span', null, `${p.columns.length} columns`),
    p.delimiter !== null ? h('span', { 'data-testid': 'table-delimiter' }, 'delimiter: ', h('code', null, delimiterName(p.delimiter))) : null,
  );
  return h(
    'div',
    null,
    h('div.table-pager', null, meta, h('span.spacer'), h('span.range', { 'data-testid': 'row-range' }, range), prev, next),
    p.values.length === 0
      ? empty('No rows.')
      : h(
          'div.table-scroll',
          null,
          h(
            'table.data.csv-table.table-grid',
            { 'data-testid': 'table-grid', 'data-offset': p.offset },
            h('thead', null, h('tr', null, h('th.rownum', null, '#'), p.columns.map((c) => h('th', { 'data-column': c.name }, h('div.col-name', null, c.name), h('div.col-type', null, c.type))))),
            h('tbody', null, p.values.map((row, i) => h('tr', null, h('td.rownum', null, (p.offset + i + 1).toLocaleString('en-US')), row.map((v) => cell(v))))),
          ),
        ),
  );
}

function statsView(s: TableSchemaStats): HTMLElement {
  if (!s.stats) return empty('No statistics.');
  const st = s.stats;
  return h(
    'div',
    null,
    h('div.table-meta', null, h('span', { 'data-testid': 'stats-rows' }, `${st.rows.toLocaleString('en-US')} rows`), st.distinctApprox ? h('span.muted', null, 'distinct counts estimated (HyperLogLog, within about 10%)') : null),
    h(
      'div.table-scroll',
      null,
      h(
        'table.data.stats-table',
        null,
        h('thead', null, h('tr', null, ['column', 'type'].map((x) => h('th', null, x)), ['nulls', st.distinctApprox ? 'distinct ≈' : 'distinct'].map((x) => h('th.num', null, x)), h('th', null, 'min'), h('th', null, 'max'))),
        h(
          'tbody',
          null,
          st.columns.map((c) =>
            h('tr', { 'data-column': c.name }, h('td.mono', null, c.name), h('td', null, h('code', null, c.type)), cell(c.nulls), cell(c.distinct), cell(c.min, 'mono'), cell(c.max, 'mono')),
          ),
        ),
      ),
    ),
  );
}

/**
 * The row diff of `path` between `from` and `to` on the diff page, with a key field; `rerun` is
 * given the new key (comma-separated column names, '' = match rows by content).
 */
export async function renderRowDiff(repo: string, p: { from: string; to: string; path: string; key: string }, el: HTMLElement, rerun: (key: string) => void): Promise<void> {
  const keyIn = h('input', { name: 'key', value: p.key, placeholder: 'key columns, e.g. id', 'aria-label': 'key columns', spellcheck: 'false', autocomplete: 'off' });
  const form = h(
    'form.key-form',
    { 'data-testid': 'key-form' },
    h('label', null, 'match rows by key ', keyIn),
    h('button.btn.primary', { type: 'submit' }, 'Re-run'),
    h('span.muted.small', null, 'comma-separated columns; empty: rows matched by content'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    rerun(keyIn.value.trim());
  });
  const out = h('div', null, spinner('Comparing rows…'));
  clear(el, form, out);
  try {
    clear(out, rowDiffView(await api.tableDiff(repo, { from: p.from, to: p.to, path: p.path, key: p.key || undefined, limit: 20 })));
  } catch (e) {
    clear(out, errorBox(e));
  }
}

function rowsTable(rows: Array<Record<string, unknown>>, kind: 'added' | 'removed'): HTMLElement {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return h(
    'div.table-scroll',
    null,
    h(
      'table.data.csv-table.rowdiff-rows',
      { 'data-testid': `rows-${kind}`, class: `r-${kind}` },
      h('thead', null, h('tr', null, h('th.rownum', null, kind === 'added' ? '+' : '−'), cols.map((c) => h('th', null, c)))),
      h('tbody', null, rows.map((r) => h('tr', null, h('td.rownum', null, kind === 'added' ? '+' : '−'), cols.map((c) => cell(r[c]))))),
    ),
  );
}

function changedTable(d: TableRowDiff): HTMLElement {
  const keyCols = d.key ?? [];
  const changedCols = [...new Set(d.sample.changed.flatMap((r) => r.cells.map((c) => c.column)))];
  return h(
    'div.table-scroll',
    null,
    h(
      'table.data.csv-table.rowdiff-changed',
      { 'data-testid': 'rows-changed' },
      h('thead', null, h('tr', null, keyCols.map((k) => h('th.key', null, k, badge('key', 'muted'))), changedCols.map((c) => h('th', null, c)))),
      h(
        'tbody',
        null,
        d.sample.changed.map((r) => {
          const by = new Map(r.cells.map((c) => [c.column, c]));
          return h(
            'tr',
            null,
            keyCols.map((k) => cell(r.key[k], 'key')),
            changedCols.map((c) => {
              const x = by.get(c);
              if (!x) return h('td.same', { title: 'unchanged' }, h('span.muted', null, '='));
              return h(
                'td.cell-changed',
                { 'data-column': c, title: `${c}: ${valueText(x.old)} → ${valueText(x.new)}` },
                h('del', null, valueText(x.old)),
                h('span.arrow', null, ' → '),
                h('ins', null, valueText(x.new)),
              );
            }),
          );
        }),
      ),
    ),
  );
}

function rowDiffView(d: TableRowDiff): HTMLElement {
  const s = d.schema;
  const schemaItems = [
    ...s.added.map((c) => h('li.s-added', null, `+ column ${c.name} `, h('code', null, c.type))),
    ...s.removed.map((c) => h('li.s-removed', null, `− column ${c.name} `, h('code', null, c.type))),
    ...s.retyped.map((c) => h('li.s-retyped', null, `~ column ${c.name} `, h('code', null, c.from), ' → ', h('code', null, c.to), h('span.muted', null, ' (compared as text)'))),
  ];
  const n = (x: number) => x.toLocaleString('en-US');
  const shown = (total: number, sample: number) => (sample < total ? h('span.muted.small', null, ` (first ${n(sample)} shown)`) : null);
  return h(
    'div.rowdiff',
    { 'data-testid': 'row-diff' },
    h('div.muted.small', null, d.key ? `rows matched by key (${d.key.join(', ')})` : 'rows matched by content (set a key to see changed cells)'),
    h('h3', null, 'Schema'),
    schemaItems.length ? h('ul.schema-changes', { 'data-testid': 'schema-changes' }, schemaItems) : h('div.muted.small', { 'data-testid': 'schema-changes' }, 'No schema changes.'),
    h(
      'div.diff-summary',
      { 'data-testid': 'rowdiff-counts' },
      h('span.d-added', null, `+${n(d.counts.added)} added`),
      h('span.d-deleted', null, `−${n(d.counts.removed)} removed`),
      d.counts.changed === null ? null : h('span.d-modified', null, `~${n(d.counts.changed)} changed`),
    ),
    d.counts.changed ? [h('h3', null, 'Changed rows', shown(d.counts.changed, d.sample.changed.length)), changedTable(d)] : null,
    d.counts.added ? [h('h3', null, 'Added rows', shown(d.counts.added, d.sample.added.length)), rowsTable(d.sample.added, 'added')] : null,
    d.counts.removed ? [h('h3', null, 'Removed rows', shown(d.counts.removed, d.sample.removed.length)), rowsTable(d.sample.removed, 'removed')] : null,
    !d.counts.added && !d.counts.removed && !d.counts.changed ? empty('The rows are the same.') : null,
  );
}

/** The diff page's link to a table file's row diff. */
export function rowDiffHref(base: string, from: string, to: string, path: string): string {
  return `${base}/diff${qs({ from, to, path })}`;
}
