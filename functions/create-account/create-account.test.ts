import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/db.js';
import { snapshot } from '../../test/fixtures.js';
import { cloudEvent, deliver, request, serveFunction, serveWithoutDatabase, startSink, testRuntime, type Served, type Sink } from '../../test/harness.js';
import { entityIdFor } from '../../lib/ids.js';
import { createAccountFunction } from './index.js';

describe('create-account', () => {
  let t: TestDatabase;
  let fn: Served;
  let sink: Sink;

  beforeAll(async () => {
    t = await createTestDatabase();
    sink = await startSink();
    fn = await serveFunction(createAccountFunction(testRuntime(t.db, 'create-account', sink.url)));
  });
  afterAll(async () => {
    await fn.close();
    await sink.close();
    await t.destroy();
  });
  beforeEach(() => {
    sink.events.length = 0;
    sink.status = 202;
  });

  describe('POST /accounts', () => {
    it('opens an account with balance 0 and a token, and emits account.created to K_SINK', async () => {
      const res = await request(fn.url, 'POST', '/accounts', { body: { email: 'ada@example.com', name: 'Ada' } });
      expect(res.status).toBe(201);
      const body = res.body as { id: string; token: string; balance: number; email: string };
      expect(body).toMatchObject({ email: 'ada@example.com', name: 'Ada', balance: 0 });
      expect(body.token).toMatch(/^v1\./);
      expect(res.headers.location).toBe(`/accounts/${body.id}`);
      expect(sink.ofType('account.created')).toHaveLength(1);
      expect(sink.events[0]!.source).toBe('/ordersaga/create-account');
      expect(sink.events[0]!.subject).toBe(body.id);
      const published = await t.db('outbox').where({ subject: body.id }).first('published_at');
      expect(published.published_at).not.toBeNull();
    });

    it('keeps the event in the outbox, unpublished, when the Broker is down', async () => {
      sink.status = 503;
      const res = await request(fn.url, 'POST', '/accounts', { body: { email: 'bob@example.com', name: 'Bob' } });
      expect(res.status).toBe(201);
      const row = await t.db('outbox').where({ subject: (res.body as { id: string }).id }).first('published_at');
      expect(row.published_at).toBeNull();
    });

    it.each([
      ['a missing name', { email: 'x@example.com' }],
      ['a bad email', { email: 'not-an-email', name: 'X' }],
      ['an unknown field', { email: 'x@example.com', name: 'X', admin: true }],
      ['a wrong type', { email: 'x@example.com', name: 42 }],
      ['an array', [1, 2]],
    ])('refuses %s with a 400 problem document and changes nothing', async (_, body) => {
      const before = await snapshot(t.db);
      const res = await request(fn.url, 'POST', '/accounts', { body });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, title: 'Bad Request' });
      expect(await snapshot(t.db)).toEqual(before);
    });

    it('refuses malformed JSON, a non-JSON body and an empty body with 400', async () => {
      for (const [raw, type] of [['{"email":', 'application/json'], ['email=x', 'text/plain'], ['', 'application/json']] as const) {
        const res = await request(fn.url, 'POST', '/accounts', { raw, headers: { 'content-type': type } });
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.text).not.toMatch(/at |node_modules|SyntaxError/);
      }
    });

    it('refuses a body over 64 KiB with a 400 problem document', async () => {
      const res = await request(fn.url, 'POST', '/accounts', { body: { email: 'x@example.com', name: 'x'.repeat(70_000) } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ detail: expect.stringContaining('65536') });
    });

    it('answers 404 and 405 problem documents for unknown routes and methods', async () => {
      expect((await request(fn.url, 'GET', '/nope')).status).toBe(404);
      const res = await request(fn.url, 'GET', '/accounts');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
    });
  });

  describe('account.requested', () => {
    it('opens the account under the id derived from (source, id) and replies account.created', async () => {
      const command = cloudEvent('account.requested', { email: 'cy@example.com', name: 'Cy' });
      const res = await deliver(fn.url, command);
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.account.created');
      const accountId = entityIdFor('account', command);
      expect(res.event?.data).toMatchObject({ accountId, email: 'cy@example.com', balance: 0 });
      expect(await t.db('accounts').where({ id: accountId }).first()).toBeTruthy();
    });

    it('accepts structured mode too', async () => {
      const res = await deliver(fn.url, cloudEvent('account.requested', { email: 'st@example.com', name: 'St' }), 'structured');
      expect(res.status).toBe(200);
      expect(res.event?.type).toBe('dev.ordersaga.account.created');
    });

    it('a redelivered account.requested opens one account and replies the same event', async () => {
      const command = cloudEvent('account.requested', { email: 'dup@example.com', name: 'Dup' });
      const first = await deliver(fn.url, command);
      const before = await snapshot(t.db);
      const second = await deliver(fn.url, command);
      expect(second.status).toBe(200);
      expect(second.event?.id).toBe(first.event?.id);
      expect(await snapshot(t.db)).toEqual(before);
    });

    it('concurrent duplicates open one account', async () => {
      const command = cloudEvent('account.requested', { email: 'race@example.com', name: 'Race' });
      const answers = await Promise.all(Array.from({ length: 8 }, () => deliver(fn.url, command)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(new Set(answers.map((a) => a.event?.id)).size).toBe(1);
      expect(await t.db('accounts').where({ email: 'race@example.com' }).count()).toEqual([{ count: 1 }]);
    });

    it.each([
      ['data that breaks the schema', cloudEvent('account.requested', { email: 'bad', name: '' })],
      ['a type this function does not handle', cloudEvent('order.requested', { accountId: '3f0c2a4e-8d1b-4a55-9b6e-2f3c1d0e9a11', slotId: '3f0c2a4e-8d1b-4a55-9b6e-2f3c1d0e9a11' })],
    ])('answers 400 (final) for %s and changes nothing', async (_, event) => {
      const before = await snapshot(t.db);
      const res = await deliver(fn.url, event as never);
      expect(res.status).toBe(400);
      expect(await snapshot(t.db)).toEqual(before);
    });

    it('answers 400 for a request that claims to be a CloudEvent but is not one', async () => {
      const res = await request(fn.url, 'POST', '/', { raw: '{}', headers: { 'ce-specversion': '1.0', 'ce-type': 'x' } });
      expect(res.status).toBe(400);
    });

    it('answers 503 while the database is unreachable, then succeeds on retry', async () => {
      const down = await serveWithoutDatabase(t.url, (db) => createAccountFunction(testRuntime(db, 'create-account')));
      const command = cloudEvent('account.requested', { email: 'retry@example.com', name: 'Retry' });
      const failed = await deliver(down.url, command);
      expect(failed.status).toBe(503);
      expect(failed.body).toMatchObject({ status: 503 });
      expect(failed.text).not.toMatch(/ECONNREFUSED|select|insert/i);
      const retried = await deliver(fn.url, command);
      expect(retried.status).toBe(200);
      await down.close();
    });
  });
});
