/**
 * Chaos: orders that wait for funds, with every event delivered 2 or 3
 * times, shuffled, while deposits storm in and deadlines pass.
 *
 * - covered by a storm: several concurrent deposits (each sent twice with
 *   its Idempotency-Key) that together cover the order arrive while it
 *   waits: it is charged once and confirmed;
 * - racing the deadline: a deposit that covers it arrives at a set offset
 *   from its own deadline, from well before to well after: it ends confirmed
 *   (charged once) or cancelled payment_timeout (charged nothing), never
 *   both;
 * - never covered: cancelled payment_timeout by its deadline plus a tick;
 * - cancelled by its owner while deposits arrive: confirmed, or cancelled
 *   customer_cancelled with nothing charged.
 *
 * Only the race and never kinds are about the deadline, so only they get a
 * short one; the storm and owner kinds wait long enough that a slow machine
 * cannot turn their races into timeouts.
 *
 * Whichever way each race goes, every balance is the deposits less the price
 * of a confirmed order, no seat is held by a cancelled order, and every
 * order has one letter of its kind.
 */
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { mapLimit, useChaosStack, waitUntilSettled, type Client, type Customer } from './harness.js';
import { brokerSummary, clientSummary, invariantSummary } from './report.js';
import { letterProblems } from './journeys.js';
import { checkInvariants } from '../../lib/invariants.js';

const PRICE = 1_000;
/** The deadline of the race and never kinds, in seconds. */
const PAY_WITHIN = 5;
/** The storm and owner kinds' deadline: far beyond any race of theirs. */
const PATIENT = 120;

type Kind = 'storm' | 'race' | 'never' | 'owner';
const KINDS: Kind[] = ['storm', 'race', 'never', 'owner'];
const PER_KIND = 6;
const ALLOWED: Record<Kind, string[]> = {
  storm: ['confirmed'],
  race: ['confirmed', 'cancelled/payment_timeout'],
  never: ['cancelled/payment_timeout'],
  owner: ['confirmed', 'cancelled/customer_cancelled'],
};

interface Waiting {
  kind: Kind;
  customer: Customer;
  orderId: string;
  deposited: number;
}

async function placeWaiting(client: Client, customer: Customer, slotId: string, payWithin: number): Promise<string> {
  const answer = await client.send('POST', '/orders', {
    token: customer.token,
    body: { accountId: customer.id, slotId, payWithin },
    idempotencyKey: newId(),
  });
  expect(answer.status, answer.text).toBe(202);
  return (answer.body as { id: string }).id;
}

/** A deposit sent twice with one key: a client retrying on a lost answer. */
async function depositTwice(client: Client, customer: Customer, amount: number): Promise<void> {
  const key = newId();
  const answers = await Promise.all([client.deposit(customer, amount, key), client.deposit(customer, amount, key)]);
  for (const a of answers) expect(a.status, a.text).toBe(201);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the order (bounded) until it is awaiting_funds; answers its payment deadline. */
async function untilWaiting(client: Client, w: Waiting): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const answer = await client.send('GET', `/orders/${w.orderId}`, { token: w.customer.token });
    const order = answer.body as { status: string; paymentDeadline: string | null };
    if (order.status === 'awaiting_funds') return Date.parse(order.paymentDeadline!);
    await pause(50);
  }
  throw new Error(`order ${w.orderId} never waited for funds`);
}

describe('chaos: waiting for funds', () => {
  const chaosStack = useChaosStack({ chaos: { duplicates: { min: 2, max: 3 }, shuffle: true } });

  it('deposit storms and duplicate deliveries racing deadlines: one outcome each, nothing charged twice, no seat leaked, one letter per order', async () => {
    const chaos = chaosStack();
    const { client, db, stack } = chaos;
    const slotId = await client.createSlot('Waiting race', KINDS.length * PER_KIND + 5, PRICE);
    const planned = KINDS.flatMap((kind) => Array.from({ length: PER_KIND }, () => kind));
    const waiting: Waiting[] = await mapLimit(planned, 6, async (kind) => {
      const customer = await client.openAccount(0);
      const payWithin = kind === 'race' || kind === 'never' ? PAY_WITHIN : PATIENT;
      return { kind, customer, orderId: await placeWaiting(client, customer, slotId, payWithin), deposited: 0 };
    });

    await Promise.all(
      waiting.map(async (w, i) => {
        if (w.kind === 'storm') {
          // Five deposits of a quarter each, at once: any four cover the order.
          await Promise.all(Array.from({ length: 5 }, () => depositTwice(client, w.customer, PRICE / 4)));
          w.deposited = (5 * PRICE) / 4;
        } else if (w.kind === 'race') {
          // Spread from 4.5 s before its deadline to 2.5 s after it, through the moment itself.
          const deadline = await untilWaiting(client, w);
          const offset = -4_500 + ((i % PER_KIND) / (PER_KIND - 1)) * 7_000;
          await pause(Math.max(0, deadline + offset - Date.now()));
          await depositTwice(client, w.customer, PRICE);
          w.deposited = PRICE;
        } else if (w.kind === 'owner') {
          // Only a waiting order can be cancelled: wait until it waits.
          await untilWaiting(client, w);
          // Half cancel first and deposit a moment later, half the other way round.
          const cancel = () => client.send('POST', `/orders/${w.orderId}/cancel`, { token: w.customer.token });
          const cancelled = i % 2 === 0 ? await cancel() : undefined;
          if (cancelled) await pause(300);
          await depositTwice(client, w.customer, PRICE);
          w.deposited = PRICE;
          expect([202, 409]).toContain((cancelled ?? (await cancel())).status);
        }
      }),
    );

    const settlement = await waitUntilSettled(db);
    const invariants = await checkInvariants(db, { settled: true, tickSeconds: 2 });
    const orders = (await db('orders').whereIn('id', waiting.map((w) => w.orderId)).select('id', 'status', 'reason')) as {
      id: string;
      status: string;
      reason: string | null;
    }[];
    const byId = new Map(orders.map((o) => [o.id, o]));
    const problems: string[] = [];
    const tally: Record<string, number> = {};
    for (const w of waiting) {
      const order = byId.get(w.orderId)!;
      const outcome = `${w.kind}:${order.status}${order.reason ? `/${order.reason}` : ''}`;
      tally[outcome] = (tally[outcome] ?? 0) + 1;
      if (!ALLOWED[w.kind].includes(outcome.slice(w.kind.length + 1))) problems.push(`${w.orderId} (${w.kind}) ended ${outcome}`);
      const charges = Number((await db('ledger').where({ reference: w.orderId, kind: 'charge' }).count())[0]!.count);
      const expectedBalance = w.deposited - (order.status === 'confirmed' ? PRICE : 0);
      const balance = await client.balance(w.customer);
      if (charges !== (order.status === 'confirmed' ? 1 : 0)) problems.push(`${w.orderId} (${w.kind}, ${order.status}) has ${charges} charges`);
      if (balance !== expectedBalance) problems.push(`${w.customer.id} (${w.kind}, ${order.status}) has ${balance}, expected ${expectedBalance}`);
    }
    const held = Number((await db('slots').where({ id: slotId }).first('reserved')).reserved);
    const confirmed = orders.filter((o) => o.status === 'confirmed').length;

    console.log(
      `[chaos] waiting for funds: ${waiting.length} orders with payWithin=${PAY_WITHIN}s (race, never) or ${PATIENT}s (storm, owner), duplicates=2-3 shuffled; ` +
        `outcomes ${JSON.stringify(tally)}; seats held ${held} for ${confirmed} confirmed; settled=${settlement.settled} in ${settlement.ms} ms; ` +
        `invariants: ${invariantSummary(invariants)}\n[chaos]   ${brokerSummary(stack.broker.stats())}\n[chaos]   ${clientSummary(client.stats)}`,
    );
    expect(settlement.settled).toBe(true);
    expect(problems).toEqual([]);
    expect(held, 'seats held by the confirmed orders only').toBe(confirmed);
    expect(await letterProblems(db)).toEqual([]);
    expect(invariants.violations).toEqual([]);
    // The races were real: they went each way they could.
    expect(tally['storm:confirmed']).toBe(PER_KIND);
    expect(tally['never:cancelled/payment_timeout']).toBe(PER_KIND);
    expect(tally['race:confirmed'], 'a deposit before the deadline wins').toBeGreaterThan(0);
    expect(tally['race:cancelled/payment_timeout'], 'a deposit after the deadline is too late').toBeGreaterThan(0);
    expect(tally['owner:cancelled/customer_cancelled'], 'a cancel before the deposit wins').toBeGreaterThan(0);
    expect(tally['owner:confirmed'], 'a deposit before the cancel wins').toBeGreaterThan(0);
  });
});
