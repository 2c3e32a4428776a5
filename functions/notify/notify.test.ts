import { beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { type Mailer } from '../../lib/mailer.js';
import type { OrderCancelled, OrderConfirmed } from '../../events/index.js';

type Account = { id: string; token: string; email: string };
type Notification = { id: string; orderId: string; type: string; to: string; subject: string; body: string; status: string; messageId: string; createdAt: string };

import { seedAccount, snapshot } from '../../test/fixtures.js';
import { cloudEvent, deliver, request, useFunction } from '../../test/harness.js';
import notify from './index.js';

describe('notify', () => {
  /** How many letters were handed to the mailer: in SES mode, each is an email sent. */
  let handed = 0;
  /** How many of the next letters the mailer fails on, as SES does when it is down. */
  let failing = 0;
  const counted: typeof notify = {
    ...notify,
    async setup(rt, config) {
      const { mailer } = await notify.setup(rt, config);
      const send: Mailer['send'] = (letter, onDryRun) => {
        handed += 1;
        if (failing > 0) return (failing -= 1), Promise.reject(new Error('SES is unavailable'));
        return mailer.send(letter, onDryRun);
      };
      return { mailer: { send } };
    },
  };
  const f = useFunction(counted);
  beforeEach(() => {
    handed = 0;
    failing = 0;
  });
  /**
   * Expects no letter lock held by any connection once deliveries have answered (a failed delivery's connection
   * is closed, and its server process lets the lock go as it exits, a moment later).
   */
  const noLockHeld = () =>
    expect.poll(async () => Number((await f.db.raw("select count(*) as n from pg_locks where locktype = 'advisory'")).rows[0].n), { timeout: 2000 }).toBe(0);

  const confirmed = (account: Account, amount = 3_000, seats = 1): OrderConfirmed => ({
    orderId: newId(),
    accountId: account.id,
    slotId: newId(),
    seats,
    amount,
  });
  const cancelled = (account: Account, reason: OrderCancelled['reason']): OrderCancelled => ({ ...confirmed(account), reason });
  const lettersOf = (orderId: string) => f.db('notifications').where({ order_id: orderId });

  describe('order.confirmed', () => {
    it('records the happy letter to the account email in dry-run mode and replies notification.sent', async () => {
      const ada = await seedAccount(f.db);
      const order = confirmed(ada, 6_000, 2);
      const res = await deliver(f.url, cloudEvent('order.confirmed', order, { subject: order.orderId }));
      expect(res.status).toBe(200);
      const [letter, ...others] = await lettersOf(order.orderId);
      expect(others).toEqual([]);
      expect(letter).toMatchObject({
        account_id: ada.id,
        letter: 'happy',
        to: ada.email,
        status: 'dry-run',
        subject: expect.stringContaining(order.orderId),
        body: expect.stringContaining(order.orderId),
      });
      expect(letter.subject).toMatch(/confirmed/);
      expect(letter.body).toContain('Hello Test Customer');
      expect(letter.body).toContain('Seats: 2');
      expect(letter.body).toContain('60.00');
      expect(letter.message_id).toMatch(/^dry-run-\S+$/);
      expect(res.event?.type).toBe('dev.ordersaga.notification.sent');
      expect(res.event?.source).toBe('/ordersaga/notify');
      expect(res.event?.subject).toBe(order.orderId);
      expect(res.event?.data).toEqual({
        notificationId: letter.id,
        orderId: order.orderId,
        accountId: ada.id,
        letter: 'happy',
        messageId: letter.message_id,
        status: 'dry-run',
      });
      expect(handed).toBe(1);
    });

    it('accepts structured mode too', async () => {
      const ada = await seedAccount(f.db);
      const res = await deliver(f.url, cloudEvent('order.confirmed', confirmed(ada)), 'structured');
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.notification.sent');
    });
  });

  describe('order.cancelled', () => {
    it.each([
      ['sold_out', 'the slot is sold out'],
      ['unknown_slot', 'the slot you asked for does not exist'],
      ['insufficient_funds', 'your balance did not cover the amount'],
    ] as const)('records the sorrow letter saying why (%s) and replies notification.sent', async (reason, why) => {
      const bo = await seedAccount(f.db);
      const order = cancelled(bo, reason);
      const res = await deliver(f.url, cloudEvent('order.cancelled', order));
      expect(res.status).toBe(200);
      const [letter] = await lettersOf(order.orderId);
      expect(letter).toMatchObject({ letter: 'sorrow', to: bo.email, status: 'dry-run' });
      expect(letter.subject).toContain(order.orderId);
      expect(letter.subject).toMatch(/cancelled/);
      expect(letter.body).toContain(why);
      expect(letter.body).toContain(reason);
      expect(letter.body).toContain('Nothing was charged');
      expect(res.event?.data).toMatchObject({ orderId: order.orderId, letter: 'sorrow', status: 'dry-run', messageId: letter.message_id });
    });
  });

  describe('duplicates', () => {
    it('concurrent duplicates of one delivery write one letter, all answered 200 with one reply', async () => {
      const ada = await seedAccount(f.db);
      const order = confirmed(ada);
      const event = cloudEvent('order.confirmed', order);
      const answers = await Promise.all(Array.from({ length: 8 }, () => deliver(f.url, event)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(new Set(answers.map((a) => a.event?.id)).size).toBe(1);
      expect(await lettersOf(order.orderId)).toHaveLength(1);
      expect(handed).toBe(1);
      await noLockHeld();
    });

    it("the same order's outcome under another event id writes no second letter", async () => {
      const ada = await seedAccount(f.db);
      const order = confirmed(ada);
      await deliver(f.url, cloudEvent('order.confirmed', order));
      const again = await deliver(f.url, cloudEvent('order.confirmed', order));
      expect(again.status).toBeLessThan(300);
      expect(again.event).toBeUndefined();
      const late = await deliver(f.url, cloudEvent('order.cancelled', { ...order, reason: 'sold_out' }));
      expect(late.status).toBeLessThan(300);
      expect(await lettersOf(order.orderId)).toEqual([expect.objectContaining({ letter: 'happy' })]);
      expect(handed).toBe(1);
      await noLockHeld();
    });

    it("the same order's outcome under different event ids at once hands one letter to the mailer", async () => {
      const ada = await seedAccount(f.db);
      const order = confirmed(ada);
      const answers = await Promise.all(Array.from({ length: 6 }, () => deliver(f.url, cloudEvent('order.confirmed', order))));
      expect(answers.every((a) => a.status < 300 || a.status >= 500)).toBe(true);
      expect(answers.filter((a) => a.event?.type === 'dev.ordersaga.notification.sent')).toHaveLength(1);
      expect(await lettersOf(order.orderId)).toHaveLength(1);
      expect(handed).toBe(1);
      await noLockHeld();
    });

    it('a redelivery after the mailer failed sends the letter: the failed delivery wrote nothing and held on to no lock', async () => {
      const ada = await seedAccount(f.db);
      const order = confirmed(ada);
      const event = cloudEvent('order.confirmed', order);
      failing = 1;
      const failed = await deliver(f.url, event);
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(await lettersOf(order.orderId)).toEqual([]);
      expect(await f.db('inbox').where({ consumer: 'notify', id: event.id })).toEqual([]);
      await noLockHeld();
      const again = await deliver(f.url, event);
      expect(again.status).toBe(200);
      expect(again.event?.type).toBe('dev.ordersaga.notification.sent');
      expect(await lettersOf(order.orderId)).toHaveLength(1);
      expect(handed).toBe(2);
      await noLockHeld();
    });

    it('while one delivery holds the letter, another for the same order waits, then answers without a second letter', async () => {
      const ada = await seedAccount(f.db);
      const order = confirmed(ada);
      const holder = await f.db.client.acquireConnection();
      try {
        // Another connection holds the order's letter lock, as a delivery between its two statements does.
        await f.db.raw('select pg_advisory_lock(notify_lock_key(?))', [order.orderId]).connection(holder);
        const waiting = deliver(f.url, cloudEvent('order.confirmed', order));
        await new Promise((r) => setTimeout(r, 200));
        expect(await lettersOf(order.orderId)).toEqual([]);
        await f.db.raw('select pg_advisory_unlock(notify_lock_key(?))', [order.orderId]).connection(holder);
        expect((await waiting).status).toBe(200);
      } finally {
        await f.db.client.releaseConnection(holder);
      }
      expect(await lettersOf(order.orderId)).toHaveLength(1);
      await noLockHeld();
    });
  });

  describe('refusals', () => {
    it('an outcome for an unknown account is refused with 400 (final) and writes nothing', async () => {
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('order.confirmed', { orderId: newId(), accountId: newId(), slotId: newId(), seats: 1, amount: 1 }));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await snapshot(f.db)).toEqual(before);
      await noLockHeld();
    });

    it.each([
      ['order.cancelled without a reason', 'order.cancelled', { reason: undefined }],
      ['order.cancelled with an unknown reason', 'order.cancelled', { reason: 'changed_my_mind' }],
      ['order.confirmed with seats 0', 'order.confirmed', { seats: 0 }],
      ['order.confirmed with an unknown field', 'order.confirmed', { reason: 'sold_out' }],
    ] as const)('answers 400 (final) for %s and writes nothing', async (_, name, change) => {
      const ada = await seedAccount(f.db);
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent(name, { ...cancelled(ada, 'sold_out'), ...(name === 'order.confirmed' ? { reason: undefined } : {}), ...change } as never));
      expect(res.status).toBe(400);
      expect(await snapshot(f.db)).toEqual(before);
      expect(handed).toBe(0);
    });

    it('answers 400 for an event type it does not handle', async () => {
      const ada = await seedAccount(f.db);
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('payment.charged', { ...confirmed(ada), balance: 0 }));
      expect(res.status).toBe(400);
      expect(await snapshot(f.db)).toEqual(before);
    });
  });

  describe('GET /accounts/{id}/notifications', () => {
    it("lists the account's letters, oldest first, with the fields of the spec", async () => {
      const ada = await seedAccount(f.db);
      const bo = await seedAccount(f.db);
      const first = confirmed(ada, 1_500);
      const second = cancelled(ada, 'insufficient_funds');
      const third = confirmed(ada, 4_500);
      for (const [name, data] of [['order.confirmed', first], ['order.cancelled', second], ['order.confirmed', third]] as const) {
        expect((await deliver(f.url, cloudEvent(name, data as never))).status).toBe(200);
      }
      await deliver(f.url, cloudEvent('order.confirmed', confirmed(bo)));
      const res = await request(f.url, 'GET', `/accounts/${ada.id}/notifications`, { token: ada.token });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const list = res.body as Notification[];
      expect(list.map((n) => [n.orderId, n.type])).toEqual([
        [first.orderId, 'happy'],
        [second.orderId, 'sorrow'],
        [third.orderId, 'happy'],
      ]);
      for (const n of list) {
        expect(Object.keys(n).sort()).toEqual(['body', 'createdAt', 'id', 'messageId', 'orderId', 'status', 'subject', 'to', 'type']);
        expect(n).toMatchObject({ to: ada.email, status: 'dry-run', messageId: expect.stringMatching(/^dry-run-/) });
        expect(n.subject).toContain(n.orderId);
        expect(new Date(n.createdAt).toISOString()).toBe(n.createdAt);
      }
      const times = list.map((n) => Date.parse(n.createdAt));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it('answers an empty list for an account without letters', async () => {
      const cy = await seedAccount(f.db);
      const res = await request(f.url, 'GET', `/accounts/${cy.id}/notifications`, { token: cy.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual([]);
    });

    it("answers 401 without or with a bad token, and 404 for another account's letters or a non-UUID id", async () => {
      const ada = await seedAccount(f.db);
      const bo = await seedAccount(f.db);
      await deliver(f.url, cloudEvent('order.confirmed', confirmed(ada)));
      const path = `/accounts/${ada.id}/notifications`;
      const anonymous = await request(f.url, 'GET', path);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await request(f.url, 'GET', path, { token: `v1.${ada.id}.${'A'.repeat(43)}` })).status).toBe(401);
      expect((await request(f.url, 'GET', path, { token: `${ada.token.slice(0, -3)}abc` })).status).toBe(401);
      const foreign = await request(f.url, 'GET', path, { token: bo.token });
      expect(foreign.status).toBe(404);
      expect(foreign.text).not.toContain(ada.email);
      expect((await request(f.url, 'GET', '/accounts/ada/notifications', { token: ada.token })).status).toBe(404);
    });
  });
});
