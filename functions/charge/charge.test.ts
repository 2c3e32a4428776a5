import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import type { SlotReserved } from '../../events/index.js';

import { balanceOf, seedAccount, seedSlot, snapshot } from '../../test/fixtures.js';
import { cloudEvent, deliver, deliverAll, expectReply, useFunction } from '../../test/harness.js';
import charge from './index.js';

describe('charge', () => {
  const f = useFunction(charge);
  let slotId: string;
  beforeAll(async () => {
    slotId = await seedSlot(f.db, 1_000, 30);
  });

  function reserved(accountId: string, amount: number, seats = 1): SlotReserved {
    return { orderId: newId(), accountId, slotId, seats, amount };
  }

  const chargesOf = (accountId: string) => f.db('ledger').where({ account_id: accountId, kind: 'charge' }).select('amount', 'reference');

  describe('slot.reserved', () => {
    it('a declined order stays declined: a later delivery under a new event id charges nothing, even after a deposit', async () => {
      const ada = await seedAccount(f.db, 10);
      const order = reserved(ada.id, 30);
      const first = await deliver(f.url, cloudEvent('slot.reserved', order));
      expect(first.event?.type).toBe('dev.ordersaga.payment.declined');
      await f.db('balances').where({ account_id: ada.id }).update({ balance: 100 });
      await f.db('ledger').insert({ id: newId(), account_id: ada.id, kind: 'deposit', amount: 90, reference: newId() });
      const again = await deliver(f.url, cloudEvent('slot.reserved', order));
      expect(again.status).toBe(204);
      expect(await balanceOf(f.db, ada.id)).toBe(100);
      expect(await chargesOf(ada.id)).toEqual([]);
    });

    it('charges the amount, writes one charge to the ledger and replies payment.charged with the new balance', async () => {
      const ada = await seedAccount(f.db, 10_000);
      const order = reserved(ada.id, 6_000, 2);
      const res = await deliver(f.url, cloudEvent('slot.reserved', order, { subject: order.orderId }));
      expectReply(res, 'payment.charged', 'charge', order.orderId);
      expect(res.event?.data).toEqual({ ...order, balance: 4_000 });
      expect(await balanceOf(f.db, ada.id)).toBe(4_000);
      expect(await chargesOf(ada.id)).toEqual([{ amount: 6_000, reference: order.orderId }]);
      // Events-only function: its outcome is the reply, nothing goes to K_SINK.
      expect(f.sink.events).toEqual([]);
    });

    it('charges the whole balance, down to 0', async () => {
      const ada = await seedAccount(f.db, 30);
      const res = await deliver(f.url, cloudEvent('slot.reserved', reserved(ada.id, 30)));
      expect(res.event?.type).toBe('dev.ordersaga.payment.charged');
      expect(res.event?.data).toMatchObject({ balance: 0 });
      expect(await balanceOf(f.db, ada.id)).toBe(0);
    });

    it('accepts structured mode too', async () => {
      const ada = await seedAccount(f.db, 100);
      const res = await deliver(f.url, cloudEvent('slot.reserved', reserved(ada.id, 10)), 'structured');
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.payment.charged');
    });

    it('declines with insufficient_funds when the balance is short, and moves nothing', async () => {
      const ada = await seedAccount(f.db, 29);
      const order = reserved(ada.id, 30);
      const res = await deliver(f.url, cloudEvent('slot.reserved', order));
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.payment.declined');
      expect(res.event?.subject).toBe(order.orderId);
      expect(res.event?.data).toEqual({ ...order, reason: 'insufficient_funds' });
      expect(await balanceOf(f.db, ada.id)).toBe(29);
      expect(await chargesOf(ada.id)).toEqual([]);
    });

    it('declines an order for an account that does not exist', async () => {
      const order = reserved(newId(), 30);
      const res = await deliver(f.url, cloudEvent('slot.reserved', order));
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.payment.declined');
      expect(await f.db('ledger').where({ reference: order.orderId }).count()).toEqual([{ count: 0 }]);
    });

    it('a redelivered decline replies the same payment.declined, even after a deposit', async () => {
      const ada = await seedAccount(f.db, 10);
      const event = cloudEvent('slot.reserved', reserved(ada.id, 30));
      const first = await deliver(f.url, event);
      expect(first.event?.type).toBe('dev.ordersaga.payment.declined');
      await f.db('balances').where({ account_id: ada.id }).update({ balance: 1_000 });
      const second = await deliver(f.url, event);
      expect(second.event?.id).toBe(first.event?.id);
      expect(second.event?.type).toBe('dev.ordersaga.payment.declined');
      expect(await balanceOf(f.db, ada.id)).toBe(1_000);
    });

    it('concurrent duplicates of one delivery charge once, all answered 200 (never 409) with one reply', async () => {
      const ada = await seedAccount(f.db, 100);
      const event = cloudEvent('slot.reserved', reserved(ada.id, 30));
      const answers = await Promise.all(Array.from({ length: 10 }, () => deliver(f.url, event)));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      expect(new Set(answers.map((a) => a.event?.id)).size).toBe(1);
      expect(answers[0]!.event?.type).toBe('dev.ordersaga.payment.charged');
      expect(await balanceOf(f.db, ada.id)).toBe(70);
      expect(await chargesOf(ada.id)).toHaveLength(1);
    });

    it('the same order under a different event id charges once, and never answers 409', async () => {
      const ada = await seedAccount(f.db, 100);
      const order = reserved(ada.id, 30);
      const first = await deliver(f.url, cloudEvent('slot.reserved', order));
      expect(first.event?.type).toBe('dev.ordersaga.payment.charged');
      const again = await deliver(f.url, cloudEvent('slot.reserved', order));
      expect(again.status).toBeLessThan(300);
      expect(again.event?.type).not.toBe('dev.ordersaga.payment.declined');
      expect(await balanceOf(f.db, ada.id)).toBe(70);
      expect(await chargesOf(ada.id)).toHaveLength(1);
    });

    it('the same order under different event ids at once charges once and is never also declined', async () => {
      // The balance covers the order once: a second charge attempt must see the first, not a short balance.
      const ada = await seedAccount(f.db, 30);
      const order = reserved(ada.id, 30);
      const answers = await Promise.all(Array.from({ length: 8 }, () => deliver(f.url, cloudEvent('slot.reserved', order))));
      expect(answers.every((a) => a.status < 300 || a.status >= 500)).toBe(true);
      expect(answers.filter((a) => a.event?.type === 'dev.ordersaga.payment.charged')).toHaveLength(1);
      expect(answers.filter((a) => a.event?.type === 'dev.ordersaga.payment.declined')).toEqual([]);
      expect(await balanceOf(f.db, ada.id)).toBe(0);
      expect(await chargesOf(ada.id)).toHaveLength(1);
    });

    it('20 concurrent orders of 30 against a balance of 100: exactly 3 charged, 17 declined, never negative', async () => {
      const ada = await seedAccount(f.db, 100);
      const orders = Array.from({ length: 20 }, () => reserved(ada.id, 30));
      const { 'payment.charged': charged = [], 'payment.declined': declined = [] } = await deliverAll(f.url, orders.map((o) => cloudEvent('slot.reserved', o)));
      expect(charged).toHaveLength(3);
      expect(declined).toHaveLength(17);
      expect(charged.map((a) => (a.event?.data as { balance: number }).balance).sort((x, y) => x - y)).toEqual([10, 40, 70]);
      expect(await balanceOf(f.db, ada.id)).toBe(10);
      const charges = await chargesOf(ada.id);
      expect(charges.map((c) => c.reference).sort()).toEqual(charged.map((a) => (a.event?.data as SlotReserved).orderId).sort());
      // Invariant 1: the ledger explains the balance.
      const ledger = await f.db('ledger').where({ account_id: ada.id }).select('kind', 'amount');
      expect(ledger.reduce((sum, e) => sum + (e.kind === 'deposit' ? e.amount : -e.amount), 0)).toBe(10);
    });

    it('a free order (amount 0) is charged without a ledger entry', async () => {
      const ada = await seedAccount(f.db, 0);
      const res = await deliver(f.url, cloudEvent('slot.reserved', reserved(ada.id, 0)));
      expect(res.event?.type).toBe('dev.ordersaga.payment.charged');
      expect(res.event?.data).toMatchObject({ amount: 0, balance: 0 });
      expect(await f.db('ledger').where({ account_id: ada.id }).count()).toEqual([{ count: 0 }]);
    });

    it.each([
      ['a negative amount', { amount: -30 }],
      ['a fractional amount', { amount: 30.5 }],
      ['an amount as a string', { amount: '30' }],
      ['a non-uuid accountId', { accountId: 'ada' }],
      ['an unknown field', { balance: 100 }],
    ])('answers 400 (final) for data with %s and changes nothing', async (_, change) => {
      const ada = await seedAccount(f.db, 100);
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('slot.reserved', { ...reserved(ada.id, 30), ...change } as never));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.event).toBeUndefined();
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('answers 400 for an event type it does not handle, and changes nothing', async () => {
      const ada = await seedAccount(f.db, 100);
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('order.placed', reserved(ada.id, 30)));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ detail: expect.stringContaining('dev.ordersaga.slot.reserved') });
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('answers 400 for data that is not JSON, and changes nothing', async () => {
      const before = await snapshot(f.db);
      const res = await fetch(f.url, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': newId(),
          'ce-source': '/test/producer',
          'ce-type': 'dev.ordersaga.slot.reserved',
          'content-type': 'text/plain',
        },
        body: 'thirty',
      });
      expect(res.status).toBe(400);
      expect(await snapshot(f.db)).toEqual(before);
    });
  });

  it('serves no REST routes', async () => {
    const res = await fetch(`${f.url}/accounts`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
