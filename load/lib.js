/**
 * What the k6 scripts share that needs no k6: settings read from the
 * environment, the HTTP requests of the API and the Broker ingress (as plain
 * data, ready for `http.request` or `http.batch`), readers that check the
 * shape of response bodies, and the arithmetic of the invariants (SPEC §7).
 *
 * Nothing here imports a k6 module, so every function is pure and this file
 * can be loaded by Node as well as by k6. The k6 side (sending, checking,
 * polling, metrics) is in `./api.js`.
 */

// ---------------------------------------------------------------------------
// Types

/**
 * @typedef {{ [name: string]: string | undefined }} Env
 * @typedef {{ [name: string]: string }} Headers
 */

/**
 * @typedef {object} Settings
 * @property {string} baseUrl      The API (gateway locally, the Ingress in a cluster), no trailing slash.
 * @property {string} brokerUrl    The Broker ingress: `<ingress>/<namespace>/<broker>`.
 * @property {string} adminToken   Bearer token for `POST /slots`.
 * @property {boolean} smoke       A short run (< 60 s) that still runs every check.
 * @property {number} waitSeconds  `Prefer: wait=N` on `POST /orders`.
 * @property {number} settleTimeoutMs  How long to poll for an asynchronous effect before calling it lost.
 * @property {number} apiP95Ms     Threshold: p(95) of every request except `POST /orders`.
 * @property {number} orderP95Ms   Threshold: p(95) of `POST /orders` (it holds until the saga ends).
 */

/**
 * @typedef {Settings & {
 *   rate: number,
 *   duration: string,
 *   preAllocatedVUs: number,
 *   maxVUs: number,
 *   poolSize: number,
 *   scarceSlots: number,
 *   scarceCapacity: number,
 *   poolSlotCapacity: number,
 *   e2eP95Ms: number,
 *   teardownWaitMs: number,
 * }} SagaSettings
 */

/**
 * @typedef {Settings & {
 *   vus: number,
 *   iterations: number,
 *   burst: number,
 *   settleMs: number,
 * }} IdempotencySettings
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

/** @typedef {{ id: string, token: string }} Credentials */

/**
 * @typedef {object} Slot
 * @property {string} id
 * @property {string} name
 * @property {number} capacity
 * @property {number} reserved
 * @property {number} available
 * @property {number} price
 */

/** @typedef {'pending' | 'confirmed' | 'cancelled'} OrderStatus */
/** @typedef {'sold_out' | 'unknown_slot' | 'insufficient_funds'} CancelReason */
/** @typedef {'pending' | 'confirmed' | 'cancelled:sold_out' | 'cancelled:unknown_slot' | 'cancelled:insufficient_funds'} Outcome */

/**
 * @typedef {object} Order
 * @property {string} id
 * @property {string} accountId
 * @property {string} slotId
 * @property {number} seats
 * @property {number} amount
 * @property {OrderStatus} status
 * @property {CancelReason | null} reason
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
 * One HTTP request as data: `http.request(method, url, body, params)`, or an
 * element of `http.batch([...])`.
 * @typedef {object} RequestSpec
 * @property {string} method
 * @property {string} url
 * @property {string | null} body
 * @property {{ headers: Headers, tags: Headers }} params
 * @property {number[]} expect  Statuses that are not failures in `http_req_failed`.
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
// Settings: each read once from the environment, with a default and bounds.

/** A setting with a bad value. Thrown in k6's init context, it stops the run before it starts. */
export class SettingsError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'SettingsError';
  }
}

/**
 * @param {Env} env
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
function text(env, name, fallback) {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

/**
 * @param {Env} env
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
function url(env, name, fallback) {
  const value = text(env, name, fallback);
  if (!/^https?:\/\/[^/\s]+(\/\S*)?$/.test(value)) {
    throw new SettingsError(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, '');
}

/**
 * @param {Env} env
 * @param {string} name
 * @param {number} fallback
 * @param {number} min
 * @param {number} max
 * @returns {number}
 */
function int(env, name, fallback, min, max) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new SettingsError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new SettingsError(`${name} must be within ${min}..${max}, got ${value}`);
  return value;
}

/**
 * @param {Env} env
 * @param {string} name
 * @returns {boolean}
 */
function flag(env, name) {
  const raw = text(env, name, '0').toLowerCase();
  if (raw === '1' || raw === 'true' || raw === 'yes') return true;
  if (raw === '0' || raw === 'false' || raw === 'no') return false;
  throw new SettingsError(`${name} must be 1 or 0, got ${JSON.stringify(raw)}`);
}

/**
 * A k6 duration such as `30s`, `2m` or `1h30m`.
 * @param {Env} env
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
function duration(env, name, fallback) {
  const value = text(env, name, fallback);
  if (!/^(\d+(ms|s|m|h))+$/.test(value)) {
    throw new SettingsError(`${name} must be a duration such as 30s, 2m or 1h30m, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Settings both scripts read. `ADMIN_TOKEN` is required: both create slots.
 * @param {Env} env
 * @returns {Settings}
 */
export function readSettings(env) {
  const adminToken = text(env, 'ADMIN_TOKEN', '');
  if (adminToken === '') {
    throw new SettingsError('ADMIN_TOKEN is required (npm start prints it; in a cluster it is in the ordersaga Secret): k6 run -e ADMIN_TOKEN=...');
  }
  return {
    baseUrl: url(env, 'BASE_URL', 'http://localhost:8080'),
    brokerUrl: url(env, 'BROKER_URL', 'http://localhost:8081/ordersaga/default'),
    adminToken,
    smoke: flag(env, 'SMOKE'),
    waitSeconds: int(env, 'WAIT_SECONDS', 10, 0, 30),
    settleTimeoutMs: int(env, 'SETTLE_TIMEOUT_MS', 30000, 1000, 600000),
    apiP95Ms: int(env, 'API_P95_MS', 500, 1, 600000),
    orderP95Ms: int(env, 'ORDER_P95_MS', 3000, 1, 600000),
  };
}

/**
 * Settings of `saga.js`.
 * @param {Env} env
 * @returns {SagaSettings}
 */
export function readSagaSettings(env) {
  const base = readSettings(env);
  const smoke = base.smoke;
  const rate = int(env, 'RATE', smoke ? 1 : 5, 1, 10000);
  const preAllocatedVUs = int(env, 'PRE_ALLOCATED_VUS', Math.max(2, rate * 4), 1, 100000);
  return Object.assign({}, base, {
    rate,
    duration: duration(env, 'DURATION', smoke ? '15s' : '2m'),
    preAllocatedVUs,
    maxVUs: Math.max(preAllocatedVUs, int(env, 'MAX_VUS', Math.max(10, rate * 20), 1, 100000)),
    poolSize: int(env, 'POOL_SIZE', smoke ? 3 : 10, 1, 1000),
    scarceSlots: int(env, 'SCARCE_SLOTS', 2, 1, 100),
    scarceCapacity: int(env, 'SCARCE_CAPACITY', 2, 1, 1000),
    poolSlotCapacity: int(env, 'POOL_SLOT_CAPACITY', smoke ? 6 : 40, 1, 1000000),
    e2eP95Ms: int(env, 'E2E_P95_MS', 5000, 1, 600000),
    teardownWaitMs: int(env, 'TEARDOWN_WAIT_MS', smoke ? 20000 : 60000, 0, 600000),
  });
}

/**
 * Settings of `idempotency.js`.
 * @param {Env} env
 * @returns {IdempotencySettings}
 */
export function readIdempotencySettings(env) {
  const base = readSettings(env);
  const smoke = base.smoke;
  return Object.assign({}, base, {
    vus: int(env, 'VUS', smoke ? 1 : 4, 1, 1000),
    iterations: int(env, 'ITERATIONS', smoke ? 1 : 5, 1, 100000),
    burst: int(env, 'BURST', smoke ? 5 : 8, 2, 100),
    settleMs: int(env, 'SETTLE_MS', smoke ? 1000 : 2000, 0, 60000),
  });
}

// ---------------------------------------------------------------------------
// Ids

/**
 * An RFC 4122 version-4 UUID from 16 random bytes (k6: `crypto.randomBytes(16)`).
 * @param {ArrayBuffer | Uint8Array} random
 * @returns {string}
 */
export function uuidV4(random) {
  const bytes = new Uint8Array(random).slice(0, 16);
  if (bytes.length !== 16) throw new RangeError(`uuidV4 needs 16 random bytes, got ${bytes.length}`);
  bytes[6] = ((bytes[6] || 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] || 0) & 0x3f) | 0x80;
  let hex = '';
  for (let i = 0; i < 16; i++) hex += ((bytes[i] || 0) + 0x100).toString(16).slice(1);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------
// Requests

/** The CloudEvent types of the commands a client may send to the Broker (SPEC §2). */
export const EVENT_TYPES = {
  depositRequested: 'dev.ordersaga.deposit.requested',
  orderRequested: 'dev.ordersaga.order.requested',
};

/** `source` of the CloudEvents these scripts send. */
export const EVENT_SOURCE = '/ordersaga/load';

/**
 * @typedef {object} RequestOptions
 * @property {string} [token]           Bearer token (an account's, or the admin token).
 * @property {unknown} [json]           Body, sent as `application/json`.
 * @property {string} [idempotencyKey]
 * @property {number} [preferWait]      Seconds for `Prefer: wait=N`.
 * @property {number[]} [expect]        Statuses that are not failures; default 2xx.
 */

/**
 * A request to the API. `name` groups the URLs of one route in k6's metrics
 * (ids in paths would make one time series per entity); `op` separates
 * `POST /orders`, which holds until the saga ends, from the rest.
 * @param {string} baseUrl
 * @param {string} method
 * @param {string} path
 * @param {string} name  The route, e.g. `GET /orders/{id}`.
 * @param {RequestOptions} [options]
 * @returns {RequestSpec}
 */
export function apiRequest(baseUrl, method, path, name, options) {
  const o = options || {};
  /** @type {Headers} */
  const headers = { accept: 'application/json' };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.json !== undefined) headers['content-type'] = 'application/json';
  if (o.idempotencyKey !== undefined) headers['idempotency-key'] = o.idempotencyKey;
  if (o.preferWait !== undefined) headers.prefer = `wait=${o.preferWait}`;
  return {
    method,
    url: `${baseUrl}${path}`,
    body: o.json === undefined ? null : JSON.stringify(o.json),
    params: { headers, tags: { name, op: name === 'POST /orders' ? 'order' : 'api' } },
    expect: o.expect || [200, 201, 202, 204],
  };
}

/**
 * @param {string} baseUrl
 * @param {{ email: string, name: string }} account
 */
export const createAccountRequest = (baseUrl, account) =>
  apiRequest(baseUrl, 'POST', '/accounts', 'POST /accounts', { json: account });

/**
 * @param {string} baseUrl
 * @param {Credentials} who
 */
export const getAccountRequest = (baseUrl, who) =>
  apiRequest(baseUrl, 'GET', `/accounts/${who.id}`, 'GET /accounts/{id}', { token: who.token });

/**
 * @param {string} baseUrl
 * @param {Credentials} who
 * @param {number} amount
 * @param {string} idempotencyKey
 * @param {number[]} [expect]
 */
export const depositRequest = (baseUrl, who, amount, idempotencyKey, expect) =>
  apiRequest(baseUrl, 'POST', `/accounts/${who.id}/deposits`, 'POST /accounts/{id}/deposits', {
    token: who.token,
    json: { amount },
    idempotencyKey,
    expect,
  });

/**
 * @param {string} baseUrl
 * @param {Credentials} who
 * @param {number} amount
 * @param {string} idempotencyKey
 * @param {number[]} [expect]
 */
export const withdrawalRequest = (baseUrl, who, amount, idempotencyKey, expect) =>
  apiRequest(baseUrl, 'POST', `/accounts/${who.id}/withdrawals`, 'POST /accounts/{id}/withdrawals', {
    token: who.token,
    json: { amount },
    idempotencyKey,
    expect,
  });

/**
 * @param {string} baseUrl
 * @param {string} adminToken
 * @param {{ name: string, capacity: number, price: number }} slot
 */
export const createSlotRequest = (baseUrl, adminToken, slot) =>
  apiRequest(baseUrl, 'POST', '/slots', 'POST /slots', { token: adminToken, json: slot });

/**
 * @param {string} baseUrl
 * @param {string} slotId
 */
export const getSlotRequest = (baseUrl, slotId) => apiRequest(baseUrl, 'GET', `/slots/${slotId}`, 'GET /slots/{id}');

/**
 * @typedef {object} NewOrder
 * @property {string} slotId
 * @property {number} [seats]
 * @property {string} [orderId]
 */

/**
 * `POST /orders`; with `wait` it holds until the order is terminal or `wait` seconds pass.
 * @param {string} baseUrl
 * @param {Credentials} who
 * @param {NewOrder} order
 * @param {string} idempotencyKey
 * @param {number | undefined} wait
 * @param {number[]} [expect]
 */
export function placeOrderRequest(baseUrl, who, order, idempotencyKey, wait, expect) {
  /** @type {{ accountId: string, slotId: string, seats?: number, orderId?: string }} */
  const json = { accountId: who.id, slotId: order.slotId };
  if (order.seats !== undefined) json.seats = order.seats;
  if (order.orderId !== undefined) json.orderId = order.orderId;
  return apiRequest(baseUrl, 'POST', '/orders', 'POST /orders', { token: who.token, json, idempotencyKey, preferWait: wait, expect });
}

/**
 * @param {string} baseUrl
 * @param {Credentials} who
 * @param {string} orderId
 * @param {number[]} [expect]
 */
export const getOrderRequest = (baseUrl, who, orderId, expect) =>
  apiRequest(baseUrl, 'GET', `/orders/${orderId}`, 'GET /orders/{id}', { token: who.token, expect });

/**
 * @param {string} baseUrl
 * @param {Credentials} who
 */
export const listOrdersRequest = (baseUrl, who) =>
  apiRequest(baseUrl, 'GET', `/accounts/${who.id}/orders`, 'GET /accounts/{id}/orders', { token: who.token });

/**
 * @param {string} baseUrl
 * @param {Credentials} who
 */
export const listNotificationsRequest = (baseUrl, who) =>
  apiRequest(baseUrl, 'GET', `/accounts/${who.id}/notifications`, 'GET /accounts/{id}/notifications', { token: who.token });

/**
 * @typedef {object} OutgoingEvent
 * @property {string} type
 * @property {string} id       With `source`, what the consumer dedupes on.
 * @property {string} [source] Default {@link EVENT_SOURCE}.
 * @property {string} [subject]
 * @property {object} data
 */

/**
 * A CloudEvent POSTed to the Broker ingress in binary content mode: the
 * attributes as `ce-*` headers, the data as the JSON body. The ingress
 * answers 202 once it has accepted the event.
 * @param {string} brokerUrl
 * @param {OutgoingEvent} event
 * @returns {RequestSpec}
 */
export function cloudEventRequest(brokerUrl, event) {
  /** @type {Headers} */
  const headers = {
    'ce-specversion': '1.0',
    'ce-id': event.id,
    'ce-source': event.source || EVENT_SOURCE,
    'ce-type': event.type,
    'content-type': 'application/json',
  };
  if (event.subject !== undefined) headers['ce-subject'] = event.subject;
  return {
    method: 'POST',
    url: brokerUrl,
    body: JSON.stringify(event.data),
    params: { headers, tags: { name: `POST broker ${event.type}`, op: 'event' } },
    expect: [202],
  };
}

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

const STATUSES = ['pending', 'confirmed', 'cancelled'];
const REASONS = ['sold_out', 'unknown_slot', 'insufficient_funds'];

/**
 * @param {unknown} body
 * @returns {Order | undefined}
 */
export function asOrder(body) {
  if (!isRecord(body)) return undefined;
  const { id, accountId, slotId, seats, amount, status, reason } = body;
  if (!isUuid(id) || !isUuid(accountId) || !isUuid(slotId) || !isMinorUnits(seats) || !isMinorUnits(amount)) return undefined;
  if (typeof status !== 'string' || STATUSES.indexOf(status) < 0) return undefined;
  if (reason !== null && (typeof reason !== 'string' || REASONS.indexOf(reason) < 0)) return undefined;
  return {
    id,
    accountId,
    slotId,
    seats,
    amount,
    status: /** @type {OrderStatus} */ (status),
    reason: /** @type {CancelReason | null} */ (reason),
  };
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

/** @param {Order} order */
export const isTerminal = (order) => order.status !== 'pending';

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
    if (!isTerminal(order) && count !== 0) problems.push(`order ${order.id} is pending but has ${count} letters`);
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
