import type { Knex } from 'knex';

/**
 * The messaging tables every function shares: the inbox that dedupes
 * deliveries, the outbox of every event produced, the idempotency records of
 * HTTP requests, and the dead letters the Broker gave up on.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table inbox (
      consumer text not null,
      source text not null,
      id text not null,
      type text not null,
      reply_event_id uuid, -- the event this delivery produced; a redelivery replies with it again
      received_at timestamptz not null default current_timestamp,
      primary key (consumer, source, id)
    );

    create table outbox (
      id uuid primary key,
      source text not null,
      type text not null,
      subject text not null,
      event jsonb not null,
      -- 'reply': handed to the Broker as the reply to a delivery; 'sink': POSTed to K_SINK.
      delivery text not null,
      created_at timestamptz not null default current_timestamp,
      published_at timestamptz,
      constraint outbox_delivery check (delivery in ('reply', 'sink'))
    );
    create index outbox_subject_index on outbox (subject);
    create index outbox_unpublished_idx on outbox (created_at) where published_at is null;

    create table idempotency_keys (
      scope text not null,
      key text not null,
      fingerprint text not null,
      status_code integer not null,
      response jsonb not null,
      created_at timestamptz not null default current_timestamp,
      primary key (scope, key)
    );

    create table dead_letters (
      id bigserial primary key,
      event_id text not null,
      source text not null,
      type text not null,
      event jsonb not null,
      error_dest text,
      error_code integer,
      error_data text,
      received_at timestamptz not null default current_timestamp,
      replayed_at timestamptz,
      constraint dead_letters_source_event_id_error_dest_unique unique (source, event_id, error_dest)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table dead_letters, idempotency_keys, outbox, inbox');
}
