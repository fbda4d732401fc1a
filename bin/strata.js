#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by `npm install` via the prepare script).
if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  // Answer without loading the CLI at all.
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`strata ${pkg.version}\n`);
} else {
  import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((e) => {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli/main.js')) {
      process.stderr.write('strata: not built yet; run `npm install` (or `npm run build`) in the strata folder\n');
    } else {
      process.stderr.write(`strata: ${e && e.stack ? e.stack : e}\n`);
    }
    process.exit(1);
  });
}
