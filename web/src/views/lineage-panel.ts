/** The details panel of the lineage view: run, dataset/model/metrics version. */
import { api, ApiError, type LineageChecks, type LineageNodeData, type VersionHistoryEntry } from '../api.ts';
import { badge, clear, fmtDelta, fmtDuration, fmtSize, fmtTime, h, idChip, qs, spinner, timeAgo } from '../util.ts';
import { errorBox, kvTable, repoBase } from '../view.ts';
import { paramsTable, statusBadge } from './runs.ts';
import { TYPE_STYLE } from './lineage-style.ts';

export interface PanelOpts {
  repo: string;
  data: LineageNodeData;
  isRoot: boolean;
  expanded: boolean;
  alive(): boolean;
  recentre(): void;
  toggleExpand(): void;
  close(): void;
  graphNeighbours(): LineageNodeData[];
  incomers(): LineageNodeData[];
  outgoers(): LineageNodeData[];
}

function section(title: string, ...body: Array<Node | string | null | false | undefined>): HTMLElement {
  return h('section.p-sec', null, h('h3', null, title), ...body);
}

/** Async section: shows a spinner, then the content or the API error. */
function lazy(title: string, alive: () => boolean, load: () => Promise<Node | null>, testid?: string): HTMLElement {
  const body = h('div', testid ? { 'data-testid': testid } : null, spinner());
  const sec = section(title, body);
  load()
    .then((n) => {
      if (!alive()) return;
      if (n === null) sec.remove();
      else clear(body, n);
    })
    .catch((e) => alive() && clear(body, errorBox(e)));
  return sec;
}

export function renderPanel(panel: HTMLElement, o: PanelOpts): void {
  const d = o.data;
  const base = repoBase(o.repo);
  const t = TYPE_STYLE[d.type] ?? TYPE_STYLE.dataset!;
  const title = d.type === 'run' ? `${d.stage ?? d.label}` : (d.path ?? d.label);
  const actions = h(
    'div.p-actions',
    null,
    o.isRoot ? h('span.badge.b-branch', { title: 'The graph is centred on this node' }, 'centre') : h('button.btn.primary', { type: 'button', onclick: o.recentre, 'data-action': 'recentre' }, '◎ Recentre here'),
    h('button.btn', { type: 'button', onclick: o.toggleExpand, 'data-action': 'expand' }, o.expanded ? '⊖ Collapse' : '⊕ Expand'),
    d.type === 'run' && d.runId ? h('a.btn', { href: `${base}/runs/${d.runId}` }, 'Run page →') : null,
  );
  clear(
    panel,
    h(
      'div.p-head',
      null,
      h('span.p-type', { class: `t-${d.type}` }, h('span.swatch', { class: `sw-${d.type}` }), d.type === 'run' ? 'run' : `${d.type} version`),
      h('button.p-close', { type: 'button', 'aria-label': 'Close details', title: 'Close (Esc)', onclick: o.close }, '×'),
    ),
    h('h2.p-title', { title }, title),
    h('div.p-id', null, h('span.muted', null, 'node '), idChip(d.id, undefined, d.type === 'run' ? 14 : 12)),
    actions,
  );
  panel.dataset.node = d.id;
  panel.dataset.type = d.type;
  panel.setAttribute('aria-label', `${t.label}: ${title}`);
  if (d.type === 'run') renderRun(panel, o);
  else renderVersion(panel, o);
}

function renderRun(panel: HTMLElement, o: PanelOpts): void {
  const d = o.data;
  const base = repoBase(o.repo);
  panel.append(
    section(
      'Run',
      kvTable([
        ['run id', idChip(String(d.runId ?? ''), `${base}/runs/${d.runId}`)],
        ['status', h('span', null, statusBadge(d.status), d.exitCode ? ` exit ${d.exitCode}` : '')],
        ['started', d.startedAt ? h('span', null, fmtTime(d.startedAt), ' · ', timeAgo(d.startedAt)) : null],
        ['duration', d.startedAt && d.endedAt ? fmtDuration(d.endedAt - d.startedAt) : null],
        ['code', d.code?.commit ? h('span', null, idChip(d.code.commit), ' ', d.code.dirty ? badge('dirty', 'warn') : badge('clean', 'ok')) : null],
        ['cached from', d.cachedFrom ? idChip(String(d.cachedFrom), `${base}/runs/${d.cachedFrom}`) : undefined],
      ]),
    ),
    section('Command', h('pre.code.cmd', { 'data-testid': 'cmd' }, d.cmd ?? '')),
    section('Parameters', paramsTable(d.params)),
    lazy(
      'Inputs → outputs',
      o.alive,
      async () => {
        const r = await api.run(o.repo, String(d.runId));
        const row = (path: string, id: string, extra?: Node | null) =>
          h('li', null, h('a.path', { href: `${base}/lineage${qs({ node: `v:${id}:${path}` })}` }, path), extra ?? null, h('code.muted', { title: id }, ` ${id.slice(0, 8)}`));
        return h(
          'div',
          null,
          h('ul.io', null, (r.deps ?? []).map((x) => row(x.path, x.id))),
          h('div.io-arrow', null, '↓'),
          h('ul.io', null, (r.outs ?? []).map((x) => row(x.path, x.id, h('span.muted.small', null, ` ${x.type} · ${fmtSize(x.size)}`)))),
        );
      },
    ),
    lazy(
      'Log (last lines)',
      o.alive,
      async () => {
        const r = await api.run(o.repo, String(d.runId));
        if (!r.log) return h('span.muted', null, r.status === 'cached' ? 'cached run: nothing executed' : 'no log recorded');
        const log = await api.runLog(o.repo, r, 2048);
        if (!log || !log.text.trim()) return h('span.muted', null, 'empty log');
        const lines = log.text.split('\n');
        const tail = lines.slice(-15).join('\n');
        return h('pre.code.log', { 'data-testid': 'log' }, (log.partial || lines.length > 15 ? '…\n' : '') + tail);
      },
      'log',
    ),
  );
}

/** Versions of a path, newest first, one per commit that changed it (the requested /versions endpoint, else log + tree). */
async function versionHistory(repo: string, path: string): Promise<VersionHistoryEntry[]> {
  const v = await api.versions(repo, path);
  if (v) return v;
  const log = await api.log(repo, { path, limit: 30 });
  const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  const name = path.slice(path.lastIndexOf('/') + 1);
  const out: VersionHistoryEntry[] = [];
  const listings = await Promise.all(
    log.commits.map((c) =>
      api.tree(repo, c.id, parent).catch((e) => {
        if (e instanceof ApiError && e.code === 'PATH_NOT_FOUND') return null;
        throw e;
      }),
    ),
  );
  log.commits.forEach((c, i) => {
    const l = listings[i];
    const e = l && l.type === 'dir' ? l.entries.find((x) => x.name === name) : undefined;
    out.push({ id: e?.id ?? '', size: e ? e.size : null, commit: c.id, time: c.time, message: c.message.split('\n')[0] });
  });
  return out;
}

function flatten(obj: unknown, prefix = '', out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.push([prefix, obj]);
  return out;
}

async function metricsTable(repo: string, m: LineageNodeData): Promise<HTMLElement> {
  const r = await api.objectHead(repo, String(m.objectId), 256 * 1024);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(r.bytes));
  } catch {
    return h('pre.code', null, new TextDecoder().decode(r.bytes.subarray(0, 2048)));
  }
  const rows = flatten(parsed).slice(0, 60);
  const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString() : v.toFixed(4).replace(/0+$/, '').replace(/\.$/, '')) : JSON.stringify(v));
  return h(
    'div',
    null,
    h('div.muted.small', null, m.path, ' ', h('code', { title: String(m.objectId) }, String(m.objectId).slice(0, 8))),
    h('table.kv.metrics', { 'data-testid': 'metrics' }, h('tbody', null, rows.map(([k, v]) => h('tr', { 'data-metric': k }, h('th', null, h('code', null, k)), h('td.num', null, fmt(v)))))),
  );
}

const CHECK_BADGE: Record<string, [string, string]> = { pass: ['pass', 'ok'], fail: ['fail', 'failed'], warn: ['warn', 'warn'], error: ['could not run', 'failed'] };

/** The newest check results recorded for this version (part of the node: no extra request). */
function checksList(c: LineageChecks): HTMLElement {
  const counts = [
    c.passed ? `${c.passed} passed` : '',
    c.failed ? `${c.failed} failed` : '',
    c.warned ? `${c.warned} warned` : '',
    c.errored ? `${c.errored} could not run` : '',
  ].filter(Boolean);
  return h(
    'div',
    { 'data-testid': 'checks' },
    h('div.small', null, counts.join(' · ') || 'no checks', h('span.muted', null, ' · judged ', timeAgo(c.time))),
    h(
      'table.kv.checks',
      null,
      h(
        'tbody',
        null,
        c.results.map((r) => {
          const [text, kind] = CHECK_BADGE[r.status] ?? [r.status, 'muted'];
          const detail = r.status === 'pass' ? '' : r.message ?? (r.failing ? `${r.failing.toLocaleString()} failing row${r.failing === 1 ? '' : 's'}` : '');
          return h(
            'tr',
            { 'data-check': r.name, 'data-status': r.status },
            h('td', null, badge(text, kind)),
            h('th', null, h('code', null, r.name), r.severity === 'warn' ? h('span.muted.small', null, ' (warn)') : null),
            h('td.small', null, detail),
          );
        }),
      ),
    ),
  );
}

function renderVersion(panel: HTMLElement, o: PanelOpts): void {
  const d = o.data;
  const base = repoBase(o.repo);
  const path = String(d.path ?? '');
  const oid = String(d.objectId ?? '');
  panel.append(
    section(
      'Version',
      kvTable([
        ['path', h('code', null, path + (d.obj === 'dir' ? '/' : ''))],
        ['content id', idChip(oid)],
        ['kind', d.obj === 'dir' ? 'directory' : 'file'],
      ]),
    ),
  );

  // Only versions data checks judged (tables) have the section.
  if (d.checks) panel.append(section('Checks', checksList(d.checks)));

  // Model: the params it was trained with and the metrics computed from it.
  if (d.type === 'model' || d.type === 'metrics') {
    const near = api.lineage(o.repo, { node: d.id, depth: 1, direction: 'both' });
    if (d.type === 'model') {
      panel.append(
        lazy(
          'Trained with',
          o.alive,
          async () => {
            const g = await near;
            const producers = g.edges.filter((e) => e.data.target === d.id).map((e) => g.nodes.find((n) => n.data.id === e.data.source)?.data).filter((x): x is LineageNodeData => x?.type === 'run');
            if (producers.length === 0) return h('span.muted', null, 'No run recorded producing this version.');
            const p = producers[0]!;
            return h(
              'div',
              null,
              h('div.small', null, 'run ', h('a', { href: `${base}/runs/${p.runId}` }, `${p.stage} ${String(p.runId).slice(0, 12)}`), ' ', statusBadge(p.status), p.code?.commit ? h('span.muted', null, ` · code ${p.code.commit.slice(0, 12)}${p.code.dirty ? ' (dirty)' : ''}`) : null),
              paramsTable(p.params),
            );
          },
          'trained-with',
        ),
      );
    }
    panel.append(
      lazy(
        'Metrics',
        o.alive,
        async () => {
          if (d.type === 'metrics') return metricsTable(o.repo, d);
          const g = await near;
          const consumers = new Set(g.edges.filter((e) => e.data.source === d.id).map((e) => e.data.target));
          const metrics = g.edges
            .filter((e) => consumers.has(e.data.source))
            .map((e) => g.nodes.find((n) => n.data.id === e.data.target)?.data)
            .filter((x): x is LineageNodeData => x?.type === 'metrics' && x.obj !== 'dir');
          if (metrics.length === 0) return h('span.muted', null, 'No metrics computed from this model yet (no run used it and wrote a metrics output).');
          const tables = await Promise.all(metrics.slice(0, 3).map((m) => metricsTable(o.repo, m)));
          return h('div', null, tables);
        },
        'metrics-section',
      ),
    );
  }

  // Commits holding this version, its size, and the change from the previous version.
  panel.append(
    lazy('History', o.alive, async () => {
      const hist = await versionHistory(o.repo, path);
      const i = hist.findIndex((x) => x.id === oid);
      if (i < 0) {
        let size: number | null = null;
        try {
          size = d.obj === 'dir' ? null : await api.objectSize(o.repo, oid);
        } catch {
          /* unknown */
        }
        return h(
          'div',
          null,
          size !== null ? kvTable([['size', fmtSize(size)]]) : null,
          h('p.muted', null, 'This version is not in any commit on HEAD’s history (an output that was never committed, or one on another branch).'),
        );
      }
      const cur = hist[i]!;
      // The oldest consecutive commit with the same id introduced it.
      let introIdx = i;
      while (introIdx + 1 < hist.length && hist[introIdx + 1]!.id === oid) introIdx++;
      const intro = hist[introIdx]!;
      const prev = hist.slice(introIdx + 1).find((x) => x.id !== oid) ?? null;
      const rows: Array<[string, Node | string | null]> = [
        ['size', cur.size !== null ? `${fmtSize(cur.size)}${d.obj === 'dir' ? ' (total)' : ''}` : null],
        ['committed in', h('span', null, idChip(intro.commit, `${base}/commits/${intro.commit}`), ' ', h('span.muted', null, intro.message ?? ''), ' · ', timeAgo(intro.time))],
      ];
      const items: Array<Node | null> = [kvTable(rows)];
      if (prev && prev.id) {
        const delta = (cur.size ?? 0) - (prev.size ?? 0);
        items.push(
          h(
            'div.prev',
            { 'data-testid': 'prev-version' },
            h('div', null, 'Previous version ', h('code', { title: prev.id }, prev.id.slice(0, 12)), ' · ', fmtSize(prev.size), ' → ', fmtSize(cur.size), ' ', h('span', { class: delta > 0 ? 'pos' : delta < 0 ? 'neg' : '' }, `(${fmtDelta(delta)})`)),
            h(
              'div.p-links',
              null,
              h('a', { href: `${base}/diff${qs({ from: prev.commit, to: intro.commit, path })}` }, '± diff from previous'),
              ' · ',
              h('a', { href: `${base}/lineage${qs({ node: `v:${prev.id}:${path}` })}` }, '⬡ lineage of previous'),
            ),
          ),
        );
        if (d.obj === 'dir') {
          const dd = await api.diff(o.repo, { from: prev.commit, to: intro.commit, path });
          items.push(h('div.small', null, `${dd.summary.added} added · ${dd.summary.modified} modified · ${dd.summary.deleted} deleted`));
        }
      } else if (prev && !prev.id) {
        items.push(h('div.muted.small', null, 'Did not exist before this commit.'));
      } else items.push(h('div.muted.small', null, 'First version of this path.'));
      items.push(
        h(
          'div.p-links',
          null,
          h('a', { href: `${base}/tree${qs({ ref: intro.commit, path })}` }, d.obj === 'dir' ? '▤ files' : '▤ preview'),
          ' · ',
          h('a', { href: api.fileUrl(o.repo, intro.commit, path, true), download: '' }, d.obj === 'dir' ? '' : '⬇ download'),
        ),
      );
      if (d.obj === 'dir') {
        const t = await api.tree(o.repo, intro.commit, path);
        if (t.type === 'dir') {
          items.push(
            h(
              'ul.files',
              null,
              t.entries.slice(0, 12).map((e) => h('li', null, h('a', { href: `${base}/tree${qs({ ref: intro.commit, path: e.path })}` }, e.name, e.type === 'dir' ? '/' : ''), h('span.muted.small', null, ` ${fmtSize(e.size)}`))),
              t.entries.length > 12 ? h('li.muted', null, `… ${t.entries.length - 12} more`) : null,
            ),
          );
        }
      }
      const others = hist.filter((x, j) => x.id && (j === 0 || hist[j - 1]!.id !== x.id)).slice(0, 8);
      if (others.length > 1) {
        items.push(
          h(
            'details.versions',
            null,
            h('summary', null, `${others.length} versions of ${path}`),
            h(
              'ol',
              null,
              others.map((x) =>
                h('li', { class: x.id === oid ? 'current' : '' }, h('a', { href: `${base}/lineage${qs({ node: `v:${x.id}:${path}` })}`, title: x.id }, x.id.slice(0, 8)), ' ', fmtSize(x.size), ' ', h('span.muted.small', null, x.message ?? '')),
              ),
            ),
          ),
        );
      }
      return h('div', null, items);
    }),
  );
}
