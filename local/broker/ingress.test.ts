import { CloudEvent, HTTP } from 'cloudevents';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker } from './index.js';
import { brokerManifest, eventOf, post, startBroker, startSubscriber, testEvent, triggerManifest, type TestSubscriber } from './testing.js';

describe('the Broker ingress', () => {
  let subscriber: TestSubscriber;
  let broker: Broker;
  let ingress: string;

  beforeEach(async () => {
    subscriber = await startSubscriber();
    ({ broker, ingress } = await startBroker([brokerManifest(), triggerManifest('all-events', subscriber.url)]));
  });
  afterEach(async () => {
    await broker.drain(1_000);
    await subscriber.close();
  });

  it('accepts a binary-mode event with 202 and an empty body, then delivers it', async () => {
    const event = testEvent('dev.ordersaga.order.placed');
    const res = await post(ingress, event, 'binary');
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
    const [received] = await subscriber.waitFor(1);
    const delivered = eventOf(received!);
    expect(delivered.id).toBe(event.id);
    expect(delivered.type).toBe('dev.ordersaga.order.placed');
    expect(delivered.data).toEqual({ hello: 'world' });
  });

  it('accepts a structured-mode event with 202 and delivers it in binary mode', async () => {
    const event = testEvent('dev.ordersaga.order.placed', { tenant: 'acme' });
    const res = await post(ingress, event, 'structured');
    expect(res.status).toBe(202);
    const [received] = await subscriber.waitFor(1);
    expect(received!.headers['ce-id']).toBe(event.id);
    expect(received!.headers['ce-tenant']).toBe('acme');
    expect(JSON.parse(received!.body.toString())).toEqual({ hello: 'world' });
  });

  it('adds knativearrivaltime, and keeps its TTL to itself', async () => {
    const before = Date.now();
    await post(ingress, testEvent('dev.ordersaga.order.placed'));
    const [received] = await subscriber.waitFor(1);
    const arrival = Date.parse(String(received!.headers['ce-knativearrivaltime']));
    expect(arrival).toBeGreaterThanOrEqual(before - 1);
    expect(arrival).toBeLessThanOrEqual(Date.now());
    expect(received!.headers['ce-knativebrokerttl']).toBeUndefined();
  });

  it('passes data bytes through untouched', async () => {
    const body = '{ "spaced" :  [1, 2.50, "x"] }';
    const res = await fetch(ingress, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'raw-1', 'ce-source': '/tests', 'ce-type': 'raw', 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(202);
    const [received] = await subscriber.waitFor(1);
    expect(received!.body.toString()).toBe(body);
    expect(received!.headers['content-type']).toBe('application/json');
  });

  it('asks the subscriber for a reply and names the Trigger namespace', async () => {
    await post(ingress, testEvent('dev.ordersaga.order.placed'));
    const [received] = await subscriber.waitFor(1);
    expect(received!.headers.prefer).toBe('reply');
    expect(received!.headers['kn-namespace']).toBe('ordersaga');
  });

  // pkg/utils/headers.go (PassThroughHeaders): x-request-id, retry-after, knative-* and x-b3-*; nothing else.
  it('forwards only the headers Knative passes through (pkg/utils/headers.go)', async () => {
    await post(ingress, testEvent('dev.ordersaga.order.placed'), 'binary', {
      'x-request-id': 'req-42',
      'retry-after': '5',
      'knative-foo': 'bar',
      'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124',
      'x-b3-sampled': '1',
      'k-eventing-flag': 'on',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      authorization: 'Bearer secret',
      'x-custom': 'dropped',
    });
    const [received] = await subscriber.waitFor(1);
    expect(received!.headers['x-request-id']).toBe('req-42');
    expect(received!.headers['retry-after']).toBe('5');
    expect(received!.headers['knative-foo']).toBe('bar');
    expect(received!.headers['x-b3-traceid']).toBe('463ac35c9f6413ad48485a3953bb6124');
    expect(received!.headers['x-b3-sampled']).toBe('1');
    expect(received!.headers['k-eventing-flag']).toBeUndefined();
    expect(received!.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(received!.headers.authorization).toBeUndefined();
    expect(received!.headers['x-custom']).toBeUndefined();
  });

  // pkg/broker/ingress/ingress_handler.go: the event is extracted and validated before the Broker is looked up.
  it('answers 400, not 404, to an invalid event sent to a Broker that does not exist (pkg/broker/ingress/ingress_handler.go)', async () => {
    const unknown = ingress.replace('/ordersaga/default', '/ordersaga/other');
    const res = await fetch(unknown, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 't' }, body: '' });
    expect(res.status).toBe(400);
    expect((await post(unknown, testEvent('x'))).status).toBe(404);
  });

  // The SDK keeps a structured event's data as the bytes it read (event.DataEncoded), and the dispatcher sends those
  // (binding.ToMessage in pkg/kncloudevents/event_dispatcher.go): JSON data is never re-serialised.
  it.each([
    ['binary', {}],
    ['structured', { format: 'json' }],
  ])('delivers structured-mode data byte for byte, in %s mode: 1.50 stays 1.50 (event_dispatcher.go)', async (_mode, delivery) => {
    const sub = await startSubscriber();
    const { broker: b, ingress: url } = await startBroker([brokerManifest(), triggerManifest('t', sub.url, { delivery })]);
    const data = '{ "price" : 1.50, "tags": ["a,b", {"x": "}"}] }';
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: `{"specversion":"1.0","id":"p-1","source":"/s","type":"priced","datacontenttype":"application/json","data": ${data} , "ext":"e"}`,
    });
    expect(res.status).toBe(202);
    const [received] = await sub.waitFor(1);
    const body = received!.body.toString();
    if ((delivery as { format?: string }).format === 'json') expect(body).toContain(`"data":${data.trim()}}`);
    else expect(body).toBe(data.trim());
    await b.drain(1_000);
    await sub.close();
  });

  it.each([
    ['a plain JSON body', { 'content-type': 'application/json' }, '{"hello":"world"}'],
    ['binary mode without ce-specversion', { 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' }, ''],
    ['binary mode without ce-source', { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 't' }, ''],
    ['binary mode with an unknown specversion', { 'ce-specversion': '9.9', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' }, ''],
    ['structured mode that is not JSON', { 'content-type': 'application/cloudevents+json' }, '{nope'],
    ['structured mode without type', { 'content-type': 'application/cloudevents+json' }, '{"specversion":"1.0","id":"1","source":"/s"}'],
    [
      'structured mode with a bad time',
      { 'content-type': 'application/cloudevents+json' },
      '{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"yesterday"}',
    ],
    ['batched mode', { 'content-type': 'application/cloudevents-batch+json' }, '[]'],
  ])('answers 400 to %s and delivers nothing', async (_name, headers, body) => {
    const res = await fetch(ingress, { method: 'POST', headers, body });
    expect(res.status).toBe(400);
    expect(broker.stats().accepted).toBe(0);
    expect(broker.stats().rejected).toBe(1);
  });

  it('answers 404 for a Broker that does not exist', async () => {
    const res = await post(ingress.replace('/ordersaga/default', '/ordersaga/other'), testEvent('x'));
    expect(res.status).toBe(404);
    const res2 = await post(ingress.replace('/ordersaga/default', '/elsewhere/default'), testEvent('x'));
    expect(res2.status).toBe(404);
  });

  it('answers 405 to other methods and 200 to the webhook OPTIONS check', async () => {
    expect((await fetch(ingress)).status).toBe(405);
    expect((await fetch(ingress, { method: 'PUT', body: 'x' })).status).toBe(405);
    const options = await fetch(ingress, { method: 'OPTIONS' });
    expect(options.status).toBe(200);
    expect(options.headers.get('webhook-allowed-origin')).toBe('*');
  });

  it('answers 400 to a malformed path', async () => {
    const res = await post(`${ingress}/extra`, testEvent('x'));
    expect(res.status).toBe(400);
  });

  it('serves the same ingress through handle() on any server', async () => {
    const { createServer } = await import('node:http');
    const server = createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const res = await post(`http://127.0.0.1:${port}/ordersaga/default`, testEvent('via-handle'));
    expect(res.status).toBe(202);
    await subscriber.waitFor(1);
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('publishes an SDK event as if it had been POSTed', async () => {
    await broker.publish('ordersaga', 'default', new CloudEvent({ type: 'dev.ordersaga.ping', source: '/ping', data: { n: 1 } }));
    const [received] = await subscriber.waitFor(1);
    expect(received!.headers['ce-type']).toBe('dev.ordersaga.ping');
    expect(received!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received!.body.toString())).toEqual({ n: 1 });
    await expect(broker.publish('ordersaga', 'nope', testEvent('x'))).rejects.toMatchObject({ status: 404 });
  });

  it('structured mode carries data_base64 as bytes', async () => {
    const res = await fetch(ingress, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'b64',
        source: '/s',
        type: 'bin',
        datacontenttype: 'application/octet-stream',
        data_base64: Buffer.from([0, 1, 2, 255]).toString('base64'),
      }),
    });
    expect(res.status).toBe(202);
    const [received] = await subscriber.waitFor(1);
    expect([...received!.body]).toEqual([0, 1, 2, 255]);
    expect(HTTP.isEvent({ headers: received!.headers as Record<string, string>, body: received!.body })).toBe(true);
  });
});
