/**
 * Slots and their reservations. Seats are taken with one conditional
 * UPDATE (`reserved + seats <= capacity`) under the slot's row lock, so
 * concurrent orders can never oversell; a CHECK constraint on the table is
 * the last line of defence. Every decision is recorded per order, so the
 * same order under another event id is decided once.
 */
import type { Queries } from '../../lib/pg.js';
import { NotFoundError } from '../../lib/errors.js';

export interface Slot {
  id: string;
  name: string;
  capacity: number;
  reserved: number;
  available: number;
  price: number;
}

export const routines = [
  String.raw`
create or replace function slots_view(s slots)
returns json language plpgsql immutable as $$
begin
  return json_build_object('id', s.id, 'name', s.name, 'capacity', s.capacity, 'reserved', s.reserved,
                           'available', s.capacity - s.reserved, 'price', s.price);
end $$;

-- {slotId, name, capacity, price}: the slot, and slot.created.
create or replace function slots_create(p json)
returns json language plpgsql as $$
declare
  s slots;
begin
  insert into slots (id, name, capacity, price, reserved)
  values ((p->>'slotId')::uuid, p->>'name', (p->>'capacity')::int, (p->>'price')::bigint, 0) returning * into s;
  return json_build_object('result', slots_view(s), 'events', json_build_array(saga_out('slot.created', s.id::text,
    json_build_object('slotId', s.id, 'name', s.name, 'capacity', s.capacity, 'price', s.price))));
end $$;

-- order.placed: slot.reserved, or slot.rejected (sold_out, unknown_slot).
create or replace function slots_reserve(p json)
returns json language plpgsql as $$
declare
  v_order uuid := (p->>'orderId')::uuid;
  v_slot uuid := (p->>'slotId')::uuid;
  v_seats int := (p->>'seats')::int;
  v_reason text;
begin
  -- Reservations of one slot run one at a time: a concurrent delivery of the
  -- same order (under another event id) sees this decision, not a sold-out slot.
  perform 1 from slots where id = v_slot for update;
  if exists (select 1 from reservations where order_id = v_order) or exists (select 1 from slot_rejections where order_id = v_order) then
    return json_build_object('events', '[]'::json);
  end if;
  update slots set reserved = reserved + v_seats where id = v_slot and reserved + v_seats <= capacity;
  if found then
    insert into reservations (order_id, slot_id, seats, status) values (v_order, v_slot, v_seats, 'active');
    return json_build_object('events', json_build_array(saga_out('slot.reserved', v_order::text, p)));
  end if;
  v_reason := case when exists (select 1 from slots where id = v_slot) then 'sold_out' else 'unknown_slot' end;
  -- An unknown slot has no row to lock: a concurrent delivery may have decided first.
  insert into slot_rejections (order_id, slot_id, reason) values (v_order, v_slot, v_reason) on conflict (order_id) do nothing;
  if not found then
    return json_build_object('events', '[]'::json);
  end if;
  return json_build_object('events', json_build_array(saga_out('slot.rejected', v_order::text, json_build_object(
    'orderId', v_order, 'accountId', p->'accountId', 'slotId', v_slot, 'seats', v_seats, 'amount', p->'amount', 'reason', v_reason))));
end $$;

-- payment.declined (compensation): gives the seats back, slot.released.
create or replace function slots_release(p json)
returns json language plpgsql as $$
declare
  r reservations;
begin
  update reservations set status = 'released', released_at = now()
   where order_id = (p->>'orderId')::uuid and status = 'active' returning * into r;
  if not found then
    return json_build_object('events', '[]'::json);
  end if;
  update slots set reserved = reserved - r.seats where id = r.slot_id;
  return json_build_object('events', json_build_array(saga_out('slot.released', r.order_id::text, json_build_object(
    'orderId', r.order_id, 'accountId', p->'accountId', 'slotId', r.slot_id, 'seats', r.seats, 'amount', p->'amount', 'reason', p->'reason'))));
end $$;
`,
];

export const CREATE_SLOT = 'slots_create';
export const RESERVE_SEATS = 'slots_reserve';
export const RELEASE_SEATS = 'slots_release';

export async function listSlots(sql: Queries): Promise<Slot[]> {
  return (await sql.one<{ slots: Slot[] }>("select coalesce(json_agg(slots_view(s) order by s.created_at), '[]') as slots from slots s"))!.slots;
}

export async function findSlot(sql: Queries, slotId: string): Promise<Slot> {
  const row = await sql.one<{ slot: Slot }>('select slots_view(s) as slot from slots s where s.id = $1', [slotId]);
  if (!row) throw new NotFoundError(`No slot ${slotId}`);
  return row.slot;
}
