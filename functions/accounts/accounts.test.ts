import { describe, expect, it } from 'vitest';
import { entityIdFor } from '../../lib/ids.js';

import { seedAccount, snapshot } from '../../test/fixtures.js';
import { cloudEvent, deliver, request, serveDefinition, unreachable, useFunction } from '../../test/harness.js';
import accounts from './index.js';

describe('accounts', () => {
  const f = useFunction(accounts);

  describe('POST /accounts', () => {
    it('opens an account with balance 0 and a token, and emits account.created to K_SINK', async () => {
      const res = await request(f.url, 'POST', '/accounts', { body: { email: 'ada@example.com', name: 'Ada' } });
      expect(res.status).toBe(201);
      const body = res.body as { id: string; token: string; balance: number; email: string };
      expect(body).toMatchObject({ email: 'ada@example.com', name: 'Ada', balance: 0 });
      expect(body.token).toMatch(/^v1\./);
      expect(res.headers.location).toBe(`/accounts/${body.id}`);
      expect(f.sink.ofType('account.created')).toHaveLength(1);
      expect(f.sink.events[0]!.source).toBe('/ordersaga/accounts');
      expect(f.sink.events[0]!.subject).toBe(body.id);
      const published = await f.db('outbox').where({ subject: body.id }).first('published_at');
      expect(published.published_at).not.toBeNull();
    });

    it('keeps the event in the outbox, unpublished, when the Broker is down', async () => {
      f.sink.status = 503;
      const res = await request(f.url, 'POST', '/accounts', { body: { email: 'bob@example.com', name: 'Bob' } });
      expect(res.status).toBe(201);
      const row = await f.db('outbox').where({ subject: (res.body as { id: string }).id }).first('published_at');
      expect(row.published_at).toBeNull();
    });

    it.each([
      ['a missing name', { email: 'x@example.com' }],
      ['a bad email', { email: 'not-an-email', name: 'X' }],
      ['an unknown field', { email: 'x@example.com', name: 'X', admin: true }],
      ['a wrong type', { email: 'x@example.com', name: 42 }],
      ['an array', [1, 2]],
    ])('refuses %s with a 400 problem document and changes nothing', async (_, body) => {
      const before = await snapshot(f.db);
      const res = await request(f.url, 'POST', '/accounts', { body });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, title: 'Bad Request' });
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('refuses malformed JSON, a non-JSON body and an empty body with 400', async () => {
      for (const [raw, type] of [['{"email":', 'application/json'], ['email=x', 'text/plain'], ['', 'application/json']] as const) {
        const res = await request(f.url, 'POST', '/accounts', { raw, headers: { 'content-type': type } });
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.text).not.toMatch(/at |node_modules|SyntaxError/);
      }
    });

    it('refuses a body over 64 KiB with a 400 problem document', async () => {
      const res = await request(f.url, 'POST', '/accounts', { body: { email: 'x@example.com', name: 'x'.repeat(70_000) } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ detail: expect.stringContaining('65536') });
    });

    it('answers 404 and 405 problem documents for unknown routes and methods', async () => {
      expect((await request(f.url, 'GET', '/nope')).status).toBe(404);
      const res = await request(f.url, 'GET', '/accounts');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
    });
  });

  describe('GET /accounts/{id}', () => {
    it('shows the account with its balance to its own token', async () => {
      const ada = await seedAccount(f.db, 2_500);
      const res = await request(f.url, 'GET', `/accounts/${ada.id}`, { token: ada.token });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ id: ada.id, email: ada.email, name: 'Test Customer', balance: 2_500 });
    });

    it('answers 401 without a token, with a forged token and with a tampered token', async () => {
      const ada = await seedAccount(f.db);
      const bo = await seedAccount(f.db);
      const signature = ada.token.split('.')[2]!;
      const flipped = signature.slice(0, -2) + (signature.at(-2) === 'A' ? 'B' : 'A') + signature.at(-1);
      const tampered = [
        undefined,
        `v1.${ada.id}.${'A'.repeat(43)}`,
        `v1.${ada.id}.${flipped}`,
        // bo's signature on ada's id
        `v1.${ada.id}.${bo.token.split('.')[2]}`,
        ada.token.toUpperCase(),
        'not-a-token',
      ];
      for (const token of tampered) {
        const res = await request(f.url, 'GET', `/accounts/${ada.id}`, token === undefined ? {} : { token });
        expect(res.status, `token ${token}`).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized', detail: expect.stringContaining('token') });
      }
      const basic = await request(f.url, 'GET', `/accounts/${ada.id}`, { headers: { authorization: `Basic ${ada.token}` } });
      expect(basic.status).toBe(401);
    });

    it("answers 404 for another account's id, as if it did not exist", async () => {
      const ada = await seedAccount(f.db);
      const bo = await seedAccount(f.db);
      const res = await request(f.url, 'GET', `/accounts/${bo.id}`, { token: ada.token });
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.text).not.toContain(bo.email);
    });

    it('answers 404 for an id that is not a UUID', async () => {
      const ada = await seedAccount(f.db);
      for (const id of ['42', 'me', `${ada.id}x`]) {
        const res = await request(f.url, 'GET', `/accounts/${id}`, { token: ada.token });
        expect(res.status, id).toBe(404);
        expect(res.body).toMatchObject({ status: 404 });
      }
    });

    it('answers 503 while the database is unreachable', async () => {
      const ada = await seedAccount(f.db);
      const down = await serveDefinition(accounts, { DATABASE_URL: unreachable(f.databaseUrl) });
      try {
        const res = await request(down.url, 'GET', `/accounts/${ada.id}`, { token: ada.token });
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.body).toMatchObject({ status: 503 });
      } finally {
        await down.close();
      }
      expect((await request(f.url, 'GET', `/accounts/${ada.id}`, { token: ada.token })).status).toBe(200);
    });
  });

  describe('account.requested', () => {
    it('opens the account under the id derived from (source, id) and replies account.created', async () => {
      const command = cloudEvent('account.requested', { email: 'cy@example.com', name: 'Cy' });
      const res = await deliver(f.url, command);
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.account.created');
      const accountId = entityIdFor('account', command);
      expect(res.event?.data).toMatchObject({ accountId, email: 'cy@example.com', balance: 0 });
      expect(await f.db('accounts').where({ id: accountId }).first()).toBeTruthy();
    });

    it('accepts structured mode too', async () => {
      const res = await deliver(f.url, cloudEvent('account.requested', { email: 'st@example.com', name: 'St' }), 'structured');
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.account.created');
    });

    it('concurrent duplicates open one account', async () => {
      const command = cloudEvent('account.requested', { email: 'race@example.com', name: 'Race' });
      const answers = await Promise.all(Array.from({ length: 8 }, () => deliver(f.url, command)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(new Set(answers.map((a) => a.event?.id)).size).toBe(1);
      expect(await f.db('accounts').where({ email: 'race@example.com' }).count()).toEqual([{ count: 1 }]);
    });

    it.each([
      ['data that breaks the schema', cloudEvent('account.requested', { email: 'bad', name: '' })],
      ['a type this function does not handle', cloudEvent('order.requested', { accountId: '3f0c2a4e-8d1b-4a55-9b6e-2f3c1d0e9a11', slotId: '3f0c2a4e-8d1b-4a55-9b6e-2f3c1d0e9a11' })],
    ])('answers 400 (final) for %s and changes nothing', async (_, event) => {
      const before = await snapshot(f.db);
      const res = await deliver(f.url, event as never);
      expect(res.status).toBe(400);
      expect(await snapshot(f.db)).toEqual(before);
    });

    it('answers 400 for a request that claims to be a CloudEvent but is not one', async () => {
      const res = await request(f.url, 'POST', '/', { raw: '{}', headers: { 'ce-specversion': '1.0', 'ce-type': 'x' } });
      expect(res.status).toBe(400);
    });
  });
});
