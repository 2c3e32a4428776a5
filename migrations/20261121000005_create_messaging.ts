import type { Knex } from 'knex';

/**
 * The messaging tables every function shares: the inbox that dedupes
 * deliveries, the outbox of every event produced, the idempotency records of
 * HTTP requests, and the dead letters the Broker gave up on.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('inbox', (t) => {
    t.text('consumer').notNullable();
    t.text('source').notNullable();
    t.text('id').notNullable();
    t.text('type').notNullable();
    // The event this delivery produced; a redelivery replies with it again.
    t.uuid('reply_event_id');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['consumer', 'source', 'id']);
  });
  await knex.schema.createTable('outbox', (t) => {
    t.uuid('id').primary();
    t.text('source').notNullable();
    t.text('type').notNullable();
    t.text('subject').notNullable();
    t.jsonb('event').notNullable();
    // 'reply': handed to the Broker as the reply to a delivery; 'sink': POSTed to K_SINK.
    t.text('delivery').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('published_at', { useTz: true });
    t.check("delivery in ('reply', 'sink')", [], 'outbox_delivery');
    t.index(['subject']);
  });
  await knex.raw('create index outbox_unpublished_idx on outbox (created_at) where published_at is null');
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.text('scope').notNullable();
    t.text('key').notNullable();
    t.text('fingerprint').notNullable();
    t.integer('status_code').notNullable();
    t.jsonb('response').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['scope', 'key']);
  });
  await knex.schema.createTable('dead_letters', (t) => {
    t.bigIncrements('id');
    t.text('event_id').notNullable();
    t.text('source').notNullable();
    t.text('type').notNullable();
    t.jsonb('event').notNullable();
    t.text('error_dest');
    t.integer('error_code');
    t.text('error_data');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('replayed_at', { useTz: true });
    t.unique(['source', 'event_id', 'error_dest']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dead_letters');
  await knex.schema.dropTable('idempotency_keys');
  await knex.raw('drop index if exists outbox_unpublished_idx');
  await knex.schema.dropTable('outbox');
  await knex.schema.dropTable('inbox');
}
