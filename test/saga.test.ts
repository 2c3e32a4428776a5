import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../lib/invariants.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { balanceOf, seedAccount, seedSlot } from './fixtures.js';
import { CloudEvent } from 'cloudevents';
import { cloudEvent, deliver, request } from './harness.js';
import { startSagaStack, type SagaStack } from './saga-driver.js';

/** A PingSource tick, as Knative's adapter sends it. */
const pingEvent = () => new CloudEvent({ type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/ordersaga/pingsources/payment-deadlines', data: { task: 'expire-waiting-payments' } });

describe('the saga, function to function', () => {
  let t: TestDatabase;
  let stack: SagaStack;

  beforeAll(async () => {
    t = await createTestDatabase(20);
    stack = await startSagaStack(t.url);
  });
  afterAll(async () => {
    await stack.close();
    await t.destroy();
  });

  async function order(account: { id: string; token: string }, slotId: string, seats = 1) {
    const res = await request(stack.urls['place-order']!, 'POST', '/orders', {
      token: account.token,
      body: { accountId: account.id, slotId, seats },
      headers: { 'idempotency-key': `order-${Math.random()}` },
    });
    expect(res.status).toBe(202);
    return (res.body as { id: string }).id;
  }

  async function final(account: { token: string }, orderId: string) {
    const res = await request(stack.urls['place-order']!, 'GET', `/orders/${orderId}`, { token: account.token });
    expect(res.status).toBe(200);
    return res.body as { status: string; reason: string | null; amount: number; history: { step: string }[] };
  }

  async function letters(account: { id: string; token: string }) {
    const res = await request(stack.urls.notify!, 'GET', `/accounts/${account.id}/notifications`, { token: account.token });
    return res.body as { orderId: string; type: string; subject: string; body: string }[];
  }

  it.each([
    {
      story: 'an affordable order is confirmed, charged once, and gets the happy letter',
      balance: 10_000,
      seats: 2,
      saga: ['order.placed', 'slot.reserved', 'payment.charged', 'order.confirmed', 'notification.sent'],
      end: { status: 'confirmed', reason: null, amount: 6_000 },
      balanceAfter: 4_000,
      reservedAfter: 2,
      letter: 'happy',
    },
    {
      story: 'an unaffordable order is cancelled insufficient_funds, the seat is released, the balance unchanged',
      balance: 1_000,
      seats: 1,
      saga: ['order.placed', 'slot.reserved', 'payment.declined', 'slot.released', 'order.cancelled', 'notification.sent'],
      end: { status: 'cancelled', reason: 'insufficient_funds', amount: 3_000 },
      balanceAfter: 1_000,
      reservedAfter: 0,
      letter: 'sorrow',
    },
  ])('$story', async ({ balance, seats, saga, end, balanceAfter, reservedAfter, letter }) => {
    const customer = await seedAccount(t.db, balance);
    const slot = await seedSlot(t.db, 5, 3_000);
    const id = await order(customer, slot, seats);
    const events = await stack.drain();
    expect(events.map((e) => e.type.replace('dev.ordersaga.', ''))).toEqual(saga);
    expect(await final(customer, id)).toMatchObject(end);
    expect(await balanceOf(t.db, customer.id)).toBe(balanceAfter);
    expect((await t.db('slots').where({ id: slot }).first('reserved')).reserved).toBe(reservedAfter);
    expect(await letters(customer)).toEqual([expect.objectContaining({ orderId: id, type: letter })]);
  });

  it('an order for a sold-out slot is cancelled sold_out, nothing is charged, and the sorrow letter says why', async () => {
    const bo = await seedAccount(t.db, 10_000);
    const slot = await seedSlot(t.db, 1, 1_000);
    const first = await order(bo, slot);
    await stack.drain();
    const second = await order(bo, slot);
    await stack.drain();
    expect(await final(bo, first)).toMatchObject({ status: 'confirmed' });
    expect(await final(bo, second)).toMatchObject({ status: 'cancelled', reason: 'sold_out' });
    expect(await balanceOf(t.db, bo.id)).toBe(9_000);
    const sorrow = (await letters(bo)).find((l) => l.orderId === second)!;
    expect(sorrow.type).toBe('sorrow');
    expect(sorrow.body).toContain('sold_out');
  });

  it('an order for a slot that does not exist is cancelled unknown_slot', async () => {
    const di = await seedAccount(t.db, 1_000);
    const id = await order(di, '00000000-0000-4000-8000-000000000000');
    await stack.drain();
    expect(await final(di, id)).toMatchObject({ status: 'cancelled', reason: 'unknown_slot', amount: 0 });
  });

  it('an order.requested command ends confirmed, with its steps in the history', async () => {
    const ed = await seedAccount(t.db, 5_000);
    const slot = await seedSlot(t.db, 3, 500);
    const events = await stack.drive(cloudEvent('order.requested', { accountId: ed.id, slotId: slot }));
    const placed = events.find((e) => e.type === 'dev.ordersaga.order.placed')!;
    const orderId = (placed.data as { orderId: string }).orderId;
    const order = await final(ed, orderId);
    expect(order.status).toBe('confirmed');
    expect(order.history.map((h) => h.step)).toEqual(['order.placed', 'slot.reserved', 'payment.charged', 'order.confirmed', 'notification.sent']);
  });

  it('every event delivered three times still ends each journey exactly once', async () => {
    const fa = await seedAccount(t.db, 3_000);
    const slot = await seedSlot(t.db, 1, 2_000);
    const ok = await order(fa, slot);
    const short = await order(fa, slot);
    await stack.drain({ duplicates: 3 });
    expect(await final(fa, ok)).toMatchObject({ status: 'confirmed' });
    expect(await final(fa, short)).toMatchObject({ status: 'cancelled', reason: 'sold_out' });
    expect(await balanceOf(t.db, fa.id)).toBe(1_000);
    expect(await letters(fa)).toHaveLength(2);
  });

  it('30 concurrent orders for a 10-seat slot: exactly 10 confirmed, no balance negative', async () => {
    const slot = await seedSlot(t.db, 10, 700);
    const customers = await Promise.all(Array.from({ length: 30 }, () => seedAccount(t.db, 1_000)));
    const ids = await Promise.all(customers.map((c) => order(c, slot)));
    await stack.drain();
    const outcomes = await Promise.all(ids.map((id, i) => final(customers[i]!, id)));
    expect(outcomes.filter((o) => o.status === 'confirmed')).toHaveLength(10);
    expect(outcomes.filter((o) => o.reason === 'sold_out')).toHaveLength(20);
    const slotRow = await t.db('slots').where({ id: slot }).first('reserved');
    expect(slotRow.reserved).toBe(10);
    const balances = await Promise.all(customers.map((c) => balanceOf(t.db, c.id)));
    expect(balances.every((b) => b >= 0)).toBe(true);
    expect(balances.filter((b) => b === 300)).toHaveLength(10);
  });

  describe('an order that may wait for funds', () => {
    async function waitingOrder(payWithin = 30) {
      const cy = await seedAccount(t.db, 1_000);
      const slot = await seedSlot(t.db, 5, 3_000);
      const res = await request(stack.urls['place-order']!, 'POST', '/orders', {
        token: cy.token,
        body: { accountId: cy.id, slotId: slot, payWithin },
        headers: { 'idempotency-key': `order-${Math.random()}` },
      });
      const id = (res.body as { id: string }).id;
      const steps = (await stack.drain()).map((e) => e.type.replace('dev.ordersaga.', ''));
      expect(steps).toEqual(['order.placed', 'slot.reserved', 'payment.awaiting']);
      const waiting = await final(cy, id);
      expect(waiting).toMatchObject({ status: 'awaiting_funds' });
      expect(waiting.history.map((h) => h.step)).toEqual(steps);
      expect(await t.db('slots').where({ id: slot }).first('reserved')).toEqual({ reserved: 1 });
      expect(await balanceOf(t.db, cy.id)).toBe(1_000);
      return { cy, id, slot };
    }

    it('holds its seat and charges nothing, then a deposit that covers it confirms it and sends the happy letter', async () => {
      const { cy, id } = await waitingOrder();
      await request(stack.urls.deposit!, 'POST', `/accounts/${cy.id}/deposits`, { token: cy.token, body: { amount: 2_000 }, headers: { 'idempotency-key': `d-${id}` } });
      const steps = (await stack.drain()).map((e) => e.type.replace('dev.ordersaga.', ''));
      expect(steps).toEqual(['account.deposited', 'payment.charged', 'order.confirmed', 'notification.sent']);
      expect(await final(cy, id)).toMatchObject({ status: 'confirmed' });
      expect(await balanceOf(t.db, cy.id)).toBe(0);
      expect(await letters(cy)).toEqual([expect.objectContaining({ orderId: id, type: 'happy' })]);
    });

    it('a deposit that does not cover it leaves it waiting', async () => {
      const { cy, id } = await waitingOrder();
      await request(stack.urls.deposit!, 'POST', `/accounts/${cy.id}/deposits`, { token: cy.token, body: { amount: 1_000 }, headers: { 'idempotency-key': `d-${id}` } });
      expect((await stack.drain()).map((e) => e.type)).toEqual(['dev.ordersaga.account.deposited']);
      expect(await final(cy, id)).toMatchObject({ status: 'awaiting_funds' });
    });

    it('at its deadline is cancelled payment_timeout, its seat released, and the letter says the time ran out', async () => {
      const { cy, id, slot } = await waitingOrder(1);
      await new Promise((r) => setTimeout(r, 1_100));
      const tick = await deliver(stack.urls.charge!, pingEvent());
      expect(tick.status).toBe(204);
      const steps = (await stack.drain()).map((e) => e.type.replace('dev.ordersaga.', ''));
      expect(steps).toEqual(['payment.declined', 'slot.released', 'order.cancelled', 'notification.sent']);
      expect(await final(cy, id)).toMatchObject({ status: 'cancelled', reason: 'payment_timeout' });
      expect(await t.db('slots').where({ id: slot }).first('reserved')).toEqual({ reserved: 0 });
      expect(await balanceOf(t.db, cy.id)).toBe(1_000);
      const [letter] = await letters(cy);
      expect(letter).toMatchObject({ orderId: id, type: 'sorrow', body: expect.stringContaining('the time to pay ran out') });
    });

    it('cancelled by its owner while it waits: customer_cancelled, its seat released, a letter', async () => {
      const { cy, id, slot } = await waitingOrder();
      const res = await request(stack.urls['place-order']!, 'POST', `/orders/${id}/cancel`, { token: cy.token });
      expect(res.status).toBe(202);
      const steps = (await stack.drain()).map((e) => e.type.replace('dev.ordersaga.', ''));
      expect(steps).toEqual(['order.cancellation.requested', 'payment.declined', 'slot.released', 'order.cancelled', 'notification.sent']);
      expect(await final(cy, id)).toMatchObject({ status: 'cancelled', reason: 'customer_cancelled' });
      expect(await t.db('slots').where({ id: slot }).first('reserved')).toEqual({ reserved: 0 });
      expect((await request(stack.urls['place-order']!, 'POST', `/orders/${id}/cancel`, { token: cy.token })).status).toBe(409);
    });
  });

  it('leaves every invariant of SPEC §7 intact', async () => {
    const report = await checkInvariants(t.db, { settled: true });
    expect(report.violations).toEqual([]);
    expect(report.counts.pending).toBe(0);
    // One order still waits for funds (within its deadline), as its test left it.
    expect(report.counts.awaitingFunds).toBe(1);
    expect(report.counts.orders).toBe(42);
  });
});
