/**
 * Chaos: the Broker restarts mid-load and abandons every delivery in flight
 * (as when a broker pod dies): those events and their replies are lost.
 * The reconciler (PingSource every second, orders stalled for 2 s) finds
 * the orders they belonged to and drives each one to its end.
 */
import { describe, expect, it } from 'vitest';
import { useChaosStack } from './harness.js';
import { brokerSummary, clientSummary, printReport, verdictFacts } from './report.js';
import { expectSound, underLoad } from './journeys.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('chaos: Broker restart', () => {
  const chaosStack = useChaosStack();

  it('the Broker restarts and loses its in-flight deliveries: the reconciler still ends every order', async () => {
    const chaos = chaosStack();
    const { stack, client } = chaos;
    const { workload, verdict, struck } = await underLoad(chaos, async (reachedShare) => {
      await reachedShare(1 / 4);
      // Strike while deliveries are in flight, so some are surely abandoned (bounded wait).
      for (let i = 0; i < 500 && stack.broker.stats().inFlight! < 2; i++) await delay(5);
      const old = stack.broker;
      const before = old.stats();
      await stack.restartBroker();
      return { before, after: old.stats() };
    });
    const { before, after } = struck;
    const abandoned = after.failed! - before.failed!;

    const work = chaos.reconcilerWork();
    printReport('broker restart', {
      injected: `Broker restart with ${before.inFlight} deliveries in flight`,
      ...verdictFacts(chaos, verdict),
      details: [
        `abandoned deliveries and dropped replies=${abandoned} (old Broker: in flight ${before.inFlight} → failed ${after.failed}); settled ${verdict.settlement.ms} ms after the load`,
        `old ${brokerSummary(after)}`,
        `new ${brokerSummary(stack.broker.stats())}`,
        clientSummary(client.stats),
        `reconciler: ${work.ticks} ticks with work, republished order.placed of ${work.stalled} stalled orders and ${work.unpublished} unpublished outbox events`,
      ],
    });

    expect(abandoned, 'the restart lost deliveries in flight').toBeGreaterThan(0);
    expectSound(verdict, workload);
  });
});
