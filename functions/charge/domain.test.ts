/**
 * Charging, called directly: each step routine against a real PostgreSQL,
 * table-driven over the balance, the wait and what was decided before.
 */
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { useTestDatabase } from '../../test/db.js';
import { balanceOf, runStep, seedAccount } from '../../test/fixtures.js';
import { CANCEL_PAYMENT, CHARGE_ORDER, EXPIRE_PAYMENTS, RESUME_PAYMENTS } from './domain.js';

const t = useTestDatabase();

const order = (accountId: string, amount: number, payWithin = 0) => ({ orderId: newId(), accountId, slotId: newId(), seats: 1, amount, payWithin });
const outcome = async (step: string, input: unknown): Promise<Record<string, unknown>[]> =>
  (await runStep(t.db, step, input)).events.map((e) => ({ name: e.name, ...e.data }));
const paymentOf = (orderId: string) => t.db('payments').where({ order_id: orderId }).first('outcome', 'reason', 'deadline');
const charges = async (orderId: string) => Number((await t.db('ledger').where({ reference: orderId, kind: 'charge' }).count())[0]!.count);

describe('charge_order (slot.reserved)', () => {
  it.each([
    ['a balance that covers it', 'payment.charged', 100, 100, 0, 0, 'charged'],
    ['a balance one short', 'payment.declined', 99, 100, 0, 99, 'declined'],
    ['a balance one short, when it may wait', 'payment.awaiting', 99, 100, 30, 99, 'awaiting'],
    ['an amount of 0', 'payment.charged', 0, 0, 0, 0, 'charged'],
  ])('with %s: %s', async (_, event, balance, amount, payWithin, after, decided) => {
    const account = (await seedAccount(t.db, balance)).id;
    const o = order(account, amount, payWithin);
    const [produced, ...more] = await outcome(CHARGE_ORDER, o);
    expect(more).toEqual([]);
    expect(produced).toMatchObject({ name: event, orderId: o.orderId, amount });
    expect(await balanceOf(t.db, account)).toBe(after);
    expect((await paymentOf(o.orderId)).outcome).toBe(decided);
    expect(await charges(o.orderId)).toBe(decided === 'charged' && amount > 0 ? 1 : 0);
  });

  it('declines insufficient_funds for an account that does not exist, even when it may wait', async () => {
    const o = order(newId(), 100, 30);
    expect(await outcome(CHARGE_ORDER, o)).toEqual([expect.objectContaining({ name: 'payment.declined', reason: 'insufficient_funds' })]);
  });

  it('gives the wait its deadline: payWithin seconds from now', async () => {
    const o = order((await seedAccount(t.db, 0)).id, 100, 30);
    const [awaiting] = await outcome(CHARGE_ORDER, o);
    const seconds = (Date.parse(String(awaiting!.deadline)) - Date.now()) / 1000;
    expect(seconds).toBeGreaterThan(28);
    expect(seconds).toBeLessThanOrEqual(30);
    expect(awaiting).toMatchObject({ balance: 0 });
  });

  it.each(['charged', 'declined', 'awaiting'])('decides once: an order already %s gets no second decision', async (first) => {
    const account = (await seedAccount(t.db, first === 'charged' ? 100 : 0)).id;
    const o = order(account, 100, first === 'awaiting' ? 30 : 0);
    await outcome(CHARGE_ORDER, o);
    await runStep(t.db, 'deposit_add', { accountId: account, depositId: newId(), amount: 500 });
    expect(await outcome(CHARGE_ORDER, o)).toEqual([]);
    expect((await paymentOf(o.orderId)).outcome).toBe(first);
  });
});

describe('charge_resume (account.deposited)', () => {
  it("charges the account's waiting payments oldest first, each that the balance covers, and no other", async () => {
    const account = (await seedAccount(t.db, 0)).id;
    const [big, small, third] = [order(account, 300, 60), order(account, 100, 60), order(account, 250, 60)];
    for (const o of [big, small, third]) await outcome(CHARGE_ORDER, o);
    await runStep(t.db, 'deposit_add', { accountId: account, depositId: newId(), amount: 350 });
    const resumed = await outcome(RESUME_PAYMENTS, { accountId: account });
    // 350 covers the oldest (300); what is left (50) covers neither of the others.
    expect(resumed.map((e) => [e.name, e.orderId, e.balance])).toEqual([['payment.charged', big.orderId, 50]]);
    await runStep(t.db, 'deposit_add', { accountId: account, depositId: newId(), amount: 60 });
    expect((await outcome(RESUME_PAYMENTS, { accountId: account })).map((e) => e.orderId)).toEqual([small.orderId]);
    expect(await balanceOf(t.db, account)).toBe(10);
    expect((await paymentOf(third.orderId)).outcome).toBe('awaiting');
  });

  it('leaves a payment past its deadline to the deadline, and other accounts alone', async () => {
    const account = (await seedAccount(t.db, 0)).id;
    const late = order(account, 100, 60);
    await outcome(CHARGE_ORDER, late);
    await t.db('payments').where({ order_id: late.orderId }).update({ deadline: t.db.raw("now() - interval '1 second'") });
    const other = (await seedAccount(t.db, 0)).id;
    const elsewhere = order(other, 100, 60);
    await outcome(CHARGE_ORDER, elsewhere);
    await runStep(t.db, 'deposit_add', { accountId: account, depositId: newId(), amount: 1_000 });
    expect(await outcome(RESUME_PAYMENTS, { accountId: account })).toEqual([]);
    expect(await outcome(RESUME_PAYMENTS, { accountId: newId() })).toEqual([]);
    expect((await paymentOf(elsewhere.orderId)).outcome).toBe('awaiting');
  });
});

describe('charge_expire (the payment-deadlines tick)', () => {
  it('declines every waiting payment past its deadline payment_timeout, and only those', async () => {
    const account = (await seedAccount(t.db, 0)).id;
    const [due, notYet] = [order(account, 100, 60), order(account, 100, 60)];
    for (const o of [due, notYet]) await outcome(CHARGE_ORDER, o);
    await t.db('payments').where({ order_id: due.orderId }).update({ deadline: t.db.raw('now()') });
    const declined = await outcome(EXPIRE_PAYMENTS, {});
    expect(declined.filter((e) => e.orderId === due.orderId || e.orderId === notYet.orderId)).toEqual([
      expect.objectContaining({ name: 'payment.declined', orderId: due.orderId, reason: 'payment_timeout' }),
    ]);
    expect(await paymentOf(due.orderId)).toMatchObject({ outcome: 'declined', reason: 'payment_timeout' });
    expect((await paymentOf(notYet.orderId)).outcome).toBe('awaiting');
    expect(await outcome(EXPIRE_PAYMENTS, {})).toEqual([]);
  });
});

describe('charge_cancel (order.cancellation.requested)', () => {
  it.each([
    ['a waiting payment', 'awaiting', true],
    ['a charged payment', 'charged', false],
    ['a declined payment', 'declined', false],
  ])('with %s: declines it customer_cancelled only if it was waiting', async (_, state, declines) => {
    const account = (await seedAccount(t.db, state === 'charged' ? 100 : 0)).id;
    const o = order(account, 100, state === 'awaiting' ? 60 : 0);
    await outcome(CHARGE_ORDER, o);
    const produced = await outcome(CANCEL_PAYMENT, { orderId: o.orderId, accountId: account });
    expect(produced).toEqual(declines ? [expect.objectContaining({ name: 'payment.declined', reason: 'customer_cancelled' })] : []);
    expect((await paymentOf(o.orderId)).outcome).toBe(declines ? 'declined' : state);
  });

  it("cancels nothing in another account's name", async () => {
    const account = (await seedAccount(t.db, 0)).id;
    const o = order(account, 100, 60);
    await outcome(CHARGE_ORDER, o);
    expect(await outcome(CANCEL_PAYMENT, { orderId: o.orderId, accountId: newId() })).toEqual([]);
  });
});

describe('a deposit and a deadline that race', () => {
  // The deposit's transaction begins before the deadline (so the payment is
  // still its to charge) and the tick's after it (so it is the tick's to
  // decline); which of them locks the payment first decides, and the other
  // then finds it decided.
  it.each([
    ['the tick locks the payment first', 'tick', 'declined'],
    ['the deposit locks the payment first', 'deposit', 'charged'],
  ])('when %s, exactly one outcome wins', async (_, first, decided) => {
    const account = (await seedAccount(t.db, 0)).id;
    const o = order(account, 100, 60);
    await outcome(CHARGE_ORDER, o);
    await t.db('payments').where({ order_id: o.orderId }).update({ deadline: t.db.raw("now() + interval '300 milliseconds'") });
    await runStep(t.db, 'deposit_add', { accountId: account, depositId: newId(), amount: 100 });

    const deposit = await t.db.transaction();
    await deposit.raw('select now()'); // its clock starts before the deadline
    await new Promise((r) => setTimeout(r, 400));
    const tick = await t.db.transaction();
    const step = (trx: typeof tick, name: string, input: unknown) => trx.raw(`select ${name}(?::json) as o`, [JSON.stringify(input)]);
    let settled: Promise<unknown>;
    if (first === 'tick') {
      await step(tick, EXPIRE_PAYMENTS, {});
      settled = step(deposit, RESUME_PAYMENTS, { accountId: account }); // waits for the tick's lock
      await new Promise((r) => setTimeout(r, 100));
      await tick.commit();
      await settled;
      await deposit.commit();
    } else {
      await step(deposit, RESUME_PAYMENTS, { accountId: account });
      await step(tick, EXPIRE_PAYMENTS, {}); // skips the payment the deposit holds
      await tick.commit();
      await deposit.commit();
    }
    expect((await paymentOf(o.orderId)).outcome).toBe(decided);
    expect(await charges(o.orderId)).toBe(decided === 'charged' ? 1 : 0);
    expect(await balanceOf(t.db, account)).toBe(decided === 'charged' ? 0 : 100);
    // The later tick changes nothing more.
    expect((await outcome(EXPIRE_PAYMENTS, {})).filter((e) => e.orderId === o.orderId)).toEqual([]);
  });
});
