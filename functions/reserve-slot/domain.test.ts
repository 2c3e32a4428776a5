/** Seats, called directly: reserving and releasing, table-driven over what the slot holds and what was decided before. */
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { useTestDatabase } from '../../test/db.js';
import { runStep, seedSlot } from '../../test/fixtures.js';
import { RELEASE_SEATS, RESERVE_SEATS } from './domain.js';

const t = useTestDatabase();

const placed = (slotId: string, seats: number) => ({ orderId: newId(), accountId: newId(), slotId, seats, amount: seats * 10 });
const events = async (step: string, input: unknown): Promise<Record<string, unknown>[]> =>
  (await runStep(t.db, step, input)).events.map((e) => ({ name: e.name, ...e.data }));
const reserved = async (slotId: string) => (await t.db('slots').where({ id: slotId }).first('reserved')).reserved as number;

describe('slots_reserve (order.placed)', () => {
  it.each([
    ['seats that fit', 3, 1, 2, 'slot.reserved', undefined, 3],
    ['exactly the last seats', 3, 2, 1, 'slot.reserved', undefined, 3],
    ['one seat too many', 3, 2, 2, 'slot.rejected', 'sold_out', 2],
  ])('with %s: %s', async (_, capacity, before, seats, event, reason, after) => {
    const slot = await seedSlot(t.db, capacity, 10);
    if (before > 0) await events(RESERVE_SEATS, placed(slot, before));
    const order = placed(slot, seats);
    expect(await events(RESERVE_SEATS, order)).toEqual([{ name: event, ...order, ...(reason ? { reason } : {}) }]);
    expect(await reserved(slot)).toBe(after);
  });

  it('rejects an order for a slot that does not exist unknown_slot', async () => {
    expect(await events(RESERVE_SEATS, placed(newId(), 1))).toEqual([expect.objectContaining({ name: 'slot.rejected', reason: 'unknown_slot' })]);
  });

  it.each(['reserved', 'rejected'])('decides once: an order already %s is decided no more', async (first) => {
    const slot = await seedSlot(t.db, 1, 10);
    const order = placed(slot, first === 'reserved' ? 1 : 2);
    await events(RESERVE_SEATS, order);
    expect(await events(RESERVE_SEATS, order)).toEqual([]);
    expect(await reserved(slot)).toBe(first === 'reserved' ? 1 : 0);
  });

  it('carries payWithin through to slot.reserved', async () => {
    const slot = await seedSlot(t.db, 1, 10);
    const order = { ...placed(slot, 1), payWithin: 30 };
    expect(await events(RESERVE_SEATS, order)).toEqual([{ name: 'slot.reserved', ...order }]);
  });
});

describe('slots_release (payment.declined, the compensation)', () => {
  it.each(['insufficient_funds', 'payment_timeout', 'customer_cancelled'])('gives the seats back once, slot.released with the reason %s', async (reason) => {
    const slot = await seedSlot(t.db, 5, 10);
    const order = placed(slot, 2);
    await events(RESERVE_SEATS, order);
    expect(await events(RELEASE_SEATS, { ...order, reason })).toEqual([{ name: 'slot.released', ...order, reason }]);
    expect(await reserved(slot)).toBe(0);
    expect(await events(RELEASE_SEATS, { ...order, reason })).toEqual([]);
    expect(await reserved(slot)).toBe(0);
  });

  it('releases nothing for an order that holds no seats', async () => {
    expect(await events(RELEASE_SEATS, { ...placed(newId(), 1), reason: 'insufficient_funds' })).toEqual([]);
  });
});
