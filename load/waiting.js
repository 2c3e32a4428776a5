/**
 * The waiting-for-funds journey of `saga.js`, as data, and the arithmetic of
 * its checks. Pure like `./lib.js`: no k6 module, so Node can import it.
 *
 * Each iteration has an account of its own, funded short in setup(). It
 * places orders that may wait (`payWithin`), on a slot only these accounts
 * book, and then, while they wait, deposits twice: the first deposit covers
 * nothing, the second the oldest order alone. The next order is cancelled by
 * its owner; the last, when the run is long enough, is left to time out.
 *
 * The amounts make every wrong charge show in the balance: what is left after
 * the covered order (1500) would pay for it a second time (1000), but not for
 * either of the others (2000 each), so the end balance is exactly 1500.
 */
import { outcomeOf } from './invariants.js';

/**
 * @typedef {import('./replies.js').Order} Order
 * @typedef {import('./invariants.js').Outcome} Outcome
 */

/** Price of one seat on the waiting slot, in minor units. */
export const WAITING_PRICE = 1000;

/** What setup deposits on each waiting account: less than any of its orders. */
export const WAITING_START_FUNDS = 400;

/**
 * The deposits an iteration makes while its orders wait, in order: the first
 * leaves the balance (700) short of every order, the second (2500) covers the
 * oldest one (1000) and nothing else.
 */
export const WAITING_DEPOSITS = [300, 1800];

/** @param {number[]} amounts */
const sum = (amounts) => amounts.reduce((total, amount) => total + amount, 0);

/** Everything a waiting account is given: setup's funds and both deposits. */
export const WAITING_FUNDS = WAITING_START_FUNDS + sum(WAITING_DEPOSITS);

/**
 * @typedef {'covered' | 'cancelled' | 'timeout'} WaitingRole
 * - `covered`: the oldest; the second deposit pays for it: confirmed.
 * - `cancelled`: its owner cancels it while it waits: customer_cancelled.
 * - `timeout`: left alone until its deadline passes: payment_timeout.
 */

/**
 * @typedef {object} WaitingOrder
 * @property {WaitingRole} role
 * @property {number} seats
 * @property {number} amount     price × seats
 * @property {number} payWithin  Seconds it may wait.
 * @property {Outcome} outcome   How it must end.
 */

/**
 * The orders of one waiting iteration, in the order they are placed.
 * @param {{ waitPayWithin: number, timeoutPayWithin: number, timeouts: boolean }} s
 *   `waitPayWithin` must outlast the iteration (its orders end by a deposit or
 *   their owner, never by the clock); `timeouts`: leave one to time out.
 * @returns {WaitingOrder[]}
 */
export function waitingPlan(s) {
  /**
   * @param {WaitingRole} role
   * @param {number} seats
   * @param {number} payWithin
   * @param {Outcome} outcome
   * @returns {WaitingOrder}
   */
  const order = (role, seats, payWithin, outcome) => ({ role, seats, amount: WAITING_PRICE * seats, payWithin, outcome });
  const plan = [order('covered', 1, s.waitPayWithin, 'confirmed'), order('cancelled', 2, s.waitPayWithin, 'cancelled:customer_cancelled')];
  if (s.timeouts) plan.push(order('timeout', 2, s.timeoutPayWithin, 'cancelled:payment_timeout'));
  return plan;
}

/**
 * What is wrong with a waiting account's orders once its saga has ended:
 * each must be the one planned at its place (oldest first) and have ended as
 * planned. An account with no orders is one whose iteration never ran.
 * @param {Order[]} orders  `GET /accounts/{id}/orders`, oldest first.
 * @param {WaitingOrder[]} plan
 * @returns {string[]}
 */
export function waitingOrderViolations(orders, plan) {
  /** @type {string[]} */
  const problems = [];
  if (orders.length === 0) return problems;
  if (orders.length !== plan.length) problems.push(`${orders.length} orders, not the ${plan.length} planned`);
  orders.forEach((order, i) => {
    const planned = plan[i];
    if (planned === undefined) return;
    const outcome = outcomeOf(order);
    if (outcome !== planned.outcome) problems.push(`order ${order.id} (${planned.role}) ended ${outcome}, not ${planned.outcome}`);
    if (order.seats !== planned.seats || order.amount !== planned.amount || order.payWithin !== planned.payWithin) {
      problems.push(`order ${order.id} (${planned.role}) is ${order.seats} seat(s) for ${order.amount} within ${order.payWithin} s, not as planned`);
    }
  });
  return problems;
}

/**
 * SPEC §7.7 seen from an order's history: a waiting payment declined at its
 * deadline is declined no sooner than the deadline, and at most one tick
 * (plus `slackMs` for the tick to arrive and run) after it. Server times on
 * both sides, so clients' clocks do not matter.
 * @param {Order} order  With its history (`GET /orders/{id}`).
 * @param {number} tickSeconds
 * @param {number} slackMs
 * @returns {string[]}
 */
export function deadlineViolations(order, tickSeconds, slackMs) {
  const history = order.history || [];
  const declined = history.filter((h) => h.step === 'payment.declined' && h.reason === 'payment_timeout')[0];
  if (order.paymentDeadline === null || declined === undefined) {
    return [`order ${order.id}: no deadline (${order.paymentDeadline}) or no payment.declined payment_timeout in its history`];
  }
  const lateMs = Date.parse(declined.at) - Date.parse(order.paymentDeadline);
  if (lateMs < 0) return [`order ${order.id}: declined ${-lateMs} ms before its deadline`];
  if (lateMs > tickSeconds * 1000 + slackMs) return [`order ${order.id}: declined ${lateMs} ms after its deadline, more than one tick (${tickSeconds} s)`];
  return [];
}
