/**
 * Chaos: the whole stand-in killed with SIGKILL mid-load (npm, its shell and
 * the stand-in, as `kill -9` of the terminal's process group would), then
 * `npm start` again on the same folder and ports. Nothing stops cleanly:
 * the Broker's deliveries in flight are lost, the functions end by their
 * lifeline, PostgreSQL is left running. The next start takes the dead
 * stand-in's lock over, stops the PostgreSQL it left, and starts on the
 * same data; clients retry with the same Idempotency-Key meanwhile and the
 * reconciler finishes what was lost. Every order still ends once.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../lib/db.js';
import { freePort } from '../../local/ports.js';
import { isAlive, stackDataDir, startStackProcess, type RunningStack } from '../stack-process.js';
import { createClient, logLines } from './harness.js';
import { clientSummary, printReport } from './report.js';
import { expectSound, judge, startWorkload } from './journeys.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('chaos: the stand-in killed', () => {
  it('kill -9 of the whole stand-in mid-load, then npm start again: every order still ends once, balances exact', async () => {
    const dataDir = stackDataDir();
    const gatewayPort = await freePort();
    let brokerPort = await freePort();
    while (brokerPort === gatewayPort) brokerPort = await freePort();
    // The same API and Broker addresses after the restart, so the clients' retries find the new stack.
    const env = {
      ORDERSAGA_DATA_DIR: dataDir,
      GATEWAY_PORT: String(gatewayPort),
      BROKER_PORT: String(brokerPort),
      PING_INTERVAL_SECONDS: '1',
      RECONCILE_AFTER_SECONDS: '2',
      // vitest's NODE_ENV=test would override the manifests' production setting.
      NODE_ENV: '',
    };
    const stacks: RunningStack[] = [];
    try {
      const first = await startStackProcess(env, 90_000, { keepData: true });
      stacks.push(first);
      const client = createClient(first.gatewayUrl, first.adminToken);
      const { workload, load, reachedShare } = await startWorkload(client);
      await reachedShare(1 / 3);

      const functions = first.processes.map((p) => p.pid);
      const postgres = first.postgresPid()!;
      const doneBefore = load.completed();
      const killedAt = Date.now();
      await first.kill();
      // The functions end by their lifeline; PostgreSQL, in its own group, is left running.
      for (let i = 0; i < 100 && functions.some(isAlive); i++) await delay(50);
      expect(functions.filter(isAlive), 'function processes outliving the stand-in').toEqual([]);
      const postgresLeft = isAlive(postgres);

      const second = await startStackProcess({ ...env, ADMIN_TOKEN: first.adminToken }, 90_000, { keepData: true });
      stacks.push(second);
      const downMs = Date.now() - killedAt;
      expect(second.gatewayUrl).toBe(first.gatewayUrl);
      expect(isAlive(postgres)).toBe(false);

      const placed = await load.done;
      const db = createDb({ url: second.databaseUrl, poolMax: 4, applicationName: 'chaos-test' });
      try {
        const verdict = await judge(
          {
            db,
            client,
            recentProblems: () => second.records().filter((r) => r.level === 'warn' || r.level === 'error').map((r) => `${String(r.level)} ${String(r.message)}`),
          },
          placed,
        );
        const logs = path.join(dataDir, 'logs');
        const secondLog = second.records();
        printReport('stand-in kill', {
          injected: `SIGKILL of npm start's process group after ${doneBefore} of ${workload.journeys.length} journeys had ended`,
          outcome: verdict.outcome,
          deliveries: [first, second].reduce((n, s) => n + s.records().filter((r) => r.message === 'delivery').length, 0),
          duplicatesAbsorbed: logLines(logs, '"message":"duplicate delivery"').length,
          lost: verdict.lost,
          invariants: verdict.invariants,
          details: [
            `down ${downMs} ms (kill to the next start's ready line); PostgreSQL left running: ${postgresLeft}, stopped by the next start: ${secondLog.some((r) => r.message === 'stopped the PostgreSQL a previous run left running')}`,
            `next start took the lock over: ${secondLog.some((r) => r.message === 'took over the lock of a stand-in that is gone')}; settled ${verdict.settlement.ms} ms after the load`,
            `reconciler: ${logLines(logs, '"message":"reconciled"').length} ticks with work`,
            clientSummary(client.stats),
          ],
        });
        expectSound(verdict, workload);
        expect(secondLog).toEqual(expect.arrayContaining([expect.objectContaining({ message: 'took over the lock of a stand-in that is gone', holderPid: first.pid })]));
        // The outage was felt by the clients, and ridden out by their retries.
        expect(client.stats.retriedNetwork + client.stats.retried5xx).toBeGreaterThan(0);
      } finally {
        await db.destroy();
      }
    } finally {
      for (const stack of stacks.reverse()) await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
