/** Opening accounts: an account and its billing balance of 0, in one transaction. */
import { ConflictError } from '../../lib/errors.js';
import type { Tx } from '../../lib/unit-of-work.js';

export interface NewAccount {
  accountId: string;
  email: string;
  name: string;
}

export interface Account {
  id: string;
  email: string;
  name: string;
  balance: number;
}

/**
 * Opens the account and announces `account.created`. Opening the same
 * account again with the same details is a no-op; with other details, a
 * conflict.
 */
export async function openAccount(tx: Tx, input: NewAccount): Promise<Account> {
  const inserted = await tx.trx('accounts')
    .insert({ id: input.accountId, email: input.email, name: input.name })
    .onConflict('id')
    .ignore()
    .returning('id');
  if (inserted.length === 0) {
    const existing = await tx.trx('accounts').where({ id: input.accountId }).first('email', 'name');
    if (existing.email !== input.email || existing.name !== input.name) {
      throw new ConflictError(`Account ${input.accountId} exists with other details`);
    }
    const { balance } = await tx.trx('balances').where({ account_id: input.accountId }).first('balance');
    return { id: input.accountId, email: input.email, name: input.name, balance };
  }
  await tx.trx('balances').insert({ account_id: input.accountId, balance: 0 });
  await tx.emit({
    name: 'account.created',
    subject: input.accountId,
    data: { accountId: input.accountId, email: input.email, name: input.name, balance: 0 },
  });
  return { id: input.accountId, email: input.email, name: input.name, balance: 0 };
}
