/**
 * SPEC §7.8 with sender authentication on (`AUTHENTICATION_OIDC=enabled
 * npm start`): the saga runs as usual, and every command and every fact,
 * forged without a token, with a bad one or with one of the wrong subject,
 * sent to the Broker or straight to a function, is refused (401, 403) and
 * changes nothing at all. One property over every event type, with a fixed
 * seed that fast-check prints on a failure (replay with FC_SEED=…).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_NAMES, typeOf, type EventName } from '../events/index.js';
import { SAGA_EDGES } from '../functions/registry.js';
import { createDb, type Db } from '../lib/db.js';
import { newId } from '../lib/ids.js';
import { ISSUER } from '../local/oidc.js';
import { snapshot } from './fixtures.js';
import { request } from './harness.js';
import { startStackProcess, type RunningStack } from './stack-process.js';

const SEED = Number(process.env.FC_SEED ?? 20_261_202);
const BROKER_AUDIENCE = 'eventing.knative.dev/broker/ordersaga/default';
const audienceOf = (fn: string) => `serving.knative.dev/service/ordersaga/${fn}`;
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How a forger tries, and what the stack must answer. */
const FORGERIES = ['no token', 'not a JWT', 'another key', 'expired', 'wrong audience', 'wrong subject'] as const;
type Forgery = (typeof FORGERIES)[number];
/** Subjects the Broker admits for nothing, and a namespace no function takes deliveries from. */
const STRANGERS = ['system:serviceaccount:ordersaga:notify', 'system:serviceaccount:intruders:mallory'] as const;

describe('sender authentication, on: the whole stack', () => {
  let stack: RunningStack;
  let db: Db;
  let sign: (claims: { sub: string; aud: string; exp?: number }, key?: 'stack' | 'foreign') => Promise<string>;
  const example = (name: EventName) => JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'events', 'examples', `${name}.json`), 'utf8')) as Record<string, unknown>;
  let victims: { accountId: string; slotId: string; orderId: string };
  let adaToken: string;

  beforeAll(async () => {
    stack = await startStackProcess({ AUTHENTICATION_OIDC: 'enabled' }, 120_000);
    db = createDb({ url: stack.databaseUrl, poolMax: 2, applicationName: 'sender-auth-test' });
    const jwk = JSON.parse(readFileSync(path.join(stack.dataDir, 'oidc-signing-key.json'), 'utf8')) as JWK;
    const keys = { stack: await importJWK(jwk, 'RS256'), foreign: (await generateKeyPair('RS256')).privateKey };
    sign = ({ sub, aud, exp }, key = 'stack') =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid! })
        .setIssuer(ISSUER)
        .setSubject(sub)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime(exp ?? '10m')
        .sign(keys[key]);
  }, 150_000);
  afterAll(async () => {
    await db?.destroy();
    await stack?.stop();
  });

  const api = (method: string, route: string, options: Parameters<typeof request>[3] = {}) => request(stack.gatewayUrl, method, route, options);
  const portOf = (fn: string) => stack.processes.find((p) => p.name === fn)!.port;

  it('runs the saga as usual: an order is confirmed, charged once and gets its letter', async () => {
    const created = await api('POST', '/accounts', { body: { email: `${newId()}@example.com`, name: 'Ada' } });
    const ada = created.body as { id: string; token: string };
    expect((await api('POST', `/accounts/${ada.id}/deposits`, { token: ada.token, body: { amount: 10_000 }, headers: { 'idempotency-key': newId() } })).status).toBe(201);
    const slot = await api('POST', '/slots', { token: stack.adminToken, body: { name: 'Race', capacity: 5, price: 3_000 } });
    const slotId = (slot.body as { id: string }).id;
    const placed = await api('POST', '/orders', { token: ada.token, body: { accountId: ada.id, slotId }, headers: { 'idempotency-key': newId(), prefer: 'wait=20' } });
    expect(placed.status, placed.text).toBe(201);
    expect(placed.body).toMatchObject({ status: 'confirmed' });
    expect((await api('GET', `/accounts/${ada.id}`, { token: ada.token })).body).toMatchObject({ balance: 7_000 });
    for (let i = 0; i < 50 && ((await api('GET', `/accounts/${ada.id}/notifications`, { token: ada.token })).body as unknown[]).length === 0; i++) await delay(100);
    expect((await api('GET', `/accounts/${ada.id}/notifications`, { token: ada.token })).body).toEqual([expect.objectContaining({ type: 'happy' })]);
    victims = { accountId: ada.id, slotId, orderId: (placed.body as { id: string }).id };
    adaToken = ada.token;
  });

  it('takes a command from ordersaga-operator with its token from operator.jwt', async () => {
    const token = readFileSync(path.join(stack.dataDir, 'operator.jwt'), 'utf8').trim();
    const sent = await post(stack.brokerUrl, 'deposit.requested', { accountId: victims.accountId, amount: 500 }, `Bearer ${token}`);
    expect(sent.status).toBe(202);
    const balance = async () => ((await api('GET', `/accounts/${victims.accountId}`, { token: adaToken })).body as { balance: number }).balance;
    for (let i = 0; i < 50 && (await balance()) !== 7_500; i++) await delay(100);
    expect(await balance()).toBe(7_500);
  });

  it('refuses every command and fact forged to the Broker or to a function, and nothing changes', async () => {
    await delay(1_500); // the last deliveries and published marks settle
    const before = await snapshot(db);
    const answers = new Map<string, number>();
    await fc.assert(
      // Every forgery to both targets, for every type, in each run; what varies is who forges and the amounts and subscribers aimed at.
      fc.asyncProperty(fc.constantFrom(...STRANGERS), fc.integer({ min: 1, max: 10_000_000 }), async (stranger, amount) => {
        for (const [forgery, target, name] of FORGERIES.flatMap((f) => (['broker', 'function'] as const).flatMap((t) => EVENT_NAMES.map((n) => [f, t, n] as const)))) {
          const subscribers = SAGA_EDGES.filter((e) => e.event === name).map((e) => e.subscriber);
          const fn = subscribers[amount % Math.max(subscribers.length, 1)] ?? 'deposit';
          const [url, audience] = target === 'broker' ? [stack.brokerUrl, BROKER_AUDIENCE] : [`http://127.0.0.1:${portOf(fn)}/`, audienceOf(fn)];
          const authorization = await forge(forgery, audience, target === 'broker' ? audienceOf(fn) : BROKER_AUDIENCE, stranger);
          const data = { ...example(name), ...pick(example(name), victims), ...('amount' in example(name) ? { amount } : {}) };
          const answer = await post(url, name, data, authorization);
          const expected = forgery === 'wrong subject' ? 403 : 401;
          answers.set(`${target} ${expected}`, (answers.get(`${target} ${expected}`) ?? 0) + 1);
          expect(answer.status, `${forgery} ${name} to ${target === 'broker' ? 'the Broker' : fn}: ${answer.text}`).toBe(expected);
        }
      }),
      { numRuns: 6, seed: SEED },
    );
    const per = EVENT_NAMES.length * 6;
    expect(Object.fromEntries(answers)).toEqual({ 'broker 401': 5 * per, 'broker 403': per, 'function 401': 5 * per, 'function 403': per });
    await delay(1_500); // an event the Broker took would be delivered by now
    expect(await snapshot(db)).toEqual(before);
  });

  /** The Authorization header of a `forgery`: `audience` is the target's, `elsewhere` another one. */
  async function forge(forgery: Forgery, audience: string, elsewhere: string, stranger: string): Promise<string | undefined> {
    const admitted = 'system:serviceaccount:ordersaga:place-order-on-order-requested-oidc-eventing.knative.dev-trigger';
    switch (forgery) {
      case 'no token':
        return undefined;
      case 'not a JWT':
        return 'Bearer not.a.jwt';
      case 'another key':
        return `Bearer ${await sign({ sub: admitted, aud: audience }, 'foreign')}`;
      case 'expired':
        return `Bearer ${await sign({ sub: admitted, aud: audience, exp: Math.floor(Date.now() / 1000) - 60 })}`;
      case 'wrong audience':
        return `Bearer ${await sign({ sub: admitted, aud: elsewhere })}`;
      case 'wrong subject':
        // A stranger's own, valid token for the target (a function takes deliveries from its namespace only).
        return `Bearer ${await sign({ sub: audience === BROKER_AUDIENCE ? stranger : STRANGERS[1], aud: audience })}`;
    }
  }

});

/** The example's entity ids, pointed at real ones, so that a forgery taken would hurt. */
function pick(data: Record<string, unknown>, victims: { accountId: string; slotId: string; orderId: string }): Record<string, unknown> {
  return Object.fromEntries(Object.entries(victims).filter(([key]) => key in data));
}

async function post(url: string, name: EventName, data: unknown, authorization: string | undefined) {
  const headers: Record<string, string> = { 'ce-specversion': '1.0', 'ce-id': newId(), 'ce-source': '/forger', 'ce-type': typeOf(name), 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(data) });
  return { status: res.status, text: await res.text() };
}
