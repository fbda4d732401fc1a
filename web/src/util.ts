/** DOM building and formatting helpers (no framework). */

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Create an element: h('a.link', { href: '/x' }, 'text', child). Class names after dots. */
export function h<K extends keyof HTMLElementTagNameMap>(spec: K | `${K}.${string}`, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const [tag, ...classes] = spec.split('.') as [K, ...string[]];
  const el = document.createElement(tag);
  if (classes.length) el.className = classes.join(' ');
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
      else if (k === 'class') el.className = [el.className, String(v)].filter(Boolean).join(' ');
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.5 KiB". */
export function fmtSize(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return (n < 0 ? '-' : '') + s + ' ' + UNITS[i];
}

/** Signed size change: "+1.2 KiB", "-3 B", "±0 B". */
export function fmtDelta(n: number): string {
  if (n === 0) return '±0 B';
  return (n > 0 ? '+' : '-') + fmtSize(Math.abs(n));
}

/** 1234 -> "1.23 s", 95000 -> "1m 35s". */
export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s - m * 60)}s`;
  const hh = Math.floor(m / 60);
  return `${hh}h ${m - hh * 60}m`;
}

export function fmtTime(ms: number | null | undefined): string {
  if (!ms) return '—';
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "3 min ago" with the absolute time as a tooltip. */
export function timeAgo(ms: number | null | undefined): HTMLElement {
  if (!ms) return h('span.muted', null, '—');
  const diff = Date.now() - ms;
  const abs = Math.abs(diff);
  let s: string;
  if (abs < 45_000) s = 'just now';
  else if (abs < 3_600_000) s = `${Math.round(abs / 60_000)} min`;
  else if (abs < 86_400_000) s = `${Math.round(abs / 3_600_000)} h`;
  else if (abs < 30 * 86_400_000) s = `${Math.round(abs / 86_400_000)} d`;
  else return h('time', { datetime: new Date(ms).toISOString(), title: fmtTime(ms) }, fmtTime(ms).slice(0, 10));
  if (s !== 'just now') s = diff >= 0 ? `${s} ago` : `in ${s}`;
  return h('time', { datetime: new Date(ms).toISOString(), title: fmtTime(ms) }, s);
}

export function shortId(id: string | null | undefined, n = 12): string {
  return id ? id.slice(0, n) : '';
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Non-secure contexts have no async clipboard: fall back to a hidden textarea.
    const ta = h('textarea', { style: 'position:fixed;left:-9999px' }, text);
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

const COPY_ICON = '<svg width="12" height="12" viewBox="0 0 16 16" aria-hidden="true"><rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M3 11V3.5C3 2.7 3.7 2 4.5 2H11" fill="none" stroke="currentColor" stroke-width="1.6"/></svg>';
const CHECK_ICON = '<svg width="12" height="12" viewBox="0 0 16 16" aria-hidden="true"><path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" stroke-width="2"/></svg>';

export function copyButton(text: string, title = 'Copy'): HTMLButtonElement {
  const b = h('button.copy', { type: 'button', title: `${title}: ${text}`, 'aria-label': title, 'data-copy': text });
  b.innerHTML = COPY_ICON;
  b.addEventListener('click', async (e) => {
    e.preventDefault();
    e.stopPropagation();
    await copyText(text);
    b.innerHTML = CHECK_ICON;
    b.classList.add('copied');
    setTimeout(() => {
      b.innerHTML = COPY_ICON;
      b.classList.remove('copied');
    }, 1200);
  });
  return b;
}

/** A monospace id shortened to 12 characters (full id in the tooltip), optionally a link, with a copy button. */
export function idChip(id: string | null | undefined, href?: string, n = 12): HTMLElement {
  if (!id) return h('span.muted', null, '—');
  const text = shortId(id, n);
  const label = href ? h('a.mono', { href, title: id }, text) : h('code.mono', { title: id }, text);
  return h('span.id', { 'data-id': id }, label, copyButton(id, 'Copy id'));
}

export function badge(text: string, kind = text): HTMLElement {
  return h('span.badge', { class: `b-${kind}` }, text);
}

export function spinner(text = 'Loading…'): HTMLElement {
  return h('div.loading', { role: 'status' }, h('span.spin'), text);
}

export function qs(params: Record<string, string | number | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export function enc(s: string): string {
  return encodeURIComponent(s);
}

/** Split CSV/TSV text into rows (quotes, doubled quotes, CRLF). Stops after maxRows rows. */
export function parseDelimited(text: string, sep: string, maxRows: number): { rows: string[][]; complete: boolean } {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === sep) {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      field = '';
      rows.push(row);
      row = [];
      if (c === '\r' && text[i + 1] === '\n') i++;
      i++;
      if (rows.length >= maxRows) return { rows, complete: i >= n };
    } else {
      field += c;
      i++;
    }
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return { rows, complete: true };
}

export function debounce<A extends unknown[]>(fn: (...a: A) => void, ms: number): (...a: A) => void {
  let t: number | undefined;
  return (...a: A) => {
    clearTimeout(t);
    t = window.setTimeout(() => fn(...a), ms);
  };
}
