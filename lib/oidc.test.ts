/**
 * A function's side of sender authentication, against a real issuer (the
 * stand-in's, serving its discovery document and keys over HTTP): who may
 * deliver, and the token it sends to K_SINK.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import charge from '../functions/charge/index.js';
import { ISSUER, type Issuer } from '../local/oidc.js';
import { cloudEvent, deliver, recordingLogger, useFunction, useIssuer } from '../test/harness.js';
import { ConfigError } from './config.js';
import { ForbiddenError, TransientError, UnauthorizedError } from './errors.js';
import { silentLogger } from './log.js';
import { createSenderAuth, type OidcConfig } from './oidc.js';

const AUDIENCE = 'serving.knative.dev/service/ordersaga/charge';
const BROKER = 'system:serviceaccount:ordersaga:charge-on-slot-reserved-oidc-eventing.knative.dev-trigger';

const held = useIssuer();
let issuer: Issuer;
let dir: string;
beforeAll(() => {
  issuer = held.issuer;
  dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-oidc-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const enabled = (over: Partial<OidcConfig> = {}): OidcConfig => ({
  authenticationOidc: 'enabled',
  oidcIssuer: issuer.url,
  oidcIssuerCaFile: undefined,
  oidcIssuerTokenFile: undefined,
  oidcAudience: AUDIENCE,
  oidcSenders: undefined,
  oidcTokenFile: undefined,
  ...over,
});
const auth = (over: Partial<OidcConfig> = {}) => createSenderAuth(enabled(over), { log: silentLogger, sink: undefined });
const bearer = (jwt: string) => `Bearer ${jwt}`;

describe('deliveries, with sender authentication enabled', () => {
  it('take a token of the issuer for this audience: its subject', async () => {
    expect(await auth().verify(bearer(await issuer.token(BROKER, AUDIENCE)))).toBe(BROKER);
  });

  it.each([
    ['no header', undefined],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['an empty bearer', 'Bearer '],
  ])('are refused 401 with %s', async (_, header) => {
    await expect(auth().verify(header)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('are refused 401 with a token for another audience, an expired one, a forged one, or one of another key', async () => {
    const forged = async () => {
      const { privateKey } = await generateKeyPair('RS256');
      return new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'other' }).setIssuer(ISSUER).setSubject(BROKER).setAudience(AUDIENCE).setExpirationTime('1h').sign(privateKey);
    };
    const good = await issuer.token(BROKER, AUDIENCE);
    const tokens = {
      'another audience': await issuer.token(BROKER, 'eventing.knative.dev/broker/ordersaga/default'),
      expired: await issuer.token(BROKER, AUDIENCE, -10),
      'a changed payload': `${good.split('.')[0]}.${Buffer.from(JSON.stringify({ sub: 'me', aud: AUDIENCE, iss: ISSUER })).toString('base64url')}.${good.split('.')[2]}`,
      'another key': await forged(),
      'not a JWT': 'not-a-jwt',
    };
    for (const [what, token] of Object.entries(tokens)) {
      await expect(auth().verify(bearer(token)), what).rejects.toBeInstanceOf(UnauthorizedError);
    }
  });

  it('are refused 403 from a subject OIDC_SENDERS does not name: a pod of another namespace with a token for this audience', async () => {
    const sameNamespace = auth({ oidcSenders: 'system:serviceaccount:ordersaga:*' });
    expect(await sameNamespace.verify(bearer(await issuer.token(BROKER, AUDIENCE)))).toBe(BROKER);
    await expect(sameNamespace.verify(bearer(await issuer.token('system:serviceaccount:intruders:pod', AUDIENCE)))).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('are answered as a transient fault (503, retried) while the issuer cannot be reached', async () => {
    const unreachable = auth({ oidcIssuer: 'http://127.0.0.1:1' });
    await expect(unreachable.verify(bearer(await issuer.token(BROKER, AUDIENCE)))).rejects.toBeInstanceOf(TransientError);
  });

  it('need the issuer and the audience, and a token file when the function sends to K_SINK: a clear start-up error otherwise', () => {
    expect(() => auth({ oidcIssuer: undefined, oidcAudience: undefined })).toThrow(ConfigError);
    expect(() => auth({ oidcIssuer: undefined })).toThrow(/OIDC_ISSUER/);
    expect(() => createSenderAuth(enabled(), { log: silentLogger, sink: 'http://broker' })).toThrow(/OIDC_TOKEN_FILE/);
  });
});

describe('with sender authentication disabled (the local default)', () => {
  it('any delivery is taken and nothing is sent with events', async () => {
    const off = createSenderAuth({ ...enabled(), authenticationOidc: 'disabled' }, { log: silentLogger, sink: 'http://broker' });
    expect(await off.verify(undefined)).toBeUndefined();
    expect(off.sinkAuthorization()).toBeUndefined();
  });
});

describe('the token for K_SINK', () => {
  it('is read from its file, and read again after a minute (the kubelet rotates it)', () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, 'first\n');
    const sender = createSenderAuth(enabled({ oidcTokenFile: file }), { log: silentLogger, sink: 'http://broker' });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      expect(sender.sinkAuthorization()).toBe('Bearer first');
      writeFileSync(file, 'second\n');
      expect(sender.sinkAuthorization()).toBe('Bearer first');
      vi.setSystemTime(Date.now() + 61_000);
      expect(sender.sinkAuthorization()).toBe('Bearer second');
    } finally {
      vi.useRealTimers();
    }
  });

  it('missing, is logged and left out (the Broker refuses the event, which stays in the outbox)', () => {
    const log = recordingLogger();
    const sender = createSenderAuth(enabled({ oidcTokenFile: path.join(dir, 'absent') }), { log, sink: 'http://broker' });
    expect(sender.sinkAuthorization()).toBeUndefined();
    expect(log.lines).toEqual([expect.objectContaining({ level: 'warn', message: 'cannot read the token for K_SINK' })]);
  });
});

describe('a function served with sender authentication enabled', () => {
  const tokenFile = () => path.join(dir, 'charge-token');
  const fn = useFunction(charge, {
    AUTHENTICATION_OIDC: 'enabled',
    get OIDC_ISSUER() {
      return issuer.url;
    },
    OIDC_AUDIENCE: AUDIENCE,
    get OIDC_TOKEN_FILE() {
      return tokenFile();
    },
  });
  const reserved = () => cloudEvent('slot.reserved', { orderId: crypto.randomUUID(), accountId: crypto.randomUUID(), slotId: crypto.randomUUID(), seats: 1, amount: 100 });

  it('answers a CloudEvent without a token 401 with a problem document, and changes nothing', async () => {
    const answer = await deliver(fn.url, reserved());
    expect(answer.status).toBe(401);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await fn.db.raw('select count(*)::int as n from inbox')).toMatchObject({ rows: [{ n: 0 }] });
  });

  it('takes the same CloudEvent with the Broker\'s token for its audience', async () => {
    const answer = await deliver(fn.url, reserved(), 'binary', { authorization: bearer(await issuer.token(BROKER, AUDIENCE)) });
    expect(answer.status).toBe(200);
    expect(await fn.db.raw('select count(*)::int as n from inbox')).toMatchObject({ rows: [{ n: 1 }] });
  });
});
