/** Repository list, repository overview (branches, tags, paged log) and one commit. */
import { api, type Commit } from '../api.ts';
import { clear, h, idChip, qs, spinner, timeAgo, fmtTime, badge } from '../util.ts';
import { card, empty, errorBox, kvTable, pageHeader, repoBase, type ViewCtx } from '../view.ts';
import { changesView } from './diff.ts';

export async function reposView(ctx: ViewCtx): Promise<void> {
  ctx.el.append(pageHeader('Repositories'), spinner());
  const { repos } = await api.repos();
  if (!ctx.alive()) return;
  clear(
    ctx.el,
    pageHeader('Repositories', h('span.muted', null, `${repos.length} repositor${repos.length === 1 ? 'y' : 'ies'}`)),
    repos.length === 0
      ? empty('No repositories yet. ', h('code', null, 'strata push'), ' to this server creates one.')
      : h(
          'div.repo-grid',
          null,
          repos.map((r) =>
            h(
              'a.repo-card',
              { href: repoBase(r.name), 'data-repo': r.name },
              h('div.repo-name', null, r.name),
              h(
                'div.repo-meta',
                null,
                r.head.branch ? h('span.branch', null, '⎇ ', r.head.branch) : null,
                r.head.commit ? h('code.mono', null, r.head.commit.slice(0, 12)) : h('span.muted', null, 'empty'),
                r.readOnly ? badge('read-only', 'muted') : null,
                r.anonymousRead ? null : badge('private', 'warn'),
              ),
            ),
          ),
        ),
  );
}

export function commitRow(repo: string, c: Commit): HTMLElement {
  const base = repoBase(repo);
  const [subject] = c.message.split('\n');
  return h(
    'li.commit',
    { 'data-commit': c.id },
    h(
      'div.commit-main',
      null,
      h('a.commit-msg', { href: `${base}/commits/${c.id}` }, subject || '(no message)'),
      c.refs.map((r) => badge(r, r.startsWith('tag:') ? 'tag' : 'branch')),
      h('div.commit-sub', null, h('span', null, c.author.name), ' · ', timeAgo(c.time), c.code?.commit ? [' · code ', h('code.mono', { title: c.code.commit }, c.code.commit.slice(0, 12)), c.code.dirty ? badge('dirty', 'warn') : null] : null),
    ),
    h(
      'div.commit-side',
      null,
      idChip(c.id, `${base}/commits/${c.id}`),
      h('a.small', { href: `${base}/tree${qs({ ref: c.id })}`, title: 'Browse files at this commit' }, 'files'),
      c.parents[0] ? h('a.small', { href: `${base}/diff${qs({ from: c.parents[0], to: c.id })}`, title: 'Changes in this commit' }, 'diff') : null,
    ),
  );
}

export async function repoView(ctx: ViewCtx): Promise<void> {
  const { repo, query } = ctx;
  const base = repoBase(repo);
  const ref = query.get('ref') || 'HEAD';
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const limit = 25;
  ctx.el.append(spinner());
  const [info, refs, log] = await Promise.all([api.repo(repo), api.refs(repo), api.log(repo, { ref, limit, offset })]);
  if (!ctx.alive()) return;

  const refSelect = h('select', { 'aria-label': 'Branch or tag', id: 'ref-select' });
  refSelect.append(h('option', { value: 'HEAD', selected: ref === 'HEAD' }, `HEAD${refs.head.branch ? ` (${refs.head.branch})` : ''}`));
  if (refs.branches.length) refSelect.append(h('optgroup', { label: 'Branches' }, refs.branches.map((b) => h('option', { value: b.name, selected: b.name === ref }, b.name))));
  if (refs.tags.length) refSelect.append(h('optgroup', { label: 'Tags' }, refs.tags.map((t) => h('option', { value: t.name, selected: t.name === ref }, t.name))));
  if (![...refSelect.options].some((o) => o.value === ref)) refSelect.append(h('option', { value: ref, selected: true }, ref));
  refSelect.addEventListener('change', () => ctx.navigate(`${base}${qs({ ref: refSelect.value === 'HEAD' ? null : refSelect.value })}`));

  const pager = h(
    'div.pager',
    null,
    offset > 0 ? h('a.btn', { href: `${base}${qs({ ref: ref === 'HEAD' ? null : ref, offset: Math.max(0, offset - limit) || null })}`, rel: 'prev' }, '← Newer') : h('span'),
    h('span.muted', null, log.commits.length ? `${offset + 1}–${offset + log.commits.length}${info.counts ? ` of ${info.counts.commits}` : ''}` : ''),
    log.nextOffset !== null ? h('a.btn', { href: `${base}${qs({ ref: ref === 'HEAD' ? null : ref, offset: log.nextOffset })}`, rel: 'next' }, 'Older →') : h('span'),
  );

  clear(
    ctx.el,
    pageHeader(
      repo,
      info.readOnly ? badge('read-only', 'muted') : null,
      h('div.head-actions', null, h('a.btn', { href: `${base}/tree${qs({ ref: ref === 'HEAD' ? null : ref })}` }, '▤ Browse files'), h('a.btn.primary', { href: `${base}/lineage` }, '⬡ Lineage')),
    ),
    h(
      'div.stats',
      null,
      stat('commits', info.counts?.commits),
      stat('branches', info.counts?.branches ?? refs.branches.length),
      stat('tags', info.counts?.tags ?? refs.tags.length),
      h('div.stat', null, h('div.stat-v', null, idChip(info.head.commit)), h('div.stat-k', null, `HEAD${info.head.branch ? ` → ${info.head.branch}` : ''}`)),
    ),
    h(
      'div.grid-2',
      null,
      card(
        h('span', null, 'Commits ', refSelect),
        log.commits.length === 0 ? empty('No commits yet.') : h('ol.commits', null, log.commits.map((c) => commitRow(repo, c))),
        pager,
      ),
      h(
        'div.col',
        null,
        card(
          'Branches',
          refs.branches.length === 0
            ? empty('No branches.')
            : h(
                'ul.refs',
                null,
                refs.branches.map((b) =>
                  h(
                    'li',
                    null,
                    h('a', { href: `${base}${qs({ ref: b.name })}` }, '⎇ ', b.name),
                    b.name === refs.head.branch ? badge('HEAD', 'branch') : null,
                    h('span.spacer'),
                    refs.head.branch && b.name !== refs.head.branch
                      ? h('a.btn.tiny', { href: `${base}/compare${qs({ base: refs.head.branch, head: b.name })}`, title: `Compare ${b.name} with ${refs.head.branch}, merge it`, 'data-compare': b.name }, '⇄ compare')
                      : null,
                    idChip(b.commit, `${base}/commits/${b.commit}`),
                  ),
                ),
              ),
        ),
        card(
          'Tags',
          refs.tags.length === 0
            ? empty('No tags.')
            : h(
                'ul.refs',
                null,
                refs.tags.map((t) =>
                  h('li', { title: t.message ?? '' }, h('a', { href: `${base}${qs({ ref: t.name })}` }, '⌂ ', t.name), t.time ? h('span.muted.small', null, fmtTime(t.time).slice(0, 10)) : null, h('span.spacer'), idChip(t.commit, `${base}/commits/${t.commit}`)),
                ),
              ),
        ),
      ),
    ),
  );
}

function stat(label: string, v: number | undefined): HTMLElement {
  return h('div.stat', null, h('div.stat-v', null, v === undefined ? '—' : v.toLocaleString()), h('div.stat-k', null, label));
}

export async function commitView(ctx: ViewCtx): Promise<void> {
  const { repo } = ctx;
  const rev = ctx.params[1]!;
  const base = repoBase(repo);
  ctx.el.append(spinner());
  const c = await api.commit(repo, rev);
  if (!ctx.alive()) return;
  const [subject, ...body] = c.message.split('\n');
  const diffBox = h('div', null, spinner('Loading changes…'));
  clear(
    ctx.el,
    pageHeader(subject || '(no message)', c.refs.map((r) => badge(r, r.startsWith('tag:') ? 'tag' : 'branch'))),
    card(
      null,
      body.join('\n').trim() ? h('pre.commit-body', null, body.join('\n').trim()) : null,
      kvTable([
        ['commit', idChip(c.id)],
        ['parents', c.parents.length ? h('span', null, c.parents.map((p) => idChip(p, `${base}/commits/${p}`))) : h('span.muted', null, 'none (root commit)')],
        ['author', `${c.author.name} <${c.author.email}>`],
        ['time', h('span', null, fmtTime(c.time), ' (', timeAgo(c.time), ')')],
        ['code', c.code?.commit ? h('span', null, h('code.mono', { title: c.code.commit }, c.code.commit.slice(0, 12)), c.code.dirty ? badge('dirty', 'warn') : badge('clean', 'ok')) : null],
        ['tree', idChip(c.tree)],
      ]),
      h('div.actions', null, h('a.btn', { href: `${base}/tree${qs({ ref: c.id })}` }, '▤ Browse files'), c.parents[0] ? h('a.btn', { href: `${base}/diff${qs({ from: c.parents[0], to: c.id })}` }, '± Open in diff view') : null),
    ),
    card('Changes', diffBox),
  );
  try {
    const d = await api.diff(repo, { to: c.id });
    if (!ctx.alive()) return;
    clear(diffBox, changesView(repo, d));
  } catch (e) {
    clear(diffBox, errorBox(e));
  }
}
