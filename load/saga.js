/**
 * Load on the whole saga, then a check of the end state (SPEC §7).
 *
 * Each iteration is one customer's journey: open an account, deposit, and
 * place four orders with `Prefer: wait`: one that must be confirmed, one on a
 * slot with a few seats (confirmed until it sells out), one the account cannot
 * afford (declined, its seat released) and one for a slot that does not
 * exist. Its balance, order list and letters are then checked against what it
 * did. Each iteration also books for one of a pool of accounts that setup()
 * funded and every VU shares, so those orders race for the same money and
 * seats; teardown() waits for the saga to settle and checks the pool
 * accounts and every slot through the API.
 *
 *   k6 run -e ADMIN_TOKEN=... load/saga.js            (see load/README.md)
 */
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  JOURNEY_FUNDS,
  POOL_FUNDS,
  PRICES,
  expectedBalance,
  isTerminal,
  journeyOrders,
  notificationViolations,
  outcomeOf,
  poolOrder,
  readSagaSettings,
  seatsHeld,
  slotViolations,
} from './lib.js';
import {
  createSlot,
  depositMoney,
  must,
  newId,
  openAccount,
  placeOrder,
  pollUntil,
  readAccount,
  readNotifications,
  readOrders,
  readSlot,
  verify,
  violations,
} from './api.js';

/**
 * @typedef {import('./lib.js').Credentials} Credentials
 * @typedef {import('./lib.js').Order} Order
 * @typedef {import('./lib.js').Outcome} Outcome
 * @typedef {import('./lib.js').SlotIds} SlotIds
 * @typedef {import('./api.js').PlacedOrder} PlacedOrder
 */

/**
 * What setup() hands to every iteration and to teardown().
 * @typedef {object} SetupData
 * @property {SlotIds} slots
 * @property {Credentials[]} pool
 */

const settings = readSagaSettings(__ENV);

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    journeys: {
      executor: 'constant-arrival-rate',
      rate: settings.rate,
      timeUnit: '1s',
      duration: settings.duration,
      preAllocatedVUs: settings.preAllocatedVUs,
      maxVUs: settings.maxVUs,
      // Long enough for a journey's orders to end rather than be cut off mid-saga.
      gracefulStop: `${settings.waitSeconds + 20}s`,
    },
  },
  setupTimeout: '2m',
  teardownTimeout: `${Math.ceil(settings.teardownWaitMs / 1000) + 120}s`,
  thresholds: {
    checks: ['rate>0.99'],
    invariant_violations: ['count==0'],
    orders_unsettled: ['count==0'],
    http_req_failed: ['rate<0.01'],
    'http_req_duration{op:api}': [`p(95)<${settings.apiP95Ms}`],
    'http_req_duration{op:order}': [`p(95)<${settings.orderP95Ms}`],
    saga_e2e_ms: [`p(95)<${settings.e2eP95Ms}`],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

/** From `POST /orders` to the order seen confirmed or cancelled. */
const e2e = new Trend('saga_e2e_ms', true);
const confirmed = new Counter('orders_confirmed');
/** @type {{ [outcome: string]: Counter }} */
const cancelled = {
  'cancelled:sold_out': new Counter('orders_cancelled_sold_out'),
  'cancelled:insufficient_funds': new Counter('orders_cancelled_insufficient_funds'),
  'cancelled:unknown_slot': new Counter('orders_cancelled_unknown_slot'),
};
/** Orders still pending when the script stopped waiting (invariant 4). */
const unsettled = new Counter('orders_unsettled');

/** @returns {SetupData} */
export function setup() {
  violations.add(0); // so the summary shows the metric (and its threshold) even when nothing broke
  unsettled.add(0);
  const run = newId().slice(0, 8);
  /**
   * @param {string} kind
   * @param {number} capacity
   * @param {number} price
   */
  const slot = (kind, capacity, price) =>
    must(createSlot(settings, { name: `load ${run} ${kind}`, capacity, price }), `setup: could not create the ${kind} slot (is ADMIN_TOKEN right? is BASE_URL up?)`).id;

  /** @type {string[]} */
  const scarce = [];
  for (let i = 0; i < settings.scarceSlots; i++) scarce.push(slot(`scarce ${i + 1}`, settings.scarceCapacity, PRICES.scarce));
  const slots = {
    standard: slot('standard', 1000000, PRICES.standard),
    scarce,
    // Capacity to spare: a declined order holds its seat until compensation releases it.
    luxury: slot('luxury', 1000000, PRICES.luxury),
    pool: slot('pool', settings.poolSlotCapacity, PRICES.pool),
  };

  /** @type {Credentials[]} */
  const pool = [];
  for (let i = 0; i < settings.poolSize; i++) {
    const account = must(openAccount(settings, `pool-${run}-${i}`), 'setup: could not open a pool account');
    must(depositMoney(settings, account, POOL_FUNDS, 'pool-funds'), 'setup: could not fund a pool account');
    pool.push({ id: account.id, token: account.token });
  }
  return { slots, pool };
}

/**
 * Checks an order's end against what was right for it, and counts it.
 * @param {string} label
 * @param {PlacedOrder} placed
 * @param {Outcome[]} accepted
 * @param {number} amount  What the order must cost.
 */
function record(label, placed, accepted, amount) {
  const order = placed.order;
  if (order === undefined) return; // the failed request has been checked already
  if (!verify(`${label}: reaches confirmed or cancelled`, isTerminal(order), order, true)) {
    unsettled.add(1);
    return;
  }
  e2e.add(placed.ms);
  const outcome = outcomeOf(order);
  if (outcome === 'confirmed') confirmed.add(1);
  const counter = cancelled[outcome];
  if (counter !== undefined) counter.add(1);
  verify(`${label}: ends ${accepted.join(' or ')}`, accepted.indexOf(outcome) >= 0, order, true);
  verify(`${label}: costs price × seats`, order.amount === amount, order, true);
}

/** @param {SetupData} data */
export default function journey(data) {
  const iteration = exec.scenario.iterationInTest;
  const account = openAccount(settings, `journey-${iteration}`);
  if (account === undefined) return;
  const funded = depositMoney(settings, account, JOURNEY_FUNDS, 'journey-funds');
  if (funded === undefined) return;
  verify('journey: the deposit is the whole balance', funded.balance === JOURNEY_FUNDS, funded, true);

  /** @type {Order[]} */
  const placed = [];
  for (const planned of journeyOrders(data.slots, iteration, newId())) {
    const result = placeOrder(settings, account, { slotId: planned.slotId, seats: planned.seats }, `journey-${planned.kind}`);
    record(`journey ${planned.kind} order`, result, planned.accepted, planned.amount);
    if (result.order !== undefined) placed.push(result.order);
  }

  const orders = readOrders(settings, account);
  const after = readAccount(settings, account);
  if (orders !== undefined) {
    const listed = orders.map((o) => o.id).sort().join(',');
    const mine = placed.map((o) => o.id).sort().join(',');
    verify('journey: GET /accounts/{id}/orders lists exactly the orders placed', listed === mine, { listed, placed: mine }, true);
  }
  if (orders !== undefined && after !== undefined) {
    const expected = expectedBalance({ deposited: JOURNEY_FUNDS, withdrawn: 0, orders });
    verify('journey: balance = deposits − confirmed orders', after.balance === expected, { balance: after.balance, expected }, true);
    verify('journey: balance ≥ 0', after.balance >= 0, after, true);
  }
  if (orders !== undefined) {
    const terminal = orders.filter(isTerminal).length;
    const letters = pollUntil(
      () => readNotifications(settings, account),
      (list) => list !== undefined && list.length >= terminal,
      settings.settleTimeoutMs,
    ).value;
    const problems = letters === undefined ? ['notifications unreadable'] : notificationViolations(orders, letters);
    verify('journey: one letter per terminal order, of its type', problems.length === 0, problems, true);
  }

  const share = poolOrder(data.pool.length, iteration);
  const owner = data.pool[share.index];
  if (owner !== undefined) {
    const result = placeOrder(settings, owner, { slotId: data.slots.pool, seats: share.seats }, `pool-${newId()}`);
    record('pool order', result, share.accepted, PRICES.pool * share.seats);
  }
}

/**
 * The end state, read through the API once the saga has settled. Any
 * broken invariant fails a check (and `invariant_violations`), and then
 * aborts the run, so k6 exits non-zero even if thresholds were not evaluated.
 * @param {SetupData} data
 */
export function teardown(data) {
  const deadline = Date.now() + settings.teardownWaitMs;
  const remaining = () => Math.max(0, deadline - Date.now());
  let broken = 0;
  /**
   * @param {string} name
   * @param {boolean} ok
   * @param {unknown} detail
   */
  const expect = (name, ok, detail) => {
    if (!verify(name, ok, detail, true)) broken += 1;
  };

  /** @type {Order[]} */
  const poolOrders = [];
  for (const owner of data.pool) {
    const settled = pollUntil(
      () => readOrders(settings, owner),
      (orders) => orders !== undefined && orders.every(isTerminal),
      remaining(),
    );
    const orders = settled.value;
    if (orders === undefined) {
      expect('teardown: the orders of every pool account can be read', false, owner.id);
      continue;
    }
    const pending = orders.filter((o) => !isTerminal(o)).map((o) => o.id);
    expect('teardown: every pool order reached confirmed or cancelled', pending.length === 0, { account: owner.id, pending });
    for (const order of orders) poolOrders.push(order);

    const account = readAccount(settings, owner);
    if (account === undefined) {
      expect('teardown: every pool account can be read', false, owner.id);
    } else {
      const expected = expectedBalance({ deposited: POOL_FUNDS, withdrawn: 0, orders });
      expect('teardown: pool balance = deposits − confirmed orders', account.balance === expected, { account: owner.id, balance: account.balance, expected });
      expect('teardown: pool balance ≥ 0', account.balance >= 0, account);
    }

    const terminal = orders.filter(isTerminal).length;
    const letters = pollUntil(
      () => readNotifications(settings, owner),
      (list) => list !== undefined && list.length >= terminal,
      remaining(),
    ).value;
    const problems = letters === undefined ? ['notifications unreadable'] : notificationViolations(orders, letters);
    expect('teardown: one letter per terminal pool order, of its type', problems.length === 0, { account: owner.id, problems });
  }

  const slotIds = [data.slots.standard, data.slots.luxury, data.slots.pool].concat(data.slots.scarce);
  for (const id of slotIds) {
    const slot = readSlot(settings, id);
    const problems = slot === undefined ? [`slot ${id} unreadable`] : slotViolations(slot);
    expect('teardown: every slot has reserved ≤ capacity and available = capacity − reserved', problems.length === 0, problems);
  }

  // Only pool accounts book the pool slot, so its reservations are exactly
  // the seats of their confirmed orders (invariant 3).
  const held = seatsHeld(poolOrders, data.slots.pool);
  const pool = pollUntil(() => readSlot(settings, data.slots.pool), (slot) => slot !== undefined && slot.reserved === held, remaining());
  expect('teardown: the pool slot reserves exactly the seats of confirmed orders', pool.done, { slot: pool.value, confirmedSeats: held });

  // Every order on the luxury slot is declined, so compensation must have released every seat.
  const luxury = pollUntil(() => readSlot(settings, data.slots.luxury), (slot) => slot !== undefined && slot.reserved === 0, remaining());
  expect('teardown: the luxury slot holds no seats (declined orders released theirs)', luxury.done, luxury.value);

  if (broken > 0) exec.test.abort(`the end state breaks ${broken} invariant check(s); see the ✗ lines above`);
}
