/**
 * Knative's data-plane spans, from the Broker stand-in delivering through
 * real HTTP subscribers: the ingress, the Trigger, one `send` per attempt,
 * a dead letter, and a reply, each parented as Knative parents them.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { beforeEach, describe, expect, it } from 'vitest';
import { brokerManifest, post, testEvent, triggerManifest, useBrokerFixtures } from '../../local/broker/testing.js';
import { brokerTracing } from './broker.js';
import { useTestTracing } from './testing.js';

const tracing = useTestTracing();
const tracers = () => brokerTracing({ ingress: tracing.provider('broker-ingress').getTracer('t'), filter: tracing.provider('broker-filter').getTracer('t') });
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const traceparent = `00-${TRACE}-${PARENT}-01`;

const named = (prefix: string) => tracing.spans().filter((s) => s.name.startsWith(prefix));
const childOf = (span: ReadableSpan | undefined) => span?.spanContext().spanId;

describe("the Broker's spans", () => {
  const { subscriber, broker } = useBrokerFixtures();
  beforeEach(() => tracing.reset());

  it('parents broker:, trigger: and send from the producer, and hands the context to the subscriber', async () => {
    const sub = await subscriber();
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url)], { tracing: tracers() });
    const event = testEvent('x');
    await post(ingress, event, 'binary', { traceparent });
    const [received] = await sub.waitFor(1);
    await b.settled();
    const [ingressSpan] = named('broker:');
    const [trigger] = named('trigger:');
    const [send] = named('send ');
    expect(ingressSpan).toMatchObject({ name: 'broker:default.ordersaga', kind: SpanKind.SERVER });
    expect(ingressSpan!.spanContext().traceId).toBe(TRACE);
    expect(ingressSpan!.parentSpanContext?.spanId).toBe(PARENT);
    expect(ingressSpan!.attributes).toMatchObject({
      'messaging.system': 'knative',
      'messaging.destination': 'broker:default.ordersaga',
      'messaging.message_id': event.id,
      'cloudevents.event_type': 'x',
      'k8s.resource': 'brokers.eventing.knative.dev',
    });
    expect(ingressSpan!.resource.attributes['service.name']).toBe('broker-ingress');
    expect(trigger).toMatchObject({ name: 'trigger:t.ordersaga', kind: SpanKind.SERVER });
    expect(trigger!.parentSpanContext?.spanId).toBe(childOf(ingressSpan));
    expect(send).toMatchObject({ name: `send ${sub.url}`, kind: SpanKind.CLIENT });
    expect(send!.parentSpanContext?.spanId).toBe(childOf(trigger));
    expect(send!.attributes).toMatchObject({ 'http.response.status_code': 202, 'knative.delivery.attempt': 1 });
    expect(received!.headers.traceparent).toBe(`00-${TRACE}-${send!.spanContext().spanId}-01`);
  });

  it('shows each retry as an attempt of its own, with its status', async () => {
    const sub = await subscriber((_req, i) => ({ status: i === 0 ? 503 : 202 }));
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 2 } })], { tracing: tracers() });
    await post(ingress, testEvent('x'), 'binary', { traceparent });
    await sub.waitFor(2);
    await b.settled();
    const sends = named('send ');
    expect(sends.map((s) => [s.attributes['knative.delivery.attempt'], s.attributes['http.response.status_code'], s.status.code])).toEqual([
      [1, 503, SpanStatusCode.ERROR],
      [2, 202, SpanStatusCode.UNSET],
    ]);
    expect(new Set(sub.received.map((r) => r.headers.traceparent)).size).toBe(2);
    expect(named('trigger:')[0]!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('records a dead letter on the Trigger span, its send among the attempts', async () => {
    const sub = await subscriber(() => ({ status: 400 }));
    const dls = await subscriber();
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 3, deadLetterSink: { uri: dls.url } } })], {
      tracing: tracers(),
    });
    await post(ingress, testEvent('x'), 'binary', { traceparent });
    const [dead] = await dls.waitFor(1);
    await b.settled();
    const [trigger] = named('trigger:');
    expect(trigger!.status).toMatchObject({ code: SpanStatusCode.ERROR });
    expect(trigger!.attributes['knative.delivery.outcome']).toBe('dead-lettered');
    expect(trigger!.events).toEqual([expect.objectContaining({ name: 'dead-lettered', attributes: expect.objectContaining({ knativeerrordest: sub.url, knativeerrorcode: 400 }) })]);
    const sends = named('send ');
    expect(sends.map((s) => [s.name, s.attributes['knative.delivery.dead_letter_sink'] ?? false])).toEqual([
      [`send ${sub.url}`, false],
      [`send ${dls.url}`, true],
    ]);
    expect(dead!.headers.traceparent).toBe(`00-${TRACE}-${sends[1]!.spanContext().spanId}-01`);
  });

  it("takes a reply in under the attempt that brought it back", async () => {
    const replies = await subscriber((_req, i) =>
      i === 0 ? { status: 200, headers: { 'ce-specversion': '1.0', 'ce-id': 'r-1', 'ce-source': '/s', 'ce-type': 'reply', 'content-type': 'application/json' }, body: '{}' } : { status: 202 },
    );
    const { broker: b, ingress } = await broker(
      [brokerManifest(), triggerManifest('first', replies.url, { filter: { attributes: { type: 'x' } } }), triggerManifest('second', replies.url, { filter: { attributes: { type: 'reply' } } })],
      { tracing: tracers() },
    );
    await post(ingress, testEvent('x'), 'binary', { traceparent });
    await replies.waitFor(2);
    await b.settled();
    const [, replyIngress] = named('broker:');
    const firstSend = named('send ').find((s) => s.parentSpanContext?.spanId === childOf(named('trigger:first')[0]));
    expect(replyIngress!.parentSpanContext?.spanId).toBe(childOf(firstSend));
    expect(replyIngress!.attributes['cloudevents.event_type']).toBe('reply');
    expect(named('trigger:second')[0]!.parentSpanContext?.spanId).toBe(childOf(replyIngress));
  });
});
