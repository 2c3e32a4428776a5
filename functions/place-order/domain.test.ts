/** Orders, called directly: placing, and every transition, table-driven from each status. */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { useTestDatabase } from '../../test/db.js';
import { consumeStep, runStep, seedAccount, seedSlot } from '../../test/fixtures.js';
import { AWAIT_FUNDS, CANCEL_ORDER, CONFIRM_ORDER, PLACE_ORDER, REQUEST_CANCEL, SETTLED_CHANNEL } from './domain.js';
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

describe('orders_settle_waiter (the answer of POST /orders with Prefer: wait)', () => {
  /** An Idempotency-Key record of a POST /orders for `orderId`, held (its request waiting) or not. */
  async function keyFor(orderId: string, held: boolean): Promise<string> {
    const key = newId();
    await t.db('idempotency_keys').insert({
      scope: account, key, fingerprint: 'f', status_code: 202, response: JSON.stringify({ id: orderId, status: 'pending' }),
      held_until: held ? new Date(Date.now() + 60_000) : null,
    });
    return key;
  }
  /** Records the order's letter as notify does (a delivery: inbox, effect, notification.sent); returns what was NOTIFYed on the channel. */
  async function recordLetter(orderId: string): Promise<string[]> {
    const listener = new pg.Client({ connectionString: t.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (msg) => heard.push(msg.payload!));
    await listener.query(`listen ${SETTLED_CHANNEL}`);
    try {
      await consumeStep(t.db, 'notify', 'notify_record', {
        notificationId: newId(), orderId, accountId: account, letter: 'happy', to: 'x@example.com', subject: 's', body: 'b', status: 'dry-run', messageId: 'm',
      });
      // NOTIFY is delivered after the commit, asynchronously: give it a moment.
      for (let waited = 0; heard.length === 0 && waited < 500; waited += 25) await new Promise((r) => setTimeout(r, 25));
      return heard;
    } finally {
      await listener.end();
    }
  }
  const recordOf = (key: string) => t.db('idempotency_keys').where({ scope: account, key }).first();

  it('the letter completes the held record with 201 and the final order, history and all, and NOTIFYs that answer', async () => {
    const order = await orderIn('confirmed');
    const key = await keyFor(order.orderId, true);
    const heard = await recordLetter(order.orderId);
    expect(heard).toHaveLength(1);
    const answer = JSON.parse(heard[0]!);
    expect(answer).toMatchObject({ orderId: order.orderId, status: 201, body: { id: order.orderId, status: 'confirmed' } });
    expect(answer.body.history.map((h: { step: string }) => h.step)).toEqual(['notification.sent']);
    expect(await recordOf(key)).toMatchObject({ status_code: 201, held_until: null, response: answer.body });
  });

  it('leaves a record no longer held (its request answered) as it is, and NOTIFYs nothing', async () => {
    const order = await orderIn('cancelled');
    const key = await keyFor(order.orderId, false);
    const before = await recordOf(key);
    expect(await recordLetter(order.orderId)).toEqual([]);
    expect(await recordOf(key)).toEqual(before);
  });
});
