import type { Figure, RowReport, RowResult, Target, Unit } from './types.js';

export type Verdict = 'PASS' | 'MISS' | 'n/a' | '';

export interface Evaluation {
  ratio: number | null;
  ratioText: string;
  targetText: string;
  verdict: Verdict;
  /** Why the verdict is n/a. */
  reason?: string;
}

export function fmtValue(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return String(v);
  switch (unit) {
    case 'ms':
      if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
      if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
      if (v >= 100) return `${v.toFixed(0)} ms`;
      return `${v.toFixed(1)} ms`;
    case 'MiB':
      return `${v.toFixed(v >= 100 ? 0 : 2)} MiB`;
    case 'MB':
      return `${v.toFixed(v >= 100 ? 0 : 1)} MB`;
    case 'MB/s':
      return `${v.toFixed(0)} MB/s`;
    case 'req/s':
      return `${v.toFixed(0)} req/s`;
  }
}

export function fmtFigure(f: Figure, unit: Unit): string {
  switch (f.kind) {
    case 'value':
      return fmtValue(f.value, unit);
    case 'error':
      return `error: ${f.message}`;
    case 'skipped':
      return `skipped (${f.reason})`;
  }
}

export function fmtTarget(t: Target | undefined, unit: Unit): string {
  if (!t) return '—';
  switch (t.kind) {
    case 'ratio':
      return `≤ ${t.max}× ${t.reference}`;
    case 'ratio-min':
      return `≥ ${t.min}× ${t.reference}`;
    case 'max':
      return `≤ ${fmtValue(t.value, unit)}`;
    case 'min':
      return `≥ ${fmtValue(t.value, unit)}`;
  }
}

export function evaluate(target: Target | undefined, r: RowResult, unit: Unit): Evaluation {
  const targetText = fmtTarget(target, unit);
  if (!target) return { ratio: null, ratioText: '—', targetText, verdict: '' };
  if (r.strata.kind !== 'value') return { ratio: null, ratioText: '—', targetText, verdict: 'n/a', reason: 'no strata figure' };
  const v = r.strata.value;
  if (target.kind === 'ratio' || target.kind === 'ratio-min') {
    const ref = r.peers.find((p) => p.name === target.reference)?.figure;
    if (!ref || ref.kind !== 'value' || ref.value <= 0) return { ratio: null, ratioText: '—', targetText, verdict: 'n/a', reason: `reference ${target.reference} unavailable` };
    const ratio = v / ref.value;
    const ok = target.kind === 'ratio' ? ratio <= target.max : ratio >= target.min;
    return { ratio, ratioText: `${ratio.toFixed(2)}× ${target.reference}`, targetText, verdict: ok ? 'PASS' : 'MISS' };
  }
  const ratio = v / target.value;
  const ok = target.kind === 'max' ? v <= target.value : v >= target.value;
  return { ratio, ratioText: `${ratio.toFixed(2)}× limit`, targetText, verdict: ok ? 'PASS' : 'MISS' };
}

export function fmtPeers(r: RowResult, unit: Unit): string {
  if (r.peers.length === 0) return '—';
  return r.peers.map((p) => `${p.name}: ${fmtFigure(p.figure, unit)}`).join('; ');
}

/** Plain-text table for stdout. */
export function textTable(reports: RowReport[]): string {
  const header = ['row', 'strata', 'peers', 'ratio', 'target', 'result'];
  const rows = reports.map((rep) => {
    const e = evaluate(rep.target, rep.result, rep.row.unit);
    return [rep.row.title, fmtFigure(rep.result.strata, rep.row.unit), fmtPeers(rep.result, rep.row.unit), e.ratioText, e.targetText, e.verdict || '—'];
  });
  const widths = header.map((h, i) => Math.min(i === 2 ? 90 : 60, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

export function markdownTable(reports: RowReport[]): string {
  const out = ['| row | strata | peers | ratio | target | result |', '|---|---|---|---|---|---|'];
  for (const rep of reports) {
    const e = evaluate(rep.target, rep.result, rep.row.unit);
    const verdict = e.verdict === 'MISS' ? '**MISS**' : e.verdict || '—';
    out.push(
      `| ${esc(rep.row.title)} | ${esc(fmtFigure(rep.result.strata, rep.row.unit))} | ${esc(fmtPeers(rep.result, rep.row.unit))} | ${esc(e.ratioText)} | ${esc(e.targetText)} | ${verdict} |`,
    );
  }
  return out.join('\n');
}
