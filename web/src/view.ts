/** What every view gets, and shared view pieces (error box, cards, pager). */
import { ApiError } from './api.ts';
import { h, type Child } from './util.ts';

export interface ViewCtx {
  /** The main element to render into. */
  el: HTMLElement;
  repo: string;
  /** Route captures after the repository name (decoded). */
  params: string[];
  query: URLSearchParams;
  /** False once the user navigated elsewhere: stop touching the DOM. */
  alive(): boolean;
  onCleanup(f: () => void): void;
  navigate(href: string, opts?: { replace?: boolean; silent?: boolean }): void;
}

export type View = (ctx: ViewCtx) => Promise<void> | void;

export function repoBase(repo: string): string {
  return `/repos/${encodeURIComponent(repo)}`;
}

export function errorBox(e: unknown): HTMLElement {
  const err = e instanceof ApiError ? e : new ApiError(0, 'ERROR', e instanceof Error ? e.message : String(e));
  return h(
    'div.error',
    { role: 'alert' },
    h('div.error-title', null, h('span.error-code', null, err.code), err.message),
    err.hint ? h('div.error-hint', null, 'Hint: ', err.hint) : null,
  );
}

export function pageHeader(title: string | Node, ...extra: Child[]): HTMLElement {
  return h('div.page-head', null, h('h1', null, title), ...extra);
}

export function card(title: string | Node | null, ...body: Child[]): HTMLElement {
  return h('section.card', null, title ? h('h2', null, title) : null, ...body);
}

export function kvTable(rows: Array<[string, Node | string | number | null | undefined]>): HTMLElement {
  return h(
    'table.kv',
    null,
    h(
      'tbody',
      null,
      rows.filter((r) => r[1] !== undefined).map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v === null ? h('span.muted', null, '—') : v))),
    ),
  );
}

export function empty(text: string, ...more: Array<Node | string>): HTMLElement {
  return h('div.empty', null, text, ...more);
}
