/**
 * SPEC §7's invariants, checked with SQL over the database. Used by the
 * saga and chaos tests, by the benchmark after every level, and by
 * operators (`npm run check`).
 */
import type { Db } from './db.js';

export interface Violation {
  invariant: 1 | 2 | 3 | 4 | 5 | 6 | 7;
  detail: string;
}

export interface InvariantReport {
  ok: boolean;
  violations: Violation[];
  counts: { accounts: number; orders: number; confirmed: number; cancelled: number; pending: number; awaitingFunds: number; notifications: number };
}

export interface CheckOptions {
  /**
   * The saga has settled: every order must be terminal and notified (4, 5).
   * Without it, orders younger than `graceSeconds` may still be in flight.
   */
  settled?: boolean;
  graceSeconds?: number;
  /** The reconciler's tick: a waiting order must end by its deadline plus this (7). */
  tickSeconds?: number;
}

const rowsOf = async <T = Record<string, unknown>>(db: Db, sql: string, bindings: readonly (string | number)[] = []): Promise<T[]> =>
  ((await db.raw(sql, [...bindings])) as { rows: T[] }).rows;

export async function checkInvariants(db: Db, options: CheckOptions = {}): Promise<InvariantReport> {
  const grace = options.settled ? 0 : (options.graceSeconds ?? 60);
  const tick = options.tickSeconds ?? 60;
  const violations: Violation[] = [];
  const add = (invariant: Violation['invariant'], rows: Record<string, unknown>[], describe: (r: Record<string, unknown>) => string) =>
    rows.forEach((r) => violations.push({ invariant, detail: describe(r) }));

  // 1. balance = deposits − withdrawals − charges + refunds, and never negative.
  add(
    1,
    await rowsOf(
      db,
      `select b.account_id, b.balance, coalesce(sum(case l.kind when 'deposit' then l.amount when 'refund' then l.amount
                else -l.amount end), 0) as ledger
         from balances b left join ledger l on l.account_id = b.account_id
        group by b.account_id, b.balance
       having b.balance <> coalesce(sum(case l.kind when 'deposit' then l.amount when 'refund' then l.amount else -l.amount end), 0)
           or b.balance < 0`,
    ),
    (r) => `account ${r.account_id}: balance ${r.balance}, ledger says ${r.ledger}`,
  );

  // 2. Seats held by active reservations ≤ capacity, and the slot's counter agrees.
  add(
    2,
    await rowsOf(
      db,
      `select s.id, s.capacity, s.reserved, coalesce(sum(r.seats) filter (where r.status = 'active'), 0) as held
         from slots s left join reservations r on r.slot_id = s.id
        group by s.id
       having coalesce(sum(r.seats) filter (where r.status = 'active'), 0) > s.capacity
           or coalesce(sum(r.seats) filter (where r.status = 'active'), 0) <> s.reserved`,
    ),
    (r) => `slot ${r.id}: capacity ${r.capacity}, counter ${r.reserved}, active seats ${r.held}`,
  );

  // 3. Confirmed: one charge (when it costs anything) and one active reservation.
  //    Cancelled: no net charge and no active reservation.
  add(
    3,
    await rowsOf(
      db,
      `select o.id, o.status, o.amount,
              (select count(*) from ledger l where l.reference = o.id and l.kind = 'charge') as charges,
              (select coalesce(sum(case l.kind when 'charge' then l.amount else -l.amount end), 0)
                 from ledger l where l.reference = o.id and l.kind in ('charge', 'refund')) as net,
              (select count(*) from reservations r where r.order_id = o.id and r.status = 'active') as active
         from orders o
        where o.status in ('confirmed', 'cancelled')`,
    ).then((rows) =>
      rows.filter((r) =>
        r.status === 'confirmed'
          ? Number(r.charges) !== (Number(r.amount) > 0 ? 1 : 0) || Number(r.active) !== 1
          : Number(r.net) !== 0 || Number(r.active) !== 0,
      ),
    ),
    (r) => `order ${r.id} ${r.status}: ${r.charges} charges (net ${r.net}), ${r.active} active reservations`,
  );

  // 4. Every order reaches a terminal status.
  add(
    4,
    await rowsOf(db, `select id, created_at from orders where status = 'pending' and created_at < now() - make_interval(secs => ?)`, [grace]),
    (r) => `order ${r.id} still pending since ${(r.created_at as Date).toISOString()}`,
  );

  // 5. Every terminal order has exactly one notification, of the matching type.
  add(
    5,
    await rowsOf(
      db,
      `select o.id, o.status, count(n.id) as letters, string_agg(n.letter, ',') as types
         from orders o left join notifications n on n.order_id = o.id
        where o.status in ('confirmed', 'cancelled') and o.updated_at < now() - make_interval(secs => ?)
        group by o.id, o.status
       having count(n.id) <> 1
           or bool_or(n.letter <> case o.status when 'confirmed' then 'happy' else 'sorrow' end)`,
      [grace],
    ),
    (r) => `order ${r.id} ${r.status}: ${r.letters} letters (${r.types ?? 'none'})`,
  );

  // 6. Duplicates changed nothing: one placement and at most one outcome per order,
  //    one ledger entry per deposit, withdrawal and charge.
  add(
    6,
    await rowsOf(
      db,
      `select subject, type, count(*) as n from outbox
        where type in ('dev.ordersaga.order.placed', 'dev.ordersaga.order.confirmed', 'dev.ordersaga.order.cancelled',
                       'dev.ordersaga.slot.reserved', 'dev.ordersaga.payment.charged', 'dev.ordersaga.notification.sent')
        group by subject, type having count(*) > 1`,
    ),
    (r) => `${r.n} × ${r.type} for ${r.subject}`,
  );
  add(
    6,
    await rowsOf(
      db,
      `select subject from outbox where type in ('dev.ordersaga.order.confirmed', 'dev.ordersaga.order.cancelled')
        group by subject having count(distinct type) > 1`,
    ),
    (r) => `order ${r.subject} both confirmed and cancelled`,
  );
  add(
    6,
    await rowsOf(db, `select kind, reference, count(*) as n from ledger group by kind, reference having count(*) > 1`),
    (r) => `${r.n} ledger entries for ${r.kind} ${r.reference}`,
  );

  // 7. A waiting order holds its seats and no charge, and ends by its deadline plus one tick.
  add(
    7,
    await rowsOf(
      db,
      `select o.id,
              (select count(*) from reservations r where r.order_id = o.id and r.status = 'active') as active,
              (select count(*) from ledger l where l.reference = o.id and l.kind = 'charge') as charges
         from orders o where o.status = 'awaiting_funds'`,
    ).then((rows) => rows.filter((r) => Number(r.active) !== 1 || Number(r.charges) !== 0)),
    (r) => `order ${r.id} awaiting funds: ${r.active} active reservations, ${r.charges} charges`,
  );
  add(
    7,
    await rowsOf(
      db,
      `select order_id as id, deadline from payments where outcome = 'awaiting' and deadline < now() - make_interval(secs => ?)
       union all
       select id, payment_deadline from orders where status = 'awaiting_funds' and payment_deadline < now() - make_interval(secs => ?)`,
      [tick + grace, tick + grace],
    ),
    (r) => `order ${r.id} still waits for funds, past its deadline ${(r.deadline as Date).toISOString()} and a tick`,
  );

  const [counts] = await rowsOf<Record<string, string>>(
    db,
    `select (select count(*) from accounts) as accounts,
            (select count(*) from orders) as orders,
            (select count(*) from orders where status = 'confirmed') as confirmed,
            (select count(*) from orders where status = 'cancelled') as cancelled,
            (select count(*) from orders where status = 'pending') as pending,
            (select count(*) from orders where status = 'awaiting_funds') as "awaitingFunds",
            (select count(*) from notifications) as notifications`,
  );
  return {
    ok: violations.length === 0,
    violations,
    counts: Object.fromEntries(Object.entries(counts!).map(([k, v]) => [k, Number(v)])) as InvariantReport['counts'],
  };
}
