/**
 * The peers' journey against real PostgreSQL, judged by ordersaga's own
 * invariant checker: what both engines run, with a plain step runner, one
 * that runs every step twice (a crash after the commit, before the journal
 * had the result), and journeys racing each other.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../lib/invariants.ts';
import { createTestDatabase, type TestDatabase } from '../../test/db.ts';
import { openAccountSaga, orderSaga, type RunStep } from './saga.ts';
import { createSteps, UnknownAccountError, type Steps } from './steps.ts';

let tdb: TestDatabase;
let pool: pg.Pool;
let steps: Steps;

beforeAll(async () => {
  tdb = await createTestDatabase();
  pool = new pg.Pool({ connectionString: tdb.url, max: 10 });
  // A connection still closing when the database is dropped reports it here, not as an uncaught error.
  pool.on('error', () => {});
  steps = createSteps(pool);
});

afterAll(async () => {
  await pool.end();
  await tdb.destroy();
});

const once: RunStep = (_name, action) => action();

/** Runs every step twice and checks that the rerun answers what the first run decided. */
const twice: RunStep = async (name, action) => {
  const first = await action();
  const second = await action();
  expect(second, `a rerun of ${name}`).toEqual(first);
  return second;
};

const PRICE = 100;

async function customer(deposit: number, run: RunStep = once): Promise<string> {
  const accountId = randomUUID();
  await openAccountSaga(run, steps, { accountId, email: `${accountId}@example.com`, name: 'Ada', deposit });
  return accountId;
}

async function slot(capacity: number): Promise<string> {
  const slotId = randomUUID();
  await steps.createSlot({ slotId, name: 'race', capacity, price: PRICE });
  return slotId;
}

const order = (accountId: string, slotId: string, run: RunStep = once, orderId: string = randomUUID()) =>
  orderSaga(run, steps, { orderId, accountId, slotId, seats: 1 });

async function rowsOf(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  return (await pool.query(sql, params)).rows;
}

const balanceOf = async (accountId: string) => (await rowsOf('select balance::int from balances where account_id = $1', [accountId]))[0]?.balance;
const lettersOf = async (orderId: string) => (await rowsOf('select letter from notifications where order_id = $1', [orderId])).map((r) => r.letter);

async function expectInvariants(): Promise<void> {
  const report = await checkInvariants(tdb.db, { settled: true });
  expect(report.violations).toEqual([]);
}

describe('the peers journey', () => {
  it('confirms a funded order: one charge, its seat held, one happy letter', async () => {
    const accountId = await customer(1000);
    const finished = await order(accountId, await slot(10));
    expect(finished).toMatchObject({ status: 'confirmed', reason: null, amount: PRICE });
    expect(await balanceOf(accountId)).toBe(900);
    expect(await lettersOf(finished.orderId)).toEqual(['happy']);
    await expectInvariants();
  });

  it('cancels an underfunded order as insufficient_funds, gives its seat back and charges nothing', async () => {
    const accountId = await customer(50);
    const slotId = await slot(10);
    const finished = await order(accountId, slotId);
    expect(finished).toMatchObject({ status: 'cancelled', reason: 'insufficient_funds' });
    expect(await rowsOf('select reserved from slots where id = $1', [slotId])).toEqual([{ reserved: 0 }]);
    expect(await rowsOf('select status from reservations where order_id = $1', [finished.orderId])).toEqual([{ status: 'released' }]);
    expect(await rowsOf('select outcome from payments where order_id = $1', [finished.orderId])).toEqual([{ outcome: 'declined' }]);
    expect(await balanceOf(accountId)).toBe(50);
    expect(await lettersOf(finished.orderId)).toEqual(['sorrow']);
    await expectInvariants();
  });

  it('cancels an order for a full slot as sold_out, and one for an unknown slot as unknown_slot', async () => {
    const accountId = await customer(1000);
    const full = await slot(1);
    expect((await order(accountId, full)).status).toBe('confirmed');
    expect(await order(accountId, full)).toMatchObject({ status: 'cancelled', reason: 'sold_out' });
    expect(await order(accountId, randomUUID())).toMatchObject({ status: 'cancelled', reason: 'unknown_slot', amount: 0 });
    await expectInvariants();
  });

  it('refuses an order for an unknown account and writes nothing', async () => {
    const orderId = randomUUID();
    await expect(order(randomUUID(), await slot(10), once, orderId)).rejects.toBeInstanceOf(UnknownAccountError);
    expect(await rowsOf('select id from orders where id = $1', [orderId])).toEqual([]);
  });

  it('changes nothing when every step runs again, whatever the path', async () => {
    const funded = await customer(1000, twice);
    const short = await customer(50, twice);
    const one = await slot(1);
    const confirmed = await order(funded, one, twice);
    const soldOut = await order(funded, one, twice);
    const declined = await order(short, await slot(10), twice);
    expect([confirmed.status, soldOut.reason, declined.reason]).toEqual(['confirmed', 'sold_out', 'insufficient_funds']);
    // The deposit ran twice too: the balance says once.
    expect(await balanceOf(funded)).toBe(900);
    await expectInvariants();
  });

  it('runs a finished journey again without a second charge or letter', async () => {
    const accountId = await customer(1000);
    const slotId = await slot(10);
    const first = await order(accountId, slotId);
    const again = await order(accountId, slotId, once, first.orderId);
    expect(again).toEqual(first);
    expect(await rowsOf(`select count(*)::int as n from ledger where reference = $1 and kind = 'charge'`, [first.orderId])).toEqual([{ n: 1 }]);
    expect(await lettersOf(first.orderId)).toEqual(['happy']);
    await expectInvariants();
  });

  it('never oversells a slot or overdraws an account when journeys race, the same order among them', async () => {
    const accountId = await customer(PRICE * 3);
    const slotId = await slot(5);
    const orderIds = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    // Every order started twice at once, as when an engine's recovery races the first run.
    const results = await Promise.all([...orderIds, ...orderIds].map((id) => order(accountId, slotId, once, id)));
    const statuses = new Map(results.map((r) => [r.orderId, r.status]));
    expect(results.every((r) => r.status === statuses.get(r.orderId)), 'both runs of an order end alike').toBe(true);
    expect([...statuses.values()].filter((s) => s === 'confirmed')).toHaveLength(3);
    expect(await balanceOf(accountId)).toBe(0);
    await expectInvariants();
  });
});
