import { describe, expect, it } from 'vitest';
import { BrokerConfigError, createBroker } from './index.js';
import { brokerManifest, pause, post, recordingLog, testEvent, triggerManifest, uriResolver, useBrokerFixtures } from './testing.js';

describe('asynchronous, concurrent delivery', () => {
  const { subscriber, broker, onCleanup } = useBrokerFixtures();

  /** A subscriber that holds every request until the test opens the gate. */
  async function gatedSubscriber() {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const sub = await subscriber(async () => {
      await gate;
      return { status: 202 };
    });
    onCleanup(async () => open());
    return { sub, open };
  }

  it('answers 202 before the subscriber has answered', async () => {
    const { sub, open } = await gatedSubscriber();
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('held', sub.url)]);
    const res = await post(ingress, testEvent('x'));
    expect(res.status).toBe(202);
    await sub.waitFor(1);
    expect(sub.active()).toBe(1);
    expect(b.stats()).toMatchObject({ accepted: 1, delivered: 0, inFlight: 1 });
    open();
    await b.settled();
    expect(b.stats()).toMatchObject({ delivered: 1, inFlight: 0 });
  });

  it('does not let a slow subscriber hold up another Trigger', async () => {
    const { sub: slow, open } = await gatedSubscriber();
    const fast = await subscriber();
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('slow', slow.url), triggerManifest('fast', fast.url)], {
      concurrencyPerTrigger: 2,
    });
    for (let i = 0; i < 6; i++) expect((await post(ingress, testEvent('x'))).status).toBe(202);
    await fast.waitFor(6);
    await slow.waitFor(2);
    // The slow subscriber holds its two places; the fast one got everything meanwhile.
    expect(slow.active()).toBe(2);
    expect(slow.received).toHaveLength(2);
    open();
    await b.settled();
    expect(slow.received).toHaveLength(6);
  });

  it('keeps at most concurrencyPerTrigger requests in flight to one subscriber', async () => {
    let peak = 0;
    const sub = await subscriber(() => {
      peak = Math.max(peak, sub.active());
      return { status: 202, delayMs: 30 };
    });
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url)], { concurrencyPerTrigger: 3 });
    await Promise.all(Array.from({ length: 12 }, () => post(ingress, testEvent('x'))));
    await sub.waitFor(12);
    await b.settled();
    expect(peak).toBe(3);
    expect(b.stats().delivered).toBe(12);
  });

  it('drain waits for deliveries in flight, retries included, then refuses new events', async () => {
    const sub = await subscriber((_req, i) => ({ status: i < 2 ? 503 : 202, delayMs: 50 }));
    const { broker: b, ingress } = await broker([
      brokerManifest(),
      triggerManifest('t', sub.url, { delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.1S' } }),
    ]);
    await post(ingress, testEvent('x'));
    const started = performance.now();
    const drained = b.drain(5_000);
    await drained;
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
    expect(sub.received).toHaveLength(3);
    expect(b.stats()).toMatchObject({ delivered: 1, inFlight: 0 });
    await expect(fetch(ingress, { method: 'POST' })).rejects.toThrow();
    await expect(b.publish('ordersaga', 'default', testEvent('late'))).rejects.toMatchObject({ status: 503 });
  });

  it('drain gives up after its timeout and abandons what is left', async () => {
    const sub = await subscriber(() => ({ status: 500 }));
    const {
      broker: b,
      ingress,
      log,
    } = await broker([brokerManifest(), triggerManifest('t', sub.url, { delivery: { retry: 5, backoffPolicy: 'linear', backoffDelay: 'PT10S' } })]);
    await post(ingress, testEvent('x'));
    await sub.waitFor(2);
    const started = performance.now();
    await b.drain(100);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(b.stats()).toMatchObject({ inFlight: 0, delivered: 0, failed: 1 });
    expect(log.lines.some((l) => l.message === 'delivery abandoned')).toBe(true);
  });

  it('chaos: delivers every matching event between min and max times', async () => {
    const sub = await subscriber();
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url)], { chaos: { duplicates: { min: 2, max: 4 } } });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const event = testEvent('x');
      ids.push(event.id);
      await post(ingress, event);
    }
    await b.settled();
    const counts = new Map<string, number>();
    for (const r of sub.received) counts.set(String(r.headers['ce-id']), (counts.get(String(r.headers['ce-id'])) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...ids].sort());
    for (const n of counts.values()) {
      expect(n).toBeGreaterThanOrEqual(2);
      expect(n).toBeLessThanOrEqual(4);
    }
    expect(new Set(counts.values()).size).toBeGreaterThan(1);
  });

  it('chaos: shuffles the order of a burst', async () => {
    const sub = await subscriber();
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url)], { chaos: { shuffle: true } });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const event = testEvent('x', { id: `e-${String(i).padStart(2, '0')}` });
      ids.push(event.id);
      await post(ingress, event);
    }
    await b.settled();
    const order = sub.received.map((r) => String(r.headers['ce-id']));
    expect([...order].sort()).toEqual(ids);
    expect(order).not.toEqual(ids);
  });

  it('delivers once per matching Trigger with chaos off', async () => {
    const sub = await subscriber();
    const { broker: b, ingress } = await broker([brokerManifest(), triggerManifest('t', sub.url)]);
    for (let i = 0; i < 5; i++) await post(ingress, testEvent('x'));
    await b.settled();
    await pause(20);
    expect(sub.received).toHaveLength(5);
  });

  it('refuses chaos settings that make no sense', () => {
    expect(() => createBroker({ manifests: [], resolve: uriResolver, log: recordingLog(), chaos: { duplicates: { min: 3, max: 2 } } })).toThrow(
      BrokerConfigError,
    );
    expect(() => createBroker({ manifests: [], resolve: uriResolver, log: recordingLog(), concurrencyPerTrigger: 0 })).toThrow(BrokerConfigError);
  });
});
