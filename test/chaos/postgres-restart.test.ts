/**
 * Chaos: PostgreSQL restarts mid-load. While it is down every function
 * answers 5xx (transient, so retried), the Broker retries its deliveries,
 * clients retry with the same Idempotency-Key, and once it is back every
 * order ends once.
 */
import { describe, expect, it } from 'vitest';
import { brokerSummary, clientSummary, printReport, useChaosStack } from './harness.js';
import { expectSound, settleAndCheck, startWorkload } from './journeys.js';

describe('chaos: PostgreSQL restart', () => {
  const chaosStack = useChaosStack();

  it('the database restarts mid-load: 5xx meanwhile, retried, and every order still ends', async () => {
    const chaos = chaosStack();
    const { stack, client, tally } = chaos;
    const { workload, load, reachedShare } = await startWorkload(client);
    await reachedShare(1 / 4);
    const before = { broker: stack.broker.stats(), client: { ...client.stats } };
    const restartStarted = Date.now();
    await stack.postgres!.restart();
    const restartMs = Date.now() - restartStarted;
    const placed = await load.done;
    const verdict = await settleAndCheck(chaos, placed);

    const stats = stack.broker.stats();
    const retriedDeliveries = stats.retried! - before.broker.retried!;
    const client5xx = client.stats.retried5xx - before.client.retried5xx;
    const clientNoAnswer = client.stats.retriedNetwork - before.client.retriedNetwork;
    const processes = stack.processes();
    printReport('postgres restart', {
      injected: `PostgreSQL stop+start (${restartMs} ms) after ${before.client.requests} client requests`,
      outcome: verdict.outcome,
      deliveries: tally.attempts,
      duplicatesAbsorbed: chaos.duplicatesAbsorbed(),
      lost: verdict.lost,
      invariants: verdict.invariants,
      details: [
        `since the restart: deliveries retried=${retriedDeliveries}, client 5xx retried=${client5xx}, client no-answer retried=${clientNoAnswer}; ` +
          `function restarts: ${processes.map((p) => `${p.name}=${p.restarts}`).join(' ')}`,
        `settled ${verdict.settlement.ms} ms after the load`,
        brokerSummary(stats),
        clientSummary(client.stats),
      ],
    });

    expectSound(verdict, workload);
    // The outage was felt, and ridden out by retries.
    expect(retriedDeliveries + client5xx).toBeGreaterThan(0);
    // A database outage is transient: no function process died of it.
    expect(processes.filter((p) => p.restarts > 0).map((p) => p.name)).toEqual([]);
  });
});
