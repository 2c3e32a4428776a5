/**
 * Runs the saga without a Broker: every function served for real, and
 * each event handed to the functions that consume it (per
 * functions/registry.ts), their replies and what they published to K_SINK
 * handed on in turn until the saga is quiet.
 */
import type { CloudEvent } from 'cloudevents';
import { nameOf } from '../events/index.js';
import { FUNCTIONS, SAGA_EDGES } from '../functions/registry.js';
import { deliver, serveDefinition, startSink, type ServedFunction, type Sink } from './harness.js';

export interface SagaStack {
  urls: Record<string, string>;
  /** Where functions publish (K_SINK). */
  sink: Sink;
  /** Delivers `event` and everything it leads to; returns every event seen. */
  drive(event: CloudEvent<unknown>, options?: { duplicates?: number }): Promise<CloudEvent<unknown>[]>;
  /** Drives every event the functions published to the sink so far. */
  drain(options?: { duplicates?: number }): Promise<CloudEvent<unknown>[]>;
  close(): Promise<void>;
}

export async function startSagaStack(databaseUrl: string, env: Record<string, string> = {}): Promise<SagaStack> {
  const sink = await startSink();
  const served: Record<string, ServedFunction> = {};
  for (const fn of FUNCTIONS) served[fn.name] = await serveDefinition(fn, { DATABASE_URL: databaseUrl, K_SINK: sink.url, ...env });
  const urls = Object.fromEntries(Object.entries(served).map(([k, v]) => [k, v.url]));

  async function drive(first: CloudEvent<unknown>, { duplicates = 1 } = {}): Promise<CloudEvent<unknown>[]> {
    const seen: CloudEvent<unknown>[] = [];
    let wave = [first];
    while (wave.length > 0) {
      seen.push(...wave);
      const replies = await Promise.all(
        wave.flatMap((event) => {
          const name = nameOf(event.type);
          return SAGA_EDGES.filter((edge) => edge.event === name).map(async (edge) => {
            const answers = await Promise.all(Array.from({ length: duplicates }, () => deliver(urls[edge.subscriber]!, event)));
            for (const a of answers) {
              if (a.status >= 300) throw new Error(`${edge.subscriber} answered ${a.status} to ${event.type}: ${a.text}`);
            }
            return answers[0]!.event;
          });
        }),
      );
      // What a delivery published to K_SINK (several events at once) flows on too.
      wave = [...replies.filter((e): e is CloudEvent<unknown> => e !== undefined), ...sink.events.splice(0)];
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
    },
  };
}
