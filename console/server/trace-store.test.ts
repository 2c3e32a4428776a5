/**
 * The stand-in's own collector: real OTLP exporters (http/protobuf and
 * http/json) send to its receiver, which decodes both; the store keeps
 * recent traces within its bounds and serves them as the console reads them.
 */
import { gzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from './api-types.js';
import { createTraceStore, serveTraceReceiver, storeExporter, type TraceReceiver, type TraceStore } from './trace-store.js';
import { isTrace } from './traces.js';

/** Spans of one small saga-like trace, made by a real SDK and sent by `exporter`. */
async function sendTrace(exporter: SpanExporter, orderId: string): Promise<string> {
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'place-order' }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer: Tracer = provider.getTracer('test');
  const root = tracer.startSpan('POST', { kind: SpanKind.SERVER });
  const inside = trace.setSpan(ROOT_CONTEXT, root);
  const traceId = (() => {
    const link = tracer.startSpan('elsewhere', {}, inside);
    link.end();
    const create = tracer.startSpan('CloudEvents Create dev.ordersaga.order.placed', {
      kind: SpanKind.PRODUCER,
      attributes: { 'cloudevents.event_subject': orderId, 'cloudevents.event_id': 'e-1', count: 3, ratio: 0.5, ok: true, list: ['a', 'b'], big: 'x'.repeat(5000) },
      links: [{ context: link.spanContext(), attributes: { why: 'test' } }],
    }, inside);
    create.addEvent('written', { rows: 2 });
    create.setStatus({ code: SpanStatusCode.ERROR, message: 'it broke' });
    create.end();
    root.end();
    return root.spanContext().traceId;
  })();
  // Flushed, not shut down: an in-memory exporter forgets its spans when shut down.
  await provider.forceFlush();
  return traceId;
}

describe('the trace receiver', () => {
  let store: TraceStore;
  let receiver: TraceReceiver;
  beforeAll(async () => {
    store = createTraceStore();
    receiver = await serveTraceReceiver(store, 0);
  });
  afterAll(() => receiver.close());

  it.each([
    ['http/protobuf', () => new ProtoExporter({ url: `${receiver.url}/v1/traces` })],
    ['http/json', () => new JsonExporter({ url: `${receiver.url}/v1/traces` })],
  ])('decodes what an OTLP exporter sends over %s', async (_protocol, exporter) => {
    const orderId = crypto.randomUUID();
    const traceId = await sendTrace(exporter(), orderId);
    const got = await (await fetch(`${receiver.url}/traces/${traceId}`)).json();
    expect(isTrace(got)).toBe(true);
    const spans = (got as { spans: Span[] }).spans;
    expect(spans.map((s) => s.name).sort()).toEqual(['CloudEvents Create dev.ordersaga.order.placed', 'POST', 'elsewhere']);
    const create = spans.find((s) => s.kind === 'producer')!;
    const root = spans.find((s) => s.name === 'POST')!;
    expect(create).toMatchObject({ traceId, parentSpanId: root.spanId, service: 'place-order', status: 'error', statusMessage: 'it broke' });
    expect(create.attributes).toMatchObject({ 'cloudevents.event_subject': orderId, count: 3, ratio: 0.5, ok: true, list: ['a', 'b'] });
    expect(String(create.attributes.big).length).toBeLessThan(1100);
    expect(create.events).toEqual([expect.objectContaining({ name: 'written', attributes: { rows: 2 } })]);
    expect(create.links).toEqual([{ traceId, spanId: spans.find((s) => s.name === 'elsewhere')!.spanId, attributes: { why: 'test' } }]);
    expect(BigInt(create.endUnixNano) >= BigInt(create.startUnixNano)).toBe(true);
    expect(root.parentSpanId).toBeUndefined();
    expect(((await (await fetch(`${receiver.url}/orders/${orderId}/trace`)).json()) as { traceId: string }).traceId).toBe(traceId);
  });

  it('reads a gzip-compressed request, and spans given straight to the store the same way', async () => {
    const memory = new InMemorySpanExporter();
    const traceId = await sendTrace(memory, crypto.randomUUID());
    const body = gzipSync(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!);
    const res = await fetch(`${receiver.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, body });
    expect(res.status).toBe(200);
    expect((await store.trace(traceId))!.spans).toHaveLength(3);

    const direct = createTraceStore();
    await new Promise<void>((resolve) => storeExporter(direct).export(memory.getFinishedSpans(), () => resolve()));
    expect((await direct.trace(traceId))!.spans).toEqual((await store.trace(traceId))!.spans.slice(-3));
  });

  it.each([
    ['garbage protobuf', 'application/x-protobuf', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])],
    ['malformed JSON', 'application/json', Buffer.from('{"resourceSpans": [')],
    ['a span without ids', 'application/json', Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'x' }] }] }] }))],
    ['another content type', 'text/plain', Buffer.from('hello')],
  ])('refuses %s with 400 and keeps nothing', async (_name, contentType, body) => {
    const before = store.stats().spans;
    const res = await fetch(`${receiver.url}/v1/traces`, { method: 'POST', headers: { 'content-type': contentType }, body });
    expect(res.status).toBe(400);
    expect(store.stats().spans).toBe(before);
  });

  it('answers 404 for a trace or an order it never saw, and for other routes', async () => {
    expect((await fetch(`${receiver.url}/traces/${'0'.repeat(32)}`)).status).toBe(404);
    expect((await fetch(`${receiver.url}/orders/${crypto.randomUUID()}/trace`)).status).toBe(404);
    expect((await fetch(`${receiver.url}/v1/metrics`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${receiver.url}/v1/traces`)).status).toBe(405);
  });
});

describe('the trace store', () => {
  const span = (traceId: string, i: number, subject?: string): Span => ({
    traceId,
    spanId: i.toString(16).padStart(16, '0'),
    name: subject ? 'CloudEvents Create dev.ordersaga.order.placed' : 'work',
    service: 'test',
    kind: 'internal',
    startUnixNano: '1',
    endUnixNano: '2',
    status: 'unset',
    attributes: subject ? { 'cloudevents.event_subject': subject } : {},
    events: [],
    links: [],
  });
  const traceIdOf = (n: number) => n.toString(16).padStart(32, '0');

  it('keeps at most maxSpans spans, the oldest traces going first, and forgets their orders', async () => {
    const store = createTraceStore({ maxSpans: 100, maxSpansPerTrace: 50 });
    for (let n = 1; n <= 30; n++) store.add(Array.from({ length: 10 }, (_, i) => span(traceIdOf(n), i + 1, i === 0 ? `order-${n}` : undefined)));
    expect(store.stats()).toMatchObject({ traces: 10, spans: 100 });
    expect(await store.trace(traceIdOf(20))).toBeUndefined();
    expect(await store.orderTrace('order-20')).toBeUndefined();
    expect((await store.orderTrace('order-30'))!.traceId).toBe(traceIdOf(30));
  });

  it('keeps at most maxSpansPerTrace of one trace and counts the rest dropped', async () => {
    const store = createTraceStore({ maxSpans: 1000, maxSpansPerTrace: 5 });
    store.add(Array.from({ length: 8 }, (_, i) => span(traceIdOf(1), i + 1)));
    expect(store.stats()).toEqual({ traces: 1, spans: 5, dropped: 3 });
  });

  it("finds an order's trace by the span that placed it, even when other traces name the order too", async () => {
    const store = createTraceStore();
    store.add([{ ...span(traceIdOf(7), 1), attributes: { 'cloudevents.event_subject': 'order-x' } }]);
    store.add([span(traceIdOf(8), 2, 'order-x')]);
    expect((await store.orderTrace('order-x'))!.traceId).toBe(traceIdOf(8));
  });
});
