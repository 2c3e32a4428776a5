/**
 * The arithmetic of the invariants (SPEC §7) as the API shows them, and the
 * plan of the saga journey. Pure like `./lib.js`: Node can import it too.
 */

/**
 * @typedef {import('./replies.js').Notification} Notification
 * @typedef {import('./replies.js').Order} Order
 * @typedef {import('./replies.js').Slot} Slot
 */

/**
 * @typedef {'pending' | 'awaiting_funds' | 'confirmed' | 'cancelled:sold_out' | 'cancelled:unknown_slot' | 'cancelled:insufficient_funds'
 *   | 'cancelled:payment_timeout' | 'cancelled:customer_cancelled'} Outcome
 */

// ---------------------------------------------------------------------------
// Orders and invariants

/**
 * @param {Order} order
 * @returns {Outcome}
 */
export function outcomeOf(order) {
  if (order.status === 'cancelled') return /** @type {Outcome} */ (`cancelled:${order.reason}`);
  return order.status;
}

/** Confirmed or cancelled: its saga is over (a waiting order is not). @param {Order} order */
export const isTerminal = (order) => order.status === 'confirmed' || order.status === 'cancelled';

/**
 * What confirmed orders took from the account.
 * @param {Order[]} orders
 * @returns {number}
 */
export function confirmedTotal(orders) {
  let total = 0;
  for (const order of orders) if (order.status === 'confirmed') total += order.amount;
  return total;
}

/**
 * Seats that confirmed orders hold on `slotId`.
 * @param {Order[]} orders
 * @param {string} slotId
 * @returns {number}
 */
export function seatsHeld(orders, slotId) {
  let seats = 0;
  for (const order of orders) if (order.status === 'confirmed' && order.slotId === slotId) seats += order.seats;
  return seats;
}

/**
 * Invariant 1 seen from the API: balance = deposits − withdrawals − what
 * confirmed orders took (a cancelled order has no net charge).
 * @param {{ deposited: number, withdrawn: number, orders: Order[] }} ledger
 * @returns {number}
 */
export function expectedBalance(ledger) {
  return ledger.deposited - ledger.withdrawn - confirmedTotal(ledger.orders);
}

/**
 * Invariant 2 seen from the API: what is wrong with a slot's numbers.
 * @param {Slot} slot
 * @returns {string[]}
 */
export function slotViolations(slot) {
  /** @type {string[]} */
  const problems = [];
  if (slot.reserved < 0) problems.push(`slot ${slot.id}: reserved ${slot.reserved} < 0`);
  if (slot.reserved > slot.capacity) problems.push(`slot ${slot.id}: reserved ${slot.reserved} > capacity ${slot.capacity}`);
  if (slot.available !== slot.capacity - slot.reserved) {
    problems.push(`slot ${slot.id}: available ${slot.available} ≠ capacity ${slot.capacity} − reserved ${slot.reserved}`);
  }
  return problems;
}

/**
 * Invariant 5 seen from the API: each terminal order has exactly one letter,
 * of its type (happy for confirmed, sorrow for cancelled), and no letter is
 * about another order.
 * @param {Order[]} orders
 * @param {Notification[]} notifications
 * @returns {string[]}
 */
export function notificationViolations(orders, notifications) {
  /** @type {string[]} */
  const problems = [];
  /** @type {{ [orderId: string]: Order }} */
  const byId = {};
  for (const order of orders) byId[order.id] = order;
  /** @type {{ [orderId: string]: number }} */
  const letters = {};
  for (const n of notifications) {
    const order = byId[n.orderId];
    if (order === undefined) {
      problems.push(`notification ${n.id} is about order ${n.orderId}, not one of this account's`);
      continue;
    }
    letters[n.orderId] = (letters[n.orderId] || 0) + 1;
    const want = order.status === 'confirmed' ? 'happy' : 'sorrow';
    if (isTerminal(order) && n.type !== want) problems.push(`order ${order.id} is ${order.status} but its letter is ${n.type}`);
  }
  for (const order of orders) {
    const count = letters[order.id] || 0;
    if (isTerminal(order) && count !== 1) problems.push(`order ${order.id} (${order.status}) has ${count} letters, not 1`);
    if (!isTerminal(order) && count !== 0) problems.push(`order ${order.id} is ${order.status} but has ${count} letters`);
  }
  return problems;
}

// ---------------------------------------------------------------------------
// The saga journey's plan

/** Prices in minor units. A journey's deposit covers a standard and a scarce seat, never a luxury one. */
export const PRICES = { standard: 1000, scarce: 2500, luxury: 1000000, pool: 1000 };

/** What each journey deposits. */
export const JOURNEY_FUNDS = 5000;

/** What setup deposits on each pool account: a few seats, then its orders are declined. */
export const POOL_FUNDS = 3000;

/**
 * @typedef {object} SlotIds
 * @property {string} standard  Never sells out: every journey's first order is confirmed.
 * @property {string[]} scarce  A few seats each: sells out within seconds.
 * @property {string} luxury    Costs more than any journey has: always declined, its seats released.
 * @property {string} pool      Only pool accounts book it, so teardown knows every order on it.
 */

/**
 * @typedef {object} PlannedOrder
 * @property {'standard' | 'scarce' | 'luxury' | 'unknown'} kind
 * @property {string} slotId
 * @property {number} seats
 * @property {number} amount      price × seats; 0 for a slot that does not exist.
 * @property {Outcome[]} accepted  The terminal outcomes that are right for it.
 */

/**
 * The orders of journey number `iteration`, in the order they are placed.
 * @param {SlotIds} slots
 * @param {number} iteration
 * @param {string} unknownSlotId  A UUID that names no slot.
 * @returns {PlannedOrder[]}
 */
export function journeyOrders(slots, iteration, unknownSlotId) {
  const scarce = slots.scarce[iteration % slots.scarce.length];
  if (scarce === undefined) throw new RangeError('journeyOrders needs at least one scarce slot');
  return [
    { kind: 'standard', slotId: slots.standard, seats: 1, amount: PRICES.standard, accepted: ['confirmed'] },
    { kind: 'scarce', slotId: scarce, seats: 1, amount: PRICES.scarce, accepted: ['confirmed', 'cancelled:sold_out'] },
    { kind: 'luxury', slotId: slots.luxury, seats: 1, amount: PRICES.luxury, accepted: ['cancelled:insufficient_funds'] },
    { kind: 'unknown', slotId: unknownSlotId, seats: 1, amount: 0, accepted: ['cancelled:unknown_slot'] },
  ];
}

/**
 * The pool account journey number `iteration` books for, and how many seats.
 * Pool accounts are shared by every VU, so their orders race for the same
 * money and the same seats.
 * @param {number} poolSize
 * @param {number} iteration
 * @returns {{ index: number, seats: number, accepted: Outcome[] }}
 */
export function poolOrder(poolSize, iteration) {
  return {
    index: iteration % poolSize,
    seats: 1 + (Math.floor(iteration / poolSize) % 2),
    accepted: ['confirmed', 'cancelled:insufficient_funds', 'cancelled:sold_out'],
  };
}
