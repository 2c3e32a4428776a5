import type { Knex } from 'knex';

/** The letters sent about orders: one per order, by construction. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('notifications', (t) => {
    t.uuid('id').primary();
    t.uuid('order_id').notNullable().unique();
    t.uuid('account_id').notNullable();
    t.text('type').notNullable();
    t.text('to').notNullable();
    t.text('subject').notNullable();
    t.text('body').notNullable();
    t.text('status').notNullable();
    t.text('message_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("type in ('happy', 'sorrow')", [], 'notification_type');
    t.check("status in ('dry-run', 'sent')", [], 'notification_status');
    t.index(['account_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('notifications');
}
