/** Money in and out, called directly: table-driven over the balance and the movement id. */
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { useTestDatabase } from '../../test/db.js';
import { balanceOf, runStep, seedAccount } from '../../test/fixtures.js';
import { DEPOSIT, WITHDRAW } from './domain.js';

const t = useTestDatabase();

type Moved = { status: number; body: { balance: number } };

describe('deposit_add and deposit_withdraw', () => {
  it.each([
    ['a deposit', DEPOSIT, 'depositId', 100, 50, 150, 'account.deposited'],
    ['a withdrawal the balance covers', WITHDRAW, 'withdrawalId', 100, 60, 40, 'account.withdrawn'],
    ['a withdrawal of the whole balance', WITHDRAW, 'withdrawalId', 100, 100, 0, 'account.withdrawn'],
  ])('%s moves the money once, in the ledger', async (_, step, idField, start, amount, after, event) => {
    const account = (await seedAccount(t.db, start)).id;
    const movement = { accountId: account, [idField]: newId(), amount };
    const first = await runStep<Moved>(t.db, step, movement);
    expect(first.result).toMatchObject({ status: 201, body: { balance: after } });
    expect(first.events.map((e) => e.name)).toEqual([event]);
    // The same movement id again moves nothing and reports the balance.
    const again = await runStep<Moved>(t.db, step, movement);
    expect(again.events).toEqual([]);
    expect(again.result.body.balance).toBe(after);
    expect(await balanceOf(t.db, account)).toBe(after);
  });

  it('refuses a withdrawal the balance does not cover (OS409), and moves nothing', async () => {
    const account = (await seedAccount(t.db, 99)).id;
    await expect(runStep(t.db, WITHDRAW, { accountId: account, withdrawalId: newId(), amount: 100 })).rejects.toMatchObject({
      code: 'OS409',
      message: expect.stringContaining('less than 100'),
    });
    expect(await balanceOf(t.db, account)).toBe(99);
  });

  it.each([DEPOSIT, WITHDRAW])('%s refuses an account that does not exist (OS404)', async (step) => {
    await expect(runStep(t.db, step, { accountId: newId(), depositId: newId(), withdrawalId: newId(), amount: 1 })).rejects.toMatchObject({ code: 'OS404' });
  });
});
