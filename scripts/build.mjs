// Bundles the entry points into dist/ with esbuild (fast enough to run on
// every start); type checking is `npm run typecheck`. Dependencies stay in
// node_modules. Then the console's page, with Vite.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const entryPoints = {
  functions: 'functions/index.ts',
  migrate: 'scripts/migrate.ts',
  // Preloaded by every function process (`node --import dist/tracing.js`).
  tracing: 'lib/tracing/preload.ts',
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

// The console's page, built by Vite into dist/console/ (see
// console/web/vite.config.ts), only when what it is built from changed: a
// hash of those files is kept beside the output, so `npm start` stays fast.
if (existsSync('console/web/index.html')) {
  const inputs = ['console/web', 'console/server/api-types.ts', 'console/server/trace-fixture.ts', 'events/asyncapi.yaml', 'package-lock.json'];
  const hash = createHash('sha256');
  const add = (file) => {
    if (statSync(file).isDirectory()) {
      for (const name of readdirSync(file).sort()) if (!name.endsWith('.test.ts')) add(path.join(file, name));
      return;
    }
    hash.update(file).update('\0').update(readFileSync(file)).update('\0');
  };
  for (const input of inputs) add(input);
  const digest = hash.digest('hex');
  const stamp = 'dist/console/.inputs-sha256';
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== digest) {
    const { build: vite } = await import('vite');
    await vite({ configFile: 'console/web/vite.config.ts' });
    writeFileSync(stamp, digest);
  }
}
