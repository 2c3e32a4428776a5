/** Data the tests start from, made through the domain code itself. */
import type { Db } from '../lib/db.js';
import { newId } from '../lib/ids.js';
import { inTransaction } from '../lib/unit-of-work.js';
import { openAccount } from '../functions/create-account/domain.js';
import { deposit } from '../functions/deposit/domain.js';
import { createSlot } from '../functions/reserve-slot/domain.js';
import { createTokens } from '../lib/auth.js';
import { TEST_TOKEN_SECRET } from './harness.js';

const tokens = createTokens(TEST_TOKEN_SECRET);

export async function seedAccount(db: Db, balance = 0, email = `${newId()}@example.com`): Promise<{ id: string; token: string; email: string }> {
  const id = newId();
  await inTransaction(db, 'fixtures', 'sink', async (tx) => {
    await openAccount(tx, { accountId: id, email, name: 'Test Customer' });
    if (balance > 0) await deposit(tx, { accountId: id, movementId: newId(), amount: balance });
  });
  return { id, token: tokens.issue(id), email };
}

export async function seedSlot(db: Db, capacity: number, price: number): Promise<string> {
  const slotId = newId();
  await inTransaction(db, 'fixtures', 'sink', (tx) => createSlot(tx, { slotId, name: `slot ${slotId.slice(0, 8)}`, capacity, price }));
  return slotId;
}

export async function balanceOf(db: Db, accountId: string): Promise<number> {
  const row = await db('balances').where({ account_id: accountId }).first('balance');
  return row.balance;
}

/** Row counts of the tables an effect writes, to prove that nothing changed. */
export async function snapshot(db: Db): Promise<Record<string, number>> {
  const tables = ['accounts', 'balances', 'ledger', 'slots', 'reservations', 'orders', 'payments', 'slot_rejections', 'notifications', 'inbox', 'outbox', 'idempotency_keys'];
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = Number((await db(t).count<{ count: string }[]>('* as count'))[0]!.count);
  out.money = Number((await db('balances').sum<{ sum: string | null }[]>('balance as sum'))[0]!.sum ?? 0);
  out.seats = Number((await db('slots').sum<{ sum: string | null }[]>('reserved as sum'))[0]!.sum ?? 0);
  return out;
}
