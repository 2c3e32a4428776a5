/** Reading orders (./replies.js): the statuses, reasons and fields of orders that may wait for funds. */
import { describe, expect, it } from 'vitest';
import { ID, orderBody as order } from './fixtures.js';
import { outcomeOf } from './invariants.js';
import { asOrder } from './replies.js';

describe('asOrder', () => {
  it('reads an order waiting for funds, with its deadline and history', () => {
    const body = order({
      status: 'awaiting_funds',
      payWithin: 30,
      paymentDeadline: '2026-12-02T02:08:58.513Z',
      history: [
        { step: 'order.placed', eventType: 'dev.ordersaga.order.placed', eventId: 'e1', source: '/ordersaga/place-order', at: '2026-12-02T02:08:28.241Z' },
        { step: 'payment.awaiting', source: '/ordersaga/charge', at: '2026-12-02T02:08:28.513Z', deadline: '2026-12-02T02:08:58.513Z' },
      ],
    });
    expect(asOrder(body)).toMatchObject({ status: 'awaiting_funds', payWithin: 30, paymentDeadline: '2026-12-02T02:08:58.513Z' });
    expect(asOrder(body)?.history).toEqual([
      { step: 'order.placed', source: '/ordersaga/place-order', at: '2026-12-02T02:08:28.241Z' },
      { step: 'payment.awaiting', source: '/ordersaga/charge', at: '2026-12-02T02:08:28.513Z', deadline: '2026-12-02T02:08:58.513Z' },
    ]);
  });

  it.each(['payment_timeout', 'customer_cancelled', 'insufficient_funds'])('reads a cancelled order with reason %s', (reason) => {
    expect(outcomeOf(asOrder(order({ status: 'cancelled', reason }))!)).toBe(`cancelled:${reason}`);
  });

  it.each([
    ['an unknown status', { status: 'waiting' }],
    ['an unknown reason', { status: 'cancelled', reason: 'timeout' }],
    ['no payWithin', { payWithin: undefined }],
    ['a negative payWithin', { payWithin: -1 }],
    ['a deadline that is no time', { paymentDeadline: 'tomorrow' }],
    ['a history entry without its time', { history: [{ step: 'order.placed', source: '/ordersaga/place-order' }] }],
    ['a history that is no list', { history: {} }],
  ])('refuses %s', (_, fields) => expect(asOrder(order(fields))).toBeUndefined());
});
