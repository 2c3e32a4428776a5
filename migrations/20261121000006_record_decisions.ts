import type { Knex } from 'knex';

/**
 * Every decision about an order is recorded, refusals included: a later
 * delivery of the same order, under any event id, finds the decision and
 * changes nothing (a declined order is never charged afterwards, a rejected
 * one never reserved).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table payments (
      order_id uuid primary key,
      account_id uuid not null,
      amount bigint not null,
      outcome text not null,
      decided_at timestamptz not null default current_timestamp,
      constraint payment_outcome check (outcome in ('charged', 'declined'))
    );

    create table slot_rejections (
      order_id uuid primary key,
      slot_id uuid not null,
      reason text not null,
      rejected_at timestamptz not null default current_timestamp,
      constraint slot_rejection_reason check (reason in ('sold_out', 'unknown_slot'))
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table slot_rejections, payments');
}
