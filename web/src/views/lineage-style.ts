/** Cytoscape styles and layouts for the lineage graph. */
import type cytoscape from 'cytoscape';

export const TYPE_STYLE: Record<string, { shape: string; fill: string; border: string; label: string; icon: string }> = {
  dataset: { shape: 'round-rectangle', fill: '#e3edff', border: '#3868d6', label: 'Dataset version', icon: '▭' },
  model: { shape: 'hexagon', fill: '#f0e5ff', border: '#8445d6', label: 'Model version', icon: '⬡' },
  metrics: { shape: 'tag', fill: '#fff3d1', border: '#c08400', label: 'Metrics version', icon: '◧' },
  run: { shape: 'ellipse', fill: '#ddf5e5', border: '#23914c', label: 'Run (ok)', icon: '●' },
};

/** Cut-over from dagre to ELK (layered): ELK stays fast and tidy on large graphs. */
export const ELK_THRESHOLD = 150;
/** Above this, trade visual detail for speed (no labels when zoomed out, straight edges). */
export const LARGE_GRAPH = 300;

export function graphStyle(large: boolean): cytoscape.StylesheetJson {
  const s: cytoscape.StylesheetJson = [
    {
      selector: 'node',
      style: {
        label: 'data(disp)',
        'font-family': 'ui-sans-serif, system-ui, -apple-system, "Segoe UI", sans-serif',
        'font-size': 11,
        color: '#1f2937',
        'text-valign': 'center',
        'text-halign': 'center',
        'text-wrap': 'wrap',
        'text-max-width': '120px',
        width: 136,
        height: 40,
        'border-width': 2,
        shape: 'round-rectangle',
        'background-color': '#eef2f7',
        'border-color': '#94a3b8',
        ...(large ? { 'min-zoomed-font-size': 9 } : {}),
      },
    },
    ...Object.entries(TYPE_STYLE).map(([type, t]) => ({
      selector: `node[type = "${type}"]`,
      style: { shape: t.shape as cytoscape.Css.NodeShape, 'background-color': t.fill, 'border-color': t.border },
    })),
    { selector: 'node[type = "run"]', style: { width: 104, height: 42, 'font-weight': 600 } },
    { selector: 'node[type = "model"]', style: { width: 144, height: 46 } },
    { selector: 'node[type = "run"][status = "failed"]', style: { 'background-color': '#fde4e4', 'border-color': '#d03030' } },
    { selector: 'node[type = "run"][status = "cached"]', style: { 'background-color': '#eef0f4', 'border-color': '#7b8597', 'border-style': 'dashed' } },
    { selector: 'node.root', style: { 'border-width': 4, 'underlay-color': '#3868d6', 'underlay-opacity': 0.12, 'underlay-padding': 8 } },
    { selector: 'node.frontier', style: { 'border-style': 'dashed' } },
    { selector: 'node.expanded', style: { 'border-style': 'double', 'border-width': 5 } },
    { selector: 'node:selected', style: { 'border-color': '#f59e0b', 'border-width': 4, 'overlay-color': '#f59e0b', 'overlay-opacity': 0.12, 'overlay-padding': 6 } },
    { selector: 'node.match', style: { 'border-color': '#f59e0b', 'border-width': 4 } },
    { selector: '.faded', style: { opacity: 0.22 } },
    {
      selector: 'edge',
      style: {
        width: 1.5,
        'line-color': '#a7b1c2',
        'target-arrow-color': '#a7b1c2',
        'target-arrow-shape': 'triangle',
        'arrow-scale': 0.9,
        'curve-style': large ? 'straight' : 'bezier',
      },
    },
    { selector: 'edge[kind = "produced"]', style: { 'line-color': '#7fb893', 'target-arrow-color': '#7fb893' } },
    { selector: 'edge.hl', style: { 'line-color': '#f59e0b', 'target-arrow-color': '#f59e0b', width: 2.5 } },
  ];
  return s;
}

export function dagreLayout(): cytoscape.LayoutOptions {
  return {
    name: 'dagre',
    rankDir: 'LR',
    nodeSep: 14,
    rankSep: 44,
    edgeSep: 8,
    fit: true,
    padding: 30,
    animate: false,
  } as unknown as cytoscape.LayoutOptions;
}

export function elkLayout(): cytoscape.LayoutOptions {
  return {
    name: 'elk',
    fit: true,
    padding: 30,
    animate: false,
    nodeDimensionsIncludeLabels: false,
    elk: {
      algorithm: 'layered',
      'elk.direction': 'RIGHT',
      'elk.spacing.nodeNode': 14,
      'elk.layered.spacing.nodeNodeBetweenLayers': 56,
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
      'elk.layered.thoroughness': 3,
      'elk.edgeRouting': 'POLYLINE',
    },
  } as unknown as cytoscape.LayoutOptions;
}
