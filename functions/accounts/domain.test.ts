/** Opening accounts, called directly. */
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { useTestDatabase } from '../../test/db.js';
import { runStep } from '../../test/fixtures.js';
import { OPEN_ACCOUNT } from './domain.js';

const t = useTestDatabase();

describe('accounts_open', () => {
  it('opens the account with a balance of 0 and announces account.created, once', async () => {
    const account = { accountId: newId(), email: 'ann@example.com', name: 'Ann' };
    const opened = await runStep(t.db, OPEN_ACCOUNT, account);
    expect(opened.result).toEqual({ id: account.accountId, email: 'ann@example.com', name: 'Ann', balance: 0 });
    expect(opened.events).toEqual([{ name: 'account.created', subject: account.accountId, data: { ...account, balance: 0 } }]);
    const again = await runStep(t.db, OPEN_ACCOUNT, account);
    expect(again).toEqual({ result: opened.result, events: [] });
  });

  it.each([
    ['another email', { email: 'other@example.com' }],
    ['another name', { name: 'Other' }],
  ])('refuses the same id with %s (OS409)', async (_, change) => {
    const account = { accountId: newId(), email: 'bo@example.com', name: 'Bo' };
    await runStep(t.db, OPEN_ACCOUNT, account);
    await expect(runStep(t.db, OPEN_ACCOUNT, { ...account, ...change })).rejects.toMatchObject({ code: 'OS409' });
  });
});
