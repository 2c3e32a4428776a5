// Runs only the check that fails on purpose, with the suite's global setup (the embedded PostgreSQL).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['test/exit-code/*.check.ts'], globalSetup: ['test/global-setup.ts'], pool: 'forks' },
});
