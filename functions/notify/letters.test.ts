/** The letters, as customers read them. */
import { describe, expect, it } from 'vitest';
import type { OrderCancelled } from '../../events/index.js';
import { formatAmount, happyLetter, sorrowLetter } from './letters.js';

const order = { orderId: 'o-1', accountId: 'a-1', slotId: 's-1', seats: 2, amount: 6_005 };

describe('the letters', () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [100, '1.00'],
    [6_005, '60.05'],
  ])('write %i minor units as %s', (minor, text) => {
    expect(formatAmount(minor)).toBe(text);
  });

  it('confirm the order with its seats and what was charged', () => {
    const letter = happyLetter('Ada', order);
    expect(letter.subject).toBe('Your order o-1 is confirmed');
    expect(letter.body).toContain('Hello Ada,');
    expect(letter.body).toContain('Seats: 2. Charged: 60.05.');
  });

  it.each<[OrderCancelled['reason'], string]>([
    ['sold_out', 'the slot is sold out'],
    ['unknown_slot', 'the slot you asked for does not exist'],
    ['insufficient_funds', 'your balance did not cover the amount'],
    ['payment_timeout', 'the time to pay ran out'],
    ['customer_cancelled', 'you cancelled it'],
  ])('say why an order was cancelled (%s) and that nothing was charged', (reason, why) => {
    const letter = sorrowLetter('Bo', { ...order, reason });
    expect(letter.subject).toBe('Your order o-1 was cancelled');
    expect(letter.body).toContain(why);
    expect(letter.body).toContain(`(${reason})`);
    expect(letter.body).toContain('Nothing was charged.');
  });
});
