/**
 * The lineage view: a cytoscape graph of dataset/model/metrics versions and runs around one node.
 *
 * Loading: GET /lineage?node=&depth=&direction=&types= for the neighbourhood (never the whole
 * history). Expanding a node fetches its depth-1 neighbourhood and merges it; collapsing removes
 * what that expansion added. Layout is left-to-right: dagre up to ELK_THRESHOLD nodes, ELK
 * (layered, loaded on demand) above. URL: ?node=&depth=&dir=&types=&sel= (sel = selected node).
 */
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { api, type LineageGraph, type LineageNodeData } from '../api.ts';
import { clear, h, qs, spinner } from '../util.ts';
import { empty, errorBox, repoBase, type ViewCtx } from '../view.ts';
import { dagreLayout, elkLayout, ELK_THRESHOLD, graphStyle, LARGE_GRAPH, TYPE_STYLE } from './lineage-style.ts';
import { renderPanel } from './lineage-panel.ts';

cytoscape.use(dagre);
let elkReady: Promise<void> | null = null;
function loadElk(): Promise<void> {
  elkReady ??= import('cytoscape-elk').then(async (m) => {
    cytoscape.use(m.default);
    // Warm ELK up on a small layered graph: its first run pays for class initialisation and JIT,
    // which would otherwise land on the first real (large) layout.
    const nodes = Array.from({ length: 60 }, (_, i) => ({ data: { id: `w${i}` } }));
    const edges = nodes.slice(1).map((_, i) => ({ data: { id: `we${i}`, source: `w${Math.floor(i / 2)}`, target: `w${i + 1}` } }));
    const w = cytoscape({ headless: true, styleEnabled: true, elements: [...nodes, ...edges] });
    const l = w.layout(elkLayout());
    const done = new Promise<void>((r) => l.one('layoutstop', () => r()));
    l.run();
    await done;
    w.destroy();
  });
  return elkReady;
}

const ALL_TYPES = ['dataset', 'model', 'metrics', 'run'];
const DIRS: Array<[string, string]> = [
  ['up', '← upstream'],
  ['both', 'both'],
  ['down', 'downstream →'],
];

export interface LineageStats {
  nodes: number;
  edges: number;
  layout: string;
  fetchMs: number;
  layoutMs: number;
  drawMs: number;
  totalMs: number;
}

declare global {
  interface Window {
    __strataCy?: cytoscape.Core;
    __strataLineage?: LineageStats & { ready: boolean; selected: string | null; root: string | null };
  }
}

/** Display label: versions as "name\n#shortid", runs as "stage". */
function displayLabel(d: LineageNodeData): string {
  if (d.type === 'run') return `${d.stage ?? d.label}${d.status && d.status !== 'ok' ? `\n(${d.status})` : ''}`;
  const path = d.path ?? d.label;
  const name = path.slice(path.lastIndexOf('/') + 1) + (d.obj === 'dir' ? '/' : '');
  return `${name}\n${(d.objectId ?? '').slice(0, 8)}`;
}

function toElements(g: LineageGraph): cytoscape.ElementDefinition[] {
  const maxDepth = g.nodes.reduce((m, n) => Math.max(m, n.data.depth ?? 0), 0);
  const els: cytoscape.ElementDefinition[] = [];
  for (const n of g.nodes) {
    const classes: string[] = [];
    if (g.truncated && (n.data.depth ?? 0) >= maxDepth && maxDepth > 0) classes.push('frontier');
    els.push({ group: 'nodes', data: { ...n.data, disp: displayLabel(n.data) }, classes: classes.join(' ') });
  }
  for (const e of g.edges) els.push({ group: 'edges', data: { ...e.data } });
  return els;
}

const reducedMotion = () => window.matchMedia?.('(prefers-reduced-motion: reduce)').matches === true;
const nextFrame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));

export async function lineageView(ctx: ViewCtx): Promise<void> {
  const { repo, query } = ctx;
  const base = repoBase(repo);
  let node = query.get('node') ?? '';
  const depth = Math.min(20, Math.max(1, Number(query.get('depth')) || 3));
  const dir = ['up', 'down', 'both'].includes(query.get('dir') ?? '') ? query.get('dir')! : 'both';
  const typesParam = query.get('types');
  const types = typesParam ? typesParam.split(',').filter((t) => ALL_TYPES.includes(t)) : ALL_TYPES;
  const sel = query.get('sel');

  const urlFor = (p: { node?: string; depth?: number; dir?: string; types?: string[]; sel?: string | null }) => {
    const t = p.types ?? types;
    return `${base}/lineage${qs({
      node: p.node ?? node,
      depth: (p.depth ?? depth) === 3 ? null : (p.depth ?? depth),
      dir: (p.dir ?? dir) === 'both' ? null : (p.dir ?? dir),
      types: t.length === ALL_TYPES.length ? null : t.join(','),
      sel: p.sel === undefined ? null : p.sel,
    })}`;
  };

  window.__strataLineage = { nodes: 0, edges: 0, layout: '', fetchMs: 0, layoutMs: 0, drawMs: 0, totalMs: 0, ready: false, selected: null, root: null };
  ctx.el.append(spinner('Loading lineage…'));

  if (!node) {
    // No start node: the newest run (usually the end of the latest pipeline run).
    const runs = await api.runs(repo, { limit: 1 });
    if (!ctx.alive()) return;
    if (runs.runs.length === 0) {
      clear(
        ctx.el,
        h('div.page-head', null, h('h1', null, 'Lineage')),
        empty('No runs recorded yet, so there is no lineage to show. Run a pipeline with ', h('code', null, 'strata repro'), ' or a step with ', h('code', null, 'strata run'), ', or start from a file: ', h('a', { href: `${base}/tree` }, 'browse files'), '.'),
      );
      window.__strataLineage.ready = true;
      return;
    }
    // Prefer a model next to the newest run (the usual thing to ask "where did this come from?" about).
    node = `r:${runs.runs[0]!.id}`;
    try {
      const near = await api.lineage(repo, { node, depth: 1, direction: 'both' });
      const model = near.nodes.find((x) => x.data.type === 'model');
      if (model) node = model.data.id;
    } catch {
      /* keep the run */
    }
    if (!ctx.alive()) return;
    ctx.navigate(urlFor({ node }), { replace: true, silent: true });
  }

  // ---------------------------------------------------------------- toolbar
  const searchIn = h('input.search', { type: 'search', placeholder: 'Find a path or run id…', 'aria-label': 'Search by path or run id', list: 'lineage-nodes', spellcheck: 'false', autocomplete: 'off' });
  const nodeList = h('datalist', { id: 'lineage-nodes' });
  const searchForm = h('form.lg-search', { role: 'search' }, searchIn, nodeList, h('button.btn', { type: 'submit' }, 'Find'));
  const depthSel = h('select', { 'aria-label': 'Depth', id: 'lg-depth' }, Array.from({ length: 20 }, (_, i) => h('option', { value: i + 1, selected: i + 1 === depth }, String(i + 1))));
  const dirGroup = h(
    'div.seg',
    { role: 'group', 'aria-label': 'Direction' },
    DIRS.map(([v, label]) => h('button', { type: 'button', class: v === dir ? 'on' : '', 'aria-pressed': v === dir ? 'true' : 'false', 'data-dir': v, onclick: () => ctx.navigate(urlFor({ dir: v })) }, label)),
  );
  const typeBoxes = h(
    'div.types',
    { role: 'group', 'aria-label': 'Node types' },
    ALL_TYPES.map((t) => {
      const cb = h('input', { type: 'checkbox', value: t, checked: types.includes(t) });
      cb.addEventListener('change', () => {
        const next = [...typeBoxes.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
        if (next.length) ctx.navigate(urlFor({ types: next }));
        else cb.checked = true;
      });
      return h('label.type-toggle', { title: `Show ${TYPE_STYLE[t]!.label.toLowerCase()}s` }, cb, legendSwatch(t), t);
    }),
  );
  depthSel.addEventListener('change', () => ctx.navigate(urlFor({ depth: Number(depthSel.value) })));
  const fitBtn = h('button.btn', { type: 'button', title: 'Fit the graph to the view' }, '⤢ Fit');
  const relayoutBtn = h('button.btn', { type: 'button', title: 'Lay the graph out again' }, '↻ Layout');
  const stats = h('span.lg-stats.muted', { 'aria-live': 'polite' });
  const toolbar = h(
    'div.lg-toolbar',
    null,
    searchForm,
    h('label.lg-depth', null, 'depth ', depthSel),
    dirGroup,
    typeBoxes,
    h('span.spacer'),
    fitBtn,
    relayoutBtn,
  );
  const legend = h(
    'div.legend',
    { 'aria-label': 'Legend' },
    Object.entries(TYPE_STYLE).map(([t, s]) => h('span.lg-item', null, legendSwatch(t), s.label)),
    h('span.lg-item', null, legendSwatch('run', 'failed'), 'Run (failed)'),
    h('span.lg-item', null, legendSwatch('run', 'cached'), 'Run (cached)'),
    h('span.lg-item.muted', { title: 'Dashed border: more lineage beyond the current depth. Double-click a node (or use Expand) to load its neighbours; again to collapse.' }, '┄ more beyond · dbl-click: expand'),
  );
  const graphEl = h('div.lg-graph', { id: 'cy', 'aria-label': 'Lineage graph', role: 'img' });
  const overlay = h('div.lg-overlay', null, spinner('Loading lineage…'));
  const panel = h('aside.lg-panel', { id: 'panel', 'aria-label': 'Details', hidden: true });
  const rootInfo = h('div.lg-root');
  clear(ctx.el, h('div.lg-head', null, h('h1', null, 'Lineage'), rootInfo), toolbar, h('div.lg-body', null, h('div.lg-canvas', null, graphEl, overlay, legend, stats), panel));

  // ---------------------------------------------------------------- load
  // Deep neighbourhoods are likely large: fetch ELK while the graph is being fetched.
  if (depth >= 6) void loadElk().catch(() => {});
  const t0 = performance.now();
  let g: LineageGraph;
  try {
    g = await api.lineage(repo, { node, depth, direction: dir, types: types.length === ALL_TYPES.length ? undefined : types.join(',') });
  } catch (e) {
    if (!ctx.alive()) return;
    clear(overlay, errorBox(e), h('p', null, h('a', { href: `${base}/lineage` }, 'Start from the newest run')));
    window.__strataLineage.ready = true;
    return;
  }
  if (!ctx.alive()) return;
  const fetchMs = performance.now() - t0;
  const rootId = g.root ?? node;
  window.__strataLineage.root = rootId;
  const rootData = g.nodes.find((n) => n.data.id === rootId)?.data;
  clear(
    rootInfo,
    h('span.muted', null, 'around '),
    rootData ? h('strong', null, rootData.type === 'run' ? `run ${rootData.stage} ${String(rootData.runId ?? '').slice(0, 12)}` : (rootData.path ?? rootData.label)) : h('code', null, node),
    rootData && rootData.type !== 'run' ? h('code.muted', { title: rootData.objectId }, ` @${String(rootData.objectId ?? '').slice(0, 12)}`) : null,
    g.truncated ? h('span.badge.b-muted', { title: 'There is more lineage beyond this depth: raise the depth or expand a dashed node' }, 'truncated') : null,
  );

  const n = g.nodes.length;
  const large = n > LARGE_GRAPH;
  const useElk = n > ELK_THRESHOLD;
  let elkLoadMs = 0;
  if (useElk) {
    clear(overlay, spinner(`Laying out ${n.toLocaleString()} nodes…`));
    const tl = performance.now();
    await loadElk();
    elkLoadMs = performance.now() - tl;
    if (!ctx.alive()) return;
  }
  const tBuild = performance.now();
  const cy = cytoscape({
    container: graphEl,
    elements: toElements(g),
    style: graphStyle(large),
    layout: { name: 'preset' },
    minZoom: 0.05,
    maxZoom: 3,
    
    boxSelectionEnabled: false,
    selectionType: 'single',
    textureOnViewport: large,
    hideEdgesOnViewport: large,
    motionBlur: false,
    pixelRatio: large ? 1 : 'auto',
  });
  window.__strataCy = cy;
  ctx.onCleanup(() => {
    cy.destroy();
    if (window.__strataCy === cy) delete window.__strataCy;
  });
  cy.$id(rootId).addClass('root');

  const expansions = new Map<string, string[]>();

  const runLayout = (animate: boolean): Promise<string> => {
    const count = cy.nodes().length;
    const elk = count > ELK_THRESHOLD;
    const go = async () => {
      if (elk) await loadElk();
      const opts = elk ? elkLayout() : dagreLayout();
      if (animate && !elk && count < 120 && !reducedMotion()) Object.assign(opts, { animate: true, animationDuration: 250 });
      const l = cy.layout(opts);
      const done = new Promise<void>((r) => l.one('layoutstop', () => r()));
      l.run();
      await done;
      return elk ? 'elk' : 'dagre';
    };
    return go();
  };

  const layoutName = await runLayout(false);
  if (!ctx.alive()) return;
  const tLayout = performance.now();
  await nextFrame();
  await nextFrame();
  if (!ctx.alive()) return;
  const tDraw = performance.now();
  overlay.hidden = true;
  const st: LineageStats = { nodes: n, edges: g.edges.length, layout: layoutName, fetchMs: Math.round(fetchMs), layoutMs: Math.round(tLayout - tBuild), drawMs: Math.round(tDraw - tLayout), totalMs: Math.round(tDraw - tBuild) };
  Object.assign(window.__strataLineage, st, { ready: true, elkLoadMs: Math.round(elkLoadMs) });
  console.info(`[strata] lineage: ${st.nodes} nodes, ${st.edges} edges, layout ${st.layout}: fetch ${st.fetchMs} ms, layout ${st.layoutMs} ms, draw ${st.drawMs} ms, layout+draw ${st.totalMs} ms${useElk ? ` (ELK load + warm-up ${Math.round(elkLoadMs)} ms)` : ''}`);
  const updateStats = () => {
    stats.textContent = `${cy.nodes().length.toLocaleString()} nodes · ${cy.edges().length.toLocaleString()} edges · ${cy.nodes().length > ELK_THRESHOLD ? 'ELK' : 'dagre'}`;
    stats.title = `last load: fetch ${st.fetchMs} ms, layout ${st.layoutMs} ms, draw ${st.drawMs} ms`;
    clear(nodeList);
    const seen = new Set<string>();
    cy.nodes().forEach((nd) => {
      const d = nd.data() as LineageNodeData;
      const v = d.type === 'run' ? String(d.runId ?? '') : (d.path ?? '');
      if (!v || seen.has(v) || seen.size > 500) return;
      seen.add(v);
      nodeList.append(h('option', { value: v }, d.type === 'run' ? `run ${d.stage}` : d.type));
    });
  };
  updateStats();
  if (!useElk) {
    // Expanding may cross the ELK threshold: load it when the browser is idle.
    const idle = (window as Window & { requestIdleCallback?: (f: () => void) => number }).requestIdleCallback ?? ((f: () => void) => setTimeout(f, 1500));
    idle(() => void loadElk().catch(() => {}));
  }

  // ---------------------------------------------------------------- selection + panel
  const select = (id: string | null, opts: { center?: boolean; updateUrl?: boolean } = {}) => {
    cy.elements().removeClass('hl faded');
    cy.$(':selected').unselect();
    window.__strataLineage!.selected = id;
    if (!id || cy.$id(id).empty()) {
      panel.hidden = true;
      cy.resize();
      if (opts.updateUrl !== false) ctx.navigate(urlFor({ sel: null }), { replace: true, silent: true });
      return;
    }
    const el = cy.$id(id);
    el.select();
    el.connectedEdges().addClass('hl');
    if (opts.center) {
      const to = { center: { eles: el }, zoom: Math.max(cy.zoom(), 0.9) };
      if (reducedMotion()) {
        cy.zoom(to.zoom);
        cy.center(el);
      }
      else cy.animate(to, { duration: 250 });
    }
    if (panel.hidden) {
      panel.hidden = false;
      cy.resize();
    }
    if (opts.updateUrl !== false) ctx.navigate(urlFor({ sel: id }), { replace: true, silent: true });
    renderPanel(panel, {
      repo,
      data: el.data() as LineageNodeData,
      isRoot: id === rootId,
      expanded: expansions.has(id),
      alive: () => ctx.alive() && window.__strataLineage?.selected === id,
      recentre: () => ctx.navigate(urlFor({ node: id, sel: id })),
      toggleExpand: () => void toggleExpand(id),
      close: () => select(null),
      graphNeighbours: () => el.neighborhood('node').map((x) => x.data() as LineageNodeData),
      incomers: () => el.incomers('node').map((x) => x.data() as LineageNodeData),
      outgoers: () => el.outgoers('node').map((x) => x.data() as LineageNodeData),
    });
  };

  cy.on('tap', 'node', (e) => select(e.target.id()));
  cy.on('tap', (e) => {
    if (e.target === cy) select(null);
  });
  cy.on('dbltap', 'node', (e) => void toggleExpand(e.target.id()));
  cy.on('mouseover', 'node', () => (graphEl.style.cursor = 'pointer'));
  cy.on('mouseout', 'node', () => (graphEl.style.cursor = ''));

  // ---------------------------------------------------------------- expand / collapse
  const toggleExpand = async (id: string) => {
    if (expansions.has(id)) {
      collapse(id);
    } else {
      const el = cy.$id(id);
      el.addClass('loading');
      stats.textContent = 'Expanding…';
      try {
        const sub = await api.lineage(repo, { node: id, depth: 1, direction: dir, types: types.length === ALL_TYPES.length ? undefined : types.join(',') });
        if (!ctx.alive()) return;
        const added: string[] = [];
        const els = toElements(sub).filter((x) => cy.getElementById(String(x.data.id)).empty());
        for (const x of els) if (x.group === 'nodes') added.push(String(x.data.id));
        cy.add(els);
        cy.$id(id).removeClass('frontier').addClass('expanded');
        expansions.set(id, added);
        await runLayout(true);
      } catch (e) {
        stats.textContent = `Expand failed: ${(e as Error).message}`;
        return;
      } finally {
        el.removeClass('loading');
      }
    }
    updateStats();
    if (window.__strataLineage?.selected === id) select(id, { updateUrl: false });
  };
  const collapse = (id: string) => {
    const added = expansions.get(id) ?? [];
    expansions.delete(id);
    for (const a of added) {
      if (expansions.has(a)) collapse(a);
      if (a !== rootId) cy.$id(a).remove();
    }
    cy.$id(id).removeClass('expanded');
    void runLayout(true);
  };

  // ---------------------------------------------------------------- search
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = searchIn.value.trim();
    if (!q) return;
    const ql = q.toLowerCase();
    const nodes = cy.nodes().toArray();
    const score = (d: LineageNodeData): number => {
      if (d.id === q) return 100;
      if (d.type === 'run' && d.runId && String(d.runId).startsWith(ql)) return 90;
      if (d.path === q) return 80 - (d.depth ?? 0);
      if (d.path && d.path.toLowerCase().endsWith('/' + ql)) return 60 - (d.depth ?? 0);
      if (d.path && d.path.toLowerCase().includes(ql)) return 40 - (d.depth ?? 0);
      if (d.type === 'run' && String(d.stage ?? '').toLowerCase() === ql) return 30 - (d.depth ?? 0);
      return 0;
    };
    let best: cytoscape.NodeSingular | null = null;
    let bestScore = 0;
    for (const nd of nodes) {
      const s = score(nd.data() as LineageNodeData);
      if (s > bestScore) {
        best = nd;
        bestScore = s;
      }
    }
    if (best) {
      const matches = cy.nodes().filter((nd) => score(nd.data() as LineageNodeData) > 0);
      select(best.id(), { center: true });
      cy.elements().addClass('faded');
      matches.removeClass('faded').addClass('match');
      best.closedNeighborhood().removeClass('faded');
      setTimeout(() => cy.elements().removeClass('faded match'), 2500);
      return;
    }
    // Not in this graph: ask the server (a run id, a node id, REF:PATH, or a path at HEAD).
    const target = /^[0-9a-f-]{4,36}$/i.test(q) ? q : q.includes(':') ? q : `HEAD:${q.replace(/^\/+/, '')}`;
    ctx.navigate(urlFor({ node: target, sel: null }));
  });

  fitBtn.addEventListener('click', () => cy.fit(undefined, 30));
  relayoutBtn.addEventListener('click', () => void runLayout(true));

  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && !panel.hidden) select(null);
    if (e.key === '/' && document.activeElement?.tagName !== 'INPUT') {
      e.preventDefault();
      searchIn.focus();
    }
  };
  document.addEventListener('keydown', onKey);
  ctx.onCleanup(() => document.removeEventListener('keydown', onKey));

  if (sel && cy.$id(sel).nonempty()) select(sel, { center: false, updateUrl: false });
  else if (!sel && n <= ELK_THRESHOLD && cy.$id(rootId).nonempty()) {
    // Small graphs open with the start node's details.
    select(rootId, { updateUrl: false });
  }
  if (!panel.hidden) cy.fit(undefined, 30);
}

function legendSwatch(type: string, status?: string): HTMLElement {
  return h('span.swatch', { class: `sw-${type}${status ? ` sw-${status}` : ''}`, 'aria-hidden': 'true' });
}
