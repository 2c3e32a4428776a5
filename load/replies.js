/**
 * Readers of the API's answers: each checks the shape of a body and returns
 * it typed, or undefined; and what the checks compare replies with
 * (headers, replays, bursts of duplicates). Pure like `./lib.js`: Node can
 * import it too.
 */
import { UUID_PATTERN } from './lib.js';

/**
 * @typedef {import('./lib.js').Credentials} Credentials
 * @typedef {import('./lib.js').Headers} Headers
 * @typedef {import('./lib.js').RequestSpec} RequestSpec
 */

/**
 * An account as `POST /accounts` answers it (with its bearer token) or
 * `GET /accounts/{id}` (without).
 * @typedef {object} Account
 * @property {string} id
 * @property {string} email
 * @property {string} name
 * @property {number} balance
 */

/**
 * @typedef {object} Slot
 * @property {string} id
 * @property {string} name
 * @property {number} capacity
 * @property {number} reserved
 * @property {number} available
 * @property {number} price
 */

/** @typedef {'pending' | 'awaiting_funds' | 'confirmed' | 'cancelled'} OrderStatus */
/** @typedef {'sold_out' | 'unknown_slot' | 'insufficient_funds' | 'payment_timeout' | 'customer_cancelled'} CancelReason */
/**
 * One saga step in an order's history (`GET /orders/{id}`): the event, who
 * emitted it and when; a cancelling step carries its reason, `payment.awaiting`
 * its deadline.
 * @typedef {object} HistoryEntry
 * @property {string} step    e.g. `payment.declined`
 * @property {string} source  e.g. `/ordersaga/charge`
 * @property {string} at      ISO 8601
 * @property {string} [reason]
 * @property {string} [deadline]
 */

/**
 * @typedef {object} Order
 * @property {string} id
 * @property {string} accountId
 * @property {string} slotId
 * @property {number} seats
 * @property {number} amount
 * @property {OrderStatus} status
 * @property {CancelReason | null} reason
 * @property {number} payWithin  Seconds it may wait for funds (0: declined at once when short).
 * @property {string | null} paymentDeadline  Set when it started to wait.
 * @property {HistoryEntry[]} [history]  Only in `GET /orders/{id}` and the answers of `POST /orders`.
 */

/**
 * A deposit's or withdrawal's answer; `id` is its `depositId` or `withdrawalId`.
 * @typedef {object} Movement
 * @property {string} id
 * @property {string} accountId
 * @property {number} amount
 * @property {number} balance
 */

/**
 * @typedef {object} Notification
 * @property {string} id
 * @property {string} orderId
 * @property {'happy' | 'sorrow'} type
 * @property {string} to
 * @property {string} subject
 * @property {string} status
 */

/**
 * An RFC 9457 problem document.
 * @typedef {object} Problem
 * @property {string} type
 * @property {string} title
 * @property {number} status
 * @property {string} detail
 */

/**
 * A response reduced to what the checks read.
 * @typedef {object} Reply
 * @property {number} status  0 when no response came (timeout, refused connection).
 * @property {Headers} headers
 * @property {unknown} body   The parsed JSON body; undefined when there is none or it is not JSON.
 * @property {string} error   k6's transport error, '' when a response came.
 */

// ---------------------------------------------------------------------------
// Reading replies

/**
 * A header by name, whatever its case (k6 canonicalises names, proxies may not).
 * @param {Headers} headers
 * @param {string} name
 * @returns {string | undefined}
 */
export function headerValue(headers, name) {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === wanted) return headers[key];
  }
  return undefined;
}

/**
 * Whether the answer is a replay of an Idempotency-Key's first response.
 * @param {Reply} reply
 */
export const isReplayed = (reply) => headerValue(reply.headers, 'Idempotent-Replayed') === 'true';

/**
 * The JSON of a body, or undefined.
 * @param {string | ArrayBuffer | null} body
 * @returns {unknown}
 */
export function parseJson(body) {
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    return JSON.parse(body);
  } catch (_) {
    return undefined;
  }
}

/**
 * @param {unknown} value
 * @returns {value is { [key: string]: unknown }}
 */
function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** @param {unknown} v @returns {v is string} */
const isUuid = (v) => typeof v === 'string' && UUID_PATTERN.test(v);
/** @param {unknown} v @returns {v is number} */
const isMinorUnits = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * @param {unknown} body
 * @returns {Account | undefined}
 */
export function asAccount(body) {
  if (!isRecord(body)) return undefined;
  const { id, email, name, balance } = body;
  if (!isUuid(id) || typeof email !== 'string' || typeof name !== 'string' || !isMinorUnits(balance)) return undefined;
  return { id, email, name, balance };
}

/**
 * `POST /accounts`: the account and its bearer token.
 * @param {unknown} body
 * @returns {(Account & Credentials) | undefined}
 */
export function asNewAccount(body) {
  const account = asAccount(body);
  if (!account || !isRecord(body) || typeof body.token !== 'string' || body.token === '') return undefined;
  return Object.assign({}, account, { token: body.token });
}

/**
 * @param {unknown} body
 * @param {'depositId' | 'withdrawalId'} idField
 * @returns {Movement | undefined}
 */
export function asMovement(body, idField) {
  if (!isRecord(body)) return undefined;
  const id = body[idField];
  const { accountId, amount, balance } = body;
  if (!isUuid(id) || !isUuid(accountId) || !isMinorUnits(amount) || !isMinorUnits(balance)) return undefined;
  return { id, accountId, amount, balance };
}

/**
 * @param {unknown} body
 * @returns {Slot | undefined}
 */
export function asSlot(body) {
  if (!isRecord(body)) return undefined;
  const { id, name, capacity, reserved, available, price } = body;
  if (!isUuid(id) || typeof name !== 'string') return undefined;
  if (!isMinorUnits(capacity) || typeof reserved !== 'number' || typeof available !== 'number' || !isMinorUnits(price)) return undefined;
  return { id, name, capacity, reserved, available, price };
}

const STATUSES = ['pending', 'awaiting_funds', 'confirmed', 'cancelled'];
const REASONS = ['sold_out', 'unknown_slot', 'insufficient_funds', 'payment_timeout', 'customer_cancelled'];

/** @param {unknown} v @returns {v is string} */
const isTime = (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/**
 * @param {unknown} body
 * @returns {HistoryEntry | undefined}
 */
function asHistoryEntry(body) {
  if (!isRecord(body)) return undefined;
  const { step, source, at, reason, deadline } = body;
  if (typeof step !== 'string' || typeof source !== 'string' || !isTime(at)) return undefined;
  if ((reason !== undefined && typeof reason !== 'string') || (deadline !== undefined && !isTime(deadline))) return undefined;
  /** @type {HistoryEntry} */
  const entry = { step, source, at };
  if (reason !== undefined) entry.reason = reason;
  if (deadline !== undefined) entry.deadline = deadline;
  return entry;
}

/**
 * @param {unknown} body
 * @returns {Order | undefined}
 */
export function asOrder(body) {
  if (!isRecord(body)) return undefined;
  const { id, accountId, slotId, seats, amount, status, reason, payWithin, paymentDeadline, history } = body;
  if (!isUuid(id) || !isUuid(accountId) || !isUuid(slotId) || !isMinorUnits(seats) || !isMinorUnits(amount)) return undefined;
  if (typeof status !== 'string' || STATUSES.indexOf(status) < 0) return undefined;
  if (reason !== null && (typeof reason !== 'string' || REASONS.indexOf(reason) < 0)) return undefined;
  if (!isMinorUnits(payWithin) || (paymentDeadline !== null && !isTime(paymentDeadline))) return undefined;
  /** @type {Order} */
  const order = {
    id,
    accountId,
    slotId,
    seats,
    amount,
    status: /** @type {OrderStatus} */ (status),
    reason: /** @type {CancelReason | null} */ (reason),
    payWithin,
    paymentDeadline,
  };
  if (history !== undefined) {
    const entries = asList(history, asHistoryEntry);
    if (entries === undefined) return undefined;
    order.history = entries;
  }
  return order;
}

/**
 * A list of which every element reads with `read`; undefined if any does not.
 * @template T
 * @param {unknown} body
 * @param {(element: unknown) => T | undefined} read
 * @returns {T[] | undefined}
 */
export function asList(body, read) {
  if (!Array.isArray(body)) return undefined;
  /** @type {T[]} */
  const out = [];
  for (const element of body) {
    const value = read(element);
    if (value === undefined) return undefined;
    out.push(value);
  }
  return out;
}

/**
 * @param {unknown} body
 * @returns {Notification | undefined}
 */
export function asNotification(body) {
  if (!isRecord(body)) return undefined;
  const { id, orderId, type, to, subject, status } = body;
  if (!isUuid(id) || !isUuid(orderId) || (type !== 'happy' && type !== 'sorrow')) return undefined;
  if (typeof to !== 'string' || typeof subject !== 'string' || typeof status !== 'string') return undefined;
  return { id, orderId, type, to, subject, status };
}

/**
 * @param {unknown} body
 * @returns {Problem | undefined}
 */
export function asProblem(body) {
  if (!isRecord(body)) return undefined;
  const { type, title, status, detail } = body;
  if (typeof type !== 'string' || typeof title !== 'string' || typeof status !== 'number' || typeof detail !== 'string') return undefined;
  return { type, title, status, detail };
}

/**
 * JSON with sorted keys: a replay read back from storage (e.g. jsonb) may
 * order keys differently from the first response and still be the same body.
 * @param {unknown} value
 * @returns {string}
 */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const record = value;
    const keys = Object.keys(record).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  const text = JSON.stringify(value);
  return text === undefined ? 'null' : text;
}

/**
 * @param {unknown} a
 * @param {unknown} b
 */
export const sameJson = (a, b) => canonicalJson(a) === canonicalJson(b);

// ---------------------------------------------------------------------------
// Bursts of duplicates

/**
 * @typedef {object} BurstSummary
 * @property {number} fresh     2xx answers that did the work (no `Idempotent-Replayed`).
 * @property {number} replayed  Answers carrying `Idempotent-Replayed: true`.
 * @property {number} inFlight  409 answers without it: the first request was still in flight.
 * @property {number} unexpected Answers whose status is not in `allowed`.
 * @property {string[]} ids     Distinct entity ids named by the 2xx answers.
 * @property {number[]} statuses Every status, in request order.
 */

/**
 * Sorts the answers to N concurrent copies of one request (same
 * Idempotency-Key, same body). Exactly one may do the work; every other is
 * a replay of it, or a 409 while it is in flight.
 * @param {Reply[]} replies
 * @param {number[]} allowed
 * @param {(body: unknown) => string | undefined} idOf
 * @returns {BurstSummary}
 */
export function summarizeBurst(replies, allowed, idOf) {
  /** @type {BurstSummary} */
  const summary = { fresh: 0, replayed: 0, inFlight: 0, unexpected: 0, ids: [], statuses: [] };
  for (const reply of replies) {
    summary.statuses.push(reply.status);
    if (allowed.indexOf(reply.status) < 0) summary.unexpected += 1;
    const replayed = isReplayed(reply);
    if (replayed) summary.replayed += 1;
    if (reply.status === 409 && !replayed) summary.inFlight += 1;
    if (reply.status >= 200 && reply.status < 300) {
      if (!replayed) summary.fresh += 1;
      const id = idOf(reply.body);
      if (id !== undefined && summary.ids.indexOf(id) < 0) summary.ids.push(id);
    }
  }
  return summary;
}

/**
 * `count` copies of one request: the duplicates of a burst.
 * @param {RequestSpec} request
 * @param {number} count
 * @returns {RequestSpec[]}
 */
export function repeat(request, count) {
  /** @type {RequestSpec[]} */
  const copies = [];
  for (let i = 0; i < count; i++) copies.push(request);
  return copies;
}
