/**
 * Chaos: PostgreSQL goes down mid-load, twice over: stopped and started by
 * the test, and killed with SIGKILL (as the OOM killer would), when the
 * stand-in itself must notice and restart it. While it is down every
 * function answers 5xx (transient, so retried), the Broker retries its
 * deliveries, clients retry with the same Idempotency-Key, the functions'
 * pools reconnect, and once it is back every order ends once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useChaosStack, type ChaosStack } from './harness.js';
import { brokerSummary, clientSummary, printReport, verdictFacts } from './report.js';
import { expectSound, underLoad } from './journeys.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs the workload, strikes the database once a quarter of it has ended,
 * and checks and prints the end. `strike` says what it did.
 */
async function databaseFault(chaos: ChaosStack, scenario: string, strike: () => Promise<string>): Promise<void> {
  const { stack, client } = chaos;
  const { workload, verdict, struck } = await underLoad(chaos, async (reachedShare) => {
    await reachedShare(1 / 4);
    const before = { broker: stack.broker.stats(), client: { ...client.stats } };
    return { before, injected: await strike() };
  });
  const { before, injected } = struck;

  const stats = stack.broker.stats();
  const retriedDeliveries = stats.retried! - before.broker.retried!;
  const client5xx = client.stats.retried5xx - before.client.retried5xx;
  const clientNoAnswer = client.stats.retriedNetwork - before.client.retriedNetwork;
  const processes = stack.processes();
  printReport(scenario, {
    injected: `${injected} after ${before.client.requests} client requests`,
    ...verdictFacts(chaos, verdict),
    details: [
      `since the fault: deliveries retried=${retriedDeliveries}, client 5xx retried=${client5xx}, client no-answer retried=${clientNoAnswer}; ` +
        `function restarts: ${processes.map((p) => `${p.name}=${p.restarts}`).join(' ')}`,
      `settled ${verdict.settlement.ms} ms after the load`,
      brokerSummary(stats),
      clientSummary(client.stats),
    ],
  });

  expectSound(verdict, workload);
  // The outage was felt, and ridden out by retries.
  expect(retriedDeliveries + client5xx).toBeGreaterThan(0);
  // A database outage is transient: no function process died of it (if one did, its log says why).
  const died = processes.filter((p) => p.restarts > 0).map((p) => p.name);
  const why = died.map((name) => `${name}.log ends:\n${tailOf(path.join(stack.logsDir, `${name}.log`), 30)}`).join('\n');
  expect(died, why).toEqual([]);
}

describe('chaos: PostgreSQL restart', () => {
  const chaosStack = useChaosStack();

  it('the database restarts mid-load: 5xx meanwhile, retried, and every order still ends', async () => {
    const chaos = chaosStack();
    await databaseFault(chaos, 'postgres restart', async () => {
      const started = Date.now();
      await chaos.stack.postgres!.restart();
      return `PostgreSQL stop+start (${Date.now() - started} ms)`;
    });
  });
});

describe('chaos: PostgreSQL crash', () => {
  const chaosStack = useChaosStack();

  it('kill -9 of the database mid-load: the stand-in restarts it by itself, retries cover the gap, and every order still ends', async () => {
    const chaos = chaosStack();
    const server = chaos.stack.postgres!;
    let killed = 0;
    await databaseFault(chaos, 'postgres crash', async () => {
      killed = server.pid!;
      process.kill(killed, 'SIGKILL');
      const struck = Date.now();
      // The test only watches: the stand-in notices the exit and starts a new server.
      while (Date.now() - struck < 15_000 && [undefined, killed].includes(server.pid)) await delay(20);
      const backMs = Date.now() - struck;
      expect(server.pid, 'PostgreSQL back within 15 s').not.toBe(undefined);
      return `SIGKILL of PostgreSQL pid ${killed}, back as pid ${server.pid} ${backMs} ms later`;
    });
    expect(server.pid).not.toBe(killed);
    expect(readFileSync(server.logFile, 'utf8')).toMatch(/not properly shut down; automatic recovery in progress/);
  });
});

/** The last lines of a log file. */
function tailOf(file: string, lines: number): string {
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
