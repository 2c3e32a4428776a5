/** Orders, called directly: placing, and every transition, table-driven from each status. */
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { useTestDatabase } from '../../test/db.js';
import { runStep, seedAccount, seedSlot } from '../../test/fixtures.js';
import { AWAIT_FUNDS, CANCEL_ORDER, CONFIRM_ORDER, PLACE_ORDER, REQUEST_CANCEL } from './domain.js';
import type { OrderStatus } from './order.js';

let account: string;
let slot: string;
const t = useTestDatabase({
  setup: async (db) => {
    account = (await seedAccount(db)).id;
    slot = await seedSlot(db, 100, 250);
  },
});

const events = async (step: string, input: unknown) => (await runStep(t.db, step, input)).events.map((e) => e.name);
const statusOf = async (orderId: string) => (await t.db('orders').where({ id: orderId }).first('status', 'reason', 'payment_deadline'));

/** An order placed, then brought to `status` directly. */
async function orderIn(status: OrderStatus): Promise<{ orderId: string; accountId: string; slotId: string; seats: number; amount: number }> {
  const order = { orderId: newId(), accountId: account, slotId: slot, seats: 2, payWithin: 0 };
  await runStep(t.db, PLACE_ORDER, order);
  if (status !== 'pending') {
    await t.db('orders').where({ id: order.orderId }).update({ status, reason: status === 'cancelled' ? 'sold_out' : null });
  }
  return { orderId: order.orderId, accountId: account, slotId: slot, seats: 2, amount: 500 };
}

describe('orders_place', () => {
  it('places a pending order priced slot price × seats, once', async () => {
    const order = { orderId: newId(), accountId: account, slotId: slot, seats: 2, payWithin: 30 };
    const placed = await runStep<{ status: string; amount: number; payWithin: number }>(t.db, PLACE_ORDER, order);
    expect(placed.result).toMatchObject({ status: 'pending', amount: 500, payWithin: 30 });
    expect(placed.events).toEqual([{ name: 'order.placed', subject: order.orderId, data: { orderId: order.orderId, accountId: account, slotId: slot, seats: 2, amount: 500, payWithin: 30 } }]);
    expect((await runStep(t.db, PLACE_ORDER, order)).events).toEqual([]);
  });

  it('prices an order for an unknown slot at 0 (the saga cancels it unknown_slot)', async () => {
    const placed = await runStep<{ amount: number }>(t.db, PLACE_ORDER, { orderId: newId(), accountId: account, slotId: newId(), seats: 1, payWithin: 0 });
    expect(placed.result.amount).toBe(0);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an account that does not exist', { orderId: newId(), accountId: newId() }, 'OS404'],
    ['other details under an id that exists', { seats: 3 }, 'OS409'],
  ])('refuses %s (%s)', async (_, change, code) => {
    const order = { orderId: newId(), accountId: account, slotId: slot, seats: 2, payWithin: 0 };
    await runStep(t.db, PLACE_ORDER, order);
    await expect(runStep(t.db, PLACE_ORDER, { ...order, ...change })).rejects.toMatchObject({ code });
  });
});

describe('the transitions', () => {
  const deadline = new Date(Date.now() + 60_000).toISOString();
  it.each<[string, OrderStatus, string, Record<string, unknown>, OrderStatus, string[]]>([
    ['payment.charged confirms a pending order', 'pending', CONFIRM_ORDER, {}, 'confirmed', ['order.confirmed']],
    ['payment.charged confirms an order waiting for funds', 'awaiting_funds', CONFIRM_ORDER, {}, 'confirmed', ['order.confirmed']],
    ['payment.charged leaves a cancelled order cancelled', 'cancelled', CONFIRM_ORDER, {}, 'cancelled', []],
    ['slot.released cancels a pending order', 'pending', CANCEL_ORDER, { reason: 'insufficient_funds' }, 'cancelled', ['order.cancelled']],
    ['slot.released cancels an order waiting for funds', 'awaiting_funds', CANCEL_ORDER, { reason: 'payment_timeout' }, 'cancelled', ['order.cancelled']],
    ['slot.rejected leaves a confirmed order confirmed', 'confirmed', CANCEL_ORDER, { reason: 'sold_out' }, 'confirmed', []],
    ['payment.awaiting makes a pending order wait', 'pending', AWAIT_FUNDS, { deadline }, 'awaiting_funds', []],
    ['payment.awaiting after the payment was charged changes nothing', 'confirmed', AWAIT_FUNDS, { deadline }, 'confirmed', []],
  ])('%s', async (_, from, step, extra, to, emitted) => {
    const order = await orderIn(from);
    expect(await events(step, { ...order, ...extra })).toEqual(emitted);
    expect((await statusOf(order.orderId)).status).toBe(to);
  });

  it('keeps the reason of a cancellation and the deadline of a wait', async () => {
    const waiting = await orderIn('pending');
    await events(AWAIT_FUNDS, { ...waiting, deadline });
    expect((await statusOf(waiting.orderId)).payment_deadline.toISOString()).toBe(deadline);
    await events(CANCEL_ORDER, { ...waiting, reason: 'payment_timeout' });
    expect(await statusOf(waiting.orderId)).toMatchObject({ status: 'cancelled', reason: 'payment_timeout' });
  });
});

describe('orders_request_cancel (POST /orders/{id}/cancel)', () => {
  it('asks charge to cancel an order waiting for funds', async () => {
    const order = await orderIn('awaiting_funds');
    expect(await events(REQUEST_CANCEL, { orderId: order.orderId, accountId: account })).toEqual(['order.cancellation.requested']);
    expect((await statusOf(order.orderId)).status).toBe('awaiting_funds');
  });

  it.each<[OrderStatus, string]>([
    ['pending', 'OS409'],
    ['confirmed', 'OS409'],
    ['cancelled', 'OS409'],
  ])('refuses an order that is %s (%s)', async (status, code) => {
    const order = await orderIn(status);
    await expect(runStep(t.db, REQUEST_CANCEL, { orderId: order.orderId, accountId: account })).rejects.toMatchObject({ code, message: expect.stringContaining(status) });
  });

  it("answers another account's order as if it did not exist (OS404)", async () => {
    const order = await orderIn('awaiting_funds');
    await expect(runStep(t.db, REQUEST_CANCEL, { orderId: order.orderId, accountId: newId() })).rejects.toMatchObject({ code: 'OS404' });
  });
});
