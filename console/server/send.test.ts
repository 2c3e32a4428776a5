/**
 * The send form's back end: validated against the catalogue before
 * anything is sent; a valid event goes through the Broker and shows in the
 * live feed.
 */
import { describe, expect, it } from 'vitest';
import { dataschemaOf } from '../../events/index.js';
import { newId } from '../../lib/ids.js';
import { pause, startSubscriber } from '../../local/broker/testing.js';
import type { EventItem } from './api-types.js';
import { createEventSender } from './send.js';
import { openStream, useTestConsole } from './testing.js';

describe('sending an event from the console', () => {
  const t = useTestConsole();

  const send = (body: unknown) => t.client.call('POST', '/api/send', { body });
  const order = () => ({ orderId: newId(), accountId: newId(), slotId: newId(), seats: 1 });

  it('posts a valid command to the Broker as /ordersaga/console, with its type, subject and schema, and it shows live', async () => {
    const stream = await openStream(t.url, t.client);
    try {
      const data = order();
      const answer = await send({ name: 'order.requested', subject: data.orderId, data });
      expect(answer.status).toBe(202);
      const sent = answer.body as { id: string; source: string; type: string; subject: string };
      expect(sent).toEqual({ id: expect.any(String), source: '/ordersaga/console', type: 'dev.ordersaga.order.requested', subject: data.orderId });
      const received = (await t.subscriber.waitFor(1)).at(-1)!;
      expect(received.headers).toMatchObject({
        'ce-id': sent.id,
        'ce-source': '/ordersaga/console',
        'ce-type': 'dev.ordersaga.order.requested',
        'ce-subject': data.orderId,
        'ce-dataschema': dataschemaOf('order.requested'),
      });
      expect(JSON.parse(received.body.toString())).toEqual(data);
      const live = await stream.waitFor((m) => m.event === 'event' && (JSON.parse(m.data) as EventItem).attributes.id === sent.id);
      expect(JSON.parse((JSON.parse(live.data) as EventItem).data!)).toEqual(data);
    } finally {
      stream.close();
    }
  });

  it.each([
    ['data that misses a required field', { name: 'order.requested', subject: 's', data: { slotId: newId() } }, '/'],
    ['data with a field of the wrong type', { name: 'deposit.requested', subject: 's', data: { accountId: newId(), amount: 'ten' } }, '/amount'],
    ['data with a field the schema does not know', { name: 'account.requested', subject: 's', data: { email: 'a@example.com', name: 'A', admin: true } }, '/'],
    ['a type the catalogue does not have', { name: 'order.shipped', subject: 's', data: {} }, '/name'],
    ['no subject', { name: 'account.requested', subject: '', data: { email: 'a@example.com', name: 'A' } }, '/subject'],
    ['a field the form does not have', { name: 'account.requested', subject: 's', data: { email: 'a@example.com', name: 'A' }, source: '/me' }, '/'],
  ])('refuses %s with 400 and its errors, and sends nothing', async (_name, body, errorPath) => {
    await t.broker.settled();
    const before = t.subscriber.received.length;
    const feedBefore = t.feed.size().items;
    const answer = await send(body);
    expect(answer.status).toBe(400);
    expect((answer.body as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(errorPath);
    await pause(50);
    expect(t.subscriber.received.slice(before).map((r) => r.headers['ce-type'])).toEqual([]);
    expect(t.feed.size().items).toBe(feedBefore);
  });

  it('refuses a body that is not JSON', async () => {
    const answer = await t.client.call('POST', '/api/send', { headers: { 'content-type': 'application/json' }, body: undefined });
    expect(answer.status).toBe(400);
  });

  it('sends with the console\'s own token when sender authentication is on, and a refusal is a 503 (nothing was taken)', async () => {
    const broker = await startSubscriber((_, i) => ({ status: i === 0 ? 202 : 403 }));
    try {
      const sender = createEventSender({ brokerUrl: broker.url, authorization: async () => 'Bearer console-token' });
      await sender.send({ name: 'order.requested', subject: 's', data: order() });
      expect(broker.received[0]!.headers.authorization).toBe('Bearer console-token');
      await expect(sender.send({ name: 'order.requested', subject: 's', data: order() })).rejects.toMatchObject({ status: 503, message: expect.stringContaining('403') });
    } finally {
      await broker.close();
    }
  });

  it('answers 503, having sent nothing, when the Broker is not there', async () => {
    const nowhere = createEventSender({ brokerUrl: 'http://127.0.0.1:1/ordersaga/default' });
    await expect(nowhere.send({ name: 'order.requested', subject: 's', data: order() })).rejects.toMatchObject({ status: 503 });
    const none = createEventSender({ brokerUrl: undefined });
    await expect(none.send({ name: 'order.requested', subject: 's', data: order() })).rejects.toMatchObject({ status: 503, message: expect.stringContaining('K_SINK') });
    // Validation comes first: an invalid event is a 400 even without a Broker.
    await expect(none.send({ name: 'order.requested', subject: 's', data: {} })).rejects.toMatchObject({ status: 400 });
  });
});
