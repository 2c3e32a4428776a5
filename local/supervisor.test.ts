import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/log.js';
import { freePort } from './ports.js';
import { createSupervisor, type ProcessSpec } from './supervisor.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-supervisor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A process running `script` with Node, its port in PORT. */
async function spec(name: string, script: string): Promise<ProcessSpec> {
  const port = await freePort();
  return {
    name,
    command: process.execPath,
    args: ['-e', script],
    env: { PORT: String(port), PATH: process.env.PATH ?? '' },
    port,
    logFile: path.join(dir, `${name}.log`),
  };
}

const SERVE_HEALTH = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')`;

describe('the supervisor', () => {
  it('starts every process, restarts one that dies, and stops them all', async () => {
    const ok = await spec('healthy', SERVE_HEALTH);
    const supervisor = createSupervisor([ok], silentLogger);
    try {
      await supervisor.start(10_000);
      const [first] = supervisor.state();
      expect(first!.pid).toBeGreaterThan(0);
      process.kill(first!.pid!, 'SIGKILL');
      for (let i = 0; i < 100 && supervisor.state()[0]!.restarts === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await supervisor.waitReady('healthy', 10_000);
      const [second] = supervisor.state();
      expect(second!.restarts).toBe(1);
      expect(second!.pid).not.toBe(first!.pid);
    } finally {
      await supervisor.stop();
    }
    expect(supervisor.state()[0]!.pid).toBeUndefined();
  });

  it('gives up at once on a process that dies before it is ever ready, and shows the end of its log', async () => {
    const broken = await spec('broken', `console.error('DB_POOL_MAX="zero": must be an integer'); process.exit(1)`);
    const supervisor = createSupervisor([broken], silentLogger);
    const started = Date.now();
    try {
      const failure = await supervisor.start(20_000).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(failure?.message).toMatch(/broken exited \d+ times before it was ready/);
      expect(failure?.message).toContain('DB_POOL_MAX="zero": must be an integer');
      // Three exits with 100 and 200 ms pauses, far from the 20 s timeout.
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await supervisor.stop();
    }
    expect(readFileSync(broken.logFile, 'utf8')).toContain('must be an integer');
  });
});
