import { describe, expect, it } from 'vitest';
import type { Broker, BrokerObserver, DeliveryAttempt } from './index.js';
import { brokerManifest, post, startSubscriber, testEvent, triggerManifest, useBrokerFixtures } from './testing.js';

describe('delivery to a Trigger subscriber', () => {
  const { subscriber, broker } = useBrokerFixtures();
  const idle = (b: Broker) => b.settled();

  it.each([500, 503, 404, 408, 409, 429])('retries after a %i', async (status) => {
    const sub = await subscriber((_req, i) => ({ status: i === 0 ? status : 202 }));
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 3 } })]);
    await post(ingress, testEvent('x'));
    await sub.waitFor(2);
    await idle(b);
    expect(sub.received).toHaveLength(2);
    expect(b.stats()).toMatchObject({ delivered: 1, retried: 1, failed: 0 });
  });

  it.each([400, 403, 401, 422])('does not retry after a %i', async (status) => {
    const sub = await subscriber(() => ({ status }));
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 3 } })]);
    await post(ingress, testEvent('x'));
    await sub.waitFor(1);
    await idle(b);
    expect(sub.received).toHaveLength(1);
    expect(b.stats()).toMatchObject({ delivered: 0, retried: 0, failed: 1 });
  });

  it('makes retry + 1 attempts in all, then drops the event and logs it', async () => {
    const sub = await subscriber(() => ({ status: 500 }));
    const { broker: b, ingress, log } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 2 } })]);
    const event = testEvent('x');
    await post(ingress, event);
    await sub.waitFor(3);
    await idle(b);
    expect(sub.received).toHaveLength(3);
    expect(b.stats()).toMatchObject({ retried: 2, failed: 1, deadLettered: 0 });
    const attempts = log.lines.filter((l) => l.message === 'delivery');
    expect(attempts.map((l) => l.fields?.attempt)).toEqual([1, 2, 3]);
    expect(attempts[0]!.fields).toMatchObject({ trigger: 't', type: 'x', id: event.id, subscriber: sub.url, status: 500 });
    expect(typeof attempts[0]!.fields?.ms).toBe('number');
    expect(log.lines.some((l) => l.level === 'warn' && l.message.startsWith('undeliverable'))).toBe(true);
  });

  it('retries when the subscriber is not there at all', async () => {
    const gone = await startSubscriber();
    await gone.close();
    const dls = await subscriber();
    const { broker: b, ingress } = await broker([
      brokerManifest(),
      triggerManifest('t', gone.url, { delivery: { retry: 2, deadLetterSink: { uri: dls.url } } }),
    ]);
    await post(ingress, testEvent('x'));
    const [dead] = await dls.waitFor(1);
    await idle(b);
    expect(b.stats()).toMatchObject({ retried: 2, deadLettered: 1 });
    expect(dead!.headers['ce-knativeerrorcode']).toBe('500');
    expect(Buffer.from(String(dead!.headers['ce-knativeerrordata']), 'base64').toString()).toMatch(/^dispatch error: /);
  });

  it.each([
    ['linear', [0, 200, 400]],
    ['exponential', [200, 400, 800]],
  ] as const)('waits the %s backoff schedule between attempts', async (backoffPolicy, expected) => {
    const sub = await subscriber(() => ({ status: 503 }));
    const { broker: b, ingress } = await broker([
      brokerManifest(),
      triggerManifest('t', sub.url, { delivery: { retry: 3, backoffPolicy, backoffDelay: 'PT0.2S' } }),
    ]);
    await post(ingress, testEvent('x'));
    const received = await sub.waitFor(4);
    await idle(b);
    const gaps = received.slice(1).map((r, i) => r.at - received[i]!.at);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(expected[i]! - 5);
      expect(gap).toBeLessThanOrEqual(expected[i]! + 150);
    });
  });

  it('retries at once when only one of backoffPolicy and backoffDelay is set', async () => {
    const sub = await subscriber(() => ({ status: 500 }));
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 2, backoffDelay: 'PT1S' } })]);
    await post(ingress, testEvent('x'));
    const received = await sub.waitFor(3, 900);
    await idle(b);
    expect(received[2]!.at - received[0]!.at).toBeLessThan(500);
  });

  it('counts a response slower than the timeout as a failed attempt', async () => {
    const sub = await subscriber((_req, i) => (i === 0 ? { status: 202, delayMs: 2_000 } : { status: 202 }));
    const { broker: b, ingress, log } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 1, timeout: 'PT0.1S' } })]);
    const started = performance.now();
    await post(ingress, testEvent('x'));
    await sub.waitFor(2);
    expect(sub.received[1]!.at - started).toBeLessThan(1_500);
    await idle(b);
    expect(b.stats()).toMatchObject({ delivered: 1, retried: 1 });
    const first = log.lines.find((l) => l.message === 'delivery' && l.fields?.attempt === 1);
    expect(first!.fields).toMatchObject({ status: null, outcome: 'retrying' });
    expect(String(first!.fields?.reason)).toMatch(/no response within 100 ms/);
  });

  it('counts a reply over the size limit (16 MiB) as a failed attempt, not as no reply', async () => {
    const huge = Buffer.alloc(16 * 1024 * 1024 + 1, 'x');
    const replyHeaders = { 'content-type': 'application/json', 'ce-id': 'r1', 'ce-type': 'y', 'ce-source': '/s', 'ce-specversion': '1.0' };
    const sub = await subscriber((_req, i) => (i === 0 ? { status: 200, headers: replyHeaders, body: huge } : { status: 202 }));
    const { broker: b, ingress, log } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 1 } })]);
    await post(ingress, testEvent('x'));
    await sub.waitFor(2);
    await idle(b);
    expect(b.stats()).toMatchObject({ delivered: 1, retried: 1, failed: 0 });
    const first = log.lines.find((l) => l.message === 'delivery' && l.fields?.attempt === 1);
    expect(first!.fields).toMatchObject({ status: null, outcome: 'retrying' });
    expect(String(first!.fields?.reason)).toMatch(/response body over 16777216 bytes/);
  });

  it('dead-letters the event with knativeerrordest, knativeerrorcode and knativeerrordata', async () => {
    const sub = await subscriber(() => ({ status: 422, body: 'slot name is required' }));
    const dls = await subscriber();
    const { broker: b, ingress } = await broker([
      brokerManifest(),
      triggerManifest('t', sub.url, { delivery: { retry: 3, deadLetterSink: { uri: dls.url } } }),
    ]);
    const event = testEvent('dev.ordersaga.slot.requested', { tenant: 'acme' });
    await post(ingress, event, 'binary', { 'x-request-id': 'req-9' });
    const [dead] = await dls.waitFor(1);
    await idle(b);
    expect(sub.received).toHaveLength(1);
    expect(dead!.headers['ce-id']).toBe(event.id);
    expect(dead!.headers['ce-type']).toBe('dev.ordersaga.slot.requested');
    expect(dead!.headers['ce-tenant']).toBe('acme');
    expect(dead!.headers['ce-knativeerrordest']).toBe(sub.url);
    expect(dead!.headers['ce-knativeerrorcode']).toBe('422');
    expect(Buffer.from(String(dead!.headers['ce-knativeerrordata']), 'base64').toString()).toBe('slot name is required');
    expect(dead!.headers['x-request-id']).toBe('req-9');
    expect(dead!.headers.prefer).toBeUndefined();
    expect(JSON.parse(dead!.body.toString())).toEqual({ hello: 'world' });
    expect(b.stats()).toMatchObject({ deadLettered: 1, failed: 0 });
  });

  // The channel dead-letters its own copy of the event, TTL included (pkg/kncloudevents/event_dispatcher.go),
  // and names as knativeerrordest the subscriber URI the broker filter reported (pkg/broker/filter/filter_handler.go).
  it('dead-letters with knativebrokerttl, and knativeerrordest the subscriber URI as written (event_dispatcher.go)', async () => {
    const sub = await subscriber(() => ({ status: 400 }));
    const dls = await subscriber();
    const subscriberUri = sub.url.replace(/\/$/, '');
    const { ingress } = await broker([brokerManifest(), triggerManifest('t', subscriberUri, { delivery: { deadLetterSink: { uri: dls.url } } })]);
    await post(ingress, testEvent('x', { knativebrokerttl: 7 }));
    const [dead] = await dls.waitFor(1);
    expect(dead!.headers['ce-knativeerrordest']).toBe(subscriberUri);
    expect(dead!.headers['ce-knativebrokerttl']).toBe('6');
    expect(sub.received[0]!.headers['ce-knativebrokerttl']).toBeUndefined();
  });

  // config-br-defaults (../shared/schemas/knative/configmaps/default-broker.yaml) and the Broker's defaulting
  // (pkg/apis/eventing/v1/broker_defaults.go): retry 10, exponential, PT0.2S for a Broker with no delivery.
  it("gives a Broker without delivery config-br-defaults' retry 10, exponential backoff of PT0.2S (broker_defaults.go)", async () => {
    const sub = await subscriber((_req, i) => ({ status: i < 3 ? 503 : 202 }));
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url)]);
    await post(ingress, testEvent('x'));
    const received = await sub.waitFor(4, 5_000);
    await idle(b);
    const gaps = received.slice(1).map((r, i) => r.at - received[i]!.at);
    [200, 400, 800].forEach((expected, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(expected - 5);
      expect(gaps[i]).toBeLessThanOrEqual(expected + 150);
    });
    expect(b.stats()).toMatchObject({ retried: 3, delivered: 1 });
  });

  it('truncates knativeerrordata to 1024 base64 characters', async () => {
    const sub = await subscriber(() => ({ status: 400, body: 'x'.repeat(5_000) }));
    const dls = await subscriber();
    const { ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { deadLetterSink: { uri: dls.url } } })]);
    await post(ingress, testEvent('x'));
    const [dead] = await dls.waitFor(1);
    expect(String(dead!.headers['ce-knativeerrordata'])).toHaveLength(1024);
  });

  it("uses the Trigger's delivery instead of the Broker's, wholesale", async () => {
    const sub = await subscriber(() => ({ status: 500 }));
    const brokerDls = await subscriber();
    const { broker: b, ingress } = await broker([
      brokerManifest('default', 'ordersaga', { retry: 4, deadLetterSink: { uri: brokerDls.url } }),
      // The Trigger sets only retry: the Broker's dead-letter sink does not carry over.
      triggerManifest('t', sub.url, { delivery: { retry: 1 } }),
    ]);
    await post(ingress, testEvent('x'));
    await sub.waitFor(2);
    await idle(b);
    expect(sub.received).toHaveLength(2);
    expect(brokerDls.received).toHaveLength(0);
    expect(b.stats()).toMatchObject({ failed: 1, deadLettered: 0 });
  });

  it("falls back to the Broker's delivery when the Trigger has none", async () => {
    const sub = await subscriber(() => ({ status: 500 }));
    const brokerDls = await subscriber();
    const { broker: b, ingress } = await broker([
      brokerManifest('default', 'ordersaga', { retry: 2, deadLetterSink: { uri: brokerDls.url } }),
      triggerManifest('t', sub.url),
    ]);
    await post(ingress, testEvent('x'));
    await brokerDls.waitFor(1);
    await idle(b);
    expect(sub.received).toHaveLength(3);
    expect(b.stats()).toMatchObject({ deadLettered: 1 });
  });

  it('honours Retry-After on a 429 when retryAfterMax is set (and its feature, delivery-retryafter, is on)', async () => {
    const sub = await subscriber((_req, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 202 }));
    const features = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-features', namespace: 'knative-eventing' }, data: { 'delivery-retryafter': 'enabled' } };
    const { broker: b, ingress } = await broker([brokerManifest(), features, triggerManifest('t', sub.url, { delivery: { retry: 1, retryAfterMax: 'PT0.2S' } })]);
    await post(ingress, testEvent('x'));
    const received = await sub.waitFor(2);
    await idle(b);
    const gap = received[1]!.at - received[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(195);
    expect(gap).toBeLessThan(900);
  });
});

describe('the Broker observer', () => {
  const { subscriber, broker } = useBrokerFixtures();

  it('is told of each accepted event, each attempt and the dead letter, and of a reply taken back in', async () => {
    const accepted: { type: unknown; reply: boolean }[] = [];
    const attempts: DeliveryAttempt[] = [];
    const observer: BrokerObserver = {
      accepted: (event, where) => accepted.push({ type: event.attributes.type, reply: where.reply }),
      attempted: (attempt) => attempts.push(attempt),
    };
    const dls = await subscriber();
    const failing = await subscriber(() => ({ status: 503 }));
    const replying = await subscriber((req) =>
      String(req.headers['ce-type']) === 'x' ? { status: 200, headers: { 'ce-specversion': '1.0', 'ce-id': 'r1', 'ce-source': '/r', 'ce-type': 'y' } } : { status: 202 },
    );
    const { broker: b, ingress } = await broker(
      [
        brokerManifest(),
        triggerManifest('fails', failing.url, { filter: { attributes: { type: 'x' } }, delivery: { retry: 1, deadLetterSink: { uri: dls.url } } }),
        triggerManifest('replies', replying.url),
      ],
      { observer },
    );
    await post(ingress, testEvent('x'));
    await dls.waitFor(1);
    await replying.waitFor(2);
    await b.settled();
    expect(accepted).toEqual([
      { type: 'x', reply: false },
      { type: 'y', reply: true },
    ]);
    const ofFailing = attempts.filter((a) => a.trigger === 'fails');
    expect(ofFailing.map((a) => [a.deadLetterSink, a.attempt, a.status, a.outcome])).toEqual([
      [false, 1, 503, 'retrying'],
      [false, 2, 503, 'failed'],
      [true, 1, 202, 'delivered'],
    ]);
    expect(ofFailing[2]!.event.attributes.knativeerrorcode).toBe(503);
    expect(attempts.filter((a) => a.trigger === 'replies').map((a) => [a.event.attributes.type, a.outcome])).toEqual(
      expect.arrayContaining([
        ['x', 'replied'],
        ['y', 'delivered'],
      ]),
    );
  });
});
