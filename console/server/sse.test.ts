/**
 * The live stream over Server-Sent Events: its framing, what a new and a
 * reconnecting client get, and its bounds (open streams, slow readers).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../local/broker/events.js';
import { pause } from '../../local/broker/testing.js';
import type { EventItem } from './api-types.js';
import { frame, lastEventId } from './sse.js';
import { consoleClient, openStream, parseSse, startTestConsole, type TestConsole } from './testing.js';

const event = (id: string, data = '{}'): BrokerEvent => ({
  attributes: { specversion: '1.0', id, source: '/test', type: 'dev.ordersaga.order.placed', subject: `order-${id}`, datacontenttype: 'application/json' },
  data: Buffer.from(data),
});

describe('SSE framing', () => {
  it('writes one message per item: id, event and its JSON on one data line, a blank line after', () => {
    const text = frame('event', JSON.stringify({ a: 'line one\nline two' }), 7);
    expect(text).toBe('id: 7\nevent: event\ndata: {"a":"line one\\nline two"}\n\n');
    expect(parseSse(text).messages).toEqual([{ id: '7', event: 'event', data: '{"a":"line one\\nline two"}' }]);
  });

  it.each([
    [undefined, undefined],
    ['12', 12],
    [' 12 ', 12],
    ['-1', undefined],
    ['abc', undefined],
    ['1e3', undefined],
    ['9'.repeat(16), undefined],
  ])('reads Last-Event-ID %j as %j', (header, expected) => {
    expect(lastEventId({ headers: header === undefined ? {} : { 'last-event-id': header } } as never)).toBe(expected);
  });
});

describe('the live stream', () => {
  let t: TestConsole;
  beforeAll(async () => {
    t = await startTestConsole({ streams: { maxClients: 3, initialItems: 5, heartbeatMs: 100 } }, { maxItems: 10, maxDataBytes: 64 * 1024 });
  });
  afterAll(() => t.close());

  async function signedIn() {
    const client = consoleClient(t.url);
    await client.signIn();
    return client;
  }

  it('is text/event-stream, uncached and unbuffered by proxies, and tells the browser how soon to reconnect', async () => {
    const stream = await openStream(t.url, await signedIn());
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers.get('cache-control')).toBe('no-store');
      expect(stream.headers.get('x-accel-buffering')).toBe('no');
      await stream.waitFor((m) => m.retry === 2000);
    } finally {
      stream.close();
    }
  });

  it('starts with the newest items, then pushes each new one as it happens', async () => {
    for (let i = 0; i < 7; i++) t.feed.received(event(`old-${i}`));
    const stream = await openStream(t.url, await signedIn());
    try {
      const newest = t.feed.latest(5).map((e) => String(e.item.seq));
      await stream.waitFor((m) => m.id === newest[4]);
      expect(stream.messages.filter((m) => m.event === 'event').map((m) => m.id)).toEqual(newest);
      t.feed.received(event('live'));
      const live = await stream.waitFor((m) => m.event === 'event' && (JSON.parse(m.data) as EventItem).attributes.id === 'live');
      expect(Number(live.id)).toBe(Number(newest[4]) + 1);
    } finally {
      stream.close();
    }
  });

  it('resumes after the Last-Event-ID a reconnecting browser sends, and says what it no longer holds', async () => {
    for (let i = 0; i < 40; i++) t.feed.received(event(`resume-${i}`));
    const last = t.feed.latest(1)[0]!.item.seq;
    const client = await signedIn();
    const resumed = await openStream(t.url, client, last - 2);
    try {
      await resumed.waitFor((m) => m.id === String(last));
      expect(resumed.messages.filter((m) => m.event === 'event').map((m) => Number(m.id))).toEqual([last - 1, last]);
      expect(resumed.messages.some((m) => m.event === 'gap')).toBe(false);
    } finally {
      resumed.close();
    }
    // The feed holds 10: asking from far back gets a gap message first.
    const late = await openStream(t.url, client, last - 30);
    try {
      const gap = await late.waitFor((m) => m.event === 'gap');
      expect(JSON.parse(gap.data)).toEqual({ missed: 20 });
    } finally {
      late.close();
    }
  });

  it('sends a comment now and then, so an idle stream stays open through proxies', async () => {
    const client = await signedIn();
    const res = await fetch(`${t.url}/api/stream`, { headers: { cookie: client.cookie! } });
    const reader = res.body!.getReader();
    let text = '';
    const until = Date.now() + 3000;
    while (!text.includes(': keep-alive') && Date.now() < until) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain(': keep-alive\n\n');
  });

  it('refuses a stream beyond the limit with 503, and takes one again once another closes', async () => {
    await pause(100); // streams closed by the tests before are gone
    const client = await signedIn();
    const open = [await openStream(t.url, client), await openStream(t.url, client), await openStream(t.url, client)];
    const refused = await fetch(`${t.url}/api/stream`, { headers: { cookie: client.cookie! } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    open[0]!.close();
    await pause(100);
    const again = await openStream(t.url, client);
    expect(again.status).toBe(200);
    for (const s of [...open, again]) s.close();
    await pause(100);
  });

  it("ends a session's streams when it signs out", async () => {
    const client = await signedIn();
    const stream = await openStream(t.url, client);
    await stream.waitFor((m) => m.retry !== undefined);
    expect((await client.call('DELETE', '/api/session')).status).toBe(204);
    await stream.ended;
    expect((await fetch(`${t.url}/api/stream`, { headers: { cookie: client.cookie! } })).status).toBe(401);
  });

  it('cuts off a client that does not read, so its backlog cannot grow without bound; the feed is unharmed', async () => {
    const client = await signedIn();
    const socket = net.connect(Number(new URL(t.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`GET /api/stream HTTP/1.1\r\nHost: ${new URL(t.url).host}\r\nCookie: ${client.cookie}\r\n\r\n`);
    // Never read: the kernel's buffers fill, then the server's.
    socket.pause();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await pause(100);
    const big = JSON.stringify({ pad: 'x'.repeat(60_000) });
    for (let i = 0; i < 400 && !socket.destroyed; i++) {
      t.feed.received(event(`flood-${i}`, big));
      if (i % 20 === 0) await pause(5);
    }
    socket.resume();
    await closed;
    expect(t.feed.size().items).toBe(10);
    // A reader that keeps up is still served.
    const stream = await openStream(t.url, client);
    expect(stream.status).toBe(200);
    stream.close();
  });
});
