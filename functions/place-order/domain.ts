/**
 * Orders and their saga: placed (pending) → confirmed, or cancelled with a
 * reason. Each transition happens once (a conditional UPDATE on
 * `status = 'pending'`) and is announced on the `order_terminal` channel for
 * requests waiting with `Prefer: wait`. An order's history is the saga's own
 * record: every event about it in the outbox, with its time and id.
 */
import type { Db } from '../../lib/db.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import type { Tx } from '../../lib/unit-of-work.js';
import { TYPE_PREFIX, type OrderCancelled, type OrderPlaced } from '../../events/index.js';

export const TERMINAL_CHANNEL = 'order_terminal';

export type OrderStatus = 'pending' | 'confirmed' | 'cancelled';
export type CancelReason = OrderCancelled['reason'];

/** One saga step: the event that reported it, who emitted it, and when. */
export interface HistoryEntry {
  step: string;
  eventType: string;
  eventId: string;
  source: string;
  at: string;
}

export interface Order {
  id: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
  status: OrderStatus;
  reason: CancelReason | null;
  createdAt: string;
  updatedAt: string;
}

export interface OrderWithHistory extends Order {
  history: HistoryEntry[];
}

interface OrderRow {
  id: string;
  account_id: string;
  slot_id: string;
  seats: number;
  amount: number;
  status: OrderStatus;
  reason: CancelReason | null;
  created_at: Date;
  updated_at: Date;
}

const toOrder = (row: OrderRow): Order => ({
  id: row.id,
  accountId: row.account_id,
  slotId: row.slot_id,
  seats: row.seats,
  amount: row.amount,
  status: row.status,
  reason: row.reason,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

export interface NewOrder {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
}

/**
 * Places the order (pending) and announces `order.placed`. The amount is the
 * slot's price × seats; an unknown slot costs 0 and the saga cancels the
 * order as `unknown_slot`. Placing the same order again is a no-op.
 */
export async function placeOrder(tx: Tx, input: NewOrder): Promise<Order> {
  // One round trip for both reads. Prices are immutable once a slot exists,
  // so reading the catalogue here is safe.
  const { rows } = await tx.trx.raw<{ rows: { account: string | null; price: number | null }[] }>(
    'select (select id from accounts where id = ?) as account, (select price from slots where id = ?) as price',
    [input.accountId, input.slotId],
  );
  if (!rows[0]?.account) throw new NotFoundError(`No account ${input.accountId}`);
  const price = rows[0].price;
  const amount = price === null ? 0 : price * input.seats;
  const [row] = await tx.trx('orders')
    .insert({ id: input.orderId, account_id: input.accountId, slot_id: input.slotId, seats: input.seats, amount, status: 'pending' })
    .onConflict('id')
    .ignore()
    .returning<OrderRow[]>('*');
  if (!row) {
    const existing = await tx.trx('orders').where({ id: input.orderId }).first<OrderRow>();
    if (existing!.account_id !== input.accountId || existing!.slot_id !== input.slotId || existing!.seats !== input.seats) {
      throw new ConflictError(`Order ${input.orderId} exists with other details`);
    }
    return toOrder(existing!);
  }
  const placed: OrderPlaced = { orderId: row.id, accountId: row.account_id, slotId: row.slot_id, seats: row.seats, amount: row.amount };
  await tx.emit({ name: 'order.placed', subject: row.id, data: placed });
  return toOrder(row);
}

/** payment.charged → confirmed. */
export async function confirmOrder(tx: Tx, orderId: string): Promise<void> {
  const row = await finish(tx, orderId, 'confirmed', null);
  if (!row) return;
  await tx.emit({ name: 'order.confirmed', subject: orderId, data: orderCore(row) });
}

/** slot.rejected or slot.released → cancelled with `reason`. */
export async function cancelOrder(tx: Tx, orderId: string, reason: CancelReason): Promise<void> {
  const row = await finish(tx, orderId, 'cancelled', reason);
  if (!row) return;
  await tx.emit({ name: 'order.cancelled', subject: orderId, data: { ...orderCore(row), reason } });
}

const orderCore = (row: OrderRow) => ({
  orderId: row.id,
  accountId: row.account_id,
  slotId: row.slot_id,
  seats: row.seats,
  amount: row.amount,
});

/** Moves a pending order to its terminal status once; undefined if it was not pending. */
async function finish(tx: Tx, orderId: string, status: OrderStatus, reason: CancelReason | null): Promise<OrderRow | undefined> {
  // The transition and its announcement in one round trip (the NOTIFY is
  // delivered when the transaction commits, and not at all on a rollback).
  const { rows } = await tx.trx.raw<{ rows: OrderRow[] }>(
    `with finished as (
       update orders set status = ?, reason = ?, updated_at = now()
       where id = ? and status = 'pending' returning *
     )
     select finished.*, pg_notify(?, finished.id::text) from finished`,
    [status, reason, orderId, TERMINAL_CHANNEL],
  );
  return rows[0];
}

export async function findOrder(db: Db, orderId: string, accountId: string): Promise<OrderWithHistory> {
  // One round trip: the order and, as JSON, every event about it in the outbox.
  const row = await db('orders as o')
    .where({ 'o.id': orderId, 'o.account_id': accountId })
    .first<(OrderRow & { history: { id: string; type: string; source: string; at: string }[] }) | undefined>(
      'o.*',
      db.raw(
        `coalesce((select json_agg(json_build_object('id', e.id, 'type', e.type, 'source', e.source, 'at', e.created_at) order by e.created_at)
                   from outbox e where e.subject = o.id::text), '[]'::json) as history`,
      ),
    );
  if (!row) throw new NotFoundError(`No order ${orderId}`);
  return {
    ...toOrder(row),
    history: row.history.map((e) => ({
      step: e.type.replace(TYPE_PREFIX, ''),
      eventType: e.type,
      eventId: e.id,
      source: e.source,
      at: new Date(e.at).toISOString(),
    })),
  };
}

export async function listOrders(db: Db, accountId: string): Promise<Order[]> {
  const rows = await db('orders').where({ account_id: accountId }).orderBy('created_at').select<OrderRow[]>('*');
  return rows.map(toOrder);
}

/** The reconciler waits at most this many times `afterSeconds` between two drives of one order. */
export const RECONCILE_BACKOFF_CAP = 64;

/**
 * Orders whose saga has stalled: still pending, or terminal without their
 * letter, and untouched for `afterSeconds` (within the last day). An order
 * already driven on waits twice as long after each drive (up to
 * RECONCILE_BACKOFF_CAP times `afterSeconds`), so a backlog is not mistaken
 * for a loss on every tick.
 */
export async function stalledOrders(db: Db, afterSeconds: number, limit = 200): Promise<string[]> {
  return db('orders as o')
    .leftJoin('notifications as n', 'n.order_id', 'o.id')
    .where((q) => q.where('o.status', 'pending').orWhereNull('n.id'))
    .andWhere(
      db.raw('coalesce(o.reconciled_at, o.updated_at)'),
      '<',
      db.raw('now() - make_interval(secs => ? * least(power(2, o.reconcile_attempts), ?))', [afterSeconds, RECONCILE_BACKOFF_CAP]),
    )
    .andWhere('o.created_at', '>', db.raw("now() - interval '1 day'"))
    .orderBy('o.updated_at')
    .limit(limit)
    .pluck('o.id');
}

/** Records that the reconciler drove `orderIds` on now. */
export async function markReconciled(db: Db, orderIds: readonly string[]): Promise<void> {
  if (orderIds.length === 0) return;
  await db('orders')
    .whereIn('id', orderIds)
    .update({ reconciled_at: db.fn.now(), reconcile_attempts: db.raw('reconcile_attempts + 1') });
}
