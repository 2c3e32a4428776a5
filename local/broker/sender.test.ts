import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSender, SendError, type Sender } from './dispatcher.js';

/** A moment for a finished exchange's connection to be back in the pool. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

const message = { headers: { 'content-type': 'application/json', 'ce-id': 'e1', 'ce-type': 't', 'ce-source': '/s', 'ce-specversion': '1.0' }, body: Buffer.from('{"a":1}') };

interface Served {
  url: string;
  /** Requests that reached the handler. */
  requests: number;
  /** Connections accepted. */
  connections: number;
  close(): Promise<void>;
}

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, nth: number) => void): Promise<Served> {
  const sockets = new Set<Socket>();
  const served = { requests: 0, connections: 0 } as Served;
  const server = http.createServer((req, res) => {
    served.requests += 1;
    const nth = served.requests;
    req.resume();
    req.on('end', () => handler(req, res, nth));
  });
  server.on('connection', (socket) => {
    served.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  served.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return served;
}

async function sendError(attempt: Promise<unknown>): Promise<SendError> {
  const err = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SendError);
  return err as SendError;
}

describe('the Broker sender', () => {
  let sender: Sender;
  let served: Served | undefined;
  afterEach(async () => {
    sender?.close();
    await served?.close();
    served = undefined;
  });

  it('posts the message as it is and answers status, headers and the whole body, over one kept-alive connection', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    served = await serve((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'ce-id': 'reply-1', 'content-type': 'application/json' });
      res.end('{"reply":true}');
    });
    sender = createSender(1024);
    const signal = new AbortController().signal;
    for (let i = 0; i < 3; i++) {
      if (i > 0) await settle();
      const answer = await sender.post(served.url, message, { timeoutMs: 2000, signal });
      expect(answer.status).toBe(200);
      expect(answer.headers['ce-id']).toBe('reply-1');
      expect(answer.body.toString()).toBe('{"reply":true}');
    }
    expect(seen[0]).toMatchObject({ 'ce-id': 'e1', 'ce-type': 't', 'content-type': 'application/json', 'content-length': '7' });
    expect(served.connections).toBe(1);
  });

  it('refuses a response body over its limit (too-large)', async () => {
    served = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.alloc(4096, 'x'));
    });
    sender = createSender(1024);
    const err = await sendError(sender.post(served.url, message, { timeoutMs: 2000, signal: new AbortController().signal }));
    expect(err.reason).toBe('too-large');
    expect(err.message).toMatch(/over 1024 bytes/);
  });

  it('gives up on a response that does not come within the timeout (timeout)', async () => {
    served = await serve(() => {});
    sender = createSender(1024);
    const err = await sendError(sender.post(served.url, message, { timeoutMs: 100, signal: new AbortController().signal }));
    expect(err.reason).toBe('timeout');
  });

  it('abandons a delivery when the Broker stops, before or during the exchange (aborted)', async () => {
    served = await serve(() => {});
    sender = createSender(1024);
    const stopped = new AbortController();
    stopped.abort();
    expect((await sendError(sender.post(served.url, message, { signal: stopped.signal }))).reason).toBe('aborted');
    expect(served.requests).toBe(0);
    const stopping = new AbortController();
    const attempt = sender.post(served.url, message, { signal: stopping.signal });
    await expect.poll(() => served!.requests).toBe(1);
    stopping.abort();
    expect((await sendError(attempt)).reason).toBe('aborted');
  });

  it('sends once more, at once, when a kept-alive connection turns out closed by the server', async () => {
    // The second request arrives on the connection the first one used; the server drops it without an answer.
    served = await serve((req, res, nth) => {
      if (nth === 2) return req.socket.destroy();
      res.writeHead(202);
      res.end();
    });
    sender = createSender(1024);
    const signal = new AbortController().signal;
    expect((await sender.post(served.url, message, { timeoutMs: 2000, signal })).status).toBe(202);
    await settle();
    expect((await sender.post(served.url, message, { timeoutMs: 2000, signal })).status).toBe(202);
    expect(served.requests).toBe(3);
    expect(served.connections).toBe(2);
  });

  it('does not send again when a fresh connection is closed without an answer: that is the attempt failing (network)', async () => {
    served = await serve((req) => req.socket.destroy());
    sender = createSender(1024);
    const err = await sendError(sender.post(served.url, message, { timeoutMs: 2000, signal: new AbortController().signal }));
    expect(err.reason).toBe('network');
    expect(served.requests).toBe(1);
  });

  it('reports a subscriber that is not there as a network failure', async () => {
    served = await serve(() => {});
    const url = served.url;
    await served.close();
    served = undefined;
    sender = createSender(1024);
    const err = await sendError(sender.post(url, message, { timeoutMs: 2000, signal: new AbortController().signal }));
    expect(err.reason).toBe('network');
  });
});
