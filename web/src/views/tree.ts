/**
 * Tree browser at any revision, with previews: tables (CSV/TSV/Parquet/JSON Lines: a paged grid with
 * types and statistics, views/table.ts; ?offset= is the first row shown), JSON, text, images; size +
 * download otherwise.
 */
import { api, ApiError, isMissingEndpoint, type TreeEntry } from '../api.ts';
import { clear, fmtSize, h, idChip, parseDelimited, qs, spinner, badge } from '../util.ts';
import { card, empty, errorBox, kvTable, pageHeader, repoBase, type ViewCtx } from '../view.ts';
import { TABLE_EXT, renderTablePreview } from './table.ts';

const TEXT_EXT = /\.(txt|md|markdown|log|ya?ml|toml|ini|cfg|conf|py|mjs|cjs|js|ts|tsx|jsx|sh|r|sql|html?|xml|css|rst|ipynb|env|gitignore|dockerfile|makefile|c|h|cpp|rs|go|java|rb)$/i;
const IMG_EXT = /\.(png|jpe?g|gif|webp|bmp|ico|svg|avif)$/i;
const PREVIEW_ROWS = 50;

export async function treeView(ctx: ViewCtx): Promise<void> {
  const { repo, query } = ctx;
  const ref = query.get('ref') || 'HEAD';
  const path = (query.get('path') ?? '').replace(/^\/+|\/+$/g, '');
  ctx.el.append(spinner());
  const t = await api.tree(repo, ref, path);
  if (!ctx.alive()) return;
  const base = repoBase(repo);
  const link = (p: string) => `${base}/tree${qs({ ref: ref === 'HEAD' ? null : ref, path: p || null })}`;

  const crumbs = h('nav.path-crumbs', { 'aria-label': 'Path' }, h('a', { href: link('') }, repo));
  const parts = path ? path.split('/') : [];
  parts.forEach((p, i) => {
    crumbs.append(h('span.sep', null, '/'));
    const sub = parts.slice(0, i + 1).join('/');
    crumbs.append(i === parts.length - 1 ? h('strong', null, p) : h('a', { href: link(sub) }, p));
  });
  const refInfo = h('div.ref-info', null, h('span.muted', null, 'at '), h('code', null, ref), ' ', idChip(t.commit, `${base}/commits/${t.commit}`));

  if (t.type === 'dir') {
    const total = t.entries.reduce((s, e) => s + (e.type === 'file' ? e.size : 0), 0);
    clear(
      ctx.el,
      pageHeader(crumbs, refInfo),
      card(
        null,
        t.entries.length === 0
          ? empty('Empty folder.')
          : h(
              'table.data.tree-table',
              null,
              h('thead', null, h('tr', null, h('th', null, 'name'), h('th.num', null, 'size'), h('th', null, 'id'))),
              h(
                'tbody',
                null,
                path ? h('tr', null, h('td', null, h('a', { href: link(parts.slice(0, -1).join('/')) }, '⮤ ..')), h('td'), h('td')) : null,
                t.entries.map((e) =>
                  h(
                    'tr',
                    { 'data-path': e.path, 'data-type': e.type },
                    h('td', null, h('a', { href: link(e.path) }, h('span.ficon', null, e.type === 'dir' ? '📁' : e.type === 'symlink' ? '↪' : '📄'), e.name, e.type === 'dir' ? '/' : ''), e.type === 'symlink' ? h('span.muted', null, ` → ${e.target}`) : null),
                    h('td.num', null, e.type === 'dir' ? h('span.muted', null, `${e.count ?? '?'} items`) : fmtSize(e.size)),
                    h('td', null, idChip(e.id)),
                  ),
                ),
              ),
            ),
        h('div.muted.small', null, `${t.entries.length} entries · ${fmtSize(total)} in files here`),
      ),
    );
    return;
  }

  const e = t.entry;
  const preview = h('div.preview', { id: 'preview' }, spinner('Loading preview…'));
  const dl = api.fileUrl(repo, ref, path, true);
  clear(
    ctx.el,
    pageHeader(crumbs, refInfo),
    card(
      null,
      kvTable([
        ['size', `${fmtSize(e.size)} (${e.size.toLocaleString()} bytes)`],
        ['id', idChip(e.id)],
        ['type', h('span', null, e.type, e.type === 'file' && e.chunked ? badge('chunked', 'muted') : null, e.type === 'file' && e.exec ? badge('executable', 'muted') : null)],
        ['target', e.type === 'symlink' ? (e.target ?? '') : undefined],
      ]),
      h(
        'div.actions',
        null,
        h('a.btn', { href: dl, download: e.name }, '⬇ Download'),
        h('a.btn', { href: api.fileUrl(repo, ref, path), target: '_blank', rel: 'noopener' }, 'Raw'),
        h('a.btn', { href: `${base}/diff${qs({ to: ref === 'HEAD' ? null : ref, path })}`, title: 'What the last commit changed here' }, '± Last change'),
        h('a.btn', { href: `${base}/lineage${qs({ node: `${ref}:${path}` })}` }, '⬡ Lineage'),
      ),
    ),
    card('Preview', preview),
  );
  try {
    const offset = Math.max(0, Number.parseInt(query.get('offset') ?? '0', 10) || 0);
    const onPage = (o: number) => ctx.navigate(`${base}/tree${qs({ ref: ref === 'HEAD' ? null : ref, path, offset: o || null })}`, { replace: true, silent: true });
    await renderPreview(repo, ref, e, preview, offset, onPage);
  } catch (err) {
    clear(preview, errorBox(err));
  }
}

async function renderPreview(repo: string, ref: string, e: TreeEntry, el: HTMLElement, offset: number, onPage: (offset: number) => void): Promise<void> {
  const name = e.name.toLowerCase();
  const dl = api.fileUrl(repo, ref, e.path, true);
  if (e.type === 'symlink') return clear(el, h('p', null, 'Symbolic link to ', h('code', null, e.target ?? '?')));
  if (e.size === 0) return clear(el, empty('Empty file.'));
  if (IMG_EXT.test(name)) {
    return clear(el, h('img.img-preview', { src: api.fileUrl(repo, ref, e.path), alt: e.name, loading: 'lazy' }));
  }
  let tableError: HTMLElement | null = null;
  if (e.type === 'file' && TABLE_EXT.test(name)) {
    try {
      return await renderTablePreview(repo, ref, e.path, el, offset, onPage);
    } catch (err) {
      // An older server without /table/rows: the text previews below. An unreadable table: say why,
      // and show a CSV's text as it is.
      if (!isMissingEndpoint(err)) {
        if (!/\.(csv|tsv)$/.test(name) || !(err instanceof ApiError) || err.status !== 422) throw err;
        tableError = errorBox(err);
      }
    }
  }
  if (/\.(csv|tsv|tab)$/.test(name)) {
    const r = await api.fileHead(repo, ref, e.path, 256 * 1024);
    const text = new TextDecoder().decode(r.bytes);
    const sep = name.endsWith('.csv') ? ',' : '\t';
    const { rows } = parseDelimited(text, sep, PREVIEW_ROWS + 1);
    if (rows.length === 0) return clear(el, empty('No rows.'));
    const [header, ...body] = rows;
    const approx = r.partial && r.total ? Math.round((r.total / r.bytes.length) * text.split('\n').length) : rows.length - 1;
    return clear(
      el,
      tableError,
      h('div.muted.small', null, `First ${body.length} rows${r.partial || body.length >= PREVIEW_ROWS ? ` of ${r.partial ? '≈' : ''}${Math.max(approx - 1, body.length).toLocaleString()}` : ''} · ${header!.length} columns`),
      h(
        'div.table-scroll',
        null,
        h(
          'table.data.csv-table',
          { 'data-testid': 'csv-preview' },
          h('thead', null, h('tr', null, h('th.rownum', null, '#'), header!.map((c) => h('th', null, c)))),
          h('tbody', null, body.map((row, i) => h('tr', null, h('td.rownum', null, i + 1), row.map((c) => h('td', { class: /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(c) ? 'num' : '' }, c))))),
        ),
      ),
    );
  }
  if (name.endsWith('.json') || name.endsWith('.geojson')) {
    if (e.size > 2 * 1024 * 1024) return clear(el, bigFile(e, dl));
    const r = await api.fileHead(repo, ref, e.path, e.size);
    const text = new TextDecoder().decode(r.bytes);
    let pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      /* show as text */
    }
    return clear(el, h('pre.code.json', { 'data-testid': 'json-preview' }, pretty));
  }
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || TEXT_EXT.test(name) || !name.includes('.')) {
    return textPreview(repo, ref, e, el, dl);
  }
  // Unknown extension: sniff the first bytes; show as text when it looks like UTF-8 text.
  const r = await api.fileHead(repo, ref, e.path, 4096);
  if (looksText(r.bytes)) return textPreview(repo, ref, e, el, dl);
  clear(el, bigFile(e, dl));
}

async function textPreview(repo: string, ref: string, e: TreeEntry, el: HTMLElement, dl: string): Promise<void> {
  const max = 64 * 1024;
  const r = await api.fileHead(repo, ref, e.path, max);
  if (!looksText(r.bytes.subarray(0, 4096))) return clear(el, bigFile(e, dl));
  const text = new TextDecoder().decode(r.bytes);
  clear(el, h('pre.code', { 'data-testid': 'text-preview' }, text), r.partial ? h('div.muted.small', null, `Showing the first ${fmtSize(r.bytes.length)} of ${fmtSize(r.total)}. `, h('a', { href: dl, download: e.name }, 'Download the whole file')) : null);
}

function looksText(b: Uint8Array): boolean {
  if (b.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b.length > 8 ? b.subarray(0, b.length - 4) : b);
    return true;
  } catch {
    return false;
  }
}

function bigFile(e: TreeEntry, dl: string): HTMLElement {
  return h(
    'div.binary',
    null,
    h('div.big', null, fmtSize(e.size)),
    h('p.muted', null, 'No preview for this file type. The download supports HTTP Range requests (resumable).'),
    h('a.btn.primary', { href: dl, download: e.name }, `⬇ Download ${e.name}`),
  );
}
