import type { Knex } from 'knex';

/**
 * A waited `POST /orders` (SPEC §3, `Prefer: wait`) gets its final answer
 * from the transaction that settles its saga: when the order's
 * `notification.sent` is written, the Idempotency-Key record still holding
 * the request is completed, and the NOTIFY on commit carries the answer to
 * the waiting request, so the request needs no transaction of its own to
 * finish. A held record is found by the order its held answer names.
 *
 * The trigger's function is a routine (`orders_settle_waiter`, in
 * place-order's domain), installed after the migrations; this one only
 * stands in until then.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create index idempotency_keys_held_index on idempotency_keys ((response->>'id')) where held_until is not null;
    create or replace function orders_settle_waiter() returns trigger language plpgsql as $$ begin return null; end $$;
    create trigger outbox_settles_waiter after insert on outbox
      for each row when (new.type = 'dev.ordersaga.notification.sent') execute function orders_settle_waiter();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop trigger if exists outbox_settles_waiter on outbox;
    drop function if exists orders_settle_waiter();
    drop index idempotency_keys_held_index;
  `);
}
