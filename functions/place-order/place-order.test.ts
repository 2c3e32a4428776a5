import { beforeAll, describe, expect, it } from 'vitest';
import { entityIdFor, newId } from '../../lib/ids.js';
import { CloudEvent } from 'cloudevents';

import { consumeStep, seedAccount, seedSlot, snapshot } from '../../test/fixtures.js';
import { cloudEvent, deliver, request, useFunction } from '../../test/harness.js';
import placeOrder, { PING_TYPE } from './index.js';
import { preferredWait } from './wait.js';

describe('place-order', () => {
  const f = useFunction(placeOrder, { RECONCILE_AFTER_SECONDS: '1' });
  let ada: { id: string; token: string };
  let bo: { id: string; token: string };
  let slot: string;
  /** What notify does when the letter is recorded: the saga is settled (and the waiting request gets its answer). */
  const recordLetter = (orderId: string, accountId: string) =>
    consumeStep(f.db, 'notify', 'notify_record', {
      notificationId: newId(), orderId, accountId, letter: 'happy', to: 'x@example.com', subject: 's', body: 'b', status: 'dry-run', messageId: 'm',
    });
  beforeAll(async () => {
    ada = await seedAccount(f.db, 10_000);
    bo = await seedAccount(f.db, 10_000);
    slot = await seedSlot(f.db, 100, 1_500);
  });

  const post = (body: unknown, options: { token?: string; key?: string; prefer?: string } = {}) =>
    request(f.url, 'POST', '/orders', {
      body,
      token: options.token ?? ada.token,
      headers: { ...(options.key !== null ? { 'idempotency-key': options.key ?? newId() } : {}), ...(options.prefer ? { prefer: options.prefer } : {}) },
    });

  describe('POST /orders', () => {
    it('places a pending order priced slot price × seats and publishes order.placed', async () => {
      const res = await post({ accountId: ada.id, slotId: slot, seats: 2 });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ status: 'pending', amount: 3_000, seats: 2, accountId: ada.id, slotId: slot, reason: null });
      const id = (res.body as { id: string }).id;
      expect(res.headers.location).toBe(`/orders/${id}`);
      expect(f.sink.ofType('order.placed').map((e) => e.data)).toEqual([{ orderId: id, accountId: ada.id, slotId: slot, seats: 2, amount: 3_000, payWithin: 0 }]);
    });

    it('uses the orderId the client chose', async () => {
      const orderId = newId();
      const res = await post({ accountId: ada.id, slotId: slot, orderId });
      expect((res.body as { id: string }).id).toBe(orderId);
    });

    it('requires an Idempotency-Key', async () => {
      const res = await request(f.url, 'POST', '/orders', { body: { accountId: ada.id, slotId: slot }, token: ada.token });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ detail: expect.stringContaining('Idempotency-Key') });
    });

    it('replays the first response for the same key and body, and places one order', async () => {
      const key = newId();
      const first = await post({ accountId: ada.id, slotId: slot }, { key });
      const before = await snapshot(f.db);
      const again = await post({ accountId: ada.id, slotId: slot }, { key });
      expect(again.status).toBe(first.status);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('answers 422 for the same key with another body', async () => {
      const key = newId();
      await post({ accountId: ada.id, slotId: slot }, { key });
      const res = await post({ accountId: ada.id, slotId: slot, seats: 3 }, { key });
      expect(res.status).toBe(422);
    });

    it('places one order for concurrent requests with one key', async () => {
      const key = newId();
      const answers = await Promise.all(Array.from({ length: 6 }, () => post({ accountId: ada.id, slotId: slot }, { key })));
      const ids = new Set(answers.filter((a) => a.status === 202).map((a) => (a.body as { id: string }).id));
      expect(ids.size).toBe(1);
      expect(answers.every((a) => a.status === 202 || a.status === 409)).toBe(true);
      expect(await f.db('orders').where({ id: [...ids][0] }).count()).toEqual([{ count: 1 }]);
    });

    it('scopes keys per account', async () => {
      const key = newId();
      const a = await post({ accountId: ada.id, slotId: slot }, { key });
      const b = await post({ accountId: bo.id, slotId: slot }, { key, token: bo.token });
      expect([a.status, b.status]).toEqual([202, 202]);
      expect(b.headers['idempotent-replayed']).toBeUndefined();
    });

    it.each([
      ['no token', undefined, 401],
      ['a forged token', `v1.${newId()}.${'A'.repeat(43)}`, 401],
    ])('answers %s with %i', async (_, token, status) => {
      const res = await request(f.url, 'POST', '/orders', {
        body: { accountId: ada.id, slotId: slot },
        headers: { 'idempotency-key': newId(), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
      expect(res.status).toBe(status);
    });

    it("answers 404 for an order on another account's behalf", async () => {
      const res = await post({ accountId: bo.id, slotId: slot }, { token: ada.token });
      expect(res.status).toBe(404);
    });

    it.each([
      ['seats 0', { seats: 0 }],
      ['seats 1.5', { seats: 1.5 }],
      ['a non-uuid slot', { slotId: 'slot-1' }],
      ['an unknown field', { price: 1 }],
      ['payWithin -1', { payWithin: -1 }],
      ['payWithin over a day', { payWithin: 86_401 }],
      ['payWithin 1.5', { payWithin: 1.5 }],
    ])('refuses %s with 400 and changes nothing', async (_, change) => {
      const before = await snapshot(f.db);
      const res = await post({ accountId: ada.id, slotId: slot, ...change });
      expect(res.status).toBe(400);
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('with Prefer: wait, holds the response until the saga is settled (terminal, letter recorded) and answers 201', async () => {
      const orderId = newId();
      const pending = post({ accountId: ada.id, slotId: slot, orderId }, { prefer: 'wait=5' });
      await new Promise((r) => setTimeout(r, 150));
      const charged = cloudEvent('payment.charged', { orderId, accountId: ada.id, slotId: slot, seats: 1, amount: 1_500, balance: 8_500 });
      expect((await deliver(f.url, charged)).status).toBe(200);
      // Confirmed, but the letter is not there yet: the answer is still held.
      await new Promise((r) => setTimeout(r, 150));
      expect(await Promise.race([pending.then(() => 'answered'), Promise.resolve('held')])).toBe('held');
      await recordLetter(orderId, ada.id);
      // The letter's transaction stored the final answer itself, for the request and its replays.
      expect(await f.db('idempotency_keys').where({ scope: ada.id }).whereRaw("response->>'id' = ?", [orderId]).first()).toMatchObject({ status_code: 201, held_until: null });
      const res = await pending;
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ id: orderId, status: 'confirmed' });
      expect(res.headers['preference-applied']).toBe('wait=5');
    });

    it('a replay of a waited order gets 409 while it waits, then the same 201 it answered', async () => {
      const orderId = newId();
      const key = newId();
      const body = { accountId: ada.id, slotId: slot, orderId };
      const first = post(body, { key, prefer: 'wait=5' });
      await new Promise((r) => setTimeout(r, 150));
      const during = await post(body, { key, prefer: 'wait=5' });
      expect(during.status).toBe(409);
      const charged = cloudEvent('payment.charged', { orderId, accountId: ada.id, slotId: slot, seats: 1, amount: 1_500, balance: 8_500 });
      await deliver(f.url, charged);
      await recordLetter(orderId, ada.id);
      const answered = await first;
      expect(answered.status).toBe(201);
      const after = await post(body, { key, prefer: 'wait=5' });
      expect(after.status).toBe(201);
      expect(after.text).toBe(answered.text);
      expect(after.headers['idempotent-replayed']).toBe('true');
    });

    it('an orderId that already exists answers as the order stands, and places nothing', async () => {
      const orderId = newId();
      await post({ accountId: ada.id, slotId: slot, orderId });
      await deliver(f.url, cloudEvent('payment.charged', { orderId, accountId: ada.id, slotId: slot, seats: 1, amount: 1_500, balance: 1 }));
      const before = await snapshot(f.db);
      const again = await post({ accountId: ada.id, slotId: slot, orderId });
      expect(again.status).toBe(201);
      expect(again.body).toMatchObject({ id: orderId, status: 'confirmed' });
      const { idempotency_keys: _k, ...rest } = await snapshot(f.db);
      const { idempotency_keys: _b, ...restBefore } = before;
      expect(rest).toEqual(restBefore);
    });

    it('with Prefer: wait, answers 202 with the pending order when time runs out', async () => {
      const started = Date.now();
      const res = await post({ accountId: ada.id, slotId: slot }, { prefer: 'wait=1' });
      expect(res.status).toBe(202);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    });
  });

  it('reads Prefer: wait=N, capped at 30 seconds', () => {
    expect(preferredWait('wait=5')).toBe(5);
    expect(preferredWait('respond-async, wait=100')).toBe(30);
    expect(preferredWait('return=minimal')).toBeUndefined();
    expect(preferredWait(undefined)).toBeUndefined();
  });

  describe('reading orders', () => {
    it('GET /orders/{id} shows status, reason and the history with event ids', async () => {
      const orderId = newId();
      await post({ accountId: ada.id, slotId: slot, orderId });
      const rejected = cloudEvent('slot.rejected', { orderId, accountId: ada.id, slotId: slot, seats: 1, amount: 1_500, reason: 'sold_out' });
      const reply = await deliver(f.url, rejected);
      expect(reply.event?.type).toBe('dev.ordersaga.order.cancelled');
      const res = await request(f.url, 'GET', `/orders/${orderId}`, { token: ada.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: orderId, status: 'cancelled', reason: 'sold_out' });
      const history = (res.body as { history: { step: string; eventId: string; eventType: string; source: string }[] }).history;
      expect(history.map((h) => h.step)).toEqual(['order.placed', 'order.cancelled']);
      expect(history[1]).toMatchObject({ eventId: reply.event!.id, eventType: 'dev.ordersaga.order.cancelled', source: '/ordersaga/place-order' });
    });

    it("answers 404 for another account's order, and 401 without a token", async () => {
      const { body } = await post({ accountId: ada.id, slotId: slot });
      const id = (body as { id: string }).id;
      expect((await request(f.url, 'GET', `/orders/${id}`, { token: bo.token })).status).toBe(404);
      expect((await request(f.url, 'GET', `/orders/${id}`)).status).toBe(401);
    });

    it("GET /accounts/{id}/orders lists the account's orders only", async () => {
      const res = await request(f.url, 'GET', `/accounts/${bo.id}/orders`, { token: bo.token });
      expect(res.status).toBe(200);
      expect((res.body as { accountId: string }[]).every((o) => o.accountId === bo.id)).toBe(true);
      expect((await request(f.url, 'GET', `/accounts/${bo.id}/orders`, { token: ada.token })).status).toBe(404);
    });
  });

  describe('events', () => {
    it('order.requested places the order under the id derived from (source, id); a redelivery places none', async () => {
      const command = cloudEvent('order.requested', { accountId: bo.id, slotId: slot, seats: 2 });
      const first = await deliver(f.url, command);
      expect(first.event?.data).toMatchObject({ orderId: entityIdFor('order', command), amount: 3_000 });
      const before = await snapshot(f.db);
      const second = await deliver(f.url, command);
      expect(second.event?.id).toBe(first.event?.id);
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('order.requested for an unknown account is refused with 400 (final)', async () => {
      const res = await deliver(f.url, cloudEvent('order.requested', { accountId: newId(), slotId: slot }));
      expect(res.status).toBe(400);
    });

    it('a second outcome for a finished order changes nothing and replies nothing', async () => {
      const orderId = newId();
      await post({ accountId: ada.id, slotId: slot, orderId });
      const core = { orderId, accountId: ada.id, slotId: slot, seats: 1, amount: 1_500 };
      await deliver(f.url, cloudEvent('payment.charged', { ...core, balance: 1 }));
      const late = await deliver(f.url, cloudEvent('slot.released', { ...core, reason: 'insufficient_funds' }));
      expect(late.status).toBe(204);
      const order = await f.db('orders').where({ id: orderId }).first('status');
      expect(order.status).toBe('confirmed');
    });
  });

  describe('waiting for funds', () => {
    const awaiting = (orderId: string, accountId = ada.id) =>
      cloudEvent('payment.awaiting', { orderId, accountId, slotId: slot, seats: 1, amount: 1_500, balance: 0, deadline: new Date(Date.now() + 30_000).toISOString() });

    it('takes payWithin, and publishes it with order.placed', async () => {
      const res = await post({ accountId: ada.id, slotId: slot, payWithin: 30 });
      expect(res.body).toMatchObject({ status: 'pending', payWithin: 30, paymentDeadline: null });
      expect(f.sink.ofType('order.placed').map((e) => (e.data as { payWithin: number }).payWithin)).toEqual([30]);
    });

    it('payment.awaiting makes the order awaiting_funds, with its deadline', async () => {
      const orderId = newId();
      await post({ accountId: ada.id, slotId: slot, orderId, payWithin: 30 });
      const event = awaiting(orderId);
      expect((await deliver(f.url, event)).status).toBe(204);
      const order = (await request(f.url, 'GET', `/orders/${orderId}`, { token: ada.token })).body as { status: string; paymentDeadline: string };
      expect(order).toMatchObject({ status: 'awaiting_funds', paymentDeadline: (event.data as { deadline: string }).deadline });
    });

    it('GET /accounts/{id}/orders?status=awaiting_funds lists the waiting orders only; an unknown status is 400', async () => {
      const orderId = newId();
      await post({ accountId: bo.id, slotId: slot, orderId, payWithin: 30 }, { token: bo.token });
      await post({ accountId: bo.id, slotId: slot }, { token: bo.token });
      await deliver(f.url, awaiting(orderId, bo.id));
      const res = await request(f.url, 'GET', `/accounts/${bo.id}/orders?status=awaiting_funds`, { token: bo.token });
      expect((res.body as { id: string }[]).map((o) => o.id)).toEqual([orderId]);
      for (const query of ['status=lost', 'status=pending&status=confirmed', 'status[]=awaiting_funds']) {
        expect((await request(f.url, 'GET', `/accounts/${bo.id}/orders?${query}`, { token: bo.token })).status, query).toBe(400);
      }
    });

    it('POST /orders/{id}/cancel asks charge to cancel a waiting order (202, order.cancellation.requested)', async () => {
      const orderId = newId();
      await post({ accountId: ada.id, slotId: slot, orderId, payWithin: 30 });
      await deliver(f.url, awaiting(orderId));
      f.sink.events.length = 0;
      const res = await request(f.url, 'POST', `/orders/${orderId}/cancel`, { token: ada.token });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ id: orderId, status: 'awaiting_funds' });
      expect(f.sink.ofType('order.cancellation.requested').map((e) => e.data)).toEqual([{ orderId, accountId: ada.id }]);
    });

    it.each([
      ['a pending order', async (orderId: string) => orderId],
      ['a cancelled order', async (orderId: string) => (await deliver(f.url, cloudEvent('slot.rejected', { orderId, accountId: ada.id, slotId: slot, seats: 1, amount: 1_500, reason: 'sold_out' })), orderId)],
    ])('POST /orders/{id}/cancel answers 409 with a problem document for %s, and changes nothing', async (_, bring) => {
      const orderId = newId();
      await post({ accountId: ada.id, slotId: slot, orderId, payWithin: 30 });
      await bring(orderId);
      const before = await snapshot(f.db);
      const res = await request(f.url, 'POST', `/orders/${orderId}/cancel`, { token: ada.token });
      expect(res.status).toBe(409);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 409, detail: expect.stringContaining('only an order waiting for funds can be cancelled') });
      expect(await snapshot(f.db)).toEqual(before);
    });

    it("POST /orders/{id}/cancel answers 401 without a token, 404 for another account's order", async () => {
      const { body } = await post({ accountId: ada.id, slotId: slot, payWithin: 30 });
      const id = (body as { id: string }).id;
      expect((await request(f.url, 'POST', `/orders/${id}/cancel`)).status).toBe(401);
      expect((await request(f.url, 'POST', `/orders/${id}/cancel`, { token: bo.token })).status).toBe(404);
    });

    it('with payWithin and Prefer: wait=N, answers 202 with awaiting_funds when N runs out first', async () => {
      const orderId = newId();
      const pending = post({ accountId: ada.id, slotId: slot, orderId, payWithin: 30 }, { prefer: 'wait=1' });
      await new Promise((r) => setTimeout(r, 150));
      await deliver(f.url, awaiting(orderId));
      const res = await pending;
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ id: orderId, status: 'awaiting_funds' });
    });
  });

  describe('PAYMENT_WAIT_SECONDS', () => {
    const waiting = useFunction(placeOrder, { PAYMENT_WAIT_SECONDS: '45' });
    it('is the payWithin of an order that names none', async () => {
      const account = await seedAccount(waiting.db);
      const slotId = await seedSlot(waiting.db, 5, 100);
      const res = await request(waiting.url, 'POST', '/orders', { body: { accountId: account.id, slotId }, token: account.token, headers: { 'idempotency-key': newId() } });
      expect(res.body).toMatchObject({ payWithin: 45 });
      const named = await request(waiting.url, 'POST', '/orders', { body: { accountId: account.id, slotId, payWithin: 0 }, token: account.token, headers: { 'idempotency-key': newId() } });
      expect(named.body).toMatchObject({ payWithin: 0 });
    });
  });

  describe('the reconciler', () => {
    it('on a PingSource tick, publishes the outbox left unpublished and re-drives stalled orders', async () => {
      f.sink.status = 503;
      const { body } = await post({ accountId: ada.id, slotId: slot });
      const id = (body as { id: string }).id;
      f.sink.status = 202;
      expect(f.sink.events).toHaveLength(0);
      await f.db('orders').where({ id }).update({ updated_at: f.db.raw("now() - interval '1 minute'") });
      await f.db('outbox').where({ subject: id }).update({ created_at: f.db.raw("now() - interval '1 minute'") });
      const ping = new CloudEvent({ id: newId(), source: '/apis/v1/namespaces/ordersaga/pingsources/reconciler', type: PING_TYPE, data: { task: 'reconcile' } });
      const res = await deliver(f.url, ping);
      expect(res.status).toBe(204);
      const placed = f.sink.ofType('order.placed').filter((e) => (e.data as { orderId: string }).orderId === id);
      expect(placed.length).toBeGreaterThanOrEqual(1);
      expect(new Set(placed.map((e) => e.id)).size).toBe(1);
      const row = await f.db('outbox').where({ subject: id }).first('published_at');
      expect(row.published_at).not.toBeNull();
    });

    it('drives a stalled order on again only after twice the previous wait', async () => {
      const { body } = await post({ accountId: ada.id, slotId: slot });
      const id = (body as { id: string }).id;
      const placedCount = () => f.sink.ofType('order.placed').filter((e) => (e.data as { orderId: string }).orderId === id).length;
      const tick = () =>
        deliver(f.url, new CloudEvent({ id: newId(), source: '/apis/v1/namespaces/ordersaga/pingsources/reconciler', type: PING_TYPE, data: {} }));
      const before = placedCount();
      // Stalled for a minute (the function here drives orders on after 1 s).
      await f.db('orders').where({ id }).update({ updated_at: f.db.raw("now() - interval '1 minute'") });
      expect((await tick()).status).toBe(204);
      expect(placedCount()).toBe(before + 1);
      const first = await f.db('orders').where({ id }).first('reconcile_attempts', 'reconciled_at');
      expect(first.reconcile_attempts).toBe(1);
      // At once again: nothing, the order was driven on just now.
      await tick();
      expect(placedCount()).toBe(before + 1);
      // 1.5 s later: still nothing, the second drive waits 2 s.
      await f.db('orders').where({ id }).update({ reconciled_at: f.db.raw("now() - interval '1.5 seconds'") });
      await tick();
      expect(placedCount()).toBe(before + 1);
      // 2.5 s later: driven on a second time, and the next wait doubles again.
      await f.db('orders').where({ id }).update({ reconciled_at: f.db.raw("now() - interval '2.5 seconds'") });
      await tick();
      expect(placedCount()).toBe(before + 2);
      expect((await f.db('orders').where({ id }).first('reconcile_attempts')).reconcile_attempts).toBe(2);
    });
  });
});
