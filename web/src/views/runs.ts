/** Runs list (stage, status, duration, started) and run detail (command, params, inputs/outputs, code, environment, log). */
import { api, type RunSummary } from '../api.ts';
import { badge, clear, fmtDuration, fmtSize, fmtTime, h, idChip, qs, spinner, timeAgo } from '../util.ts';
import { card, empty, errorBox, kvTable, pageHeader, repoBase, type ViewCtx } from '../view.ts';

export function statusBadge(status: string | undefined): HTMLElement {
  const s = status ?? 'unknown';
  return badge(s, s === 'ok' ? 'ok' : s === 'failed' ? 'failed' : s === 'cached' ? 'cached' : 'muted');
}

export function codeCell(code: RunSummary['code']): HTMLElement {
  if (!code?.commit) return h('span.muted', null, '—');
  return h('span', null, h('code.mono', { title: code.commit }, code.commit.slice(0, 12)), code.dirty ? badge('dirty', 'warn') : null);
}

export async function runsView(ctx: ViewCtx): Promise<void> {
  const { repo, query } = ctx;
  const base = repoBase(repo);
  const stage = query.get('stage') ?? '';
  const status = query.get('status') ?? '';
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const limit = 50;
  ctx.el.append(pageHeader('Runs'), spinner());
  const page = await api.runs(repo, { limit, offset, stage: stage || undefined, status: status || undefined });
  if (!ctx.alive()) return;

  const stageIn = h('input', { name: 'stage', value: stage, placeholder: 'all stages', 'aria-label': 'stage', spellcheck: 'false' });
  const statusSel = h('select', { name: 'status', 'aria-label': 'status' }, ['', 'ok', 'failed', 'cached'].map((s) => h('option', { value: s, selected: s === status }, s || 'any status')));
  const form = h('form.filters', null, h('label', null, 'stage ', stageIn), h('label', null, 'status ', statusSel), h('button.btn', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(`${base}/runs${qs({ stage: stageIn.value.trim(), status: statusSel.value })}`);
  });
  statusSel.addEventListener('change', () => form.requestSubmit());
  const pageLink = (o: number) => `${base}/runs${qs({ stage, status, offset: o || null })}`;
  const runs = page.runs;
  clear(
    ctx.el,
    pageHeader('Runs', form),
    card(
      null,
      runs.length === 0
        ? empty(stage || status ? 'No runs match.' : 'No pipeline runs yet. ', stage || status ? '' : h('code', null, 'strata repro'), stage || status ? '' : ' records them.')
        : h(
            'table.data.runs-table',
            null,
            h('thead', null, h('tr', null, ['run', 'stage', 'status', 'started', 'duration', 'code', 'in → out', ''].map((c, i) => h(i === 4 || i === 6 ? 'th.num' : 'th', null, c)))),
            h(
              'tbody',
              null,
              runs.map((r) =>
                h(
                  'tr',
                  { 'data-run': r.id, 'data-stage': r.stage },
                  h('td', null, idChip(r.id, `${base}/runs/${r.id}`)),
                  h('td', null, h('a', { href: `${base}/runs${qs({ stage: r.stage })}` }, r.stage)),
                  h('td', null, statusBadge(r.status), r.exitCode && r.status === 'failed' ? h('span.muted.small', null, ` exit ${r.exitCode}`) : null),
                  h('td', null, timeAgo(r.startedAt)),
                  h('td.num', null, r.status === 'cached' ? h('span.muted', null, 'cached') : fmtDuration(r.endedAt - r.startedAt)),
                  h('td', null, codeCell(r.code)),
                  h('td.num', null, r.inputs !== undefined ? `${r.inputs} → ${r.outputs}` : ''),
                  h('td', null, h('a.small', { href: `${base}/lineage${qs({ node: `r:${r.id}` })}`, title: 'Lineage of this run' }, '⬡ lineage')),
                ),
              ),
            ),
          ),
      h(
        'div.pager',
        null,
        offset > 0 ? h('a.btn', { href: pageLink(Math.max(0, offset - limit)) }, '← Newer') : h('span'),
        h('span.muted', null, runs.length ? `${offset + 1}–${offset + runs.length}` : ''),
        page.nextOffset ? h('a.btn', { href: pageLink(page.nextOffset) }, 'Older →') : h('span'),
      ),
    ),
  );
}

export function paramsTable(params: Record<string, unknown> | undefined): HTMLElement {
  const entries = Object.entries(params ?? {});
  if (entries.length === 0) return h('span.muted', null, 'no parameters');
  return h('table.kv.params', { 'data-testid': 'params' }, h('tbody', null, entries.map(([k, v]) => h('tr', { 'data-param': k }, h('th', null, h('code', null, k)), h('td', null, h('code', null, typeof v === 'string' ? v : JSON.stringify(v)))))));
}

export async function runView(ctx: ViewCtx): Promise<void> {
  const { repo } = ctx;
  const base = repoBase(repo);
  const id = ctx.params[1]!;
  ctx.el.append(spinner());
  const r = await api.run(repo, id);
  if (!ctx.alive()) return;
  const verLink = (path: string, vid: string) => `${base}/lineage${qs({ node: `v:${vid}:${path}` })}`;
  const logBox = h('div', { id: 'run-log' }, r.log ? spinner('Loading log…') : h('span.muted', null, r.status === 'cached' ? 'Cached run: outputs were restored, nothing was executed.' : 'No log recorded.'));
  const env = r.environment ?? {};
  clear(
    ctx.el,
    pageHeader(
      h('span', null, 'Run ', h('span.stage', null, r.stage)),
      statusBadge(r.status),
      h('div.head-actions', null, h('a.btn.primary', { href: `${base}/lineage${qs({ node: `r:${r.id}` })}` }, '⬡ Show in lineage')),
    ),
    h(
      'div.grid-2',
      null,
      card(
        'Summary',
        kvTable([
          ['run id', idChip(r.id)],
          ['stage', r.stage],
          ['status', h('span', null, statusBadge(r.status), r.exitCode !== null && r.exitCode !== undefined ? ` exit code ${r.exitCode}` : '', r.signal ? ` signal ${r.signal}` : '')],
          ['started', h('span', null, fmtTime(r.startedAt), ' (', timeAgo(r.startedAt), ')')],
          ['duration', fmtDuration(r.endedAt - r.startedAt)],
          ['code', r.code?.commit ? h('span', null, idChip(r.code.commit), r.code.branch ? h('span.muted', null, ` on ${r.code.branch}`) : null, ' ', r.code.dirty ? badge('dirty', 'warn') : badge('clean', 'ok')) : null],
          ['cached from', r.cachedFrom ? idChip(r.cachedFrom, `${base}/runs/${r.cachedFrom}`) : undefined],
          ['origin', r.origin],
          ['error', r.error ? h('span.neg', null, r.error) : undefined],
        ]),
      ),
      card('Parameters', paramsTable(r.params), r.paramRefs?.length ? h('div.muted.small', null, 'from ', [...new Set(r.paramRefs.map((p) => p.file))].join(', ')) : null),
    ),
    card('Command', h('pre.code.cmd', { 'data-testid': 'cmd' }, r.cmd), r.wdir && r.wdir !== '.' ? h('div.muted.small', null, `in ${r.wdir}`) : null),
    h(
      'div.grid-2',
      null,
      card(
        `Inputs (${r.deps?.length ?? 0})`,
        (r.deps ?? []).length === 0
          ? empty('none')
          : h(
              'table.data',
              null,
              h('tbody', null, (r.deps ?? []).map((d) => h('tr', { 'data-path': d.path }, h('td.path', null, h('a', { href: verLink(d.path, d.id), title: 'lineage of this version' }, d.path, d.kind === 'dir' ? '/' : '')), h('td', null, idChip(d.id))))),
            ),
      ),
      card(
        `Outputs (${r.outs?.length ?? 0})`,
        (r.outs ?? []).length === 0
          ? empty('none')
          : h(
              'table.data',
              null,
              h(
                'tbody',
                null,
                (r.outs ?? []).map((o) =>
                  h('tr', { 'data-path': o.path }, h('td.path', null, h('a', { href: verLink(o.path, o.id) }, o.path, o.kind === 'dir' ? '/' : '')), h('td', null, badge(o.type, o.type)), h('td.num', null, fmtSize(o.size)), h('td', null, idChip(o.id))),
                ),
              ),
            ),
      ),
    ),
    h(
      'div.grid-2',
      null,
      card('Environment', kvTable([...Object.entries(env).map(([k, v]) => [k, String(v)] as [string, string]), ...Object.entries(r.env ?? {}).map(([k, v]) => [`$${k}`, v] as [string, string])])),
      card('Log', logBox),
    ),
  );
  if (r.log) {
    try {
      const log = await api.runLog(repo, r, 64 * 1024);
      if (!ctx.alive()) return;
      clear(logBox, log && log.text ? h('pre.code.log', { 'data-testid': 'run-log' }, log.partial ? '… (earlier output omitted)\n' + log.text : log.text) : h('span.muted', null, 'The log is empty.'));
    } catch (e) {
      clear(logBox, errorBox(e));
    }
  }
}
