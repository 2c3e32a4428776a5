import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import type { OrderPlaced } from '../../events/index.js';

type Slot = { id: string; name: string; capacity: number; reserved: number; available: number; price: number };

import { seedAccount, seedSlot, snapshot } from '../../test/fixtures.js';
import { TEST_ADMIN_TOKEN, cloudEvent, deliver, deliverAll, expectReply, request, useFunction } from '../../test/harness.js';
import reserveSlot from './index.js';

describe('reserve-slot', () => {
  const f = useFunction(reserveSlot);
  let accountId: string;
  beforeAll(async () => {
    accountId = (await seedAccount(f.db)).id;
  });

  const createSlot = (body: unknown, options: { token?: string } = { token: TEST_ADMIN_TOKEN }) => request(f.url, 'POST', '/slots', { body, ...options });

  const slotRow = (id: string) => f.db('slots').where({ id }).first<{ reserved: number; capacity: number }>('reserved', 'capacity');
  const reservationOf = (orderId: string) => f.db('reservations').where({ order_id: orderId }).first();

  function placed(slotId: string, seats = 1, price = 1_000): OrderPlaced {
    return { orderId: newId(), accountId, slotId, seats, amount: price * seats };
  }

  describe('POST /slots', () => {
    it('with the admin token, creates the slot, answers 201 with it and emits slot.created to K_SINK', async () => {
      const res = await createSlot({ name: 'Morning race', capacity: 2, price: 3_000 });
      expect(res.status).toBe(201);
      const slot = res.body as Slot;
      expect(slot).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Morning race', capacity: 2, reserved: 0, available: 2, price: 3_000 });
      expect(res.headers.location).toBe(`/slots/${slot.id}`);
      expect(await slotRow(slot.id)).toEqual({ reserved: 0, capacity: 2 });
      const created = f.sink.ofType('slot.created');
      expect(created).toHaveLength(1);
      expect(created[0]!.source).toBe('/ordersaga/reserve-slot');
      expect(created[0]!.subject).toBe(slot.id);
      expect(created[0]!.datacontenttype).toBe('application/json');
      expect(created[0]!.dataschema).toBe('https://ordersaga.dev/events/slot.created.json');
      expect(created[0]!.data).toEqual({ slotId: slot.id, name: 'Morning race', capacity: 2, price: 3_000 });
    });

    it('accepts a free slot (price 0)', async () => {
      const res = await createSlot({ name: 'Open day', capacity: 100, price: 0 });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ price: 0, available: 100 });
    });

    it.each([
      ['no token', undefined],
      ['a wrong admin token', 'not-the-admin-token'],
      ['the admin token with one character changed', TEST_ADMIN_TOKEN.slice(0, -1) + 'x'],
      ["a customer's bearer token", 'v1.3f0c2a4e-8d1b-4a55-9b6e-2f3c1d0e9a11.' + 'A'.repeat(43)],
    ])('answers 401 for %s and creates nothing', async (_, token) => {
      const before = await snapshot(f.db);
      const res = await createSlot({ name: 'Nope', capacity: 1, price: 1 }, token === undefined ? {} : { token });
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized' });
      expect(await snapshot(f.db)).toEqual(before);
      expect(f.sink.events).toEqual([]);
    });

    it.each([
      ['a missing name', { capacity: 1, price: 1 }],
      ['an empty name', { name: '', capacity: 1, price: 1 }],
      ['capacity 0', { name: 'x', capacity: 0, price: 1 }],
      ['a fractional capacity', { name: 'x', capacity: 1.5, price: 1 }],
      ['a negative price', { name: 'x', capacity: 1, price: -1 }],
      ['a fractional price', { name: 'x', capacity: 1, price: 9.99 }],
      ['a price as a string', { name: 'x', capacity: 1, price: '10' }],
      ['an unknown field', { name: 'x', capacity: 1, price: 1, reserved: 1 }],
      ['an array', [{ name: 'x', capacity: 1, price: 1 }]],
    ])('refuses %s with a 400 problem document and creates nothing', async (_, body) => {
      const before = await snapshot(f.db);
      const res = await createSlot(body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'about:blank', status: 400, title: 'Bad Request', detail: expect.any(String) });
      expect(await snapshot(f.db)).toEqual(before);
      expect(f.sink.events).toEqual([]);
    });

    it('refuses malformed JSON with 400', async () => {
      const res = await request(f.url, 'POST', '/slots', { raw: '{"name":', token: TEST_ADMIN_TOKEN });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });
  });

  describe('GET /slots', () => {
    it('lists slots without any token, with seats reserved and available', async () => {
      const id = await seedSlot(f.db, 3, 500);
      await deliver(f.url, cloudEvent('order.placed', placed(id, 2, 500)));
      const res = await request(f.url, 'GET', '/slots');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(expect.arrayContaining([{ id, name: expect.any(String), capacity: 3, reserved: 2, available: 1, price: 500 }]));
    });

    it('GET /slots/{id} shows one slot without a token', async () => {
      const id = await seedSlot(f.db, 4, 250);
      const res = await request(f.url, 'GET', `/slots/${id}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id, name: expect.any(String), capacity: 4, reserved: 0, available: 4, price: 250 });
    });

    it('GET /slots/{id} answers 404 problem documents for an unknown id and for a non-UUID', async () => {
      for (const id of [newId(), 'slot-1']) {
        const res = await request(f.url, 'GET', `/slots/${id}`);
        expect(res.status, id).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 404, title: 'Not Found' });
      }
    });
  });

  describe('order.placed', () => {
    it('a rejected order stays rejected: a later delivery under a new event id reserves nothing, even with seats free', async () => {
      const slotId = await seedSlot(f.db, 1, 1_000);
      const first = placed(slotId);
      await deliver(f.url, cloudEvent('order.placed', first));
      const late = placed(slotId);
      const rejected = await deliver(f.url, cloudEvent('order.placed', late));
      expect(rejected.event?.data).toMatchObject({ reason: 'sold_out' });
      await deliver(f.url, cloudEvent('payment.declined', { ...first, reason: 'insufficient_funds' }));
      expect(await slotRow(slotId)).toEqual({ reserved: 0, capacity: 1 });
      const again = await deliver(f.url, cloudEvent('order.placed', late));
      expect(again.status).toBe(204);
      expect(await slotRow(slotId)).toEqual({ reserved: 0, capacity: 1 });
      expect(await reservationOf(late.orderId)).toBeUndefined();
    });

    it('reserves the seats and replies slot.reserved with the order', async () => {
      const slotId = await seedSlot(f.db, 5, 1_000);
      const order = placed(slotId, 2);
      const res = await deliver(f.url, cloudEvent('order.placed', order, { subject: order.orderId }));
      expectReply(res, 'slot.reserved', 'reserve-slot', order.orderId);
      expect(res.event?.data).toEqual(order);
      expect(await slotRow(slotId)).toEqual({ reserved: 2, capacity: 5 });
      expect(await reservationOf(order.orderId)).toMatchObject({ slot_id: slotId, seats: 2, status: 'active' });
    });

    it('accepts structured mode too', async () => {
      const slotId = await seedSlot(f.db, 1, 1_000);
      const res = await deliver(f.url, cloudEvent('order.placed', placed(slotId)), 'structured');
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.slot.reserved');
    });

    it('takes the last seats exactly: capacity is reachable, not exceedable', async () => {
      const slotId = await seedSlot(f.db, 3, 1_000);
      expect((await deliver(f.url, cloudEvent('order.placed', placed(slotId, 3)))).event?.type).toBe('dev.ordersaga.slot.reserved');
      expect((await deliver(f.url, cloudEvent('order.placed', placed(slotId, 1)))).event?.type).toBe('dev.ordersaga.slot.rejected');
    });

    it('rejects an order for more seats than are left with slot.rejected sold_out, and holds nothing', async () => {
      const slotId = await seedSlot(f.db, 2, 1_000);
      await deliver(f.url, cloudEvent('order.placed', placed(slotId, 1)));
      const order = placed(slotId, 2);
      const res = await deliver(f.url, cloudEvent('order.placed', order));
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.slot.rejected');
      expect(res.event?.subject).toBe(order.orderId);
      expect(res.event?.data).toEqual({ ...order, reason: 'sold_out' });
      expect(await slotRow(slotId)).toEqual({ reserved: 1, capacity: 2 });
      expect(await reservationOf(order.orderId)).toBeUndefined();
    });

    it('rejects an order for a slot that does not exist with slot.rejected unknown_slot', async () => {
      const order = placed(newId());
      const res = await deliver(f.url, cloudEvent('order.placed', order));
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.slot.rejected');
      expect(res.event?.data).toEqual({ ...order, reason: 'unknown_slot' });
      expect(await reservationOf(order.orderId)).toBeUndefined();
    });

    it('a redelivered rejection replies the same slot.rejected', async () => {
      const event = cloudEvent('order.placed', placed(newId()));
      const first = await deliver(f.url, event);
      const second = await deliver(f.url, event);
      expect(second.event?.id).toBe(first.event?.id);
      expect(second.event?.data).toMatchObject({ reason: 'unknown_slot' });
    });

    it('concurrent duplicates of one delivery reserve once, all answered 200 with one reply', async () => {
      const slotId = await seedSlot(f.db, 5, 1_000);
      const event = cloudEvent('order.placed', placed(slotId, 2));
      const answers = await Promise.all(Array.from({ length: 8 }, () => deliver(f.url, event)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(new Set(answers.map((a) => a.event?.id)).size).toBe(1);
      expect(await slotRow(slotId)).toEqual({ reserved: 2, capacity: 5 });
    });

    it('the same order under a different event id reserves once', async () => {
      const slotId = await seedSlot(f.db, 5, 1_000);
      const order = placed(slotId, 2);
      const first = await deliver(f.url, cloudEvent('order.placed', order));
      expect(first.event?.type).toBe('dev.ordersaga.slot.reserved');
      const again = await deliver(f.url, cloudEvent('order.placed', order));
      expect(again.status).toBeLessThan(300);
      expect(again.event?.type).not.toBe('dev.ordersaga.slot.rejected');
      expect(await slotRow(slotId)).toEqual({ reserved: 2, capacity: 5 });
      expect(await f.db('reservations').where({ order_id: order.orderId }).count()).toEqual([{ count: 1 }]);
    });

    it('the same order under different event ids at once reserves once and is never also rejected', async () => {
      // The slot holds the order once: a second attempt must see the reservation, not a full slot.
      const slotId = await seedSlot(f.db, 3, 1_000);
      const order = placed(slotId, 3);
      const answers = await Promise.all(Array.from({ length: 6 }, () => deliver(f.url, cloudEvent('order.placed', order))));
      // None is a final refusal: each is an ack, a reply, or a 5xx the Broker retries.
      expect(answers.every((a) => a.status < 300 || a.status >= 500)).toBe(true);
      expect(answers.filter((a) => a.event?.type === 'dev.ordersaga.slot.rejected')).toEqual([]);
      expect(answers.filter((a) => a.event?.type === 'dev.ordersaga.slot.reserved')).toHaveLength(1);
      expect(await slotRow(slotId)).toEqual({ reserved: 3, capacity: 3 });
    });

    it('30 concurrent orders for a 10-seat slot: exactly 10 reserved, 20 rejected sold_out, never oversold', async () => {
      const slotId = await seedSlot(f.db, 10, 1_000);
      const orders = Array.from({ length: 30 }, () => placed(slotId));
      const { 'slot.reserved': reserved = [], 'slot.rejected': rejected = [] } = await deliverAll(f.url, orders.map((o) => cloudEvent('order.placed', o)));
      expect(reserved).toHaveLength(10);
      expect(rejected).toHaveLength(20);
      expect(rejected.every((a) => (a.event?.data as { reason: string }).reason === 'sold_out')).toBe(true);
      expect(await slotRow(slotId)).toEqual({ reserved: 10, capacity: 10 });
      const active = await f.db('reservations').where({ slot_id: slotId, status: 'active' }).pluck('order_id');
      expect(active.sort()).toEqual(reserved.map((a) => (a.event?.data as OrderPlaced).orderId).sort());
    });

    it.each([
      ['seats 0', { seats: 0 }],
      ['a non-uuid slotId', { slotId: 'slot-1' }],
      ['a negative amount', { amount: -1 }],
      ['an unknown field', { price: 1 }],
    ])('answers 400 (final) for data with %s and changes nothing', async (_, change) => {
      const slotId = await seedSlot(f.db, 5, 1_000);
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('order.placed', { ...placed(slotId), ...change } as never));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('answers 400 for an event type it does not handle, and changes nothing', async () => {
      const slotId = await seedSlot(f.db, 5, 1_000);
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('slot.reserved', placed(slotId)));
      expect(res.status).toBe(400);
      expect(await snapshot(f.db)).toEqual(before);
    });
  });

  describe('payment.declined (compensation)', () => {
    async function reserve(slotId: string, seats: number): Promise<OrderPlaced> {
      const order = placed(slotId, seats);
      const res = await deliver(f.url, cloudEvent('order.placed', order));
      expect(res.event?.type).toBe('dev.ordersaga.slot.reserved');
      return order;
    }

    it('gives the seats back and replies slot.released with reason insufficient_funds', async () => {
      const slotId = await seedSlot(f.db, 4, 1_000);
      const order = await reserve(slotId, 3);
      expect(await slotRow(slotId)).toEqual({ reserved: 3, capacity: 4 });
      const res = await deliver(f.url, cloudEvent('payment.declined', { ...order, reason: 'insufficient_funds' }));
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.slot.released');
      expect(res.event?.subject).toBe(order.orderId);
      expect(res.event?.data).toEqual({ ...order, reason: 'insufficient_funds' });
      expect(await slotRow(slotId)).toEqual({ reserved: 0, capacity: 4 });
      expect(await reservationOf(order.orderId)).toMatchObject({ status: 'released', released_at: expect.any(Date) });
      // The seats are there for the next order.
      await reserve(slotId, 4);
    });

    it('releasing twice (two deliveries with different ids, even at once) releases once', async () => {
      const slotId = await seedSlot(f.db, 5, 1_000);
      const order = await reserve(slotId, 2);
      await reserve(slotId, 2);
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => deliver(f.url, cloudEvent('payment.declined', { ...order, reason: 'insufficient_funds' }))),
      );
      expect(answers.map((a) => a.status).every((s) => s === 200 || s === 204)).toBe(true);
      expect(answers.filter((a) => a.event?.type === 'dev.ordersaga.slot.released')).toHaveLength(1);
      expect(await slotRow(slotId)).toEqual({ reserved: 2, capacity: 5 });
    });

    it('a decline for an order that holds no seats releases nothing and is acknowledged', async () => {
      const slotId = await seedSlot(f.db, 5, 1_000);
      await reserve(slotId, 2);
      const res = await deliver(f.url, cloudEvent('payment.declined', { ...placed(slotId, 2), reason: 'insufficient_funds' }));
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(await slotRow(slotId)).toEqual({ reserved: 2, capacity: 5 });
    });

    it('answers 400 (final) for a decline with another reason, and changes nothing', async () => {
      const slotId = await seedSlot(f.db, 5, 1_000);
      const order = await reserve(slotId, 1);
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('payment.declined', { ...order, reason: 'sold_out' } as never));
      expect(res.status).toBe(400);
      expect(await snapshot(f.db)).toEqual(before);
    });
  });

  /** The function over a database nobody listens for. */
});
