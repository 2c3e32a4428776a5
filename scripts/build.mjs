// Bundles the entry points into dist/ with esbuild (fast enough to run on
// every start); type checking is `npm run typecheck`. Dependencies stay in
// node_modules.
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const entryPoints = {
  functions: 'functions/index.ts',
  migrate: 'scripts/migrate.ts',
};
if (existsSync('local/main.ts')) entryPoints.local = 'local/main.ts';

await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  banner: { js: "import { createRequire as __ordersagaRequire } from 'node:module'; const require = __ordersagaRequire(import.meta.url);" },
});
