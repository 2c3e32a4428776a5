import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { brokerManifest, eventOf, post, testEvent, triggerManifest, useBrokerFixtures, type Answer } from './testing.js';

/** A subscriber's answer carrying `event` as a reply, in binary or structured mode. */
function replyWith(event: CloudEvent<unknown>, mode: 'binary' | 'structured' = 'binary', extraHeaders: Record<string, string> = {}): Answer {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  return { status: 200, headers: { ...(message.headers as Record<string, string>), ...extraHeaders }, body: message.body as string };
}

describe('replies and acks', () => {
  const { subscriber, broker } = useBrokerFixtures();
  const byType = (type: string) => ({ filter: { attributes: { type } } });

  it.each(['binary', 'structured'] as const)('publishes a %s-mode reply back into the Broker, where another Trigger gets it', async (mode) => {
    const placeOrder = await subscriber(() =>
      replyWith(new CloudEvent({ type: 'dev.ordersaga.slot.reserved', source: '/ordersaga/reserve-slot', subject: 'order-1', data: { ok: true } }), mode, {
        'knative-hop': 'one',
        'x-internal': 'stays',
      }),
    );
    const charge = await subscriber();
    const { broker: b, ingress } = await broker([
      brokerManifest(),
      triggerManifest('reserve-slot', placeOrder.url, byType('dev.ordersaga.order.placed')),
      triggerManifest('charge', charge.url, byType('dev.ordersaga.slot.reserved')),
    ]);
    await post(ingress, testEvent('dev.ordersaga.order.placed'));
    const [received] = await charge.waitFor(1);
    await b.settled();
    const reply = eventOf(received!);
    expect(reply.type).toBe('dev.ordersaga.slot.reserved');
    expect(reply.data).toEqual({ ok: true });
    expect(received!.headers['ce-knativearrivaltime']).toBeDefined();
    expect(received!.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(received!.headers['knative-hop']).toBe('one');
    expect(received!.headers['x-internal']).toBeUndefined();
    expect(placeOrder.received).toHaveLength(1);
    expect(b.stats()).toMatchObject({ accepted: 2, delivered: 2, replied: 1 });
  });

  it('stops a reply loop when the TTL runs out', async () => {
    const loop = await subscriber((_req, i) => replyWith(new CloudEvent({ type: 'loop', source: '/tests/loop', id: `hop-${i + 1}` })));
    const { broker: b, ingress, log } = await broker([brokerManifest(), triggerManifest('loop', loop.url, byType('loop'))]);
    // TTL 4 becomes 3 at the ingress, then 2 and 1 on the replies; the third reply reaches 0.
    const res = await post(ingress, new CloudEvent({ type: 'loop', source: '/tests', id: 'hop-0', knativebrokerttl: 4 }));
    expect(res.status).toBe(202);
    await loop.waitFor(3);
    await b.settled();
    expect(loop.received.map((r) => r.headers['ce-id'])).toEqual(['hop-0', 'hop-1', 'hop-2']);
    expect(b.stats()).toMatchObject({ accepted: 3, delivered: 2, replied: 3, dropped: 1, failed: 1 });
    expect(log.lines.some((l) => l.message === 'dropped: TTL exhausted' && l.fields?.id === 'hop-3')).toBe(true);
  });

  // The channel sends the reply to the Broker's ingress (pkg/kncloudevents/event_dispatcher.go); the ingress refuses
  // it with 400 (pkg/broker/ingress/ingress_handler.go), and the original goes to the dead-letter sink with the
  // Broker as the destination that failed.
  it('dead-letters the original with code 400 and the Broker as destination when the reply TTL runs out (event_dispatcher.go)', async () => {
    const dls = await subscriber();
    const sub = await subscriber(() => replyWith(new CloudEvent({ type: 'answer', source: '/tests/answer', id: 'a-1' })));
    const { broker: b, ingress } = await broker([
      brokerManifest(),
      triggerManifest('t', sub.url, { ...byType('question'), delivery: { retry: 3, deadLetterSink: { uri: dls.url } } }),
    ]);
    await post(ingress, new CloudEvent({ type: 'question', source: '/tests', id: 'q-1', knativebrokerttl: 2 }));
    const [dead] = await dls.waitFor(1);
    await b.settled();
    expect(sub.received).toHaveLength(1);
    expect(dead!.headers['ce-id']).toBe('q-1');
    expect(dead!.headers['ce-knativeerrorcode']).toBe('400');
    expect(dead!.headers['ce-knativeerrordest']).toBe(ingress);
    expect(Buffer.from(String(dead!.headers['ce-knativeerrordata']), 'base64').toString()).toMatch(/knativebrokerttl ran out/);
    expect(b.stats()).toMatchObject({ accepted: 1, replied: 1, delivered: 0, deadLettered: 1, retried: 0 });
  });

  // filter_handler.go hands the reply on as the SDK read it; the ingress validates it (no id: 400), so the original
  // is dead-lettered with 400 after one attempt, never retried.
  it.each(['binary', 'structured'] as const)('dead-letters the original with code 400 after one attempt when a %s reply has no id (filter_handler.go)', async (mode) => {
    const dls = await subscriber();
    const headers = { 'ce-specversion': '1.0', 'ce-source': '/r', 'ce-type': 'answer' };
    const sub = await subscriber(() =>
      mode === 'binary'
        ? { status: 200, headers }
        : { status: 200, headers: { 'content-type': 'application/cloudevents+json' }, body: '{"specversion":"1.0","source":"/r","type":"answer"}' },
    );
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 3, deadLetterSink: { uri: dls.url } } })]);
    const event = testEvent('question');
    await post(ingress, event);
    const [dead] = await dls.waitFor(1);
    await b.settled();
    expect(sub.received).toHaveLength(1);
    expect(dead!.headers['ce-id']).toBe(event.id);
    expect(dead!.headers['ce-knativeerrorcode']).toBe('400');
    expect(dead!.headers['ce-knativeerrordest']).toBe(ingress);
    expect(b.stats()).toMatchObject({ accepted: 1, deadLettered: 1, retried: 0 });
  });

  it('gives an event without a TTL 255 hops', async () => {
    const loop = await subscriber((_req, i) => replyWith(new CloudEvent({ type: 'loop', source: '/tests/loop', id: `hop-${i + 1}` })));
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('loop', loop.url, byType('loop'))]);
    await post(ingress, new CloudEvent({ type: 'loop', source: '/tests', id: 'hop-0' }));
    await loop.waitFor(255, 20_000);
    await b.settled();
    expect(loop.received).toHaveLength(255);
    expect(b.stats()).toMatchObject({ accepted: 255, dropped: 1 });
  });

  it('refuses with 400 an event whose TTL is already spent', async () => {
    const sub = await subscriber();
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url)]);
    const res = await post(ingress, new CloudEvent({ type: 'x', source: '/tests', knativebrokerttl: 1 }));
    expect(res.status).toBe(400);
    expect(b.stats()).toMatchObject({ accepted: 0, dropped: 1 });
  });

  it.each([200, 202, 204])('takes an empty %i as a plain ack', async (status) => {
    const sub = await subscriber(() => ({ status }));
    const other = await subscriber();
    const { broker: b, ingress } = await broker([
      brokerManifest(),
      triggerManifest('t', sub.url, { delivery: { retry: 2 } }),
      triggerManifest('other', other.url),
    ]);
    await post(ingress, testEvent('x'));
    await sub.waitFor(1);
    await b.settled();
    expect(sub.received).toHaveLength(1);
    expect(other.received).toHaveLength(1);
    expect(b.stats()).toMatchObject({ accepted: 1, delivered: 2, replied: 0, retried: 0 });
  });

  it('counts a 2xx whose body is not a CloudEvent as a failure: retried, then dead-lettered', async () => {
    const sub = await subscriber(() => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"result":"ok"}' }));
    const dls = await subscriber();
    const { broker: b, ingress } = await broker([
      brokerManifest(),
      triggerManifest('t', sub.url, { delivery: { retry: 1, deadLetterSink: { uri: dls.url } } }),
    ]);
    await post(ingress, testEvent('x'));
    const [dead] = await dls.waitFor(1);
    await b.settled();
    expect(sub.received).toHaveLength(2);
    expect(dead!.headers['ce-knativeerrorcode']).toBe('502');
    expect(Buffer.from(String(dead!.headers['ce-knativeerrordata']), 'base64').toString()).toBe('{"result":"ok"}');
    expect(b.stats()).toMatchObject({ delivered: 0, retried: 1, deadLettered: 1, replied: 0 });
  });

  it('counts a reply it cannot read as a failure, retried (a 502)', async () => {
    const sub = await subscriber(() => ({ status: 200, headers: { 'content-type': 'application/cloudevents+json' }, body: '{nope' }));
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 1 } })]);
    await post(ingress, testEvent('x'));
    await sub.waitFor(2);
    await b.settled();
    expect(b.stats()).toMatchObject({ delivered: 0, failed: 1, replied: 0, retried: 1 });
  });
});
