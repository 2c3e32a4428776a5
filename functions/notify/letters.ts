/** The letters customers get about their orders. */
import type { OrderCancelled, OrderConfirmed } from '../../events/index.js';

export type LetterKind = 'happy' | 'sorrow';

const REASONS: Record<OrderCancelled['reason'], string> = {
  sold_out: 'the slot is sold out',
  unknown_slot: 'the slot you asked for does not exist',
  insufficient_funds: 'your balance did not cover the amount',
  payment_timeout: 'the time to pay ran out before your balance covered the amount',
  customer_cancelled: 'you cancelled it while it waited for funds',
};

/** Minor units as a plain decimal, e.g. 3000 → "30.00". */
export function formatAmount(minor: number): string {
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
}

export function happyLetter(name: string, order: OrderConfirmed): { subject: string; body: string } {
  return {
    subject: `Your order ${order.orderId} is confirmed`,
    body: [
      `Hello ${name},`,
      '',
      `Good news: your order ${order.orderId} is confirmed.`,
      `Seats: ${order.seats}. Charged: ${formatAmount(order.amount)}.`,
      '',
      'Thank you for booking with ordersaga.',
    ].join('\n'),
  };
}

export function sorrowLetter(name: string, order: OrderCancelled): { subject: string; body: string } {
  return {
    subject: `Your order ${order.orderId} was cancelled`,
    body: [
      `Hello ${name},`,
      '',
      `We are sorry: your order ${order.orderId} was cancelled because ${REASONS[order.reason]} (${order.reason}).`,
      'Nothing was charged.',
      '',
      'The ordersaga team',
    ].join('\n'),
  };
}
