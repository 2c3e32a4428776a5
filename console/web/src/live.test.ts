/** The page's live store: rows with their attempts, the row cap, and pausing. */
import { describe, expect, it } from 'vitest';
import type { DeliveryItem, EventItem } from '../../server/api-types.js';
import { LiveStore, deliverySummary } from './live.js';

let seq = 0;
const event = (id: string, attributes: Record<string, string> = {}): EventItem => ({
  kind: 'event',
  seq: ++seq,
  at: '2026-01-01T00:00:00.000Z',
  reply: false,
  attributes: { specversion: '1.0', id, source: '/ordersaga/place-order', type: 'dev.ordersaga.order.placed', ...attributes },
  data: '{}',
  dataEncoding: 'utf8',
  dataTruncated: false,
});
const attempt = (id: string, trigger: string, n: number, status: number | null, outcome: DeliveryItem['outcome'], deadLetterSink = false): DeliveryItem => ({
  kind: 'delivery',
  seq: ++seq,
  at: '2026-01-01T00:00:00.000Z',
  namespace: 'ordersaga',
  trigger,
  url: 'http://127.0.0.1:8094/',
  deadLetterSink,
  event: { id, source: '/ordersaga/place-order', type: 'dev.ordersaga.order.placed', subject: null },
  attempt: n,
  status,
  ms: 3,
  outcome,
  reason: null,
});

describe('the live store', () => {
  it('lists events newest first, each with its delivery attempts', () => {
    const store = new LiveStore();
    store.add(event('a'));
    store.add(event('b'));
    store.add(attempt('a', 't', 1, 200, 'delivered'));
    expect(store.list().map((r) => [r.item.attributes.id, r.deliveries.length])).toEqual([
      ['b', 0],
      ['a', 1],
    ]);
  });

  it('keeps at most maxRows rows, and the attempts of a dropped row go nowhere', () => {
    const store = new LiveStore({ maxRows: 2 });
    for (const id of ['a', 'b', 'c']) store.add(event(id));
    store.add(attempt('a', 't', 1, 200, 'delivered'));
    expect(store.list().map((r) => r.item.attributes.id)).toEqual(['c', 'b']);
    expect(store.list().every((r) => r.deliveries.length === 0)).toBe(true);
  });

  it('caps the attempts kept per row', () => {
    const store = new LiveStore({ maxDeliveries: 3 });
    store.add(event('a'));
    for (let n = 1; n <= 5; n++) store.add(attempt('a', 't', n, 503, 'retrying'));
    expect(store.list()[0]!.deliveries.map((d) => d.attempt)).toEqual([3, 4, 5]);
  });

  it('holds new items while paused, shows them on resume, and counts what it had to drop', () => {
    const store = new LiveStore({ maxHeld: 2 });
    store.add(event('a'));
    store.pause();
    for (const id of ['b', 'c', 'd']) store.add(event(id));
    expect(store.list().map((r) => r.item.attributes.id)).toEqual(['a']);
    expect(store.heldCount).toBe(2);
    expect(store.missed).toBe(1);
    store.resume();
    expect(store.list().map((r) => r.item.attributes.id)).toEqual(['d', 'c', 'a']);
  });

  it('tells item listeners of everything at once, paused or not', () => {
    const store = new LiveStore();
    const seen: string[] = [];
    store.onItem((i) => seen.push(i.kind));
    store.pause();
    store.add(event('a'));
    store.add(attempt('a', 't', 1, 200, 'delivered'));
    expect(seen).toEqual(['event', 'delivery']);
  });

  it('gives a replayed event (same source and id) the attempts that follow it', () => {
    const store = new LiveStore();
    store.add(event('a'));
    store.add(attempt('a', 't', 1, 400, 'failed'));
    store.add(event('a'));
    store.add(attempt('a', 't', 1, 200, 'replied'));
    const [replay, first] = store.list();
    expect(first!.deliveries.map((d) => d.status)).toEqual([400]);
    expect(replay!.deliveries.map((d) => d.status)).toEqual([200]);
  });

  it('finds the events about a subject', () => {
    const store = new LiveStore();
    store.add(event('a', { subject: 'o1' }));
    store.add(event('b', { subject: 'o2' }));
    store.add(event('c', { subject: 'o1' }));
    expect(store.about('o1').map((r) => r.item.attributes.id)).toEqual(['a', 'c']);
  });
});

describe('the summary of an event’s deliveries', () => {
  it('gives each Trigger its attempts and last outcome, and says when it was dead-lettered', () => {
    const store = new LiveStore();
    store.add(event('a'));
    store.add(attempt('a', 'ok', 1, 200, 'replied'));
    store.add(attempt('a', 'bad', 1, 503, 'retrying'));
    store.add(attempt('a', 'bad', 2, 400, 'failed'));
    store.add(attempt('a', 'bad', 1, 204, 'delivered', true));
    expect(deliverySummary(store.list()[0]!)).toEqual([
      { trigger: 'ok', attempts: 1, status: 200, outcome: 'replied', deadLettered: false, ms: 3 },
      { trigger: 'bad', attempts: 2, status: 400, outcome: 'failed', deadLettered: true, ms: 3 },
    ]);
  });
});
