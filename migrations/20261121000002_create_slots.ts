import type { Knex } from 'knex';

/** Bookable slots and the reservations that hold their seats. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table slots (
      id uuid primary key,
      name text not null,
      capacity integer not null,
      price bigint not null,
      reserved integer not null default 0,
      created_at timestamptz not null default current_timestamp,
      constraint slot_capacity_positive check (capacity > 0),
      constraint slot_price_not_negative check (price >= 0),
      -- The last line of defence against overselling.
      constraint slot_not_oversold check (reserved >= 0 and reserved <= capacity)
    );

    create table reservations (
      order_id uuid primary key,
      slot_id uuid not null constraint reservations_slot_id_foreign references slots (id),
      seats integer not null,
      status text not null,
      created_at timestamptz not null default current_timestamp,
      released_at timestamptz,
      constraint reservation_status check (status in ('active', 'released')),
      constraint reservation_seats_positive check (seats > 0)
    );
    create index reservations_slot_id_index on reservations (slot_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table reservations, slots');
}
