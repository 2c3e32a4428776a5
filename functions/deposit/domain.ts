/** Money in and out of accounts, every movement in the ledger. */
import { InsufficientFundsError, NotFoundError } from '../../lib/errors.js';
import type { Db } from '../../lib/db.js';
import { newId } from '../../lib/ids.js';
import type { Tx } from '../../lib/unit-of-work.js';

export interface AccountView {
  id: string;
  email: string;
  name: string;
  balance: number;
}

export async function findAccount(db: Db, accountId: string): Promise<AccountView> {
  const row = await db('accounts as a')
    .join('balances as b', 'b.account_id', 'a.id')
    .where('a.id', accountId)
    .first('a.id', 'a.email', 'a.name', 'b.balance');
  if (!row) throw new NotFoundError(`No account ${accountId}`);
  return row;
}

export interface Movement {
  accountId: string;
  /** The deposit's or withdrawal's id: a ledger reference, unique per kind. */
  movementId: string;
  amount: number;
}

/**
 * Adds `amount`; returns the new balance. A movement id already in the
 * ledger moves nothing again and reports the current balance.
 */
export async function deposit(tx: Tx, m: Movement): Promise<{ balance: number; applied: boolean }> {
  const entered = await enterLedger(tx, 'deposit', m);
  if (!entered) return { balance: await balanceOf(tx, m.accountId), applied: false };
  const [row] = await tx.trx('balances')
    .where({ account_id: m.accountId })
    .update({ balance: tx.trx.raw('balance + ?', [m.amount]), updated_at: tx.trx.fn.now() })
    .returning('balance');
  await tx.emit({
    name: 'account.deposited',
    subject: m.accountId,
    data: { accountId: m.accountId, depositId: m.movementId, amount: m.amount, balance: row.balance },
  });
  return { balance: row.balance, applied: true };
}

/** Takes `amount` out, never below 0: InsufficientFundsError when short. */
export async function withdraw(tx: Tx, m: Movement): Promise<{ balance: number; applied: boolean }> {
  const entered = await enterLedger(tx, 'withdrawal', m);
  if (!entered) return { balance: await balanceOf(tx, m.accountId), applied: false };
  const [row] = await tx.trx('balances')
    .where({ account_id: m.accountId })
    .andWhere('balance', '>=', m.amount)
    .update({ balance: tx.trx.raw('balance - ?', [m.amount]), updated_at: tx.trx.fn.now() })
    .returning('balance');
  if (!row) {
    throw new InsufficientFundsError(`The balance of account ${m.accountId} is less than ${m.amount}`);
  }
  await tx.emit({
    name: 'account.withdrawn',
    subject: m.accountId,
    data: { accountId: m.accountId, withdrawalId: m.movementId, amount: m.amount, balance: row.balance },
  });
  return { balance: row.balance, applied: true };
}

async function balanceOf(tx: Tx, accountId: string): Promise<number> {
  const row = await tx.trx('balances').where({ account_id: accountId }).first('balance');
  if (!row) throw new NotFoundError(`No account ${accountId}`);
  return row.balance;
}

/** Locks the account's balance row, then writes the ledger entry unless it exists. */
async function enterLedger(tx: Tx, kind: 'deposit' | 'withdrawal', m: Movement): Promise<boolean> {
  const account = await tx.trx('balances').where({ account_id: m.accountId }).forUpdate().first('account_id');
  if (!account) throw new NotFoundError(`No account ${m.accountId}`);
  const inserted = await tx.trx('ledger')
    .insert({ id: newId(), account_id: m.accountId, kind, amount: m.amount, reference: m.movementId })
    .onConflict(['kind', 'reference'])
    .ignore()
    .returning('id');
  return inserted.length > 0;
}
