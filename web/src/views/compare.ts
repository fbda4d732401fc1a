/**
 * Compare two branches and merge one into the other: pick base and head, see the commits each side
 * has, the changes head brings in (from the merge base), whether a merge would fast-forward, merge
 * cleanly or conflict; the merge button (POST /merge with expect = the base commit shown, so a base
 * that moved meanwhile is refused) and, when it conflicts, the list of conflicted paths.
 */
import { api, ApiError, type CompareResult, type MergeConflict, type MergeOutcome } from '../api.ts';
import { badge, clear, fmtSize, h, idChip, qs, spinner } from '../util.ts';
import { card, empty, errorBox, kvTable, pageHeader, repoBase, type ViewCtx } from '../view.ts';
import { changesView } from './diff.ts';

const TOKEN_KEY = 'strata.token';

function commitList(repo: string, commits: CompareResult['aheadCommits'], total: number): HTMLElement {
  const base = repoBase(repo);
  if (total === 0) return empty('None.');
  return h(
    'div',
    null,
    h(
      'ol.commits',
      null,
      commits.map((c) => h('li', { 'data-id': c.id }, idChip(c.id, `${base}/commits/${c.id}`), ' ', h('span.ellipsis', null, c.message.split('\n')[0]))),
    ),
    total > commits.length ? h('div.muted.small', null, `and ${total - commits.length} more`) : null,
  );
}

const side = (s: MergeConflict['ours']): string => (s ? `${s.type === 'dir' ? 'folder ' : ''}${fmtSize(s.size)}` : '—');

/** The conflicted paths of a merge that stopped: path, kind, and what each side holds there. */
function conflictList(conflicts: MergeConflict[]): HTMLElement {
  return h(
    'table.data.conflict-table',
    { 'data-testid': 'conflicts' },
    h('thead', null, h('tr', null, h('th', null, 'path'), h('th', null, 'kind'), h('th.num', null, 'base'), h('th.num', null, 'ours (base branch)'), h('th.num', null, 'theirs (head)'))),
    h(
      'tbody',
      null,
      conflicts.map((c) =>
        h(
          'tr',
          { 'data-path': c.path, 'data-kind': c.kind, title: c.reason ?? '' },
          h('td.path', null, c.path),
          h('td', null, badge(c.kind, 'warn')),
          h('td.num', null, side(c.base)),
          h('td.num', null, side(c.ours)),
          h('td.num', null, side(c.theirs)),
        ),
      ),
    ),
  );
}

function outcomeBox(repo: string, o: MergeOutcome): HTMLElement {
  const base = repoBase(repo);
  if (o.status === 'conflicts') {
    return h(
      'div.merge-outcome',
      { 'data-status': o.status },
      h('p', null, badge('conflicts', 'warn'), ` ${o.conflicts.length} path${o.conflicts.length === 1 ? '' : 's'} conflict; nothing was changed: ${o.into ?? ''} is still at `, idChip(o.ours)),
      conflictList(o.conflicts),
      h('p.muted.small', null, 'Resolve them in a workspace (strata merge there), or merge with a strategy (ours / theirs) from the CLI or the API.'),
    );
  }
  const what = o.status === 'up-to-date' ? 'Already up to date.' : o.status === 'fast-forward' ? `Fast-forwarded ${o.into} to ` : `Merged ${o.from} into ${o.into}: new commit `;
  return h(
    'div.merge-outcome',
    { 'data-status': o.status },
    h('p', null, badge(o.status, 'ok'), ' ', what, o.commit ? idChip(o.commit, `${base}/commits/${o.commit}`) : null),
  );
}

function mergeStatus(c: CompareResult): Node {
  const m = c.merge;
  if (!m) return h('span.muted', null, `${c.base} is not a branch: nothing can be merged into it`);
  switch (m.status) {
    case 'up-to-date':
      return h('span', null, badge('up to date', 'ok'), ` ${c.base} already has every commit of ${c.head}`);
    case 'fast-forward':
      return h('span', null, badge('fast-forward', 'ok'), ` ${c.base} can move to ${c.head}; no merge commit needed`);
    case 'merged':
      return h('span', null, badge('clean', 'ok'), ` merges without conflicts (${m.changes.length} path${m.changes.length === 1 ? '' : 's'} taken from ${c.head})`);
    case 'conflicts':
      return h('span', null, badge('conflicts', 'warn'), ` ${m.conflicts.length} path${m.conflicts.length === 1 ? '' : 's'} conflict; the merge would stop and change nothing`);
  }
}

export async function compareView(ctx: ViewCtx): Promise<void> {
  const { repo, query } = ctx;
  const base = repoBase(repo);
  ctx.el.append(pageHeader('Compare'), spinner());
  const [info, refs] = await Promise.all([api.repo(repo), api.refs(repo)]);
  if (!ctx.alive()) return;
  const names = refs.branches.map((b) => b.name);
  const baseRef = query.get('base') || refs.head.branch || names[0] || '';
  const headRef = query.get('head') || names.find((n) => n !== baseRef) || '';

  const select = (name: string, value: string) => {
    const s = h('select', { name, 'aria-label': name, id: `compare-${name}` });
    for (const n of names) s.append(h('option', { value: n, selected: n === value }, n));
    if (value && !names.includes(value)) s.append(h('option', { value, selected: true }, value));
    s.addEventListener('change', () => ctx.navigate(`${base}/compare${qs({ base: baseSel.value, head: headSel.value })}`));
    return s;
  };
  const baseSel = select('base', baseRef);
  const headSel = select('head', headRef);
  const form = h(
    'div.diff-form',
    null,
    h('label', null, 'base ', baseSel),
    h('button.btn.swap', { type: 'button', title: 'Swap', onclick: () => ctx.navigate(`${base}/compare${qs({ base: headSel.value, head: baseSel.value })}`) }, '⇄'),
    h('label', null, 'head ', headSel),
  );
  const result = h('div', { id: 'compare-result' });
  clear(ctx.el, pageHeader('Compare', info.readOnly ? badge('read-only', 'muted') : null), card(null, form), result);
  if (!baseRef || !headRef) {
    clear(result, empty('Comparing needs two branches.'));
    return;
  }
  clear(result, spinner('Comparing…'));
  let c: CompareResult;
  try {
    c = await api.compare(repo, { base: baseRef, head: headRef });
  } catch (e) {
    if (ctx.alive()) clear(result, errorBox(e));
    return;
  }
  if (!ctx.alive()) return;

  const outcome = h('div', { id: 'merge-result' });
  const token = h('input', { type: 'password', name: 'token', placeholder: 'write token', autocomplete: 'off', 'aria-label': 'access token', value: sessionStorage.getItem(TOKEN_KEY) ?? '' });
  const button = h('button.btn.primary', { type: 'button', id: 'merge-button' }, `Merge ${headRef} into ${baseRef}`);
  button.disabled = c.ahead === 0 || !c.merge || c.merge.status === 'up-to-date' || info.readOnly;
  button.addEventListener('click', async () => {
    button.disabled = true;
    const t = token.value.trim();
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    clear(outcome, spinner('Merging…'));
    try {
      const o = await api.merge(repo, { into: baseRef, from: headRef, expect: c.baseCommit }, t || undefined);
      if (!ctx.alive()) return;
      clear(outcome, outcomeBox(repo, o));
      if (o.status === 'conflicts') button.disabled = false;
    } catch (e) {
      if (!ctx.alive()) return;
      const stale = e instanceof ApiError && e.code === 'REF_CONFLICT';
      clear(outcome, errorBox(e), stale ? h('a.btn', { href: `${base}/compare${qs({ base: baseRef, head: headRef })}` }, 'Reload the comparison') : null);
      button.disabled = stale;
    }
  });

  clear(
    result,
    card(
      'Summary',
      kvTable([
        ['base', h('span', null, badge(baseRef, 'branch'), ' ', idChip(c.baseCommit, `${base}/commits/${c.baseCommit}`))],
        ['head', h('span', null, badge(headRef, 'branch'), ' ', idChip(c.headCommit, `${base}/commits/${c.headCommit}`))],
        ['merge base', c.mergeBase ? idChip(c.mergeBase, `${base}/commits/${c.mergeBase}`) : h('span.muted', null, 'none (unrelated histories)')],
        ['ahead / behind', h('span', { 'data-testid': 'ahead-behind' }, `${headRef} is ${c.ahead} ahead, ${c.behind} behind ${baseRef}`)],
        ['merge', h('span', { id: 'merge-status', 'data-status': c.merge?.status ?? '' }, mergeStatus(c))],
      ]),
      c.merge?.status === 'conflicts' ? h('details.merge-preview', null, h('summary', null, `The ${c.merge.conflicts.length} conflicted paths`), conflictList(c.merge.conflicts)) : null,
      h(
        'div.actions.merge-actions',
        null,
        button,
        info.readOnly ? h('span.muted.small', null, 'this server is read-only') : token,
      ),
      outcome,
    ),
    h(
      'div.grid-2',
      null,
      card(`Commits on ${headRef} (${c.ahead})`, commitList(repo, c.aheadCommits, c.ahead)),
      card(`Commits on ${baseRef} (${c.behind})`, commitList(repo, c.behindCommits, c.behind)),
    ),
    card(`Changes ${headRef} brings in`, changesView(repo, c.diff)),
  );
}
