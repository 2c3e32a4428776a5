/**
 * `npm run test:chaos`: each scenario starts a whole local stack (embedded
 * PostgreSQL, every function process, the Broker, the gateway) and breaks
 * it, so files run one at a time in one forked worker.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 240_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    // A chaos run is too slow to repeat on failure, and a retry would hide flakiness.
    retry: 0,
  },
});
