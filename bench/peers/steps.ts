/**
 * The journey's steps for the peers (Restate, DBOS), each one PostgreSQL
 * transaction over ordersaga's own schema, writing the rows ordersaga's
 * functions write (functions/<name>/domain.ts), so ordersaga's invariant
 * checker judges every system alike.
 *
 * Each step is safe to run again: a durable-execution engine runs a step at
 * least once (it may crash after the commit, before its journal has the
 * result), so every step dedupes on the order id (or the account, deposit or
 * slot id) inside its own transaction and answers a rerun with the decision
 * recorded the first time.
 *
 * What ordersaga also writes and these do not: the inbox, outbox and
 * idempotency records, its own delivery machinery; here the engine's journal
 * does that job.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { happyLetter, sorrowLetter } from '../../functions/notify/letters.ts';

export type CancelReason = 'sold_out' | 'unknown_slot' | 'insufficient_funds';
export type SeatsDecision = 'reserved' | 'sold_out' | 'unknown_slot';
export type PaymentDecision = 'charged' | 'declined';
export type OrderStatus = 'pending' | 'confirmed' | 'cancelled';

export interface NewAccount {
  accountId: string;
  email: string;
  name: string;
}

export interface Deposit {
  accountId: string;
  depositId: string;
  amount: number;
}

export interface NewSlot {
  slotId: string;
  name: string;
  capacity: number;
  price: number;
}

export interface OrderRequest {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
}

/** An order as the saga carries it from step to step. */
export interface PlacedOrder extends OrderRequest {
  amount: number;
}

export interface FinishedOrder {
  orderId: string;
  status: OrderStatus;
  reason: CancelReason | null;
  amount: number;
}

/** The order names an account that does not exist: no step can mend that, so it is not retried. */
export class UnknownAccountError extends Error {
  override readonly name = 'UnknownAccountError';
}

/** The steps, bound to a pool. */
export type Steps = ReturnType<typeof createSteps>;

export function createSteps(pool: pg.Pool) {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  async function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  return {
    /** An account and its balance of 0 (accounts). */
    openAccount: (a: NewAccount) =>
      transaction(async (c) => {
        const { rowCount } = await c.query('insert into accounts (id, email, name) values ($1, $2, $3) on conflict (id) do nothing', [
          a.accountId,
          a.email,
          a.name,
        ]);
        if (rowCount === 1) await c.query('insert into balances (account_id, balance) values ($1, 0)', [a.accountId]);
      }),

    /** Money in, once per deposit id (deposit); resolves with the balance. */
    deposit: (d: Deposit) =>
      transaction(async (c) => {
        const locked = await c.query('select balance from balances where account_id = $1 for update', [d.accountId]);
        if (locked.rowCount === 0) throw new UnknownAccountError(`No account ${d.accountId}`);
        const entered = await c.query(
          `insert into ledger (id, account_id, kind, amount, reference) values ($1, $2, 'deposit', $3, $4)
           on conflict (kind, reference) do nothing`,
          [randomUUID(), d.accountId, d.amount, d.depositId],
        );
        if (entered.rowCount === 0) return Number(locked.rows[0].balance);
        const { rows } = await c.query('update balances set balance = balance + $2, updated_at = now() where account_id = $1 returning balance', [
          d.accountId,
          d.amount,
        ]);
        return Number(rows[0].balance);
      }),

    /** A slot (reserve-slot's catalogue). */
    createSlot: (s: NewSlot) =>
      transaction(async (c) => {
        await c.query('insert into slots (id, name, capacity, price, reserved) values ($1, $2, $3, $4, 0) on conflict (id) do nothing', [
          s.slotId,
          s.name,
          s.capacity,
          s.price,
        ]);
      }),

    /** The order, pending, priced from the catalogue (place-order); an unknown slot costs 0. */
    placeOrder: (o: OrderRequest): Promise<PlacedOrder> =>
      transaction(async (c) => {
        const { rows } = await c.query<{ account: string | null; price: string | null }>(
          'select (select id from accounts where id = $1) as account, (select price from slots where id = $2) as price',
          [o.accountId, o.slotId],
        );
        if (!rows[0]?.account) throw new UnknownAccountError(`No account ${o.accountId}`);
        const amount = rows[0].price === null ? 0 : Number(rows[0].price) * o.seats;
        await c.query(
          `insert into orders (id, account_id, slot_id, seats, amount, status) values ($1, $2, $3, $4, $5, 'pending')
           on conflict (id) do nothing`,
          [o.orderId, o.accountId, o.slotId, o.seats, amount],
        );
        // A rerun keeps the amount decided the first time.
        const placed = await c.query<{ amount: string }>('select amount from orders where id = $1', [o.orderId]);
        return { ...o, amount: Number(placed.rows[0]!.amount) };
      }),

    /** Takes the seats if the slot has them, under the slot's lock, so it is never oversold (reserve-slot). */
    reserveSeats: (o: PlacedOrder): Promise<SeatsDecision> =>
      transaction(async (c) => {
        await c.query('select id from slots where id = $1 for update', [o.slotId]);
        const decided = await c.query<{ held: string | null; rejected: SeatsDecision | null }>(
          'select (select status from reservations where order_id = $1) as held, (select reason from slot_rejections where order_id = $1) as rejected',
          [o.orderId],
        );
        if (decided.rows[0]?.held) return 'reserved';
        if (decided.rows[0]?.rejected) return decided.rows[0].rejected;
        const taken = await c.query('update slots set reserved = reserved + $2 where id = $1 and reserved + $2 <= capacity', [o.slotId, o.seats]);
        if (taken.rowCount === 1) {
          await c.query(`insert into reservations (order_id, slot_id, seats, status) values ($1, $2, $3, 'active')`, [o.orderId, o.slotId, o.seats]);
          return 'reserved';
        }
        const exists = await c.query('select 1 from slots where id = $1', [o.slotId]);
        const reason: SeatsDecision = exists.rowCount === 1 ? 'sold_out' : 'unknown_slot';
        await c.query('insert into slot_rejections (order_id, slot_id, reason) values ($1, $2, $3) on conflict (order_id) do nothing', [
          o.orderId,
          o.slotId,
          reason,
        ]);
        return reason;
      }),

    /** Takes the amount only if the balance covers it, under the balance's lock; decided once per order (charge). */
    charge: (o: PlacedOrder): Promise<PaymentDecision> =>
      transaction(async (c) => {
        await c.query('select 1 from balances where account_id = $1 for update', [o.accountId]);
        const decided = await c.query<{ outcome: PaymentDecision }>('select outcome from payments where order_id = $1', [o.orderId]);
        if (decided.rows[0]) return decided.rows[0].outcome;
        const taken = await c.query('update balances set balance = balance - $2, updated_at = now() where account_id = $1 and balance >= $2', [
          o.accountId,
          o.amount,
        ]);
        const outcome: PaymentDecision = taken.rowCount === 1 ? 'charged' : 'declined';
        await c.query('insert into payments (order_id, account_id, amount, outcome) values ($1, $2, $3, $4)', [o.orderId, o.accountId, o.amount, outcome]);
        if (outcome === 'charged' && o.amount > 0) {
          await c.query(`insert into ledger (id, account_id, kind, amount, reference) values ($1, $2, 'charge', $3, $4)`, [
            randomUUID(),
            o.accountId,
            o.amount,
            o.orderId,
          ]);
        }
        return outcome;
      }),

    /** Compensation: gives the seats of a declined order back, once (reserve-slot). */
    releaseSeats: (o: PlacedOrder) =>
      transaction(async (c) => {
        const { rows } = await c.query<{ slot_id: string; seats: number }>(
          `update reservations set status = 'released', released_at = now() where order_id = $1 and status = 'active' returning slot_id, seats`,
          [o.orderId],
        );
        if (rows[0]) await c.query('update slots set reserved = reserved - $2 where id = $1', [rows[0].slot_id, rows[0].seats]);
      }),

    /** Pending → confirmed, or cancelled with `reason`, once; resolves with the order as it ends (place-order). */
    finishOrder: (o: PlacedOrder, reason: CancelReason | null): Promise<FinishedOrder> =>
      transaction(async (c) => {
        await c.query(`update orders set status = $2, reason = $3, updated_at = now() where id = $1 and status = 'pending'`, [
          o.orderId,
          reason === null ? 'confirmed' : 'cancelled',
          reason,
        ]);
        const { rows } = await c.query<{ status: OrderStatus; reason: CancelReason | null; amount: string }>(
          'select status, reason, amount from orders where id = $1',
          [o.orderId],
        );
        return { orderId: o.orderId, status: rows[0]!.status, reason: rows[0]!.reason, amount: Number(rows[0]!.amount) };
      }),

    /** The order's one letter, recorded as the dry-run mailer records it (notify). */
    sendLetter: (o: FinishedOrder & { accountId: string; seats: number; slotId: string }) =>
      transaction(async (c) => {
        const { rows } = await c.query<{ email: string; name: string }>('select email, name from accounts where id = $1', [o.accountId]);
        if (!rows[0]) throw new UnknownAccountError(`No account ${o.accountId}`);
        const order = { orderId: o.orderId, accountId: o.accountId, slotId: o.slotId, seats: o.seats, amount: o.amount };
        const [type, content] =
          o.status === 'confirmed'
            ? (['happy', happyLetter(rows[0].name, order)] as const)
            : (['sorrow', sorrowLetter(rows[0].name, { ...order, reason: o.reason ?? 'insufficient_funds' })] as const);
        const messageId = `dry-run-${Date.now().toString(16)}-${randomBytes(12).toString('hex')}`;
        // One letter per order: notifications.order_id is unique, so a rerun inserts nothing.
        await c.query(
          `insert into notifications (id, order_id, account_id, letter, "to", subject, body, status, message_id)
           values ($1, $2, $3, $4, $5, $6, $7, 'dry-run', $8) on conflict (order_id) do nothing`,
          [randomUUID(), o.orderId, o.accountId, type, rows[0].email, content.subject, content.body, messageId],
        );
      }),
  };
}
