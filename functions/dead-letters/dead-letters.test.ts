import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import type { DeadLetter } from './dead-letter.js';


const TRIGGER = 'http://charge.ordersaga.svc.cluster.local';

import { TEST_ADMIN_TOKEN, deliver, request, serveDefinition, unreachable, useFunction } from '../../test/harness.js';
import deadLetters from './index.js';

describe('dead-letters', () => {
  const f = useFunction(deadLetters);

  /** An event as the Broker dead-letters it: the original plus Knative's error extensions. */
  function deadLetter(
    original: { type?: string; data?: unknown; id?: string } = {},
    error: { dest?: string; code?: string; data?: string } = {},
  ): CloudEvent<unknown> {
    return new CloudEvent<unknown>({
      id: original.id ?? newId(),
      source: '/ordersaga/reserve-slot',
      type: original.type ?? 'dev.ordersaga.slot.reserved',
      subject: 'order-1',
      datacontenttype: 'application/json',
      data: original.data ?? { orderId: newId(), amount: 30 },
      knativeerrordest: error.dest ?? TRIGGER,
      knativeerrorcode: error.code ?? '500',
      knativeerrordata: error.data ?? Buffer.from('{"title":"Internal Server Error"}').toString('base64'),
    });
  }

  const list = (token: string | undefined = TEST_ADMIN_TOKEN) => request(f.url, 'GET', '/dead-letters', token === '' ? {} : { token });
  const replay = (id: number | string, token?: string) =>
    request(f.url, 'POST', `/dead-letters/${id}/replay`, { body: {}, ...(token === '' ? {} : { token: token ?? TEST_ADMIN_TOKEN }) });
  const recorded = (eventId: string) => f.db('dead_letters').where({ event_id: eventId });

  describe('receiving', () => {
    it('records a dead-lettered event with its destination, code and decoded error data, and acks', async () => {
      const event = deadLetter();
      const res = await deliver(f.url, event);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      const rows = await recorded(event.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        source: '/ordersaga/reserve-slot',
        type: 'dev.ordersaga.slot.reserved',
        error_dest: TRIGGER,
        error_code: 500,
        error_data: '{"title":"Internal Server Error"}',
        replayed_at: null,
      });
      expect(rows[0].event).toMatchObject({ id: event.id, data: event.data, knativeerrorcode: '500' });
    });

    it('records events of any type, in binary and structured mode', async () => {
      const foreign = deadLetter({ type: 'com.example.not.ours', data: { anything: true } });
      const structured = deadLetter({ type: 'dev.ordersaga.order.placed' });
      expect((await deliver(f.url, foreign)).status).toBe(204);
      expect((await deliver(f.url, structured, 'structured')).status).toBe(204);
      expect(await recorded(foreign.id)).toEqual([expect.objectContaining({ type: 'com.example.not.ours' })]);
      expect(await recorded(structured.id)).toEqual([expect.objectContaining({ type: 'dev.ordersaga.order.placed', error_dest: TRIGGER })]);
    });

    it('keeps error data that is not base64 as it came', async () => {
      const event = deadLetter({}, { data: 'plain words, not base64!' });
      await deliver(f.url, event);
      expect((await recorded(event.id))[0]).toMatchObject({ error_data: 'plain words, not base64!' });
    });

    it('records an event without the error extensions too, with them null', async () => {
      const event = new CloudEvent({ id: newId(), source: '/somewhere', type: 'dev.ordersaga.slot.rejected', data: { a: 1 } });
      expect((await deliver(f.url, event)).status).toBe(204);
      expect((await recorded(event.id))[0]).toMatchObject({ error_dest: null, error_code: null, error_data: null });
    });

    it('a redelivered dead letter is recorded once; the same event failing at another Trigger is recorded again', async () => {
      const event = deadLetter();
      expect((await deliver(f.url, event)).status).toBe(204);
      expect((await deliver(f.url, event)).status).toBe(204);
      expect(await recorded(event.id)).toHaveLength(1);
      const elsewhere = deadLetter({ id: event.id, data: event.data }, { dest: 'http://notify.ordersaga.svc.cluster.local' });
      expect((await deliver(f.url, elsewhere)).status).toBe(204);
      expect(await recorded(event.id)).toHaveLength(2);
    });

    it('concurrent duplicates are recorded once, all acked', async () => {
      const event = deadLetter();
      const answers = await Promise.all(Array.from({ length: 6 }, () => deliver(f.url, event)));
      expect(answers.map((a) => a.status)).toEqual(Array(6).fill(204));
      expect(await recorded(event.id)).toHaveLength(1);
    });

    it('answers 400 for a request that claims to be a CloudEvent but is not one, and records nothing', async () => {
      const before = await f.db('dead_letters').count();
      const res = await request(f.url, 'POST', '/', { raw: '{}', headers: { 'ce-specversion': '1.0', 'ce-type': 'x' } });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await f.db('dead_letters').count()).toEqual(before);
    });

    it('answers 503 while the database is unreachable (so the Broker retries), then records on retry', async () => {
      const event = deadLetter();
      const down = await serveDefinition(deadLetters, { DATABASE_URL: unreachable(f.databaseUrl) });
      try {
        const failed = await deliver(down.url, event);
        expect(failed.status).toBe(503);
      } finally {
        await down.close();
      }
      expect((await deliver(f.url, event)).status).toBe(204);
      expect(await recorded(event.id)).toHaveLength(1);
    });
  });

  describe('GET /dead-letters', () => {
    it('lists dead letters, newest first, to the admin', async () => {
      const older = deadLetter({}, { code: '404' });
      const newer = deadLetter({}, { code: '400' });
      await deliver(f.url, older);
      await deliver(f.url, newer);
      const res = await list();
      expect(res.status).toBe(200);
      const letters = res.body as DeadLetter[];
      const ids = letters.map((l) => l.eventId);
      expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id));
      expect(ids.indexOf(newer.id)).toBeGreaterThanOrEqual(0);
      expect(letters.find((l) => l.eventId === older.id)).toEqual({
        id: expect.any(Number),
        eventId: older.id,
        source: '/ordersaga/reserve-slot',
        type: 'dev.ordersaga.slot.reserved',
        errorDest: TRIGGER,
        errorCode: 404,
        errorData: '{"title":"Internal Server Error"}',
        receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        replayedAt: null,
        event: expect.objectContaining({ id: older.id, data: older.data }),
      });
    });

    it.each([
      ['no token', ''],
      ['a wrong token', 'wrong-admin-token'],
    ])('answers 401 for %s', async (_, token) => {
      const res = await list(token);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.text).not.toContain('knativeerror');
    });
  });

  describe('POST /dead-letters/{id}/replay', () => {
    async function recordedId(event: CloudEvent<unknown>): Promise<number> {
      await deliver(f.url, event);
      return Number((await recorded(event.id))[0].id);
    }

    it('publishes the original event to the Broker without the error extensions and marks it replayed', async () => {
      const event = deadLetter({ data: { orderId: newId(), amount: 70 } });
      const id = await recordedId(event);
      const res = await replay(id);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ id, replayed: true });
      expect(f.sink.events).toHaveLength(1);
      const sent = f.sink.events[0]!;
      expect(sent).toMatchObject({ id: event.id, source: event.source, type: event.type, subject: event.subject, data: event.data });
      expect(sent.knativeerrordest).toBeUndefined();
      expect(sent.knativeerrorcode).toBeUndefined();
      expect(sent.knativeerrordata).toBeUndefined();
      const row = (await recorded(event.id))[0];
      expect(row.replayed_at).toBeInstanceOf(Date);
      const shown = ((await list()).body as DeadLetter[]).find((l) => l.id === id);
      expect(shown?.replayedAt).toEqual(row.replayed_at.toISOString());
    });

    it('answers 404 for an unknown or non-numeric id, and publishes nothing', async () => {
      for (const id of ['999999999', 'abc', '1.5']) {
        const res = await replay(id);
        expect(res.status, id).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      expect(f.sink.events).toEqual([]);
    });

    it('needs the admin token: 401 without or with a wrong one, and nothing is published or marked', async () => {
      const event = deadLetter();
      const id = await recordedId(event);
      expect((await replay(id, '')).status).toBe(401);
      expect((await replay(id, 'wrong-admin-token')).status).toBe(401);
      expect(f.sink.events).toEqual([]);
      expect((await recorded(event.id))[0].replayed_at).toBeNull();
    });
  });
});
