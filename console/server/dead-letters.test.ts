/**
 * Dead letters through the real dead-letters function: listed with
 * Knative's error attributes decoded, replayed into the Broker, and the
 * replay's outcome in the live feed.
 */
import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { deliver, TEST_ADMIN_TOKEN } from '../../test/harness.js';
import type { DeadLetter, DeliveryItem } from './api-types.js';
import { createDeadLetterSource } from './dead-letters.js';
import { openStream, serveHandler, useTestConsole } from './testing.js';

describe('dead letters', () => {
  const t = useTestConsole();

  /** An event as the Broker dead-letters it, posted to the dead-letters function. */
  async function deadLetter(code = 400, body = '{"title":"Bad Request","detail":"No account"}'): Promise<CloudEvent<unknown>> {
    const event = new CloudEvent<unknown>({
      id: newId(),
      source: '/ordersaga/console',
      type: 'dev.ordersaga.order.requested',
      subject: 'order-1',
      datacontenttype: 'application/json',
      data: { accountId: newId(), slotId: newId() },
      knativeerrordest: 'http://127.0.0.1:8092/',
      knativeerrorcode: String(code),
      knativeerrordata: Buffer.from(body).toString('base64'),
    });
    expect((await deliver(t.deadLettersUrl, event)).status).toBe(204);
    return event;
  }

  it("lists each dead letter with knativeerrordest, knativeerrorcode and the decoded knativeerrordata", async () => {
    const event = await deadLetter();
    const answer = await t.client.call('GET', '/api/dead-letters');
    expect(answer.status).toBe(200);
    const found = (answer.body as DeadLetter[]).find((d) => d.eventId === event.id)!;
    expect(found).toMatchObject({
      source: '/ordersaga/console',
      type: 'dev.ordersaga.order.requested',
      errorDest: 'http://127.0.0.1:8092/',
      errorCode: 400,
      errorData: '{"title":"Bad Request","detail":"No account"}',
      replayedAt: null,
    });
  });

  it('replays one into the Broker, and the replay shows live with its delivery outcome', async () => {
    const event = await deadLetter();
    const id = ((await t.client.call('GET', '/api/dead-letters')).body as DeadLetter[]).find((d) => d.eventId === event.id)!.id;
    const stream = await openStream(t.url, t.client);
    try {
      const answer = await t.client.call('POST', `/api/dead-letters/${id}/replay`, { body: {} });
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual({ id, replayed: true });
      const delivered = await stream.waitFor((m) => m.event === 'delivery' && (JSON.parse(m.data) as DeliveryItem).event.id === event.id);
      expect(JSON.parse(delivered.data)).toMatchObject({ trigger: 'everything', status: 202, outcome: 'delivered', event: { source: '/ordersaga/console' } });
      // Sent back as it was first sent: without the error attributes.
      const received = t.subscriber.received.find((r) => r.headers['ce-id'] === event.id)!;
      expect(Object.keys(received.headers).filter((h) => h.startsWith('ce-knativeerror'))).toEqual([]);
      const listed = ((await t.client.call('GET', '/api/dead-letters')).body as DeadLetter[]).find((d) => d.id === id)!;
      expect(listed.replayedAt).not.toBeNull();
    } finally {
      stream.close();
    }
  });

  it('answers 404 for a dead letter that does not exist, and 400 for an id that cannot be one', async () => {
    expect((await t.client.call('POST', '/api/dead-letters/987654/replay', { body: {} })).status).toBe(404);
    expect((await t.client.call('POST', '/api/dead-letters/abc/replay', { body: {} })).status).toBe(400);
    expect((await t.client.call('POST', '/api/dead-letters/0/replay', { body: {} })).status).toBe(400);
  });

  it('answers 503 when dead-letters refuses its token or is not there: neither is the caller’s fault', async () => {
    const wrongToken = createDeadLetterSource({ baseUrl: t.deadLettersUrl, adminToken: `${TEST_ADMIN_TOKEN}-not` });
    await expect(wrongToken.list()).rejects.toMatchObject({ status: 503, message: expect.stringContaining('401') });
    const nowhere = createDeadLetterSource({ baseUrl: 'http://127.0.0.1:1', adminToken: TEST_ADMIN_TOKEN });
    await expect(nowhere.list()).rejects.toMatchObject({ status: 503, message: expect.stringContaining('not answering') });
  });

  it('answers 503 when dead-letters answers something that is not a list', async () => {
    const odd = await serveHandler((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"rows":[]}'));
    try {
      await expect(createDeadLetterSource({ baseUrl: odd.url, adminToken: TEST_ADMIN_TOKEN }).list()).rejects.toMatchObject({ status: 503 });
    } finally {
      await odd.close();
    }
  });
});
