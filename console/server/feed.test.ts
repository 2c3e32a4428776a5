/**
 * The live feed: what it keeps of an event, its bounds, resuming after a
 * sequence number, and a real Broker reporting to it.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../local/broker/events.js';
import { brokerManifest, post, testEvent, triggerManifest, useBrokerFixtures } from '../../local/broker/testing.js';
import type { DeliveryItem, EventItem } from './api-types.js';
import { createLiveFeed, dataOf } from './feed.js';

const event = (id: string, data?: string, attributes: Record<string, string> = {}): BrokerEvent => ({
  attributes: { specversion: '1.0', id, source: '/test', type: 'dev.ordersaga.order.placed', datacontenttype: 'application/json', ...attributes },
  data: data === undefined ? undefined : Buffer.from(data),
});

describe('dataOf', () => {
  it.each([
    ['JSON as text', 'application/json', Buffer.from('{"a":1}'), { data: '{"a":1}', dataEncoding: 'utf8', dataTruncated: false }],
    ['a +json type as text', 'application/problem+json; charset=utf-8', Buffer.from('{}'), { data: '{}', dataEncoding: 'utf8', dataTruncated: false }],
    ['plain text as text', 'text/plain', Buffer.from('hi'), { data: 'hi', dataEncoding: 'utf8', dataTruncated: false }],
    ['bytes as base64', 'application/octet-stream', Buffer.from([0xff, 0x00]), { data: '/wA=', dataEncoding: 'base64', dataTruncated: false }],
    ['long data cut at the limit', 'application/json', Buffer.from('x'.repeat(20)), { data: 'x'.repeat(8), dataEncoding: 'utf8', dataTruncated: true }],
  ])('keeps %s', (_name, contentType, data, expected) => {
    expect(dataOf({ attributes: { datacontenttype: contentType }, data }, 8)).toEqual(expected);
  });

  it('keeps no data as null', () => {
    expect(dataOf({ attributes: {}, data: undefined }, 8)).toEqual({ data: null, dataEncoding: 'utf8', dataTruncated: false });
  });
});

describe('the live feed', () => {
  it('numbers items in order and keeps each event whole: attributes, extensions and data', () => {
    const feed = createLiveFeed({}, () => new Date('2026-01-01T00:00:00Z'));
    feed.received(event('a', '{"orderId":"o"}', { knativearrivaltime: '2026-01-01T00:00:00Z' }));
    feed.observer.accepted(event('b'), { namespace: 'ordersaga', broker: 'default', reply: true });
    const [a, b] = feed.latest(10).map((e) => e.item as EventItem);
    expect(a).toMatchObject({ kind: 'event', seq: 1, at: '2026-01-01T00:00:00.000Z', reply: null, data: '{"orderId":"o"}' });
    expect(a!.attributes).toMatchObject({ id: 'a', knativearrivaltime: '2026-01-01T00:00:00Z' });
    expect(b).toMatchObject({ seq: 2, reply: true, data: null });
  });

  it('holds at most maxItems, dropping the oldest', () => {
    const feed = createLiveFeed({ maxItems: 3 });
    for (let i = 1; i <= 5; i++) feed.received(event(`e${i}`));
    expect(feed.latest(10).map((e) => e.item.seq)).toEqual([3, 4, 5]);
    expect(feed.size().items).toBe(3);
  });

  it('holds at most maxBytes of serialized items, dropping the oldest', () => {
    const feed = createLiveFeed({ maxBytes: 2000, maxDataBytes: 400 });
    for (let i = 1; i <= 50; i++) feed.received(event(`e${i}`, JSON.stringify({ pad: 'x'.repeat(390) })));
    const { items, bytes } = feed.size();
    expect(bytes).toBeLessThanOrEqual(2000);
    expect(items).toBeGreaterThan(0);
    expect(items).toBeLessThan(5);
    expect(feed.latest(1)[0]!.item.seq).toBe(50);
  });

  it('stays within its bounds over many items (the ring is compacted, not grown)', () => {
    const feed = createLiveFeed({ maxItems: 100 });
    for (let i = 1; i <= 20_000; i++) feed.received(event(`e${i}`));
    expect(feed.size().items).toBe(100);
    expect(feed.since(19_950).entries.map((e) => e.item.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 19_951 + i));
  });

  it('resumes after a sequence number, and says how many it no longer holds', () => {
    const feed = createLiveFeed({ maxItems: 3 });
    for (let i = 1; i <= 6; i++) feed.received(event(`e${i}`));
    expect(feed.since(5)).toMatchObject({ entries: [{ item: { seq: 6 } }], missed: 0 });
    expect(feed.since(6).entries).toEqual([]);
    const gap = feed.since(1);
    expect(gap.entries.map((e) => e.item.seq)).toEqual([4, 5, 6]);
    expect(gap.missed).toBe(2);
  });

  it('tells listeners of each new item, and a listener that throws harms neither the feed nor the others', () => {
    const feed = createLiveFeed();
    const seen: number[] = [];
    feed.subscribe(() => {
      throw new Error('broken listener');
    });
    const stop = feed.subscribe((entry) => seen.push(entry.item.seq));
    expect(() => feed.received(event('a'))).not.toThrow();
    stop();
    feed.received(event('b'));
    expect(seen).toEqual([1]);
    expect(feed.size().items).toBe(2);
  });

  it('gives clients each item as JSON, made once, and reckons its size close to that JSON', () => {
    const feed = createLiveFeed();
    feed.received(event('a', JSON.stringify({ orderId: 'c5d2e1f0-9a8b-4c7d-8e6f-5a4b3c2d1e0f', amount: 3000 }), { subject: 'c5d2e1f0-9a8b-4c7d-8e6f-5a4b3c2d1e0f' }));
    const [entry] = feed.latest(1);
    expect(JSON.parse(entry!.json)).toEqual(entry!.item);
    expect(entry!.json).toBe(entry!.json);
    const { bytes } = feed.size();
    expect(bytes).toBeGreaterThanOrEqual(entry!.json.length);
    expect(bytes).toBeLessThan(entry!.json.length * 1.5);
  });
});

describe('the live feed as the Broker observer', () => {
  const { subscriber, broker } = useBrokerFixtures();

  it('sees each accepted event and each attempt of each Trigger, retries and the dead letter included', async () => {
    const feed = createLiveFeed();
    const failing = await subscriber(() => ({ status: 503 }));
    const dls = await subscriber();
    const { broker: b, ingress } = await broker(
      [brokerManifest(), triggerManifest('fails', failing.url, { delivery: { retry: 1, deadLetterSink: { uri: dls.url } } })],
      { observer: feed.observer },
    );
    const sent = testEvent('dev.ordersaga.order.placed', { subject: 'order-1' });
    await post(ingress, sent);
    await dls.waitFor(1);
    await b.settled();
    const items = feed.latest(10).map((e) => e.item);
    expect(items[0]).toMatchObject({ kind: 'event', reply: false, attributes: { id: sent.id, type: 'dev.ordersaga.order.placed', subject: 'order-1' } });
    const attempts = items.filter((i): i is DeliveryItem => i.kind === 'delivery');
    expect(attempts.map((a) => [a.trigger, a.deadLetterSink, a.attempt, a.status, a.outcome])).toEqual([
      ['fails', false, 1, 503, 'retrying'],
      ['fails', false, 2, 503, 'failed'],
      ['fails', true, 1, 202, 'delivered'],
    ]);
    expect(attempts[0]!.event).toEqual({ id: sent.id, source: '/tests/broker', type: 'dev.ordersaga.order.placed', subject: 'order-1' });
    expect(feed.attemptsOf(new Set([sent.id]))).toHaveLength(3);
    expect(feed.attemptsOf(new Set(['another']))).toEqual([]);
  });
});
