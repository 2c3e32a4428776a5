import type { Knex } from 'knex';

/** Accounts, their balances and the ledger that explains every balance. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table accounts (
      id uuid primary key,
      email text not null,
      name text not null,
      created_at timestamptz not null default current_timestamp
    );

    create table balances (
      account_id uuid primary key constraint balances_account_id_foreign references accounts (id) on delete cascade,
      balance bigint not null default '0',
      updated_at timestamptz not null default current_timestamp,
      constraint balance_not_negative check (balance >= 0)
    );

    create table ledger (
      id uuid primary key,
      account_id uuid not null constraint ledger_account_id_foreign references accounts (id) on delete cascade,
      kind text not null,
      amount bigint not null,
      reference uuid not null, -- the deposit, withdrawal or order this entry belongs to
      created_at timestamptz not null default current_timestamp,
      constraint ledger_kind check (kind in ('deposit', 'withdrawal', 'charge', 'refund')),
      constraint ledger_amount_positive check (amount > 0),
      -- One charge per order, one entry per deposit or withdrawal: a duplicate cannot move money twice.
      constraint ledger_kind_reference_unique unique (kind, reference)
    );
    create index ledger_account_id_index on ledger (account_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table ledger, balances, accounts');
}
