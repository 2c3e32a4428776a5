/**
 * The workload the fault scenarios share: customer journeys through the
 * gateway whose outcomes are knowable in advance, however the faults
 * interleave them.
 *
 * - a roomy slot (more seats than buyers): a funded buyer is confirmed, a
 *   short one cancelled `insufficient_funds` (after holding a seat for a moment);
 * - a scarce slot bought only by funded buyers: exactly `capacity` are
 *   confirmed, the rest cancelled `sold_out` (who wins is the race's);
 * - a slot that does not exist: cancelled `unknown_slot`.
 *
 * Each customer places one order, so every balance is exact: the funds,
 * less the amount of the order if it was confirmed.
 */
import { expect } from 'vitest';
import type { Db } from '../../lib/db.js';
import { newId } from '../../lib/ids.js';
import { checkInvariants, type InvariantReport } from '../../lib/invariants.js';
import {
  brokerQuiet,
  mapLimit,
  outcomeOf,
  startLoad,
  waitUntilSettled,
  type ChaosStack,
  type Client,
  type Customer,
  type Load,
  type Outcome,
  type PlacedOrder,
  type Settlement,
} from './harness.js';

export type JourneyKind = 'roomy-funded' | 'roomy-short' | 'scarce' | 'unknown-slot';

export interface Journey {
  kind: JourneyKind;
  customer: Customer;
  funds: number;
  slotId: string;
}

export interface Workload {
  journeys: Journey[];
  /** The totals every run must end with. */
  expected: { orders: number; confirmed: number; cancelled: number; sold_out: number; insufficient_funds: number; unknown_slot: number };
}

export interface WorkloadSizes {
  roomyFunded: number;
  roomyShort: number;
  scarceBuyers: number;
  scarceCapacity: number;
  unknownSlot: number;
}

export const DEFAULT_SIZES: WorkloadSizes = { roomyFunded: 20, roomyShort: 10, scarceBuyers: 30, scarceCapacity: 10, unknownSlot: 2 };

const ROOMY_PRICE = 1500;
const SCARCE_PRICE = 1000;

/** Opens the slots and the funded accounts (before any fault), and deals the journeys out mixed. */
export async function prepareWorkload(client: Client, sizes: WorkloadSizes = DEFAULT_SIZES): Promise<Workload> {
  const roomy = await client.createSlot('Roomy race', sizes.roomyFunded + sizes.roomyShort + 10, ROOMY_PRICE);
  const scarce = await client.createSlot('Scarce race', sizes.scarceCapacity, SCARCE_PRICE);
  const groups: { kind: JourneyKind; funds: number; slotId: string; count: number }[] = [
    { kind: 'roomy-funded', funds: ROOMY_PRICE + 500, slotId: roomy, count: sizes.roomyFunded },
    { kind: 'roomy-short', funds: ROOMY_PRICE - 500, slotId: roomy, count: sizes.roomyShort },
    // Exactly the price: a confirmed buyer ends at 0, the boundary of "never negative".
    { kind: 'scarce', funds: SCARCE_PRICE, slotId: scarce, count: sizes.scarceBuyers },
    { kind: 'unknown-slot', funds: 0, slotId: newId(), count: sizes.unknownSlot },
  ];
  // Round-robin over the groups, so any stretch of the load (and so any fault) meets every kind.
  const planned: Omit<Journey, 'customer'>[] = [];
  const total = groups.reduce((n, g) => n + g.count, 0);
  for (let i = 0; planned.length < total; i++) {
    for (const g of groups) if (i < g.count) planned.push({ kind: g.kind, funds: g.funds, slotId: g.slotId });
  }
  const journeys = await mapLimit(planned, 8, async (p) => ({ ...p, customer: await client.openAccount(p.funds) }));
  const soldOut = Math.max(0, sizes.scarceBuyers - sizes.scarceCapacity);
  const confirmed = sizes.roomyFunded + Math.min(sizes.scarceBuyers, sizes.scarceCapacity);
  const orders = planned.length;
  return {
    journeys,
    expected: { orders, confirmed, cancelled: orders - confirmed, sold_out: soldOut, insufficient_funds: sizes.roomyShort, unknown_slot: sizes.unknownSlot },
  };
}

export interface Placed {
  journey: Journey;
  order: PlacedOrder;
}

/** Places every journey's order, `concurrency` at a time, each request held up to `waitSeconds` for its outcome. */
export function runJourneys(client: Client, journeys: readonly Journey[], { concurrency = 6, waitSeconds = 10 } = {}): Load<Placed> {
  return startLoad(journeys, concurrency, async (journey) => ({ journey, order: await client.placeOrder(journey.customer, journey.slotId, waitSeconds) }));
}

/**
 * Prepares the workload and starts its journeys at once; `reachedShare(f)`
 * resolves when that share of them has ended, which is when a scenario
 * strikes.
 */
export async function startWorkload(client: Client, sizes: WorkloadSizes = DEFAULT_SIZES) {
  const workload = await prepareWorkload(client, sizes);
  const load = runJourneys(client, workload.journeys);
  return { workload, load, reachedShare: (share: number) => load.reached(Math.floor(workload.journeys.length * share)) };
}

/**
 * Every journey against its expected end, from the database and (for
 * balances) the API: exactly one order per customer, of the expected status
 * and reason, and a balance of funds less what a confirmed order cost.
 * Returns what does not match.
 */
export async function checkJourneys(db: Db, client: Client, placed: readonly Placed[]): Promise<string[]> {
  const problems: string[] = [];
  const customers = placed.map((p) => p.journey.customer.id);
  const rows = (await db('orders').whereIn('account_id', customers).select('id', 'account_id', 'status', 'reason', 'amount')) as {
    id: string;
    account_id: string;
    status: string;
    reason: string | null;
    amount: number;
  }[];
  const byAccount = new Map<string, typeof rows>();
  for (const r of rows) byAccount.set(r.account_id, [...(byAccount.get(r.account_id) ?? []), r]);
  const balances = await mapLimit(placed, 8, (p) => client.balance(p.journey.customer));
  placed.forEach(({ journey, order }, i) => {
    const mine = byAccount.get(journey.customer.id) ?? [];
    if (mine.length !== 1 || mine[0]!.id !== order.id) {
      problems.push(`${journey.kind} customer ${journey.customer.id}: ${mine.length} orders (${mine.map((o) => o.id).join(', ')}), placed ${order.id}`);
      return;
    }
    const final = mine[0]!;
    const allowed: Record<JourneyKind, string[]> = {
      'roomy-funded': ['confirmed/'],
      'roomy-short': ['cancelled/insufficient_funds'],
      scarce: ['confirmed/', 'cancelled/sold_out'],
      'unknown-slot': ['cancelled/unknown_slot'],
    };
    const got = `${final.status}/${final.reason ?? ''}`;
    if (!allowed[journey.kind].includes(got)) problems.push(`${journey.kind} order ${final.id}: ended ${got}`);
    const expectedBalance = journey.funds - (final.status === 'confirmed' ? final.amount : 0);
    if (balances[i] !== expectedBalance) {
      problems.push(`${journey.kind} customer ${journey.customer.id}: balance ${balances[i]}, expected ${expectedBalance} (funds ${journey.funds}, order ${got})`);
    }
  });
  return problems;
}

/** Orders with other than exactly one letter, or a letter of the wrong kind. */
export async function letterProblems(db: Db): Promise<string[]> {
  const { rows } = (await db.raw(`
    select o.id, o.status, count(n.id) as letters, string_agg(n.letter, ',') as types
      from orders o left join notifications n on n.order_id = o.id
     where o.status in ('confirmed', 'cancelled')
     group by o.id, o.status
    having count(n.id) <> 1 or bool_or(n.letter <> case o.status when 'confirmed' then 'happy' else 'sorrow' end)`)) as {
    rows: { id: string; status: string; letters: number; types: string | null }[];
  };
  return rows.map((r) => `order ${r.id} ${r.status}: ${r.letters} letters (${r.types ?? 'none'})`);
}

/** Pending or unnotified orders with their last saga event, for a failure's message. */
export async function stuckOrders(db: Db, limit = 10): Promise<string[]> {
  const rows = (await db.raw(
    `select o.id, o.status,
            (select x.type from outbox x where x.subject = o.id::text order by x.created_at desc limit 1) as step,
            exists (select 1 from notifications n where n.order_id = o.id) as notified
       from orders o
      where o.status = 'pending' or not exists (select 1 from notifications n where n.order_id = o.id)
      limit ?`,
    [limit],
  )) as { rows: { id: string; status: string; step: string | null; notified: boolean }[] };
  return rows.rows.map((r) => `${r.id} ${r.status} (last event ${r.step?.replace('dev.ordersaga.', '') ?? 'none'}, notified ${r.notified})`);
}

/** Where a scenario ended, once its orders had their chance to settle. */
export interface Verdict {
  settlement: Settlement;
  /** Orders that never reached a terminal status within the deadline. */
  lost: number;
  /** Whether the Broker emptied its pipeline (late duplicates included) after settling; undefined where it cannot be seen (another process). */
  brokerQuiet: boolean | undefined;
  outcome: Outcome;
  invariants: InvariantReport;
  journeyProblems: string[];
  letterProblems: string[];
  /** Some orders that did not settle, with their last event, and the stand-in's latest warnings. */
  stuck: string[];
}

/** What a verdict is drawn from: the stack's database and a client, and what can be seen of the stand-in. */
export interface Witnesses {
  db: Db;
  client: Client;
  /** Resolves whether the Broker emptied its pipeline; absent when the stand-in runs in another process. */
  brokerQuiet?: () => Promise<boolean>;
  /** The stand-in's latest warnings and errors. */
  recentProblems(): string[];
}

/** Waits (bounded) for every order to end and be notified, then checks everything checkable. */
export async function judge({ db, client, brokerQuiet: quietly, recentProblems }: Witnesses, placed: readonly Placed[]): Promise<Verdict> {
  const settlement = await waitUntilSettled(db);
  const quiet = await quietly?.();
  const stuck = settlement.settled ? [] : [...(await stuckOrders(db)), ...recentProblems().slice(-10).map((p) => `stand-in said: ${p}`)];
  return {
    settlement,
    lost: settlement.pending,
    brokerQuiet: quiet,
    outcome: await outcomeOf(db),
    invariants: await checkInvariants(db, { settled: true }),
    journeyProblems: await checkJourneys(db, client, placed),
    letterProblems: await letterProblems(db),
    stuck,
  };
}

/** `judge` for a chaos stack in this process. */
export function settleAndCheck(chaos: ChaosStack, placed: readonly Placed[]): Promise<Verdict> {
  return judge({ db: chaos.db, client: chaos.client, brokerQuiet: () => brokerQuiet(chaos.stack), recentProblems: () => chaos.tally.recentProblems }, placed);
}

/**
 * A fault scenario's run: the workload on `chaos`, `strike` doing its harm
 * meanwhile (it may wait for a share of the journeys to end first), then
 * every order settled and judged. Returns what `strike` returned.
 */
export async function underLoad<T>(chaos: ChaosStack, strike: (reachedShare: (share: number) => Promise<void>) => Promise<T>) {
  const { workload, load, reachedShare } = await startWorkload(chaos.client);
  const struck = await strike(reachedShare);
  const verdict = await settleAndCheck(chaos, await load.done);
  return { workload, verdict, struck };
}

/** What every fault scenario must end with: nothing lost, the exact totals, every invariant. */
export function expectSound(verdict: Verdict, workload: Workload): void {
  expect(verdict.stuck, 'orders that did not settle').toEqual([]);
  expect(verdict.lost).toBe(0);
  expect(verdict.settlement.settled).toBe(true);
  expect(verdict.invariants.violations).toEqual([]);
  expect(verdict.journeyProblems).toEqual([]);
  expect(verdict.letterProblems).toEqual([]);
  const { expected } = workload;
  expect({
    orders: verdict.outcome.orders,
    confirmed: verdict.outcome.confirmed,
    cancelled: verdict.outcome.cancelled,
    sold_out: verdict.outcome.reasons.sold_out ?? 0,
    insufficient_funds: verdict.outcome.reasons.insufficient_funds ?? 0,
    unknown_slot: verdict.outcome.reasons.unknown_slot ?? 0,
  }).toEqual(expected);
}
