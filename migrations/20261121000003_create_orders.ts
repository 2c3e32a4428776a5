import type { Knex } from 'knex';

/**
 * The history of saga steps an order went through, as this migration made it
 * (20261121000007 drops it, and its `down` makes it again from this).
 */
export const createOrderHistory = `
  create table order_history (
    id bigserial primary key,
    order_id uuid not null constraint order_history_order_id_foreign references orders (id) on delete cascade,
    step text not null,
    status text not null,
    event_type text,
    event_id text,
    at timestamptz not null default current_timestamp
  );
  create index order_history_order_id_index on order_history (order_id);
`;

/** Orders, and the history of saga steps each went through. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table orders (
      id uuid primary key,
      account_id uuid not null,
      slot_id uuid not null,
      seats integer not null,
      amount bigint not null,
      status text not null,
      reason text,
      created_at timestamptz not null default current_timestamp,
      updated_at timestamptz not null default current_timestamp,
      constraint order_status check (status in ('pending', 'confirmed', 'cancelled')),
      constraint order_reason check (reason is null or reason in ('sold_out', 'unknown_slot', 'insufficient_funds')),
      constraint order_reason_iff_cancelled check ((status = 'cancelled') = (reason is not null))
    );
    create index orders_account_id_created_at_index on orders (account_id, created_at);
    -- The reconciler looks for orders still pending; keep that scan small.
    create index orders_pending_idx on orders (updated_at) where status = 'pending';
    ${createOrderHistory}
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table order_history, orders');
}
