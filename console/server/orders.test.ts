/**
 * An order's view from a real database: the saga the real functions ran,
 * read back from their outbox and inboxes, and the API that serves it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { isTransient } from '../../lib/errors.js';
import { seedAccount, seedSlot } from '../../test/fixtures.js';
import { cloudEvent } from '../../test/harness.js';
import { startSagaStack, type SagaStack } from '../../test/saga-driver.js';
import type { OrderView } from './api-types.js';
import { createOrderSource, poolConfig, type OrderSource } from './orders.js';
import { sagaMapOf } from './saga-map.js';
import { consoleClient, startTestConsole, type TestConsole } from './testing.js';

const consumers = sagaMapOf().functions.map((f) => f.name);

describe('orders, read from the database', () => {
  let t: TestConsole;
  let saga: SagaStack;
  let orders: OrderSource;

  beforeAll(async () => {
    t = await startTestConsole();
    saga = await startSagaStack(t.db.url);
    orders = createOrderSource({ databaseUrl: t.db.url, consumers });
  });
  afterAll(async () => {
    await orders.close();
    await saga.close();
    await t.close();
  });

  async function order(balance: number, price: number): Promise<string> {
    const account = await seedAccount(t.db.db, balance);
    const slotId = await seedSlot(t.db.db, 5, price);
    const orderId = newId();
    await saga.drive(cloudEvent('order.requested', { accountId: account.id, slotId, orderId }));
    return orderId;
  }

  it('shows a confirmed order with every event of its saga in order, who produced each and who took it', async () => {
    const id = await order(10_000, 3_000);
    const found = (await orders.get(id))!;
    expect(found.order).toMatchObject({ id, seats: 1, amount: 3_000, status: 'confirmed', reason: null, payWithin: 0, paymentDeadline: null, reconcileAttempts: 0 });
    expect(found.events.map((e) => [e.name, e.producer, e.consumedBy.map((c) => c.consumer)])).toEqual([
      ['order.placed', 'place-order', ['reserve-slot']],
      ['slot.reserved', 'reserve-slot', ['charge']],
      ['payment.charged', 'charge', ['place-order']],
      ['order.confirmed', 'place-order', ['notify']],
      ['notification.sent', 'notify', []],
    ]);
    const times = found.events.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const placed = found.events[0]!;
    expect(placed.event).toMatchObject({ id: placed.id, type: 'dev.ordersaga.order.placed', subject: id, data: { orderId: id, amount: 3_000 } });
    expect(placed.delivery).toBe('reply');
    expect(Date.parse(placed.consumedBy[0]!.at)).toBeGreaterThanOrEqual(Date.parse(placed.at));
  });

  it('shows the compensation of an order that could not be paid', async () => {
    const id = await order(100, 3_000);
    const found = (await orders.get(id))!;
    expect(found.order).toMatchObject({ status: 'cancelled', reason: 'insufficient_funds' });
    expect(found.events.map((e) => e.name)).toEqual(['order.placed', 'slot.reserved', 'payment.declined', 'slot.released', 'order.cancelled', 'notification.sent']);
    expect(found.events.find((e) => e.name === 'slot.released')!.producer).toBe('reserve-slot');
  });

  it('lists the newest orders first, up to the limit', async () => {
    const first = await order(10_000, 1_000);
    const second = await order(10_000, 1_000);
    const recent = await orders.recent(2);
    expect(recent.map((o) => o.id)).toEqual([second, first]);
  });

  it('knows no order that is not there, or whose id is not a UUID', async () => {
    expect(await orders.get(newId())).toBeUndefined();
    expect(await orders.get("x' or 1=1 --")).toBeUndefined();
  });

  it('never writes: the server refuses any write on its connections', async () => {
    const pool = new pg.Pool(poolConfig(t.db.url, 1));
    try {
      await expect(pool.query("update orders set status = 'confirmed'")).rejects.toMatchObject({ code: '25006' });
      await expect(pool.query('select count(*) from orders')).resolves.toBeDefined();
    } finally {
      await pool.end();
    }
  });

  it('fails with a transient error while the database is unreachable', async () => {
    const url = new URL(t.db.url);
    url.port = '1';
    const down = createOrderSource({ databaseUrl: url.toString(), consumers });
    try {
      const failure = await down.recent(1).catch((err: unknown) => err);
      expect(isTransient(failure)).toBe(true);
      await expect(down.ready()).rejects.toThrow();
    } finally {
      await down.close();
    }
  });

  describe('through the API', () => {
    it('serves the order view: the order, its events, their delivery attempts still in the feed, and the saga map', async () => {
      const id = await order(10_000, 2_000);
      const client = consoleClient(t.url);
      await client.signIn();
      const answer = await client.call('GET', `/api/orders/${id}`);
      expect(answer.status).toBe(200);
      const view = answer.body as OrderView;
      expect(view.order.status).toBe('confirmed');
      expect(view.events).toHaveLength(5);
      // These events went through no Broker here, so the feed holds no attempts of them.
      expect(view.attempts).toEqual([]);
      expect(view.sagaMap.orderLanes).toEqual(['place-order', 'reserve-slot', 'charge', 'notify']);
      expect(view.sagaMap.compensations).toEqual({ 'slot.released': 'slot.reserved' });
      expect((await client.call('GET', '/api/orders?limit=1')).body).toEqual([expect.objectContaining({ id })]);
    });

    it('answers 404 for an unknown order and 503 while the database is down', async () => {
      const client = consoleClient(t.url);
      await client.signIn();
      expect((await client.call('GET', `/api/orders/${newId()}`)).status).toBe(404);
      const url = new URL(t.db.url);
      url.port = '1';
      const down = createOrderSource({ databaseUrl: url.toString(), consumers });
      const own = await startTestConsole({ orders: down });
      try {
        const other = consoleClient(own.url);
        await other.signIn();
        const answer = await other.call('GET', '/api/orders');
        expect(answer.status).toBe(503);
        expect(JSON.stringify(answer.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|password/);
      } finally {
        await own.close();
        await down.close();
      }
    });
  });
});
