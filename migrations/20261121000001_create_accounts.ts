import type { Knex } from 'knex';

/** Accounts, their balances and the ledger that explains every balance. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('accounts', (t) => {
    t.uuid('id').primary();
    t.text('email').notNullable();
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('balances', (t) => {
    t.uuid('account_id').primary().references('accounts.id').onDelete('CASCADE');
    t.bigInteger('balance').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('balance >= 0', [], 'balance_not_negative');
  });
  await knex.schema.createTable('ledger', (t) => {
    t.uuid('id').primary();
    t.uuid('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.text('kind').notNullable();
    t.bigInteger('amount').notNullable();
    // The deposit, withdrawal or order this entry belongs to.
    t.uuid('reference').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("kind in ('deposit', 'withdrawal', 'charge', 'refund')", [], 'ledger_kind');
    t.check('amount > 0', [], 'ledger_amount_positive');
    // One charge per order, one entry per deposit or withdrawal: a duplicate cannot move money twice.
    t.unique(['kind', 'reference']);
    t.index(['account_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ledger');
  await knex.schema.dropTable('balances');
  await knex.schema.dropTable('accounts');
}
