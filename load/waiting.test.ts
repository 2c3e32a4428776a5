/**
 * The waiting journey's plan and the checks of its end state (./waiting.js),
 * called from Node.
 */
import { describe, expect, it } from 'vitest';
import { ID } from './fixtures.js';
import { expectedBalance } from './invariants.js';
import { asOrder } from './replies.js';
import {
  WAITING_DEPOSITS,
  WAITING_FUNDS,
  WAITING_START_FUNDS,
  deadlineViolations,
  waitingOrderViolations,
  waitingPlan,
} from './waiting.js';

const SETTINGS = { waitPayWithin: 300, timeoutPayWithin: 5, timeouts: true };
const plan = waitingPlan(SETTINGS);
const [covered, cancelled, timeout] = plan;

/** The orders an iteration ends with when all goes as planned (oldest first). */
function ended(overrides: Record<number, Record<string, unknown>> = {}) {
  const outcomes = [
    { status: 'confirmed', reason: null },
    { status: 'cancelled', reason: 'customer_cancelled' },
    { status: 'cancelled', reason: 'payment_timeout' },
  ];
  return plan.map((p, i) =>
    asOrder({
      id: ID(i + 10),
      accountId: ID(1),
      slotId: ID(2),
      seats: p.seats,
      amount: p.amount,
      payWithin: p.payWithin,
      paymentDeadline: '2026-12-02T02:08:58.513Z',
      ...outcomes[i],
      ...overrides[i],
    })!,
  );
}

describe('waitingPlan', () => {
  it('the oldest is covered, the next cancelled by its owner, the last left to time out', () => {
    expect(plan.map((p) => [p.role, p.seats, p.amount, p.payWithin, p.outcome])).toEqual([
      ['covered', 1, 1000, 300, 'confirmed'],
      ['cancelled', 2, 2000, 300, 'cancelled:customer_cancelled'],
      ['timeout', 2, 2000, 5, 'cancelled:payment_timeout'],
    ]);
  });

  it('without time-outs, two orders', () => {
    expect(waitingPlan({ ...SETTINGS, timeouts: false }).map((p) => p.role)).toEqual(['covered', 'cancelled']);
  });

  // The amounts are what make the scenario's checks bite.
  it('the start funds and the first deposit cover no order: the first deposit resumes nothing', () => {
    const after = WAITING_START_FUNDS + WAITING_DEPOSITS[0]!;
    expect(plan.every((p) => p.amount > after)).toBe(true);
  });

  it('the second deposit covers the oldest order, and what is left covers no other', () => {
    expect(WAITING_FUNDS).toBeGreaterThanOrEqual(covered!.amount);
    expect(WAITING_FUNDS - covered!.amount).toBeLessThan(Math.min(cancelled!.amount, timeout!.amount));
  });

  it('what is left after the covered order would pay for it again: a double charge shows in the balance', () => {
    expect(WAITING_FUNDS - covered!.amount).toBeGreaterThanOrEqual(covered!.amount);
    const once = expectedBalance({ deposited: WAITING_FUNDS, withdrawn: 0, orders: ended() });
    expect(once).toBe(WAITING_FUNDS - covered!.amount);
    expect(once - covered!.amount).toBeGreaterThanOrEqual(0);
  });
});

describe('waitingOrderViolations', () => {
  it('orders that ended as planned break nothing', () => {
    expect(waitingOrderViolations(ended(), plan)).toEqual([]);
  });

  it('an account whose iteration never ran has no orders, and nothing to check', () => {
    expect(waitingOrderViolations([], plan)).toEqual([]);
  });

  it.each([
    ['the covered order cancelled', { 0: { status: 'cancelled', reason: 'payment_timeout' } }, /\(covered\) ended cancelled:payment_timeout, not confirmed/],
    ['the cancelled order confirmed', { 1: { status: 'confirmed', reason: null } }, /\(cancelled\) ended confirmed/],
    ['the time-out still waiting', { 2: { status: 'awaiting_funds', reason: null } }, /\(timeout\) ended awaiting_funds/],
    ['the time-out cancelled for another reason', { 2: { reason: 'customer_cancelled' } }, /\(timeout\) ended cancelled:customer_cancelled/],
    ['an order for other seats', { 1: { seats: 1, amount: 1000 } }, /\(cancelled\) is 1 seat\(s\) for 1000 within 300 s, not as planned/],
    ['an order that may wait longer', { 2: { payWithin: 300 } }, /\(timeout\) is 2 seat\(s\) for 2000 within 300 s/],
  ])('%s is a violation', (_, overrides, problem) => {
    const problems = waitingOrderViolations(ended(overrides), plan);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });

  it('a missing or an extra order is a violation', () => {
    expect(waitingOrderViolations(ended().slice(0, 2), plan)).toEqual(['2 orders, not the 3 planned']);
    const extra = [...ended(), ended()[0]!];
    expect(waitingOrderViolations(extra, plan)).toEqual(['4 orders, not the 3 planned']);
  });
});

describe('deadlineViolations', () => {
  const deadline = '2026-12-02T02:08:43.147Z';
  const at = (ms: number) => new Date(Date.parse(deadline) + ms).toISOString();
  const timedOut = (history: { step: string; at: string; reason?: string }[], paymentDeadline: string | null = deadline) =>
    asOrder({
      id: ID(5),
      accountId: ID(1),
      slotId: ID(2),
      seats: 2,
      amount: 2000,
      status: 'cancelled',
      reason: 'payment_timeout',
      payWithin: 5,
      paymentDeadline,
      history: [
        { step: 'payment.awaiting', source: '/ordersaga/charge', at: at(-5000), deadline },
        ...history.map((h) => ({ source: '/ordersaga/charge', ...h })),
      ],
    })!;

  it.each([
    ['at its deadline', 0],
    ['within one tick', 900],
    ['one tick and the slack late', 1000 + 500],
  ])('declined %s: on time', (_, late) => {
    expect(deadlineViolations(timedOut([{ step: 'payment.declined', at: at(late), reason: 'payment_timeout' }]), 1, 500)).toEqual([]);
  });

  it('declined before its deadline is a violation', () => {
    expect(deadlineViolations(timedOut([{ step: 'payment.declined', at: at(-1), reason: 'payment_timeout' }]), 1, 500)).toEqual([
      `order ${ID(5)}: declined 1 ms before its deadline`,
    ]);
  });

  it('declined later than one tick and the slack is a violation', () => {
    expect(deadlineViolations(timedOut([{ step: 'payment.declined', at: at(61_501), reason: 'payment_timeout' }]), 60, 1500)).toEqual([
      `order ${ID(5)}: declined 61501 ms after its deadline, more than one tick (60 s)`,
    ]);
  });

  it('an order declined for another reason, or with no deadline, cannot show it was on time', () => {
    expect(deadlineViolations(timedOut([{ step: 'payment.declined', at: at(10), reason: 'customer_cancelled' }]), 1, 500)).toHaveLength(1);
    expect(deadlineViolations(timedOut([{ step: 'payment.declined', at: at(10), reason: 'payment_timeout' }], null), 1, 500)).toHaveLength(1);
  });
});
