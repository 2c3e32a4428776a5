import type { Knex } from 'knex';

/**
 * Every decision about an order is recorded, refusals included: a later
 * delivery of the same order, under any event id, finds the decision and
 * changes nothing (a declined order is never charged afterwards, a rejected
 * one never reserved).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('payments', (t) => {
    t.uuid('order_id').primary();
    t.uuid('account_id').notNullable();
    t.bigInteger('amount').notNullable();
    t.text('outcome').notNullable();
    t.timestamp('decided_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("outcome in ('charged', 'declined')", [], 'payment_outcome');
  });
  await knex.schema.createTable('slot_rejections', (t) => {
    t.uuid('order_id').primary();
    t.uuid('slot_id').notNullable();
    t.text('reason').notNullable();
    t.timestamp('rejected_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("reason in ('sold_out', 'unknown_slot')", [], 'slot_rejection_reason');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('slot_rejections');
  await knex.schema.dropTable('payments');
}
