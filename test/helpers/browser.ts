/**
 * Browser tests: headless Chromium (Debian `chromium`, driven by playwright-core) against a real
 * `strata serve` started with the CLI on a free loopback port. Screenshots go to test-artifacts/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BIN, ROOT } from './cli.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts');
export const WEB_DIST = join(ROOT, 'web', 'dist', 'index.html');

/** Why browser tests cannot run here, or null when they can. */
export function browserSkipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (!existsSync(WEB_DIST)) return 'the web UI is not built (npm run build:web)';
  return null;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

export interface Serve {
  url: string;
  proc: ChildProcess;
  output(): string;
  close(): Promise<void>;
}

/** `strata serve --port 0` in `cwd`; resolves with the URL it prints. */
export function serve(cwd: string, args: string[] = []): Promise<Serve> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const timer = setTimeout(() => fail(new Error(`strata serve did not start within 20 s:\n${out}`)), 20_000);
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(e);
    };
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({
          url: m[1]!.replace(/\/$/, ''),
          proc,
          output: () => out,
          close: () =>
            new Promise<void>((r) => {
              if (proc.exitCode !== null || proc.signalCode !== null) return r();
              const k = setTimeout(() => proc.kill('SIGKILL'), 5000);
              proc.once('exit', () => {
                clearTimeout(k);
                r();
              });
              proc.kill('SIGTERM');
            }),
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('error', fail);
    proc.on('exit', (code) => fail(new Error(`strata serve exited with ${code}:\n${out}`)));
  });
}

/** A page that records uncaught errors and console errors (for a final "no errors" check). */
export async function newPage(browser: Browser, opts: { width?: number; height?: number } = {}): Promise<{ page: Page; errors: string[]; logs: string[] }> {
  // Reduced motion: the UI then moves the graph without animations, so clicks land where nodes are.
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 }, reducedMotion: 'reduce' });
  const errors: string[] = [];
  const logs: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    logs.push(`${m.type()}: ${m.text()}`);
    // A 404 for an optional endpoint (web/API-REQUESTS.md) is expected while it does not exist.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return { page, errors, logs };
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** Wait until the lineage view finished loading (graph laid out and drawn, or an error shown). */
export async function lineageReady(page: Page, timeout = 30_000): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { __strataLineage?: { ready: boolean } }).__strataLineage?.ready === true, undefined, { timeout });
}

export interface GraphNode {
  id: string;
  type: string;
  path?: string;
  stage?: string;
  runId?: string;
  classes: string[];
}

/** The nodes and edges cytoscape currently shows. */
export async function graph(page: Page): Promise<{ nodes: GraphNode[]; edges: Array<{ source: string; target: string; kind: string }> }> {
  return page.evaluate(() => {
    const cy = (window as unknown as { __strataCy: any }).__strataCy;
    return {
      nodes: cy.nodes().map((n: any) => ({ id: n.id(), type: n.data('type'), path: n.data('path'), stage: n.data('stage'), runId: n.data('runId'), classes: n.classes() })),
      edges: cy.edges().map((e: any) => ({ source: e.data('source'), target: e.data('target'), kind: e.data('kind') })),
    };
  });
}

/** Click a graph node with the mouse (at its rendered position inside the canvas). */
/** When clickNode last clicked on each page: cytoscape turns two clicks within its
 * multiClickDebounceTime (250 ms), on any nodes, into a dbltap, which expands a node. */
const lastClick = new WeakMap<Page, number>();
const DBLTAP_MS = 250;

export async function clickNode(page: Page, id: string, opts: { double?: boolean } = {}): Promise<void> {
  const since = Date.now() - (lastClick.get(page) ?? 0);
  if (since <= DBLTAP_MS + 100) await new Promise((r) => setTimeout(r, DBLTAP_MS + 100 - since));
  const pos = await page.evaluate((nid) => {
    const cy = (window as unknown as { __strataCy: any }).__strataCy;
    const n = cy.$id(nid);
    if (n.empty()) throw new Error(`no node ${nid} in the graph`);
    // Centre it (clear of the legend) at a zoom where it is big enough to hit.
    if (cy.zoom() < 0.6) cy.zoom(0.8);
    cy.center(n);
    const r = n.renderedPosition();
    const box = cy.container().getBoundingClientRect();
    return { x: box.left + r.x, y: box.top + r.y };
  }, id);
  if (opts.double) await page.mouse.dblclick(pos.x, pos.y);
  else await page.mouse.click(pos.x, pos.y);
  lastClick.set(page, Date.now());
}
