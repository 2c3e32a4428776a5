/**
 * Paying for orders. A charge takes the amount only if the balance covers it
 * (one conditional UPDATE under the balance's row lock), so a balance never
 * goes negative; each order's payment is decided once (`payments`), and the
 * ledger's unique (kind, reference) makes a second charge impossible.
 *
 * An order may wait for funds (`payWithin` seconds): short of funds, its
 * payment is `awaiting` until a deposit covers it (oldest first) or its
 * deadline passes, or its owner cancels it. Each of those is a conditional
 * UPDATE of the awaiting payment under its row lock, so when a deposit and
 * the deadline race exactly one of them wins.
 */

export const routines = [
  String.raw`
-- The data of payment.charged / payment.declined / payment.awaiting for a payment.
create or replace function charge_data(p payments, p_extra json)
returns json language plpgsql immutable as $$
begin
  return saga_json_add(json_build_object('orderId', p.order_id, 'accountId', p.account_id, 'slotId', p.slot_id, 'seats', p.seats,
                                         'amount', p.amount), p_extra);
end $$;

-- The trace context of the payment's order, as its events carry it.
create or replace function charge_trace(p payments)
returns json language sql immutable as $$
  select json_build_object('traceparent', p.traceparent, 'tracestate', p.tracestate)
$$;

-- Takes the payment's amount from the balance (locked by the caller) and enters it in the ledger.
create or replace function charge_take(p payments)
returns bigint language plpgsql as $$
declare
  v_balance bigint;
begin
  update balances set balance = balance - p.amount, updated_at = now()
   where account_id = p.account_id and balance >= p.amount returning balance into v_balance;
  if not found then
    return null;
  end if;
  if p.amount > 0 then
    insert into ledger (id, account_id, kind, amount, reference) values (gen_random_uuid(), p.account_id, 'charge', p.amount, p.order_id);
  end if;
  return v_balance;
end $$;

-- slot.reserved: payment.charged, payment.awaiting (short, may wait), or payment.declined.
create or replace function charge_order(d json)
returns json language plpgsql as $$
declare
  p payments;
  v_wait int := coalesce((d->>'payWithin')::int, 0);
  v_balance bigint;
begin
  p.order_id := (d->>'orderId')::uuid;
  p.account_id := (d->>'accountId')::uuid;
  p.slot_id := (d->>'slotId')::uuid;
  p.seats := (d->>'seats')::int;
  p.amount := (d->>'amount')::bigint;
  -- The order's saga: a payment decided later (resumed, expired) reports to its trace.
  p.traceparent := saga_trace()->>'traceparent';
  p.tracestate := saga_trace()->>'tracestate';
  -- Charges of one account run one at a time: a concurrent delivery of the same
  -- order (under another event id) then finds this decision, not a spent balance.
  perform 1 from balances where account_id = p.account_id for update;
  if exists (select 1 from payments where order_id = p.order_id) then
    return json_build_object('events', '[]'::json);
  end if;
  v_balance := charge_take(p);
  if v_balance is not null then
    p.outcome := 'charged';
  elsif v_wait > 0 and exists (select 1 from balances where account_id = p.account_id) then
    p.outcome := 'awaiting';
    p.deadline := now() + make_interval(secs => v_wait);
  else
    -- The balance is short, or there is no account to pay with: the same refusal.
    p.outcome := 'declined';
    p.reason := 'insufficient_funds';
  end if;
  insert into payments (order_id, account_id, amount, outcome, slot_id, seats, reason, deadline, traceparent, tracestate)
  values (p.order_id, p.account_id, p.amount, p.outcome, p.slot_id, p.seats, p.reason, p.deadline, p.traceparent, p.tracestate)
  -- Only without a balance row to lock can another delivery have decided first.
  on conflict (order_id) do nothing;
  if not found then
    if v_balance is not null then
      raise exception 'order % was decided twice under one balance lock', p.order_id;
    end if;
    return json_build_object('events', '[]'::json);
  end if;
  return json_build_object('events', json_build_array(case p.outcome
    when 'charged' then saga_out('payment.charged', p.order_id::text, charge_data(p, json_build_object('balance', v_balance)))
    when 'awaiting' then saga_out('payment.awaiting', p.order_id::text, charge_data(p, json_build_object(
      'balance', (select balance from balances where account_id = p.account_id), 'deadline', saga_time(p.deadline))))
    else saga_out('payment.declined', p.order_id::text, charge_data(p, json_build_object('reason', p.reason)))
  end));
end $$;

-- account.deposited: charges the account's waiting payments that the balance
-- now covers, oldest first; one payment.charged each.
create or replace function charge_resume(d json)
returns json language plpgsql as $$
declare
  p payments;
  v_balance bigint;
  v_events json[] := '{}';
begin
  perform 1 from balances where account_id = (d->>'accountId')::uuid for update;
  for p in select * from payments where account_id = (d->>'accountId')::uuid and outcome = 'awaiting' and deadline > now()
            order by decided_at, order_id for update loop
    v_balance := charge_take(p);
    if v_balance is not null then
      update payments set outcome = 'charged', deadline = null, decided_at = now() where order_id = p.order_id;
      v_events := v_events || saga_out_traced('payment.charged', p.order_id::text, charge_data(p, json_build_object('balance', v_balance)), charge_trace(p));
    end if;
  end loop;
  return json_build_object('events', array_to_json(v_events));
end $$;

-- A PingSource tick: declines every waiting payment past its deadline (payment_timeout).
create or replace function charge_expire(d json)
returns json language plpgsql as $$
declare
  p payments;
  v_events json[] := '{}';
begin
  for p in update payments set outcome = 'declined', reason = 'payment_timeout', decided_at = now()
            where order_id in (select order_id from payments where outcome = 'awaiting' and deadline <= now()
                                order by deadline limit coalesce((d->>'limit')::int, 500) for update skip locked)
            returning * loop
    v_events := v_events || saga_out_traced('payment.declined', p.order_id::text, charge_data(p, json_build_object('reason', 'payment_timeout')), charge_trace(p));
  end loop;
  return json_build_object('result', json_build_object('expired', cardinality(v_events)), 'events', array_to_json(v_events));
end $$;

-- order.cancellation.requested: declines the order's waiting payment (customer_cancelled),
-- unless a deposit paid it first.
create or replace function charge_cancel(d json)
returns json language plpgsql as $$
declare
  p payments;
begin
  update payments set outcome = 'declined', reason = 'customer_cancelled', decided_at = now()
   where order_id = (d->>'orderId')::uuid and account_id = (d->>'accountId')::uuid and outcome = 'awaiting'
  returning * into p;
  if not found then
    return json_build_object('events', '[]'::json);
  end if;
  return json_build_object('events', json_build_array(
    saga_out('payment.declined', p.order_id::text, charge_data(p, json_build_object('reason', 'customer_cancelled')))));
end $$;
`,
];

export const CHARGE_ORDER = 'charge_order';
export const RESUME_PAYMENTS = 'charge_resume';
export const EXPIRE_PAYMENTS = 'charge_expire';
export const CANCEL_PAYMENT = 'charge_cancel';
