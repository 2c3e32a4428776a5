/**
 * A local stand-in for a Knative Eventing Broker (multi-tenant, channel-based
 * semantics), run in-process from the same Broker and Trigger manifests that
 * deploy to a cluster.
 *
 * The ingress accepts CloudEvents at `/<namespace>/<broker>` and answers 202
 * at once; every Trigger whose filter matches gets its own delivery, run
 * concurrently (bounded per Trigger), with Knative's retries, backoff,
 * timeouts, dead-letter sink and replies.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from 'cloudevents';
import type { Logger } from '../../lib/log.js';
import { readModel, type Destination } from '../../knative/model/index.js';
import { deliver, type BrokerObserver, type DispatchContext, type TriggerRoute } from './dispatcher.js';
import { BrokerConfigError, IngressError } from './errors.js';
import { EventFormatError, fromCloudEvent, validated, withExtensions, type BrokerEvent } from './events.js';
import { ARRIVAL_TIME, TTL, ingressTtl } from './extensions.js';
import { createIngress, type BrokerRoutes } from './ingress.js';
import { Semaphore } from './semaphore.js';
import { createSender } from './sender.js';

export { BrokerConfigError, IngressError } from './errors.js';
export type { BrokerObserver, DeliveryAttempt } from './dispatcher.js';
export type { Destination } from '../../knative/model/index.js';

/** How to build a Broker. */
export interface BrokerOptions {
  /** Parsed Kubernetes objects (plain JS from YAML): every Broker and Trigger document (other kinds are ignored). */
  manifests: readonly Record<string, unknown>[];
  /** Turns a Trigger subscriber / deadLetterSink Destination ({ref:{kind,name,namespace?,apiVersion}, uri?}) into an absolute URL; throws for an unknown ref. */
  resolve(destination: Destination, namespace: string): string;
  log: Logger;
  /** Max in-flight deliveries per Trigger (default 32). */
  concurrencyPerTrigger?: number;
  /** Chaos (off by default): deliver every event 2..N times and/or in shuffled order. */
  chaos?: { duplicates?: { min: number; max: number }; shuffle?: boolean };
  /** Namespace of Broker and Trigger documents that name none (default `default`, as in Kubernetes). */
  defaultNamespace?: string;
  /** Told of every accepted event and every delivery attempt. */
  observer?: BrokerObserver;
}

/** A running Broker stand-in. */
export interface Broker {
  /** node:http request listener serving the ingress at /<namespace>/<broker-name>. */
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Start listening on port (host 127.0.0.1 unless given); resolves with the bound port (0 = pick free). */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Publish an event into a broker as if POSTed to its ingress (used for PingSource events and replies).
   * @throws {IngressError} with the status the ingress would have answered (400, 404, 503).
   */
  publish(namespace: string, broker: string, event: CloudEvent<unknown>): Promise<void>;
  /** Stop accepting, wait for in-flight deliveries (including their retries) up to timeoutMs, then close. */
  drain(timeoutMs: number): Promise<void>;
  /** Counters for tests/ops: accepted, delivered, retried, deadLettered, dropped(ttl), inFlight, and more. */
  stats(): Record<string, number>;
  /** Resolves once no delivery is in flight (replies they caused included); the Broker keeps running. */
  settled(): Promise<void>;
}

const DEFAULT_CONCURRENCY = 32;
const MAX_EVENT_BYTES = 16 * 1024 * 1024;
/** The most a shuffled delivery is held back. */
const SHUFFLE_MAX_DELAY_MS = 10;

/**
 * Builds a Broker from manifests. Nothing listens until `listen`; `handle`
 * and `publish` work at once.
 * @throws {BrokerConfigError} for manifests Knative would refuse or the stand-in cannot run.
 */
export function createBroker(options: BrokerOptions): Broker {
  const { log } = options;
  const concurrency = options.concurrencyPerTrigger ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new BrokerConfigError(`concurrencyPerTrigger must be a positive integer, got ${concurrency}`);
  const duplicates = checkedDuplicates(options.chaos?.duplicates);
  const shuffle = options.chaos?.shuffle === true;
  const brokers = buildRoutes(options);

  const counters = { accepted: 0, delivered: 0, replied: 0, retried: 0, deadLettered: 0, dropped: 0, failed: 0, rejected: 0, inFlight: 0 };
  const sender = createSender(MAX_EVENT_BYTES);
  const abort = new AbortController();
  // Every delivery in flight listens for the Broker stopping: many at once is normal.
  setMaxListeners(0, abort.signal);
  const contexts = new Map<TriggerRoute, DispatchContext>();
  for (const broker of brokers.values()) {
    for (const trigger of broker.triggers) {
      contexts.set(trigger, {
        sender,
        log,
        observer: options.observer,
        counters,
        signal: abort.signal,
        semaphore: new Semaphore(concurrency),
        reply: (event, headers) => acceptReply(broker, event, headers),
        brokerUrl: () => brokerUrl(broker),
      });
    }
  }
  const brokerUrl = (broker: BrokerRoutes) => {
    const ref = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: broker.name, namespace: broker.namespace };
    try {
      return options.resolve({ ref }, broker.namespace);
    } catch {
      return `http://127.0.0.1:${(server?.address() as AddressInfo | null)?.port ?? 0}/${broker.namespace}/${broker.name}`;
    }
  };
  let draining = false;
  let idleWaiters: (() => void)[] = [];
  let server: http.Server | undefined;
  let drained: Promise<void> | undefined;

  const track = (run: () => Promise<void>, delayMs: number) => {
    counters.inFlight += 1;
    const start = () =>
      run()
        .catch((err: unknown) => log.error('delivery crashed', { error: (err as Error).message }))
        .finally(() => {
          counters.inFlight -= 1;
          if (counters.inFlight === 0) {
            const waiters = idleWaiters;
            idleWaiters = [];
            for (const wake of waiters) wake();
          }
        });
    if (delayMs > 0) setTimeout(start, delayMs);
    else void start();
  };

  /** The ingress's work once an event is valid: TTL, arrival time, fan-out to matching Triggers. */
  const accept = (broker: BrokerRoutes, event: BrokerEvent, headers: Record<string, string>, reply = false) => {
    const ttl = ingressTtl(event);
    if (ttl <= 0) {
      counters.dropped += 1;
      log.warn('dropped: TTL exhausted', { namespace: broker.namespace, broker: broker.name, type: event.attributes.type, id: event.attributes.id });
      throw new IngressError(400, `event ${String(event.attributes.id)} dropped: its ${TTL} ran out (a reply loop?)`);
    }
    const accepted = withExtensions(event, { [TTL]: ttl, [ARRIVAL_TIME]: new Date().toISOString() });
    counters.accepted += 1;
    options.observer?.accepted(accepted, { namespace: broker.namespace, broker: broker.name, reply });
    // Filters see the event as the broker filter does, after the TTL is taken off.
    const visible = withExtensions(accepted, { [TTL]: undefined });
    for (const trigger of broker.triggers) {
      if (trigger.filter(visible.attributes) === 'fail') continue;
      const copies = duplicates ? randomInt(duplicates.min, duplicates.max) : 1;
      for (let i = 0; i < copies; i++) {
        track(() => deliver(contexts.get(trigger)!, trigger, accepted, headers), shuffle ? Math.random() * SHUFFLE_MAX_DELAY_MS : 0);
      }
    }
  };

  // Replies keep flowing while a drain waits (they are part of the work in
  // flight), but not once it has given up. A reply the ingress refuses is
  // answered with its status, for the dispatcher to dead-letter the original.
  const acceptReply = (broker: BrokerRoutes, event: BrokerEvent, headers: Record<string, string>): IngressError | undefined => {
    if (abort.signal.aborted) return new IngressError(503, 'the Broker stopped');
    try {
      accept(broker, validated(event), headers, true);
    } catch (err) {
      if (err instanceof EventFormatError) return new IngressError(400, err.message);
      if (err instanceof IngressError) return err;
      throw err;
    }
    return undefined;
  };

  const handle = createIngress({
    brokers,
    accept,
    draining: () => draining,
    rejected: (status, reason, path) => {
      counters.rejected += 1;
      log.warn('ingress refused a request', { status, reason, path });
    },
    maxEventBytes: MAX_EVENT_BYTES,
  });

  const whenIdle = () => (counters.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)));

  log.info('broker configured', {
    ingress: [...brokers.values()].map((b) => `/${b.namespace}/${b.name}`),
    triggers: [...brokers.values()].reduce((n, b) => n + b.triggers.length, 0),
    ...(duplicates || shuffle ? { chaos: { duplicates, shuffle } } : {}),
  });

  return {
    handle,

    listen(port, host = '127.0.0.1') {
      if (server) return Promise.reject(new Error('the Broker is already listening'));
      const s = http.createServer(handle);
      server = s;
      return new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          resolve((s.address() as AddressInfo).port);
        });
      });
    },

    async publish(namespace, name, event) {
      let converted: BrokerEvent;
      try {
        converted = fromCloudEvent(event);
      } catch (err) {
        if (err instanceof EventFormatError) throw new IngressError(400, err.message);
        throw err;
      }
      const broker = brokers.get(`${namespace}/${name}`);
      if (!broker) throw new IngressError(404, `no Broker ${namespace}/${name}`);
      if (draining) throw new IngressError(503, 'the Broker is shutting down');
      accept(broker, converted, {});
    },

    drain(timeoutMs) {
      drained ??= (async () => {
        draining = true;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          whenIdle().then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), timeoutMs);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          log.warn('drain timed out: abandoning deliveries in flight', { inFlight: counters.inFlight, timeoutMs });
          abort.abort();
          await whenIdle();
        }
        if (server) {
          const s = server;
          await new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          });
        }
        sender.close();
      })();
      return drained;
    },

    stats: () => ({ ...counters }),

    settled: whenIdle,
  };
}

/**
 * The Brokers and Triggers of the manifests, read by the Knative model and resolved to URLs.
 * @throws {BrokerConfigError} for what Knative would refuse; what it would silently skip is logged.
 */
function buildRoutes(options: BrokerOptions): Map<string, BrokerRoutes> {
  const model = readModel(options.manifests, { defaultNamespace: options.defaultNamespace ?? 'default' });
  const refused = model.problems.filter((p) => !p.noop);
  if (refused.length > 0) throw new BrokerConfigError(refused.map((p) => `${p.resource}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n'));
  for (const p of model.problems) options.log.warn('ignored by Knative', { resource: p.resource, path: p.path, reason: p.message });
  const brokers = new Map<string, BrokerRoutes>(model.brokers.map((b) => [`${b.namespace}/${b.name}`, { namespace: b.namespace, name: b.name, triggers: [] }]));
  for (const trigger of model.triggers) {
    const owner = `Trigger ${trigger.namespace}/${trigger.name}`;
    const resolve = (destination: Destination, field: string) => {
      try {
        const url = options.resolve(destination, trigger.namespace);
        new URL(url);
        return url;
      } catch (err) {
        throw new BrokerConfigError(`${owner}: ${field} does not resolve: ${(err as Error).message}`);
      }
    };
    const { deadLetterSink } = trigger.delivery;
    brokers.get(trigger.broker)!.triggers.push({
      ...trigger,
      subscriber: resolve(trigger.subscriber, 'spec.subscriber'),
      deadLetterSink: deadLetterSink && resolve(deadLetterSink, 'spec.delivery.deadLetterSink'),
    });
  }
  return brokers;
}

function checkedDuplicates(duplicates: { min: number; max: number } | undefined): { min: number; max: number } | undefined {
  if (!duplicates) return undefined;
  const { min, max } = duplicates;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new BrokerConfigError(`chaos.duplicates must be integers with 1 ≤ min ≤ max, got ${JSON.stringify(duplicates)}`);
  }
  return { min, max };
}

/** A uniform integer in [min, max]. */
function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}
