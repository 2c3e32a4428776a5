import type { Knex } from 'knex';
import { createOrderHistory } from './20261121000003_create_orders.js';

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
  await knex.raw(`
    alter table idempotency_keys
      add column held_until timestamptz,
      alter column response type json using response::json;
    drop table order_history;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ${createOrderHistory}
    alter table idempotency_keys
      alter column response type jsonb using response::jsonb,
      drop column held_until;
  `);
}
