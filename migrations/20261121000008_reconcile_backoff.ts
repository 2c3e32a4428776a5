import type { Knex } from 'knex';

/**
 * The reconciler remembers when it last drove each stalled order on and how
 * often, and waits twice as long each time: an order that is only slow (a
 * backlog, not a loss) is republished a few times, not on every tick.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.timestamp('reconciled_at', { useTz: true });
    t.integer('reconcile_attempts').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('reconcile_attempts');
    t.dropColumn('reconciled_at');
  });
}
