/** An order's saga laid out in lanes: placement, compensation, retries, waits. */
import { describe, expect, it } from 'vitest';
import type { DeliveryItem, OrderView, SagaEvent } from '../../server/api-types.js';
import { sagaMapOf } from '../../server/saga-map.js';
import { OUTSIDE, sagaLayout } from './saga-layout.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s)).toISOString();
const event = (name: string, producer: string | null, consumedBy: string[] = [], s = 0): SagaEvent => ({
  id: `${name}-id`,
  name,
  type: `dev.ordersaga.${name}`,
  source: producer ? `/ordersaga/${producer}` : '/me',
  producer,
  at: at(s),
  publishedAt: at(s),
  delivery: 'reply',
  consumedBy: consumedBy.map((consumer) => ({ consumer, at: at(s + 1) })),
  event: {},
});
const view = (events: SagaEvent[], status: OrderView['order']['status'] = 'cancelled', attempts: DeliveryItem[] = []): OrderView => ({
  order: { id: 'o', accountId: 'a', slotId: 's', seats: 1, amount: 30, status, reason: null, payWithin: 0, paymentDeadline: null, createdAt: at(0), updatedAt: at(9), reconcileAttempts: 2 },
  events,
  attempts,
  sagaMap: sagaMapOf(),
});
const attempt = (eventId: string, trigger: string, n: number, status: number, outcome: DeliveryItem['outcome']): DeliveryItem => ({
  kind: 'delivery',
  seq: n,
  at: at(n),
  namespace: 'ordersaga',
  trigger,
  url: 'http://127.0.0.1:8093/',
  deadLetterSink: false,
  event: { id: eventId, source: '/ordersaga/reserve-slot', type: 'dev.ordersaga.slot.reserved', subject: 'o' },
  attempt: n,
  status,
  ms: 4,
  outcome,
  reason: null,
});

describe('the saga layout', () => {
  const declined = view([
    event('order.placed', 'place-order', ['reserve-slot'], 0),
    event('slot.reserved', 'reserve-slot', ['charge'], 1),
    event('payment.declined', 'charge', ['reserve-slot'], 2),
    event('slot.released', 'reserve-slot', ['place-order'], 3),
    event('order.cancelled', 'place-order', [], 4),
  ]);

  it('has a lane per function of the order saga, in saga order, and puts each event in its producer’s lane, in time order', () => {
    const layout = sagaLayout(declined);
    expect(layout.lanes).toEqual(['place-order', 'reserve-slot', 'charge', 'notify']);
    expect(layout.events.map((e) => [e.event.name, e.lane, e.column])).toEqual([
      ['order.placed', 'place-order', 0],
      ['slot.reserved', 'reserve-slot', 1],
      ['payment.declined', 'charge', 2],
      ['slot.released', 'reserve-slot', 3],
      ['order.cancelled', 'place-order', 4],
    ]);
  });

  it('marks the compensation, and only it', () => {
    expect(sagaLayout(declined).events.filter((e) => e.compensates).map((e) => [e.event.name, e.compensates])).toEqual([['slot.released', 'slot.reserved']]);
  });

  it('names who took each event, or who the saga map says will while nobody has', () => {
    const events = sagaLayout(declined).events;
    expect(events[0]!.consumers).toEqual([{ name: 'reserve-slot', at: at(1) }]);
    expect(events[4]!.consumers).toEqual([{ name: 'notify', at: undefined }]);
  });

  it('adds a lane for events from outside the functions (a command sent by hand)', () => {
    const layout = sagaLayout(view([event('order.requested', null, ['place-order']), event('order.placed', 'place-order')]));
    expect(layout.lanes[0]).toBe(OUTSIDE);
    expect(layout.events[0]!.lane).toBe(OUTSIDE);
  });

  it('shows retries per Trigger, from the server’s attempts and the page’s own, each attempt once', () => {
    const first = attempt('slot.reserved-id', 'charge-on-slot-reserved', 1, 503, 'retrying');
    const second = attempt('slot.reserved-id', 'charge-on-slot-reserved', 2, 200, 'replied');
    const layout = sagaLayout(view(declined.events, 'cancelled', [first]), [first, second]);
    const reserved = layout.events[1]!;
    expect(reserved.deliveries).toEqual([{ trigger: 'charge-on-slot-reserved', attempts: 2, status: 200, outcome: 'replied' }]);
    expect(reserved.retried).toBe(true);
    expect(layout.events[0]!.retried).toBe(false);
  });

  it('says when the order waits for funds, and how often the reconciler drove it on', () => {
    expect(sagaLayout(view([], 'awaiting_funds'))).toMatchObject({ waitingForFunds: true, redriven: 2 });
    expect(sagaLayout(view([], 'pending')).waitingForFunds).toBe(false);
  });
});
