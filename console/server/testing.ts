/**
 * Test helpers of the console: a console on real parts (a database cloned
 * for the file, a Broker stand-in, the dead-letters function), a built page
 * of a few files, and a client that signs in and speaks to it as the page
 * does.
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import deadLettersFunction from '../../functions/dead-letters/index.js';
import { silentLogger } from '../../lib/log.js';
import type { Broker } from '../../local/broker/index.js';
import { brokerManifest, startBroker, startSubscriber, triggerManifest, type TestSubscriber } from '../../local/broker/testing.js';
import { createTestDatabase, type TestDatabase } from '../../test/db.js';
import { serveDefinition, TEST_ADMIN_TOKEN, type Served } from '../../test/harness.js';
import { createDeadLetterSource } from './dead-letters.js';
import { createLiveFeed, type FeedLimits, type LiveFeed } from './feed.js';
import { createOrderSource } from './orders.js';
import { sagaMapOf } from './saga-map.js';
import { createEventSender } from './send.js';
import { createConsole, type ConsoleApp, type ConsoleOptions } from './server.js';
import { CSRF_HEADER } from './session.js';
import { loadAssets } from './static.js';
import { NO_TRACES } from './traces.js';

/** A folder laid out like Vite's output: an index page and one hashed script. */
export function builtPage(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-console-page-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>ordersaga console</title><script type="module" src="./assets/app-abc123.js"></script>');
  writeFileSync(path.join(dir, 'assets', 'app-abc123.js'), 'console.log("console");');
  return dir;
}

/** Serves a node:http handler on a free port of 127.0.0.1. */
export async function serveHandler(handler: http.RequestListener): Promise<Served & { server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface TestConsole {
  url: string;
  feed: LiveFeed;
  db: TestDatabase;
  broker: Broker;
  /** The dead-letters function the console reads. */
  deadLettersUrl: string;
  /** Where the Broker's catch-all Trigger delivers (every event sent). */
  subscriber: TestSubscriber;
  app: ConsoleApp;
  close(): Promise<void>;
}

/** A console (mode local, at the root) on real parts; `overrides` replace any of them. */
export async function startTestConsole(overrides: Partial<ConsoleOptions> = {}, limits: Partial<FeedLimits> = {}): Promise<TestConsole> {
  const db = await createTestDatabase();
  const feed = overrides.feed ?? createLiveFeed(limits);
  const subscriber = await startSubscriber();
  const { broker, ingress } = await startBroker([brokerManifest(), triggerManifest('everything', subscriber.url)], { observer: feed.observer });
  const deadLetters = await serveDefinition(deadLettersFunction, { DATABASE_URL: db.url, K_SINK: ingress });
  const orders = createOrderSource({ databaseUrl: db.url, consumers: sagaMapOf().functions.map((f) => f.name) });
  const app = createConsole({
    mode: 'local',
    basePath: '',
    adminToken: TEST_ADMIN_TOKEN,
    feed,
    orders,
    deadLetters: createDeadLetterSource({ baseUrl: deadLetters.url, adminToken: TEST_ADMIN_TOKEN }),
    sender: createEventSender({ brokerUrl: ingress }),
    traces: NO_TRACES,
    assets: loadAssets(builtPage()),
    log: silentLogger,
    ...overrides,
  });
  const served = await serveHandler((req, res) => void app.handle(req, res));
  return {
    url: served.url,
    feed,
    db,
    broker,
    deadLettersUrl: deadLetters.url,
    subscriber,
    app,
    async close() {
      app.close();
      await served.close();
      await deadLetters.close();
      await broker.drain(2000);
      await subscriber.close();
      await orders.close();
      await db.destroy();
    },
  };
}

/**
 * A test console for the enclosing describe, started before its tests and
 * closed after them, with a client signed in to it. Its members are there
 * once the tests run.
 */
export function useTestConsole(overrides: Partial<ConsoleOptions> = {}, limits: Partial<FeedLimits> = {}): TestConsole & { client: ConsoleClient } {
  const under = {} as TestConsole & { client: ConsoleClient };
  beforeAll(async () => {
    const started = await startTestConsole(overrides, limits);
    Object.assign(under, started, { client: consoleClient(started.url) });
    await under.client.signIn();
  });
  afterAll(() => under.close?.());
  return under;
}

export interface ConsoleAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A browser's view of a console: its origin, and once signed in, the cookie and the CSRF token. */
export interface ConsoleClient {
  cookie: string | undefined;
  csrfToken: string | undefined;
  /** `origin: null` sends no Origin header at all. */
  call(method: string, path: string, options?: { body?: unknown; origin?: string | null; csrf?: string | null; cookie?: string | null; headers?: Record<string, string> }): Promise<ConsoleAnswer>;
  signIn(token?: string): Promise<ConsoleAnswer>;
}

export function consoleClient(baseUrl: string): ConsoleClient {
  const origin = new URL(baseUrl).origin;
  const client: ConsoleClient = {
    cookie: undefined,
    csrfToken: undefined,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const sentOrigin = options.origin === undefined ? origin : options.origin;
      if (sentOrigin !== null) headers.origin = sentOrigin;
      const cookie = options.cookie === undefined ? client.cookie : options.cookie;
      if (cookie) headers.cookie = cookie;
      const csrf = options.csrf === undefined ? client.csrfToken : options.csrf;
      if (csrf) headers[CSRF_HEADER] = csrf;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(baseUrl + path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), redirect: 'manual' });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, headers: res.headers, body };
    },
    async signIn(token = TEST_ADMIN_TOKEN) {
      const answer = await client.call('POST', '/api/session', { body: { token }, cookie: null, csrf: null });
      const set = answer.headers.get('set-cookie');
      if (answer.status === 200 && set) {
        client.cookie = set.split(';')[0];
        client.csrfToken = (answer.body as { csrfToken: string }).csrfToken;
      }
      return answer;
    },
  };
  return client;
}

/** One Server-Sent Events message as a browser's EventSource would see it. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
  retry?: number;
}

/** Parses complete SSE messages from `text`; returns them and the unparsed rest. */
export function parseSse(text: string): { messages: SseMessage[]; rest: string } {
  const blocks = text.split('\n\n');
  const rest = blocks.pop()!;
  const messages = blocks.flatMap((block): SseMessage[] => {
    const message: SseMessage = { event: 'message', data: '' };
    let fields = 0;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const [name, ...value] = line.split(': ');
      const text = value.join(': ');
      fields += 1;
      if (name === 'id') message.id = text;
      else if (name === 'event') message.event = text;
      else if (name === 'data') message.data = message.data === '' ? text : `${message.data}\n${text}`;
      else if (name === 'retry') message.retry = Number(text);
    }
    return fields === 0 ? [] : [message];
  });
  return { messages, rest };
}

export interface OpenStream {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  /** Resolves with the first message (seen or to come) that `match` accepts. */
  waitFor(match: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `GET api/stream` as the signed-in `client`. */
export async function openStream(baseUrl: string, client: ConsoleClient, lastEventId?: number): Promise<OpenStream> {
  const controller = new AbortController();
  const headers: Record<string, string> = { cookie: client.cookie ?? '' };
  if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
  const res = await fetch(`${baseUrl}/api/stream`, { headers, signal: controller.signal });
  const messages: SseMessage[] = [];
  const waiters: { match: (m: SseMessage) => boolean; resolve: (m: SseMessage) => void }[] = [];
  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        const parsed = parseSse(buffer + decoder.decode(chunk as Uint8Array, { stream: true }));
        buffer = parsed.rest;
        for (const message of parsed.messages) {
          messages.push(message);
          for (const w of waiters.filter((w) => w.match(message))) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(message);
          }
        }
      }
    } catch {
      // aborted by close(), or cut by the server
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    messages,
    ended,
    waitFor(match, timeoutMs = 5000) {
      const seen = messages.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${messages.length}`)), timeoutMs);
        waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
    close: () => controller.abort(),
  };
}
