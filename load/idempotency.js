/**
 * Duplicates, all at once, and proof that each operation happened once
 * (SPEC §3 Idempotency, §4 dedupe on (source, id), §7 invariant 6).
 *
 * Each iteration opens an account and, for deposits, withdrawals (one that
 * succeeds, one refused for a short balance) and orders, fires `BURST`
 * copies of one request with one Idempotency-Key at the same moment
 * (`http.batch`), then once more on its own. It POSTs `BURST` copies of one
 * CloudEvent (same `source` and `id`) to the Broker ingress, plus one more
 * under a new event id naming the same entity, for `deposit.requested` (an
 * explicit `depositId`) and `order.requested` (an explicit `orderId`). After
 * each burst the account's balance, orders and letters are read back: every
 * operation must have happened exactly once.
 *
 *   k6 run -e ADMIN_TOKEN=... load/idempotency.js     (see load/README.md)
 */
import { group, sleep } from 'k6';
import {
  EVENT_TYPES,
  apiRequest,
  cloudEventRequest,
  depositRequest,
  placeOrderRequest,
  readIdempotencySettings,
  withdrawalRequest,
} from './lib.js';
import { asMovement, asOrder, asProblem, headerValue, isReplayed, repeat, sameJson, summarizeBurst } from './replies.js';
import { expectedBalance, notificationViolations } from './invariants.js';
import {
  awaitTerminal,
  createSlot,
  must,
  newId,
  openAccount,
  pollUntil,
  readAccount,
  readNotifications,
  readOrders,
  send,
  sendAll,
  verify,
  violations,
} from './api.js';

/**
 * @typedef {import('./lib.js').Credentials} Credentials
 * @typedef {import('./replies.js').Movement} Movement
 * @typedef {import('./replies.js').Order} Order
 * @typedef {import('./replies.js').Reply} Reply
 * @typedef {import('./lib.js').RequestSpec} RequestSpec
 */

/**
 * What this iteration has asked for, each exactly once.
 * @typedef {object} Ledger
 * @property {number} deposited
 * @property {number} withdrawn
 * @property {Order[]} orders  The orders placed, as last read.
 */

const settings = readIdempotencySettings(__ENV);

/** Price of the one slot every order books: the account can always afford it. */
const PRICE = 200;
const AMOUNTS = { deposit: 1000, withdrawal: 300, refused: 1000000, eventDeposit: 700 };

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    bursts: {
      executor: 'per-vu-iterations',
      vus: settings.vus,
      iterations: settings.iterations,
      maxDuration: settings.smoke ? '50s' : '15m',
    },
  },
  // Every copy of a burst in flight at once.
  batch: settings.burst,
  batchPerHost: settings.burst,
  setupTimeout: '1m',
  thresholds: {
    // Every check here is about correctness, not speed (bursts contend on
    // purpose, so latency is no measure): none may fail.
    checks: ['rate==1'],
    invariant_violations: ['count==0'],
    http_req_failed: ['rate<0.01'],
  },
};

/** @returns {{ slotId: string }} */
export function setup() {
  violations.add(0); // so the summary shows the metric (and its threshold) even when nothing broke
  const slot = must(
    createSlot(settings, { name: `load idempotency ${newId().slice(0, 8)}`, capacity: 1000000, price: PRICE }),
    'setup: could not create a slot (is ADMIN_TOKEN right? is BASE_URL up?)',
  );
  return { slotId: slot.id };
}

/**
 * @param {Reply} reply
 * @returns {boolean}
 */
function isProblemDocument(reply) {
  const type = headerValue(reply.headers, 'Content-Type') || '';
  return asProblem(reply.body) !== undefined && type.indexOf('application/problem+json') === 0;
}

/**
 * `BURST` copies of one money request at once, then one more on its own.
 * One copy does the work; the others replay it (201, `Idempotent-Replayed:
 * true`, the same body) or meet it in flight (409); the late one replays it.
 * @param {string} what  `deposit` or `withdrawal`, for check names.
 * @param {RequestSpec} request
 * @param {'depositId' | 'withdrawalId'} idField
 * @returns {Movement | undefined}  The movement, as the copy that did the work reported it.
 */
function moneyBurst(what, request, idField) {
  /** @param {unknown} body */
  const idOf = (body) => {
    const movement = asMovement(body, idField);
    return movement === undefined ? undefined : movement.id;
  };
  const replies = sendAll(repeat(request, settings.burst));
  const summary = summarizeBurst(replies, [201, 409], idOf);
  verify(`${what} burst: every answer is 201, 201 replayed, or 409 in flight`, summary.unexpected === 0, summary);
  verify(`${what} burst: exactly one request did the work`, summary.fresh === 1, summary, true);
  verify(`${what} burst: every 201 names the same ${idField}`, summary.ids.length === 1, summary, true);
  const first = replies.filter((r) => r.status === 201 && !isReplayed(r))[0];
  verify(
    `${what} burst: every replay repeats the first body`,
    first !== undefined && replies.every((r) => !isReplayed(r) || (r.status === 201 && sameJson(r.body, first.body))),
    replies,
  );

  const late = send(request);
  verify(
    `${what} replay: 201, Idempotent-Replayed: true, the first body`,
    first !== undefined && late.status === 201 && isReplayed(late) && sameJson(late.body, first.body),
    { late, first },
    true,
  );
  return first === undefined ? undefined : asMovement(first.body, idField);
}

/**
 * `BURST` copies of one CloudEvent (same source and id) POSTed at once, and
 * one more under a new event id that names the same entity.
 * @param {string} what  For check names.
 * @param {import('./lib.js').OutgoingEvent} event
 */
function eventBurst(what, event) {
  const replies = sendAll(repeat(cloudEventRequest(settings.brokerUrl, event), settings.burst));
  verify(`${what} duplicates: the Broker accepts each (202)`, replies.every((r) => r.status === 202), replies.map((r) => r.status));
  const redelivery = send(cloudEventRequest(settings.brokerUrl, Object.assign({}, event, { id: newId() })));
  verify(`${what} under a new event id: the Broker accepts it (202)`, redelivery.status === 202, redelivery);
}

/** @param {{ slotId: string }} data */
export default function round(data) {
  const account = openAccount(settings, 'idempotency');
  if (account === undefined) return;
  /** @type {Ledger} */
  const ledger = { deposited: 0, withdrawn: 0, orders: [] };
  /** @param {string} when */
  const balanceMovedOnce = (when) => {
    const now = readAccount(settings, account);
    const expected = expectedBalance(ledger);
    verify(`${when}: the balance moved exactly once`, now !== undefined && now.balance === expected, { balance: now && now.balance, expected }, true);
  };
  /** @param {string} when */
  const eachOrderOnce = (when) => {
    const listed = readOrders(settings, account);
    const ids = listed === undefined ? '(unreadable)' : listed.map((o) => o.id).sort().join(',');
    const placed = ledger.orders.map((o) => o.id).sort().join(',');
    verify(`${when}: GET /accounts/{id}/orders lists each order placed, once`, ids === placed, { listed: ids, placed }, true);
    return listed;
  };

  group('deposit: one Idempotency-Key, concurrent copies', () => {
    const key = `deposit-${newId()}`;
    const first = moneyBurst('deposit', depositRequest(settings.baseUrl, account, AMOUNTS.deposit, key, [201, 409]), 'depositId');
    ledger.deposited += AMOUNTS.deposit;
    verify('deposit burst: the first answer reports the balance after one deposit', first !== undefined && first.balance === expectedBalance(ledger), first);

    const changed = send(depositRequest(settings.baseUrl, account, AMOUNTS.deposit + 1, key, [422]));
    verify('deposit: the same key with another body → 422 problem document', changed.status === 422 && isProblemDocument(changed), changed);

    const keyless = send(
      apiRequest(settings.baseUrl, 'POST', `/accounts/${account.id}/deposits`, 'POST /accounts/{id}/deposits', {
        token: account.token,
        json: { amount: AMOUNTS.deposit },
        expect: [400],
      }),
    );
    verify('deposit: no Idempotency-Key → 400 problem document', keyless.status === 400 && isProblemDocument(keyless), keyless);

    // Keys are scoped per account: another account's request with this key is its own deposit.
    const stranger = openAccount(settings, 'idempotency-stranger');
    if (stranger !== undefined) {
      const theirs = send(depositRequest(settings.baseUrl, stranger, AMOUNTS.deposit, key));
      const movement = asMovement(theirs.body, 'depositId');
      verify(
        "deposit: the same key on another account is that account's own deposit",
        theirs.status === 201 && !isReplayed(theirs) && movement !== undefined && movement.accountId === stranger.id && (first === undefined || movement.id !== first.id),
        theirs,
        true,
      );
    }
    balanceMovedOnce('after the deposit burst');
  });

  group('withdrawal: one Idempotency-Key, concurrent copies', () => {
    const key = `withdrawal-${newId()}`;
    const first = moneyBurst('withdrawal', withdrawalRequest(settings.baseUrl, account, AMOUNTS.withdrawal, key, [201, 409]), 'withdrawalId');
    ledger.withdrawn += AMOUNTS.withdrawal;
    verify('withdrawal burst: the first answer reports the balance after one withdrawal', first !== undefined && first.balance === expectedBalance(ledger), first);
    balanceMovedOnce('after the withdrawal burst');
  });

  group('refused withdrawal: one Idempotency-Key, concurrent copies', () => {
    // More than the balance: the refusal (409) is stored and replayed like a success.
    const request = withdrawalRequest(settings.baseUrl, account, AMOUNTS.refused, `refused-${newId()}`, [409]);
    const replies = sendAll(repeat(request, settings.burst));
    verify('refused withdrawal burst: every answer is a 409 problem document', replies.every((r) => r.status === 409 && isProblemDocument(r)), replies);
    const late = send(request);
    verify('refused withdrawal replay: 409 with Idempotent-Replayed: true', late.status === 409 && isReplayed(late) && isProblemDocument(late), late);
    balanceMovedOnce('after the refused withdrawals');
  });

  group('order: one Idempotency-Key, concurrent copies', () => {
    const key = `order-${newId()}`;
    // With Prefer: wait the copy that places the order holds until the saga
    // ends (201, or 202 if it is still pending); the others answer the stored
    // first response at once (202 pending, replayed) or 409 while in flight.
    const request = placeOrderRequest(settings.baseUrl, account, { slotId: data.slotId, seats: 1 }, key, settings.waitSeconds, [201, 202, 409]);
    const replies = sendAll(repeat(request, settings.burst));
    /** @param {unknown} body */
    const idOf = (body) => {
      const order = asOrder(body);
      return order === undefined ? undefined : order.id;
    };
    const summary = summarizeBurst(replies, [201, 202, 409], idOf);
    verify('order burst: every answer is 201, 202, 2xx replayed, or 409 in flight', summary.unexpected === 0, summary);
    verify('order burst: exactly one request placed the order', summary.fresh === 1, summary, true);
    verify('order burst: every 2xx names the same order', summary.ids.length === 1, summary, true);
    const orderId = summary.ids[0];
    if (orderId === undefined) return;

    const order = awaitTerminal(settings, account, orderId);
    verify('order burst: the order is confirmed', order !== undefined && order.status === 'confirmed' && order.amount === PRICE, order, true);
    if (order !== undefined) ledger.orders.push(order);

    const late = send(request);
    const replayed = asOrder(late.body);
    verify(
      'order replay: 2xx with Idempotent-Replayed: true and the same order',
      (late.status === 201 || late.status === 202) && isReplayed(late) && replayed !== undefined && replayed.id === orderId,
      late,
    );

    const changed = send(placeOrderRequest(settings.baseUrl, account, { slotId: data.slotId, seats: 2 }, key, undefined, [422]));
    verify('order: the same key with another body → 422 problem document', changed.status === 422 && isProblemDocument(changed), changed);

    const again = send(placeOrderRequest(settings.baseUrl, account, { slotId: data.slotId, seats: 1, orderId }, `order-${newId()}`, undefined, [201, 202]));
    const same = asOrder(again.body);
    verify(
      'order: the same orderId under a new key answers that order, placing none',
      (again.status === 201 || again.status === 202) && same !== undefined && same.id === orderId,
      again,
      true,
    );
    eachOrderOnce('after the order burst');
    balanceMovedOnce('after the order burst');
  });

  group('deposit.requested: one CloudEvent, delivered many times', () => {
    eventBurst('deposit.requested', {
      type: EVENT_TYPES.depositRequested,
      id: newId(),
      subject: account.id,
      data: { accountId: account.id, amount: AMOUNTS.eventDeposit, depositId: newId() },
    });
    ledger.deposited += AMOUNTS.eventDeposit;
    const expected = expectedBalance(ledger);
    const landed = pollUntil(() => readAccount(settings, account), (a) => a !== undefined && a.balance >= expected, settings.settleTimeoutMs);
    verify('deposit.requested: the deposit lands', landed.done, landed.value, true);
    sleep(settings.settleMs / 1000); // time for a late duplicate to do harm, if it can
    balanceMovedOnce('deposit.requested sent many times');
  });

  group('order.requested: one CloudEvent, delivered many times', () => {
    const orderId = newId();
    eventBurst('order.requested', {
      type: EVENT_TYPES.orderRequested,
      id: newId(),
      subject: orderId,
      data: { accountId: account.id, slotId: data.slotId, seats: 1, orderId },
    });
    const order = awaitTerminal(settings, account, orderId, true);
    verify('order.requested: the order is placed and confirmed', order !== undefined && order.status === 'confirmed' && order.amount === PRICE, order, true);
    ledger.orders.push(order === undefined ? /** @type {Order} */ ({ id: orderId, accountId: account.id, slotId: data.slotId, seats: 1, amount: PRICE, status: 'pending', reason: null }) : order);
    sleep(settings.settleMs / 1000);
    eachOrderOnce('order.requested sent many times');
    balanceMovedOnce('order.requested sent many times');
  });

  group('letters: one per order, whatever the duplicates', () => {
    const orders = ledger.orders;
    pollUntil(() => readNotifications(settings, account), (list) => list !== undefined && list.length >= orders.length, settings.settleTimeoutMs);
    sleep(settings.settleMs / 1000);
    const listed = eachOrderOnce('at the end');
    const letters = readNotifications(settings, account);
    const problems = letters === undefined || listed === undefined ? ['unreadable'] : notificationViolations(listed, letters);
    verify('letters: exactly one per order, of its type', problems.length === 0, problems, true);
  });
}
