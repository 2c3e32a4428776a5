import type { Knex } from 'knex';

/** Bookable slots and the reservations that hold their seats. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('slots', (t) => {
    t.uuid('id').primary();
    t.text('name').notNullable();
    t.integer('capacity').notNullable();
    t.bigInteger('price').notNullable();
    t.integer('reserved').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('capacity > 0', [], 'slot_capacity_positive');
    t.check('price >= 0', [], 'slot_price_not_negative');
    // The last line of defence against overselling.
    t.check('reserved >= 0 and reserved <= capacity', [], 'slot_not_oversold');
  });
  await knex.schema.createTable('reservations', (t) => {
    t.uuid('order_id').primary();
    t.uuid('slot_id').notNullable().references('slots.id');
    t.integer('seats').notNullable();
    t.text('status').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('released_at', { useTz: true });
    t.check("status in ('active', 'released')", [], 'reservation_status');
    t.check('seats > 0', [], 'reservation_seats_positive');
    t.index(['slot_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('reservations');
  await knex.schema.dropTable('slots');
}
