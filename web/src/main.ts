/**
 * Strata web UI: a small single-page app over the server's HTTP API (history routing; the server
 * answers deep links with index.html). Every view has a URL:
 *
 *   /                                   repositories
 *   /repos/R                            branches, tags and the commit log (?ref=&offset=)
 *   /repos/R/commits/ID                 one commit and its changes
 *   /repos/R/tree?ref=&path=            tree browser / file preview
 *   /repos/R/diff?from=&to=&path=       diff between two revisions
 *   /repos/R/compare?base=&head=        compare two branches, merge head into base
 *   /repos/R/runs?stage=&offset=        pipeline runs
 *   /repos/R/runs/ID                    one run
 *   /repos/R/lineage?node=&depth=&dir=&types=&sel=   the lineage graph
 */
import './styles.css';
import { api, ApiError, type RepoSummary } from './api.ts';
import { clear, h } from './util.ts';
import { errorBox, type View, type ViewCtx } from './view.ts';
import { reposView, repoView, commitView } from './views/repos.ts';
import { treeView } from './views/tree.ts';
import { diffView } from './views/diff.ts';
import { compareView } from './views/compare.ts';
import { runsView, runView } from './views/runs.ts';

interface Route {
  re: RegExp;
  view: View;
  section: string;
  title: string;
}

const routes: Route[] = [
  { re: /^\/$/, view: reposView, section: '', title: 'Repositories' },
  { re: /^\/repos\/([^/]+)\/?$/, view: repoView, section: 'overview', title: 'Overview' },
  { re: /^\/repos\/([^/]+)\/commits\/([^/]+)$/, view: commitView, section: 'overview', title: 'Commit' },
  { re: /^\/repos\/([^/]+)\/tree\/?$/, view: treeView, section: 'tree', title: 'Files' },
  { re: /^\/repos\/([^/]+)\/diff\/?$/, view: diffView, section: 'diff', title: 'Diff' },
  { re: /^\/repos\/([^/]+)\/compare\/?$/, view: compareView, section: 'compare', title: 'Compare' },
  { re: /^\/repos\/([^/]+)\/runs\/?$/, view: runsView, section: 'runs', title: 'Runs' },
  { re: /^\/repos\/([^/]+)\/runs\/([^/]+)$/, view: runView, section: 'runs', title: 'Run' },
  { re: /^\/repos\/([^/]+)\/lineage\/?$/, view: (ctx) => import('./views/lineage.ts').then((m) => m.lineageView(ctx)), section: 'lineage', title: 'Lineage' },
];

const SECTIONS: Array<[string, string, string]> = [
  ['overview', 'Overview', ''],
  ['tree', 'Files', '/tree'],
  ['diff', 'Diff', '/diff'],
  ['compare', 'Compare', '/compare'],
  ['runs', 'Runs', '/runs'],
  ['lineage', 'Lineage', '/lineage'],
];

const ICONS: Record<string, string> = { overview: '⌂', tree: '▤', diff: '±', compare: '⇄', runs: '▶', lineage: '⬡' };

let generation = 0;
let cleanup: Array<() => void> = [];
let repoCache: { list: RepoSummary[]; at: number } | null = null;

const app = document.getElementById('app')!;
const top = h('header.topbar', null);
const side = h('aside.sidebar', { 'aria-label': 'Repository sections' });
const main = h('main.view', { id: 'view' });
app.replaceChildren(top, h('div.layout', null, side, main));

export function navigate(href: string, opts: { replace?: boolean; silent?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  if (!opts.silent) void render();
}

async function repoList(): Promise<RepoSummary[]> {
  if (repoCache && Date.now() - repoCache.at < 30_000) return repoCache.list;
  const r = await api.repos();
  repoCache = { list: r.repos, at: Date.now() };
  return r.repos;
}

function renderChrome(repo: string | null, section: string): void {
  const brand = h('a.brand', { href: '/' }, h('span.logo', { 'aria-hidden': 'true' }, '◆'), 'Strata');
  const crumbs = h('nav.crumbs', { 'aria-label': 'Breadcrumb' });
  if (repo) {
    crumbs.append(h('span.sep', null, '/'), h('a', { href: `/repos/${encodeURIComponent(repo)}` }, repo));
    const s = SECTIONS.find((x) => x[0] === section);
    if (s && s[0] !== 'overview') crumbs.append(h('span.sep', null, '/'), h('span', null, s[1]));
  }
  const switcher = h('select.repo-switch', { 'aria-label': 'Switch repository', title: 'Switch repository' });
  switcher.hidden = true;
  void repoList()
    .then((list) => {
      if (list.length < 2) return;
      switcher.append(...list.map((r) => h('option', { value: r.name, selected: r.name === repo }, r.name)));
      if (!repo) switcher.prepend(h('option', { value: '', selected: true }, 'Repository…'));
      switcher.hidden = false;
    })
    .catch(() => {});
  switcher.addEventListener('change', () => switcher.value && navigate(`/repos/${encodeURIComponent(switcher.value)}`));
  clear(top, brand, crumbs, h('span.spacer'), switcher, h('a.api-link', { href: '/api/repos', target: '_blank', rel: 'noopener' }, 'API'));

  if (!repo) {
    side.hidden = true;
    return;
  }
  side.hidden = false;
  const base = `/repos/${encodeURIComponent(repo)}`;
  clear(
    side,
    h('div.side-repo', { title: repo }, repo),
    h(
      'ul.side-nav',
      null,
      SECTIONS.map(([key, label, suffix]) =>
        h('li', null, h('a', { href: base + suffix, class: key === section ? 'active' : '', 'data-section': key }, h('span.icon', null, ICONS[key] ?? ''), label)),
      ),
    ),
  );
}

async function render(): Promise<void> {
  const gen = ++generation;
  for (const f of cleanup) {
    try {
      f();
    } catch {
      /* ignore */
    }
  }
  cleanup = [];
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(location.search);
  let route: Route | undefined;
  let m: RegExpExecArray | null = null;
  for (const r of routes) {
    m = r.re.exec(path);
    if (m) {
      route = r;
      break;
    }
  }
  const params = m ? m.slice(1).map((s) => decodeURIComponent(s)) : [];
  const repo = params[0] ?? null;
  renderChrome(repo, route?.section ?? '');
  main.className = `view view-${route?.section || 'home'}`;
  clear(main);
  if (!route) {
    document.title = 'Not found · Strata';
    main.append(errorBox(new ApiError(404, 'NOT_FOUND', `no page at ${path}`, 'go back to the repository list')));
    return;
  }
  document.title = `${repo ? `${repo} · ` : ''}${route.title} · Strata`;
  const ctx: ViewCtx = {
    el: main,
    repo: repo ?? '',
    params,
    query,
    alive: () => gen === generation,
    onCleanup: (f) => cleanup.push(f),
    navigate,
  };
  try {
    await route.view(ctx);
  } catch (e) {
    if (!ctx.alive()) return;
    clear(main, errorBox(e));
  }
}

// Same-origin links navigate inside the app (not /api/, downloads or new tabs).
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const href = a.getAttribute('href');
  if (!href || href.startsWith('#') || /^[a-z]+:/i.test(href)) return;
  const u = new URL(href, location.href);
  if (u.origin !== location.origin || u.pathname.startsWith('/api/')) return;
  e.preventDefault();
  navigate(u.pathname + u.search);
});
window.addEventListener('popstate', () => void render());
void render();
