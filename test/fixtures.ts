/** Data the tests start from, made by the step routines themselves. */
import type { Db } from '../lib/db.js';
import { newId } from '../lib/ids.js';
import { testTokens } from './harness.js';

/** Runs step routine `step` with `input` outside any delivery (its events are not kept). */
export async function runStep<T = unknown>(db: Db, step: string, input: unknown): Promise<{ result: T; events: { name: string; subject: string; data: Record<string, unknown> }[] }> {
  const { rows } = await db.raw(`select ${step}(?::json) as outcome`, [JSON.stringify(input)]);
  return rows[0].outcome;
}

/** Runs step routine `step` as one delivery to function `fn` (its `__consume` wrapper): inbox, effect and outbox, as a function would. */
export async function consumeStep(db: Db, fn: string, step: string, input: unknown): Promise<{ duplicate: boolean; events: { id: string; type: string }[] }> {
  const { rows } = await db.raw(`select * from ${step}__consume(?, ?, ?, ?, ?, ?::json, null)`, [fn, '/test', newId(), 'dev.ordersaga.test', newId(), JSON.stringify(input)]);
  return rows[0];
}

export async function seedAccount(db: Db, balance = 0, email = `${newId()}@example.com`): Promise<{ id: string; token: string; email: string }> {
  const id = newId();
  await runStep(db, 'accounts_open', { accountId: id, email, name: 'Test Customer' });
  if (balance > 0) await runStep(db, 'deposit_add', { accountId: id, depositId: newId(), amount: balance });
  return { id, token: testTokens.issue(id), email };
}

export async function seedSlot(db: Db, capacity: number, price: number): Promise<string> {
  const slotId = newId();
  await runStep(db, 'slots_create', { slotId, name: `slot ${slotId.slice(0, 8)}`, capacity, price });
  return slotId;
}

export async function balanceOf(db: Db, accountId: string): Promise<number> {
  const row = await db('balances').where({ account_id: accountId }).first('balance');
  return row.balance;
}

/** The tables a change can touch. */
export const TABLES = [
  'accounts', 'balances', 'ledger', 'slots', 'reservations', 'orders', 'payments', 'slot_rejections',
  'notifications', 'inbox', 'outbox', 'idempotency_keys', 'dead_letters',
] as const;

/**
 * What every table holds, row by row (a digest of each table's rows and its
 * count), so that "nothing changed" means no row was added, removed or
 * altered, not only that the counts agree.
 */
export async function snapshot(db: Db): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const { rows } = await db.raw(`select count(*) as n, md5(coalesce(string_agg(t::text, ',' order by t::text), '')) as digest from ${table} t`);
    out[table] = `${rows[0].n} rows, ${rows[0].digest}`;
  }
  return out;
}

/** The total of all balances and of all seats held: the sums SPEC §7 guards. */
export async function totals(db: Db): Promise<{ money: number; seats: number }> {
  const { rows } = await db.raw('select (select coalesce(sum(balance), 0) from balances) as money, (select coalesce(sum(reserved), 0) from slots) as seats');
  return { money: Number(rows[0].money), seats: Number(rows[0].seats) };
}
