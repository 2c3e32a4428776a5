/**
 * Builds the console's page into dist/console/ (run by scripts/build.mjs,
 * so `npm run build` and `npm start` produce it). Relative asset URLs let
 * the same build serve at `/` locally and under `/console` in a cluster.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { parse } from 'yaml';

/** `import doc from '….yaml'`: the document as data, parsed at build time (the page carries no YAML parser). */
const yamlAsData: Plugin = {
  name: 'ordersaga-yaml-as-data',
  transform(code, id) {
    if (!id.endsWith('.yaml')) return undefined;
    return { code: `export default ${JSON.stringify(parse(code))};`, map: null };
  },
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [yamlAsData],
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The page is small; one script and one stylesheet.
    assetsInlineLimit: 0,
  },
});
