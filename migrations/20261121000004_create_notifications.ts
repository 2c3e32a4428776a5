import type { Knex } from 'knex';

/** The letters sent about orders: one per order, by construction. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table notifications (
      id uuid primary key,
      order_id uuid not null constraint notifications_order_id_unique unique,
      account_id uuid not null,
      type text not null,
      "to" text not null,
      subject text not null,
      body text not null,
      status text not null,
      message_id text not null,
      created_at timestamptz not null default current_timestamp,
      constraint notification_type check (type in ('happy', 'sorrow')),
      constraint notification_status check (status in ('dry-run', 'sent'))
    );
    create index notifications_account_id_created_at_index on notifications (account_id, created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table notifications');
}
