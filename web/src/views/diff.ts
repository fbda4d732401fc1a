/**
 * Diff between two revisions: pickers for both sides, totals, and the list of changed paths. When
 * the path is one table file changed between the two (CSV/TSV/Parquet/JSON Lines), its row diff
 * follows (views/table.ts; ?key= matches rows by those columns).
 */
import { api, type Diff } from '../api.ts';
import { badge, clear, fmtDelta, fmtSize, h, idChip, qs, spinner } from '../util.ts';
import { card, empty, errorBox, pageHeader, repoBase, type ViewCtx } from '../view.ts';
import { TABLE_EXT, renderRowDiff, rowDiffHref } from './table.ts';

export function changesView(repo: string, d: Diff): HTMLElement {
  const base = repoBase(repo);
  const s = d.summary;
  const totals = h(
    'div.diff-summary',
    { 'data-testid': 'diff-summary' },
    h('span.d-added', null, `+${s.added} added`),
    h('span.d-modified', null, `~${s.modified} modified`),
    h('span.d-deleted', null, `−${s.deleted} deleted`),
    h('span.muted', null, `${fmtSize(s.bytesAdded)} in · ${fmtSize(s.bytesRemoved)} out · net ${fmtDelta(s.bytesAdded - s.bytesRemoved)}`),
  );
  if (d.changes.length === 0) return h('div', null, totals, empty('No changes between these revisions.'));
  const link = (ref: string | null, path: string, text: string) => (ref ? h('a', { href: `${base}/tree${qs({ ref, path })}` }, text) : h('span', null, text));
  return h(
    'div',
    null,
    totals,
    h(
      'table.data.diff-table',
      null,
      h('thead', null, h('tr', null, h('th', null, ''), h('th', null, 'path'), h('th.num', null, 'old size'), h('th.num', null, 'new size'), h('th.num', null, 'change'))),
      h(
        'tbody',
        null,
        d.changes.map((c) => {
          const delta = (c.newSize ?? 0) - (c.oldSize ?? 0);
          return h(
            'tr',
            { class: `c-${c.kind}`, 'data-path': c.path, 'data-kind': c.kind },
            h('td', null, badge(c.kind, c.kind)),
            h(
              'td.path',
              null,
              c.kind === 'deleted' ? link(d.fromCommit, c.path, c.path) : link(d.toCommit, c.path, c.path),
              c.kind === 'modified' && d.fromCommit && TABLE_EXT.test(c.path)
                ? h('a.btn.tiny.rows-link', { href: rowDiffHref(base, d.fromCommit, d.toCommit, c.path), title: 'Row-level diff of this table' }, 'rows')
                : null,
            ),
            h('td.num', null, c.oldSize === null || c.oldSize === undefined ? '' : fmtSize(c.oldSize)),
            h('td.num', null, c.newSize === null || c.newSize === undefined ? '' : fmtSize(c.newSize)),
            h('td.num', { class: delta > 0 ? 'pos' : delta < 0 ? 'neg' : '' }, fmtDelta(delta)),
          );
        }),
      ),
    ),
  );
}

export async function diffView(ctx: ViewCtx): Promise<void> {
  const { repo, query } = ctx;
  const base = repoBase(repo);
  const from = query.get('from') ?? '';
  const to = query.get('to') ?? '';
  const path = query.get('path') ?? '';
  ctx.el.append(pageHeader('Diff'), spinner());
  const [refs, log] = await Promise.all([api.refs(repo), api.log(repo, { limit: 100 })]);
  if (!ctx.alive()) return;

  // Suggestions: branches, tags, recent commits.
  const list = h('datalist', { id: 'rev-list' });
  for (const b of refs.branches) list.append(h('option', { value: b.name }, `branch ${b.name}`));
  for (const t of refs.tags) list.append(h('option', { value: t.name }, `tag ${t.name}`));
  for (const c of log.commits) list.append(h('option', { value: c.id.slice(0, 12) }, c.message.split('\n')[0]!.slice(0, 60)));

  const commitSelect = (name: string, value: string) => {
    const inp = h('input', { name, list: 'rev-list', value, placeholder: name === 'from' ? 'parent of "to"' : 'HEAD', autocomplete: 'off', spellcheck: 'false', 'aria-label': name });
    return inp;
  };
  const fromIn = commitSelect('from', from);
  const toIn = commitSelect('to', to);
  const pathIn = h('input', { name: 'path', value: path, placeholder: 'all paths', 'aria-label': 'path filter', spellcheck: 'false' });
  const form = h(
    'form.diff-form',
    null,
    h('label', null, 'from ', fromIn),
    h('button.btn.swap', { type: 'button', title: 'Swap', onclick: () => ([fromIn.value, toIn.value] = [toIn.value, fromIn.value]) }, '⇄'),
    h('label', null, 'to ', toIn),
    h('label', null, 'path ', pathIn),
    h('button.btn.primary', { type: 'submit' }, 'Compare'),
    list,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(`${base}/diff${qs({ from: fromIn.value.trim(), to: toIn.value.trim(), path: pathIn.value.trim() })}`);
  });

  // Quick pick: click two commits.
  const picks = h(
    'ol.pick-commits',
    null,
    log.commits.slice(0, 20).map((c) =>
      h(
        'li',
        null,
        h('button.btn.tiny', { type: 'button', title: 'Use as "from"', onclick: () => (fromIn.value = c.id.slice(0, 12)) }, 'from'),
        h('button.btn.tiny', { type: 'button', title: 'Use as "to"', onclick: () => (toIn.value = c.id.slice(0, 12)) }, 'to'),
        h('code.mono', { title: c.id }, c.id.slice(0, 12)),
        h('span.ellipsis', null, c.message.split('\n')[0]),
        c.refs.map((r) => badge(r, r.startsWith('tag:') ? 'tag' : 'branch')),
      ),
    ),
  );

  const result = h('div', { id: 'diff-result' });
  clear(ctx.el, pageHeader('Diff'), card(null, form, h('details.pick', { open: !from && !to }, h('summary', null, 'Pick from recent commits'), picks)), card('Changes', result));
  if (log.commits.length === 0) {
    clear(result, empty('No commits yet.'));
    return;
  }
  clear(result, spinner('Comparing…'));
  try {
    const d = await api.diff(repo, { from: from || undefined, to: to || undefined, path: path || undefined });
    if (!ctx.alive()) return;
    clear(
      result,
      h(
        'div.diff-sides',
        null,
        h('span', null, 'from ', d.fromCommit ? idChip(d.fromCommit, `${base}/commits/${d.fromCommit}`) : h('span.muted', null, '(empty tree)')),
        h('span.arrow', null, '→'),
        h('span', null, 'to ', idChip(d.toCommit, `${base}/commits/${d.toCommit}`)),
      ),
      changesView(repo, d),
    );
    const table = d.fromCommit && TABLE_EXT.test(path) ? d.changes.find((c) => c.path === path && c.kind === 'modified') : undefined;
    if (table && d.fromCommit) {
      const rows = h('div', { id: 'row-diff' });
      ctx.el.append(card(h('span', null, 'Rows of ', h('code', null, path)), rows));
      const key = query.get('key') ?? '';
      await renderRowDiff(repo, { from: from || d.fromCommit, to: to || d.toCommit, path, key }, rows, (k) =>
        ctx.navigate(`${base}/diff${qs({ from: fromIn.value.trim(), to: toIn.value.trim(), path, key: k })}`),
      );
    }
  } catch (e) {
    clear(result, errorBox(e));
  }
}
