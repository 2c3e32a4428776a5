/**
 * The console as a Knative Service: its configuration, served by the real
 * Functions Framework, taking the events its catch-all Trigger delivers and
 * serving the page and API under /console.
 */
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { newId } from '../../lib/ids.js';
import { createTestDatabase, type TestDatabase } from '../../test/db.js';
import { serveFunction, TEST_ADMIN_TOKEN, type Served } from '../../test/harness.js';
import type { EventItem } from './api-types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startIssuer } from '../../local/oidc.js';
import { fromEnv } from './function.js';
import { builtPage, consoleClient, openStream } from './testing.js';

describe('the console as a Knative Service', () => {
  let t: TestDatabase;
  let fn: Served;
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    DATABASE_URL: t.url,
    CONSOLE_ASSETS_DIR: builtPage(),
    DEAD_LETTERS_URL: 'http://127.0.0.1:1',
    ...extra,
  });

  beforeAll(async () => {
    t = await createTestDatabase();
    fn = await serveFunction(fromEnv(env()));
  });
  afterAll(async () => {
    await fn.close();
    await t.destroy();
  });

  it.each([
    ['ADMIN_TOKEN', { ADMIN_TOKEN: '' }, 'ADMIN_TOKEN is required'],
    ['a short ADMIN_TOKEN', { ADMIN_TOKEN: 'short' }, 'at least 16 characters'],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    ['a base path with a trailing slash', { CONSOLE_BASE_PATH: '/console/' }, 'CONSOLE_BASE_PATH'],
    ['a base path that is not a path', { CONSOLE_BASE_PATH: 'console' }, 'CONSOLE_BASE_PATH'],
    ['TRACES_URL', { TRACES_URL: 'nowhere' }, 'TRACES_URL'],
  ])('stops at start on a bad %s, naming it', (_name, bad, message) => {
    expect(() => fromEnv(env(bad))).toThrow(ConfigError);
    expect(() => fromEnv(env(bad))).toThrow(message);
  });

  it('answers its probes: /healthz always, /readyz when the database answers', async () => {
    expect((await fetch(`${fn.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${fn.url}/readyz`)).status).toBe(200);
    const url = new URL(t.url);
    url.port = '1';
    const down = await serveFunction(fromEnv(env({ DATABASE_URL: url.toString() })));
    try {
      expect((await fetch(`${down.url}/readyz`)).status).toBe(503);
    } finally {
      await down.close();
    }
  });

  it('takes each event its Trigger delivers, binary or structured, with an empty 202, and shows it live', async () => {
    const client = consoleClient(`${fn.url}/console`);
    expect((await client.signIn()).body).toMatchObject({ mode: 'cluster', deliveries: false });
    const stream = await openStream(`${fn.url}/console`, client);
    try {
      for (const mode of ['binary', 'structured'] as const) {
        const event = new CloudEvent({ id: newId(), source: '/ordersaga/place-order', type: 'dev.ordersaga.order.placed', subject: 'order-1', datacontenttype: 'application/json', data: { mode } });
        const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
        const res = await fetch(`${fn.url}/`, { method: 'POST', headers: message.headers as Record<string, string>, body: message.body as string });
        expect(res.status).toBe(202);
        expect(await res.text()).toBe('');
        const seen = await stream.waitFor((m) => m.event === 'event' && (JSON.parse(m.data) as EventItem).attributes.id === event.id);
        const item = JSON.parse(seen.data) as EventItem;
        expect(item).toMatchObject({ reply: null, attributes: { type: 'dev.ordersaga.order.placed', subject: 'order-1' } });
        expect(JSON.parse(item.data!)).toEqual({ mode });
      }
    } finally {
      stream.close();
    }
  });

  it('refuses a delivery that is not a valid CloudEvent with 400 (final: the Broker does not retry it)', async () => {
    const res = await fetch(`${fn.url}/`, { method: 'POST', headers: { 'ce-specversion': '2.0', 'ce-id': '1', 'ce-source': '/x', 'ce-type': 't' }, body: '' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('takes events only at the root, where the Ingress never routes: one posted under /console is not recorded', async () => {
    const event = new CloudEvent({ id: newId(), source: '/outside', type: 'dev.ordersaga.order.placed', data: {} });
    const message = HTTP.binary(event);
    const res = await fetch(`${fn.url}/console/`, { method: 'POST', headers: message.headers as Record<string, string>, body: message.body as string });
    expect(res.status).toBe(405);
  });

  it('serves the page and the API under /console, and nothing else', async () => {
    const bare = await fetch(`${fn.url}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect((await fetch(`${fn.url}/console/`)).status).toBe(200);
    expect((await fetch(`${fn.url}/console/api/orders`)).status).toBe(401);
    const elsewhere = await fetch(`${fn.url}/orders`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get('content-type')).toContain('application/problem+json');
  });

  it('says, with 503, that it cannot send while no Broker is bound (no K_SINK)', async () => {
    const client = consoleClient(`${fn.url}/console`);
    await client.signIn();
    const answer = await client.call('POST', '/api/send', { body: { name: 'account.requested', subject: 's', data: { email: 'a@example.com', name: 'A' } } });
    expect(answer.status).toBe(503);
  });

  it('with sender authentication on, takes the catch-all Trigger\'s deliveries only with the Broker\'s token for its audience', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-console-oidc-'));
    const issuer = await startIssuer(dir);
    const audience = 'serving.knative.dev/service/ordersaga/console';
    const secured = await serveFunction(fromEnv(env({ AUTHENTICATION_OIDC: 'enabled', OIDC_ISSUER: issuer.url, OIDC_AUDIENCE: audience, OIDC_SENDERS: 'system:serviceaccount:ordersaga:*' })));
    try {
      const message = HTTP.binary(new CloudEvent({ id: newId(), type: 'dev.ordersaga.order.placed', source: '/ordersaga/place-order', data: {} }));
      const deliver = (authorization?: string) =>
        fetch(`${secured.url}/`, { method: 'POST', headers: { ...(message.headers as Record<string, string>), ...(authorization ? { authorization } : {}) }, body: message.body as string });
      expect((await deliver()).status).toBe(401);
      expect((await deliver(`Bearer ${await issuer.token('system:serviceaccount:elsewhere:x', audience)}`)).status).toBe(403);
      expect((await deliver(`Bearer ${await issuer.token('system:serviceaccount:ordersaga:console-on-everything-oidc-eventing.knative.dev-trigger', audience)}`)).status).toBe(202);
    } finally {
      await secured.close();
      await issuer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
