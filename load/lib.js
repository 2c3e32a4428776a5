/**
 * What the k6 scripts share that needs no k6: settings read from the
 * environment, ids, and the HTTP requests of the API and the Broker ingress
 * (as plain data, ready for `http.request` or `http.batch`). Reading the
 * answers is `./replies.js`; the arithmetic of the invariants (SPEC §7) is
 * `./invariants.js`.
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
 *   waitingRate: number,
 *   waitingAccounts: number,
 *   tickSeconds: number,
 *   waitPayWithin: number,
 *   timeoutPayWithin: number,
 *   timeouts: boolean,
 *   resumeP95Ms: number,
 * }} SagaSettings
 *
 * `waitingAccounts`: one per iteration of the waiting scenario
 * (`waitingRate` × `duration`); `timeouts`: whether its iterations leave an
 * order to time out, which they do when teardown waits long enough to see it
 * end (`timeoutPayWithin` + one tick).
 */

/**
 * @typedef {Settings & {
 *   vus: number,
 *   iterations: number,
 *   burst: number,
 *   settleMs: number,
 * }} IdempotencySettings
 */

/** @typedef {{ id: string, token: string }} Credentials */

/** @typedef {import('./replies.js').OrderStatus} OrderStatus */

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
  const runFor = duration(env, 'DURATION', smoke ? '15s' : '2m');
  return Object.assign({}, base, {
    rate,
    duration: runFor,
    preAllocatedVUs,
    maxVUs: Math.max(preAllocatedVUs, int(env, 'MAX_VUS', Math.max(10, rate * 20), 1, 100000)),
    poolSize: int(env, 'POOL_SIZE', smoke ? 3 : 10, 1, 1000),
    scarceSlots: int(env, 'SCARCE_SLOTS', 2, 1, 100),
    scarceCapacity: int(env, 'SCARCE_CAPACITY', 2, 1, 1000),
    poolSlotCapacity: int(env, 'POOL_SLOT_CAPACITY', smoke ? 6 : 40, 1, 1000000),
    e2eP95Ms: int(env, 'E2E_P95_MS', 5000, 1, 600000),
  }, waitingSettings(env, smoke, durationSeconds(runFor)));
}

/** How much longer than `timeoutPayWithin` + one tick teardown must wait to see a time-out end. */
export const TIMEOUT_MARGIN_MS = 10000;

/**
 * The waiting scenario's settings, and teardown's wait, which a full run
 * stretches so that the orders left to time out can be seen to.
 * @param {Env} env
 * @param {boolean} smoke
 * @param {number} seconds  The run's `DURATION`.
 */
function waitingSettings(env, smoke, seconds) {
  const waitingRate = int(env, 'WAITING_RATE', 1, 0, 1000);
  const tickSeconds = int(env, 'TICK_SECONDS', 60, 1, 3600);
  const timeoutPayWithin = int(env, 'TIMEOUT_PAY_WITHIN', 5, 1, 3600);
  const timeoutEndsMs = (timeoutPayWithin + tickSeconds) * 1000 + TIMEOUT_MARGIN_MS;
  const teardownWaitMs = int(env, 'TEARDOWN_WAIT_MS', smoke ? 20000 : Math.max(60000, timeoutEndsMs), 0, 3600000);
  return {
    teardownWaitMs,
    waitingRate,
    waitingAccounts: Math.ceil(waitingRate * seconds),
    tickSeconds,
    waitPayWithin: int(env, 'WAIT_PAY_WITHIN', 300, 60, 86400),
    timeoutPayWithin,
    timeouts: timeoutEndsMs <= teardownWaitMs,
    resumeP95Ms: int(env, 'RESUME_P95_MS', 1000, 1, 600000),
  };
}

/**
 * Seconds in a k6 duration such as `30s`, `2m` or `1h30m` (one already checked by `duration`).
 * @param {string} text
 * @returns {number}
 */
export function durationSeconds(text) {
  /** @type {{ [unit: string]: number }} */
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let seconds = 0;
  const re = /(\d+)(ms|s|m|h)/g;
  for (let part = re.exec(text); part !== null; part = re.exec(text)) seconds += Number(part[1]) * (unit[part[2] || 's'] || 0);
  return seconds;
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
 * @property {number} [payWithin]  Seconds it may wait for funds; unset: the stack's PAYMENT_WAIT_SECONDS.
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
  /** @type {{ accountId: string, slotId: string, seats?: number, orderId?: string, payWithin?: number }} */
  const json = { accountId: who.id, slotId: order.slotId };
  if (order.seats !== undefined) json.seats = order.seats;
  if (order.orderId !== undefined) json.orderId = order.orderId;
  if (order.payWithin !== undefined) json.payWithin = order.payWithin;
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
 * `POST /orders/{id}/cancel` (no body): 202 for an order waiting for funds, 409 for any other.
 * @param {string} baseUrl
 * @param {Credentials} who
 * @param {string} orderId
 * @param {number[]} [expect]
 */
export const cancelOrderRequest = (baseUrl, who, orderId, expect) =>
  apiRequest(baseUrl, 'POST', `/orders/${orderId}/cancel`, 'POST /orders/{id}/cancel', { token: who.token, expect });

/**
 * `GET /accounts/{id}/orders`, oldest first; with `status`, only the orders in it.
 * @param {string} baseUrl
 * @param {Credentials} who
 * @param {OrderStatus} [status]
 */
export const listOrdersRequest = (baseUrl, who, status) =>
  apiRequest(baseUrl, 'GET', `/accounts/${who.id}/orders${status === undefined ? '' : `?status=${status}`}`, 'GET /accounts/{id}/orders', {
    token: who.token,
  });

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
