// Bundles the entry points into dist/ with esbuild (fast enough to run on
// every start); type checking is `npm run typecheck`. Dependencies stay in
// node_modules.
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const entryPoints = {
  functions: 'functions/index.ts',
  migrate: 'scripts/migrate.ts',
};
if (existsSync('local/main.ts')) {
  entryPoints.local = 'local/main.ts';
  entryPoints['child-guard'] = 'local/child-guard.ts';
}

await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  // Each function's code in its own chunk: a process loads only its target.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  target: 'node24',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  banner: { js: "import { createRequire as __ordersagaRequire } from 'node:module'; const require = __ordersagaRequire(import.meta.url);" },
});
