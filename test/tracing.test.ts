/**
 * The issue's "done when", against the stack started as a user starts it:
 * with OTEL_EXPORTER_OTLP_ENDPOINT pointed at an OTLP/HTTP receiver (a real
 * HTTP server in this test), a confirmed order arrives as one trace, from
 * the client's request through every function and the Broker's spans,
 * parented and linked as the conventions say; without an endpoint, the
 * stand-in's own receiver has the same trace. A collector that hangs
 * slows no request.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span, Trace } from '../console/server/api-types.js';
import { createTraceStore, serveTraceReceiver, type TraceReceiver, type TraceStore } from '../console/server/trace-store.js';
import { newId } from '../lib/ids.js';
import { request } from './harness.js';
import { startStackProcess, type RunningStack } from './stack-process.js';

const SAGA = ['accounts', 'deposit', 'place-order', 'reserve-slot', 'charge', 'notify'];
/** The functions an order's events pass through. */
const ORDER_PATH = ['place-order', 'reserve-slot', 'charge', 'notify'];
const hex = (bytes: number) => newId().replace(/-/g, '').slice(0, bytes * 2);

/** A customer's journey, every request in the trace of `traceparent` when given: an account, a deposit, a slot, a confirmed order. */
async function journey(stack: RunningStack, traceparent?: string): Promise<{ orderId: string; ms: number }> {
  const headers = traceparent ? { traceparent } : undefined;
  const api = (method: string, path: string, options: Parameters<typeof request>[3] = {}) =>
    request(stack.gatewayUrl, method, path, { ...options, headers: { ...headers, ...options.headers } });
  const account = (await api('POST', '/accounts', { body: { email: `${newId()}@example.com`, name: 'Traced' } })).body as { id: string; token: string };
  expect((await api('POST', `/accounts/${account.id}/deposits`, { token: account.token, body: { amount: 100 }, headers: { 'idempotency-key': newId() } })).status).toBe(201);
  const slot = (await api('POST', '/slots', { token: stack.adminToken, body: { name: 'Traced', capacity: 5, price: 30 } })).body as { id: string };
  const started = performance.now();
  const order = await api('POST', '/orders', {
    token: account.token,
    body: { accountId: account.id, slotId: slot.id },
    headers: { 'idempotency-key': newId(), prefer: 'wait=20' },
  });
  expect(order.status).toBe(201);
  expect(order.body).toMatchObject({ status: 'confirmed' });
  return { orderId: (order.body as { id: string }).id, ms: performance.now() - started };
}

/** Waits until the trace holds the end of the saga: notify's letter and the Broker taking it in. */
async function settledTrace(read: () => Promise<Trace | undefined>, timeoutMs = 20_000): Promise<Trace> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const trace = await read();
    // Each process exports on its own schedule: under load the order's last hops can arrive before its first.
    const services = new Set(trace?.spans.map((s) => s.service));
    const done =
      ORDER_PATH.every((service) => services.has(service)) &&
      trace!.spans.some((s) => s.name === 'CloudEvents Create dev.ordersaga.notification.sent') &&
      trace!.spans.some((s) => s.name === 'trigger:notify-on-order-confirmed.ordersaga');
    if (done) {
      // One more export interval, for the spans that end last.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return (await read())!;
    }
    if (Date.now() > deadline) throw new Error(`the trace did not settle: ${JSON.stringify(trace?.spans.map((s) => `${s.service} ${s.name}`))}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('one order, one trace, to any OTLP/HTTP receiver', () => {
  let store: TraceStore;
  let receiver: TraceReceiver;
  let stack: RunningStack;
  beforeAll(async () => {
    store = createTraceStore();
    receiver = await serveTraceReceiver(store, 0);
    // http/json here; the stand-in's own receiver below gets the default, http/protobuf.
    stack = await startStackProcess({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200' });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  it('has every function and the Broker in it, each hop parented and each delivery linked to the saga it belongs to', async () => {
    const traceId = hex(16);
    const { orderId } = await journey(stack, `00-${traceId}-${hex(8)}-01`);
    const trace = await settledTrace(() => store.trace(traceId));
    expect(stack.tracesUrl).toBeUndefined();
    const spans = trace.spans;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parent = (s: Span | undefined) => (s?.parentSpanId ? byId.get(s.parentSpanId) : undefined);
    expect([...new Set(spans.map((s) => s.service))]).toEqual(expect.arrayContaining([...SAGA, 'broker-ingress.knative-eventing', 'broker-filter.knative-eventing']));
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);
    expect((await store.orderTrace(orderId))?.traceId).toBe(traceId);

    // The saga's first event: order.placed, made under POST /orders; its context is the whole saga's.
    const placed = spans.find((s) => s.name === 'CloudEvents Create dev.ordersaga.order.placed')!;
    expect(placed).toMatchObject({ service: 'place-order', kind: 'producer', attributes: expect.objectContaining({ 'cloudevents.event_subject': orderId }) });
    expect(parent(placed)).toMatchObject({ service: 'place-order', kind: 'server' });

    // Every delivery of the order's saga: server span ← send ← trigger: ← broker:, linked to order.placed.
    const processed = spans.filter((s) => s.name.startsWith('CloudEvents Process ') && s.attributes['cloudevents.event_subject'] === orderId);
    expect(processed.map((s) => `${s.service} ${s.name}`).sort()).toEqual([
      'charge CloudEvents Process dev.ordersaga.slot.reserved',
      'notify CloudEvents Process dev.ordersaga.order.confirmed',
      'place-order CloudEvents Process dev.ordersaga.payment.charged',
      'reserve-slot CloudEvents Process dev.ordersaga.order.placed',
    ]);
    for (const process of processed) {
      expect(process.kind).toBe('consumer');
      expect(process.links.map((l) => l.spanId), process.name).toEqual([placed.spanId]);
      const server = parent(process);
      const send = parent(server);
      const trigger = parent(send);
      const ingress = parent(trigger);
      expect([server?.kind, send?.name.startsWith('send '), trigger?.name.startsWith('trigger:'), ingress?.name], process.name).toEqual([
        'server',
        true,
        true,
        'broker:default.ordersaga',
      ]);
      expect(send!.attributes['http.response.status_code']).toBe(200);
    }
    // A function's Create span sits under its Process span.
    const reserved = spans.find((s) => s.name === 'CloudEvents Create dev.ordersaga.slot.reserved')!;
    expect(parent(reserved)?.name).toBe('CloudEvents Process dev.ordersaga.order.placed');
    // The database work is in it too.
    expect(spans.some((s) => s.service === 'charge' && s.name.startsWith('pg.query'))).toBe(true);
  });
});

describe("the stand-in's own receiver", () => {
  let stack: RunningStack;
  beforeAll(async () => {
    stack = await startStackProcess({ OTEL_BSP_SCHEDULE_DELAY: '200' });
  }, 120_000);
  afterAll(() => stack?.stop());

  it("serves an order's trace as the console reads it", async () => {
    expect(stack.tracesUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { orderId } = await journey(stack);
    const trace = await settledTrace(async () => {
      const res = await fetch(`${stack.tracesUrl}/orders/${orderId}/trace`);
      return res.status === 404 ? undefined : ((await res.json()) as Trace);
    });
    const services = new Set(trace.spans.map((s) => s.service));
    for (const service of ['place-order', 'reserve-slot', 'charge', 'notify', 'broker-ingress.knative-eventing', 'broker-filter.knative-eventing']) expect(services).toContain(service);
    const byTraceId = await fetch(`${stack.tracesUrl}/traces/${trace.traceId}`);
    expect(((await byTraceId.json()) as Trace).spans.length).toBeGreaterThanOrEqual(trace.spans.length);
  });
});

describe('a collector that hangs', () => {
  let hanging: net.Server;
  const sockets = new Set<net.Socket>();
  let stack: RunningStack;
  beforeAll(async () => {
    // Takes every connection and never answers.
    hanging = net.createServer((socket) => (sockets.add(socket), socket.on('error', () => undefined)));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const port = (hanging.address() as net.AddressInfo).port;
    stack = await startStackProcess({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_EXPORTER_OTLP_TIMEOUT: '60000' });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    for (const socket of sockets) socket.destroy();
    hanging?.close();
  });

  it('fails no request and slows none beyond a bound', async () => {
    const times: number[] = [];
    for (let i = 0; i < 8; i++) times.push((await journey(stack)).ms);
    expect(sockets.size).toBeGreaterThan(0);
    // A whole saga, waited to its letter, in well under the export timeout.
    expect(Math.max(...times)).toBeLessThan(3000);
  }, 60_000);
});
