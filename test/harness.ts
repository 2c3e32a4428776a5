/**
 * Test harness: functions served by the real Functions Framework on a real
 * port, built from their definitions and an environment as in production, a
 * real HTTP sink standing in for the Broker, and helpers to speak
 * CloudEvents and JSON to them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { http as registerHttp } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { createTokens } from '../lib/auth.js';
import type { Db } from '../lib/db.js';
import { adaptFramework } from '../lib/framework.js';
import type { FunctionDefinition, Runtime } from '../lib/function.js';
import type { HttpFunction } from '../lib/http-function.js';
import { newId } from '../lib/ids.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { functionFromEnv } from '../lib/runtime.js';
import { startIssuer, type Issuer } from '../local/oidc.js';
import { typeOf, type EventData, type EventName } from '../events/index.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export const TEST_TOKEN_SECRET = 'test-token-secret-0123456789abcdef0123456789';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
export const testTokens = createTokens(TEST_TOKEN_SECRET);

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

export interface ServedFunction extends Served {
  rt: Runtime;
}

// A definition of any options and dependencies.
type AnyDefinition = FunctionDefinition<any, any>;

/**
 * Serves `def` through the Functions Framework's own express server, built
 * from `env` as `functionFromEnv` builds it in production (the logger aside).
 */
export async function serveDefinition(def: AnyDefinition, env: Record<string, string | undefined>, log: Logger = silentLogger): Promise<ServedFunction> {
  adaptFramework();
  const built = await functionFromEnv(def, { TOKEN_SECRET: TEST_TOKEN_SECRET, ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env }, { log, markDelayMs: 0 });
  const name = `test-${randomBytes(6).toString('hex')}`;
  registerHttp(name, built.handler);
  const served = await listen(getTestServer(name));
  return {
    url: served.url,
    rt: built.rt,
    async close() {
      await served.close();
      await built.close();
    },
  };
}

/** Serves a ready-made Functions Framework `http` handler (one that is not a definition, e.g. the console's). */
export async function serveFunction(fn: HttpFunction): Promise<Served> {
  adaptFramework();
  const name = `test-${randomBytes(6).toString('hex')}`;
  registerHttp(name, fn);
  return listen(getTestServer(name));
}

/** The URL of the same database server with a port nobody listens on: a database outage, as a function sees it. */
export function unreachable(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.port = '1';
  url.searchParams.delete('host');
  return url.toString();
}

/** A real HTTP endpoint that accepts CloudEvents (as K_SINK) and keeps them. */
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

/** A function under test: its own database, a sink as K_SINK, and the function served over them. */
export interface FunctionUnderTest {
  url: string;
  db: Db;
  databaseUrl: string;
  sink: Sink;
  rt: Runtime;
}

/**
 * Serves `def` for the tests of the enclosing `describe`, over a fresh
 * database and a sink (emptied, and answering 202 again, before each test).
 */
export function useFunction(def: AnyDefinition, env: Record<string, string> = {}): FunctionUnderTest {
  const it = {} as FunctionUnderTest;
  let t: TestDatabase;
  let served: ServedFunction;
  beforeAll(async () => {
    t = await createTestDatabase();
    it.sink = await startSink();
    served = await serveDefinition(def, { DATABASE_URL: t.url, K_SINK: it.sink.url, ...env });
    Object.assign(it, { url: served.url, db: t.db, databaseUrl: t.url, rt: served.rt });
  });
  afterAll(async () => {
    await served?.close();
    await it.sink?.close();
    await t?.destroy();
  });
  beforeEach(() => {
    it.sink.events.length = 0;
    it.sink.status = 202;
  });
  return it;
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

/** POSTs `event` to `url` in binary (default) or structured mode, with any further `headers`. */
export async function deliver(url: string, event: CloudEvent<unknown>, mode: 'binary' | 'structured' = 'binary', headers: Record<string, string> = {}): Promise<Answer> {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  const res = await fetch(url, { method: 'POST', headers: { ...(message.headers as Record<string, string>), ...headers }, body: message.body as string });
  return toAnswer(res);
}

/** Delivers `events` all at once, asserts each was answered 200, and groups the answers by their reply's name (`payment.charged`). */
export async function deliverAll(url: string, events: CloudEvent<unknown>[]): Promise<Record<string, Answer[]>> {
  const answers = await Promise.all(events.map((event) => deliver(url, event)));
  expect(answers.map((a) => a.status)).toEqual(Array(events.length).fill(200));
  const byName: Record<string, Answer[]> = {};
  for (const answer of answers) (byName[answer.event?.type.replace(/^dev\.ordersaga\./, '') ?? 'none'] ??= []).push(answer);
  return byName;
}

/** Asserts a delivery answered 200 with the reply `name` from function `fn` about `subject`, its attributes as SPEC §2 writes them. */
export function expectReply(res: Answer, name: EventName, fn: string, subject: string): void {
  expect(res.status).toBe(200);
  expect(res.event).toMatchObject({
    type: `dev.ordersaga.${name}`,
    source: `/ordersaga/${fn}`,
    subject,
    datacontenttype: 'application/json',
    dataschema: `https://ordersaga.dev/events/${name}.json`,
  });
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

/** The stand-in's token issuer, in a folder of its own, for the tests of the enclosing `describe` (or file). */
export function useIssuer(): { readonly issuer: Issuer } {
  const held = {} as { issuer: Issuer; dir: string };
  beforeAll(async () => {
    held.dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-issuer-'));
    held.issuer = await startIssuer(held.dir);
  });
  afterAll(async () => {
    await held.issuer?.close();
    rmSync(held.dir, { recursive: true, force: true });
  });
  return held;
}

/** A logger that keeps its lines, for tests that read what was logged. */
export function recordingLogger(): Logger & { lines: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
