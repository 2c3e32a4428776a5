import type { Knex } from 'knex';

/**
 * Idempotency records can be held while their request is still in flight
 * (`POST /orders` with `Prefer: wait` answers only when the saga ends), so a
 * replay in that window is told 409 and a later replay gets the final
 * response. Responses are kept as `json`, which preserves their bytes.
 *
 * An order's history is read from the outbox (every saga event about the
 * order, with its time and id), so the separate history table goes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.timestamp('held_until', { useTz: true });
  });
  await knex.raw('alter table idempotency_keys alter column response type json using response::json');
  await knex.schema.dropTable('order_history');
}

export async function down(knex: Knex): Promise<void> {
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
  await knex.raw('alter table idempotency_keys alter column response type jsonb using response::jsonb');
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.dropColumn('held_until');
  });
}
