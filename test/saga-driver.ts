/**
 * Runs the saga without a Broker: every function served for real, and each
 * event handed to the functions that consume it (per functions/registry.ts),
 * their replies handed on in turn until the saga is quiet.
 */
import type { CloudEvent } from 'cloudevents';
import type { Db } from '../lib/db.js';
import { createMailer } from '../lib/mailer.js';
import { nameOf } from '../events/index.js';
import { FUNCTIONS } from '../functions/registry.js';
import { createAccountFunction } from '../functions/create-account/index.js';
import { createDepositFunction } from '../functions/deposit/index.js';
import { createPlaceOrderFunction } from '../functions/place-order/index.js';
import { createOrderWaiter } from '../functions/place-order/waiter.js';
import { createChargeFunction } from '../functions/charge/index.js';
import { createReserveSlotFunction } from '../functions/reserve-slot/index.js';
import { createNotifyFunction } from '../functions/notify/index.js';
import { silentLogger } from '../lib/log.js';
import { TEST_ADMIN_TOKEN, deliver, serveFunction, startSink, testRuntime, type Served, type Sink } from './harness.js';

export interface SagaStack {
  urls: Record<string, string>;
  /** Where HTTP-facing functions publish (K_SINK). */
  sink: Sink;
  /** Delivers `event` and everything it leads to; returns every event seen. */
  drive(event: CloudEvent<unknown>, options?: { duplicates?: number }): Promise<CloudEvent<unknown>[]>;
  /** Drives every event the functions published to the sink so far. */
  drain(options?: { duplicates?: number }): Promise<CloudEvent<unknown>[]>;
  close(): Promise<void>;
}

export async function startSagaStack(db: Db, databaseUrl: string): Promise<SagaStack> {
  const sink = await startSink();
  const rt = (name: string) => testRuntime(db, name, sink.url);
  const waiter = createOrderWaiter(databaseUrl, silentLogger);
  const served: Record<string, Served> = {
    'create-account': await serveFunction(createAccountFunction(rt('create-account'))),
    deposit: await serveFunction(createDepositFunction(rt('deposit'))),
    'place-order': await serveFunction(createPlaceOrderFunction({ rt: rt('place-order'), waiter, reconcileAfterSeconds: 30 })),
    charge: await serveFunction(createChargeFunction(rt('charge'))),
    'reserve-slot': await serveFunction(createReserveSlotFunction(rt('reserve-slot'), TEST_ADMIN_TOKEN)),
    notify: await serveFunction(
      createNotifyFunction(rt('notify'), createMailer({ mode: 'dry-run', region: 'us-east-1', from: 'orders@ordersaga.dev' })),
    ),
  };
  const urls = Object.fromEntries(Object.entries(served).map(([k, v]) => [k, v.url]));

  async function drive(first: CloudEvent<unknown>, { duplicates = 1 } = {}): Promise<CloudEvent<unknown>[]> {
    const seen: CloudEvent<unknown>[] = [];
    let wave = [first];
    while (wave.length > 0) {
      seen.push(...wave);
      const replies = await Promise.all(
        wave.flatMap((event) => {
          const name = nameOf(event.type);
          return FUNCTIONS.filter((fn) => name !== undefined && (fn.consumes as readonly string[]).includes(name)).map(async (fn) => {
            const answers = await Promise.all(Array.from({ length: duplicates }, () => deliver(urls[fn.name]!, event)));
            for (const a of answers) {
              if (a.status >= 300) throw new Error(`${fn.name} answered ${a.status} to ${event.type}: ${a.text}`);
            }
            return answers[0]!.event;
          });
        }),
      );
      wave = replies.filter((e): e is CloudEvent<unknown> => e !== undefined);
    }
    return seen;
  }

  return {
    urls,
    sink,
    drive,
    async drain(options) {
      const pending = sink.events.splice(0);
      return (await Promise.all(pending.map((e) => drive(e, options)))).flat();
    },
    async close() {
      await Promise.all(Object.values(served).map((s) => s.close()));
      await sink.close();
      await waiter.close();
    },
  };
}
