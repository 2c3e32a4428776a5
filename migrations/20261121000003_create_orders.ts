import type { Knex } from 'knex';

/** Orders, and the history of saga steps each went through. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('orders', (t) => {
    t.uuid('id').primary();
    t.uuid('account_id').notNullable();
    t.uuid('slot_id').notNullable();
    t.integer('seats').notNullable();
    t.bigInteger('amount').notNullable();
    t.text('status').notNullable();
    t.text('reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("status in ('pending', 'confirmed', 'cancelled')", [], 'order_status');
    t.check("reason is null or reason in ('sold_out', 'unknown_slot', 'insufficient_funds')", [], 'order_reason');
    t.check("(status = 'cancelled') = (reason is not null)", [], 'order_reason_iff_cancelled');
    t.index(['account_id', 'created_at']);
  });
  // The reconciler looks for orders still pending; keep that scan small.
  await knex.raw("create index orders_pending_idx on orders (updated_at) where status = 'pending'");
  await knex.schema.createTable('order_history', (t) => {
    t.bigIncrements('id');
    t.uuid('order_id').notNullable().references('orders.id').onDelete('CASCADE');
    t.text('step').notNullable();
    t.text('status').notNullable();
    t.text('event_type');
    t.text('event_id');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['order_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('order_history');
  await knex.schema.dropTable('orders');
}
