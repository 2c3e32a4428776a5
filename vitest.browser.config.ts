/**
 * `npm run test:browser`: the console in Debian's Chromium, driven by
 * playwright-core against a whole local stack. One file, one worker: the
 * stack and the browser are heavy, and the steps build on each other.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.browser.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    retry: 0,
  },
});
