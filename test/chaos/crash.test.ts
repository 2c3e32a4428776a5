/**
 * Chaos: function processes killed with SIGKILL mid-load (a pod dying
 * without a goodbye). `charge` dies holding payments in flight, then
 * `place-order` dies holding orders and held `Prefer: wait` requests. The
 * supervisor restarts them, the Broker retries what got no answer, clients
 * retry with the same Idempotency-Key, and every order still ends once.
 */
import { describe, expect, it } from 'vitest';
import { crashFunction, useChaosStack, type Crash } from './harness.js';
import { brokerSummary, clientSummary, printReport, verdictFacts } from './report.js';
import { expectSound, underLoad } from './journeys.js';

describe('chaos: crash', () => {
  const chaosStack = useChaosStack();

  it('kill -9 of charge, then of place-order, mid-load: every order still ends, balances exact', async () => {
    const chaos = chaosStack();
    const { stack, client } = chaos;
    const { workload, verdict, struck: crashes } = await underLoad(chaos, async (reachedShare): Promise<Crash[]> => {
      await reachedShare(1 / 5);
      const charge = await crashFunction(stack, 'charge');
      await reachedShare(1 / 2);
      return [charge, await crashFunction(stack, 'place-order')];
    });

    const processes = stack.processes();
    const restartsOf = (name: string) => processes.find((p) => p.name === name)?.restarts ?? 0;
    printReport('crash', {
      injected: `SIGKILL ${crashes.map((c) => c.name).join(', ')}`,
      ...verdictFacts(chaos, verdict),
      details: [
        `kills=${crashes.length} restarts: ${processes.map((p) => `${p.name}=${p.restarts}`).join(' ')}`,
        ...crashes.map((c) => `${c.name}: pid ${c.killedPid} killed, pid ${c.newPid} healthy ${c.downMs} ms later`),
        `settled ${verdict.settlement.ms} ms after the load`,
        brokerSummary(stack.broker.stats()),
        clientSummary(client.stats),
      ],
    });

    expectSound(verdict, workload);
    expect(restartsOf('charge')).toBeGreaterThanOrEqual(1);
    expect(restartsOf('place-order')).toBeGreaterThanOrEqual(1);
    // Only what was killed restarted.
    expect(processes.filter((p) => p.restarts > 0).map((p) => p.name).sort()).toEqual(['charge', 'place-order']);
  });
});
