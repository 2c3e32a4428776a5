import type { Knex } from 'knex';

/**
 * The reconciler remembers when it last drove each stalled order on and how
 * often, and waits twice as long each time: an order that is only slow (a
 * backlog, not a loss) is republished a few times, not on every tick.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table orders add column reconciled_at timestamptz, add column reconcile_attempts integer not null default 0');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table orders drop column reconcile_attempts, drop column reconciled_at');
}
