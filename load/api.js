/**
 * The k6 side the scripts share: sends the requests `./lib.js` builds,
 * checks every answer (status and body), polls for asynchronous effects with
 * bounded loops, and counts broken invariants for the thresholds.
 */
import { check, sleep } from 'k6';
import crypto from 'k6/crypto';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import {
  cancelOrderRequest,
  createAccountRequest,
  createSlotRequest,
  depositRequest,
  getAccountRequest,
  getOrderRequest,
  getSlotRequest,
  listNotificationsRequest,
  listOrdersRequest,
  placeOrderRequest,
  uuidV4,
} from './lib.js';
import {
  asAccount,
  asList,
  asMovement,
  asNewAccount,
  asNotification,
  asOrder,
  asProblem,
  asSlot,
  headerValue,
  parseJson,
} from './replies.js';
import { isTerminal, notificationViolations } from './invariants.js';

/**
 * @typedef {import('./replies.js').Account} Account
 * @typedef {import('./lib.js').Credentials} Credentials
 * @typedef {import('./replies.js').Movement} Movement
 * @typedef {import('./lib.js').NewOrder} NewOrder
 * @typedef {import('./replies.js').Notification} Notification
 * @typedef {import('./replies.js').Order} Order
 * @typedef {import('./replies.js').OrderStatus} OrderStatus
 * @typedef {import('./replies.js').Reply} Reply
 * @typedef {import('./lib.js').RequestSpec} RequestSpec
 * @typedef {import('./lib.js').Settings} Settings
 * @typedef {import('./replies.js').Slot} Slot
 */

/**
 * Broken invariants and lost or repeated effects. Both scripts hold it to
 * `count==0`: one is enough to fail the run, however many checks pass.
 */
export const violations = new Counter('invariant_violations');

/** A random UUID (v4). */
export const newId = () => uuidV4(crypto.randomBytes(16));

// ---------------------------------------------------------------------------
// Sending

/** @type {{ [statuses: string]: ReturnType<typeof http.expectedStatuses> }} */
const callbacks = {};

/**
 * The request's params with a response callback, so that only statuses the
 * request does not expect count in `http_req_failed`.
 * @param {RequestSpec} spec
 * @returns {import('k6/http').Params}
 */
function paramsOf(spec) {
  const key = spec.expect.join(',');
  let callback = callbacks[key];
  if (callback === undefined) {
    callback = http.expectedStatuses(...spec.expect);
    callbacks[key] = callback;
  }
  return { headers: spec.params.headers, tags: spec.params.tags, responseCallback: callback };
}

/**
 * @param {import('k6/http').Response} res
 * @returns {Reply}
 */
function toReply(res) {
  return { status: res.status, headers: res.headers, body: parseJson(res.body), error: res.error || '' };
}

/**
 * @param {RequestSpec} spec
 * @returns {Reply}
 */
export function send(spec) {
  return toReply(http.request(spec.method, spec.url, spec.body, paramsOf(spec)));
}

/**
 * Sends every request at once (`http.batch`; the script's `batchPerHost`
 * option bounds how many run in parallel).
 * @param {RequestSpec[]} specs
 * @returns {Reply[]}
 */
export function sendAll(specs) {
  /** @type {import('k6/http').ObjectBatchRequest[]} */
  const requests = specs.map((spec) => ({ method: spec.method, url: spec.url, body: spec.body, params: paramsOf(spec) }));
  return http.batch(requests).map(toReply);
}

// ---------------------------------------------------------------------------
// Checking

/**
 * @param {unknown} detail
 * @returns {string}
 */
function describe(detail) {
  const text = typeof detail === 'string' ? detail : JSON.stringify(detail);
  return text === undefined ? String(detail) : text.length > 800 ? `${text.slice(0, 800)}…` : text;
}

/**
 * One named check. A failure is logged with `detail`; when `invariant`, it
 * also counts in `invariant_violations`.
 * @param {string} name
 * @param {boolean} ok
 * @param {unknown} [detail]
 * @param {boolean} [invariant]
 * @returns {boolean}
 */
export function verify(name, ok, detail, invariant) {
  check(ok, { [name]: (passed) => passed });
  if (!ok) {
    console.error(`✗ ${name}${detail === undefined ? '' : ` — ${describe(detail)}`}`);
    if (invariant) violations.add(1);
  }
  return ok;
}

/**
 * `value`, or the run is aborted (exit code 108): for what setup cannot do without.
 * @template T
 * @param {T | undefined} value
 * @param {string} why
 * @returns {T}
 */
export function must(value, why) {
  if (value === undefined) {
    exec.test.abort(why);
    throw new Error(why);
  }
  return value;
}

// ---------------------------------------------------------------------------
// Polling

/**
 * Calls `read` until `done` holds for what it returns or `timeoutMs` passes,
 * backing off from 100 ms to `maxPauseMs` (1 s) between calls. A poll that
 * measures how soon something happens keeps `maxPauseMs` small.
 * @template T
 * @param {() => T} read
 * @param {(value: T) => boolean} done
 * @param {number} timeoutMs
 * @param {number} [maxPauseMs]
 * @returns {{ value: T, done: boolean }}
 */
export function pollUntil(read, done, timeoutMs, maxPauseMs) {
  const deadline = Date.now() + timeoutMs;
  const longest = maxPauseMs === undefined ? 1000 : maxPauseMs;
  let pause = Math.min(100, longest);
  let value = read();
  while (!done(value) && Date.now() < deadline) {
    sleep(Math.min(pause, Math.max(0, deadline - Date.now())) / 1000);
    pause = Math.min(pause * 2, longest);
    value = read();
  }
  return { value, done: done(value) };
}

// ---------------------------------------------------------------------------
// The API, each answer checked

/**
 * `POST /accounts` with a fresh email.
 * @param {Settings} s
 * @param {string} label  Part of the email, to find the account in logs.
 * @returns {(Account & Credentials) | undefined}
 */
export function openAccount(s, label) {
  const email = `${label}-${newId()}@example.com`;
  const reply = send(createAccountRequest(s.baseUrl, { email, name: 'Load Test' }));
  const account = asNewAccount(reply.body);
  const ok = verify(
    'POST /accounts → 201 {id, email, name, balance: 0, token}',
    reply.status === 201 && account !== undefined && account.email === email && account.balance === 0,
    reply,
  );
  return ok ? account : undefined;
}

/**
 * @param {Settings} s
 * @param {Credentials} who
 * @returns {Account | undefined}
 */
export function readAccount(s, who) {
  const reply = send(getAccountRequest(s.baseUrl, who));
  const account = asAccount(reply.body);
  const ok = verify('GET /accounts/{id} → 200 {id, email, name, balance}', reply.status === 200 && account !== undefined && account.id === who.id, reply);
  return ok ? account : undefined;
}

/**
 * `POST /accounts/{id}/deposits` once (a fresh Idempotency-Key).
 * @param {Settings} s
 * @param {Credentials} who
 * @param {number} amount
 * @param {string} idempotencyKey
 * @returns {Movement | undefined}
 */
export function depositMoney(s, who, amount, idempotencyKey) {
  const reply = send(depositRequest(s.baseUrl, who, amount, idempotencyKey));
  const movement = asMovement(reply.body, 'depositId');
  const ok = verify(
    'POST /accounts/{id}/deposits → 201 {depositId, accountId, amount, balance}',
    reply.status === 201 && movement !== undefined && movement.accountId === who.id && movement.amount === amount,
    reply,
  );
  return ok ? movement : undefined;
}

/**
 * `POST /slots` with the admin token.
 * @param {Settings} s
 * @param {{ name: string, capacity: number, price: number }} slot
 * @returns {Slot | undefined}
 */
export function createSlot(s, slot) {
  const reply = send(createSlotRequest(s.baseUrl, s.adminToken, slot));
  const created = asSlot(reply.body);
  const ok = verify(
    'POST /slots → 201 {id, name, capacity, reserved: 0, available: capacity, price}',
    reply.status === 201 &&
      created !== undefined &&
      created.name === slot.name &&
      created.capacity === slot.capacity &&
      created.price === slot.price &&
      created.reserved === 0 &&
      created.available === slot.capacity,
    reply,
  );
  return ok ? created : undefined;
}

/**
 * @param {Settings} s
 * @param {string} slotId
 * @returns {Slot | undefined}
 */
export function readSlot(s, slotId) {
  const reply = send(getSlotRequest(s.baseUrl, slotId));
  const slot = asSlot(reply.body);
  const ok = verify('GET /slots/{id} → 200 {id, capacity, reserved, available, price}', reply.status === 200 && slot !== undefined && slot.id === slotId, reply);
  return ok ? slot : undefined;
}

/**
 * `GET /orders/{id}`. With `mayBeMissing`, a 404 is an expected answer
 * (an order requested by CloudEvent that place-order has not placed yet).
 * @param {Settings} s
 * @param {Credentials} who
 * @param {string} orderId
 * @param {boolean} [mayBeMissing]
 * @returns {Order | undefined}
 */
export function readOrder(s, who, orderId, mayBeMissing) {
  const reply = send(getOrderRequest(s.baseUrl, who, orderId, mayBeMissing ? [200, 404] : [200]));
  const order = asOrder(reply.body);
  const found = reply.status === 200 && order !== undefined && order.id === orderId && order.accountId === who.id;
  verify(
    mayBeMissing ? 'GET /orders/{id} → 200 the order, or 404 not placed yet' : 'GET /orders/{id} → 200 the order',
    found || (mayBeMissing === true && reply.status === 404),
    reply,
  );
  return found ? order : undefined;
}

/**
 * `GET /accounts/{id}/orders`, oldest first; with `status`, those in it alone.
 * @param {Settings} s
 * @param {Credentials} who
 * @param {OrderStatus} [status]
 * @returns {Order[] | undefined}
 */
export function readOrders(s, who, status) {
  const reply = send(listOrdersRequest(s.baseUrl, who, status));
  const orders = asList(reply.body, asOrder);
  const ok = verify(
    status === undefined ? "GET /accounts/{id}/orders → 200 a list of the account's orders" : `GET /accounts/{id}/orders?status=${status} → 200 its orders in that status`,
    reply.status === 200 && orders !== undefined && orders.every((o) => o.accountId === who.id && (status === undefined || o.status === status)),
    reply,
  );
  return ok ? orders : undefined;
}

/**
 * @param {Settings} s
 * @param {Credentials} who
 * @returns {Notification[] | undefined}
 */
export function readNotifications(s, who) {
  const reply = send(listNotificationsRequest(s.baseUrl, who));
  const list = asList(reply.body, asNotification);
  const ok = verify('GET /accounts/{id}/notifications → 200 a list of letters', reply.status === 200 && list !== undefined, reply);
  return ok ? list : undefined;
}

/**
 * What is wrong with the letters of `orders` (invariant 5), once there is
 * one per terminal order or `timeoutMs` passes: a letter is written a hop
 * after its order ends, so it is polled for.
 * @param {Settings} s
 * @param {Credentials} who
 * @param {Order[]} orders  The account's orders, as last read.
 * @param {number} timeoutMs
 * @returns {string[]}
 */
export function letterProblems(s, who, orders, timeoutMs) {
  const terminal = orders.filter(isTerminal).length;
  const letters = pollUntil(() => readNotifications(s, who), (list) => list !== undefined && list.length >= terminal, timeoutMs).value;
  return letters === undefined ? ['notifications unreadable'] : notificationViolations(orders, letters);
}

/**
 * Polls `GET /orders/{id}` until the order is confirmed or cancelled.
 * @param {Settings} s
 * @param {Credentials} who
 * @param {string} orderId
 * @param {boolean} [mayBeMissing]  The order may not exist yet (requested by CloudEvent).
 * @returns {Order | undefined}  The last order read: terminal, or still pending when time ran out.
 */
export function awaitTerminal(s, who, orderId, mayBeMissing) {
  return pollUntil(
    () => readOrder(s, who, orderId, mayBeMissing),
    (order) => order !== undefined && isTerminal(order),
    s.settleTimeoutMs,
  ).value;
}

/**
 * Polls `GET /orders/{id}` until the order leaves `pending` (charge has
 * decided: it waits, or it ended).
 * @param {Settings} s
 * @param {Credentials} who
 * @param {string} orderId
 * @returns {Order | undefined}  The last order read.
 */
export function awaitDecided(s, who, orderId) {
  return pollUntil(
    () => readOrder(s, who, orderId),
    (order) => order !== undefined && order.status !== 'pending',
    s.settleTimeoutMs,
  ).value;
}

/**
 * `POST /orders/{id}/cancel` by the owner of an order waiting for funds: 202
 * with the order as it stood (still `awaiting_funds`; charge declines it a
 * hop later).
 * @param {Settings} s
 * @param {Credentials} who
 * @param {string} orderId
 * @returns {boolean}
 */
export function cancelOrder(s, who, orderId) {
  const reply = send(cancelOrderRequest(s.baseUrl, who, orderId));
  const order = asOrder(reply.body);
  return verify(
    'POST /orders/{id}/cancel → 202 with the order, still awaiting_funds',
    reply.status === 202 && order !== undefined && order.id === orderId && order.status === 'awaiting_funds' &&
      headerValue(reply.headers, 'Location') === `/orders/${orderId}`,
    reply,
  );
}

/**
 * `POST /orders/{id}/cancel` on an order that does not wait for funds: a 409
 * problem document, and nothing changes.
 * @param {Settings} s
 * @param {Credentials} who
 * @param {string} orderId
 * @param {string} what  Which order, for the check's name.
 * @returns {boolean}
 */
export function cancelRefused(s, who, orderId, what) {
  const reply = send(cancelOrderRequest(s.baseUrl, who, orderId, [409]));
  const problem = asProblem(reply.body);
  return verify(
    `POST /orders/{id}/cancel on ${what} → 409 problem document`,
    reply.status === 409 && problem !== undefined && problem.status === 409 &&
      (headerValue(reply.headers, 'Content-Type') || '').indexOf('application/problem+json') === 0,
    reply,
  );
}

/**
 * @typedef {object} PlacedOrder
 * @property {Order | undefined} order  The order at its end (or as last seen, if it never got there).
 * @property {number} ms  From sending `POST /orders` to seeing the order terminal.
 * @property {boolean} settled  Answered 201: its saga was over, its letter recorded.
 */

/**
 * `POST /orders` with `Prefer: wait`, then follows the order to its end: a
 * 201 carries the terminal order (its letter recorded); a 202 (still pending
 * after the wait, or waiting for funds) is polled with `GET /orders/{id}`.
 * @param {Settings} s
 * @param {Credentials} who
 * @param {NewOrder & { seats: number }} order
 * @param {string} idempotencyKey
 * @returns {PlacedOrder}
 */
export function placeOrder(s, who, order, idempotencyKey) {
  const started = Date.now();
  const reply = send(placeOrderRequest(s.baseUrl, who, order, idempotencyKey, s.waitSeconds));
  const placed = asOrder(reply.body);
  const ok = verify(
    'POST /orders → 201 with the terminal order, or 202 with the pending (or waiting) one',
    placed !== undefined &&
      ((reply.status === 201 && isTerminal(placed)) || (reply.status === 202 && (placed.status === 'pending' || placed.status === 'awaiting_funds'))),
    reply,
  );
  verify(
    'POST /orders → the order asked for',
    placed !== undefined &&
      placed.accountId === who.id &&
      placed.slotId === order.slotId &&
      placed.seats === order.seats &&
      (order.orderId === undefined || placed.id === order.orderId) &&
      (order.payWithin === undefined || placed.payWithin === order.payWithin),
    { asked: order, reply },
  );
  if (!ok || placed === undefined) return { order: undefined, ms: Date.now() - started, settled: false };
  const final = isTerminal(placed) ? placed : awaitTerminal(s, who, placed.id);
  return { order: final, ms: Date.now() - started, settled: reply.status === 201 };
}
