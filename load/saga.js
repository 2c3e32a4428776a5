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
 * A second scenario, `waiting`, runs orders that may wait for funds
 * (`payWithin`, see ./waiting.js): each iteration's account, funded short in
 * setup(), places orders that wait, then deposits while they wait (the oldest
 * is confirmed), cancels the next, and leaves the last to time out when the
 * run is long enough to see it end. teardown() checks that each ended as
 * planned, with one letter, nothing charged twice and no seat kept.
 *
 *   k6 run -e ADMIN_TOKEN=... load/saga.js            (see load/README.md)
 */
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { placeOrderRequest, readSagaSettings } from './lib.js';
import { asOrder } from './replies.js';
import {
  JOURNEY_FUNDS,
  POOL_FUNDS,
  PRICES,
  expectedBalance,
  isTerminal,
  journeyOrders,
  outcomeOf,
  poolOrder,
  seatsHeld,
  slotViolations,
} from './invariants.js';
import {
  awaitDecided,
  awaitTerminal,
  cancelOrder,
  cancelRefused,
  createSlot,
  depositMoney,
  letterProblems,
  must,
  newId,
  openAccount,
  placeOrder,
  pollUntil,
  readAccount,
  readNotifications,
  readOrder,
  readOrders,
  readSlot,
  send,
  verify,
  violations,
} from './api.js';
import {
  WAITING_DEPOSITS,
  WAITING_FUNDS,
  WAITING_PRICE,
  WAITING_START_FUNDS,
  deadlineViolations,
  waitingOrderViolations,
  waitingPlan,
} from './waiting.js';

/**
 * @typedef {import('./lib.js').Credentials} Credentials
 * @typedef {import('./replies.js').Order} Order
 * @typedef {import('./invariants.js').Outcome} Outcome
 * @typedef {import('./invariants.js').SlotIds} SlotIds
 * @typedef {import('./api.js').PlacedOrder} PlacedOrder
 * @typedef {import('./waiting.js').WaitingOrder} WaitingOrder
 */

/**
 * What setup() hands to every iteration and to teardown().
 * @typedef {object} SetupData
 * @property {SlotIds & { waiting: string }} slots  `waiting`: only waiting accounts book it.
 * @property {Credentials[]} pool
 * @property {Credentials[]} waiting  One account per iteration of the waiting scenario.
 */

const settings = readSagaSettings(__ENV);
const plan = waitingPlan(settings);

/** @type {{ [name: string]: import('k6/options').Scenario }} */
const scenarios = {
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
};
if (settings.waitingRate > 0) {
  scenarios.waiting = {
    executor: 'constant-arrival-rate',
    exec: 'waiting',
    rate: settings.waitingRate,
    timeUnit: '1s',
    duration: settings.duration,
    preAllocatedVUs: Math.max(2, settings.waitingRate * 6),
    maxVUs: Math.max(10, settings.waitingRate * 30),
    gracefulStop: `${Math.ceil(settings.settleTimeoutMs / 1000) + 20}s`,
  };
}

/** @type {import('k6/options').Options} */
export const options = {
  scenarios,
  // Setup opens and funds one account per waiting iteration.
  setupTimeout: `${120 + settings.waitingAccounts}s`,
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
// A deposit that covers a waiting order confirms it within a second (issue 14's "done when").
if (settings.waitingRate > 0 && options.thresholds) options.thresholds.resume_ms = [`p(95)<${settings.resumeP95Ms}`];

/** From `POST /orders` to the order seen confirmed or cancelled. */
const e2e = new Trend('saga_e2e_ms', true);
const confirmed = new Counter('orders_confirmed');
/** @type {{ [outcome: string]: Counter }} */
const cancelled = {
  'cancelled:sold_out': new Counter('orders_cancelled_sold_out'),
  'cancelled:insufficient_funds': new Counter('orders_cancelled_insufficient_funds'),
  'cancelled:unknown_slot': new Counter('orders_cancelled_unknown_slot'),
  'cancelled:payment_timeout': new Counter('orders_cancelled_payment_timeout'),
  'cancelled:customer_cancelled': new Counter('orders_cancelled_customer_cancelled'),
};
/** Orders still pending when the script stopped waiting (invariant 4). */
const unsettled = new Counter('orders_unsettled');
/** From the answer of a deposit that covers a waiting order to the order seen confirmed. */
const resume = new Trend('resume_ms', true);

/** @param {Outcome} outcome */
function count(outcome) {
  if (outcome === 'confirmed') confirmed.add(1);
  const counter = cancelled[outcome];
  if (counter !== undefined) counter.add(1);
}

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
    // Never sold out: a waiting order holds its seats until its wait ends.
    waiting: slot('waiting', 1000000, WAITING_PRICE),
  };

  /** @type {Credentials[]} */
  const pool = [];
  for (let i = 0; i < settings.poolSize; i++) {
    const account = must(openAccount(settings, `pool-${run}-${i}`), 'setup: could not open a pool account');
    must(depositMoney(settings, account, POOL_FUNDS, 'pool-funds'), 'setup: could not fund a pool account');
    pool.push({ id: account.id, token: account.token });
  }
  /** @type {Credentials[]} */
  const waiting = [];
  for (let i = 0; i < settings.waitingAccounts; i++) {
    const account = must(openAccount(settings, `waiting-${run}-${i}`), 'setup: could not open a waiting account');
    must(depositMoney(settings, account, WAITING_START_FUNDS, 'waiting-funds'), 'setup: could not fund a waiting account');
    waiting.push({ id: account.id, token: account.token });
  }
  return { slots, pool, waiting };
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
  count(outcome);
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
  /** @type {Order[]} */
  const settled = [];
  for (const planned of journeyOrders(data.slots, iteration, newId())) {
    const result = placeOrder(settings, account, { slotId: planned.slotId, seats: planned.seats }, `journey-${planned.kind}`);
    record(`journey ${planned.kind} order`, result, planned.accepted, planned.amount);
    if (result.order !== undefined) placed.push(result.order);
    if (result.order !== undefined && result.settled) settled.push(result.order);
  }

  // Prefer: wait answers 201 only once the letter is recorded: a client that
  // reads its letters straight after finds them (SPEC §3), no poll.
  const first = readNotifications(settings, account);
  if (first !== undefined) {
    const missing = settled.filter((o) => first.filter((n) => n.orderId === o.id).length !== 1).map((o) => o.id);
    verify('journey: each order answered 201 has its one letter at once', missing.length === 0, { missing, letters: first }, true);
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
    const problems = letterProblems(settings, account, orders, settings.settleTimeoutMs);
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
 * `POST /orders` for a planned waiting order, without `Prefer: wait`: 202
 * pending; then follows it until charge has decided. Only one that is still
 * to wait is returned.
 * @param {Credentials} owner
 * @param {string} slotId
 * @param {WaitingOrder} planned
 * @returns {Order | undefined}
 */
function placeWaiting(owner, slotId, planned) {
  const label = `waiting ${planned.role} order`;
  const reply = send(placeOrderRequest(settings.baseUrl, owner, { slotId, seats: planned.seats, payWithin: planned.payWithin }, `waiting-${planned.role}`, undefined));
  const order = asOrder(reply.body);
  const ok = verify(
    `${label}: POST /orders → 202 pending, for price × seats, within payWithin`,
    reply.status === 202 && order !== undefined && order.status === 'pending' && order.amount === planned.amount && order.payWithin === planned.payWithin,
    reply,
  );
  if (!ok || order === undefined) return undefined;
  const decided = awaitDecided(settings, owner, order.id);
  // Only the order left to time out may be over by now (its deadline is seconds away).
  const waits = decided !== undefined && decided.status === 'awaiting_funds' && decided.paymentDeadline !== null;
  const over = decided !== undefined && planned.role === 'timeout' && outcomeOf(decided) === planned.outcome;
  verify(`${label}: short of funds, it waits (awaiting_funds, with a deadline)`, waits || over, decided, true);
  return waits ? decided : undefined;
}

/**
 * One waiting iteration: its account (from setup) places the orders of
 * ./waiting.js's plan and deposits while they wait.
 * @param {SetupData} data
 */
export function waiting(data) {
  const index = exec.scenario.iterationInTest;
  const owner = data.waiting[index];
  if (owner === undefined) {
    verify('waiting: setup opened an account for this iteration', false, { index, accounts: data.waiting.length });
    return;
  }
  const [first, second, last] = plan;
  if (first === undefined || second === undefined) return;
  const covered = placeWaiting(owner, data.slots.waiting, first);
  const next = placeWaiting(owner, data.slots.waiting, second);
  if (covered === undefined || next === undefined) return;
  const listed = readOrders(settings, owner, 'awaiting_funds');
  if (listed !== undefined) {
    const ids = listed.map((o) => o.id).join(',');
    verify('waiting: ?status=awaiting_funds lists both waiting orders, oldest first', ids === `${covered.id},${next.id}`, { listed: ids }, true);
  }

  // Deposits while they wait: the first covers neither, the second the oldest.
  const short = depositMoney(settings, owner, WAITING_DEPOSITS[0] || 0, 'waiting-deposit-1');
  const enough = depositMoney(settings, owner, WAITING_DEPOSITS[1] || 0, 'waiting-deposit-2');
  if (short === undefined || enough === undefined) return;
  const answered = Date.now();
  const resumed = pollUntil(() => readOrder(settings, owner, covered.id), (o) => o !== undefined && isTerminal(o), settings.settleTimeoutMs, 100);
  if (resumed.done) resume.add(Date.now() - answered);
  verify('waiting: a deposit that covers the oldest order confirms it', resumed.value !== undefined && resumed.value.status === 'confirmed', resumed.value, true);
  const still = readOrder(settings, owner, next.id);
  verify('waiting: the deposit covered the oldest order alone; the next still waits', still !== undefined && still.status === 'awaiting_funds', still, true);

  // Its owner cancels the next; neither it nor the confirmed one can be cancelled again.
  if (cancelOrder(settings, owner, next.id)) {
    const ended = awaitTerminal(settings, owner, next.id);
    verify(`waiting ${second.role} order: ends ${second.outcome}`, ended !== undefined && outcomeOf(ended) === second.outcome, ended, true);
    cancelRefused(settings, owner, next.id, 'an order already cancelled');
  }
  cancelRefused(settings, owner, covered.id, 'a confirmed order');

  const after = readAccount(settings, owner);
  const expected = WAITING_FUNDS - first.amount;
  verify('waiting: balance = deposits − the covered order (charged once, the other not at all)', after !== undefined && after.balance === expected, { after, expected }, true);
  const orders = readOrders(settings, owner);
  if (orders !== undefined) {
    const problems = letterProblems(settings, owner, orders, settings.settleTimeoutMs);
    verify('waiting: one letter for each ended order, of its type', problems.length === 0, problems, true);
  }
  // The last, if any, is left to its deadline, once the others are checked: teardown sees it end.
  if (last !== undefined) placeWaiting(owner, data.slots.waiting, last);
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

    const problems = letterProblems(settings, owner, orders, remaining());
    expect('teardown: one letter per terminal pool order, of its type', problems.length === 0, { account: owner.id, problems });
  }

  // Waiting accounts: each order ended as planned, once (SPEC §7.7: by its deadline plus one tick).
  /** @type {Order[]} */
  const waitingOrders = [];
  for (const owner of data.waiting) {
    const orders = pollUntil(() => readOrders(settings, owner), (list) => list !== undefined && list.every(isTerminal), remaining()).value;
    if (orders === undefined) {
      expect('teardown: the orders of every waiting account can be read', false, owner.id);
      continue;
    }
    for (const order of orders) {
      waitingOrders.push(order);
      count(outcomeOf(order));
    }
    const problems = waitingOrderViolations(orders, plan);
    expect('teardown: every waiting order ended as planned: covered → confirmed, else cancelled by its owner or its deadline', problems.length === 0, {
      account: owner.id,
      problems,
    });
    if (orders.length === 0) continue;
    const account = readAccount(settings, owner);
    const expected = expectedBalance({ deposited: WAITING_FUNDS, withdrawn: 0, orders });
    expect('teardown: waiting balance = deposits − confirmed orders (nothing charged twice)', account !== undefined && account.balance === expected, {
      account: owner.id,
      balance: account && account.balance,
      expected,
    });
    const wrong = letterProblems(settings, owner, orders, remaining());
    expect('teardown: one letter per waiting order, of its type', wrong.length === 0, { account: owner.id, problems: wrong });
    for (const timedOut of orders.filter((o) => outcomeOf(o) === 'cancelled:payment_timeout')) {
      const order = readOrder(settings, owner, timedOut.id);
      const late = order === undefined ? [`order ${timedOut.id} unreadable`] : deadlineViolations(order, settings.tickSeconds, 1000);
      expect('teardown: a timed-out order was declined by its deadline plus one tick', late.length === 0, late);
    }
  }

  const slotIds = [data.slots.standard, data.slots.luxury, data.slots.pool, data.slots.waiting].concat(data.slots.scarce);
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

  // Only waiting accounts book the waiting slot: it holds the seats of their confirmed orders alone.
  const kept = seatsHeld(waitingOrders, data.slots.waiting);
  const waitingSlot = pollUntil(() => readSlot(settings, data.slots.waiting), (slot) => slot !== undefined && slot.reserved === kept, remaining());
  expect('teardown: the waiting slot reserves exactly the seats of confirmed waiting orders (no seat kept)', waitingSlot.done, {
    slot: waitingSlot.value,
    confirmedSeats: kept,
  });

  if (broken > 0) exec.test.abort(`the end state breaks ${broken} invariant check(s); see the ✗ lines above`);
}
