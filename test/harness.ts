/**
 * Test harness: functions served by the real Functions Framework on a real
 * port, a real HTTP sink standing in for the Broker, and helpers to speak
 * CloudEvents and JSON to them.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { http as registerHttp } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import { createTokens } from '../lib/auth.js';
import { createDb, type Db } from '../lib/db.js';
import { installProblemFinalHandler } from '../lib/framework-errors.js';
import type { HttpFunction } from '../lib/http-function.js';
import { newId } from '../lib/ids.js';
import { silentLogger } from '../lib/log.js';
import { createEmitter } from '../lib/outbox.js';
import type { Runtime } from '../lib/runtime.js';
import { typeOf, type EventData, type EventName } from '../events/index.js';

export const TEST_TOKEN_SECRET = 'test-token-secret-0123456789abcdef0123456789';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface Served {
  url: string;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<Served> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves `fn` through the Functions Framework's own express server. */
export async function serveFunction(fn: HttpFunction): Promise<Served> {
  installProblemFinalHandler();
  const name = `test-${randomBytes(6).toString('hex')}`;
  registerHttp(name, fn);
  return listen(getTestServer(name));
}

/** A real HTTP endpoint that accepts CloudEvents (as K_SINK) and keeps them. */
/**
 * Serves the function `build` makes over a database nobody listens for (the
 * test server's address with port 1): a database outage, as the function sees it.
 */
export async function serveWithoutDatabase(databaseUrl: string, build: (db: Db) => HttpFunction): Promise<Served> {
  const url = new URL(databaseUrl);
  url.port = '1';
  const unreachable = createDb({ url: url.toString(), poolMax: 1 });
  const served = await serveFunction(build(unreachable));
  return {
    url: served.url,
    async close() {
      await served.close();
      await unreachable.destroy();
    },
  };
}

export interface Sink extends Served {
  events: CloudEvent<unknown>[];
  /** Answer the next deliveries with this status (default 202). */
  status: number;
  ofType(name: EventName): CloudEvent<unknown>[];
}

export async function startSink(): Promise<Sink> {
  const events: CloudEvent<unknown>[] = [];
  const sink = { events, status: 202 } as Sink;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (sink.status < 300) {
        const event = HTTP.toEvent({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString() });
        events.push(event as CloudEvent<unknown>);
      }
      res.writeHead(sink.status).end();
    });
  });
  Object.assign(sink, await listen(server));
  sink.ofType = (name) => events.filter((e) => e.type === typeOf(name));
  return sink;
}

export function testRuntime(db: Db, name: string, sink?: string): Runtime {
  return {
    name,
    db,
    log: silentLogger,
    tokens: createTokens(TEST_TOKEN_SECRET),
    emitter: createEmitter({ db, sink, log: silentLogger }),
  };
}

/** A command or fact as a producer would send it. */
export function cloudEvent<N extends EventName>(name: N, data: EventData[N], attrs: Partial<{ id: string; source: string; subject: string }> = {}): CloudEvent<EventData[N]> {
  return new CloudEvent<EventData[N]>({
    id: attrs.id ?? newId(),
    source: attrs.source ?? '/test/producer',
    type: typeOf(name),
    subject: attrs.subject,
    datacontenttype: 'application/json',
    data,
  });
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  text: string;
  /** The reply CloudEvent, when the answer is one. */
  event: CloudEvent<unknown> | undefined;
}

async function toAnswer(res: Response): Promise<Answer> {
  const text = await res.text();
  const headers = Object.fromEntries(res.headers.entries());
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  const event = headers['ce-id'] !== undefined ? (HTTP.toEvent({ headers, body: text }) as CloudEvent<unknown>) : undefined;
  return { status: res.status, headers, body, text, event };
}

/** POSTs `event` to `url` in binary (default) or structured mode. */
export async function deliver(url: string, event: CloudEvent<unknown>, mode: 'binary' | 'structured' = 'binary'): Promise<Answer> {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  const res = await fetch(url, { method: 'POST', headers: message.headers as Record<string, string>, body: message.body as string });
  return toAnswer(res);
}

/** A JSON request with optional bearer token and extra headers. */
export async function request(
  url: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  } else if (body !== undefined) {
    headers['content-type'] ??= 'application/json';
  }
  return toAnswer(await fetch(url + path, { method, headers, body }));
}
