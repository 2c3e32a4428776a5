/**
 * A local stand-in for a Knative Eventing Broker (multi-tenant, channel-based
 * semantics), run in-process from the same Broker and Trigger manifests that
 * deploy to a cluster, read by the Knative model (`knative/model`).
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
import { brokerTracing, type BrokerTracing } from '../../lib/tracing/broker.js';
import { admits, audienceOf, CesqlNonBooleanResultError, destinationAudience, isKind, nameOf, namespaceOf, oidcSubjectOf, policiesFor, readModel } from '../../knative/model/index.js';
import type { Destination, EventPolicyModel, Manifest } from '../../knative/model/index.js';
import { createSender, deliver, semaphore, type BrokerObserver, type DispatchContext, type TriggerRoute } from './dispatcher.js';
import { ARRIVAL_TIME, BrokerConfigError, decodeMessage, fromCloudEvent, IngressError, ingressTtl, passThroughHeaders, TTL, validated, withExtensions } from './events.js';
import type { BrokerEvent } from './events.js';

export { BrokerConfigError, IngressError } from './events.js';
export type { BrokerObserver, DeliveryAttempt } from './dispatcher.js';

/** How to build a Broker. */
export interface BrokerOptions {
  /** Parsed Kubernetes documents; the Brokers and Triggers among them are run, all are checked. */
  manifests: readonly Record<string, unknown>[];
  /** Turns a subscriber or dead-letter sink Destination into an absolute URL; throws for an unknown ref. */
  resolve(destination: Destination, namespace: string): string;
  log: Logger;
  /** Max in-flight deliveries per Trigger (default 32). */
  concurrencyPerTrigger?: number;
  /** Chaos (off by default): deliver every event 2..N times and/or in shuffled order. */
  chaos?: { duplicates?: { min: number; max: number }; shuffle?: boolean };
  /** Namespace of documents that name none (default `default`, as in Kubernetes). */
  defaultNamespace?: string;
  /** Told of every accepted event and every delivery attempt. */
  observer?: BrokerObserver;
  /** Sender authentication (`authentication-oidc` enabled): the issuer whose tokens the ingress takes and deliveries carry. */
  oidc?: BrokerOidc;
  /** Knative's data-plane spans (no-op tracers by default). */
  tracing?: BrokerTracing;
}

/** The token issuer the Broker trusts and signs with. */
export interface BrokerOidc {
  /** The subject of a token for `audience`. @throws for a token that is not the issuer's, not for `audience`, or expired */
  verify(token: string, audience: string): Promise<string>;
  /** A token of `subject` for `audience`. */
  token(subject: string, audience: string): Promise<string>;
}

/** A running Broker stand-in. */
export interface Broker {
  /** node:http request listener serving the ingress at /<namespace>/<broker-name>. */
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Start listening on port (host 127.0.0.1 unless given); resolves with the bound port (0 = pick free). */
  listen(port: number, host?: string): Promise<number>;
  /** Publish an event into a broker as if POSTed to its ingress. @throws {IngressError} with the status the ingress would answer. */
  publish(namespace: string, broker: string, event: CloudEvent<unknown>): Promise<void>;
  /** Stop accepting, wait for in-flight deliveries (including their retries) up to timeoutMs, then close. */
  drain(timeoutMs: number): Promise<void>;
  /** Counters for tests/ops: accepted, delivered, retried, deadLettered, dropped(ttl), inFlight, and more. */
  stats(): Record<string, number>;
  /** Resolves once no delivery is in flight (replies they caused included); the Broker keeps running. */
  settled(): Promise<void>;
}

/** A Broker and the Triggers subscribed to it, in manifest order. */
interface BrokerRoutes {
  namespace: string;
  name: string;
  triggers: TriggerRoute[];
  /** With sender authentication on, who may send to it: undefined to go on, else the refusal. */
  checkSender?: (authorization: string | undefined, event: BrokerEvent) => Promise<IngressError | undefined>;
}

const MAX_EVENT_BYTES = 16 * 1024 * 1024;
/** The most a shuffled delivery is held back. */
const SHUFFLE_MAX_DELAY_MS = 10;

/**
 * Builds a Broker from manifests. Nothing listens until `listen`; `handle` and `publish` work at once.
 * @throws {BrokerConfigError} for manifests Knative would refuse or the stand-in cannot run.
 */
export function createBroker(options: BrokerOptions): Broker {
  const { log, chaos = {}, oidc } = options;
  const concurrency = options.concurrencyPerTrigger ?? 32;
  const duplicates = chaos.duplicates;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new BrokerConfigError(`concurrencyPerTrigger must be a positive integer, got ${concurrency}`);
  if (duplicates && !(Number.isInteger(duplicates.min) && Number.isInteger(duplicates.max) && duplicates.min >= 1 && duplicates.max >= duplicates.min)) {
    throw new BrokerConfigError(`chaos.duplicates must be integers with 1 ≤ min ≤ max, got ${JSON.stringify(duplicates)}`);
  }
  const brokers = buildRoutes(options);
  const counters = { accepted: 0, delivered: 0, replied: 0, retried: 0, deadLettered: 0, dropped: 0, failed: 0, rejected: 0, inFlight: 0 };
  const sender = createSender(MAX_EVENT_BYTES);
  const tracing = options.tracing ?? brokerTracing();
  const abort = new AbortController();
  // Every delivery in flight listens for the Broker stopping: many at once is normal.
  setMaxListeners(0, abort.signal);
  let [draining, server, drained] = [false, undefined as http.Server | undefined, undefined as Promise<void> | undefined];
  let idleWaiters: (() => void)[] = [];

  const authorization = oidc && (async (subject: string, audience: string) => `Bearer ${await oidc.token(subject, audience)}`);
  const contexts = new Map<TriggerRoute, DispatchContext>();
  for (const broker of brokers.values()) {
    const ref = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: broker.name, namespace: broker.namespace };
    const brokerUrl = () => {
      try {
        return options.resolve({ ref }, broker.namespace);
      } catch {
        return `http://127.0.0.1:${(server?.address() as AddressInfo | null)?.port ?? 0}/${broker.namespace}/${broker.name}`;
      }
    };
    // Replies keep flowing while a drain waits (they are part of the work in flight), but not once it
    // has given up. A reply the ingress refuses comes back as its refusal, for the original to be dead-lettered.
    const reply = (event: BrokerEvent, headers: Record<string, string>, carrier: Record<string, string>) => {
      if (abort.signal.aborted) return new IngressError(503, 'the Broker stopped');
      try {
        accept(broker, validated(event), headers, carrier, true);
      } catch (err) {
        if (err instanceof IngressError) return err;
        throw err;
      }
    };
    for (const trigger of broker.triggers) {
      contexts.set(trigger, { sender, log, observer: options.observer, tracing, counters, signal: abort.signal, acquire: semaphore(concurrency), reply, brokerUrl, authorization });
    }
  }

  const track = (run: () => Promise<void>, delayMs: number) => {
    counters.inFlight += 1;
    const start = () =>
      run()
        .catch((err: unknown) => log.error('delivery crashed', { error: (err as Error).message }))
        .finally(() => {
          if (--counters.inFlight > 0) return;
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const wake of waiters) wake();
        });
    if (delayMs > 0) setTimeout(start, delayMs);
    else void start();
  };

  /** The ingress's work once an event is valid: TTL, arrival time, fan-out to matching Triggers. */
  const accept = (broker: BrokerRoutes, event: BrokerEvent, headers: Record<string, string>, carrier: http.IncomingHttpHeaders, reply = false) => {
    const ttl = ingressTtl(event);
    if (ttl <= 0) {
      counters.dropped += 1;
      log.warn('dropped: TTL exhausted', { namespace: broker.namespace, broker: broker.name, type: event.attributes.type, id: event.attributes.id });
      throw new IngressError(400, `event ${String(event.attributes.id)} dropped: its ${TTL} ran out (a reply loop?)`);
    }
    const accepted = withExtensions(event, { [TTL]: ttl, [ARRIVAL_TIME]: new Date().toISOString() });
    counters.accepted += 1;
    options.observer?.accepted(accepted, { namespace: broker.namespace, broker: broker.name, reply });
    const traced = tracing.accepted(accepted.attributes, { namespace: broker.namespace, broker: broker.name }, carrier);
    // Filters see the event as the broker filter does, after the TTL is taken off.
    const visible = withExtensions(accepted, { [TTL]: undefined }).attributes;
    for (const trigger of broker.triggers) {
      let panic: string | undefined;
      try {
        if (trigger.filter(visible) === 'fail') continue;
      } catch (err) {
        // Knative's cesql filter panics on a result that is no Boolean: each delivery attempt then gets no answer.
        if (!(err instanceof CesqlNonBooleanResultError)) throw err;
        panic = err.message;
      }
      const copies = duplicates ? duplicates.min + Math.floor(Math.random() * (duplicates.max - duplicates.min + 1)) : 1;
      for (let i = 0; i < copies; i++) track(() => deliver(contexts.get(trigger)!, trigger, accepted, headers, traced, panic), chaos.shuffle ? Math.random() * SHUFFLE_MAX_DELAY_MS : 0);
    }
  };

  /**
   * The ingress, `POST /<namespace>/<broker>`, as Knative's broker-ingress answers (eventing
   * `pkg/broker/ingress/ingress_handler.go`): 202 once the event is accepted (delivery happens afterwards),
   * 405 for other methods, 400 for a malformed path and then for anything that is not one valid CloudEvent,
   * and only after that 404 for an unknown Broker.
   */
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const refuse = (status: number, reason: string) => {
      counters.rejected += 1;
      log.warn('ingress refused a request', { status, reason, path });
      req.resume();
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${reason}\n`);
    };

    res.setHeader('Allow', 'POST, OPTIONS');
    if (req.method === 'OPTIONS') {
      // CloudEvents webhook validation: any origin, any rate.
      res.writeHead(200, { 'WebHook-Allowed-Origin': '*', 'WebHook-Allowed-Rate': '*' });
      res.end();
      return;
    }
    if (req.method !== 'POST') return refuse(405, `${req.method} is not allowed; POST a CloudEvent`);

    const segments = path.replace(/\/+$/, '').split('/');
    if (segments.length === 1) return refuse(404, 'POST events to /<namespace>/<broker>');
    const [namespace, name] = segments.slice(1).map(decodeSegment);
    if (segments.length !== 3 || !namespace || !name) return refuse(400, `malformed path ${path}; POST events to /<namespace>/<broker>`);

    readBody(req, MAX_EVENT_BYTES).then(
      async (body) => {
        let event: BrokerEvent;
        try {
          event = decodeMessage(req.headers, body);
        } catch (err) {
          return refuse(400, (err as Error).message);
        }
        const broker = brokers.get(`${namespace}/${name}`);
        if (!broker) return refuse(404, `no Broker ${namespace}/${name}`);
        // Then who sent it (pkg/broker/ingress/ingress_handler.go): 401, 403.
        const refused = await broker.checkSender?.(req.headers.authorization, event);
        if (refused) return refuse(refused.status, refused.message);
        if (draining) return refuse(503, 'the Broker is shutting down');
        try {
          accept(broker, event, passThroughHeaders(req.headers), req.headers);
        } catch (err) {
          if (err instanceof IngressError) return refuse(err.status, err.message);
          return refuse(500, `the Broker failed to accept the event: ${(err as Error).message}`);
        }
        res.writeHead(202);
        res.end();
      },
      (err: Error) => refuse(err instanceof IngressError ? err.status : 400, err.message),
    );
  };
  const whenIdle = () => (counters.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)));
  log.info('broker configured', {
    ingress: [...brokers.values()].map((b) => `/${b.namespace}/${b.name}`),
    triggers: [...brokers.values()].reduce((n, b) => n + b.triggers.length, 0),
    ...(duplicates || chaos.shuffle ? { chaos: { duplicates, shuffle: chaos.shuffle === true } } : {}),
  });

  return {
    handle,
    listen(port, host = '127.0.0.1') {
      if (server) return Promise.reject(new Error('the Broker is already listening'));
      const s = (server = http.createServer(handle));
      return new Promise((resolve, reject) => s.once('error', reject).listen(port, host, () => resolve((s.address() as AddressInfo).port)));
    },
    async publish(namespace, name, event) {
      const converted = fromCloudEvent(event);
      const broker = brokers.get(`${namespace}/${name}`);
      if (!broker) throw new IngressError(404, `no Broker ${namespace}/${name}`);
      if (draining) throw new IngressError(503, 'the Broker is shutting down');
      accept(broker, converted, {}, {});
    },
    drain(timeoutMs) {
      drained ??= (async () => {
        draining = true;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([whenIdle().then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))]);
        clearTimeout(timer);
        if (timedOut) {
          log.warn('drain timed out: abandoning deliveries in flight', { inFlight: counters.inFlight, timeoutMs });
          abort.abort();
          await whenIdle();
        }
        const s = server;
        if (s) await new Promise<void>((resolve) => (s.close(() => resolve()), s.closeAllConnections()));
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
  const checkSender = (b: { namespace: string; name: string }) => options.oidc && senderCheck(options.oidc, model, options.manifests, b);
  const brokers = new Map(model.brokers.map((b): [string, BrokerRoutes] => [`${b.namespace}/${b.name}`, { namespace: b.namespace, name: b.name, triggers: [], checkSender: checkSender(b) }]));
  for (const trigger of model.triggers) {
    const resolve = (destination: Destination, field: string) => {
      try {
        const url = options.resolve(destination, trigger.namespace);
        return new URL(url) && url;
      } catch (err) {
        throw new BrokerConfigError(`Trigger ${trigger.namespace}/${trigger.name}: ${field} does not resolve: ${(err as Error).message}`);
      }
    };
    const sink = trigger.delivery.deadLetterSink;
    const route = {
      ...trigger,
      subscriber: resolve(trigger.subscriber, 'spec.subscriber'),
      deadLetterSink: sink && resolve(sink, 'spec.delivery.deadLetterSink'),
      identity: oidcSubjectOf('eventing.knative.dev', 'Trigger', trigger.namespace, trigger.name),
      subscriberAudience: destinationAudience(trigger.subscriber, trigger.namespace),
      deadLetterSinkAudience: sink && destinationAudience(sink, trigger.namespace),
    };
    brokers.get(trigger.broker)!.triggers.push(route);
  }
  return brokers;
}

/**
 * The sender check of the Broker `namespace/name` (the `authentication-oidc` feature), as eventing's ingress applies
 * `pkg/auth/verifier.go` `VerifyRequest`: a JWT for the Broker's audience or 401, then an EventPolicy of the model that
 * admits its subject and the event (else its `default-authorization-mode`), or 403. Deliveries carry a token of the
 * Trigger's own identity for the subscriber's audience, as the broker filter sends them.
 */
function senderCheck(
  oidc: BrokerOidc,
  model: { eventPolicies: readonly EventPolicyModel[]; features: Readonly<Record<string, string>> },
  manifests: readonly Manifest[],
  broker: { namespace: string; name: string },
): BrokerRoutes['checkSender'] {
  const audience = audienceOf('eventing.knative.dev', 'Broker', broker.namespace, broker.name);
  const doc = manifests.find((d) => isKind(d, 'eventing.knative.dev', 'Broker') && nameOf(d) === broker.name && namespaceOf(d, broker.namespace) === broker.namespace)!;
  const applying = policiesFor(model.eventPolicies, doc, broker.namespace);
  const mode = model.features['default-authorization-mode'] ?? 'allow-same-namespace';
  return async (authorization, event) => {
    const jwt = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!jwt) return new IngressError(401, `the Broker takes events with Authorization: Bearer <JWT> for audience ${audience} only (sender authentication is on)`);
    let subject: string;
    try {
      subject = await oidc.verify(jwt, audience);
    } catch (err) {
      return new IngressError(401, `the token is not valid for audience ${audience}: ${(err as Error).message}`);
    }
    if (admits(applying, subject, event.attributes, broker.namespace, mode)) return undefined;
    const by = applying.length > 0 ? `no EventPolicy of ${applying.map((p) => p.name).join(', ')} admits it` : `default-authorization-mode is ${mode}`;
    return new IngressError(403, `${subject} may not send ${String(event.attributes.type)} to Broker ${broker.namespace}/${broker.name}: ${by}`);
  };
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if ((size += chunk.length) > limit) throw new IngressError(413, `event over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
