import { describe, expect, it } from 'vitest';
import { entityIdFor, newId } from '../../lib/ids.js';

type Account = { id: string; token: string; email: string };
type Movement = { depositId?: string; withdrawalId?: string; accountId: string; amount: number; balance: number };

import { balanceOf, seedAccount, snapshot } from '../../test/fixtures.js';
import { cloudEvent, deliver, request, serveDefinition, unreachable, useFunction } from '../../test/harness.js';
import deposit from './index.js';

describe('deposit', () => {
  const f = useFunction(deposit);

  const move = (
    account: Account,
    kind: 'deposits' | 'withdrawals',
    body: unknown,
    options: { key?: string | null; token?: string } = {},
  ) =>
    request(f.url, 'POST', `/accounts/${account.id}/${kind}`, {
      body,
      token: options.token ?? account.token,
      headers: options.key === null ? {} : { 'idempotency-key': options.key ?? newId() },
    });

  const ledgerOf = (accountId: string) => f.db('ledger').where({ account_id: accountId }).orderBy('created_at').select('kind', 'amount', 'reference');

  /** Invariant 1: the balance is what the ledger says it is. */
  async function ledgerSum(accountId: string): Promise<number> {
    const sign: Record<string, number> = { deposit: 1, refund: 1, withdrawal: -1, charge: -1 };
    return (await ledgerOf(accountId)).reduce((sum, e) => sum + sign[e.kind]! * e.amount, 0);
  }

  describe('POST /accounts/{id}/deposits', () => {
    it('adds the amount, writes one ledger entry, answers 201 and emits account.deposited to K_SINK', async () => {
      const ada = await seedAccount(f.db, 1_000);
      const res = await move(ada, 'deposits', { amount: 2_500 });
      expect(res.status).toBe(201);
      const body = res.body as Movement;
      expect(body).toMatchObject({ accountId: ada.id, amount: 2_500, balance: 3_500 });
      expect(body.depositId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      expect(await balanceOf(f.db, ada.id)).toBe(3_500);
      expect(await ledgerOf(ada.id)).toEqual([
        { kind: 'deposit', amount: 1_000, reference: expect.any(String) },
        { kind: 'deposit', amount: 2_500, reference: body.depositId },
      ]);
      const emitted = f.sink.ofType('account.deposited');
      expect(emitted).toHaveLength(1);
      expect(emitted[0]!.source).toBe('/ordersaga/deposit');
      expect(emitted[0]!.subject).toBe(ada.id);
      expect(emitted[0]!.data).toEqual({ accountId: ada.id, depositId: body.depositId, amount: 2_500, balance: 3_500 });
    });

    it('requires an Idempotency-Key: without one it answers 400 and moves nothing', async () => {
      const ada = await seedAccount(f.db, 100);
      const before = await snapshot(f.db);
      for (const key of [null, '', 'has space', 'k'.repeat(256)]) {
        const res = await move(ada, 'deposits', { amount: 10 }, { key });
        expect(res.status, String(key)).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ detail: expect.stringContaining('Idempotency-Key') });
      }
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('replays the first response for the same key and body, with Idempotent-Replayed, and moves money once', async () => {
      const ada = await seedAccount(f.db);
      const key = newId();
      const first = await move(ada, 'deposits', { amount: 700 }, { key });
      expect(first.status).toBe(201);
      const before = await snapshot(f.db);
      const again = await move(ada, 'deposits', { amount: 700 }, { key });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await snapshot(f.db)).toEqual(before);
      expect(await balanceOf(f.db, ada.id)).toBe(700);
      expect(await ledgerOf(ada.id)).toHaveLength(1);
      expect(f.sink.ofType('account.deposited')).toHaveLength(1);
    });

    it('treats a body with its keys in another order as the same request', async () => {
      const ada = await seedAccount(f.db);
      const key = newId();
      await request(f.url, 'POST', `/accounts/${ada.id}/deposits`, {
        raw: '{"amount": 5}',
        token: ada.token,
        headers: { 'idempotency-key': key },
      });
      const again = await request(f.url, 'POST', `/accounts/${ada.id}/deposits`, {
        raw: '{  "amount":5 }',
        token: ada.token,
        headers: { 'idempotency-key': key },
      });
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await balanceOf(f.db, ada.id)).toBe(5);
    });

    it('answers 422 for the same key with another body or on another route, and changes nothing', async () => {
      const ada = await seedAccount(f.db, 1_000);
      const key = newId();
      await move(ada, 'deposits', { amount: 100 }, { key });
      const before = await snapshot(f.db);
      const otherBody = await move(ada, 'deposits', { amount: 101 }, { key });
      expect(otherBody.status).toBe(422);
      expect(otherBody.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(otherBody.body).toMatchObject({ status: 422, detail: expect.stringContaining('Idempotency-Key') });
      const otherRoute = await move(ada, 'withdrawals', { amount: 100 }, { key });
      expect(otherRoute.status).toBe(422);
      expect(await snapshot(f.db)).toEqual(before);
      expect(await balanceOf(f.db, ada.id)).toBe(1_100);
    });

    it('scopes keys per account: the same key on two accounts moves money on both', async () => {
      const ada = await seedAccount(f.db);
      const bo = await seedAccount(f.db);
      const key = newId();
      const a = await move(ada, 'deposits', { amount: 10 }, { key });
      const b = await move(bo, 'deposits', { amount: 10 }, { key });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(b.headers['idempotent-replayed']).toBeUndefined();
      expect([await balanceOf(f.db, ada.id), await balanceOf(f.db, bo.id)]).toEqual([10, 10]);
    });

    it('concurrent requests with one key move the money once; the others are 409 or replays', async () => {
      const ada = await seedAccount(f.db);
      const key = newId();
      const answers = await Promise.all(Array.from({ length: 8 }, () => move(ada, 'deposits', { amount: 300 }, { key })));
      const fresh = answers.filter((a) => a.status === 201 && a.headers['idempotent-replayed'] === undefined);
      expect(fresh).toHaveLength(1);
      for (const a of answers) {
        if (a.status === 201) expect(a.body).toEqual(fresh[0]!.body);
        else {
          expect(a.status).toBe(409);
          expect(a.body).toMatchObject({ status: 409, detail: expect.stringContaining('still being processed') });
        }
      }
      expect(await balanceOf(f.db, ada.id)).toBe(300);
      expect(await ledgerOf(ada.id)).toHaveLength(1);
      // Once the first has finished, the key replays.
      const later = await move(ada, 'deposits', { amount: 300 }, { key });
      expect(later.headers['idempotent-replayed']).toBe('true');
      expect(later.body).toEqual(fresh[0]!.body);
    });

    it.each([
      ['amount 0', { amount: 0 }],
      ['a negative amount', { amount: -5 }],
      ['a fractional amount', { amount: 1.5 }],
      ['an amount as a string', { amount: '10' }],
      ['a missing amount', {}],
      ['an unknown field', { amount: 10, currency: 'EUR' }],
      ['an amount beyond the limit', { amount: 100_000_000_001 }],
      ['an array', [10]],
      ['null', null],
    ])('refuses %s with a 400 problem document and moves nothing', async (_, body) => {
      const ada = await seedAccount(f.db, 50);
      const before = await snapshot(f.db);
      const res = await move(ada, 'deposits', body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400, detail: expect.any(String) });
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('refuses malformed JSON and a non-JSON body with 400 and moves nothing', async () => {
      const ada = await seedAccount(f.db, 50);
      const before = await snapshot(f.db);
      for (const [raw, type] of [['{"amount":', 'application/json'], ['amount=10', 'application/x-www-form-urlencoded']] as const) {
        const res = await request(f.url, 'POST', `/accounts/${ada.id}/deposits`, {
          raw,
          token: ada.token,
          headers: { 'content-type': type, 'idempotency-key': newId() },
        });
        expect(res.status, raw).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('answers 401 without a token and 404 for another account, moving nothing', async () => {
      const ada = await seedAccount(f.db, 50);
      const bo = await seedAccount(f.db, 50);
      const before = await snapshot(f.db);
      const anonymous = await request(f.url, 'POST', `/accounts/${ada.id}/deposits`, {
        body: { amount: 10 },
        headers: { 'idempotency-key': newId() },
      });
      expect(anonymous.status).toBe(401);
      expect((await move(ada, 'deposits', { amount: 10 }, { token: bo.token })).status).toBe(404);
      expect((await move(ada, 'withdrawals', { amount: 10 }, { token: bo.token })).status).toBe(404);
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('answers 503 while the database is unreachable, and the retry with the same key succeeds once', async () => {
      const ada = await seedAccount(f.db);
      const key = newId();
      const down = await serveDepositWithoutDatabase();
      try {
        const failed = await request(down.url, 'POST', `/accounts/${ada.id}/deposits`, {
          body: { amount: 40 },
          token: ada.token,
          headers: { 'idempotency-key': key },
        });
        expect(failed.status).toBe(503);
        expect(failed.text).not.toMatch(/ECONNREFUSED|insert|select/i);
      } finally {
        await down.close();
      }
      const retried = await move(ada, 'deposits', { amount: 40 }, { key });
      expect(retried.status).toBe(201);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      expect(await balanceOf(f.db, ada.id)).toBe(40);
    });
  });

  describe('POST /accounts/{id}/withdrawals', () => {
    it('takes the amount out, writes a withdrawal entry, answers 201 and emits account.withdrawn', async () => {
      const ada = await seedAccount(f.db, 1_000);
      const res = await move(ada, 'withdrawals', { amount: 400 });
      expect(res.status).toBe(201);
      const body = res.body as Movement;
      expect(body).toMatchObject({ accountId: ada.id, amount: 400, balance: 600 });
      expect(body.withdrawalId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await balanceOf(f.db, ada.id)).toBe(600);
      expect((await ledgerOf(ada.id)).filter((e) => e.kind === 'withdrawal')).toEqual([
        { kind: 'withdrawal', amount: 400, reference: body.withdrawalId },
      ]);
      expect(f.sink.ofType('account.withdrawn').map((e) => e.data)).toEqual([
        { accountId: ada.id, withdrawalId: body.withdrawalId, amount: 400, balance: 600 },
      ]);
    });

    it('may take the whole balance, down to 0', async () => {
      const ada = await seedAccount(f.db, 250);
      const res = await move(ada, 'withdrawals', { amount: 250 });
      expect(res.status).toBe(201);
      expect(await balanceOf(f.db, ada.id)).toBe(0);
    });

    it('answers 409 with a problem document when the balance is short, and moves nothing', async () => {
      const ada = await seedAccount(f.db, 100);
      const res = await move(ada, 'withdrawals', { amount: 101 });
      expect(res.status).toBe(409);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'about:blank', title: 'Conflict', status: 409, detail: expect.stringContaining('101') });
      expect(await balanceOf(f.db, ada.id)).toBe(100);
      expect((await ledgerOf(ada.id)).filter((e) => e.kind === 'withdrawal')).toEqual([]);
      expect(f.sink.ofType('account.withdrawn')).toEqual([]);
    });

    it('replays the 409 refusal for its key, even after the balance has grown', async () => {
      const ada = await seedAccount(f.db, 100);
      const key = newId();
      const refused = await move(ada, 'withdrawals', { amount: 150 }, { key });
      expect(refused.status).toBe(409);
      await move(ada, 'deposits', { amount: 100 });
      const again = await move(ada, 'withdrawals', { amount: 150 }, { key });
      expect(again.status).toBe(409);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(again.body).toEqual(refused.body);
      expect(await balanceOf(f.db, ada.id)).toBe(200);
      // A new key is a new request, and now it is covered.
      expect((await move(ada, 'withdrawals', { amount: 150 })).status).toBe(201);
    });

    it('replays a withdrawal for the same key and takes the money once', async () => {
      const ada = await seedAccount(f.db, 500);
      const key = newId();
      const first = await move(ada, 'withdrawals', { amount: 200 }, { key });
      const again = await move(ada, 'withdrawals', { amount: 200 }, { key });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await balanceOf(f.db, ada.id)).toBe(300);
    });

    it('concurrent withdrawals with one key take the money once', async () => {
      const ada = await seedAccount(f.db, 1_000);
      const key = newId();
      const answers = await Promise.all(Array.from({ length: 8 }, () => move(ada, 'withdrawals', { amount: 100 }, { key })));
      expect(answers.filter((a) => a.status === 201 && a.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
      expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
      expect(await balanceOf(f.db, ada.id)).toBe(900);
    });

    it.each([
      ['amount 0', { amount: 0 }],
      ['a negative amount', { amount: -1 }],
      ['a fractional amount', { amount: 0.5 }],
      ['an amount as a string', { amount: '10' }],
      ['a missing amount', {}],
      ['an unknown field', { amount: 1, to: 'elsewhere' }],
    ])('refuses %s with 400 and moves nothing', async (_, body) => {
      const ada = await seedAccount(f.db, 50);
      const before = await snapshot(f.db);
      const res = await move(ada, 'withdrawals', body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ status: 400 });
      expect(await snapshot(f.db)).toEqual(before);
    });
  });

  describe('under concurrency', () => {
    it('concurrent deposits and withdrawals never overdraw, and the balance equals the ledger sum', async () => {
      const ada = await seedAccount(f.db, 100);
      const requests = [
        ...Array.from({ length: 12 }, () => move(ada, 'withdrawals', { amount: 30 })),
        ...Array.from({ length: 6 }, () => move(ada, 'deposits', { amount: 10 })),
      ];
      const answers = await Promise.all(requests);
      const withdrawals = answers.slice(0, 12);
      const deposits = answers.slice(12);
      expect(deposits.map((a) => a.status)).toEqual(Array(6).fill(201));
      expect(withdrawals.every((a) => a.status === 201 || a.status === 409)).toBe(true);
      const taken = withdrawals.filter((a) => a.status === 201).length;
      // 100 + 60 covers five withdrawals of 30 at most, and at least the three the start covers.
      expect(taken).toBeGreaterThanOrEqual(3);
      expect(taken).toBeLessThanOrEqual(5);
      const balance = await balanceOf(f.db, ada.id);
      expect(balance).toBe(100 + 60 - 30 * taken);
      expect(balance).toBeGreaterThanOrEqual(0);
      expect(await ledgerSum(ada.id)).toBe(balance);
      // Every answer reported a balance that was true at some moment: never below 0.
      for (const a of answers.filter((x) => x.status === 201)) expect((a.body as Movement).balance).toBeGreaterThanOrEqual(0);
    });

    it('many concurrent withdrawals against one balance take exactly what it covers', async () => {
      const ada = await seedAccount(f.db, 100);
      const answers = await Promise.all(Array.from({ length: 20 }, () => move(ada, 'withdrawals', { amount: 30 })));
      expect(answers.filter((a) => a.status === 201)).toHaveLength(3);
      expect(answers.filter((a) => a.status === 409)).toHaveLength(17);
      expect(await balanceOf(f.db, ada.id)).toBe(10);
      expect(await ledgerSum(ada.id)).toBe(10);
    });
  });

  describe('deposit.requested', () => {
    it('adds the amount under the depositId given and replies account.deposited', async () => {
      const ada = await seedAccount(f.db, 100);
      const depositId = newId();
      const res = await deliver(f.url, cloudEvent('deposit.requested', { accountId: ada.id, amount: 900, depositId }));
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.account.deposited');
      expect(res.event?.source).toBe('/ordersaga/deposit');
      expect(res.event?.subject).toBe(ada.id);
      expect(res.event?.dataschema).toBe('https://ordersaga.dev/events/account.deposited.json');
      expect(res.event?.data).toEqual({ accountId: ada.id, depositId, amount: 900, balance: 1_000 });
      expect(await balanceOf(f.db, ada.id)).toBe(1_000);
      expect((await ledgerOf(ada.id)).at(-1)).toEqual({ kind: 'deposit', amount: 900, reference: depositId });
      // A reply is the Broker's to publish, not K_SINK's.
      expect(f.sink.events).toEqual([]);
    });

    it('without a depositId, uses the one derived from (source, id); structured mode works too', async () => {
      const ada = await seedAccount(f.db);
      const command = cloudEvent('deposit.requested', { accountId: ada.id, amount: 50 });
      const res = await deliver(f.url, command, 'structured');
      expect(res.status).toBe(200);
      expect(res.event?.data).toMatchObject({ depositId: entityIdFor('deposit', command), balance: 50 });
    });

    it('concurrent duplicates deposit once, all answered 200 with one reply', async () => {
      const ada = await seedAccount(f.db);
      const command = cloudEvent('deposit.requested', { accountId: ada.id, amount: 60 });
      const answers = await Promise.all(Array.from({ length: 8 }, () => deliver(f.url, command)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(new Set(answers.map((a) => a.event?.id)).size).toBe(1);
      expect(await balanceOf(f.db, ada.id)).toBe(60);
      expect(await ledgerOf(ada.id)).toHaveLength(1);
    });

    it('another command carrying the same depositId deposits nothing more', async () => {
      const ada = await seedAccount(f.db);
      const depositId = newId();
      await deliver(f.url, cloudEvent('deposit.requested', { accountId: ada.id, amount: 20, depositId }));
      const again = await deliver(f.url, cloudEvent('deposit.requested', { accountId: ada.id, amount: 20, depositId }));
      expect(again.status).toBeLessThan(300);
      expect(again.event).toBeUndefined();
      expect(await balanceOf(f.db, ada.id)).toBe(20);
      expect(await ledgerOf(ada.id)).toHaveLength(1);
    });

    it('a deposit to an unknown account is refused with 400 (final) and changes nothing', async () => {
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('deposit.requested', { accountId: newId(), amount: 10 }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ status: 400, detail: expect.stringContaining('No account') });
      expect(await snapshot(f.db)).toEqual(before);
    });

    it.each([
      ['amount 0', { amount: 0 }],
      ['a fractional amount', { amount: 2.5 }],
      ['an amount as a string', { amount: '10' }],
      ['an unknown field', { amount: 10, note: 'x' }],
      ['a non-uuid depositId', { amount: 10, depositId: 'd-1' }],
    ])('answers 400 (final) for data with %s and changes nothing', async (_, change) => {
      const ada = await seedAccount(f.db, 10);
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('deposit.requested', { accountId: ada.id, ...change } as never));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('answers 400 for an event type it does not handle, and changes nothing', async () => {
      const ada = await seedAccount(f.db, 10);
      const before = await snapshot(f.db);
      const res = await deliver(f.url, cloudEvent('account.requested', { email: 'x@example.com', name: 'X' }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ detail: expect.stringContaining('dev.ordersaga.deposit.requested') });
      expect(await balanceOf(f.db, ada.id)).toBe(10);
      expect(await snapshot(f.db)).toEqual(before);
    });
  });

  /** The deposit function over a database nobody listens for. */
  const serveDepositWithoutDatabase = () => serveDefinition(deposit, { DATABASE_URL: unreachable(f.databaseUrl) });
});
