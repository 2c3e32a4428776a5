import type { Knex } from 'knex';

/**
 * An order can wait for funds (SPEC §3): its status `awaiting_funds`, the
 * seconds it may wait and its deadline; a payment can be `awaiting`, with
 * what it needs to charge or decline later, and the reason of a decline.
 * A letter is called `letter` in its table as in its event. The outbox
 * keeps each event as `json`, its bytes as produced.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table orders drop constraint order_status, drop constraint order_reason;
    alter table orders
      add constraint order_status check (status in ('pending', 'awaiting_funds', 'confirmed', 'cancelled')),
      add constraint order_reason check (reason is null or reason in
        ('sold_out', 'unknown_slot', 'insufficient_funds', 'payment_timeout', 'customer_cancelled')),
      add column pay_within integer not null default 0 constraint order_pay_within check (pay_within between 0 and 86400),
      add column payment_deadline timestamptz;
    -- Listing an account's orders, by status or not: this index replaces the one on (account_id, created_at).
    create index orders_account_status_idx on orders (account_id, status, created_at);
    drop index orders_account_id_created_at_index;

    alter table payments drop constraint payment_outcome;
    alter table payments
      add constraint payment_outcome check (outcome in ('charged', 'declined', 'awaiting')),
      add column slot_id uuid,
      add column seats integer,
      add column reason text constraint payment_reason check (reason is null or reason in
        ('insufficient_funds', 'payment_timeout', 'customer_cancelled')),
      add column deadline timestamptz,
      add constraint payment_awaiting_deadline check (outcome <> 'awaiting' or deadline is not null);
    create index payments_awaiting_account_idx on payments (account_id, decided_at) where outcome = 'awaiting';
    create index payments_awaiting_deadline_idx on payments (deadline) where outcome = 'awaiting';

    alter table notifications rename column type to letter;
    alter table notifications rename constraint notification_type to notification_letter;

    -- json keeps an event's bytes, so a redelivery's reply is the first reply to the letter.
    alter table outbox alter column event type json using event::json;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table outbox alter column event type jsonb using event::jsonb;
    alter table notifications rename constraint notification_letter to notification_type;
    alter table notifications rename column letter to type;

    drop index payments_awaiting_deadline_idx;
    drop index payments_awaiting_account_idx;
    delete from payments where outcome = 'awaiting';
    alter table payments drop constraint payment_awaiting_deadline, drop constraint payment_outcome,
      drop column deadline, drop column reason, drop column seats, drop column slot_id;
    alter table payments add constraint payment_outcome check (outcome in ('charged', 'declined'));

    create index orders_account_id_created_at_index on orders (account_id, created_at);
    drop index orders_account_status_idx;
    update orders set status = 'cancelled', reason = 'insufficient_funds' where status = 'awaiting_funds';
    update orders set reason = 'insufficient_funds' where reason in ('payment_timeout', 'customer_cancelled');
    alter table orders drop constraint order_status, drop constraint order_reason,
      drop column payment_deadline, drop column pay_within;
    alter table orders
      add constraint order_status check (status in ('pending', 'confirmed', 'cancelled')),
      add constraint order_reason check (reason is null or reason in ('sold_out', 'unknown_slot', 'insufficient_funds'));
  `);
}
