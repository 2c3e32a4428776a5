/**
 * Slots and their reservations. Seats are taken with one conditional
 * UPDATE (`reserved + seats <= capacity`), so concurrent orders can never
 * oversell; a CHECK constraint on the table is the last line of defence.
 */
import type { Db } from '../../lib/db.js';
import { NotFoundError } from '../../lib/errors.js';
import type { Tx } from '../../lib/unit-of-work.js';
import type { OrderPlaced, PaymentDeclined } from '../../events/index.js';

export interface Slot {
  id: string;
  name: string;
  capacity: number;
  reserved: number;
  available: number;
  price: number;
}

interface SlotRow {
  id: string;
  name: string;
  capacity: number;
  reserved: number;
  price: number;
}

const toSlot = (row: SlotRow): Slot => ({
  id: row.id,
  name: row.name,
  capacity: row.capacity,
  reserved: row.reserved,
  available: row.capacity - row.reserved,
  price: row.price,
});

export async function createSlot(tx: Tx, input: { slotId: string; name: string; capacity: number; price: number }): Promise<Slot> {
  const [row] = await tx.trx('slots')
    .insert({ id: input.slotId, name: input.name, capacity: input.capacity, price: input.price, reserved: 0 })
    .returning<SlotRow[]>(['id', 'name', 'capacity', 'reserved', 'price']);
  await tx.emit({
    name: 'slot.created',
    subject: input.slotId,
    data: { slotId: input.slotId, name: input.name, capacity: input.capacity, price: input.price },
  });
  return toSlot(row!);
}

export async function listSlots(db: Db): Promise<Slot[]> {
  const rows = await db('slots').orderBy('created_at').select<SlotRow[]>('id', 'name', 'capacity', 'reserved', 'price');
  return rows.map(toSlot);
}

export async function findSlot(db: Db, slotId: string): Promise<Slot> {
  const row = await db('slots').where({ id: slotId }).first<SlotRow | undefined>('id', 'name', 'capacity', 'reserved', 'price');
  if (!row) throw new NotFoundError(`No slot ${slotId}`);
  return toSlot(row);
}

/** Reserves the order's seats, or rejects the order (`sold_out`, `unknown_slot`). */
export async function reserveSeats(tx: Tx, order: OrderPlaced): Promise<void> {
  // Lock the slot first: reservations of one slot then run one at a time, so a
  // concurrent delivery of the same order (under another event id) sees this
  // reservation instead of the seats it took, and is not rejected as sold_out.
  await tx.trx('slots').where({ id: order.slotId }).forUpdate().first('id');
  // Read after the lock, so a decision committed while this waited is seen.
  const { rows } = await tx.trx.raw<{ rows: { held: string | null; rejected: string | null }[] }>(
    'select (select status from reservations where order_id = ?) as held, (select reason from slot_rejections where order_id = ?) as rejected',
    [order.orderId, order.orderId],
  );
  if (rows[0]?.held || rows[0]?.rejected) return; // decided under another delivery of this order
  const [taken] = await tx.trx('slots')
    .where({ id: order.slotId })
    .andWhere(tx.trx.raw('reserved + ? <= capacity', [order.seats]))
    .update({ reserved: tx.trx.raw('reserved + ?', [order.seats]) })
    .returning('id');
  if (taken) {
    await tx.trx('reservations').insert({ order_id: order.orderId, slot_id: order.slotId, seats: order.seats, status: 'active' });
    await tx.emit({ name: 'slot.reserved', subject: order.orderId, data: order });
    return;
  }
  const exists = await tx.trx('slots').where({ id: order.slotId }).first('id');
  const reason = exists ? 'sold_out' : 'unknown_slot';
  // An unknown slot has no row to lock: a concurrent delivery may have decided first.
  const recorded = await tx.trx('slot_rejections')
    .insert({ order_id: order.orderId, slot_id: order.slotId, reason })
    .onConflict('order_id')
    .ignore()
    .returning('order_id');
  if (recorded.length === 0) return;
  await tx.emit({ name: 'slot.rejected', subject: order.orderId, data: { ...order, reason } });
}

/** Compensation: gives back the seats of an order whose payment was declined. */
export async function releaseSeats(tx: Tx, declined: PaymentDeclined): Promise<void> {
  const [released] = await tx.trx('reservations')
    .where({ order_id: declined.orderId, status: 'active' })
    .update({ status: 'released', released_at: tx.trx.fn.now() })
    .returning(['slot_id', 'seats']);
  if (!released) return; // nothing held, or released already
  await tx.trx('slots')
    .where({ id: released.slot_id })
    .update({ reserved: tx.trx.raw('reserved - ?', [released.seats]) });
  await tx.emit({
    name: 'slot.released',
    subject: declined.orderId,
    data: {
      orderId: declined.orderId,
      accountId: declined.accountId,
      slotId: declined.slotId,
      seats: declined.seats,
      amount: declined.amount,
      reason: declined.reason,
    },
  });
}
