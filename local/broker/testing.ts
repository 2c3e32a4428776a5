/**
 * Test helpers for the Broker stand-in: real HTTP subscribers that record what
 * they receive and answer as a test scripts them, manifest builders, and a
 * logger that keeps its lines.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterEach } from 'vitest';
import { createBroker, type Broker, type BrokerOptions } from './index.js';
import type { Logger } from '../../lib/log.js';

/** One request a subscriber received. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `performance.now()` when the request arrived. */
  at: number;
}

/** How a scripted subscriber answers. */
export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering. */
  delayMs?: number;
}

/** A subscriber listening on a free port. */
export interface TestSubscriber {
  url: string;
  received: Received[];
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  /** Requests in progress right now (arrived, not yet answered). */
  active(): number;
  close(): Promise<void>;
}

/** Starts a subscriber answering each request with `respond(request, index)` (default: an empty 202). */
export async function startSubscriber(
  respond: (request: Received, index: number) => Answer | Promise<Answer> = () => ({ status: 202 }),
): Promise<TestSubscriber> {
  const received: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let active = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const request: Received = { headers: req.headers, body: Buffer.concat(chunks), at: performance.now() };
      const index = received.length;
      received.push(request);
      for (const waiter of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      active += 1;
      const answer = await respond(request, index);
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      active -= 1;
      if (res.destroyed) return;
      res.writeHead(answer.status ?? 202, answer.headers);
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    received,
    waitFor(count, timeoutMs = 5_000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} requests, got ${received.length} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    active: () => active,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A Broker manifest. */
export function brokerManifest(name = 'default', namespace = 'ordersaga', delivery?: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name, namespace }, spec: delivery ? { delivery } : {} };
}

/** A Trigger manifest; `subscriber` is a URL (a Destination `uri`). */
export function triggerManifest(name: string, subscriber: string, spec: Record<string, unknown> = {}, namespace = 'ordersaga'): Record<string, unknown> {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name, namespace },
    spec: { broker: 'default', subscriber: { uri: subscriber }, ...spec },
  };
}

/** A logger that keeps every line. */
export function recordingLog(): Logger & { lines: { level: string; message: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Resolves Destinations given as `uri` only, the way the tests write them. */
export function uriResolver(destination: { uri?: string }): string {
  if (!destination.uri) throw new Error('this test resolves uri destinations only');
  return destination.uri;
}

/** A Broker listening on a free port, with its ingress URL for `ordersaga/default`. */
export async function startBroker(
  manifests: Record<string, unknown>[],
  options: Partial<BrokerOptions> = {},
): Promise<{ broker: Broker; ingress: string; log: ReturnType<typeof recordingLog> }> {
  const log = recordingLog();
  const broker = createBroker({ manifests, resolve: uriResolver, log, ...options });
  const port = await broker.listen(0);
  return { broker, ingress: `http://127.0.0.1:${port}/ordersaga/default`, log };
}

/**
 * Subscribers and Brokers for the tests of the enclosing `describe`: each is
 * closed (a Broker drained) after the test that started it.
 */
export function useBrokerFixtures() {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    /** Runs `cleanup` after the current test, before what was started earlier. */
    onCleanup(cleanup: () => Promise<void>): void {
      cleanups.push(cleanup);
    },
    async subscriber(...args: Parameters<typeof startSubscriber>): Promise<TestSubscriber> {
      const s = await startSubscriber(...args);
      cleanups.push(() => s.close());
      return s;
    },
    async broker(...args: Parameters<typeof startBroker>): ReturnType<typeof startBroker> {
      const started = await startBroker(...args);
      cleanups.push(() => started.broker.drain(2_000));
      return started;
    },
  };
}

/** A test event of `type`. */
export function testEvent(type: string, extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return new CloudEvent<unknown>({ type, source: '/tests/broker', subject: 'subject-1', data: { hello: 'world' }, ...extra });
}

/** POSTs `event` to `url` in binary (default) or structured mode. */
export async function post(
  url: string,
  event: CloudEvent<unknown>,
  mode: 'binary' | 'structured' = 'binary',
  headers: Record<string, string> = {},
): Promise<Response> {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  return fetch(url, { method: 'POST', headers: { ...(message.headers as Record<string, string>), ...headers }, body: message.body as string });
}

/** The CloudEvent a subscriber received, parsed as a function would parse it. */
export function eventOf(request: Received): CloudEvent<unknown> {
  return HTTP.toEvent({ headers: request.headers as Record<string, string>, body: request.body.toString('utf8') }) as CloudEvent<unknown>;
}

/** Resolves after `ms`. */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
