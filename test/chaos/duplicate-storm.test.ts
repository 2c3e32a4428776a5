/**
 * Chaos: a duplicate storm. The Broker delivers every event 2 to 5 times, in
 * shuffled order (SPEC §4: delivery is at-least-once), and every journey
 * still ends exactly once: one outcome, one charge at most, one letter, and
 * balances to the cent.
 */
import { describe, expect, it } from 'vitest';
import { useChaosStack } from './harness.js';
import { brokerSummary, clientSummary, printReport } from './report.js';
import { expectSound, prepareWorkload, runJourneys, settleAndCheck } from './journeys.js';

const DUPLICATES = { min: 2, max: 5 };

/**
 * Every copy of an event that gets a reply makes the Broker publish the reply
 * again, and each of those is copied in turn: with 3.5 copies on average an
 * order's saga costs 3.5 + 3.5² + … deliveries (about 200 for a confirmed
 * order, 730 for an unaffordable one). 40 journeys keep that to about 8,000
 * deliveries, half a minute on two cores.
 */
const SIZES = { roomyFunded: 14, roomyShort: 4, scarceBuyers: 20, scarceCapacity: 8, unknownSlot: 2 };

/**
 * 2 s, as in the other scenarios: the storm's backlog looks stalled to the
 * reconciler, which drives each such order on, and the order's wait doubles
 * after every drive, so the republications stay a few per order and the
 * backlog drains instead of growing.
 */
const RECONCILE_AFTER_SECONDS = Number(process.env.CHAOS_STORM_RECONCILE_AFTER_SECONDS ?? 2);

describe('chaos: duplicate storm', () => {
  const chaosStack = useChaosStack({ chaos: { duplicates: DUPLICATES, shuffle: true }, reconcileAfterSeconds: RECONCILE_AFTER_SECONDS });

  it('every event delivered 2-5 times, shuffled: each journey ends once, balances exact, one letter per order', async () => {
    const chaos = chaosStack();
    const { stack, client, tally } = chaos;
    const workload = await prepareWorkload(client, SIZES);

    const placed = await runJourneys(client, workload.journeys, { concurrency: 4 }).done;
    const verdict = await settleAndCheck(chaos, placed);

    const stats = stack.broker.stats();
    const absorbed = chaos.duplicatesAbsorbed();
    printReport('duplicate storm', {
      injected: `duplicates=${DUPLICATES.min}-${DUPLICATES.max} shuffle=on`,
      outcome: verdict.outcome,
      deliveries: tally.attempts,
      duplicatesAbsorbed: absorbed,
      lost: verdict.lost,
      invariants: verdict.invariants,
      details: [
        `distinct (trigger, event) deliveries=${tally.reached.size}, each delivered ${(stats.delivered! / Math.max(1, tally.reached.size)).toFixed(1)}× on average; ` +
          `settled ${verdict.settlement.ms} ms after the load (reconciler after ${RECONCILE_AFTER_SECONDS} s)`,
        brokerSummary(stats),
        clientSummary(client.stats),
      ],
    });

    expectSound(verdict, workload);
    expect(verdict.brokerQuiet, 'the Broker emptied its pipeline').toBe(true);
    // The storm happened: every event reached its subscriber at least twice...
    expect(stats.delivered).toBeGreaterThanOrEqual(2 * tally.reached.size);
    // ...and the functions recognised the copies as duplicates.
    expect(absorbed).toBeGreaterThanOrEqual(tally.reached.size);
  });
});
