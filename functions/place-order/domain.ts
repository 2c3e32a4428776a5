/**
 * Orders and their saga: placed (pending), perhaps awaiting funds, then
 * confirmed or cancelled with a reason. Each transition is one conditional
 * UPDATE, so it happens once. An order's history is the saga's own record:
 * every event about it in the outbox, with its time and id.
 */
import type { Queries } from '../../lib/pg.js';
import { NotFoundError } from '../../lib/errors.js';
import type { Order, OrderStatus } from './order.js';

/** The channel `Prefer: wait` listens on: the answer of a waited order whose saga is settled (orders_settle_waiter). */
export const SETTLED_CHANNEL = 'order_settled';

export const routines = [
  String.raw`
-- The order as the API shows it; with its history when p_history.
create or replace function orders_view(o orders, p_history boolean)
returns json language plpgsql stable as $$
begin
  return saga_json_add(json_build_object(
    'id', o.id, 'accountId', o.account_id, 'slotId', o.slot_id, 'seats', o.seats, 'amount', o.amount,
    'status', o.status, 'reason', o.reason, 'payWithin', o.pay_within, 'paymentDeadline', saga_time(o.payment_deadline),
    'createdAt', saga_time(o.created_at), 'updatedAt', saga_time(o.updated_at)),
    case when p_history then json_build_object('history', coalesce((
      select json_agg(json_strip_nulls(json_build_object(
               'step', substr(e.type, length('dev.ordersaga.') + 1), 'eventType', e.type, 'eventId', e.id, 'source', e.source,
               'at', saga_time(e.created_at), 'reason', e.event->'data'->>'reason', 'deadline', e.event->'data'->>'deadline'))
             order by e.created_at, e.id)
        from outbox e where e.subject = o.id::text), '[]'::json)) end);
end $$;

create or replace function orders_core(o orders)
returns json language plpgsql immutable as $$
begin
  return json_build_object('orderId', o.id, 'accountId', o.account_id, 'slotId', o.slot_id, 'seats', o.seats, 'amount', o.amount);
end $$;

-- {orderId, accountId, slotId, seats, payWithin}: the order (pending), and
-- order.placed. Its amount is the slot's price × seats; an unknown slot costs
-- 0 and the saga cancels the order unknown_slot. Placing it again is a no-op.
create or replace function orders_place(p json)
returns json language plpgsql as $$
declare
  o orders;
  v_price bigint;
begin
  if not exists (select 1 from accounts where id = (p->>'accountId')::uuid) then
    raise exception 'No account %', p->>'accountId' using errcode = 'OS404';
  end if;
  -- Prices are immutable once a slot exists, so reading the catalogue here is safe.
  select price into v_price from slots where id = (p->>'slotId')::uuid;
  insert into orders (id, account_id, slot_id, seats, amount, status, pay_within)
  values ((p->>'orderId')::uuid, (p->>'accountId')::uuid, (p->>'slotId')::uuid, (p->>'seats')::int,
          coalesce(v_price, 0) * (p->>'seats')::int, 'pending', (p->>'payWithin')::int)
  on conflict (id) do nothing returning * into o;
  if not found then
    select * into o from orders where id = (p->>'orderId')::uuid;
    if o.account_id <> (p->>'accountId')::uuid or o.slot_id <> (p->>'slotId')::uuid or o.seats <> (p->>'seats')::int
       or o.pay_within <> (p->>'payWithin')::int then
      raise exception 'Order % exists with other details', o.id using errcode = 'OS409';
    end if;
    return json_build_object('result', orders_view(o, false), 'events', '[]'::json);
  end if;
  return json_build_object('result', orders_view(o, false), 'events', json_build_array(saga_out('order.placed', o.id::text,
    saga_json_add(orders_core(o), json_build_object('payWithin', o.pay_within)))));
end $$;

-- POST /orders: 202 with a new (pending) order; an order that existed answers as it stands.
create or replace function orders_request(p json)
returns json language plpgsql as $$
declare
  placed json := orders_place(p);
begin
  return json_build_object('result', json_build_object(
    'status', case when placed->'result'->>'status' = 'pending' then 202 else 201 end, 'body', placed->'result'), 'events', placed->'events');
end $$;

-- payment.awaiting: the order waits for funds until its deadline.
create or replace function orders_await(p json)
returns json language plpgsql as $$
begin
  update orders set status = 'awaiting_funds', payment_deadline = (p->>'deadline')::timestamptz, updated_at = now()
   where id = (p->>'orderId')::uuid and status = 'pending';
  return json_build_object('events', '[]'::json);
end $$;

-- payment.charged: confirmed, and order.confirmed.
create or replace function orders_confirm(p json)
returns json language plpgsql as $$
declare
  o orders;
begin
  update orders set status = 'confirmed', updated_at = now()
   where id = (p->>'orderId')::uuid and status in ('pending', 'awaiting_funds') returning * into o;
  if not found then
    return json_build_object('events', '[]'::json);
  end if;
  return json_build_object('events', json_build_array(saga_out('order.confirmed', o.id::text, orders_core(o))));
end $$;

-- slot.rejected / slot.released: cancelled with the event's reason, and order.cancelled.
create or replace function orders_cancel(p json)
returns json language plpgsql as $$
declare
  o orders;
begin
  update orders set status = 'cancelled', reason = p->>'reason', updated_at = now()
   where id = (p->>'orderId')::uuid and status in ('pending', 'awaiting_funds') returning * into o;
  if not found then
    return json_build_object('events', '[]'::json);
  end if;
  return json_build_object('events', json_build_array(saga_out('order.cancelled', o.id::text,
    saga_json_add(orders_core(o), json_build_object('reason', o.reason)))));
end $$;

-- POST /orders/{id}/cancel by its owner: only an order waiting for funds can
-- be cancelled; charge decides (a deposit may have paid it first).
create or replace function orders_request_cancel(p json)
returns json language plpgsql as $$
declare
  o orders;
begin
  select * into o from orders where id = (p->>'orderId')::uuid and account_id = (p->>'accountId')::uuid;
  if not found then
    raise exception 'No order %', p->>'orderId' using errcode = 'OS404';
  end if;
  if o.status <> 'awaiting_funds' then
    raise exception 'Order % is %; only an order waiting for funds can be cancelled', o.id, o.status using errcode = 'OS409';
  end if;
  -- The cancellation belongs to the order's saga: it carries the context of its order.placed.
  return json_build_object('result', orders_view(o, true), 'events', json_build_array(saga_out_traced('order.cancellation.requested', o.id::text,
    json_build_object('orderId', o.id, 'accountId', o.account_id),
    (select json_build_object('traceparent', e.event->>'traceparent', 'tracestate', e.event->>'tracestate')
       from outbox e where e.subject = o.id::text and e.type = 'dev.ordersaga.order.placed' limit 1))));
end $$;

-- The saga of an order is settled when it is terminal and its letter is recorded.
create or replace function orders_settled(o orders)
returns boolean language plpgsql stable as $$
begin
  return o.status in ('confirmed', 'cancelled') and exists (select 1 from notifications n where n.order_id = o.id);
end $$;

-- The trigger of an order's notification.sent (its saga settled): the
-- Idempotency-Key record still holding a POST /orders that waits for it
-- (Prefer: wait) gets 201 and the final order, and the NOTIFY on commit
-- carries that answer to the waiting request (just the order's id should the
-- answer not fit a NOTIFY; the request then reads it with orders_finish_wait).
create or replace function orders_settle_waiter()
returns trigger language plpgsql as $$
declare
  o orders;
  v_status int;
  v_body json;
  v_answer text;
begin
  select * into o from orders where id = new.subject::uuid;
  v_status := case when orders_settled(o) then 201 else 202 end;
  v_body := orders_view(o, true);
  update idempotency_keys k set status_code = v_status, response = v_body, held_until = null
   where k.response->>'id' = new.subject and k.held_until is not null;
  if found then
    v_answer := json_build_object('orderId', o.id, 'status', v_status, 'body', v_body)::text;
    perform pg_notify('${SETTLED_CHANNEL}', case when octet_length(v_answer) < 8000 then v_answer else o.id::text end);
  end if;
  return null;
end $$;

-- Stores the final answer of a POST /orders that waited (Prefer: wait) when
-- no settlement did (the wait ran out, or the order was terminal already) and
-- releases its hold: 201 once the saga is settled, else 202 as it stands.
-- It commits without waiting for the disk: a crash in that instant loses
-- only this update, and the hold then expires into the response stored
-- with the order, which a replay after a crashed holder gets anyway.
create or replace function orders_finish_wait(p_scope text, p_key text, p_order uuid)
returns table (status int, body json) language plpgsql as $$
declare
  o orders;
  v_status int;
  v_body json;
begin
  perform set_config('synchronous_commit', 'off', true);
  select * into o from orders where id = p_order;
  v_status := case when orders_settled(o) then 201 else 202 end;
  v_body := orders_view(o, true);
  update idempotency_keys k set status_code = v_status, response = v_body, held_until = null where k.scope = p_scope and k.key = p_key;
  return query select v_status, v_body;
end $$;
`,
];

export const PLACE_ORDER = 'orders_place';
export const REQUEST_ORDER = 'orders_request';
export const AWAIT_FUNDS = 'orders_await';
export const CONFIRM_ORDER = 'orders_confirm';
export const CANCEL_ORDER = 'orders_cancel';
export const REQUEST_CANCEL = 'orders_request_cancel';

export async function findOrder(sql: Queries, orderId: string, accountId: string): Promise<Order> {
  const row = await sql.one<{ order: Order }>('select orders_view(o, true) as order from orders o where o.id = $1 and o.account_id = $2', [orderId, accountId]);
  if (!row) throw new NotFoundError(`No order ${orderId}`);
  return row.order;
}

export async function listOrders(sql: Queries, accountId: string, status: OrderStatus | undefined): Promise<Order[]> {
  const row = await sql.one<{ orders: Order[] }>(
    `select coalesce(json_agg(orders_view(o, false) order by o.created_at, o.id), '[]') as orders
       from orders o where o.account_id = $1 and ($2::text is null or o.status = $2)`,
    [accountId, status ?? null],
  );
  return row!.orders;
}

/** The reconciler waits at most this many times `afterSeconds` between two drives of one order. */
export const RECONCILE_BACKOFF_CAP = 64;

/**
 * Orders whose saga has stalled: still pending, or terminal without their
 * letter, and untouched for `afterSeconds` (within the last day). An order
 * already driven on waits twice as long after each drive (up to
 * RECONCILE_BACKOFF_CAP times `afterSeconds`), so a backlog is not mistaken
 * for a loss on every tick. An order waiting for funds is not stalled.
 */
export async function stalledOrders(sql: Queries, afterSeconds: number, limit = 200): Promise<string[]> {
  const rows = await sql.query<{ id: string }>(
    `select o.id from orders o
      where (o.status = 'pending' or (o.status in ('confirmed', 'cancelled') and not exists (select 1 from notifications n where n.order_id = o.id)))
        and coalesce(o.reconciled_at, o.updated_at) < now() - make_interval(secs => $1 * least(power(2, o.reconcile_attempts), $2))
        and o.created_at > now() - interval '1 day'
      order by o.updated_at limit $3`,
    [afterSeconds, RECONCILE_BACKOFF_CAP, limit],
  );
  return rows.map((r) => r.id);
}

/** Records that the reconciler drove `orderIds` on now. */
export async function markReconciled(sql: Queries, orderIds: readonly string[]): Promise<void> {
  if (orderIds.length === 0) return;
  await sql.query('update orders set reconciled_at = now(), reconcile_attempts = reconcile_attempts + 1 where id = any($1::uuid[])', [orderIds]);
}
