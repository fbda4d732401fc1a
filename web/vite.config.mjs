// Vite config for the web UI: root web/, output web/dist (served by `strata serve`).
// `npm run dev:web` proxies /api to a `strata serve` on STRATA_API (default http://127.0.0.1:8080).
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // cytoscape + dagre are one chunk; ELK (large) is loaded only for large graphs.
    chunkSizeWarningLimit: 2500,
  },
  server: {
    proxy: { '/api': process.env.STRATA_API ?? 'http://127.0.0.1:8080' },
  },
});
