/** The invariant arithmetic (./invariants.js) knows orders that wait for funds. */
import { describe, expect, it } from 'vitest';
import { ID, orderBody as order } from './fixtures.js';
import { isTerminal, notificationViolations } from './invariants.js';
import { asOrder } from './replies.js';

describe('isTerminal and the letters of waiting orders', () => {
  it.each([
    ['pending', false],
    ['awaiting_funds', false],
    ['confirmed', true],
    ['cancelled', true],
  ])('%s is terminal: %s', (status, terminal) => expect(isTerminal(asOrder(order({ status, reason: status === 'cancelled' ? 'sold_out' : null }))!)).toBe(terminal));

  it('a waiting order has no letter yet; one that has is a violation', () => {
    const waiting = asOrder(order({ status: 'awaiting_funds', payWithin: 30, paymentDeadline: '2026-12-02T02:08:58.513Z' }))!;
    expect(notificationViolations([waiting], [])).toEqual([]);
    const letter = { id: ID(9), orderId: waiting.id, type: 'sorrow' as const, to: 'a@example.com', subject: 's', status: 'dry-run' };
    expect(notificationViolations([waiting], [letter])).toEqual([`order ${waiting.id} is awaiting_funds but has 1 letters`]);
  });
});
